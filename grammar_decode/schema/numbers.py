"""Exact terminal regexes for JSON Schema numbers in canonical form.

Canonical lexemes: integers as ``json.dumps(int)`` writes them (``0``, ``-12``, any size) and
floats as Python ``repr`` (``1.5``, ``1e-07``, ``1.5e+20``, ``-0.0``): fixed notation for decimal
exponents -4..15 (``0.0001``, ``1234.5``, ``1e+16``), scientific otherwise, at most 17
significant digits, no trailing fraction zeros except ``X.0``, exponent with >= 2 digits.
A regex cannot tell the *shortest* round-trip digits apart from longer ones, so the float part
accepts every string of that shape; its bounds are exact on the value ``float(text)``: each bound
is turned into the decimal midpoint between two adjacent doubles (ties to even), so a lexeme is
accepted iff the double it parses to satisfies ``minimum``/``maximum``/``exclusive*`` (and is
finite). Integer ranges are exact digit-range regexes. ``multipleOf`` is exact for integer
divisors when the range holds few multiples (enumerated) or when the divisor divides 1000
(suffix rule); other cases raise UnsupportedKeyword (strict) or are dropped (lenient).
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from grammar_decode.errors import InvalidSchemaError, SchemaIssue
from grammar_decode.schema.unsupported import Reporter, UnsupportedKeyword

__all__ = ["UnsupportedKeyword", "number_regex", "number_regex_with_issues", "int_range_regex"]

NEVER = "(?!)"
MAX_ENUMERATED_MULTIPLES = 1000
_SUFFIX_DIGITS = 3          # divisors of 10**3 get the suffix construction
_SIG_DIGITS = 17
_FRACTION_DIGITS = 15       # non-integral numbers: see _layout


# ---------------------------------------------------------------- digit-string engine

@dataclass(frozen=True)
class _Layout:
    """How significand digits are printed for one decimal exponent."""

    n_min: int            # digits always printed
    n_max: int            # most digits
    dot_at: int | None    # '.' goes before digit index dot_at when that digit is printed
    end_at_min: str | None  # text written when the digits stop at n_min (".0", ""; None: never)
    nz_end: bool          # past n_min, the last digit must be nonzero


def _digits_regex(lay: _Layout, lo: tuple[int, ...] | None, lo_incl: bool,
                  hi: tuple[int, ...] | None, hi_incl: bool) -> str | None:
    """Regex of digit strings (first digit nonzero) whose value 0.Q lies between 0.lo and 0.hi.

    ``lo``/``hi`` are significand digits (first nonzero, no trailing zeros); None = no bound.
    """
    memo: dict[tuple, str | None] = {}

    def bound_digit(b: tuple[int, ...], j: int) -> int:
        return b[j] if j < len(b) else 0

    def can_end(j: int, pnz: bool) -> bool:
        if j == lay.n_min:
            return lay.end_at_min is not None
        return j > lay.n_min and (pnz or not lay.nz_end)

    def free(j: int, pnz: bool) -> str:
        sep = "\\." if lay.dot_at == j else ""
        if j < lay.n_min:   # digits up to n_min are all printed; '.' only at n_min
            first = "[1-9]" if j == 0 else "[0-9]"
            more = lay.n_min - j - 1
            return first + (f"[0-9]{{{more}}}" if more > 1 else "[0-9]" * more) \
                + free(lay.n_min, True)
        alts = [lay.end_at_min if j == lay.n_min else ""] if can_end(j, pnz) else []
        k = lay.n_max - j
        if k > 0:
            if lay.nz_end:
                tail = "[1-9]" if k == 1 else f"[0-9]{{0,{k - 1}}}[1-9]"
            else:
                tail = f"[0-9]{{1,{k}}}"
            alts.append(sep + tail)
        return _alt(alts)

    def rec(j: int, tl: bool, th: bool, pnz: bool) -> str | None:
        if j <= lay.n_min:
            pnz = True
        if not tl and not th:
            return free(j, pnz)
        key = (j, tl, th, pnz)
        if key in memo:
            return memo[key]
        alts = []
        if can_end(j, pnz):
            ok = True
            if tl:
                ok = lo_incl if len(lo) <= j else False
            if th and ok:
                ok = hi_incl if len(hi) <= j else True
            if ok:
                alts.append(lay.end_at_min if j == lay.n_min else "")
        if j < lay.n_max:
            groups: dict[tuple, list[int]] = {}
            for d in range(1 if j == 0 else 0, 10):
                if tl and d < bound_digit(lo, j) or th and d > bound_digit(hi, j):
                    continue
                nxt = (tl and d == bound_digit(lo, j), th and d == bound_digit(hi, j),
                       d != 0 or j + 1 <= lay.n_min)
                groups.setdefault(nxt, []).append(d)
            sep = "\\." if lay.dot_at == j else ""
            for (ntl, nth, npnz), digits in groups.items():
                rest = rec(j + 1, ntl, nth, npnz)
                if rest is not None:
                    alts.append(sep + _digit_class(digits) + rest)
        memo[key] = _alt(alts) if alts else None
        return memo[key]

    return rec(0, lo is not None, hi is not None, True)


def _digit_class(digits: list[int]) -> str:
    if len(digits) == 1:
        return str(digits[0])
    if digits == list(range(digits[0], digits[-1] + 1)):
        return f"[{digits[0]}-{digits[-1]}]"
    return "[" + "".join(map(str, digits)) + "]"


def _alt(alts: list[str]) -> str:
    alts = list(dict.fromkeys(alts))
    if len(alts) == 1:
        return alts[0]
    if "" in alts:
        rest = [a for a in alts if a]
        return f"(?:{'|'.join(rest)})?"
    return f"(?:{'|'.join(alts)})"


def _digits_of(n: int) -> tuple[int, ...]:
    return tuple(int(c) for c in str(n))


# ---------------------------------------------------------------- integers

def int_magnitude_regex(lo: int, hi: int | None) -> str | None:
    """Unsigned canonical integers (no leading zeros) in [lo, hi], lo >= 1; hi None = no limit."""
    if hi is not None and hi < lo:
        return None
    n_lo, n_hi = len(str(lo)), (len(str(hi)) if hi is not None else None)
    alts = []
    for n in sorted({n_lo, n_hi if n_hi is not None else n_lo}):
        lay = _Layout(n, n, None, "", False)
        lo_d = _strip(_digits_of(lo)) if n == n_lo and lo > 10 ** (n - 1) else None
        hi_d = _strip(_digits_of(hi)) if n == n_hi and hi < 10 ** n - 1 else None
        r = _digits_regex(lay, lo_d, True, hi_d, True)
        if r is not None:
            alts.append(r)
    middle = (n_lo + 1, None if n_hi is None else n_hi - 1)
    if middle[1] is None or middle[1] >= middle[0]:
        lo_rep, hi_rep = middle[0] - 1, None if middle[1] is None else middle[1] - 1
        reps = f"{{{lo_rep}}}" if lo_rep == hi_rep else f"{{{lo_rep},{'' if hi_rep is None else hi_rep}}}"
        alts.append(f"[1-9][0-9]{reps}")
    return _alt(alts) if alts else None


def _strip(d: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if d is None:
        return None
    d = tuple(d)
    while len(d) > 1 and d[-1] == 0:
        d = d[:-1]
    return d


def int_range_regex(lo: int | None, hi: int | None) -> str:
    """Canonical integer lexemes in [lo, hi] (None = unbounded); NEVER if empty."""
    alts = []
    if lo is None or lo < 0:
        neg = int_magnitude_regex(1 if hi is None or hi >= 0 else -hi,
                                  None if lo is None else -lo)
        if neg is not None:
            alts.append("-" + _group(neg))
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        alts.append("0")
    if hi is None or hi > 0:
        pos = int_magnitude_regex(max(lo if lo is not None else 1, 1), hi)
        if pos is not None:
            alts.append(pos)
    return _alt(alts) if alts else NEVER


def _group(r: str) -> str:
    return r if r.startswith("(?:") and r.endswith(")") and _balanced_top(r) else f"(?:{r})"


def _balanced_top(r: str) -> bool:
    depth = 0
    for i, c in enumerate(r):
        if c == "\\":
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and i != len(r) - 1:
                return False
    return True


# ---------------------------------------------------------------- multipleOf for integers

def _literal_trie(words: list[str]) -> str:
    """Compact regex for a finite set of digit strings (shared prefixes factored)."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node: dict) -> str:
        """Digits with the same continuation share one class: [05][0-9] for 00..59 step 5."""
        groups: dict[str, list[int]] = {}
        for c, child in sorted(node.items()):
            if c:
                groups.setdefault(emit(child), []).append(int(c))
        alts = ([""] if "" in node else []) + [_digit_class(ds) + rest
                                             for rest, ds in groups.items()]
        return _alt(alts)

    return emit(trie)


