"""A parser for the terminal regex dialect (Python ``re`` syntax) into a small AST whose
character sets are code point *ranges*, so that huge classes (``[^"]``, ``[\\u0080-\\U0010ffff]``)
cost nothing to represent (interegular enumerates them character by character)."""

from __future__ import annotations

from dataclasses import dataclass

from grammar_decode.errors import GrammarCompileError
from grammar_decode.terminals.char_semantics import (
    ASCII_CLASSES,
    Ranges,
    ignorecase_class,
    ignorecase_literal,
    normalize,
    unicode_class,
)
from grammar_decode.terminals.utf8 import MAX_CODE_POINT, complement_ranges


@dataclass(frozen=True)
class CharSet:
    ranges: Ranges


@dataclass(frozen=True)
class Concat:
    parts: tuple


@dataclass(frozen=True)
class Alt:
    options: tuple


@dataclass(frozen=True)
class Repeat:
    node: object
    lo: int
    hi: int | None


@dataclass(frozen=True)
class Look:
    """A lookahead (only legal at the top level of a terminal)."""

    node: object
    negate: bool


EMPTY = Concat(())


def _class_escape(ch: str, ascii_only: bool) -> Ranges | None:
    low = ch.lower()
    if low not in ASCII_CLASSES:
        return None
    base = ASCII_CLASSES[low] if ascii_only else unicode_class(low)
    if ch.isupper():
        return tuple(complement_ranges(list(base)))
    return base


