"""Long counted strings as chains of fixed-size chunk terminals.

A string language ``"`` X{lo,hi} ``"`` (X: one unit of a code point set, see
:class:`grammar_decode.schema.strings.CountedString`) needs about 14 DFA states per unit as
one terminal, which is slow to build and to mask for large bounds and impossible past ~2,000.
Since X{0,a} X{0,b} = X{0,a+b}, the grammar can count instead: a value with k = q*C + r units
(0 <= r < C, C = ``CHUNK``) is lexed as q full chunks (``"X{C}``, then ``X{C}``) and one last
terminal ``X{r}"`` (``"X{r}"`` when q = 0), and the rules allow exactly the (q, r) with
lo <= k <= hi. Longest-match lexing splits every value this way and no other way: a full chunk
cannot be extended, a last terminal holds fewer than C units and ends at the closing quote,
which a unit never contains. Counting q takes O(log q) rules (powers of two of the full chunk).

Longest match across *different* terminals is the one risk: where a whole-string terminal that
can hold C or more units is expected at the same position as a full chunk, it outlasts the
chunk and the chunked reading is lost. :func:`choose_chunked` decides which strings are chunked
so that this never happens.
"""

from __future__ import annotations

import re

CHUNK = 32          # units per full chunk
CHUNK_ABOVE = 64    # chunk a counted string when its largest bound exceeds this many units

# Grammar symbols: terminals ("full", head) = [quote] X{C} and ("last", head, a, b) =
# [quote] X{a,b} quote; every other tuple names a rule.
Sym = tuple


def worth_chunking(lo: int, hi: int | None) -> bool:
    """Whether a counted string with these bounds is emitted as chunks."""
    return max(lo, hi or 0) > CHUNK_ABOVE


def chain_grammar(lo: int, hi: int | None, size: int
                  ) -> tuple[list[tuple[Sym, ...]], dict[Sym, list[tuple[Sym, ...]]]]:
    """The alternatives of ``"`` X{lo,hi} ``"`` over chunks of ``size`` units, and the rules
    they use. Rules depend only on their name (and X, size), so chains can share them."""
    if hi is not None and lo > hi:
        raise ValueError(f"empty count {lo}..{hi}")
    rules: dict[Sym, list[tuple[Sym, ...]]] = {}
    full: Sym = ("full", False)

    def last(a: int, b: int, head: bool = False) -> Sym:
        return ("last", head, a, b)

    def power(i: int) -> Sym:  # 2**i full chunks
        name = ("pow", i)
        if name not in rules:
            rules[name] = [(full,)] if i == 0 else [(power(i - 1), power(i - 1))]
        return name

    def times(n: int) -> tuple[Sym, ...]:  # n full chunks
        return tuple(power(i) for i in range(n.bit_length()) if n >> i & 1)

    def fewer(i: int) -> Sym:  # fewer than 2**i full chunks, then any last
        name = ("fewer", i)
        if name not in rules:
            rules[name] = [(last(0, size - 1),)] if i == 0 else \
                [(fewer(i - 1),), (power(i - 1), fewer(i - 1))]
        return name

    def upto(k: int, r: int) -> Sym:  # fewer than k full chunks then any last, or k then X{0,r}"
        name = ("upto", k, r)
        if name not in rules:
            i = k.bit_length() - 1
            rules[name] = [(last(0, r),)] if k == 0 else \
                [(fewer(i),), (power(i), upto(k - (1 << i), r))]
        return name

    q_min, r_min = divmod(lo, size)
    q_max, r_max = divmod(hi, size) if hi is not None else (None, size - 1)

    def span(q: int) -> tuple[int, int] | None:  # last-terminal sizes after q full chunks
        a = r_min if q == q_min else 0
        b = r_max if q == q_max else size - 1
        return (a, b) if q >= q_min and a <= b else None

    top: list[tuple[Sym, ...]] = []
    if span(0):
        top.append((last(*span(0), head=True),))
    if q_max is None or q_max >= 1:
        q0 = max(q_min, 1)  # first count of full chunks after which the string may end
        at_q0: list[tuple[Sym, ...]] = [(last(*span(q0)),)] if span(q0) else []
        if q_max is None:
            loop = ("loop",)
            rules[loop] = [(last(0, size - 1),), (full, loop)]
            at_q0.append((full, loop))
        elif q0 < q_max:
            at_q0.append((full, upto(q_max - q0 - 1, r_max)))
        state = ("after", q0, span(q0), q_max, r_max)
        rules[state] = at_q0
        top.append((("full", True),) + times(q0 - 1) + (state,))
    return top, rules


def terminal_regex(sym: Sym, unit: str, size: int) -> str:
    """The regex of a terminal symbol of :func:`chain_grammar`."""
    quote = '"' if sym[1] else ""
    if sym[0] == "full":
        return f"{quote}{unit}{{{size}}}"
    a, b = sym[2], sym[3]
    count = "" if b == 0 else f"{unit}{{{a}}}" if a == b else f"{unit}{{{a},{b}}}"
    return f'{quote}{count}"'


_NAME = re.compile(r"[A-Za-z_]\w*")


def choose_chunked(rules: dict[str, str], groups: list[list[str]], counted: set[str],
                   wanted: set[str], long: set[str]) -> set[str]:
    """Which counted strings to chunk: starts from ``wanted`` and returns a set in which no
    chunk can meet a longer whole-string terminal at one position.

    ``counted``: rule names of counted strings that can hold ``CHUNK`` or more units (leaves
    here: either chunked or one whole terminal); ``long``: the other string terminals that can.
    Two parses of one text exist only below a *group* (alternatives that may start with the
    same lexeme: arrays or objects of union branches, array elements with and without
    ``contains``, overlapping key classes). When one side of a group reaches a chunked string
    and another side a whole one, the whole ones are chunked too if they are all counted
    strings (same split, so the two readings stay in step), else the chunked ones stay whole
    for good. Each string changes at most twice, so this ends."""
    chunked = set(wanted)
    if not groups or not chunked:
        return chunked
    parents: dict[str, set[str]] = {}
    for name, body in rules.items():
        if name not in counted:
            for child in _NAME.findall(body):
                parents.setdefault(child, set()).add(name)

    def above(sources: set[str]) -> set[str]:
        """The sources and every rule that can reach one of them."""
        seen, todo = set(sources), list(sources)
        while todo:
            for p in parents.get(todo.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    above_counted = {leaf: above({leaf}) for leaf in counted}
    above_long = above(long)

    def reach(body: str) -> tuple[set[str], bool]:
        names = set(_NAME.findall(body))
        return {c for c, up in above_counted.items() if names & up}, bool(names & above_long)

    sides = [[reach(body) for body in group] for group in groups]
    whole_for_good: set[str] = set()
    changed = True
    while changed:
        changed = False
        for group in sides:
            for i, (mine, _) in enumerate(group):
                for j, (other, other_long) in enumerate(group):
                    if i == j or not mine & chunked:
                        continue
                    rest = other - chunked
                    if other_long or rest & whole_for_good:
                        whole_for_good |= mine & chunked
                        chunked -= mine
                        changed = True
                    elif rest:
                        chunked |= rest
                        changed = True
    return chunked
