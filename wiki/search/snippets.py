"""Highlighted snippets: the part of a text that matched, HTML-escaped, matches in <mark>.

Computed from the database text with the same analysis the index used, so "floods" in a
query marks "flooding" in an English text and "Léogâne" for "Leogane"; identical for both
backends.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape
from whoosh.lang import stemmer_for_language

from .analysis import LANGUAGES, OTHER, STEMMED, STOPWORDS, WORDS_RE, analyse, fold
from .query import ParsedQuery

SNIPPET_CHARS = 240
SCAN_CHARS = 50_000  # of a long page, look for matches this far
_STEM = {lang: lru_cache(maxsize=50_000)(stemmer_for_language(lang)) for lang in STEMMED}


def query_terms(parsed: ParsedQuery, lang: str, field: str) -> frozenset[str]:
    """The index terms, in `lang`, of every word the query looks for in `field` (title or body)."""
    terms: set[str] = set()
    for item in parsed.positive_words():
        if item.field in (None, field):
            terms.update(analyse(item.text, lang))
    return frozenset(terms)


@lru_cache(maxsize=200_000)  # a page's snippet looks at thousands of words, mostly the same ones
def _term(word: str, lang: str) -> str | None:
    """What wiki.search.analysis.analyzer(lang) makes of one word (None: a stop word); the
    same steps without the token objects, as snippets run on every result of every search."""
    word = fold(word)
    if lang == OTHER:
        return word
    if word in STOPWORDS[lang]:
        return None
    return _STEM[lang](word)


def words_of(text: str) -> frozenset[str]:
    """The distinct words a snippet of `text` (as `prepared` makes it) looks at."""
    return frozenset(WORDS_RE.findall(text, 0, SCAN_CHARS))


def prepared(text: str | None) -> str:
    """`text` with its runs of white space made one space, as snippets show it."""
    return " ".join((text or "").split())


def _spans(
    text: str, lang: str, terms: frozenset[str], horizon: int | None = None, words: frozenset[str] | None = None
) -> list[tuple[int, int]]:
    """Where `text` has words whose terms are in `terms`; with a `horizon`, only up to that
    many characters past the first match (a snippet needs no more). `words`: words_of(text),
    when known."""
    if not terms or not text:
        return []
    # Which words of the text match is asked once per distinct word; the text is then read
    # word by word only from the first of them (a page matching by its title alone was read
    # to its end, word by word).
    wanted = [word for word in (words if words is not None else words_of(text)) if _term(word, lang) in terms]
    if not wanted:
        return []
    start = min(text.find(word) for word in wanted)  # at or inside the first matching word
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    spans = []
    for match in WORDS_RE.finditer(text, start, SCAN_CHARS):
        if horizon is not None and spans and match.start() > spans[0][0] + horizon:
            break
        if _term(match.group(), lang) in terms:
            spans.append(match.span())
    return spans


def _mark(text: str, spans: list[tuple[int, int]], start: int, end: int) -> Markup:
    out, position = [], start
    for left, right in spans:
        if right <= start or left >= end:
            continue
        left, right = max(left, start), min(right, end)
        out.append(str(escape(text[position:left])))
        out.append(f"<mark>{escape(text[left:right])}</mark>")
        position = right
    out.append(str(escape(text[position:end])))
    return Markup("".join(out))


def highlight_all(text: str, lang: str, parsed: ParsedQuery, field: str = "title") -> Markup:
    """All of `text` (a title), escaped, with its matches marked."""
    return _mark(text, _spans(text, lang, query_terms(parsed, lang, field)), 0, len(text))


def snippet(
    text: str,
    lang: str,
    parsed: ParsedQuery,
    length: int = SNIPPET_CHARS,
    guessed: bool = False,
    words: frozenset[str] | None = None,
) -> Markup:
    """About `length` characters of `text` around its first cluster of matches. `lang` is the
    language the index analysed the text in; when it was only `guessed`, other languages are
    tried too. A text already `prepared` may come with its words_of (remembered for pages)."""
    text = prepared(text) if words is None else text
    if not text:
        return Markup("")
    horizon = length * 2
    spans = _spans(text, lang, query_terms(parsed, lang, "body"), horizon, words)
    if not spans and guessed:
        for other in LANGUAGES:
            if other != lang:
                spans = _spans(text, other, query_terms(parsed, other, "body"), horizon, words)
                if spans:
                    break
    if len(text) <= length:
        return _mark(text, spans, 0, len(text))
    start = 0
    if spans:
        best, best_count = spans[0][0], 0
        for left, _right in spans:
            count = sum(1 for other, _ in spans if left <= other < left + length * 2 // 3)
            if count > best_count:
                best, best_count = left, count
        start = max(0, best - length // 3)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + length)
    while end < len(text) and not text[end].isspace() and end - start < length + 30:
        end += 1
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return Markup(prefix) + _mark(text, spans, start, end) + Markup(suffix)
