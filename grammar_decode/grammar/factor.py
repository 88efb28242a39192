"""Factor rules so that Earley sets hold fewer items: the recogniser's work per set grows
with its items, and every item with an earlier origin is copied into each new set's kernel.

*Operator levels* (``merge_operator_levels``): a chain of left-associative levels, ``X -> Z
| X a Z``, ``Z -> W | Z b W``, ..., is one level to a recogniser, ``X -> W | X O W`` with ``O
-> a | b | ...``: precedence shapes parse trees, not the language. After an operand the sets
wait on one item instead of one per level (Go's five).

*Choices* (``inline_choices``): an operator rule ``O -> rel_op | add_op`` over ``rel_op -> "=="
| "!="`` completes ``rel_op`` after every operator; ``O -> "==" | "!=" | ...`` does not.

*Many alternatives* (``factor_alternatives``) become a chain over their minimal automaton.

Lark's loader expands every optional part (``[x]``, ``x?``) into alternatives with and without
it, so a rule of k optional clauses becomes 2^k alternatives, and every Earley set inside it
holds an item per alternative (SQL's ``select_core``: 128 items where 10 would do). The
alternatives of a rule are a finite language over its symbols; this pass builds the minimal
acyclic automaton of that language and, when it is much smaller, replaces the rule by its
left-linear grammar: a nonterminal per automaton state (the prefixes reaching it), ``N_q ->
N_p a`` per edge ``p -a-> q``, and ``A -> N_q`` per accepting state. The language is the same,
so only the recogniser's work changes; left-linear chains keep every item of the rule at the
rule's own origin, as the flat alternatives did.

*Alternatives sharing a first symbol* (``left_factor``) get one item after it: ``A -> x b1 |
x b2 | x b3`` becomes ``A -> x A'`` and ``A' -> b1 | b2 | b3``. A set where ``x`` was just
completed then holds ``A -> x . A'`` instead of an item per alternative, and the items of
``A'`` are predicted ones, which every set predicting ``A'`` shares (Go's postfix operators:
14 items after each operand became 1, the mean kernel of a cold pass's new sets 12 items -> 5).
"""

from __future__ import annotations

from dataclasses import replace

from grammar_decode.grammar.ir import Grammar

FACTOR_RATIO = 8  # factor a rule when its alternatives have this many times its edges


def factor_grammar(grammar: Grammar) -> Grammar:
    """The grammar the recogniser runs: ``grammar`` merged and factored (same language)."""
    return left_factor(factor_alternatives(inline_choices(merge_operator_levels(grammar))))


def inline_choices(grammar: Grammar) -> Grammar:
    """An equivalent grammar where an alternative that is one nonterminal whose alternatives
    are all single terminals (a *choice*, ``rel_op -> "==" | "!="``) is replaced by those
    terminals, unless the rule uses that nonterminal in another alternative too (then both
    would climb: ``column -> IDENT | name "." name`` completes ``name`` anyway)."""
    rules = grammar.rules
    choices = {name for name, alts in rules.items() if alts and all(
        len(alt) == 1 and alt[0] in grammar.terminals for alt in alts)}
    out = dict(rules)
    for name, alts in rules.items():
        if not any(len(alt) == 1 and alt[0] in choices for alt in alts):
            continue  # most rules: nothing to inline, so no use counts
        uses = [sym for alt in alts for sym in alt]
        new: list[tuple[str, ...]] = []
        for alt in alts:
            if (len(alt) == 1 and alt[0] in choices and alt[0] != name
                    and uses.count(alt[0]) == 1):
                new.extend(rules[alt[0]])
            else:
                new.append(alt)
        out[name] = tuple(dict.fromkeys(new))
    if all(out[name] == alts for name, alts in rules.items()):
        return grammar
    return replace(grammar, rules=out)


def merge_operator_levels(grammar: Grammar) -> Grammar:
    """An equivalent grammar where each operator level heading a chain of two or more is one
    level over the chain's operand (see the module). The language is the same: the least
    solution of ``X = Z | X a Z`` is ``Z (a Z)*``, so a chain is ``W ((a | b | ...) W)*``,
    which ``X -> W | X O W`` also derives; a chain whose operators use one of its levels is
    left as it is."""
    levels = {name: level for name, alts in grammar.rules.items()
              if (level := _operator_level(name, alts)) is not None}
    rules = dict(grammar.rules)
    taken = set(grammar.rules) | set(grammar.terminals)
    for name, (operand, operators) in levels.items():
        chain, merged = [name], list(operators)
        while operand in levels and operand not in chain:
            chain.append(operand)
            operand, more = levels[operand]
            merged.extend(more)
        if (len(chain) < 2 or operand in chain
                or any(sym in chain for alt in merged for sym in alt)):
            continue
        label = _fresh_name(f"{name}^op", "^", taken)
        rules[label] = tuple(dict.fromkeys(merged))
        rules[name] = ((operand,), (name, label, operand))
    if len(rules) == len(grammar.rules):
        return grammar
    return replace(grammar, rules=rules)


def _fresh_name(label: str, pad: str, taken: set[str]) -> str:
    """``label``, or it padded with ``pad`` until no rule or terminal has that name;
    recorded in ``taken``."""
    while label in taken:
        label += pad
    taken.add(label)
    return label


