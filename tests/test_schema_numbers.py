"""Number terminal regexes vs jsonschema (right draft) on brute-forced and sampled values."""

from __future__ import annotations

import json
import math
import random
import re
from decimal import Decimal

import interegular
import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from grammar_decode.schema.numbers import UnsupportedKeyword, number_regex, \
    number_regex_with_issues


def validator(schema: dict):
    draft4 = any(isinstance(schema.get(k), bool) for k in ("exclusiveMinimum", "exclusiveMaximum"))
    return (Draft4Validator if draft4 else Draft202012Validator)(schema)


def shape_text(negative: bool, digits: str, e: int) -> str:
    """repr()'s layout of significant digits (no trailing zeros) with decimal exponent e."""
    if -4 <= e < 16:
        if e >= 0:
            text = f"{(digits + '0' * 17)[: e + 1]}.{digits[e + 1:] or '0'}"
        else:
            text = "0." + "0" * (-e - 1) + digits
    else:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mant}e{'+' if e > 0 else '-'}{abs(e):02d}"
    return ("-" if negative else "") + text


def repr_shape(text: str) -> bool:
    """Whether text is written the way repr() writes a float with <= 17 significant digits."""
    try:
        value = Decimal(text)
    except Exception:
        return False
    if not value.is_finite():
        return False
    if value == 0:
        return text in ("0.0", "-0.0")
    digits = "".join(map(str, abs(value).normalize().as_tuple().digits))
    if len(digits) > 17:
        return False
    return text == shape_text(text.startswith("-"), digits, abs(value).adjusted())


def test_repr_shape_reference_agrees_with_repr() -> None:
    rng = random.Random(0)
    for _ in range(3000):
        x = rng.choice([rng.uniform(-1e3, 1e3), 10 ** rng.uniform(-330, 308),
                        -(10 ** rng.uniform(-20, 20)), float(rng.randrange(-10**6, 10**6)),
                        rng.choice([0.0, -0.0, 5e-324, 1e16, 1e15, 0.0001, 1e-5])])
        assert repr_shape(repr(x)), repr(x)
        for bad in (repr(x) + "0", repr(x).replace("e+", "e"), "0" + repr(x)):
            assert not repr_shape(bad) or float(bad) != x or bad == repr(x), bad


INT_SCHEMAS = [
    {"minimum": 0, "maximum": 255}, {"minimum": -40, "maximum": 1000}, {"minimum": 1},
    {"exclusiveMaximum": 10**20}, {"minimum": 0.5, "maximum": 7.5},
    {"exclusiveMinimum": -3.0, "exclusiveMaximum": 99}, {"maximum": -7},
    {"minimum": 5, "exclusiveMinimum": True}, {"maximum": 5, "exclusiveMaximum": True},
    {"minimum": 9, "maximum": 9}, {"minimum": 10, "maximum": 9},
    {"minimum": 999, "maximum": 100001}, {"minimum": -123456, "maximum": -99},
    {"minimum": 1e300}, {"minimum": -1e20, "maximum": 1e20},
]


@pytest.mark.parametrize("schema", INT_SCHEMAS)
def test_integer_ranges_brute_force(schema: dict) -> None:
    rx = re.compile(number_regex(schema, "", integer=True))
    v = validator(schema)
    bounds = [b for k, b in schema.items() if not isinstance(b, bool)]
    rng = random.Random(json.dumps(schema))
    values = set(range(-400, 1400))
    for b in bounds:
        c = int(b)
        values |= set(range(c - 300, c + 300))
    values |= {rng.randrange(-10**25, 10**25) for _ in range(500)}
    values |= {10**k + d for k in range(30) for d in (-1, 0, 1)} | {-(10**k) for k in range(30)}
    for n in values:
        assert (rx.fullmatch(json.dumps(n)) is not None) == v.is_valid(n), (schema, n)
    for bad in ("01", "-0", "+1", "1.0", "1e3", " 1", "--1"):
        assert rx.fullmatch(bad) is None


NUMBER_SCHEMAS = [
    {}, {"minimum": 0.5, "maximum": 100}, {"exclusiveMinimum": 0}, {"minimum": 0},
    {"exclusiveMaximum": 0.1}, {"minimum": -1.5e-7, "maximum": 2.5e-5},
    {"minimum": 1e16, "exclusiveMaximum": 1e17}, {"minimum": -273.15},
    {"maximum": 1e308}, {"minimum": 123456789.123456789, "maximum": 123456790},
    {"minimum": 3, "exclusiveMinimum": True, "maximum": 3.0000000000000004},
    {"exclusiveMinimum": 2**60}, {"minimum": -(10**400)}, {"maximum": 10**400},
]


