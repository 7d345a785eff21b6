"""Which language a message is in, from its script and its commonest words: English, French,
Spanish, Haitian Creole or Arabic (the languages crisiswiki's users write in). Short texts give
no answer ("") rather than a guess."""

from __future__ import annotations

import re

from ..places.names import fold

_WORDS = re.compile(r"[a-z]+")
MARKERS = {
    "en": [
        "the",
        "and",
        "is",
        "are",
        "was",
        "no",
        "not",
        "we",
        "they",
        "there",
        "our",
        "help",
        "need",
        "water",
        "food",
        "people",
        "near",
        "from",
        "with",
        "have",
        "has",
        "still",
        "since",
    ],
    "fr": [
        "le",
        "la",
        "les",
        "des",
        "est",
        "et",
        "une",
        "un",
        "nous",
        "pas",
        "dans",
        "pour",
        "avec",
        "sans",
        "besoin",
        "eau",
        "depuis",
        "sont",
        "il",
        "y",
        "a",
        "au",
        "aux",
        "plus",
        "ont",
        "nourriture",
    ],
    "es": [
        "el",
        "los",
        "las",
        "del",
        "y",
        "es",
        "una",
        "un",
        "estamos",
        "no",
        "en",
        "para",
        "con",
        "sin",
        "necesitamos",
        "agua",
        "desde",
        "hay",
        "muy",
        "personas",
        "comida",
    ],
    "ht": [
        "nan",
        "nou",
        "pa",
        "gen",
        "yo",
        "mwen",
        "ak",
        "pou",
        "se",
        "li",
        "moun",
        "dlo",
        "manje",
        "bezwen",
        "te",
        "ap",
        "kay",
        "lekol",
        "isit",
        "tout",
        "anpil",
        "depi",
        "kounye",
        "fanmi",
        "blese",
    ],
}
WEIGHTS = {language: set(words) for language, words in MARKERS.items()}


def detect_language(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return ""
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    if arabic / len(letters) > 0.3:
        return "ar"
    words = _WORDS.findall(fold(text))
    if len(words) < 2:
        return ""
    scores = {language: sum(1 for word in words if word in vocabulary) for language, vocabulary in WEIGHTS.items()}
    best = max(scores, key=scores.get)
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:
        return ""
    return best
