"""Finding the place a message speaks of: "WATER Delmas 33 no water since Monday", "Moun bezwen
manje nan Kafou", "انهيار مبنى في درنة".

Every run of up to a gazetteer name's length of words is looked up as it is, then (from five
letters on, and for names without digits) with one or two letters wrong. Overlapping mentions
keep the longest; of several places mentioned, the most specific wins (a shelter over its
commune over its department), and one that lies in another mentioned place is preferred (a
"Carrefour" next to "Ouest" is the commune of the Ouest). A name that several places share and
nothing in the message tells apart is ambiguous: its places are offered as choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .gazetteer import SPECIFICITY, Gazetteer, Place, contains, distance_m
from .names import COMMON_WORDS, spans

MAX_CANDIDATES = 8


@dataclass(frozen=True)
class Mention:
    first: int  # index of its first word
    last: int  # index after its last word
    text: str  # as written in the message
    places: tuple[Place, ...]
    distance: int  # letters wrong (0: exact)

    @property
    def size(self) -> int:
        return self.last - self.first


@dataclass(frozen=True)
class Detection:
    """What a text says about where: one place, or several to choose from, or nothing."""

    place: Place | None = None
    candidates: tuple[Place, ...] = ()
    mention: str = ""
    fuzzy: bool = False
    mentions: tuple[str, ...] = field(default=(), compare=False)

    @property
    def ambiguous(self) -> bool:
        return self.place is None and bool(self.candidates)

    def as_dict(self) -> dict | None:
        """For storing with a message (JSON)."""
        if self.place is None and not self.candidates:
            return None
        return {
            "place": self.place.as_dict() if self.place else None,
            "candidates": [candidate.as_dict() for candidate in self.candidates],
            "mention": self.mention,
            "fuzzy": self.fuzzy,
        }


def _capitalised_inside(text: str, start: int, end: int, first_word: bool) -> bool:
    return not first_word and end > start and text[start:end][:1].isupper()


def mentions(text: str, gazetteer: Gazetteer) -> list[Mention]:
    """Every run of words that names a place, overlapping ones included."""
    tokens = spans(text)
    words = [word for word, _start, _end in tokens]
    found: list[Mention] = []
    for first in range(len(words)):
        for size in range(min(gazetteer.longest, len(words) - first), 0, -1):
            window = words[first : first + size]
            name_key = " ".join(window)
            ordinary = all(word in COMMON_WORDS for word in window)  # "in the", "la plaine": no misspelt name
            if window[0].isdigit():
                continue  # a name does not start with a number ("33 no water")
            start, end = tokens[first][1], tokens[first + size - 1][2]
            written = text[start:end] if end > start else name_key
            common = size == 1 and name_key in COMMON_WORDS
            if common and not _capitalised_inside(text, start, end, first == 0):
                continue
            places = gazetteer.exact(name_key)
            distance = 0
            if not places and len(window[0]) > 3 and window[0][0] in "وب":
                places = gazetteer.exact(" ".join([window[0][1:], *window[1:]]))  # "ودرنة", "بدرنة"
            if not places and not ordinary and not any(ch.isdigit() for ch in name_key):
                close = [
                    (candidate, d)
                    for candidate, d in gazetteer.fuzzy(name_key)
                    if not any(ch.isdigit() for ch in candidate) and candidate not in COMMON_WORDS
                ]
                if close:
                    distance = close[0][1]
                    places = [place for candidate, d in close if d == distance for place in gazetteer.exact(candidate)]
            if places:
                found.append(Mention(first, first + size, written, tuple(dict.fromkeys(places)), distance))
    return found


def _keep_longest(found: list[Mention]) -> list[Mention]:
    """Of overlapping mentions, the longest (then the exact one, then the first)."""
    kept: list[Mention] = []
    taken: set[int] = set()
    for mention in sorted(found, key=lambda m: (-m.size, -len(m.text), m.distance, m.first)):
        if taken.isdisjoint(range(mention.first, mention.last)):
            kept.append(mention)
            taken.update(range(mention.first, mention.last))
    return sorted(kept, key=lambda m: m.first)


def detect(text: str, gazetteer: Gazetteer) -> Detection:
    kept = _keep_longest(mentions(text, gazetteer))
    if not kept:
        return Detection()

    def rank(mention: Mention, place: Place) -> tuple:
        # Another mention names an area it lies in ("Carrefour, Ouest"): the places of its own
        # mention do not count (the commune and the department both called "Derna").
        inside = any(contains(other, place) for m in kept if m is not mention for other in m.places)
        return (SPECIFICITY.get(place.kind, 0), inside, -mention.distance, -mention.first)

    scored = [(rank(mention, place), mention, place) for mention in kept for place in mention.places]
    scored.sort(key=lambda item: item[0], reverse=True)
    best_rank, best_mention, best_place = scored[0]
    rivals = [place for rank_, mention, place in scored if rank_ == best_rank and mention is best_mention]
    apart = [place for place in rivals if distance_m(place, best_place) > max(place.radius_m, best_place.radius_m)]
    names = tuple(mention.text for mention in kept)
    if apart:
        return Detection(
            None, tuple(rivals[:MAX_CANDIDATES]), best_mention.text, best_mention.distance > 0, mentions=names
        )
    return Detection(best_place, (), best_mention.text, best_mention.distance > 0, mentions=names)
