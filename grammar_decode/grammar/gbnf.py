"""GBNF (`root ::= ...`, llama.cpp / transformers-CFG dialect) -> equivalent Lark grammar text.

The dialect: rules ``name ::= alternatives`` (names of letters, digits, ``_`` and ``-``),
string literals with escapes, character classes ``[a-z]`` / ``[^...]``, ``.`` (any character),
``( )`` grouping, postfix ``* + ?`` and ``{m}``, ``{m,}``, ``{m,n}``, and ``#`` comments.
Newlines are ordinary whitespace: a rule ends where the next ``name ::=`` starts, so multi-line
rules work whether lines break before or after ``|``.

The conversion keeps the language exactly: every literal becomes an anonymous Lark string
terminal, every character class a one-character regex terminal, and no whitespace is ignored.
The ``root`` rule becomes Lark's ``start``; every other rule ``name`` becomes ``r_<name>`` with
an injective spelling (Lark rule names must be lower case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from grammar_decode.errors import GrammarSyntaxError

__all__ = ["gbnf_to_lark", "looks_like_gbnf"]

_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_RULE_HEAD = re.compile(r"[A-Za-z0-9_-]+[ \t]*::=")
_GBNF_HINT = re.compile(r"^\s*(#[^\n]*\n\s*)*[A-Za-z0-9_-]+\s*::=", re.MULTILINE)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]",
                   "-": "-", "^": "^", "/": "/", "'": "'", "f": "\f", "v": "\v", "0": "\0"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_CLASS_SPECIALS = "\\]^-[/"
_BRACES = re.compile(r"\{\s*(\d*)\s*(,?)\s*(\d*)\s*\}")


def looks_like_gbnf(text: str) -> bool:
    """True when the first non-comment line is a ``name ::= ...`` rule (Lark uses ``name:``)."""
    return _GBNF_HINT.match(text) is not None


# ----------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _CharClass:
    negated: bool
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _AnyChar:
    pass


@dataclass(frozen=True)
class _RuleRef:
    name: str
    offset: int


@dataclass(frozen=True)
class _Group:
    alternatives: tuple[tuple[_Item, ...], ...]


_Atom = Union[_Literal, _CharClass, _AnyChar, _RuleRef, _Group]


@dataclass(frozen=True)
class _Item:
    atom: _Atom
    low: int = 1          # repetition bounds; high None = unbounded
    high: int | None = 1


# ----------------------------------------------------------------------------- parser

class _Parser:
    """Recursive-descent parser over the whole text; errors carry 1-based line/column."""

    def __init__(self, text: str, source: str | None) -> None:
        self.text = text
        self.source = source
        self.pos = 0

    def error(self, message: str, offset: int | None = None) -> GrammarSyntaxError:
        offset = self.pos if offset is None else offset
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return GrammarSyntaxError(message, line, column, self.source)

    def skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_rule_head(self) -> bool:
        return _RULE_HEAD.match(self.text, self.pos) is not None

    def parse_rules(self) -> dict[str, tuple[int, tuple[tuple[_Item, ...], ...]]]:
        rules: dict[str, tuple[int, tuple[tuple[_Item, ...], ...]]] = {}
        self.skip_space()
        while self.pos < len(self.text):
            start = self.pos
            m = _NAME_CHARS.match(self.text, self.pos)
            if m is None:
                raise self.error(f"expected a rule name, found {self.peek()!r}")
            name = m.group()
            self.pos = m.end()
            self.skip_space()
            if not self.text.startswith("::=", self.pos):
                raise self.error(f"expected '::=' after rule name {name!r}")
            self.pos += 3
            if name in rules:
                raise self.error(f"rule {name!r} is defined twice", start)
            rules[name] = (start, self.parse_alternatives(nested=False))
        if "root" not in rules:
            raise self.error("grammar has no 'root' rule", 0)
        return rules

    def parse_alternatives(self, nested: bool) -> tuple[tuple[_Item, ...], ...]:
        alternatives = [self.parse_sequence(nested)]
        while self.peek() == "|":
            self.pos += 1
            alternatives.append(self.parse_sequence(nested))
        return tuple(alternatives)

    def parse_sequence(self, nested: bool) -> tuple[_Item, ...]:
        items: list[_Item] = []
        while True:
            self.skip_space()
            ch = self.peek()
            if ch in ("", "|") or (ch == ")" and nested):
                return tuple(items)
            if not nested and self.at_rule_head():
                return tuple(items)
            items.append(self.parse_quantifiers(self.parse_atom()))

    def parse_atom(self) -> _Atom:
        ch, start = self.peek(), self.pos
        if ch == '"':
            return self.parse_literal()
        if ch == "[":
            return self.parse_char_class()
        if ch == ".":
            self.pos += 1
            return _AnyChar()
        if ch == "(":
            self.pos += 1
            group = _Group(self.parse_alternatives(nested=True))
            self.skip_space()
            if self.peek() != ")":
                raise self.error("missing ')' to close the group opened", start)
            self.pos += 1
            return group
        m = _NAME_CHARS.match(self.text, self.pos)
        if m is None:
            raise self.error(f"unexpected character {ch!r}")
        self.pos = m.end()
        return _RuleRef(m.group(), start)

    def parse_quantifiers(self, atom: _Atom) -> _Item:
        item = _Item(atom)
        while True:
            ch = self.peek()   # postfix operators must follow the atom directly (llama.cpp too)
            if ch and ch in "*+?":
                self.pos += 1
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
            elif ch == "{":
                low, high = self.parse_braces()
            else:
                return item
            item = _Item(atom, low, high) if item.low == item.high == 1 else _Item(
                _Group(((item,),)), low, high)

    def parse_braces(self) -> tuple[int, int | None]:
        start = self.pos
        m = _BRACES.match(self.text, self.pos)
        if m is None or not (m.group(1) or m.group(3)):
            raise self.error("malformed repetition, expected {m}, {m,}, {,n} or {m,n}")
        self.pos = m.end()
        low = int(m.group(1) or 0)
        high = None if (m.group(2) and not m.group(3)) else int(m.group(3) or low)
        if high is not None and high < low:
            raise self.error(f"repetition {{{low},{high}}} has max < min", start)
        return low, high

    def parse_char(self, terminator: str) -> int:
        """One (possibly escaped) character inside a literal or class; returns its code point."""
        if self.pos >= len(self.text):
            what = "string literal" if terminator == '"' else "character class"
            raise self.error(f"unterminated {what}")
        ch = self.text[self.pos]
        if ch != "\\":
            self.pos += 1
            return ord(ch)
        esc = self.text[self.pos + 1:self.pos + 2]
        if esc in _SIMPLE_ESCAPES:
            self.pos += 2
            return ord(_SIMPLE_ESCAPES[esc])
        if esc in _HEX_ESCAPES:
            digits = self.text[self.pos + 2:self.pos + 2 + _HEX_ESCAPES[esc]]
            if len(digits) != _HEX_ESCAPES[esc] or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise self.error(f"escape \\{esc} needs {_HEX_ESCAPES[esc]} hex digits")
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise self.error(f"escape \\{esc}{digits} is beyond U+10FFFF")
            self.pos += 2 + len(digits)
            return code
        raise self.error(f"unknown escape sequence \\{esc}")

    def parse_literal(self) -> _Literal:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.peek() != '"':
            if self.pos >= len(self.text):
                raise self.error("unterminated string literal", start)
            chars.append(chr(self.parse_char('"')))
        self.pos += 1
        return _Literal("".join(chars))

    def parse_char_class(self) -> _CharClass:
        start = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        self.pos += negated
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if self.pos >= len(self.text):
                raise self.error("unterminated character class", start)
            low = self.parse_char("]")
            if self.peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.pos += 1
                range_start = self.pos
                high = self.parse_char("]")
                if high < low:
                    raise self.error("character range is reversed", range_start)
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        self.pos += 1
        if not ranges and not negated:
            raise self.error("empty character class matches nothing", start)
        return _CharClass(negated, tuple(ranges))


# ----------------------------------------------------------------------------- emitter

def _lark_rule_name(name: str) -> str:
    """Injective map of a GBNF rule name to a Lark rule name (lower case, digits, '_')."""
    if name == "root":
        return "start"
    out = []
    for ch in name:
        if ch.islower() or ch.isdigit():
            out.append(ch)
        elif ch.isupper():
            out.append("_" + ch.lower())
        elif ch == "_":
            out.append("__")
        else:  # '-'
            out.append("_0")
    return "r_" + "".join(out)


def _escape_char(code: int, specials: str) -> str:
    """A code point as written in a Lark string or regex class, escaping ``specials``."""
    ch = chr(code)
    if ch in "\n\t\r":
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch]
    if ch in specials:
        return "\\" + ch
    if ch.isprintable():
        return ch
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _emit_class(cls: _CharClass) -> str:
    def esc(code: int) -> str:
        return _escape_char(code, _CLASS_SPECIALS)

    body = "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in cls.ranges)
    return f"/[{'^' if cls.negated else ''}{body}]/"


def _emit_atom(atom: _Atom) -> str:
    if isinstance(atom, _Literal):
        return '"' + "".join(_escape_char(ord(c), '\\"') for c in atom.text) + '"'
    if isinstance(atom, _CharClass):
        return _emit_class(atom)
    if isinstance(atom, _AnyChar):
        return '(/[^\\n]/ | "\\n")'
    if isinstance(atom, _RuleRef):
        return _lark_rule_name(atom.name)
    return "(" + " | ".join(_emit_sequence(seq) for seq in atom.alternatives) + ")"


def _is_empty(item: _Item) -> bool:
    """True when the item can only match the empty string (empty literal or zero repeats)."""
    atom = item.atom
    if item.high == 0 or (isinstance(atom, _Literal) and not atom.text):
        return True
    return isinstance(atom, _Group) and all(all(_is_empty(i) for i in seq)
                                            for seq in atom.alternatives)


def _emit_item(item: _Item) -> str:
    atom = _emit_atom(item.atom)
    low, high = item.low, item.high
    if (low, high) == (1, 1):
        return atom
    if (low, high) in ((0, None), (1, None), (0, 1)):
        return atom + {(0, None): "*", (1, None): "+", (0, 1): "?"}[(low, high)]
    if high is None:                          # {m,} with m >= 2
        return f"({atom} ~ {low} {atom}*)"
    if low == 0:                              # {0,n}
        return f"[{atom} ~ 1..{high}]" if high > 1 else f"{atom}?"
    return f"{atom} ~ {low}" if low == high else f"{atom} ~ {low}..{high}"


def _emit_sequence(items: tuple[_Item, ...]) -> str:
    parts = [_emit_item(i) for i in items if not _is_empty(i)]
    return " ".join(parts) if parts else "_gbnf_empty"


def gbnf_to_lark(text: str, source: str | None = None) -> str:
    """Convert GBNF grammar text to equivalent Lark text whose start rule is ``start`` (= root).

    Raises GrammarSyntaxError (with line and column, prefixed by ``source`` if given) on
    malformed input and on references to undefined rules.
    """
    parser = _Parser(text, source)
    rules = parser.parse_rules()
    _check_references(parser, rules)
    lines = []
    uses_empty = False
    for name, (_, alternatives) in rules.items():
        body = " | ".join(_emit_sequence(seq) for seq in alternatives)
        uses_empty |= "_gbnf_empty" in body
        lines.append(f"{_lark_rule_name(name)}: {body}")
    if uses_empty:
        lines.append("_gbnf_empty:")
    return "\n".join(lines) + "\n"


def _check_references(parser: _Parser,
                      rules: dict[str, tuple[int, tuple[tuple[_Item, ...], ...]]]) -> None:
    def walk(alternatives: tuple[tuple[_Item, ...], ...]) -> None:
        for seq in alternatives:
            for item in seq:
                if isinstance(item.atom, _RuleRef) and item.atom.name not in rules:
                    raise parser.error(f"undefined rule {item.atom.name!r}", item.atom.offset)
                if isinstance(item.atom, _Group):
                    walk(item.atom.alternatives)

    for _, alternatives in rules.values():
        walk(alternatives)
