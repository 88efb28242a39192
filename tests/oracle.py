"""An independent viable-prefix / sentence checker for Lark grammars (test oracle).

It shares no code with ``grammar_decode``: Lark's LALR(1) parser (built with ``strict=True``
so that no conflict is silently resolved) in interactive mode decides which terminals the
parser can take next, and the ``regex`` module lexes the text with the lexer semantics the
library promises:

* contextual: only terminals the parser can take next, plus the ``%ignore`` terminals, compete;
* longest match first, then the higher priority, then a string literal over a pattern;
  a remaining tie between different terminals is an error of the grammar (reported);
* ``%ignore`` terminals may appear between any two lexemes (and at both ends).

Viable prefix. Lexing goes left to right. At a position ``i`` where some competing terminal
still *partially* matches the whole rest ``text[i:]`` (``regex`` ``partial=True``: the rest is
a prefix of one of its lexemes), a continuation can complete that lexeme, so the text is a
viable prefix (the terminal is acceptable, and a reduced LALR grammar can always finish a
sentence after any acceptable terminal). Otherwise no lexeme from ``i`` can reach past the end
of the text whatever follows, so the longest match is already decided by the text itself;
it is fed to the parser and lexing goes on. Those decided steps hold for every extension of
the text, which lets the oracle resume from a cached earlier prefix.

Assumption (true of the shipped grammars): after any lexeme a continuation exists that does
not extend it (e.g. whitespace or punctuation); this is what makes "partially matches" mean
"can be completed".

A byte string that ends inside a UTF-8 character is viable when some completion of that
character is: every completion is tried when there are at most 64, otherwise a sample
(range ends, a stride sample, and Unicode whitespace / digits / letters of note). This is
exact for terminals whose character classes treat the sampled ranges uniformly apart from
those notable characters (true of the shipped grammars).
"""

from __future__ import annotations

import codecs
import functools
from collections import OrderedDict
from dataclasses import dataclass

import lark
import regex
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift


# Python's ``re`` (what Lark uses) and the ``regex`` module disagree on ``\s``: ``re`` follows
# str.isspace(), which includes U+001C..U+001F; ``regex`` follows Unicode White_Space. The
# oracle must judge with ``re``'s meaning, so ``\s``/``\S`` are spelled out for ``regex``.
_RE_SPACE = "".join(f"\\U{cp:08x}" for cp in range(0x110000)
                    if not 0xD800 <= cp <= 0xDFFF and chr(cp).isspace())


