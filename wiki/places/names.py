"""Place names as the gazetteer compares them: folded (no accents, no case, no punctuation),
split into words, with the Arabic article and its prefixes taken off, and an edit distance for
misspellings. Pure functions, no database."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[0-9a-z\u0621-\u064a]+")
_ARABIC_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_ARABIC_PREFIXED_ARTICLE = re.compile(r"^[وبفلك]?ال(?=[\u0621-\u064a]{2})")


def fold(text: str) -> str:
    """Lower case, accents and Arabic vowel marks off, Arabic letter forms unified."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c) and c != "\u0640")  # tatweel
    return stripped.translate(_ARABIC_FORMS)


def _arabic_stem(word: str) -> str:
    """An Arabic word without its article ("البيضاء", "بالبيضاء" -> "بيضاء")."""
    return _ARABIC_PREFIXED_ARTICLE.sub("", word)


def words(text: str) -> list[str]:
    """The words of `text`, folded."""
    return [_arabic_stem(word) for word in _WORD.findall(fold(text))]


def spans(text: str) -> list[tuple[str, int, int]]:
    """Each word of `text` folded, with where it stands in the original (start, end)."""
    found = []
    folded = fold(text)
    if len(folded) != len(text):  # characters that decompose into several: fall back to word order only
        return [(word, 0, 0) for word in words(text)]
    for match in _WORD.finditer(folded):
        found.append((_arabic_stem(match.group()), match.start(), match.end()))
    return found


def key(name: str) -> str:
    """The form a name is indexed and looked up by: its folded words joined by spaces."""
    return " ".join(words(name))


def within_distance(a: str, b: str, limit: int) -> int | None:
    """The optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions)
    between a and b if it is at most `limit`, else None."""
    if abs(len(a) - len(b)) > limit:
        return None
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return None
        previous2, previous = previous, current
    return previous[-1] if previous[-1] <= limit else None


def deletes(term: str, distance: int) -> set[str]:
    """Every string made by deleting up to `distance` characters of `term` (SymSpell's index)."""
    found = {term}
    frontier = {term}
    for _ in range(distance):
        frontier = {word[:i] + word[i + 1 :] for word in frontier for i in range(len(word))}
        found |= frontier
    return found


def fuzzy_limit(term: str) -> int:
    """How many misspelt letters a name of this length may have and still be recognised."""
    letters = len(term.replace(" ", ""))
    if letters >= 9:
        return 2
    if letters >= 5:
        return 1
    return 0


# Words that are also place names, or parts of them, but mostly mean something else in a
# message (English, French, Spanish, Haitian Creole): alone, they locate nothing unless written
# with a capital inside a sentence ("... nan Nord", "in the Centre").
COMMON_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "with",
        "near",
        "by",
        "is",
        "are",
        "was",
        "were",
        "no",
        "not",
        "yes",
        "water",
        "food",
        "help",
        "people",
        "school",
        "church",
        "house",
        "road",
        "bridge",
        "market",
        "hospital",
        "camp",
        "city",
        "town",
        "village",
        "north",
        "south",
        "east",
        "west",
        "centre",
        "center",
        "centro",
        "norte",
        "sur",
        "este",
        "oeste",
        "nord",
        "sud",
        "est",
        "ouest",
        "plaine",
        "plain",
        "port",
        "cap",
        "source",
        "bon",
        "mais",
        "la",
        "le",
        "les",
        "de",
        "des",
        "du",
        "au",
        "aux",
        "en",
        "et",
        "ou",
        "un",
        "une",
        "dans",
        "sur",
        "pour",
        "par",
        "avec",
        "sans",
        "ville",
        "village",
        "grand",
        "petit",
        "petite",
        "riviere",
        "morne",
        "fond",
        "fonds",
        "anse",
        "bois",
        "pont",
        "route",
        "rue",
        "place",
        "marche",
        "hopital",
        "eglise",
        "ecole",
        "maison",
        "eau",
        "nourriture",
        "aide",
        "gens",
        "blesses",
        "morts",
        "el",
        "los",
        "las",
        "del",
        "y",
        "o",
        "con",
        "sin",
        "para",
        "por",
        "agua",
        "comida",
        "ayuda",
        "gente",
        "casa",
        "calle",
        "puente",
        "mercado",
        "escuela",
        "nan",
        "ak",
        "pou",
        "pa",
        "se",
        "li",
        "yo",
        "nou",
        "mwen",
        "gen",
        "genyen",
        "dlo",
        "manje",
        "ed",
        "moun",
        "lekol",
        "legliz",
        "lopital",
        "mache",
        "wout",
        "kay",
        "bo",
        "lakay",
        "isit",
        "la",
        "a",
        "lot",
        "tout",
        "anpil",
        "kounye",
        "jodi",
        "a",
        "yo",
        "te",
        "ap",
    ]
)
