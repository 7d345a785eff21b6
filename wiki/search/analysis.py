"""Text analysis shared by both search backends: words, accent folding, stop words, stemming and
a small language detector.

Every document is analysed in one language, chosen by `detect_language`: English, French or
Spanish get their own stop words and Snowball stemmer; anything else ("xx": Italian, Tagalog,
hashtags ...) is only lower-cased and folded. A query is analysed in every language, so it
finds a document whatever language the detector chose for it. Accents are folded before
anything else, on both sides, so "Leogane" finds "Léogâne".

The stop-word lists are the Snowball lists; PostgreSQL ships the same ones, so the two
backends agree on which words carry no meaning.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from whoosh.analysis import Analyzer, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang.stopwords import stoplists

STEMMED = ("en", "fr", "es")  # analysed in their own language
OTHER = "xx"  # any other language: folded words, no stemming
LANGUAGES = (*STEMMED, OTHER)
# PostgreSQL text-search configuration for each analysis language.
PG_CONFIGS = {"en": "english", "fr": "french", "es": "spanish", OTHER: "simple"}

# Letters and digits; "t.co" and "3.5" stay whole, underscores split (page slugs).
WORD_PATTERN = r"[^\W_]+(?:\.[^\W_]+)*"
WORDS_RE = re.compile(WORD_PATTERN)
# Letters that NFKD does not decompose into a base letter and an accent.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


@lru_cache(maxsize=100_000)
def fold(text: str) -> str:
    """Lower-case `text` and strip its accents: "Léogâne" -> "leogane"."""
    text = text.lower().translate(_SPECIAL)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class FoldFilter(Filter):
    """Accent folding as a Whoosh filter (after LowercaseFilter)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = fold(token.text)
            yield token


def _folded_stoplist(lang: str) -> frozenset[str]:
    return frozenset(fold(word) for word in stoplists[lang])


STOPWORDS: dict[str, frozenset[str]] = {lang: _folded_stoplist(lang) for lang in STEMMED}
ANY_STOPWORD: frozenset[str] = frozenset().union(*STOPWORDS.values())
# Languages the detector recognises; those outside STEMMED are analysed as OTHER.
_DETECTABLE = ("en", "fr", "es", "it", "pt", "de", "nl")
_DETECT_LISTS = {lang: _folded_stoplist(lang) for lang in _DETECTABLE}
_SHARED_BY: dict[str, int] = {}
for _words in _DETECT_LISTS.values():
    for _word in _words:
        _SHARED_BY[_word] = _SHARED_BY.get(_word, 0) + 1


@cache
def analyzer(lang: str) -> Analyzer:
    """The Whoosh analyzer for text in `lang` (one of LANGUAGES)."""
    chain = RegexTokenizer(WORD_PATTERN) | LowercaseFilter() | FoldFilter()
    if lang == OTHER:
        return chain
    return chain | StopFilter(stoplist=STOPWORDS[lang], minsize=1) | StemFilter(lang=lang, cachesize=50_000)


def words(text: str) -> list[str]:
    """The folded words of `text`, in order, stop words included."""
    return [fold(match.group()) for match in WORDS_RE.finditer(text or "")]


def analyse(text: str, lang: str) -> list[str]:
    """The index terms of `text` in `lang`."""
    return [token.text for token in analyzer(lang)(text or "")]


def detect_language(text: str) -> str:
    """Guess the language of `text` by its stop words: "en", "fr", "es" or OTHER.

    Each stop word counts for every language whose list holds it, divided among them, so a word
    only Spanish uses ("los") weighs more than one Spanish shares with Italian and Portuguese
    ("de"). Italian, Portuguese, German and Dutch are recognised only to keep them out of
    the stemmed languages. A text too short to tell is taken as English, the working language
    of most crisis coordination: any stemmer finds more word forms than none, and a query is
    analysed in every language anyway, so exact words still match."""
    scores = dict.fromkeys(_DETECTABLE, 0.0)
    for word in words(text)[:400]:
        shared = _SHARED_BY.get(word)
        if not shared:
            continue
        for lang, stoplist in _DETECT_LISTS.items():
            if word in stoplist:
                scores[lang] += 1.0 / shared
    best = max(scores, key=scores.get)
    if scores[best] < 1.0:
        return "en"
    return best if best in STEMMED else OTHER
