"""How alike two reports are, and whether they contradict each other, from their words.

Deliberately simple and explainable: the topic of a report is its set of content words (accents
folded, common words dropped); two reports agree as much as their topics overlap (Jaccard).
They contradict when they share a topic and one says the opposite of the other: a state word
of the opposite sense ("open" against "closed", "ouvert" against "fermé"), or a shared word
negated in one of them only ("not damaged" against "damaged", "no cholera cases in Carrefour"
against "cholera cases in Carrefour"), in English, French, Spanish and Haitian Creole. A negated
thing is also a thing missing, so "no water at the camp" agrees with "water shortage at the
camp": a word negated in one report only is no contradiction when the other says that something
is lacking.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
NEGATORS = frozenset(
    {
        # English
        "not", "no", "never", "none", "without", "nor",
        # French
        "pas", "jamais", "aucun", "aucune", "sans", "ni", "non",
        # Spanish
        "nunca", "ningun", "ninguna", "ninguno", "sin", "tampoco",
        # Haitian Creole
        "pa", "okenn", "san",
        "nicht",
    }
)  # fmt: skip
STOPWORDS = frozenset(
    _WORD.findall("""
a an and are as at be been but by for from has have in into is it its of on or our that the their there this
to was were will with we they he she you i me my near now very more less than also after before about over
le la les un une des du de et est en au aux dans sur pour par avec ce cette ces sont ont il elle nous vous ils
el los las y del con por para una unos unas que se es al lo su sus
li yo nan ak ki sou pou gen te ap
""")
)
# word -> (state, sense): two reports that give one state opposite senses contradict each other.
STATES: dict[str, tuple[str, int]] = {}
for _state, _plus, _minus in (
    (
        "open",
        "open opened reopened ouvert ouverte ouverts rouvert abierto abierta louvri passable accessible",
        "closed close blocked impassable inaccessible ferme fermee fermes "
        "bloque bloquee cerrado cerrada bloqueado bloke",
    ),
    ("safe", "safe secure securise seguro", "unsafe dangerous insecure dangereux dangereuse peligroso danje"),
    (
        "working",
        "working functioning functional operational operating fonctionne fonctionnel operationnel funciona",
        "broken damaged destroyed collapsed nonfunctional detruit detruite endommage effondre destruido kraze",
    ),
    ("available", "available disponible", "unavailable shortage lacking manque rupture escasez"),
):
    for _word in _plus.split():
        STATES[_word] = (_state, 1)
    for _word in _minus.split():
        STATES[_word] = (_state, -1)


def fold(text: str) -> str:
    text = text.lower().replace("n't", " not").replace("n’t", " not")
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Words:
    """What a report says, reduced to what the comparison needs."""

    topic: frozenset[str]
    negated: frozenset[str]  # topic words that follow a negation
    states: tuple[tuple[str, int], ...]  # (state, sense), negation already applied


def words(text: str) -> Words:
    topic: set[str] = set()
    negated: set[str] = set()
    states: dict[str, int] = {}
    negation_left = 0
    for token in _WORD.findall(fold(text)):
        if token in NEGATORS:
            negation_left = 3  # a negation reaches the next few words
            continue
        sense = -1 if negation_left else 1
        negation_left = max(0, negation_left - 1)
        state = STATES.get(token)
        if state is not None:
            states[state[0]] = state[1] * sense
            continue
        if token in STOPWORDS or (len(token) < 3 and not token.isdigit()):
            continue
        topic.add(token)
        if sense < 0:
            negated.add(token)
    return Words(frozenset(topic), frozenset(negated), tuple(sorted(states.items())))


def similarity(a: Words, b: Words) -> float:
    """Jaccard overlap of the two topics, 0 when either has none."""
    if not a.topic or not b.topic:
        return 0.0
    shared = len(a.topic & b.topic)
    return shared / (len(a.topic) + len(b.topic) - shared)


def _lacking(w: Words) -> bool:
    return ("available", -1) in w.states


def contradicts(a: Words, b: Words) -> bool:
    """Do the two say opposite things about a topic they share? (Call only for similar reports.)"""
    b_states = dict(b.states)
    for state, sense in a.states:
        if b_states.get(state, sense) != sense:
            return True
    shared = a.topic & b.topic
    if (a.negated - b.negated) & shared and not _lacking(b):
        return True
    return bool((b.negated - a.negated) & shared) and not _lacking(a)
