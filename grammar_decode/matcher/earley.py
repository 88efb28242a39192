"""An incremental Earley recogniser over terminal ids (general CFGs, ambiguity allowed).

Each lexeme the lexer completes is a *set* of terminals (several terminals may match the same
lexeme); scanning advances every item waiting on any of them. Charts are plain lists of
immutable ``EarleySet`` objects, so copying or rolling back a parse is a list slice.
"""

from __future__ import annotations

from dataclasses import dataclass

from grammar_decode.errors import GrammarCompileError
from grammar_decode.grammar.ir import Grammar

_START = "$start"


class EarleyGrammar:
    """Grammar tables for the recogniser: dotted rules are ints, terminals are ints."""

    def __init__(self, grammar: Grammar, terminal_ids: dict[str, int]) -> None:
        self.terminal_ids = terminal_ids
        nonterminals = [_START] + sorted(grammar.rules)
        self.nt_ids = {name: i for i, name in enumerate(nonterminals)}
        rules: list[tuple[int, tuple[int, ...]]] = [(0, (self._sym(grammar.start, grammar),))]
        for name in sorted(grammar.rules):
            for alt in grammar.rules[name]:
                rules.append((self.nt_ids[name], tuple(self._sym(s, grammar) for s in alt)))
        # dotted rule d = offset[r] + dot; next_sym[d] is the symbol after the dot or None
        self.rule_offset: list[int] = []
        self.dr_next: list[int | None] = []  # >= 0 nonterminal, < 0 terminal -(t+1)
        self.dr_lhs: list[int] = []
        for lhs, rhs in rules:
            self.rule_offset.append(len(self.dr_next))
            for dot in range(len(rhs) + 1):
                self.dr_next.append(rhs[dot] if dot < len(rhs) else None)
                self.dr_lhs.append(lhs)
        self.predict: list[list[int]] = [[] for _ in nonterminals]
        for r, (lhs, _) in enumerate(rules):
            self.predict[lhs].append(self.rule_offset[r])
        self.nullable = self._nullable(rules, len(nonterminals))
        self.accept_dr = self.rule_offset[0] + 1
        self.n_nonterminals = len(nonterminals)

    def _sym(self, name: str, grammar: Grammar) -> int:
        if name in self.terminal_ids:
            return -(self.terminal_ids[name] + 1)
        if name in self.nt_ids:
            return self.nt_ids[name]
        raise GrammarCompileError(f"grammar uses undefined symbol {name!r}")

    @staticmethod
    def _nullable(rules: list[tuple[int, tuple[int, ...]]], n: int) -> list[bool]:
        nullable = [False] * n
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if not nullable[lhs] and all(s >= 0 and nullable[s] for s in rhs):
                    nullable[lhs] = changed = True
        return nullable


@dataclass(frozen=True, eq=False)
class EarleySet:
    """Items (dotted rule, origin) at one lexeme position, indexed by the symbol they await."""

    waiting: dict[int, tuple[tuple[int, int], ...]]
    accepting: bool

    @property
    def expected_terminals(self) -> frozenset[int]:
        cached = self.__dict__.get("_expected")
        if cached is None:
            cached = frozenset(-s - 1 for s in self.waiting if s < 0)
            object.__setattr__(self, "_expected", cached)
        return cached


def initial_set(g: EarleyGrammar) -> EarleySet:
    """The Earley set before any lexeme."""
    return _closure(g, [], [(g.rule_offset[0], 0)])


def scan(g: EarleyGrammar, chart: list[EarleySet], terminals: frozenset[int] | set[int]
         ) -> EarleySet | None:
    """The next Earley set after a lexeme matching any of ``terminals``; None if none fits."""
    last = chart[-1]
    # The chart before ``last`` is fixed for a given set object, so the result can be cached on
    # it: hypothetical scans repeated across mask computations cost one dict lookup.
    cache = last.__dict__.get("_scans")
    if cache is None:
        cache = {}
        object.__setattr__(last, "_scans", cache)
    key = frozenset(terminals)
    if key in cache:
        return cache[key]
    cache[key] = result = _scan(g, chart, last, key)
    return result


def _scan(g: EarleyGrammar, chart: list[EarleySet], last: EarleySet,
          terminals: frozenset[int]) -> EarleySet | None:
    seeds: list[tuple[int, int]] = []
    for t in terminals:
        for dr, origin in last.waiting.get(-(t + 1), ()):
            seeds.append((dr + 1, origin))
    if not seeds:
        return None
    return _closure(g, chart, seeds)


def _closure(g: EarleyGrammar, chart: list[EarleySet], seeds: list[tuple[int, int]]
             ) -> EarleySet:
    pos = len(chart)
    items: set[tuple[int, int]] = set()
    waiting: dict[int, list[tuple[int, int]]] = {}
    predicted: set[int] = set()
    completed_here: set[int] = set()  # nonterminals completed with origin == pos
    agenda = list(seeds)
    dr_next, dr_lhs, predict, nullable = g.dr_next, g.dr_lhs, g.predict, g.nullable
    accepting = False
    while agenda:
        item = agenda.pop()
        if item in items:
            continue
        items.add(item)
        dr, origin = item
        sym = dr_next[dr]
        if sym is None:
            lhs = dr_lhs[dr]
            if lhs == 0 and origin == 0:
                accepting = True
            if origin == pos:
                completed_here.add(lhs)
                for wdr, worigin in waiting.get(lhs, ()):
                    agenda.append((wdr + 1, worigin))
            else:
                for wdr, worigin in chart[origin].waiting.get(lhs, ()):
                    agenda.append((wdr + 1, worigin))
            continue
        waiting.setdefault(sym, []).append(item)
        if sym >= 0:
            if sym not in predicted:
                predicted.add(sym)
                for pdr in predict[sym]:
                    agenda.append((pdr, pos))
            if nullable[sym] or sym in completed_here:
                agenda.append((dr + 1, origin))
    return EarleySet({k: tuple(v) for k, v in waiting.items()}, accepting)
