"""Exact terminal regexes for JSON Schema string values in canonical JSON form.

A lexeme is ``"`` + body + ``"`` where the body is the value written by
``json.dumps(value, ensure_ascii=False)`` (see :mod:`grammar_decode.schema.ecma_regex` for the
unit encoding). ``pattern``, ``format``, ``minLength``/``maxLength`` (code points: one canonical
unit each) and optional ``const``/``enum`` are combined exactly: one constraint is the main
body, the others become top-level lookaheads right after the opening quote. A lookahead only
ever matches whole units, so it can reach the closing quote but never past it.

A pattern ``^X{a,b}$`` (one character class X) is folded into the length count: the language
is ``"`` X{lo,hi} ``"`` (:class:`CountedString`). :func:`counted_string` exposes such languages
so that the grammar builder can emit long ones as chains of fixed-size chunk terminals instead
of one huge terminal (see :mod:`grammar_decode.schema.chunks`): since a body is a sequence of
units, X{0,a} X{0,b} = X{0,a+b}, and the grammar counts the chunks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from grammar_decode.errors import InvalidSchemaError, SchemaIssue
from grammar_decode.schema.ecma_regex import (
    UNIT, UNITS, class_repetition, escape_literal, translate, unit_regex)
from grammar_decode.schema.formats import format_regex
from grammar_decode.schema.unsupported import Reporter, UnsupportedKeyword

NEVER = '"(?!)"'          # a string terminal that matches nothing (unsatisfiable constraints)
ANY_STRING = f'"{UNITS}"'

__all__ = ["ANY_STRING", "NEVER", "CountedString", "UnsupportedKeyword", "canonical_string",
           "counted_string", "string_regex", "string_regex_with_issues"]


@dataclass(frozen=True)
class CountedString:
    """The bodies ``unit{lo,hi}`` (``hi`` None: unbounded); ``unit`` is one regex atom matching
    single canonical units (a set of code points)."""

    unit: str
    lo: int
    hi: int | None

    def body(self) -> str:
        if (self.lo, self.hi) == (0, None):
            return f"{self.unit}*"
        if self.lo == self.hi:
            return f"{self.unit}{{{self.lo}}}"
        return f"{self.unit}{{{self.lo},{'' if self.hi is None else self.hi}}}"

    def lookahead(self) -> str:
        """The count as a lookahead right after the opening quote."""
        if self.unit == UNIT and self.hi is None:
            return f"(?={UNIT}{{{self.lo}}})"  # every unit is a UNIT: a prefix suffices
        return f'(?={self.body()}")'


def canonical_string(value: str) -> str:
    """The canonical JSON lexeme of a string value."""
    return json.dumps(value, ensure_ascii=False)


def string_regex(fragment: dict, pointer: str, *, approximate: bool = False) -> str:
    """Regex for the canonical lexemes of strings satisfying ``fragment``'s string keywords.

    Strict (default): raises UnsupportedKeyword for a keyword without exact translation.
    ``approximate=True``: over-approximates such keywords instead (see
    :func:`string_regex_with_issues` to also get what was approximated).
    """
    return string_regex_with_issues(fragment, pointer, approximate=approximate)[0]


def string_regex_with_issues(fragment: dict, pointer: str, *, approximate: bool = False
                             ) -> tuple[str, list[SchemaIssue]]:
    """Like :func:`string_regex`; also returns the issues (approximated / narrowed / ignored)."""
    reporter = Reporter(approximate)
    regex = _build(fragment, pointer, reporter)
    if "const" in fragment or "enum" in fragment:
        regex = _restrict_to_values(fragment, pointer, regex)
    return regex, reporter.issues


def _length_bounds(fragment: dict, pointer: str) -> tuple[int, int | None]:
    bounds = []
    for key, default in (("minLength", 0), ("maxLength", None)):
        value = fragment.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0 or value != int(value)):
            raise InvalidSchemaError(f"{key} must be a non-negative integer, got {value!r}",
                                     f"{pointer}/{key}")
        bounds.append(None if value is None else int(value))
    return bounds[0], bounds[1]


def _constraints(fragment: dict, pointer: str, reporter: Reporter
                 ) -> tuple[CountedString, list[str], list[str]] | None:
    """(length count, other bodies, lookaheads) of the string keywords; None if unsatisfiable.

    A ``pattern`` of the form ``^X{a,b}$`` (one character class) becomes part of the count.
    """
    lo, hi = _length_bounds(fragment, pointer)
    if hi is not None and lo > hi:
        return None
    unit = UNIT
    bodies: list[str] = []
    lookaheads: list[str] = []
    pattern = fragment.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise InvalidSchemaError(f"pattern must be a string, got {pattern!r}",
                                     f"{pointer}/pattern")
        repeated = class_repetition(pattern)
        if repeated is not None:
            ranges, a, b = repeated
            unit, lo = unit_regex(ranges), max(lo, a)
            hi = b if hi is None else hi if b is None else min(hi, b)
        else:
            translated = translate(pattern, f"{pointer}/pattern", reporter)
            lookaheads += translated.lookaheads
            if translated.body != UNITS:
                bodies.append(translated.body)
    fmt = fragment.get("format")
    if isinstance(fmt, str):
        found = format_regex(fmt, f"{pointer}/format", reporter)
        if found is not None:
            lookaheads += found.lookaheads
            bodies.append(found.body)
    if hi is not None and lo > hi:
        return None
    return CountedString(unit, lo, hi), bodies, lookaheads


def _build(fragment: dict, pointer: str, reporter: Reporter) -> str:
    parts = _constraints(fragment, pointer, reporter)
    if parts is None:
        return NEVER
    count, bodies, lookaheads = parts
    if not bodies:
        bodies.append(count.body())
    elif count != CountedString(UNIT, 0, None):
        lookaheads.append(count.lookahead())
    main, *others = bodies
    lookaheads += [f'(?={other}")' for other in others]
    return '"' + "".join(lookaheads) + main + '"'


def counted_string(fragment: dict, pointer: str) -> CountedString | None:
    """The fragment's language as ``"`` unit{lo,hi} ``"`` when its keywords only bound how many
    code points of one set a value has (lengths, ``^X{a,b}$`` patterns); None otherwise (other
    patterns, formats, const/enum, unsatisfiable bounds). Issues are not reported here (see
    :func:`string_regex_with_issues`)."""
    if "const" in fragment or "enum" in fragment:
        return None
    parts = _constraints(fragment, pointer, Reporter(approximate=True))
    if parts is None or parts[1] or parts[2]:
        return None
    return parts[0]


def _restrict_to_values(fragment: dict, pointer: str, regex: str) -> str:
    """``"(?:v1|v2...)"``: the canonical bodies of the const/enum strings the regex accepts."""
    values: list = []
    if "const" in fragment:
        values.append(fragment["const"])
    if "enum" in fragment:
        enum = fragment["enum"]
        if not isinstance(enum, list):
            raise InvalidSchemaError(f"enum must be an array, got {enum!r}", f"{pointer}/enum")
        values = [v for v in enum if "const" not in fragment or v == fragment["const"]] \
            if values else enum
    compiled = re.compile(regex)
    lexemes = []
    for value in values:
        if _encodable(value):
            lexeme = canonical_string(value)
            if compiled.fullmatch(lexeme) and lexeme not in lexemes:
                lexemes.append(lexeme)
    if not lexemes:
        return NEVER
    bodies = [escape_literal(x[1:-1]) for x in lexemes]
    return '"' + (bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")") + '"'



def _encodable(value: object) -> bool:
    """A string without lone surrogates (only those can appear in UTF-8 output)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