_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7, "0": 0}


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def error(self, msg: str) -> GrammarCompileError:
        return GrammarCompileError(f"regex /{self.p}/ at offset {self.i}: {msg}")

    def peek(self) -> str | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def take(self) -> str:
        if self.i >= len(self.p):
            raise self.error("unexpected end of pattern")
        ch = self.p[self.i]
        self.i += 1
        return ch

    def parse(self, flags: frozenset[str]) -> object:
        node = self.alternation(flags)
        if self.i != len(self.p):
            raise self.error("unbalanced parenthesis")
        return node

    def alternation(self, flags: frozenset[str]) -> object:
        options = [self.sequence(flags)]
        while self.peek() == "|":
            self.i += 1
            options.append(self.sequence(flags))
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def sequence(self, flags: frozenset[str]) -> object:
        parts = []
        while self.peek() is not None and self.peek() not in "|)":
            atom = self.atom(flags)
            if atom is None:
                continue
            parts.append(self.quantified(atom))
        return parts[0] if len(parts) == 1 else Concat(tuple(parts))

    def quantified(self, atom: object) -> object:
        while True:
            ch = self.peek()
            if ch in ("*", "+", "?"):
                self.i += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
            elif ch == "{" and self._looks_like_count():
                lo, hi = self._count()
            else:
                return atom
            if isinstance(atom, Look):
                raise self.error("a lookahead cannot be repeated")
            if self.peek() in ("?", "+"):  # lazy / possessive: same language for whole matches
                self.i += 1
            atom = Repeat(atom, lo, hi)

    def _looks_like_count(self) -> bool:
        j = self.p.find("}", self.i)
        if j < 0:
            return False
        body = self.p[self.i + 1:j]
        parts = body.split(",")
        return 1 <= len(parts) <= 2 and all(x.strip().isdigit() or x.strip() == ""
                                            for x in parts) and body.strip() not in ("", ",")

    def _count(self) -> tuple[int, int | None]:
        j = self.p.index("}", self.i)
        body = self.p[self.i + 1:j]
        self.i = j + 1
        if "," not in body:
            n = int(body)
            return n, n
        a, b = body.split(",")
        lo = int(a) if a.strip() else 0
        hi = int(b) if b.strip() else None
        if hi is not None and hi < lo:
            raise self.error(f"bad repetition {{{body}}}")
        return lo, hi

    def atom(self, flags: frozenset[str]) -> object | None:
        ch = self.take()
        if ch == "(":
            return self.group(flags)
        if ch == "[":
            return self.charclass(flags)
        if ch == ".":
            ranges = ((0, MAX_CODE_POINT),) if "s" in flags else ((0, 9), (11, MAX_CODE_POINT))
            return CharSet(ranges)
        if ch == "\\":
            return self.escape(flags, in_class=False)
        if ch in "^$":
            raise self.error(f"anchor {ch!r} is not supported inside a terminal")
        if ch in "*+?":
            raise self.error(f"nothing to repeat before {ch!r}")
        return self.literal(ord(ch), flags)

    def literal(self, cp: int, flags: frozenset[str]) -> CharSet:
        if "i" in flags:
            return CharSet(ignorecase_literal(cp, "a" in flags))
        return CharSet(((cp, cp),))

    def group(self, flags: frozenset[str]) -> object:
        if self.peek() == "?":
            self.i += 1
            kind = self.take()
            if kind == ":":
                node = self.alternation(flags)
            elif kind in "=!":
                node = Look(self.alternation(flags), negate=kind == "!")
            elif kind == "P" and self.peek() == "<":
                self.i = self.p.index(">", self.i) + 1
                node = self.alternation(flags)
            elif kind == "<" and self.peek() in ("=", "!"):
                raise self.error("lookbehind is not supported")
            elif kind == "<":
                self.i = self.p.index(">", self.i) + 1
                node = self.alternation(flags)
            elif kind.isalpha() or kind == "-":
                j = self.i - 1
                while self.peek() not in (":", ")"):
                    self.take()
                spec = self.p[j:self.i]
                on, _, off = spec.partition("-")
                new_flags = (flags | set(on)) - set(off)
                unknown = set(on + off) - set("imsxau")
                if unknown:
                    raise self.error(f"unsupported flag(s) {''.join(sorted(unknown))}")
                if self.take() == ")":
                    raise self.error("global inline flags must be given as terminal flags")
                node = self.alternation(frozenset(new_flags))
            else:
                raise self.error(f"unsupported group (?{kind}")
        else:
            node = self.alternation(flags)
        if self.take() != ")":
            raise self.error("missing )")
        return node

    def escape(self, flags: frozenset[str], in_class: bool) -> CharSet:
        ch = self.take()
        if ch in "dwsDWS":
            return CharSet(_class_escape(ch, "a" in flags))
        if ch in _SIMPLE_ESCAPES and not (ch == "0" and self.peek() and self.peek().isdigit()):
            return self.literal(_SIMPLE_ESCAPES[ch], flags)
        if ch == "b" and in_class:
            return self.literal(8, flags)
        if ch == "x":
            return self.literal(self._hex(2), flags)
        if ch == "u":
            return self.literal(self._hex(4), flags)
        if ch == "U":
            return self.literal(self._hex(8), flags)
        if ch.isdigit():
            raise self.error("backreferences are not supported")
        if ch in "bBAZzG":
            raise self.error(f"assertion \\{ch} is not supported inside a terminal")
        if ch.isalnum():
            raise self.error(f"unknown escape \\{ch}")
        return self.literal(ord(ch), flags)

    def _hex(self, n: int) -> int:
        digits = self.p[self.i:self.i + n]
        if len(digits) != n or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.error("bad hex escape")
        self.i += n
        return int(digits, 16)

    def charclass(self, flags: frozenset[str]) -> CharSet:
        negate = False
        if self.peek() == "^":
            negate = True
            self.i += 1
        plain = frozenset(flags - {"i"})
        items: list[tuple[int, int]] = []  # literals and ranges (case-folded under ``i``)
        categories: list[tuple[int, int]] = []  # \d \w \s escapes (never folded)
        first = True
        while True:
            ch = self.take()
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\" and self.peek() is not None and self.peek() in "dwsDWS":
                categories.extend(_class_escape(self.take(), "a" in flags))
                continue
            if ch == "\\":
                item = self.escape(plain, in_class=True).ranges
            elif ch == "[" and self.peek() == ":":
                raise self.error("POSIX classes are not supported")
            else:
                item = ((ord(ch), ord(ch)),)
            if (self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]"
                    and len(item) == 1 and item[0][0] == item[0][1]):
                self.i += 1
                nxt = self.take()
                if nxt == "\\":
                    end = self.escape(plain, in_class=True).ranges
                    if len(end) != 1 or end[0][0] != end[0][1]:
                        raise self.error("bad character range")
                    hi = end[0][0]
                else:
                    hi = ord(nxt)
                if hi < item[0][0]:
                    raise self.error("bad character range")
                item = ((item[0][0], hi),)
            items.extend(item)
        if "i" in flags:
            result = ignorecase_class(normalize(items), normalize(categories), "a" in flags)
        else:
            result = normalize(items + categories)
        if negate:
            result = tuple(complement_ranges(list(result)))
        return CharSet(result)


def parse_regex(pattern: str, flags: str = "") -> object:
    """Parse ``pattern`` into the AST; raises GrammarCompileError naming the problem."""
    return _Parser(pattern).parse(frozenset(flags))
