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

    def __init__(self, terminals: list[LexTerminal], conflicts: str) -> None:
        # canonical order (by content, not by name or id) so that the same terminals in another
        # grammar give the same product DFA, and its mask store can be shared through the cache
        self.terminals = sorted(terminals, key=lambda t: (t.dfa.digest(), t.priority,
                                                          t.is_literal, t.ignored, t.id))
        self.terminal_ids = frozenset(t.id for t in self.terminals)
        self.conflicts = conflicts
        dfas = [t.dfa for t in self.terminals]
        start = tuple(0 if d.n_states else DEAD for d in dfas)
        index = {start: 0}
        order = [start]
        rows: list[np.ndarray] = []
        i = 0
        while i < len(order):
            combo = order[i]
            i += 1
            nxt = np.full((len(dfas), 256), DEAD, dtype=np.int32)
            for k, (d, s) in enumerate(zip(dfas, combo)):
                if s >= 0:
                    nxt[k] = d.trans[s]
            row = np.full(256, DEAD, dtype=np.int32)
            alive = (nxt >= 0).any(axis=0) if len(dfas) else np.zeros(256, bool)
            for b in np.flatnonzero(alive):
                key = tuple(int(x) for x in nxt[:, b])
                if key not in index:
                    index[key] = len(order)
                    order.append(key)
                row[b] = index[key]
            rows.append(row)
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
        return frozenset(self.terminals[p].id for p in positions)

    def cache_key(self) -> tuple:
        """Content key: equal for contexts with the same terminals in any grammar."""
        return (self.conflicts,) + tuple(
            (t.dfa.digest(), t.priority, t.is_literal, t.ignored) for t in self.terminals)

    def _resolve(self, combo: tuple[int, ...]) -> frozenset[int]:
        matched = [p for p, (t, s) in enumerate(zip(self.terminals, combo))
                   if s >= 0 and bool(t.dfa.accepting[s])]
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