def _near(x: float, rng: random.Random) -> list[float]:
    out = [x]
    for direction in (math.inf, -math.inf):
        y = x
        for _ in range(4):
            y = math.nextafter(y, direction)
            out.append(y)
    out += [x * (1 + rng.uniform(-1e-3, 1e-3)), x + rng.uniform(-1, 1), -x, x / 10, x * 10]
    return [v for v in out if math.isfinite(v)]


def _seventeen_digit_texts(x: float) -> list[str]:
    """Non-shortest texts of repr shape around x (17 significant digits)."""
    out = []
    mant, exp = f"{abs(x):.16e}".split("e")
    for delta in (-2, -1, 1, 2):
        digits = str(int(mant.replace(".", "")) + delta)
        e = int(exp) + len(digits) - 17
        out.append(shape_text(x < 0, digits.rstrip("0") or "0", e))
    return out


@pytest.mark.parametrize("schema", NUMBER_SCHEMAS)
def test_number_ranges_on_floats_near_bounds(schema: dict) -> None:
    regex = number_regex(schema, "", integer=False)
    rx, shape = re.compile(regex), re.compile(number_regex({}, "", integer=False))
    v = validator(schema)
    rng = random.Random(json.dumps(schema, default=str))
    bounds = [float(b) for b in schema.values() if not isinstance(b, bool) and abs(b) < 1e308]
    floats = [0.0, -0.0, 5e-324, -5e-324, 1e-320, 0.1, 1.0, 1e16, 1e15, sys_max(), -sys_max()]
    for b in bounds + [0.0, 1.0]:
        floats += _near(b, rng)
    floats += [rng.uniform(-1e3, 1e3) for _ in range(300)]
    floats += [math.copysign(10 ** rng.uniform(-320, 308), rng.random() - 0.5)
               for _ in range(300)]
    texts = [json.dumps(x) for x in floats]
    texts += [json.dumps(int(x)) for x in floats if abs(x) < 1e30]
    texts += [t for x in floats if x != 0 for t in _seventeen_digit_texts(x)]
    checked = 0
    for text in texts:
        value = json.loads(text)
        if not math.isfinite(value):
            continue
        is_int_text = re.fullmatch(r"-?[0-9]+", text) is not None
        if not is_int_text:
            assert (shape.fullmatch(text) is not None) == repr_shape(text), text
            if not repr_shape(text):
                continue
        expected = v.is_valid(value) and (is_int_text or math.isfinite(float(text)))
        assert (rx.fullmatch(text) is not None) == expected, (schema, text, value)
        checked += 1
    assert checked > 500


def sys_max() -> float:
    import sys
    return sys.float_info.max


@pytest.mark.parametrize("k,lo,hi", [(2, -50, 50), (3, 7, 300), (5, None, None), (10, 1, None),
                                     (25, -1000, 10**6), (8, None, -3), (7, -100, 2000),
                                     (1000, 999, 100500), (4, 123, None)])
def test_integer_multiple_of(k: int, lo, hi) -> None:
    schema = {"multipleOf": k}
    if lo is not None:
        schema["minimum"] = lo
    if hi is not None:
        schema["maximum"] = hi
    rx = re.compile(number_regex(schema, "", integer=True))
    v = validator(schema)
    rng = random.Random(k)
    values = set(range(-3000, 3000)) | {rng.randrange(-10**12, 10**12) for _ in range(3000)}
    values |= {b + d for b in (lo or 0, hi or 0) for d in range(-1100, 1100)}
    for n in values:
        assert (rx.fullmatch(json.dumps(n)) is not None) == v.is_valid(n), (schema, n)


def test_inexact_multiple_of_is_reported() -> None:
    with pytest.raises(UnsupportedKeyword) as info:
        number_regex({"multipleOf": 3}, "/properties/n", integer=True)
    assert info.value.keyword == "multipleOf" and info.value.pointer == "/properties/n/multipleOf"
    with pytest.raises(UnsupportedKeyword):
        number_regex({"multipleOf": 0.01, "minimum": 0}, "", integer=False)
    regex, issues = number_regex_with_issues({"multipleOf": 0.01, "minimum": 0}, "", False,
                                             approximate=True)
    assert issues[0].status == "approximated" and re.fullmatch(regex, "0.07")
    regex, issues = number_regex_with_issues({"multipleOf": 5, "maximum": 100}, "", False)
    assert issues[0].status == "narrowed" and re.fullmatch(regex, "95")


def test_number_regexes_parse_with_interegular() -> None:
    """Proxy for the regex-to-DFA converter (unbounded float ranges take seconds there)."""
    for schema in [NUMBER_SCHEMAS[1], NUMBER_SCHEMAS[5]] + INT_SCHEMAS[:13]:  # no 300-digit bounds
        interegular.parse_pattern(number_regex(schema, "", integer=True)).to_fsm()
    interegular.parse_pattern(number_regex(NUMBER_SCHEMAS[1], "", integer=False)).to_fsm()
