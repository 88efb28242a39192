"""String terminal regexes vs independent truth.

Truth: ``jsonschema`` (Draft 2020-12, its format checker with the format-nongpl extras) for
lengths, formats and const/enum; a JavaScript engine (``node``, RegExp with the ``u`` flag) for
ECMA-262 ``pattern`` semantics, plus ``jsonschema`` (Python ``re``) on strings where the two
regex dialects agree. Every verdict is on the canonical lexeme ``json.dumps(s, ensure_ascii=False)``.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import interegular
import pytest
from hypothesis import given, settings, strategies as st
from jsonschema import Draft202012Validator

from grammar_decode.schema import ecma_regex, formats
from grammar_decode.schema.strings import (
    ANY_STRING, NEVER, UnsupportedKeyword, string_regex, string_regex_with_issues)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
NOISE = ['"', "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", " ", "é", "😀", "\u2028",
         "\u00a0", "/", "a", "Z", "0", "9", "_", "-", ".", "x", "É"]

NODE = shutil.which("node")
_JS = r"""
let d = ''; process.stdin.on('data', c => d += c); process.stdin.on('end', () => {
  const out = JSON.parse(d).map(([p, ss]) => {
    let rx; try { rx = new RegExp(p, 'u'); } catch (e) { return null; }
    return ss.map(s => rx.test(s)); });
  process.stdout.write(JSON.stringify(out)); });
