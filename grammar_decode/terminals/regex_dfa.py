"""Terminal regexes (Python ``re`` syntax, as Lark writes them) -> minimal byte DFAs.

The pattern is parsed into code point ranges (``regex_parse``), built into a Thompson NFA,
expanded to UTF-8 byte sequences (so tokens that split a multi-byte character are judged
exactly), determinised and minimised. Top-level lookaheads become automaton intersection
(``(?=B)``) or difference (``(?!B)``) with B·Σ* applied to the rest of the lexeme.
"""

from __future__ import annotations

import functools

from grammar_decode.errors import GrammarCompileError
from grammar_decode.terminals.byte_dfa import (
    DEAD,
    ByteDFA,
    concatenate,
    determinize,
    empty_dfa,
    product,
)
from grammar_decode.terminals.regex_parse import (
    Alt,
    CharSet,
    Concat,
    Look,
    Repeat,
    parse_regex,
)
from grammar_decode.terminals.utf8 import MAX_CODE_POINT, utf8_sequences

_MAX_NFA_STATES = 400_000


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
        return _compile_top(parse_regex(pattern), pattern)
    except GrammarCompileError as exc:
        if f"/{pattern}/" in str(exc):
            raise
        raise GrammarCompileError(f"cannot compile terminal regex /{pattern}/: {exc}") from exc
    except RecursionError as exc:
        raise GrammarCompileError(f"terminal regex /{pattern}/ is nested too deeply") from exc


def _compile_top(node: object, source: str) -> ByteDFA:
    if isinstance(node, Alt):
        options = [_compile_top(o, source) for o in node.options]
        return _union(options)
    parts = list(node.parts) if isinstance(node, Concat) else [node]
    for i, part in enumerate(parts):
        if isinstance(part, Look):
            head = _plain(Concat(tuple(parts[:i])), source)
            rest = _compile_top(Concat(tuple(parts[i + 1:])), source)
            look = concatenate(_compile_top(part.node, source), _any_star())
            return concatenate(head, product(rest, look, "minus" if part.negate else "and"))
    return _plain(node, source)


def _union(dfas: list[ByteDFA]) -> ByteDFA:
    edges: list[list[tuple[int, int, int]]] = [[]]
    eps: list[list[int]] = [[]]
    finals: set[int] = set()
    for dfa in dfas:
        off = len(edges)
        for s in range(dfa.n_states):
            edges.append(_row_edges(dfa.trans[s], off))
            eps.append([])
            if dfa.accepting[s]:
                finals.add(off + s)
        if dfa.n_states:
            eps[0].append(off)
    return determinize(edges, 0, finals, eps)


def _row_edges(row, shift: int) -> list[tuple[int, int, int]]:
    out = []
    b = 0
    while b < 256:
        t = int(row[b])
        if t < 0:
            b += 1
            continue
        e = b
        while e + 1 < 256 and int(row[e + 1]) == t:
            e += 1
        out.append((b, e, t + shift))
        b = e + 1
    return out


@functools.lru_cache(maxsize=1)
def _any_star() -> ByteDFA:
    return _plain(Repeat(CharSet(((0, MAX_CODE_POINT),)), 0, None), "(?s:.)*")


class _ByteNFA:
    """Thompson NFA whose character edges are already expanded to UTF-8 byte ranges."""

    def __init__(self, source: str) -> None:
        self.edges: list[list[tuple[int, int, int]]] = []
        self.eps: list[list[int]] = []
        self.source = source

    def new(self) -> int:
        if len(self.edges) >= _MAX_NFA_STATES:
            raise GrammarCompileError(f"terminal regex /{self.source}/ is too large")
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    def build(self, node: object) -> tuple[int, int]:
        if isinstance(node, CharSet):
            s, e = self.new(), self.new()
            trie: dict[tuple[int, int, int], int] = {}
            for lo, hi in node.ranges:
                for seq in utf8_sequences(lo, hi):
                    src = s
                    for k, (blo, bhi) in enumerate(seq):
                        if k == len(seq) - 1:
                            self.edges[src].append((blo, bhi, e))
                        else:
                            key = (src, blo, bhi)
                            if key not in trie:
                                trie[key] = self.new()
                                self.edges[src].append((blo, bhi, trie[key]))
                            src = trie[key]
            return s, e
        if isinstance(node, Concat):
            s = e = self.new()
            for part in node.parts:
                ps, pe = self.build(part)
                self.eps[e].append(ps)
                e = pe
            return s, e
        if isinstance(node, Alt):
            s, e = self.new(), self.new()
            for option in node.options:
                os_, oe = self.build(option)
                self.eps[s].append(os_)
                self.eps[oe].append(e)
            return s, e
        if isinstance(node, Repeat):
            s = e = self.new()
            for _ in range(node.lo):
                ps, pe = self.build(node.node)
                self.eps[e].append(ps)
                e = pe
            if node.hi is None:
                loop = self.new()
                self.eps[e].append(loop)
                ps, pe = self.build(node.node)
                self.eps[loop].append(ps)
                self.eps[pe].append(loop)
                return s, loop
            end = self.new()
            self.eps[e].append(end)
            for _ in range(node.hi - node.lo):
                ps, pe = self.build(node.node)
                self.eps[e].append(ps)
                self.eps[pe].append(end)
                e = pe
            return s, end
        if isinstance(node, Look):
            raise GrammarCompileError(
                f"lookaheads are only supported at the top level of terminal /{self.source}/")
        raise GrammarCompileError(f"unsupported regex node {node!r}")


def _plain(node: object, source: str) -> ByteDFA:
    nfa = _ByteNFA(source)
    s, e = nfa.build(node)
    return determinize(nfa.edges, s, {e}, nfa.eps)


__all__ = ["compile_literal", "compile_regex", "DEAD"]
