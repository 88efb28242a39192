"""ECMA-262 regexes (JSON Schema ``pattern``) -> regexes over canonical JSON string bodies.

A JSON string value is written in canonical form (``json.dumps(..., ensure_ascii=False)``):
every code point becomes one *unit*: ``"`` -> ``\\"``, ``\\`` -> ``\\\\``, the controls U+0008/9/A/C/D
-> ``\\b \\t \\n \\f \\r``, the other controls below U+0020 -> ``\\u00xx`` (lowercase hex), every
other scalar value is kept literally. :func:`translate` parses an ECMA-262 pattern (with the
``u`` flag's code point semantics, Annex B leniency for stray ``{`` ``]`` and identity escapes)
and returns a Python-``re`` regex over those unit sequences that matches exactly the bodies
whose decoded value the pattern *finds* (unanchored search; ``^``/``$`` anchor anywhere in the
pattern, also inside alternations). Lookaheads at the start of a ``^``-anchored pattern and the
"tempered dot" ``^((?!X).)*$`` become top-level lookaheads of the terminal (see the terminal
regex dialect in docs/ARCHITECTURE.md). Backreferences, lookbehind, word boundaries and other
lookaheads are reported (strict) or over-approximated (lenient).

Character classes follow ECMA: ``\\d``/``\\w`` are ASCII, ``\\s`` is the ECMA white-space and
line-terminator set, ``.`` excludes ``\\n \\r \\u2028 \\u2029``; ``\\p{...}`` property sets come from
the ``regex`` module's Unicode tables (its Unicode version may differ from a JS engine's).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from grammar_decode.schema.unsupported import Reporter

Ranges = tuple[tuple[int, int], ...]

MAX_CP = 0x10FFFF
UNIVERSE: Ranges = ((0, 0xD7FF), (0xE000, MAX_CP))  # Unicode scalar values (no surrogates)


# ---------------------------------------------------------------- code point sets

def normalize(ranges) -> Ranges:
    """Sort and merge ``(lo, hi)`` ranges, clipped to scalar values."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return intersect(tuple((a, b) for a, b in out), UNIVERSE) if out else ()


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def complement(a: Ranges) -> Ranges:
    out, nxt = [], 0
    for lo, hi in a:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CP:
        out.append((nxt, MAX_CP))
    return intersect(tuple(out), UNIVERSE)


def union(*sets: Ranges) -> Ranges:
    return normalize(r for s in sets for r in s)


def chars(text: str) -> Ranges:
    return normalize((ord(c), ord(c)) for c in text)