"""


def ecma_search(cases: list[tuple[str, list[str]]]) -> list[list[bool] | None]:
    """RegExp(p, 'u').test(s) in node for each (pattern, strings); None if p is not u-valid."""
    run = subprocess.run([NODE, "-e", _JS], input=json.dumps(cases), capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(run.stdout)


def lexeme(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def accepts(regex: str, s: str) -> bool:
    return re.fullmatch(regex, lexeme(s)) is not None


def valid(schema: dict, s: str) -> bool:
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER).is_valid(s)


def mutations(rng: random.Random, s: str, alphabet: list[str], n: int) -> list[str]:
    """Random single and double edits (insert/delete/replace) of s."""
    out = []
    for _ in range(n):
        t = list(s)
        for _ in range(rng.choice((1, 1, 2))):
            op, i = rng.randrange(3), rng.randrange(len(t) + 1)
            if op == 0:
                t.insert(i, rng.choice(alphabet))
            elif t and op == 1:
                del t[min(i, len(t) - 1)]
            elif t:
                t[min(i, len(t) - 1)] = rng.choice(alphabet)
        out.append("".join(t))
    return out


# --------------------------------------------------------------------- canonical units

@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12))
def test_any_string_accepts_canonical_lexemes(s: str) -> None:
    assert accepts(ANY_STRING, s)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8))
def test_any_string_rejects_non_canonical_spellings(s: str) -> None:
    ascii_form = json.dumps(s, ensure_ascii=True)
    upper_hex = re.sub(r"\\u00([01][0-9a-f])", lambda m: "\\u00" + m.group(1).upper(),
                       lexeme(s))
    for spelling in (ascii_form, upper_hex, lexeme(s).replace("/", "\\/")):
        is_canonical = spelling == lexeme(json.loads(spelling))
        assert (re.fullmatch(ANY_STRING, spelling) is not None) == is_canonical, spelling


def test_unit_rejects_raw_quote_backslash_and_controls() -> None:
    for bad in ['"a"b"', '"\\"', '"\n"', '"\\u001F"', '"\\u000a"', '"\\x41"', '"\\/"']:
        assert re.fullmatch(ANY_STRING, bad) is None, bad


# --------------------------------------------------------------------- lengths

@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(NOISE), max_size=9),
       st.integers(0, 6), st.one_of(st.none(), st.integers(0, 8)))
def test_length_bounds_count_code_points(s: str, lo: int, hi: int | None) -> None:
    schema = {"minLength": lo} if hi is None else {"minLength": lo, "maxLength": hi}
    assert accepts(string_regex(schema, ""), s) == valid(schema, s)


def test_unsatisfiable_lengths_match_nothing() -> None:
    assert string_regex({"minLength": 3, "maxLength": 2}, "") == NEVER
    assert re.fullmatch(NEVER, '""') is None


# --------------------------------------------------------------------- patterns

PATTERNS: list[tuple[str, list[str]]] = [
    ("abc", ["abc", "xxabcxx"]),
    ("^a|b$", ["a", "ab", "b", "cb"]),
    ("^(?:a|b)*$", ["", "abba"]),
    ("^[^a]\\d{2,3}$", ["b12", '"123', "\n12"]),
    ("^\\w+@\\w+\\.com$", ["a_1@b.com"]),
    ("^\\s*$", ["", " \t\n\u00a0\u2028\ufeff\u3000"]),
    ("^.+$", ["a", "é😀", "a\u2029"]),
    ("^[\\x00-\\x1f]+$", ["\x00\x1f\n\b"]),
    ('^["\\\\/]+$', ['"\\/']),
    ("^\\p{Lu}\\p{Ll}+$", ["Élan", "Ab"]),
    ("[\\p{Zs}A-Za-z0-9+\\.,\\-_:;()]*$", ["a b", "x\u3000"]),
    ("^(?=.*\\d)(?=.*[a-z])(?!.*\\s).{4,8}$", ["ab12", "a1b2c3d4"]),
    ("^((?!mode)(?!Mode).)*$", ["abc", "mod e", "Mod"]),
    ("^(?!^lucene\\.|builtin\\.|mongodb\\.).*", ["lucene", "xlucene."]),
    ("^(?=[^=]+$)(?!\\s+$)(.|\\n)+$", ["a b", " \n"]),
    ("^(a|b$)c?", ["a", "b", "ac", "bc"]),
    ("(^|,)x($|,)", ["x", "a,x", "x,b", "a,x,b"]),
    ("^[\\u00e9\\u{1F600}]{2}$", ["é😀"]),
    ("^\\uD83D\\uDE00$", ["😀"]),
    ("^\\D\\W\\S$", ["a b", "é\"\\"]),
    ("^[a-z-]+$", ["a-b"]),
    ("^x{2}y{1,}z{0,2}$", ["xxyz"]),
    ("^[^]*$", ["anything\n"]),
    ("^\\cJ\\0\\t$", ["\n\x00\t"]),
    ("^\\/\\.$", ["/."]),
    ("^(?:\\d+|[a-f]+)(?:-\\d+)?$", ["12-3", "abc"]),
    ("$^", [""]),
    ("^$|^a", ["", "ab"]),
    ("b|^", ["", "xyz"]),
    ("(?<year>\\d{4})-(?:0[1-9]|1[0-2])", ["2024-01"]),
    ("^[A-Z]{2,3}?\\d+?$", ["AB1"]),
    ("\\u2028|\"", ["\u2028", 'a"b']),
    ("^[\\b]$", ["\b"]),
    ("^[^\\n\"\\\\]{1,3}$", ["abc", "\t"]),
]


def _pattern_samples(pattern: str, positives: list[str], rng: random.Random) -> list[str]:
    literal = [c for c in pattern if c.isalnum() or c in " @.-,"]
    alphabet = NOISE + literal
    samples = list(positives)
    for p in positives:
        samples += mutations(rng, p, alphabet, 30)
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(7)))
                for _ in range(60)]
    return samples


@pytest.mark.skipif(NODE is None, reason="node (ECMA-262 reference engine) not installed")
def test_patterns_match_ecma_engine() -> None:
    rng = random.Random(1)
    cases = [(p, _pattern_samples(p, pos, rng)) for p, pos in PATTERNS]
    truths = ecma_search(cases)
    compared = 0
    for (pattern, samples), truth in zip(cases, truths):
        assert truth is not None, f"test pattern {pattern!r} is not valid ECMA-262 (u flag)"
        regex = string_regex({"pattern": pattern}, "/pattern")
        for s, expected in zip(samples, truth):
            assert accepts(regex, s) == expected, (pattern, s, expected, regex)
            compared += 1
    assert compared > 3000


def _same_in_python(pattern: str) -> bool:
    """Patterns Python re compiles and reads like ECMA on ASCII text without line breaks."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return not re.search(r"\\[spc0]|\\u\{", pattern)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab0_-. @xyzAB") + ["1"]), max_size=8),
       st.sampled_from([p for p, _ in PATTERNS if _same_in_python(p)]))