def int_multiple_regex(lo: int | None, hi: int | None, k: int) -> str | None:
    """Canonical integers in [lo, hi] divisible by k; None when not exactly expressible."""
    if lo is not None and hi is not None:
        first, last = -(-lo // k) * k, hi // k * k
        if first > last:
            return NEVER
        if (last - first) // k + 1 <= MAX_ENUMERATED_MULTIPLES:
            values = range(first, last + 1, k)
            neg = [str(-v) for v in values if v < 0]
            pos = [str(v) for v in values if v >= 0]
            alts = (["-" + _group(_literal_trie(neg))] if neg else []) + \
                ([_literal_trie(pos)] if pos else [])
            return _alt(alts)
    block = 10 ** _SUFFIX_DIGITS
    if block % k:
        return None
    alts = []
    if lo is None or lo < 0:
        neg = _multiple_magnitudes(1 if hi is None or hi >= 0 else -hi,
                                   None if lo is None else -lo, k, block)
        if neg is not None:
            alts.append("-" + _group(neg))
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        alts.append("0")
    if hi is None or hi > 0:
        pos = _multiple_magnitudes(max(lo if lo is not None else 1, 1), hi, k, block)
        if pos is not None:
            alts.append(pos)
    return _alt(alts) if alts else NEVER


def _multiple_magnitudes(lo: int, hi: int | None, k: int, block: int) -> str | None:
    """Magnitudes in [lo, hi] divisible by k (k | block): edges enumerated, middle q*block+r."""
    q_lo = -(-lo // block)
    q_hi = None if hi is None else (hi + 1) // block - 1
    alts, edges = [], []
    if q_hi is not None and q_hi < q_lo:
        edges = list(range(-(-lo // k) * k, hi + 1, k))
    else:
        edges = list(range(-(-lo // k) * k, q_lo * block, k))
        if hi is not None:
            edges += list(range((q_hi + 1) * block, hi // k * k + 1, k))
        suffixes = [f"{r:0{_SUFFIX_DIGITS}d}" for r in range(0, block, k)]
        small = [str(v) for v in range(0, block, k) if v >= lo and (hi is None or v <= hi)] \
            if q_lo == 0 else []
        if small:
            alts.append(_literal_trie(small))
        q_mag = int_magnitude_regex(max(q_lo, 1), q_hi)
        if q_mag is not None:
            alts.append(_group(q_mag) + _group(_literal_trie(suffixes)))
    words = [str(v) for v in edges if v > 0]
    if words:
        alts.append(_literal_trie(words))
    return _alt(alts) if alts else None


# ---------------------------------------------------------------- floats

_MAX = sys.float_info.max
_HUGE_PREC = 1200


def _midpoint(a: float, b: float) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _HUGE_PREC
        return (Decimal(a) + Decimal(b)) / 2


def _lower_threshold(bound: float | int | None, exclusive: bool) -> tuple[Decimal, bool]:
    """(t, inclusive): float(text) satisfies the lower bound iff value(text) >= t (or > t)."""
    if bound is None:
        smallest = -_MAX
    else:
        f = float(bound) if abs(bound) <= _MAX else (math.inf if bound > 0 else -math.inf)
        if exclusive:
            smallest = f if f > bound else math.nextafter(f, math.inf)
        else:
            smallest = f if f >= bound else math.nextafter(f, math.inf)
    if smallest == math.inf or smallest > _MAX:
        return Decimal("Infinity"), False
    below = math.nextafter(smallest, -math.inf)
    if below == -math.inf:   # no lower bound: anything that does not round to -inf
        return -(Decimal(_MAX) + _half_ulp_max()), False
    mid = _midpoint(below, smallest)
    return mid, float(str(mid)) == smallest   # ties round to even


def _half_ulp_max() -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _HUGE_PREC
        return (Decimal(_MAX) - Decimal(math.nextafter(_MAX, 0))) / 2


def _upper_threshold(bound: float | int | None, exclusive: bool) -> tuple[Decimal, bool]:
    t, incl = _lower_threshold(None if bound is None else -bound, exclusive)
    return -t, incl


def _sig_digits(t: Decimal) -> tuple[int, ...]:
    """Significand digits of t > 0, without trailing zeros."""
    digits = t.as_tuple().digits
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
    return tuple(digits[:end])


_FIXED_EXPONENTS = range(-4, 16)
_MIN_EXP, _MAX_EXP = -324, 308
_POW10 = tuple(Decimal(10) ** e for e in range(_MIN_EXP, _MAX_EXP + 2))


def _layout(e: int, fraction: bool = False) -> tuple[str, _Layout, str]:
    """(prefix, layout, suffix) of canonical floats with decimal exponent e. ``fraction``
    (only for e < _FRACTION_DIGITS - 1; larger texts are all integers): only texts that
    parse to a non-integral double, i.e. at most ``_FRACTION_DIGITS`` significant digits with
    a nonzero one after the point. Such a text is at least 10**(d-15) away from an integer
    (d integer digits) while rounding moves it less than 2**-53 * 10**d < 10**(d-15), so its
    double is not an integer either."""
    sig = _FRACTION_DIGITS if fraction else _SIG_DIGITS
    if 0 <= e <= 15:
        return "", _Layout(e + 1, sig, e + 1, None if fraction else "\\.0", True), ""
    if -4 <= e <= -1:
        return "0\\." + "0" * (-e - 1), _Layout(1, sig, None, "", True), ""
    return "", _Layout(1, sig, 1, "", True), _exp_text(e)


def _exp_text(e: int) -> str:
    return ("e\\+" if e > 0 else "e-") + f"{abs(e):02d}"


def _float_magnitudes(lo: Decimal | None, lo_incl: bool, hi: Decimal, hi_incl: bool,
                      fraction: bool = False) -> str | None:
    """Unsigned canonical non-zero float texts with value in the range (lo None = > 0);
    ``fraction``: only those of non-integral value (see `_layout`)."""
    alts: list[str] = []
    full_sci: list[int] = []
    for e in range(_MIN_EXP, _MAX_EXP + 1):
        if fraction and e >= _FRACTION_DIGITS - 1:  # every such text is an integer
            break
        low_edge, high_edge = _POW10[e - _MIN_EXP], _POW10[e + 1 - _MIN_EXP]
        lo_d = hi_d = None
        if lo is not None:
            if lo >= high_edge:
                continue
            if lo >= low_edge:
                lo_d = _sig_digits(lo)
        if hi < low_edge:
            continue
        if hi < high_edge:
            hi_d = _sig_digits(hi)
        if lo_d is None and hi_d is None and e not in _FIXED_EXPONENTS:
            full_sci.append(e)
            continue
        prefix, lay, suffix = _layout(e, fraction)
        body = _digits_regex(lay, lo_d, lo_incl, hi_d, hi_incl)
        if body is not None:
            alts.append(prefix + body + suffix)
    for sign, exps in (("-", sorted(-e for e in full_sci if e < 0)),
                       ("\\+", sorted(e for e in full_sci if e > 0))):
        if exps:
            _, lay, _ = _layout(-5 if sign == "-" else 16, fraction)  # any scientific one
            body = _digits_regex(lay, None, True, None, True)
            alts.append(f"{body}e{sign}{_exponent_range(min(exps), max(exps), exps)}")
    return _alt(alts) if alts else None


def _exponent_range(lo: int, hi: int, exps: list[int]) -> str:
    assert exps == list(range(lo, hi + 1)), "full exponents are contiguous"
    alts = []
    if lo <= 9:
        alts.append("0" + _digit_class(list(range(lo, min(hi, 9) + 1))))
    if hi >= 10:
        alts.append(int_magnitude_regex(max(lo, 10), hi))
    return _alt(alts)


@functools.lru_cache(maxsize=1024)
def float_range_regex(lo: tuple[Decimal, bool], hi: tuple[Decimal, bool],
                      fraction: bool = False) -> str:
    """Canonical float texts (repr shape) whose exact decimal value lies in [lo, hi];
    ``fraction``: only those of non-integral value (see `_layout`)."""
    (lo_t, lo_in), (hi_t, hi_in) = lo, hi
    tiny = _lower_threshold(0, True) if fraction else None  # smaller texts parse to 0.0

    def magnitudes(m_lo: Decimal | None, m_lo_in: bool, m_hi: Decimal, m_hi_in: bool):
        if tiny is not None and (m_lo is None or m_lo < tiny[0]):
            m_lo, m_lo_in = tiny
        return _float_magnitudes(m_lo, m_lo_in, m_hi, m_hi_in, fraction)

    alts = []
    if lo_t < 0 or lo_t == 0 and lo_in:
        neg_hi = -lo_t
        neg_lo = None if hi_t >= 0 else -hi_t
        neg = magnitudes(neg_lo, hi_in, neg_hi, lo_in) if lo_t < 0 else None
        if neg is not None:
            alts.append("-" + _group(neg))
    zero_ok = (not fraction and (lo_t < 0 or lo_t == 0 and lo_in)
               and (hi_t > 0 or hi_t == 0 and hi_in))
    if zero_ok:
        alts.append("-?0\\.0")
    if hi_t > 0:
        pos = magnitudes(None if lo_t < 0 else lo_t, lo_in, hi_t, hi_in)
        if pos is not None:
            alts.append(pos)
    return _alt(alts) if alts else NEVER


# ---------------------------------------------------------------- schema keywords

def _bounds(fragment: dict, pointer: str) -> tuple[tuple, tuple]:
    """((lower, exclusive), (upper, exclusive)) from draft-4 boolean or numeric exclusives."""
    def num(key: str):
        v = fragment.get(key)
        if v is None or isinstance(v, bool):
            return None
        if not isinstance(v, (int, float)) or isinstance(v, float) and not math.isfinite(v):
            raise InvalidSchemaError(f"{key} must be a finite number, got {v!r}",
                                     f"{pointer}/{key}")
        return v

    lower, upper = (num("minimum"), False), (num("maximum"), False)
    for key, which in (("exclusiveMinimum", 0), ("exclusiveMaximum", 1)):
        v = fragment.get(key)
        if v is None or v is False:
            continue
        current = (lower, upper)[which]
        if v is True:
            if current[0] is None:
                raise InvalidSchemaError(f"{key}: true needs {'minimum' if which == 0 else 'maximum'}",
                                         f"{pointer}/{key}")
            new = (current[0], True)
        else:
            value = num(key)
            if current[0] is None:
                new = (value, True)
            elif which == 0:   # the tighter of minimum / exclusiveMinimum
                new = (value, True) if value >= current[0] else current
            else:
                new = (value, True) if value <= current[0] else current
        lower, upper = (new, upper) if which == 0 else (lower, new)
    return lower, upper


def _int_bounds(lower: tuple, upper: tuple) -> tuple[int | None, int | None]:
    lo = hi = None
    if lower[0] is not None:
        b = Fraction(lower[0])
        lo = math.floor(b) + 1 if lower[1] else math.ceil(b)
    if upper[0] is not None:
        b = Fraction(upper[0])
        hi = math.ceil(b) - 1 if upper[1] else math.floor(b)
    return lo, hi


def number_regex(fragment: dict, pointer: str, integer: bool, *,
                 approximate: bool = False, non_integer: str | None = None) -> str:
    """Regex for canonical number lexemes satisfying the fragment's numeric keywords.

    ``integer=True``: only integer lexemes (``type: integer``). Otherwise integers and
    float reprs, or with ``non_integer`` the numbers that are not integers: "float", every
    float lexeme (draft 4, where 1.0 is not an integer); "fraction", the non-integral values
    (narrowed to 15 significant digits, see `_layout`). Strict mode raises
    UnsupportedKeyword for an inexact ``multipleOf``.
    """
    return number_regex_with_issues(fragment, pointer, integer, approximate=approximate,
                                    non_integer=non_integer)[0]


def number_regex_with_issues(fragment: dict, pointer: str, integer: bool, *,
                             approximate: bool = False, non_integer: str | None = None
                             ) -> tuple[str, list[SchemaIssue]]:
    """Like :func:`number_regex`; also returns the approximations / narrowings made."""
    if non_integer not in (None, "float", "fraction"):
        raise ValueError(f"non_integer must be None, 'float' or 'fraction', got {non_integer!r}")
    reporter = Reporter(approximate)
    lower, upper = _bounds(fragment, pointer)
    lo, hi = _int_bounds(lower, upper)
    k = fragment.get("multipleOf")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not k > 0:
            raise InvalidSchemaError(f"multipleOf must be a number > 0, got {k!r}",
                                     f"{pointer}/multipleOf")
        if float(k).is_integer():
            regex = int_multiple_regex(lo, hi, int(k))
            if regex is not None:
                if not integer:
                    reporter.narrowed("multipleOf", f"{pointer}/multipleOf",
                                      "only integer lexemes are generated for an integer "
                                      "multipleOf of a number")
                return (NEVER if non_integer else regex), reporter.issues
            reporter.unsupported("multipleOf", f"{pointer}/multipleOf",
                                 f"multipleOf {k} over an unbounded or large range")
        else:
            reporter.unsupported("multipleOf", f"{pointer}/multipleOf",
                                 f"fractional multipleOf {k} (float division semantics)")
    ints = int_range_regex(lo, hi)
    if integer:
        return ints, reporter.issues
    if non_integer == "fraction":
        reporter.narrowed("type", pointer, "non-integer numbers: only lexemes with at most "
                          f"{_FRACTION_DIGITS} significant digits are generated")
    floats = float_range_regex(_lower_threshold(*lower), _upper_threshold(*upper),
                               non_integer == "fraction")
    parts = [p for p in ((floats,) if non_integer else (ints, floats)) if p != NEVER]
    return (_alt(parts) if parts else NEVER), reporter.issues