DIGIT = ((0x30, 0x39),)
WORD = normalize([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
SPACE = normalize([(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                   (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
                   (0xFEFF, 0xFEFF)])
LINE_TERMINATORS = chars("\n\r\u2028\u2029")
DOT = complement(LINE_TERMINATORS)


# ---------------------------------------------------------------- canonical unit encoding

_SHORT_ESCAPES = {0x08: "b", 0x09: "t", 0x0A: "n", 0x0C: "f", 0x0D: "r", 0x22: '"', 0x5C: "\\\\"}
LITERAL_UNITS = complement(normalize([(0, 0x1F), (0x22, 0x22), (0x5C, 0x5C)]))
_CLASS_SPECIAL = set("\\]^-[/")
_OUTSIDE_SPECIAL = set(".^$*+?{}[]\\|()/")


def _char(cp: int, special: set[str]) -> str:
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return f"\\x{cp:02x}"
    c = chr(cp)
    return "\\" + c if c in special else c


def _size(ranges: Ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


_UNIVERSE_SIZE = _size(UNIVERSE)


def char_class(ranges: Ranges) -> str:
    """A Python-re atom for a non-empty set of code points (no surrogates).

    Sets larger than half of Unicode are written as a negated class of their complement
    (regex-to-DFA converters handle those symbolically); such a class also nominally admits
    surrogates, which never occur in UTF-8 text.
    """
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0], _OUTSIDE_SPECIAL)
    negate = _size(ranges) > _UNIVERSE_SIZE // 2
    listed = complement(ranges) if negate else ranges
    body = []
    for lo, hi in listed:
        body.append(_char(lo, _CLASS_SPECIAL))
        if hi > lo:
            body.append(("-" if hi > lo + 1 else "") + _char(hi, _CLASS_SPECIAL))
    return ("[^" if negate else "[") + "".join(body) + "]"


def escape_literal(text: str) -> str:
    """A regex matching exactly ``text`` taken literally."""
    return "".join(_char(ord(c), _OUTSIDE_SPECIAL) for c in text)


def encode_set(ranges: Ranges) -> tuple[str, bool]:
    """Regex for the canonical units of the code points in ``ranges``; (text, is_atom)."""
    alts: list[str] = []
    literal = intersect(ranges, LITERAL_UNITS)
    if literal:
        alts.append(char_class(literal))
    atomic = bool(alts)
    short, controls = [], {}
    for cp in _points_below(ranges, 0x60):
        if cp in _SHORT_ESCAPES:
            short.append(_SHORT_ESCAPES[cp])
        elif cp < 0x20:
            controls.setdefault(f"{cp >> 4:x}", []).append(cp & 0xF)
    if short:
        alts.append("\\\\" + (short[0] if len(short) == 1 else "[" + "".join(short) + "]"))
    if controls:
        parts = [hi + char_class(normalize((ord(f"{d:x}"),) * 2 for d in lows))
                 for hi, lows in controls.items()]
        alts.append("\\\\u00" + (parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"))
    if len(alts) == 1:
        return alts[0], atomic
    return "(?:" + "|".join(alts) + ")", True


def _points_below(ranges: Ranges, limit: int) -> list[int]:
    return [cp for lo, hi in ranges if lo < limit for cp in range(lo, min(hi, limit - 1) + 1)]


UNIT = encode_set(UNIVERSE)[0]
UNITS = f"{UNIT}*"


def encode_text(text: str) -> str:
    """Regex matching exactly the canonical encoding of ``text`` (the body, no quotes)."""
    return "".join(_atom(encode_set(((ord(c), ord(c)),))) for c in text)


def _atom(encoded: tuple[str, bool]) -> str:
    text, atomic = encoded
    return text if atomic or not text else f"(?:{text})"


def unit_regex(ranges: Ranges) -> str:
    """One regex atom matching the canonical unit of any code point in ``ranges``."""
    return _atom(encode_set(ranges))


# ---------------------------------------------------------------- Unicode properties

@lru_cache(maxsize=1)
def all_scalars() -> str:
    return "".join(chr(c) for lo, hi in UNIVERSE for c in range(lo, hi + 1))


@lru_cache(maxsize=256)
def property_ranges(name: str) -> Ranges:
    """Code points of the Unicode property ``\\p{name}`` (ValueError if unknown)."""
    import regex

    try:
        rx = regex.compile(r"\p{%s}+" % name)
    except regex.error as exc:
        raise ValueError(f"unknown Unicode property {name!r}") from exc
    text = all_scalars()

    def cp(i: int) -> int:
        return i if i < 0xD800 else i + 0x800

    return normalize((cp(m.start()), cp(m.end() - 1)) for m in rx.finditer(text))


# ---------------------------------------------------------------- AST
# Nodes are tuples: ("set", ranges) ("seq", [n...]) ("alt", [n...]) ("rep", n, lo, hi|None)
# ("bol",) ("eol",) ("look", negative, n) ("wordb", negative) ("backref", group_index|name)

EMPTY = ("seq", [])


class PatternSyntaxError(ValueError):
    """The pattern is not a valid ECMA-262 regular expression."""


class _Parser:
    def __init__(self, src: str) -> None:
        self.src, self.pos = src, 0
        self.groups: list = []           # capturing group nodes, by number - 1
        self.group_names: dict[str, int] = {}
        self.total_groups = self._count_groups()

    def _count_groups(self) -> int:
        count, i, in_class = 0, 0, False
        while i < len(self.src):
            c = self.src[i]
            if c == "\\":
                i += 2
                continue
            if in_class:
                in_class = c != "]"
            elif c == "[":
                in_class = True
            elif c == "(" and (not self.src.startswith("(?", i) or self.src.startswith("(?<", i)
                               and self.src[i + 3:i + 4] not in ("=", "!")):
                count += 1
            i += 1
        return count

    def error(self, msg: str) -> PatternSyntaxError:
        return PatternSyntaxError(f"{msg} at offset {self.pos} of {self.src!r}")

    def peek(self, n: int = 0) -> str:
        return self.src[self.pos + n] if self.pos + n < len(self.src) else ""

    def parse(self):
        node = self.disjunction()
        if self.pos != len(self.src):
            raise self.error("unbalanced ')'")
        return node

    def disjunction(self):
        alts = [self.alternative()]
        while self.peek() == "|":
            self.pos += 1
            alts.append(self.alternative())
        return alts[0] if len(alts) == 1 else ("alt", alts)

    def alternative(self):
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.term())
        return items[0] if len(items) == 1 else ("seq", items)

    def term(self):
        c = self.peek()
        if c == "^":
            self.pos += 1
            return self.no_quantifier(("bol",))
        if c == "$":
            self.pos += 1
            return self.no_quantifier(("eol",))
        if c == "\\" and self.peek(1) in ("b", "B"):
            self.pos += 2
            return self.no_quantifier(("wordb", self.src[self.pos - 1] == "B"))
        atom = self.atom()
        return self.quantified(atom)

    def no_quantifier(self, node):
        if self.peek() in ("*", "+", "?") or self.peek() == "{" and self.quantifier_ahead():
            raise self.error("nothing to repeat")
        return node

    def quantifier_ahead(self) -> tuple[int, int | None, int] | None:
        """Parse ``{n}``, ``{n,}``, ``{n,m}`` at pos without consuming; None if not one."""
        i, src = self.pos + 1, self.src
        j = i
        while j < len(src) and src[j].isdigit() and src[j].isascii():
            j += 1
        if j == i:
            return None
        lo = int(src[i:j])
        if j < len(src) and src[j] == "}":
            return lo, lo, j + 1
        if j >= len(src) or src[j] != ",":
            return None
        k = j + 1
        while k < len(src) and src[k].isdigit() and src[k].isascii():
            k += 1
        if k >= len(src) or src[k] != "}":
            return None
        return lo, (int(src[j + 1:k]) if k > j + 1 else None), k + 1

    def quantified(self, atom):
        c = self.peek()
        if c in ("*", "+", "?"):
            self.pos += 1
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{" and (q := self.quantifier_ahead()):
            lo, hi, self.pos = q
            if hi is not None and hi < lo:
                raise self.error("numbers out of order in {} quantifier")
        else:
            return atom
        if self.peek() == "?":
            self.pos += 1  # lazy: same language for a whole-string match
        if atom[0] in ("look",):
            raise self.error("quantified lookahead")
        return ("rep", atom, lo, hi)

    def atom(self):
        c = self.peek()
        self.pos += 1
        if c == ".":
            return ("set", DOT)
        if c == "(":
            return self.group()
        if c == "[":
            return ("set", self.char_class())
        if c == "\\":
            return self.atom_escape()
        if c in ("*", "+", "?") or c == "{" and self._at_quant(-1):
            self.pos -= 1
            raise self.error("nothing to repeat")
        if c == ")":
            raise self.error("unbalanced ')'")
        return ("set", ((ord(c), ord(c)),))

    def _at_quant(self, delta: int) -> bool:
        self.pos += delta
        try:
            return self.quantifier_ahead() is not None
        finally:
            self.pos -= delta

    def group(self):
        if self.peek() == "?":
            kind = self.src[self.pos:self.pos + 3]
            if kind.startswith("?:"):
                self.pos += 2
                return self.close(self.disjunction())
            if kind[:2] in ("?=", "?!"):
                self.pos += 2
                return ("look", kind[1] == "!", self.close(self.disjunction()))
            if kind in ("?<=", "?<!"):
                self.pos += 3
                return ("lookbehind", self.close(self.disjunction()))
            if kind.startswith("?<"):
                end = self.src.find(">", self.pos)
                if end < 0:
                    raise self.error("unterminated group name")
                name = self.src[self.pos + 2:end]
                self.pos = end + 1
                index = len(self.groups)
                self.groups.append(EMPTY)
                self.group_names[name] = index
                return self.capture(index)
            raise self.error(f"unsupported group syntax '({kind}'")
        index = len(self.groups)
        self.groups.append(EMPTY)
        return self.capture(index)

    def capture(self, index: int):
        node = self.close(self.disjunction())
        self.groups[index] = node
        return node

    def close(self, node):
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.pos += 1
        return node

    def atom_escape(self):
        c = self.peek()
        if c == "":
            raise self.error("pattern ends with '\\'")
        if c in "123456789":
            j = self.pos
            while j < len(self.src) and self.src[j].isdigit():
                j += 1
            number = int(self.src[self.pos:j])
            if number <= self.total_groups:
                self.pos = j
                return ("backref", number - 1)
        if c == "k" and self.peek(1) == "<" and self.total_groups:
            end = self.src.find(">", self.pos)
            if end > 0:
                name = self.src[self.pos + 2:end]
                self.pos = end + 1
                return ("backref", name)
        return ("set", self.class_escape(in_class=False))

    def class_escape(self, in_class: bool) -> Ranges:
        c = self.peek()
        self.pos += 1
        simple = {"d": DIGIT, "D": complement(DIGIT), "w": WORD, "W": complement(WORD),
                  "s": SPACE, "S": complement(SPACE)}
        if c in simple:
            return simple[c]
        controls = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
        if c in controls:
            return ((controls[c],) * 2,)
        if c == "b" and in_class:
            return ((8, 8),)
        if c == "-" and in_class:
            return ((0x2D, 0x2D),)
        if c == "c" and self.peek().isascii() and self.peek().isalpha():
            self.pos += 1
            return ((ord(self.src[self.pos - 1]) % 32,) * 2,)
        if c == "0" and not self.peek().isdigit():
            return ((0, 0),)
        if c in "01234567":  # Annex B legacy octal escape
            j = self.pos - 1
            while j < len(self.src) and j < self.pos + 2 and self.src[j] in "01234567":
                j += 1
            value = int(self.src[self.pos - 1:j], 8)
            if value > 0o377:
                j -= 1
                value = int(self.src[self.pos - 1:j], 8)
            self.pos = j
            return ((value, value),)
        if c == "x" and self._hex(2) is not None:
            value = self._hex(2)
            self.pos += 2
            return ((value, value),)
        if c == "u":
            return self.unicode_escape()
        if c in ("p", "P") and self.peek() == "{":
            end = self.src.find("}", self.pos)
            if end < 0:
                raise self.error("unterminated \\p{")
            name = self.src[self.pos + 1:end]
            self.pos = end + 1
            try:
                ranges = property_ranges(name)
            except ValueError as exc:
                raise self.error(str(exc)) from None
            return complement(ranges) if c == "P" else ranges
        return ((ord(c), ord(c)),)  # identity escape

    def _hex(self, n: int, at: int | None = None) -> int | None:
        start = self.pos if at is None else at
        digits = self.src[start:start + n]
        if len(digits) == n and all(d in "0123456789abcdefABCDEF" for d in digits):
            return int(digits, 16)
        return None

    def unicode_escape(self) -> Ranges:
        if self.peek() == "{":
            end = self.src.find("}", self.pos)
            digits = self.src[self.pos + 1:end] if end > 0 else ""
            if not digits or any(d not in "0123456789abcdefABCDEF" for d in digits) \
                    or int(digits, 16) > MAX_CP:
                raise self.error("bad \\u{...} escape")
            self.pos = end + 1
            value = int(digits, 16)
            return ((value, value),)
        value = self._hex(4)
        if value is None:
            return ((ord("u"), ord("u")),)  # Annex B identity escape
        self.pos += 4
        if 0xD800 <= value <= 0xDBFF and self.src[self.pos:self.pos + 2] == "\\u":
            low = self._hex(4, self.pos + 2)
            if low is not None and 0xDC00 <= low <= 0xDFFF:
                self.pos += 6
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        return ((value, value),)

    def char_class(self) -> Ranges:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        parts: list[Ranges] = []
        while True:
            c = self.peek()
            if c == "":
                raise self.error("unterminated character class")
            if c == "]":
                self.pos += 1
                break
            first, single = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                second, single2 = self.class_atom()
                if single and single2:
                    if second[0][0] < first[0][0]:
                        raise self.error("range out of order in character class")
                    parts.append(((first[0][0], second[0][0]),))
                else:  # Annex B: a class escape next to '-' makes the '-' literal
                    parts.extend([first, ((0x2D, 0x2D),), second])
                continue
            parts.append(first)
        ranges = union(*parts)
        return complement(ranges) if negate else ranges

    def class_atom(self) -> tuple[Ranges, bool]:
        c = self.peek()
        self.pos += 1
        if c == "\\":
            if self.peek() in "dDwWsS" or self.peek() in "pP" and self.peek(1) == "{":
                return self.class_escape(in_class=True), False
            return self.class_escape(in_class=True), True
        return ((ord(c), ord(c)),), True


def parse(pattern: str):
    """Parse an ECMA-262 pattern into the tuple AST; raises PatternSyntaxError."""
    parser = _Parser(pattern)
    node = parser.parse()
    return node, parser.groups, parser.group_names


# ---------------------------------------------------------------- analysis helpers

def nullable(node) -> bool:
    tag = node[0]
    if tag == "set":
        return False
    if tag == "seq":
        return all(nullable(n) for n in node[1])
    if tag == "alt":
        return any(nullable(n) for n in node[1])
    if tag == "rep":
        return node[2] == 0 or nullable(node[1])
    return True  # zero-width assertions


def _contains(node, tags: set[str]) -> bool:
    tag = node[0]
    if tag in tags:
        return True
    if tag in ("seq", "alt"):
        return any(_contains(n, tags) for n in node[1])
    if tag == "rep":
        return _contains(node[1], tags)
    if tag in ("look", "lookbehind"):
        return _contains(node[-1], tags)
    return False


# Split by anchoring: a node's language as {(starts_at_0, ends_at_end): anchor-free node}.
Key = tuple[bool, bool]
_MAX_UNROLL = 4


def split_anchors(node) -> dict[Key, tuple]:
    tag = node[0]
    if tag == "set":
        return {(False, False): node} if node[1] else {}
    if tag == "bol":
        return {(True, False): EMPTY}
    if tag == "eol":
        return {(False, True): EMPTY}
    if tag == "alt":
        out: dict[Key, list] = {}
        for n in node[1]:
            for k, v in split_anchors(n).items():
                out.setdefault(k, []).append(v)
        return {k: v[0] if len(v) == 1 else ("alt", v) for k, v in out.items()}
    if tag == "seq":
        acc: dict[Key, tuple] = {(False, False): EMPTY}
        for n in node[1]:
            acc = _concat(acc, split_anchors(n))
        return acc
    if tag == "rep":
        _, body, lo, hi = node
        parts = split_anchors(body)
        if not parts:
            return {(False, False): EMPTY} if lo == 0 else {}
        if set(parts) == {(False, False)}:
            return {(False, False): ("rep", parts[(False, False)], lo, hi)}
        if hi is None or hi > _MAX_UNROLL:
            raise _Unsupported("anchor (^ or $) inside an unbounded or large repetition")
        optional = ("alt", [body, EMPTY])
        return split_anchors(("seq", [body] * lo + [optional] * (hi - lo)))
    raise AssertionError(f"unexpected node {tag}")


def _concat(left: dict[Key, tuple], right: dict[Key, tuple]) -> dict[Key, tuple]:
    out: dict[Key, list] = {}
    for (s1, e1), a in left.items():
        for (s2, e2), b in right.items():
            if s2:   # '^' on the right: everything on the left must be empty
                if not nullable(a):
                    continue
                a = EMPTY
            if e1:   # '$' on the left: everything on the right must be empty
                if not nullable(b):
                    continue
                b = EMPTY
            out.setdefault((s1 or s2, e1 or e2), []).append(_seq(a, b))
    return {k: v[0] if len(v) == 1 else ("alt", v) for k, v in out.items()}


def _seq(a, b):
    items = (a[1] if a[0] == "seq" else [a]) + (b[1] if b[0] == "seq" else [b])
    return items[0] if len(items) == 1 else ("seq", items)


class _Unsupported(Exception):
    """Internal: a construct that has no exact translation."""


# ---------------------------------------------------------------- emission

def emit(node) -> tuple[str, bool]:
    """Regex text over canonical units for an anchor- and assertion-free node; (text, atomic)."""
    tag = node[0]
    if tag == "set":
        return encode_set(node[1])
    if tag == "seq":
        items = node[1]
        if len(items) == 1:
            return emit(items[0])
        return "".join(emit(n)[0] for n in items), False
    if tag == "alt":
        texts = list(dict.fromkeys(emit(n)[0] for n in node[1]))
        return ("(?:" + "|".join(texts) + ")", True) if len(texts) > 1 else emit(node[1][0])
    if tag == "rep":
        _, body, lo, hi = node
        inner = _atom(emit(body))
        if (lo, hi) == (0, None):
            q = "*"
        elif (lo, hi) == (1, None):
            q = "+"
        elif (lo, hi) == (0, 1):
            q = "?"
        elif hi == lo:
            q = f"{{{lo}}}"
        else:
            q = f"{{{lo},{'' if hi is None else hi}}}"
        return (inner + q if inner else ""), False
    raise AssertionError(f"unexpected node {tag}")


def _alt_text(texts: list[str]) -> str:
    texts = list(dict.fromkeys(texts))
    return texts[0] if len(texts) == 1 else "(?:" + "|".join(texts) + ")"


def search_body(parts: dict[Key, tuple]) -> str:
    """Regex for the bodies in which some path of ``parts`` is found (search semantics)."""
    if not parts:
        return "(?!)"
    for (s, e), n in parts.items():
        if not s and not e and nullable(n):
            return UNITS
    texts = []
    for (s, e), n in parts.items():
        texts.append(("" if s else UNITS) + emit(n)[0] + ("" if e else UNITS))
    return _alt_text(texts)


def lookahead_body(parts: dict[Key, tuple], at_start_only: bool) -> str:
    """Regex over ``body + '"'`` whose prefix matches where the ECMA lookahead succeeds.

    ``at_start_only``: the lookahead is evaluated only at position 0; otherwise at any position
    (a leading ``UNITS`` is added for paths not anchored with ``^``).
    """
    texts = []
    for (s, e), n in parts.items():
        pre = "" if s or at_start_only else UNITS
        texts.append(pre + emit(n)[0] + ('"' if e else ""))
    return _alt_text(texts) if texts else "(?!)"


# ---------------------------------------------------------------- translation

@lru_cache(maxsize=1024)
def class_repetition(pattern: str) -> tuple[Ranges, int, int | None] | None:
    """``(code points, lo, hi)`` when ``pattern`` is ``^X{lo,hi}$`` for one character class X
    (also ``^X*$``, ``^X+$``, ``^X$``, groups around X): a value matches iff it has lo..hi
    code points, all in X. None for any other pattern (or an invalid one)."""
    try:
        node = parse(pattern)[0]
    except PatternSyntaxError:
        return None
    items = node[1] if node[0] == "seq" else [node]
    if len(items) != 3 or items[0] != ("bol",) or items[2] != ("eol",):
        return None
    mid = items[1]
    if mid[0] == "set":
        mid = ("rep", mid, 1, 1)
    if mid[0] != "rep" or mid[1][0] != "set" or not mid[1][1]:
        return None
    return mid[1][1], mid[2], mid[3]


@dataclass(frozen=True)
class TranslatedPattern:
    """A pattern over canonical string bodies.

    A lexeme ``"BODY"`` satisfies the pattern iff ``BODY`` fully matches ``body`` and the text
    ``BODY"`` (right after the opening quote) satisfies every entry of ``lookaheads``
    (``(?=R)`` / ``(?!R)`` in the terminal dialect: some / no prefix matches ``R``).
    """

    body: str
    lookaheads: tuple[str, ...] = ()

    def lexeme_regex(self) -> str:
        return '"' + "".join(self.lookaheads) + self.body + '"'


def translate(pattern: str, pointer: str, reporter: Reporter | None = None) -> TranslatedPattern:
    """Translate a JSON Schema ``pattern`` (ECMA-262) to a regex over canonical string bodies.

    Raises UnsupportedKeyword (strict reporter or none) for constructs without an exact
    translation; a lenient reporter records them and the result over-approximates.
    """
    reporter = reporter or Reporter(approximate=False)
    try:
        node, groups, names = parse(pattern)
    except PatternSyntaxError as exc:
        reporter.unsupported("pattern", pointer, f"not a valid ECMA-262 regex: {exc}")
        return TranslatedPattern(UNITS)
    translator = _Translator(pointer, reporter, groups, names)
    return translator.run(node)


class _Translator:
    def __init__(self, pointer: str, reporter: Reporter, groups: list, names: dict) -> None:
        self.pointer, self.reporter = pointer, reporter
        self.groups, self.names = groups, names

    def report(self, detail: str) -> None:
        self.reporter.unsupported("pattern", self.pointer, detail)

    def run(self, node) -> TranslatedPattern:
        lookaheads: list[str] = []
        items = node[1] if node[0] == "seq" else [node]
        if items and items[0][0] == "bol":
            k = 1
            while k < len(items) and items[k][0] == "look":
                lookaheads.append(self.lookahead(items[k], at_start_only=True))
                k += 1
            rest = items[k:]
            tempered = self.tempered(rest)
            if tempered is not None:
                guard, rest = tempered
                lookaheads.append(guard)
            node = ("seq", [items[0]] + rest)
        node = self.approximate(node)
        try:
            body = search_body(split_anchors(node))
        except _Unsupported as exc:
            self.report(str(exc))
            body = search_body(split_anchors(self.strip_anchors(node)))
        return TranslatedPattern(body, tuple(x for x in lookaheads if x))

    def lookahead(self, look, at_start_only: bool) -> str:
        _, negative, inner = look
        if _contains(inner, {"look", "lookbehind", "wordb", "backref"}):
            self.report("assertion or backreference inside a lookahead")
            return ""
        try:
            parts = split_anchors(inner)
        except _Unsupported as exc:
            self.report(f"{exc} (inside a lookahead)")
            return ""
        return ("(?!" if negative else "(?=") + lookahead_body(parts, at_start_only) + ")"

    def tempered(self, rest: list):
        """``((?!X)...C)* $`` -> (guard lookahead ``(?!UNITS X)``, [C*, $]) or None."""
        if len(rest) != 2 or rest[1][0] != "eol" or rest[0][0] != "rep":
            return None
        _, body, lo, hi = rest[0]
        if body[0] != "seq" or len(body[1]) < 2:
            return None
        *looks, last = body[1]
        if last[0] != "set" or not all(n[0] == "look" and n[1] for n in looks):
            return None
        paths: dict[Key, list] = {}
        for _, _, inner in looks:
            if _contains(inner, {"look", "lookbehind", "wordb", "backref"}):
                return None
            try:
                parts = split_anchors(inner)
            except _Unsupported:
                return None
            if any(nullable(n) for n in parts.values()):
                return None
            for k, v in parts.items():
                paths.setdefault(k, []).append(v)
        merged = {k: v[0] if len(v) == 1 else ("alt", v) for k, v in paths.items()}
        guard = "(?!" + lookahead_body(merged, at_start_only=False) + ")"
        return guard, [("rep", last, lo, hi), rest[1]]

    def approximate(self, node):
        """Replace constructs without exact translation by over-approximations (reported)."""
        tag = node[0]
        if tag in ("seq", "alt"):
            return (tag, [self.approximate(n) for n in node[1]])
        if tag == "rep":
            return ("rep", self.approximate(node[1]), node[2], node[3])
        if tag == "look":
            self.report("lookahead not at the start of a ^-anchored pattern")
            return EMPTY
        if tag == "lookbehind":
            self.report("lookbehind assertion")
            return EMPTY
        if tag == "wordb":
            self.report("word boundary assertion \\b / \\B")
            return EMPTY
        if tag == "backref":
            self.report("backreference")
            index = self.names.get(node[1], node[1]) if isinstance(node[1], str) else node[1]
            group = self.groups[index] if isinstance(index, int) and index < len(self.groups) \
                else EMPTY
            return ("rep", self.approximate(group), 0, 1)
        return node

    def strip_anchors(self, node):
        """Over-approximation: anchors inside repetitions become empty."""
        tag = node[0]
        if tag in ("bol", "eol"):
            return EMPTY
        if tag in ("seq", "alt"):
            return (tag, [self.strip_anchors(n) for n in node[1]])
        if tag == "rep":
            return ("rep", self.strip_anchors(node[1]), node[2], node[3])
        return node