def test_patterns_agree_with_jsonschema_on_ascii(s: str, pattern: str) -> None:
    """On ASCII strings without line breaks Python re and ECMA agree: compare with jsonschema."""
    schema = {"pattern": pattern}
    assert accepts(string_regex(schema, ""), s) == valid(schema, s)


@pytest.mark.parametrize("pattern,construct", [
    ("(a)\\1", "backreference"), ("(?<=a)b", "lookbehind"), ("\\bfoo", "word boundary"),
    ("a(?=b)", "lookahead"), ("(?:^a)+", "anchor"), ("(?P<x>a)", "valid ECMA")])
def test_untranslatable_constructs_are_reported(pattern: str, construct: str) -> None:
    with pytest.raises(UnsupportedKeyword) as info:
        string_regex({"pattern": pattern}, "/properties/p")
    assert info.value.pointer == "/properties/p/pattern" and construct in info.value.detail
    regex, issues = string_regex_with_issues({"pattern": pattern}, "/p", approximate=True)
    assert issues and issues[0].status == "approximated"
    # the approximation never rejects a value the pattern accepts (Python re as the oracle)
    rng = random.Random(2)
    for s in mutations(rng, "ab foo ba", list("abfo "), 200):
        try:
            if re.search(pattern, s):
                assert accepts(regex, s), (pattern, s)
        except re.error:
            break


# --------------------------------------------------------------------- formats

def _date_like(rng: random.Random) -> str:
    year = rng.choice(["0000", "0001", "0004", "1900", "2000", "2023", "2024", "2100", "9999"])
    month = f"{rng.randrange(0, 14):02d}"
    day = f"{rng.choice([0, 1, 9, 28, 29, 30, 31, 32]):02d}"
    return f"{year}-{month}-{day}"


def _time_like(rng: random.Random) -> str:
    h, m, s = rng.choice([0, 9, 23, 24]), rng.choice([0, 59, 60]), rng.choice([0, 59, 60, 61])
    frac = rng.choice(["", ".5", ".123456789", "."])
    zone = rng.choice(["Z", "z", "+05:30", "-23:59", "+24:00", "+05:60", "", "+0530"])
    return f"{h:02d}:{m:02d}:{s:02d}{frac}{zone}" + rng.choice(["", "", "\n", " "])


def _ipv6_like(rng: random.Random) -> str:
    groups = [rng.choice(["0", "ffff", "12345", "", "a", "00000"[: rng.randrange(1, 5)]])
              for _ in range(rng.randrange(1, 10))]
    text = ":".join(groups)
    if rng.random() < 0.3:
        text += rng.choice([":1.2.3.4", ":01.2.3.4", ":256.0.0.1", "1.2.3.4"])
    if rng.random() < 0.5:
        i = rng.randrange(len(text) + 1)
        text = text[:i] + "::" + text[i:]
    return text


def _uri_like(rng: random.Random) -> str:
    pieces = ["http", "urn", "a+b", "1x", ":", "//", "/", "?", "#", "@", "user:pw@", "[::1]",
              "[v1.x]", "[1.2.3.4]", "example.com", ":8080", ":", "%20", "%2", "%zz", "a b",
              "~", "!$&'()*+,;=", "[", "]", "\\", "é", "\n", "..", "x", "[::ffff:01.2.3.4]"]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(6)))


