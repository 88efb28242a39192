"""Vectorised walk of the whole vocabulary through a DFA from one start state."""

from __future__ import annotations

import numpy as np


def walk_vocabulary(trans: np.ndarray, start: int, matrix: np.ndarray,
                    lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feed every token (rows of the padded byte ``matrix``) to the DFA from ``start``.

    Returns ``(stop, last)`` per row: bytes consumed before the DFA died (== the token's length
    when it never died) and the state before it died (the end state when it never died).
    Only rows still alive are touched at each byte position, so the work is the number of
    (token, position) pairs the DFA accepts, in numpy, not a Python loop per token.
    """
    n = len(lengths)
    stop = np.zeros(n, dtype=np.int32)
    last = np.full(n, start, dtype=np.int32)
    live_bytes = np.flatnonzero(trans[start] >= 0)
    order, bounds = first_byte_buckets(matrix, lengths)
    if len(live_bytes) < 64:
        # rows whose first byte dies at once need no walk: stop = 0 and last = start already
        active = np.concatenate([order[bounds[b]:bounds[b + 1]] for b in live_bytes]
                                + [np.zeros(0, dtype=np.int64)])
    else:
        active = np.flatnonzero(lengths > 0)
    stop[active] = lengths[active]
    state = np.full(len(active), start, dtype=np.int32)
    j = 0
    while len(active):
        nxt = trans[state, matrix[active, j]]
        died = nxt < 0
        if died.any():
            dead_rows = active[died]
            stop[dead_rows] = j
            last[dead_rows] = state[died]
        keep = ~died
        active, state = active[keep], nxt[keep]
        j += 1
        done = lengths[active] <= j
        if done.any():
            last[active[done]] = state[done]
            keep = ~done
            active, state = active[keep], state[keep]
    return stop, last


_BUCKETS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def first_byte_buckets(matrix: np.ndarray, lengths: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by first byte: ``order[bounds[b]:bounds[b+1]]`` start with byte ``b``.

    Cached per matrix object (the vocabulary caches its matrix, so this is once per vocab);
    the cache holds the matrix itself so that its id cannot be reused by another array.
    """
    found = _BUCKETS.get(id(matrix))
    if found is None or found[0] is not matrix:
        rows = np.flatnonzero(lengths > 0)
        first = matrix[rows, 0]
        order = rows[np.argsort(first, kind="stable")]
        bounds = np.searchsorted(np.sort(first), np.arange(257))
        found = _BUCKETS[id(matrix)] = (matrix, order, bounds)
    return found[1], found[2]
