"""Contextual longest-match lexer: the product DFA of the terminals one parser context allows.

A context is the set of terminals the parser can accept next (plus ``%ignore`` terminals). Its
lexer runs all their DFAs in lock-step; the lexeme ends when no terminal can extend it, and the
terminals accepting at that point (after conflict resolution) are emitted together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grammar_decode.terminals.byte_dfa import DEAD, ByteDFA


@dataclass(frozen=True)
class LexTerminal:
    """A compiled terminal as the lexer sees it."""

    id: int
    name: str
    dfa: ByteDFA
    priority: int
    is_literal: bool
    ignored: bool


class ContextLexer:
    """Product DFA over the terminals of one context; state 0 is the empty lexeme.

    ``trans[s, b]`` is the next combined state (``-1`` when no terminal can continue) and
    ``emit[s]`` the frozenset of terminal ids the lexeme would be if it ended in state ``s``
    (empty when it cannot end there).
    """

    def __init__(self, terminals: list[LexTerminal], conflicts: str,
                 lexemes: dict[frozenset[int], frozenset[int]] | None = None) -> None:
        # one object per distinct lexeme (terminal id set), shared by the contexts given the
        # same ``lexemes``: caches keyed by lexemes then find keys by identity, not by a
        # compare of equal sets
        self._lexemes: dict[frozenset[int], frozenset[int]] = {} if lexemes is None else lexemes
        # canonical order (by content, not by name or id) so that the same terminals in another
        # grammar give the same product DFA, and its mask store can be shared through the cache
        self.terminals = sorted(terminals, key=lambda t: (t.dfa.digest(), t.priority,
                                                          t.is_literal, t.ignored, t.id))
        self.terminal_ids = frozenset(t.id for t in self.terminals)
        self.conflicts = conflicts
        order, rows = _product([t.dfa for t in self.terminals])
        self.trans = np.stack(rows)
        self.states = order
        self.trans_list: list[list[int]] = self.trans.tolist()
        # emitted lexeme per state, as positions in self.terminals (store form) and as ids
        self.emit_positions: list[frozenset[int]] = [self._resolve(c) for c in order]
        self.emit: list[frozenset[int]] = [self.ids_of(e) for e in self.emit_positions]
        # per state: index of the first state emitting the same set (-1: cannot end here)
        first: dict[frozenset[int], int] = {}
        self.emit_group = np.array(
            [first.setdefault(e, s) if e else -1 for s, e in enumerate(self.emit)], np.int64)

    def ids_of(self, positions: frozenset[int]) -> frozenset[int]:
        """Terminal ids of a set of positions in this context's canonical terminal order."""
        ids = frozenset(self.terminals[p].id for p in positions)
        return self._lexemes.setdefault(ids, ids)

    def cache_key(self) -> tuple:
        """Content key: equal for contexts with the same terminals in any grammar."""
        return (self.conflicts,) + tuple(
            (t.dfa.digest(), t.priority, t.is_literal, t.ignored) for t in self.terminals)

    def _resolve(self, combo: tuple[tuple[int, int], ...]) -> frozenset[int]:
        matched = [p for p, s in combo if bool(self.terminals[p].dfa.accepting[s])]
        if not matched:
            return frozenset()
        real = [p for p in matched if not self.terminals[p].ignored]
        if real:
            matched = real
        top = max(self.terminals[p].priority for p in matched)
        matched = [p for p in matched if self.terminals[p].priority == top]
        if self.conflicts == "priority" and any(self.terminals[p].is_literal for p in matched):
            matched = [p for p in matched if self.terminals[p].is_literal]
        return frozenset(matched)

    @property
    def n_states(self) -> int:
        return int(self.trans.shape[0])


def _product(dfas: list[ByteDFA]) -> tuple[list[tuple[tuple[int, int], ...]], list[np.ndarray]]:
    """Breadth-first product of ``dfas`` (state 0 = all at their start): the states, each the
    (position, state) pairs of the terminals still alive, and each state's transition row.

    States are numbered in order of discovery (by state, then byte), which the on-disk mask
    stores rely on. Per state, the columns of the live terminals' transition rows are
    deduplicated with numpy, so the cost grows with the distinct successors (byte classes),
    not with 256 x the number of terminals."""
    start = tuple((k, 0) for k, d in enumerate(dfas) if d.n_states)
    index = {start: 0}
    order = [start]
    rows: list[np.ndarray] = []

    def number(key: tuple[tuple[int, int], ...]) -> int:
        found = index.get(key)
        if found is None:
            found = index[key] = len(order)
            order.append(key)
        return found

    i = 0
    while i < len(order):
        combo = order[i]
        i += 1
        if len(combo) == 1:  # one terminal left: its own DFA row (most states)
            k, s = combo[0]
            row_list = [DEAD] * 256
            local: dict[int, int] = {}
            for b, t in enumerate(dfas[k].rows()[s]):
                if t >= 0:
                    found = local.get(t)
                    if found is None:
                        found = local[t] = number(((k, t),))
                    row_list[b] = found
            rows.append(np.array(row_list, dtype=np.int32))
            continue
        row = np.full(256, DEAD, dtype=np.int32)
        rows.append(row)
        if not combo:
            continue
        terms = [k for k, _ in combo]
        nxt = np.stack([dfas[k].trans[s] for k, s in combo])  # (live terminals, 256)
        alive = np.flatnonzero((nxt >= 0).any(axis=0))
        if not len(alive):
            continue
        columns = np.ascontiguousarray(nxt[:, alive].T)  # (alive bytes, live terminals)
        rows_as_keys = columns.view(np.dtype((np.void, columns.strides[0]))).reshape(-1)
        _, first, inverse = np.unique(rows_as_keys, return_index=True, return_inverse=True)
        targets = np.empty(len(first), dtype=np.int32)
        for u in np.argsort(first, kind="stable").tolist():
            column = columns[first[u]].tolist()
            targets[u] = number(tuple((k, s) for k, s in zip(terms, column) if s >= 0))
        row[alive] = targets[inverse.reshape(-1)]
    return order, rows
