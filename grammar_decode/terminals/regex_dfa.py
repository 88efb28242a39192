"""Terminal regexes (Python ``re`` syntax, as Lark writes them) -> minimal byte DFAs.

``interegular`` parses the pattern and builds a character automaton; we convert that to a
byte automaton over UTF-8 (so tokens that split a multi-byte character are judged exactly),
and implement top-level lookaheads as automaton intersection/difference.
"""

from __future__ import annotations

import functools

import interegular
from interegular import patterns as ipat

from grammar_decode.errors import GrammarCompileError
from grammar_decode.terminals.byte_dfa import (
    DEAD,
    ByteDFA,
    concatenate,
    determinize,
    empty_dfa,
    product,
)
from grammar_decode.terminals.utf8 import (
    complement_ranges,
    ranges_from_code_points,
    utf8_sequences,
)


def compile_literal(text: str | bytes) -> ByteDFA:
    """DFA matching exactly one byte string."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    edges = [[(b, b, i + 1)] for i, b in enumerate(data)] + [[]]
    return determinize(edges, 0, {len(data)})


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> ByteDFA:
    """Compile a whole-lexeme regex to a minimal byte DFA.

    Raises GrammarCompileError naming the pattern when a construct is unsupported.
    """
    try:
        parsed = ipat.parse_pattern(pattern)
    except Exception as exc:  # interegular raises several types
        raise GrammarCompileError(f"cannot compile terminal regex /{pattern}/: {exc}") from exc
    try:
        return _compile_pattern(parsed, pattern)
    except GrammarCompileError:
        raise
    except Exception as exc:
        raise GrammarCompileError(f"cannot compile terminal regex /{pattern}/: {exc}") from exc


def _is_lookaround(node: object) -> bool:
    return isinstance(node, ipat._NonCapturing)


def _contains_lookaround(node: object) -> bool:
    if _is_lookaround(node):
        return True
    if isinstance(node, ipat.Pattern):
        return any(_contains_lookaround(o) for o in node.options)
    if isinstance(node, ipat._Concatenation):
        return any(_contains_lookaround(p) for p in node.parts)
    if isinstance(node, ipat._Repeated):
        return _contains_lookaround(node.base)
    return False


def _compile_pattern(parsed: ipat.Pattern, source: str) -> ByteDFA:
    result = empty_dfa()
    for option in parsed.options:
        parts = option.parts if isinstance(option, ipat._Concatenation) else (option,)
        dfa = _compile_parts(list(parts), parsed, source)
        result = dfa if result.n_states == 0 else _union(result, dfa)
    return result


def _compile_parts(parts: list, context: ipat.Pattern, source: str) -> ByteDFA:
    """Concatenation whose members may include top-level lookaheads."""
    for i, part in enumerate(parts):
        if _is_lookaround(part):
            if part.backwards:
                raise GrammarCompileError(f"lookbehind is not supported in terminal /{source}/")
            head = _plain(parts[:i], context, source)
            rest = _compile_parts(parts[i + 1:], context, source)
            look = _concat_any(_compile_pattern(part.inner, source))
            rest = product(rest, look, "minus" if part.negate else "and")
            return concatenate(head, rest)
    return _plain(parts, context, source)


def _plain(parts: list, context: ipat.Pattern, source: str) -> ByteDFA:
    """A lookaround-free concatenation, through interegular's character automaton."""
    for p in parts:
        if _contains_lookaround(p):
            raise GrammarCompileError(
                f"lookaheads are only supported at the top level of terminal /{source}/")
    node = ipat.Pattern((ipat._Concatenation(tuple(parts)),), context.added_flags,
                        context.removed_flags)
    return fsm_to_byte_dfa(node.to_fsm())


@functools.lru_cache(maxsize=1)
def _any_star() -> ByteDFA:
    return fsm_to_byte_dfa(ipat.parse_pattern(r"(?s:.)*").to_fsm())


def _concat_any(dfa: ByteDFA) -> ByteDFA:
    """L·Σ*: strings that have a prefix in L."""
    return concatenate(dfa, _any_star())


def _union(a: ByteDFA, b: ByteDFA) -> ByteDFA:
    edges: list[list[tuple[int, int, int]]] = [[]]
    finals: set[int] = set()
    for dfa in (a, b):
        off = len(edges)
        for s in range(dfa.n_states):
            row = dfa.trans[s]
            edges.append([(int(x), int(x), int(row[x]) + off) for x in range(256) if row[x] >= 0])
            if dfa.accepting[s]:
                finals.add(off + s)
        edges[0] = edges[0] + edges[off]
        if dfa.n_states and dfa.accepting[0]:
            finals.add(0)
    return determinize(edges, 0, finals)


def fsm_to_byte_dfa(fsm: interegular.FSM) -> ByteDFA:
    """Convert interegular's character FSM to a minimal DFA over UTF-8 bytes."""
    alphabet = fsm.alphabet
    explicit = [ord(c) for c in alphabet.keys() if c is not interegular.fsm.anything_else]
    else_ranges = complement_ranges(ranges_from_code_points(explicit))
    symbol_cps: dict[int, list[int]] = {}
    symbol_else: dict[int, bool] = {}
    for symbol, chars in alphabet.by_transition.items():
        symbol_cps[symbol] = [ord(c) for c in chars if c is not interegular.fsm.anything_else]
        symbol_else[symbol] = any(c is interegular.fsm.anything_else for c in chars)
    states = [fsm.initial] + [s for s in fsm.states if s != fsm.initial]
    ids = {s: i for i, s in enumerate(states)}
    edges: list[list[tuple[int, int, int]]] = [[] for _ in states]
    for s in states:
        by_target: dict[int, list[int]] = {}
        else_targets: set[int] = set()
        for symbol, t in fsm.map.get(s, {}).items():
            by_target.setdefault(ids[t], []).extend(symbol_cps.get(symbol, []))
            if symbol_else.get(symbol):
                else_targets.add(ids[t])
        trie: dict[tuple, int] = {}
        for target, cps in by_target.items():
            ranges = ranges_from_code_points(cps)
            if target in else_targets:
                ranges = sorted(ranges + else_ranges)
            for lo, hi in ranges:
                for seq in utf8_sequences(lo, hi):
                    src = ids[s]
                    for k, (blo, bhi) in enumerate(seq):
                        if k == len(seq) - 1:
                            edges[src].append((blo, bhi, target))
                        else:
                            key = (src, blo, bhi)
                            if key not in trie:
                                trie[key] = len(edges)
                                edges.append([])
                                edges[src].append((blo, bhi, trie[key]))
                            src = trie[key]
    finals = {ids[s] for s in fsm.finals}
    dfa = determinize(edges, 0, finals)
    return dfa


__all__ = ["compile_literal", "compile_regex", "fsm_to_byte_dfa", "DEAD"]
