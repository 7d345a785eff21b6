"""Whoosh postings as arrays: a term's document numbers and frequencies (for ranking) or
positions (for phrases) in one segment, decoded once and kept, since segments never change.

Reading posting blocks as arrays uses a few private attributes of Whoosh's w3 codec; when they
are not there (another Whoosh version), the public matcher API is used instead: slower, same
answers.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from itertools import chain

import numpy as np
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.system import _INT_SIZE


def read_postings(matcher, with_values: bool = False) -> tuple[np.ndarray, np.ndarray, list | None]:
    """(document numbers, term frequencies, encoded positions if asked) of a leaf matcher, a
    block at a time."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # deleted documents are masked by the caller
    ids, weights, values = [], [], [] if with_values else None
    try:
        while True:
            if matcher._data is None:
                matcher._read_data()
            data = matcher._data
            block_ids = np.cumsum(np.asarray(data[0], dtype=np.int64))
            ids.append(block_ids)
            weight = data[1]
            if weight is None:
                weights.append(np.ones(len(block_ids), dtype=np.float32))
            elif isinstance(weight, float):
                weights.append(np.full(len(block_ids), weight, dtype=np.float32))
            else:
                weights.append(np.asarray(weight, dtype=np.float32))
            if with_values:
                values.extend(data[2])
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    except AttributeError:
        matcher.reset()
        found_ids, found_weights, values = [], [], [] if with_values else None
        while matcher.is_active():
            found_ids.append(matcher.id())
            found_weights.append(matcher.weight())
            if with_values:
                values.append(matcher.value())
            matcher.next()
        ids, weights = [np.asarray(found_ids, dtype=np.int64)], [np.asarray(found_weights, dtype=np.float32)]
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), values
    return np.concatenate(ids), np.concatenate(weights), values


def positions_of(
    documents: np.ndarray, ids: np.ndarray, firsts: np.ndarray, flat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rank in `documents`, position) of every position of a term in `documents` (all of
    which hold the term), from its decoded postings: document ids, where each document's
    positions begin in `flat` (one more entry for the end), and the positions."""
    where = np.searchsorted(ids, documents)
    counts = firsts[where + 1] - firsts[where]
    ranks = np.repeat(np.arange(len(documents), dtype=np.int64), counts)
    within = np.arange(len(ranks), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return ranks, flat[np.repeat(firsts[where], counts) + within].astype(np.int64)


class PostingCache:
    """Terms' postings decoded into arrays per segment: "weights" (document ids, term
    frequencies) for ranking, "positions" (document ids, where each document's positions begin,
    the positions) for phrases. Segments never change (a deleted document's postings stay and
    are masked by the caller), so a term is decoded once per segment, not once per query:
    decoding a phrase's positions was 20,000 unpickled lists over 5,000 documents, 100-500 ms,
    the benchmark's p99. Least recently used first out beyond BUDGET_BYTES per process."""

    BUDGET_BYTES = 64 << 20

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0

    def get(self, segreader, field: str, term: str, kind: str) -> tuple[np.ndarray, ...]:
        key = (segreader.segment().segment_id(), field, term, kind)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = (
            _decode_positions(segreader, field, term)
            if kind == "positions"
            else _decode_weights(segreader, field, term)
        )
        size = sum(array.nbytes for array in found)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = found
                self._bytes += size
            while self._bytes > self.BUDGET_BYTES and len(self._entries) > 1:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= sum(array.nbytes for array in dropped)
        return found


def _decode_weights(segreader, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        matcher = segreader.postings(field, term)
    except (TermNotFound, KeyError):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    ids, weights, _values = read_postings(matcher)
    return ids, weights


def _decode_positions(segreader, field: str, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        matcher = segreader.postings(field, term)
    except (TermNotFound, KeyError):
        return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    ids, _weights, values = read_postings(matcher, with_values=True)
    ranks, positions = _positions_decoder(segreader.schema[field].format)(values)
    firsts = np.searchsorted(ranks, np.arange(len(ids) + 1))
    order = np.argsort(ids, kind="stable")  # block ids ascend already; to be sure
    if not np.array_equal(order, np.arange(len(ids))):
        counts = np.diff(firsts)[order]
        within = np.arange(len(positions)) - np.repeat(np.cumsum(counts) - counts, counts)
        positions = positions[np.repeat(firsts[:-1][order], counts) + within]
        ids, firsts = ids[order], np.concatenate([[0], np.cumsum(counts)])
    return ids, firsts, positions.astype(np.int32)


def _positions_decoder(format_):
    """A function from encoded posting values to (ranks, positions): every position of every
    value as one array, with the index of its value beside it. Whoosh's Positions format
    stores a 4-byte count then a pickled list of deltas; other formats go through their own
    decode_positions (slower, same answer)."""
    if type(format_) is Positions:

        def decode(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
            # Bytes after a pickle's STOP are ignored, so one more "." is always safe.
            deltas = [pickle.loads(value[_INT_SIZE:] + b".") for value in values]
            return _cumulative(deltas)

        return decode

    def decode_slowly(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        lists = [format_.decode_positions(value) for value in values]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
        return np.repeat(np.arange(len(lists), dtype=np.int64), lengths), flat

    return decode_slowly


def _cumulative(deltas: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, deltas), dtype=np.int64, count=len(deltas))
    flat = np.fromiter(chain.from_iterable(deltas), dtype=np.int64, count=int(lengths.sum()))
    ranks = np.repeat(np.arange(len(deltas), dtype=np.int64), lengths)
    if not len(flat):
        return ranks, flat
    running = np.cumsum(flat)
    firsts = np.cumsum(lengths) - lengths  # where each value's deltas begin in `flat`
    before = np.where(firsts > 0, running[np.maximum(firsts - 1, 0)], 0)  # the running total before them
    return ranks, running - before[ranks]