def _re_semantics(pattern: str) -> str:
    r"""Rewrite ``\s`` and ``\S`` (outside and inside classes) with re's whitespace set."""
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(_RE_SPACE if in_class else f"[{_RE_SPACE}]")
            elif nxt == "S" and not in_class:
                out.append(f"[^{_RE_SPACE}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)

__all__ = ["PrefixOracle", "GrammarAmbiguityError", "get_oracle", "is_viable_prefix",
           "is_sentence"]

_END = "$END"
_MAX_EXHAUSTIVE = 64
# Non-ASCII characters that Unicode-aware classes (\s, \d, \w) treat specially.
_NOTABLE = "\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u0660\u0969" \
           "\uff10\u00e9\u00b2\u00aa\u4e2d\u0430\u00d7\u00f7\U0001f600\U00010000\U0010fffd"


class GrammarAmbiguityError(Exception):
    """Two different terminals tie on length, priority and literal-ness at some position."""


@dataclass(frozen=True)
class _Terminal:
    name: str
    pattern: regex.Pattern
    longest: regex.Pattern  # POSIX (leftmost-longest) flavour for the longest lexeme
    priority: int
    is_literal: bool
    ignored: bool


Stack = tuple[int, ...]  # LALR state stack


@dataclass(frozen=True)
class _Cursor:
    """Decided lexing progress: ``pos`` in the text and the LALR stack after those lexemes."""

    pos: int
    parser: Stack


class PrefixOracle:
    """Viable-prefix and sentence checks for one Lark grammar (see the module docstring)."""

    def __init__(self, grammar_text: str, start: str = "start", cache_size: int = 64) -> None:
        self._lark = lark.Lark(grammar_text, parser="lalr", lexer="contextual", strict=True,
                               start=start)
        ignored = set(self._lark.ignore_tokens)
        self._terminals = {
            t.name: _Terminal(
                name=t.name,
                pattern=regex.compile(_re_semantics(t.pattern.to_regexp())),
                longest=regex.compile(_re_semantics(t.pattern.to_regexp()), flags=regex.POSIX),
                priority=t.priority,
                is_literal=isinstance(t.pattern, PatternStr),
                ignored=t.name in ignored)
            for t in self._lark.terminals}
        self._ignored = [t for t in self._terminals.values() if t.ignored]
        table = self._lark.parser.parser.parser.parse_table
        self._states = table.states
        self._end_state = table.end_states[start]
        self._root: Stack = (table.start_states[start],)
        self._allowed_cache: dict[Stack, tuple[list[_Terminal], frozenset[str]]] = {}
        self._cursors: OrderedDict[str, _Cursor | None] = OrderedDict()
        self._cache_size = cache_size

    # ---- public checks -------------------------------------------------------------------
    def is_viable_prefix(self, text: str | bytes) -> bool:
        """True when ``text`` (str, or bytes that may end inside a character) is a prefix
        of some sentence of the grammar."""
        if isinstance(text, str):
            return self._open_cursor(text) is not None
        decoded = _decode_prefix(text)
        if decoded is None:
            return False
        head, tail = decoded
        cursor = self._open_cursor(head)
        if cursor is None or not tail:
            return cursor is not None
        return any(self._lex(head + ch, cursor, final=False) is not None
                   for ch in _completions(tail))

    def is_sentence(self, text: str | bytes) -> bool:
        """True when ``text`` is itself a complete sentence of the grammar."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                return False
        cursor = self._open_cursor(text)
        if cursor is None:
            return False
        end = self._lex(text, cursor, final=True)
        return end is not None and _END in self._acceptable(end.parser)

    def terminals_at(self, text: str) -> list[str]:
        """Names of the terminals the parser can take after the decided lexemes of ``text``
        (for diagnostics and the oracle's own tests)."""
        cursor = self._open_cursor(text)
        return [] if cursor is None else sorted(self._acceptable(cursor.parser))

    # ---- lexing --------------------------------------------------------------------------
    def _open_cursor(self, text: str) -> _Cursor | None:
        """Lex the decided part of ``text``; None when ``text`` is not a viable prefix."""
        if text in self._cursors:
            self._cursors.move_to_end(text)
            return self._cursors[text]
        start, best_key = _Cursor(0, self._root), None
        for key, cursor in self._cursors.items():
            if (best_key is None or len(key) > len(best_key)) and text.startswith(key):
                if cursor is None:
                    return None  # an extension of a dead prefix is dead
                start, best_key = cursor, key
        if best_key is not None:
            self._cursors.move_to_end(best_key)  # keep resume points alive
        result = self._lex(text, start, final=False)
        self._cursors[text] = result
        if len(self._cursors) > self._cache_size:
            self._cursors.popitem(last=False)
        return result

    def _lex(self, text: str, cursor: _Cursor, final: bool) -> _Cursor | None:
        """Feed decided lexemes from ``cursor``. Not final: stop where a lexeme may still
        reach past the end (that cursor is returned). Final: the text ends here, lex to
        the end. None on a lexing or parsing dead end."""
        pos, parser = cursor.pos, cursor.parser
        while True:
            allowed, _ = self._allowed(parser)
            if not final and any(t.pattern.fullmatch(text, pos, partial=True) for t in allowed):
                return _Cursor(pos, parser)
            if pos == len(text):
                return _Cursor(pos, parser)
            chosen = self._longest(allowed, text, pos)
            if chosen is None:
                return None
            term, end = chosen
            if not term.ignored:
                parser = self._feed(parser, term.name)
                if parser is None:  # cannot happen for an acceptable terminal
                    return None
            pos = end

    @staticmethod
    def _longest(allowed: list[_Terminal], text: str, pos: int) -> tuple[_Terminal, int] | None:
        """The lexeme at ``pos``: longest match, then priority, then literal over pattern."""
        best: tuple[int, int, bool] | None = None
        winners: list[_Terminal] = []
        for term in allowed:
            m = term.longest.match(text, pos)
            if m is None or m.end() == pos:
                continue
            key = (m.end(), term.priority, term.is_literal)
            if best is None or key > best:
                best, winners = key, [term]
            elif key == best:
                winners.append(term)
        if best is None:
            return None
        if len(winners) > 1:
            raise GrammarAmbiguityError(
                f"terminals {[t.name for t in winners]} tie on {text[pos:best[0]]!r} "
                f"at offset {pos}")
        return winners[0], best[0]

    # ---- parser side: Lark's LALR(1) table, run on the state stack alone ------------------
    def _feed(self, stack: Stack, terminal: str) -> Stack | None:
        """The stack after shifting ``terminal`` (reducing first as needed); None if the
        parser cannot take it. For ``$END``: the stack on reaching the end state."""
        states = list(stack)
        while True:
            action = self._states[states[-1]].get(terminal)
            if action is None:
                return None
            kind, arg = action
            if kind is Shift:
                states.append(arg)
                return tuple(states)
            size = len(arg.expansion)
            if size:
                del states[-size:]
            kind, goto = self._states[states[-1]][arg.origin.name]
            states.append(goto)
            if terminal == _END and goto == self._end_state:
                return tuple(states)

    def _acceptable(self, stack: Stack) -> frozenset[str]:
        return self._allowed(stack)[1]

    def _allowed(self, stack: Stack) -> tuple[list[_Terminal], frozenset[str]]:
        """(terminals that compete in the lexer here, names the parser can take here)."""
        entry = self._allowed_cache.get(stack)
        if entry is None:
            names = frozenset(t for t in self._states[stack[-1]]
                              if (t.isupper() or t == _END) and self._feed(stack, t) is not None)
            terms = [self._terminals[n] for n in sorted(names) if n != _END] + self._ignored
            entry = (terms, names)
            self._allowed_cache[stack] = entry
        return entry


def _decode_prefix(data: bytes) -> tuple[str, bytes] | None:
    """(decoded text, trailing incomplete UTF-8 bytes), or None if ``data`` is not a
    prefix of any valid UTF-8 string."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        head = decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return None
    return head, decoder.getstate()[0]


def _completions(tail: bytes) -> list[str]:
    """Characters whose UTF-8 encoding starts with ``tail`` (all, or a broad sample)."""
    width = 2 if tail[0] < 0xE0 else 3 if tail[0] < 0xF0 else 4
    missing = width - len(tail)
    payload = tail[0] & (0x7F >> width)
    for byte in tail[1:]:
        payload = (payload << 6) | (byte & 0x3F)
    lo = payload << (6 * missing)
    hi = lo | ((1 << (6 * missing)) - 1)
    lo = max(lo, {2: 0x80, 3: 0x800, 4: 0x10000}[width])
    hi = min(hi, 0x10FFFF)
    if hi - lo < _MAX_EXHAUSTIVE:
        cps = range(lo, hi + 1)
    else:
        step = max(1, (hi - lo) // 48)
        cps = sorted({lo, hi, *range(lo, hi + 1, step),
                      *(ord(c) for c in _NOTABLE if lo <= ord(c) <= hi)})
    return [chr(cp) for cp in cps if not 0xD800 <= cp <= 0xDFFF]


@functools.lru_cache(maxsize=16)
def get_oracle(grammar_text: str, start: str = "start") -> PrefixOracle:
    """A cached oracle per grammar text."""
    return PrefixOracle(grammar_text, start=start)


def is_viable_prefix(grammar_text: str, text: str | bytes) -> bool:
    """True when ``text`` is a prefix of some sentence of the grammar."""
    return get_oracle(grammar_text).is_viable_prefix(text)


def is_sentence(grammar_text: str, text: str | bytes) -> bool:
    """True when ``text`` is a sentence of the grammar."""
    return get_oracle(grammar_text).is_sentence(text)
