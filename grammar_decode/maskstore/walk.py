"""Vectorised walk of the whole vocabulary through a DFA from one start state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grammar_decode.maskstore.trie import ByteTrie, build_trie, walk_trie


@dataclass
class Walk:
    """Per row (token): where the lexer died and the last place it could have ended.

    ``stop``: bytes consumed before the DFA died (== the token's length when it never died);
    ``last``: the state before it died (the end state when it never died);
    ``acc_pos`` / ``acc_state``: the last position (from the row's offset on) where the lexeme
    was complete and the state there (-1 when there was none), for longest-match backtracking.
    """

    stop: np.ndarray
    last: np.ndarray
    acc_pos: np.ndarray
    acc_state: np.ndarray


def walk_rows(trans: np.ndarray, accepting: np.ndarray, rows: np.ndarray, starts: np.ndarray,
              offsets: np.ndarray, matrix: np.ndarray, lengths: np.ndarray) -> Walk:
    """Feed the bytes of matrix rows ``rows`` from ``offsets`` on, starting in ``starts``.

    Only rows still alive are touched at each step, so the work is the number of
    (row, position) pairs the DFA accepts, in numpy, not a Python loop per token.
    Positions in the result are absolute (within the row).
    """
    ends = lengths[rows]
    stop = ends.astype(np.int32).copy()
    last = starts.astype(np.int32).copy()
    start_acc = accepting[last]
    acc_pos = np.where(start_acc, offsets, -1).astype(np.int32)
    acc_state = np.where(start_acc, last, -1).astype(np.int32)
    pos = offsets.astype(np.int32).copy()
    active = np.flatnonzero(pos < ends)
    state = last[active].copy()
    while len(active):
        nxt = trans[state, matrix[rows[active], pos[active]]]
        died = nxt < 0
        if died.any():
            dead = active[died]
            stop[dead] = pos[dead]
            last[dead] = state[died]
        keep = ~died
        active, state = active[keep], nxt[keep]
        pos[active] += 1
        acc = accepting[state]
        if acc.any():
            acc_pos[active[acc]] = pos[active[acc]]
            acc_state[active[acc]] = state[acc]
        done = pos[active] >= ends[active]
        if done.any():
            last[active[done]] = state[done]
            keep = ~done
            active, state = active[keep], state[keep]
    return Walk(stop, last, acc_pos, acc_state)


def walk_vocabulary(trans: np.ndarray, accepting: np.ndarray, start: int, matrix: np.ndarray,
                    lengths: np.ndarray) -> Walk:
    """Walk every row of the vocabulary matrix from ``start``.

    Rows whose first byte dies at once are not walked at all (their outcome is known), which
    makes states with few live first bytes (literals, punctuation) nearly free. When most
    rows live on (inside strings, comments), the vocabulary's byte trie is walked instead, so
    shared prefixes are fed once.
    """
    n = len(lengths)
    live_bytes = np.flatnonzero(trans[start] >= 0)
    order, bounds = first_byte_buckets(matrix, lengths)
    walked = int((bounds[live_bytes + 1] - bounds[live_bytes]).sum())
    if walked * 2 > n:
        stop, last, acc_pos, acc_state = walk_trie(trie_of(matrix, lengths), trans,
                                                   accepting, start)
        return Walk(stop, last, acc_pos, acc_state)
    if len(live_bytes) < 64:
        rows = np.concatenate([order[bounds[b]:bounds[b + 1]] for b in live_bytes]
                              + [np.zeros(0, dtype=np.int64)])
    else:
        rows = np.flatnonzero(lengths > 0)
    sub = walk_rows(trans, accepting, rows, np.full(len(rows), start, np.int32),
                    np.zeros(len(rows), np.int32), matrix, lengths)
    acc = bool(accepting[start])
    out = Walk(stop=np.zeros(n, np.int32), last=np.full(n, start, np.int32),
               acc_pos=np.full(n, 0 if acc else -1, np.int32),
               acc_state=np.full(n, start if acc else -1, np.int32))
    out.stop[rows], out.last[rows] = sub.stop, sub.last
    out.acc_pos[rows], out.acc_state[rows] = sub.acc_pos, sub.acc_state
    return out


_BUCKETS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_TRIES: dict[int, tuple[np.ndarray, ByteTrie]] = {}


def trie_of(matrix: np.ndarray, lengths: np.ndarray) -> ByteTrie:
    """The byte trie of a vocabulary matrix (cached per matrix object, like the buckets)."""
    found = _TRIES.get(id(matrix))
    if found is None or found[0] is not matrix:
        found = _TRIES[id(matrix)] = (matrix, build_trie(matrix, lengths))
    return found[1]


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


def split_point(walk: Walk, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each dead row's lexeme ends under longest match, and the state there.

    A row that died in an accepting state ends there; one that died in a non-accepting state
    backtracks to its last accepting position inside the row. Returns (position, state) with
    state -1 where neither exists (the lexeme must end before the row began, or nowhere).
    """
    at_death = accepting[walk.last]
    pos = np.where(at_death, walk.stop, walk.acc_pos)
    state = np.where(at_death, walk.last, walk.acc_state)
    return pos, state