def _operator_level(name: str, alts: tuple[tuple[str, ...], ...]
                    ) -> tuple[str, tuple[tuple[str, ...], ...]] | None:
    """``(Z, (a, ...))`` when the alternatives of ``name`` are ``Z`` (another symbol: a
    terminal ends a chain) and ``name a Z`` for each operator string ``a``, at least one;
    else None."""
    if len(alts) < 2:  # most rules: one alternative
        return None
    operands = [alt[0] for alt in alts if len(alt) == 1]
    if len(operands) != 1 or operands[0] == name:
        return None
    operand = operands[0]
    operators = tuple(alt[1:-1] for alt in alts if len(alt) != 1)
    if not all(len(alt) >= 2 and alt[0] == name and alt[-1] == operand
               for alt in alts if len(alt) != 1):
        return None
    return operand, operators


def factor_alternatives(grammar: Grammar) -> Grammar:
    """An equivalent grammar with the rules of many alternatives factored (see module)."""
    rules: dict[str, tuple[tuple[str, ...], ...]] = {}
    taken = set(grammar.rules) | set(grammar.terminals)
    for name, alts in grammar.rules.items():
        factored = _factor(name, alts, taken)
        if factored is None:
            rules[name] = alts
        else:
            rules.update(factored)
    if len(rules) == len(grammar.rules):
        return grammar
    return replace(grammar, rules=rules)


def _factor(name: str, alts: tuple[tuple[str, ...], ...], taken: set[str]
            ) -> dict[str, tuple[tuple[str, ...], ...]] | None:
    """The left-linear rules of ``name``'s minimal automaton, or None when not worth it
    (never with fewer than ``FACTOR_RATIO`` alternatives: the automaton has at least as many
    edges as the longest alternative has symbols)."""
    if len(alts) < FACTOR_RATIO:
        return None
    states, root = _minimal_automaton(alts)
    n_edges = sum(len(edges) for _, edges in states)
    if n_edges * FACTOR_RATIO > sum(len(alt) for alt in alts):
        return None
    names = {}
    for q in range(len(states)):
        if q != root:
            names[q] = _fresh_name(f"{name}~{q}", "~", taken)
    incoming: dict[str, list[tuple[str, ...]]] = {label: [] for label in names.values()}
    for p, (_, edges) in enumerate(states):
        for sym, q in edges:
            incoming[names[q]].append((sym,) if p == root else (names[p], sym))
    out = {label: tuple(prods) for label, prods in incoming.items()}
    out[name] = tuple(() if q == root else (names[q],)
                      for q, (accepting, _) in enumerate(states) if accepting)
    return out


LEFT_FACTOR_MIN = 3  # alternatives sharing a first symbol that get one item after it


def left_factor(grammar: Grammar) -> Grammar:
    """An equivalent grammar where ``LEFT_FACTOR_MIN`` or more alternatives of a rule that
    begin with the same symbol share one item after it (see the module; recursively, so
    tails sharing their first symbol are factored too)."""
    rules: dict[str, tuple[tuple[str, ...], ...]] = {}
    taken = set(grammar.rules) | set(grammar.terminals)

    def factored(name: str, alts: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        by_first: dict[str, list[tuple[str, ...]]] = {}
        done: set[str] = set()
        for alt in alts:
            if alt:
                by_first.setdefault(alt[0], []).append(alt[1:])
        out: list[tuple[str, ...]] = []
        for alt in alts:
            tails = by_first.get(alt[0]) if alt else None
            if tails is None or len(tails) < LEFT_FACTOR_MIN:
                out.append(alt)
            elif alt[0] not in done:  # the group, once, where its first alternative was
                done.add(alt[0])
                label = _fresh_name(f"{name}^{alt[0]}", "^", taken)
                rules[label] = factored(label, tuple(tails))
                out.append((alt[0], label))
        return tuple(out)

    for name, alts in grammar.rules.items():
        rules[name] = alts if len(alts) < LEFT_FACTOR_MIN else factored(name, alts)
    if len(rules) == len(grammar.rules):
        return grammar
    return replace(grammar, rules=rules)


_State = tuple  # (accepting, ((symbol, next state), ...) sorted)


def _minimal_automaton(alts: tuple[tuple[str, ...], ...]) -> tuple[list[_State], int]:
    """The minimal deterministic automaton of the finite language ``alts``: its states and
    the index of the start state (states are merged by their right language, bottom-up)."""
    trie: list[tuple[list[bool], dict[str, int]]] = [([False], {})]
    for alt in alts:
        node = 0
        for sym in alt:
            child = trie[node][1].get(sym)
            if child is None:
                child = trie[node][1][sym] = len(trie)
                trie.append(([False], {}))
            node = child
        trie[node][0][0] = True
    register: dict[_State, int] = {}
    states: list[_State] = []
    canonical = [0] * len(trie)
    for node in range(len(trie) - 1, -1, -1):  # children have larger indices than parents
        accepting, children = trie[node]
        key = (accepting[0], tuple(sorted((sym, canonical[c]) for sym, c in children.items())))
        found = register.get(key)
        if found is None:
            found = register[key] = len(states)
            states.append(key)
        canonical[node] = found
    return states, canonical[0]
