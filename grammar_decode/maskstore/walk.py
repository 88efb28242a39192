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
    stop = lengths.astype(np.int32).copy()
    last = np.full(n, start, dtype=np.int32)
    active = np.flatnonzero(lengths > 0)
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