def _uuid_like(rng: random.Random) -> str:
    alphabet = rng.choice(["0aF9", "0aF9", "0aF9g"])
    shape = rng.choice([(8, 4, 4, 4, 12), (8, 4, 4, 4, 12), (8, 4, 4, 4, 11), (32,), (8, 4, 4, 16)])
    return "-".join("".join(rng.choice(alphabet) for _ in range(n)) for n in shape)


def _hostname_like(rng: random.Random) -> str:
    label_chars = list("ab-9Z") + ["ſ", "ı", "\u212a", "٣", "é", "_", "İ"]
    labels = ["".join(rng.choice(label_chars) for _ in range(rng.choice([1, 2, 3, 62, 63, 64])))
              for _ in range(rng.randrange(1, 6))]
    return ".".join(labels) + rng.choice(["", "", ".", "\n", ".."])


def _long_hostname(rng: random.Random) -> str:
    n = rng.choice([252, 253, 254, 255])
    labels, size = [], 0
    while size < n:
        k = min(63, n - size)
        labels.append("a" * k)
        size += k + 1
    name = ".".join(labels)[:n].rstrip(".-")
    return name + rng.choice(["", "."])


GENERATORS = {
    "date": lambda r: _date_like(r),
    "date-time": lambda r: _date_like(r) + r.choice(["T", "t", " "]) + _time_like(r),
    "time": _time_like,
    "ipv4": lambda r: ".".join(r.choice(["0", "00", "01", "9", "10", "99", "100", "199", "200",
                                         "249", "250", "255", "256", "300", "1000", "", "٣"])
                               for _ in range(r.choice([3, 4, 4, 4, 5]))),
    "ipv6": _ipv6_like,
    "uri": _uri_like,
    "uri-reference": _uri_like,
    "hostname": lambda r: _hostname_like(r) if r.random() < 0.8 else _long_hostname(r),
    "email": lambda r: "".join(r.choice(["a", "@", '"', " ", "\n", "é"])
                               for _ in range(r.randrange(5))),
    "json-pointer": lambda r: "".join(r.choice(["/", "~0", "~1", "~", "~2", "a", "é", "\n"])
                                      for _ in range(r.randrange(6))),
    "relative-json-pointer": lambda r: r.choice(["0", "1", "10", "01", "", "٣"])
    + "".join(r.choice(["/", "~0", "~", "#", "a"]) for _ in range(r.randrange(4))),
    "uuid": _uuid_like,
    "duration": lambda r: r.choice(["P", "-P", "PT", "p"]) + "".join(
        r.choice(["1Y", "2M", "3W", "4D", "T", "5H", "6M", "7S", "1.5S", "8"])
        for _ in range(r.randrange(4))),
}
NARROWED = {"uuid", "duration", "relative-json-pointer"}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_format_regex_vs_jsonschema_checker(name: str) -> None:
    rng = random.Random(name)
    regex, issues = string_regex_with_issues({"format": name}, "/f")
    assert (name in NARROWED) == any(i.status == "narrowed" for i in issues)
    samples = [GENERATORS[name](rng) for _ in range(1500)]
    positives = [s for s in samples if valid({"format": name}, s)]
    samples += [m for s in positives[:100] for m in mutations(rng, s, NOISE, 5)]
    agree = mismatched = 0
    for s in samples:
        ours, truth = accepts(regex, s), valid({"format": name}, s)
        if name in NARROWED:
            assert truth or not ours, (name, s)   # never accept what the checker rejects
            agree += ours == truth
        else:
            assert ours == truth, (name, s)
            agree += 1
        mismatched += ours != truth
    assert sum(accepts(regex, s) for s in samples) >= 20, "too few positive samples"
    assert agree > len(samples) // 2


