"""Vectorised walk of the whole vocabulary through a DFA from many start states at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class WalkResult:
    """Per (start state, token) outcome of feeding the token's bytes to the DFA.

    ``stop[i, k]``: bytes consumed before the DFA died (== token length when it never died);
    ``last[i, k]``: the state before it died (or the end state when it never died);
    ``alive[i, k]``: it never died.
    Columns follow ``ids`` (token ids sorted by byte length, longest first).
    """

    ids: np.ndarray
    lengths: np.ndarray
    stop: np.ndarray
    last: np.ndarray
    alive: np.ndarray


def walk_vocabulary(trans: np.ndarray, starts: np.ndarray, matrix: np.ndarray,
                    lengths: np.ndarray, ids: np.ndarray) -> WalkResult:
    """Walk every token (rows of the padded byte ``matrix``) from every state in ``starts``.

    Tokens are sorted longest first, so position ``j`` only touches the prefix of columns whose
    tokens are longer than ``j``: the total work is the vocabulary's byte count per start state,
    in numpy, not a Python loop per token.
    """
    starts = np.asarray(starts, dtype=np.int32)
    n_tok = len(ids)
    cur = np.repeat(starts[:, None], n_tok, axis=1).astype(np.int32)
    stop = np.broadcast_to(lengths.astype(np.int32), cur.shape).copy()
    last = cur.copy()
    # active[j] = number of tokens longer than j (lengths are sorted descending)
    neg = -lengths.astype(np.int64)
    max_len = int(lengths[0]) if n_tok else 0
    for j in range(max_len):
        c = int(np.searchsorted(neg, -j, side="left"))
        if c == 0:
            break
        sub = cur[:, :c]
        live = sub >= 0
        if not live.any():
            break
        byte = matrix[:c, j]
        nxt = trans[np.maximum(sub, 0), byte[None, :]]
        nxt = np.where(live, nxt, -1)
        died = live & (nxt < 0)
        if died.any():
            stop[:, :c][died] = j
            last[:, :c][died] = sub[died]
        cur[:, :c] = nxt
    alive = cur >= 0
    last[alive] = cur[alive]
    return WalkResult(ids=ids, lengths=lengths, stop=stop, last=last, alive=alive)
