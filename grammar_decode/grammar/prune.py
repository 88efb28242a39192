"""Remove grammar alternatives that can never complete, so the matcher never enters them.

An alternative is dead when it uses a terminal whose language is empty (e.g. a JSON-Schema key
that must match two disjoint patterns) or a nonterminal that derives no finite string. Keeping
such alternatives would let the parser predict terminals that lead nowhere, i.e. allow prefixes
of no sentence; pruning them keeps masks exact.
"""

from __future__ import annotations

from dataclasses import replace

from grammar_decode.errors import GrammarCompileError
from grammar_decode.grammar.ir import Grammar


def deriving(grammar: Grammar, atoms: set[str]) -> set[str]:
    """The nonterminals that derive a string of ``atoms`` (the empty set: the nullable ones;
    the live terminals: the productive ones)."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, alts in grammar.rules.items():
            if name not in found and any(all(s in atoms or s in found for s in alt)
                                         for alt in alts):
                found.add(name)
                changed = True
    return found


def prune(grammar: Grammar, dead_terminals: set[str]) -> Grammar:
    """The grammar without dead alternatives and the symbols only they used."""
    live_terminals = set(grammar.terminals) - set(dead_terminals)
    productive = deriving(grammar, live_terminals)
    if grammar.start not in productive:
        raise GrammarCompileError(
            f"the grammar's language is empty: start rule {grammar.start!r} derives no string")
    rules = {name: tuple(alt for alt in alts
                         if all(s in live_terminals or s in productive for s in alt))
             for name, alts in grammar.rules.items() if name in productive}
    reachable = {grammar.start}
    stack = [grammar.start]
    used_terminals: set[str] = set()
    while stack:
        for alt in rules[stack.pop()]:
            for s in alt:
                if s in rules and s not in reachable:
                    reachable.add(s)
                    stack.append(s)
                elif s in grammar.terminals:
                    used_terminals.add(s)
    terminals = {n: t for n, t in grammar.terminals.items()
                 if n in used_terminals or (t.ignored and n in live_terminals)}
    return replace(grammar, rules={n: a for n, a in rules.items() if n in reachable},
                   terminals=terminals)
