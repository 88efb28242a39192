"""Terminal regexes (Python ``re`` syntax, as Lark writes them) -> minimal byte DFAs.

The pattern is parsed into code point ranges (``regex_parse``), built into a Thompson NFA,
expanded to UTF-8 byte sequences (so tokens that split a multi-byte character are judged
exactly), determinised and minimised. Top-level lookaheads become automaton intersection
(``(?=B)``) or difference (``(?!B)``) with B·Σ* applied to the rest of the lexeme.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from grammar_decode.errors import GrammarCompileError
from grammar_decode.terminals import dfa_cache
from grammar_decode.terminals.byte_dfa import (
    DEAD,
    ByteDFA,
    concatenate,
    determinize,
    prepend,
    union,
    with_prefix,
)
from grammar_decode.terminals.char_semantics import Ranges
from grammar_decode.terminals.regex_parse import (
    Alt,
    CharSet,
    Concat,
    Look,
    Repeat,
    parse_regex,
)
from grammar_decode.terminals.utf8 import utf8_sequences

_MAX_NFA_STATES = 400_000
# Only DFAs that took at least this long to build are written to disk: loading a tiny .npz
# costs more than rebuilding a short literal.
PERSIST_MIN_SECONDS = 0.002


def compile_literal(text: str | bytes) -> ByteDFA:
    """DFA matching exactly one byte string (a chain: already minimal and canonical)."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    n = len(data)
    trans = np.full((n + 1, 256), DEAD, dtype=np.int32)
    trans[np.arange(n), np.frombuffer(data, dtype=np.uint8)] = np.arange(1, n + 1)
    accepting = np.zeros(n + 1, dtype=bool)
    accepting[n] = True
    return ByteDFA(trans, accepting)


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> ByteDFA:
    """Compile a whole-lexeme regex to a minimal byte DFA (memoised in process and on disk).

    Raises GrammarCompileError naming the pattern when a construct is unsupported.
    """
    cached = dfa_cache.load(pattern)
    if cached is not None:
        return cached
    started = time.perf_counter()
    dfa = build_regex(pattern)
    if time.perf_counter() - started >= PERSIST_MIN_SECONDS:
        dfa_cache.store(pattern, dfa)
    return dfa


def build_regex(pattern: str) -> ByteDFA:
    """Compile ``pattern`` from scratch (no cache), as ``compile_regex`` does on a miss."""
    try:
        return _compile_top(parse_regex(pattern), pattern)
    except GrammarCompileError as exc:
        if f"/{pattern}/" in str(exc):
            raise
        raise GrammarCompileError(f"cannot compile terminal regex /{pattern}/: {exc}") from exc
    except RecursionError as exc:
        raise GrammarCompileError(f"terminal regex /{pattern}/ is nested too deeply") from exc


def _has_lookahead(node: object) -> bool:
    if isinstance(node, Alt):
        return any(_has_lookahead(o) for o in node.options)
    return isinstance(node, Look) or (isinstance(node, Concat)
                                      and any(isinstance(p, Look) for p in node.parts))


def _literal_text(node: object) -> str | None:
    """The string a node matches if it is a chain of single characters, else None."""
    parts = node.parts if isinstance(node, Concat) else (node,)
    if not all(isinstance(p, CharSet) and len(p.ranges) == 1 and p.ranges[0][0] == p.ranges[0][1]
               and not 0xD800 <= p.ranges[0][0] <= 0xDFFF for p in parts):
        return None
    return "".join(chr(p.ranges[0][0]) for p in parts)


def _compile_top(node: object, source: str) -> ByteDFA:
    if not _has_lookahead(node):
        text = _literal_text(node)
        return compile_literal(text) if text is not None else _plain(node, source)
    if isinstance(node, Alt):
        return union([_compile_top(o, source) for o in node.options])
    parts = list(node.parts) if isinstance(node, Concat) else [node]
    for i, part in enumerate(parts):
        if isinstance(part, Look):
            rest = _compile_top(Concat(tuple(parts[i + 1:])), source)
            body = with_prefix(rest, _compile_top(part.node, source), part.negate)
            head = _literal_text(Concat(tuple(parts[:i])))
            if head is not None:
                return prepend(head.encode("utf-8"), body)
            return concatenate(_plain(Concat(tuple(parts[:i])), source), body)
    return _plain(node, source)


@functools.lru_cache(maxsize=1024)
def _charset_sequences(ranges: Ranges) -> tuple[tuple[tuple[int, int], ...], ...]:
    """UTF-8 byte-range sequences of a character set (shared by its repeated occurrences)."""
    return tuple(tuple(seq) for lo, hi in ranges for seq in utf8_sequences(lo, hi))


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
            for seq in _charset_sequences(node.ranges):
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


_PLAIN_MEMO: dict[object, ByteDFA] = {}
_PLAIN_MEMO_LIMIT = 1024


def _plain(node: object, source: str) -> ByteDFA:
    """DFA of a lookahead-free node, memoised by node: parts such as the JSON string body
    recur in most terminals of a schema (`source` only names the terminal in errors)."""
    dfa = _PLAIN_MEMO.get(node)
    if dfa is None:
        nfa = _ByteNFA(source)
        s, e = nfa.build(node)
        dfa = determinize(nfa.edges, s, {e}, nfa.eps)
        if len(_PLAIN_MEMO) >= _PLAIN_MEMO_LIMIT:
            _PLAIN_MEMO.clear()
        _PLAIN_MEMO[node] = dfa
    return dfa


__all__ = ["build_regex", "compile_literal", "compile_regex", "DEAD"]
