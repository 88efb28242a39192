"""Remainders of tokens that cross a lexeme boundary, judged in the next lexer context.

A ``RemainderSet`` is a group of (token, offset) pairs: the bytes of each token from its offset
on still have to be lexed, from the empty lexeme, in the context that follows the emitted
terminals. Their outcome in a given context is computed once by a vectorised walk and cached:
- tokens whose remainder stays inside a lexeme are valid;
- the others end another lexeme and form child RemainderSets, one per emitted terminal set,
  which the matcher judges recursively after the parser accepts that terminal set.
Only the parser steps depend on the parse so far; everything else is cached per context.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class RemainderSet:
    """(token id, byte offset) pairs, with per-context cached outcomes."""

    __slots__ = ("tokens", "offsets", "_outcomes")

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray) -> None:
        self.tokens = np.asarray(tokens, dtype=np.int32)
        self.offsets = np.asarray(offsets, dtype=np.int32)
        self._outcomes: dict[Any, Outcome] = {}

    def __len__(self) -> int:
        return len(self.tokens)

    def outcome(self, lexer: Any, vocab: Any) -> Outcome:
        """The outcome of lexing every remainder from the empty lexeme of ``lexer``."""
        found = self._outcomes.get(lexer)
        if found is None:
            found = self._outcomes[lexer] = _walk(self, lexer, vocab)
        return found


class Outcome:
    """Valid token ids, and child groups keyed by the emitted terminal ids."""

    __slots__ = ("valid", "children")

    def __init__(self, valid: np.ndarray, children: list[tuple[frozenset[int], RemainderSet]]):
        self.valid = valid
        self.children = children


def _walk(rs: RemainderSet, lexer: Any, vocab: Any) -> Outcome:
    matrix, lengths, ids = vocab.byte_matrix()
    row_of = _row_index(vocab)
    rows = row_of[rs.tokens]
    ends = lengths[rows]
    pos = rs.offsets.copy()
    state = np.zeros(len(rs), dtype=np.int32)
    last = state.copy()
    active = np.flatnonzero(pos < ends)
    trans = lexer.trans
    while len(active):
        b = matrix[rows[active], pos[active]]
        nxt = trans[state[active], b]
        died = nxt < 0
        dead_idx = active[died]
        last[dead_idx] = state[dead_idx]
        state[dead_idx] = -1
        live_idx = active[~died]
        state[live_idx] = nxt[~died]
        pos[live_idx] += 1
        active = live_idx[pos[live_idx] < ends[live_idx]]
    alive = state >= 0
    valid = rs.tokens[alive]
    children: list[tuple[frozenset[int], RemainderSet]] = []
    dead = np.flatnonzero(~alive)
    if len(dead):
        e = lexer.emit_group[last[dead]]
        keep = e >= 0
        dead, e = dead[keep], e[keep]
        for key in np.unique(e):
            sel = dead[e == key]
            children.append((lexer.emit[int(key)], RemainderSet(rs.tokens[sel], pos[sel])))
    return Outcome(valid, children)


def _row_index(vocab: Any) -> np.ndarray:
    cached = getattr(vocab, "_gd_row_index", None)
    if cached is None:
        _, _, ids = vocab.byte_matrix()
        cached = np.full(vocab.size, -1, dtype=np.int64)
        cached[ids] = np.arange(len(ids))
        try:
            vocab._gd_row_index = cached
        except AttributeError:
            pass
    return cached
