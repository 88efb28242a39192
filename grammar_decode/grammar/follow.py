"""Which terminals can come right after each terminal (the classic FOLLOW sets).

The matcher uses them to drop, before any parser step, the tokens that end a lexeme and go
on with bytes no terminal allowed next can begin with: whatever the parse so far, such a
token cannot be viable (see ``CompiledGrammar.next_bytes``).

Both FIRST and FOLLOW are propagated along their inclusion edges with a worklist, so the cost
is linear in the grammar times the set sizes (schema grammars have tens of thousands of rules).
"""

from __future__ import annotations

from collections import defaultdict

from grammar_decode.grammar.ir import Grammar
from grammar_decode.grammar.prune import deriving


def follow_terminals(grammar: Grammar) -> dict[str, frozenset[str]]:
    """Per terminal name: the terminals that can follow it in some sentential form of the
    grammar, ignored terminals left out (they may come between any two lexemes). An
    over-approximation where rules are unreachable, never an under-approximation."""
    rules = grammar.rules
    nullable = deriving(grammar, set())
    # FIRST: first[A] includes first[X] for X in the nullable prefix of A's alternatives
    first: dict[str, set[str]] = {name: set() for name in rules}
    first_into: dict[str, set[str]] = defaultdict(set)  # X -> the A whose FIRST includes it
    for name, alts in rules.items():
        for alt in alts:
            for sym in alt:
                if sym in rules:
                    first_into[sym].add(name)
                else:
                    first[name].add(sym)
                if sym not in nullable:
                    break
    _propagate(first, first_into)

    def first_of(sym: str) -> set[str]:
        return first[sym] if sym in rules else {sym}

    # FOLLOW: the FIRST of what comes after each occurrence, and FOLLOW(A) included in the
    # FOLLOW of every symbol that can end an alternative of A
    follow: dict[str, set[str]] = defaultdict(set)
    follow_into: dict[str, set[str]] = defaultdict(set)
    for name, alts in rules.items():
        for alt in alts:
            after: set[str] = set()
            ends = True  # the suffix after this position is nullable
            for sym in reversed(alt):
                follow[sym] |= after
                if ends:
                    follow_into[name].add(sym)
                if sym in nullable:
                    after = after | first_of(sym)
                else:
                    after = set(first_of(sym))
                    ends = False
    _propagate(follow, follow_into)
    return {name: frozenset(follow.get(name, ())) for name in grammar.terminals}


def _propagate(sets: dict[str, set[str]], into: dict[str, set[str]]) -> None:
    """Close ``sets`` under the inclusions ``sets[x] <= sets[y]`` for ``y in into[x]``."""
    work = list(into)
    queued = set(work)
    while work:
        x = work.pop()
        queued.discard(x)
        source = sets.get(x)
        if not source:
            continue
        for y in into.get(x, ()):
            target = sets.setdefault(y, set())
            if not source <= target:
                target |= source
                if y not in queued:
                    queued.add(y)
                    work.append(y)