def test_unknown_and_unsupported_formats() -> None:
    regex, issues = string_regex_with_issues({"format": "int32"}, "/f")
    assert regex == ANY_STRING and issues[0].status == "ignored"
    with pytest.raises(UnsupportedKeyword):
        string_regex({"format": "regex"}, "/f")
    assert string_regex({"format": "regex"}, "/f", approximate=True) == ANY_STRING


# --------------------------------------------------------------------- combinations

COMBOS = [
    {"pattern": "^[a-z]+\\d*$", "minLength": 2, "maxLength": 4},
    {"pattern": "b", "minLength": 3},
    {"format": "date", "pattern": "^2024"},
    {"format": "email", "maxLength": 5},
    {"format": "ipv4", "pattern": "\\.1$", "minLength": 9},
    {"pattern": "^(?!ab)[a-c]*$", "maxLength": 3},
    {"enum": ["a", "b\n", 'q"', "long-string", 3, None], "maxLength": 4},
    {"const": "2024-02-29", "format": "date"},
    {"const": "2023-02-29", "format": "date"},
]


@pytest.mark.skipif(NODE is None, reason="node (ECMA-262 reference engine) not installed")
@pytest.mark.parametrize("schema", COMBOS)
def test_combined_keywords_vs_jsonschema(schema: dict) -> None:
    """Truth: jsonschema for every keyword but ``pattern``, which node decides (ECMA)."""
    rng = random.Random(json.dumps(schema))
    regex = string_regex(schema, "")
    seeds = ["ab1", "abc", "a", "b", "bbb", "2024-02-29", "2024-01-01", "2023-01-01",
             "a@b", "a@bcd", "10.0.0.1", "1.2.3.1", "ca", "abc", "b\n", 'q"', "long-string"]
    samples = seeds + [m for s in seeds for m in mutations(rng, s, NOISE + list("abc.1@-"), 30)]
    rest = {k: v for k, v in schema.items() if k != "pattern"}
    pattern_ok = ecma_search([(schema["pattern"], samples)])[0] if "pattern" in schema \
        else [True] * len(samples)
    for s, ok in zip(samples, pattern_ok):
        assert accepts(regex, s) == (ok and valid(rest, s)), (schema, s, regex)


# --------------------------------------------------------------------- dev set

def _walk(node, found: list) -> None:
    if isinstance(node, dict):
        for key in ("pattern", "format"):
            if isinstance(node.get(key), str):
                found.append((key, node[key]))
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


@pytest.mark.skipif(not (DATA / "jsonschemabench" / "dev.jsonl.gz").exists(),
                    reason="dev set not present")
def test_every_dev_set_pattern_and_format_translates_or_is_reported() -> None:
    found: list = []
    with gzip.open(DATA / "jsonschemabench" / "dev.jsonl.gz", "rt") as f:
        for line in f:
            _walk(json.loads(line)["schema"], found)
    for key, value in dict.fromkeys(found):
        regex, _ = string_regex_with_issues({key: value}, "/x", approximate=True)
        re.compile(regex)


def test_body_regexes_parse_with_interegular() -> None:
    """The lookahead-free parts (bodies, lookahead contents) are plain regexes."""
    bodies = [formats.format_regex(n, "").body for n in formats.known_formats()
              if n != "uri-reference"]  # = uri + relative-ref pieces; slow in interegular
    for p, _ in PATTERNS[:12]:
        t = ecma_regex.translate(p, "")
        bodies.append(t.body)
        bodies += [la[3:-1] for la in t.lookaheads]
    for body in bodies:
        interegular.parse_pattern(body).to_fsm()


@pytest.mark.parametrize("schema", [{}, {"enum": ["a", "b"]}, {"const": "x", "maxLength": 0},
                                    {"pattern": "^(?=a)"}, {"format": "hostname"}])
def test_string_terminals_start_and_end_with_a_quote(schema: dict) -> None:
    """Callers split ``"`` + top-level lookaheads + body + ``"``."""
    regex = string_regex(schema, "")
    assert regex.startswith('"') and regex.endswith('"')
