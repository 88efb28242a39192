"""Long counted strings as chunk chains vs independent truth.

Truth: the ``jsonschema`` validator. Acceptors: the compiled grammar replayed token by token
with ``GrammarMatcher`` (gpt2 tokenizer; the next token must also be in the mask), and Lark's
Earley parser on the grammar text. Small chunk sizes (monkeypatched) make every chunk boundary
reachable with short strings; the real sizes are checked around 300, 4096 and 32767 units.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest
import torch
from jsonschema import Draft202012Validator

from grammar_decode import GrammarMatcher
from grammar_decode.schema import chunks
from grammar_decode.schema.api import canonical_json, compile_json_schema, json_schema_to_grammar
from grammar_decode.schema.check_dev import lark_acceptor
from grammar_decode.schema.ecma_regex import class_repetition
from test_schema_grammar import lark_accepts

C = chunks.CHUNK
PIECES = ["a", "Z", "é", "😀", "\n", "\u0001", '"', "\\", "/", " "]


@pytest.fixture(scope="module")
def gpt2(packaged_tokenizer):
    return packaged_tokenizer("gpt2")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 3 units, used for every count above 4."""
    monkeypatch.setattr(chunks, "CHUNK", 3)
    monkeypatch.setattr(chunks, "CHUNK_ABOVE", 4)
    return 3


def validator_for(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def text_of(rng: random.Random, n: int, pieces: list[str] = PIECES) -> str:
    return "".join(rng.choice(pieces) for _ in range(n))


def matcher_accepts(compiled, tokenizer, text: str, check_mask: bool = False) -> bool:
    """Replay ``text`` token by token; with ``check_mask`` every token must be in the mask
    exactly when it is accepted."""
    m = GrammarMatcher(compiled)
    mask = torch.zeros(compiled.vocab.size, dtype=torch.bool)
    for t in tokenizer.encode(text, add_special_tokens=False):
        if check_mask:
            m.fill_mask(mask)
            allowed = bool(mask[t])
        ok = m.accept_token(t)
        if check_mask:
            assert ok == allowed, f"mask and accept_token disagree at token {t} of {text!r}"
        if not ok:
            return False
    return m.is_accepting()


def chunked(grammar_text: str) -> bool:
    return re.search(r"^C\d+:", grammar_text, re.M) is not None


def around(*points: int) -> list[int]:
    return sorted({n for p in points for n in (p - 1, p, p + 1) if n >= 0})


# --------------------------------------------------------------------- the chain itself

def chain_counts(lo: int, hi: int | None, size: int, max_chunks: int) -> list[int]:
    """Every unit count that chain_grammar derives with at most ``max_chunks`` full chunks
    (brute-force expansion), checking the shape of each terminal sequence on the way."""
    top, rules = chunks.chain_grammar(lo, hi, size)
    counts: list[int] = []

    def expand(todo: tuple, done: tuple) -> None:
        if sum(t[0] == "full" for t in done) > max_chunks:
            return
        if not todo:
            *fulls, end = done
            assert end[0] == "last" and all(t[0] == "full" for t in fulls)
            assert [t[1] for t in done] == [True] + [False] * len(fulls)  # quote on the first
            assert 0 <= end[2] <= end[3] < size
            counts.extend(len(fulls) * size + r for r in range(end[2], end[3] + 1))
            return
        sym, rest = todo[0], todo[1:]
        if sym[0] in ("full", "last"):
            expand(rest, done + (sym,))
        else:
            for option in rules[sym]:
                expand(option + rest, done)

    for option in top:
        expand(option, ())
    return counts


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_chain_grammar_counts_exactly_the_bounds(size: int) -> None:
    """Brute force: the chains derive exactly the counts lo..hi, each in one way."""
    for lo in range(0, 14):
        for hi in [None, *range(lo, 19)]:
            counts = chain_counts(lo, hi, size, max_chunks=6)
            want = [k for k in range(lo, 7 * size) if hi is None or k <= hi]
            assert sorted(counts) == want, (lo, hi)


def test_chain_grammar_is_logarithmic() -> None:
    _, rules = chunks.chain_grammar(0, 32767, 32)
    assert len(rules) < 40
    assert chain_counts(1000, 1100, 32, max_chunks=40) == list(range(1000, 1101))


def test_unsatisfiable_chain_is_an_error() -> None:
    with pytest.raises(ValueError):
        chunks.chain_grammar(5, 4, 3)


# --------------------------------------------------------------------- small chunks, exhaustive

BOUNDS = [(0, 5), (0, 6), (1, 7), (2, 9), (3, 3), (4, 12), (5, None), (7, None), (6, 6),
          (0, None)]


@pytest.mark.parametrize("lo,hi", BOUNDS)
def test_small_chunks_agree_with_jsonschema(small_chunks, gpt2, lo: int, hi: int | None) -> None:
    schema = {"type": "string", "minLength": lo}
    if hi is not None:
        schema["maxLength"] = hi
    validator = validator_for(schema)
    text = json_schema_to_grammar(schema)
    assert chunked(text) == chunks.worth_chunking(lo, hi)
    parser = lark_acceptor(text)
    compiled = compile_json_schema(schema, gpt2)
    rng = random.Random(lo * 100 + (hi or 99))
    for n in range(0, 15):
        for k in range(3):
            s = text_of(rng, n)
            doc = canonical_json(s, schema)
            truth = validator.is_valid(s)
            assert lark_accepts(parser, doc) == truth, (s, truth)
            assert matcher_accepts(compiled, gpt2, doc, check_mask=k == 0) == truth, (s, truth)


def test_small_chunks_with_a_class_pattern(small_chunks, gpt2) -> None:
    """(No newline in the values: Python's ``$``, which jsonschema uses, also matches before a
    final newline; ECMA-262's does not.)"""
    schema = {"type": "string", "pattern": "^[a-c0-9]+$", "maxLength": 10}
    validator = validator_for(schema)
    assert chunked(json_schema_to_grammar(schema))
    parser = lark_acceptor(json_schema_to_grammar(schema))
    compiled = compile_json_schema(schema, gpt2)
    for n in range(0, 13):
        for pieces in (["a", "b", "7"], ["a", "b", "d"], ["a", "\u0001"], ["c", "é", '"']):
            for s in {"".join(p) for p in itertools.islice(itertools.product(pieces, repeat=n), 5)}:
                doc = canonical_json(s, schema)
                truth = validator.is_valid(s)
                assert lark_accepts(parser, doc) == truth, s
                assert matcher_accepts(compiled, gpt2, doc) == truth, s


def test_small_chunks_inside_objects_and_flexible_whitespace(small_chunks, gpt2) -> None:
    schema = {"type": "object", "properties": {
        "s": {"type": "string"},  # a counted string that stays one terminal
        "a": {"type": "string", "maxLength": 7}, "b": {"type": "string", "minLength": 5},
        "c": {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 8}}},
        "required": ["a"], "additionalProperties": False}
    validator = validator_for(schema)
    rng = random.Random(3)
    docs = []
    for _ in range(60):
        doc = {"s": text_of(rng, rng.randrange(6)), "a": text_of(rng, rng.randrange(10))}
        if rng.random() < 0.6:
            doc["b"] = text_of(rng, rng.randrange(10))
        if rng.random() < 0.6:
            doc["c"] = [text_of(rng, rng.randrange(11)) for _ in range(rng.randrange(4))]
        docs.append(doc)
    compiled = compile_json_schema(schema, gpt2)
    flexible = lark_acceptor(json_schema_to_grammar(schema, whitespace="flexible"))
    for doc in docs:
        text = canonical_json(doc, schema)
        truth = validator.is_valid(doc)
        assert matcher_accepts(compiled, gpt2, text) == truth, doc
        spaced = text.replace('":', '" :\n  ').replace(",", " ,")
        assert lark_accepts(flexible, spaced) == truth, spaced


# --------------------------------------------------------------------- real chunk size

LIMITS = [(0, 0), (0, 1), (0, C - 1), (0, C), (0, C + 1), (0, 2 * C), (0, 300), (0, 4096),
          (C + 1, None), (2 * C, 300), (300, None), (150, 4096)]


@pytest.mark.parametrize("lo,hi", LIMITS)
def test_real_chunks_agree_with_jsonschema(gpt2, lo: int, hi: int | None) -> None:
    schema: dict = {"type": "string"}
    if lo:
        schema["minLength"] = lo
    if hi is not None:
        schema["maxLength"] = hi
    validator = validator_for(schema)
    compiled = compile_json_schema(schema, gpt2)
    parser = lark_acceptor(json_schema_to_grammar(schema))
    rng = random.Random(lo + 7 * (hi or 0))
    lengths = around(lo, C, 2 * C, 3 * C, *([hi] if hi is not None else [lo + 2 * C]))
    for n in lengths:
        for pieces in (["a", "b", " "], PIECES):
            s = text_of(rng, n, pieces)
            doc = canonical_json(s, schema)
            truth = validator.is_valid(s)
            assert lark_accepts(parser, doc) == truth, (n, truth)
            assert matcher_accepts(compiled, gpt2, doc, check_mask=n == lo) == truth, (n, truth)


def test_several_long_strings_in_one_object(gpt2) -> None:
    """Chains of different bounds share rules; whole and chunked strings side by side."""
    schema = {"type": "object", "properties": {
        "t": {"type": "string", "maxLength": 128}, "s": {"type": "string"},
        "m": {"type": "string", "maxLength": 40}, "u": {"type": "string", "maxLength": 4096},
        "v": {"type": "string", "minLength": 100, "maxLength": 1000}}}
    validator = validator_for(schema)
    compiled = compile_json_schema(schema, gpt2)
    parser = lark_acceptor(json_schema_to_grammar(schema))
    rng = random.Random(17)
    for n in around(0, 40, 100, 128, 138, 300, 1000):
        doc = {key: text_of(rng, n) for key in schema["properties"]}
        for key in schema["properties"]:
            one = {key: doc[key]}
            text = canonical_json(one, schema)
            truth = validator.is_valid(one)
            assert lark_accepts(parser, text) == truth, (key, n)
            assert matcher_accepts(compiled, gpt2, text) == truth, (key, n)


def test_maxlength_32767(gpt2) -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 32767}},
              "additionalProperties": False}
    validator = validator_for(schema)
    compiled = compile_json_schema(schema, gpt2)
    rng = random.Random(5)
    for n in (0, 1, C, 32766, 32767, 32768):
        doc = {"note": text_of(rng, n, ["ab", "c", "é", "\n", '"'])[:n]}
        assert matcher_accepts(compiled, gpt2, canonical_json(doc, schema)) == validator.is_valid(doc)


# --------------------------------------------------------------------- longest-match conflicts

def union(other_values: dict) -> dict:
    """After `{"a":` both branches continue: "a" (chunked when long) or any other key with
    ``other_values``; only the first branch allows "n" to be an integer."""
    return {"anyOf": [
        {"type": "object", "properties": {"a": {"type": "string", "maxLength": 8},
                                          "n": {"type": "integer"}},
         "required": ["a", "n"], "additionalProperties": False},
        {"type": "object", "properties": {"b": {"type": "boolean"}},
         "additionalProperties": other_values}]}


ANY_STRING_UNION = union({"type": "string"})         # conflict solved by chunking both sides
PATTERN_UNION = union({"type": "string", "pattern": "x"})  # solved by keeping "a" whole
UNION_DOCS = [{"a": "x" * k, "n": 1} for k in range(12)] + \
             [{"a": "x" * k, "n": "y"} for k in range(12)] + [{"b": True, "a": "x" * 9}]


@pytest.mark.parametrize("schema,chunked_here", [(ANY_STRING_UNION, True), (PATTERN_UNION, False)])
def test_union_branches_that_share_a_key(small_chunks, gpt2, schema, chunked_here) -> None:
    assert chunked(json_schema_to_grammar(schema)) == chunked_here
    validator = validator_for(schema)
    compiled = compile_json_schema(schema, gpt2)
    parser = lark_acceptor(json_schema_to_grammar(schema))
    for doc in UNION_DOCS:
        text = canonical_json(doc, schema)
        assert lark_accepts(parser, text) == validator.is_valid(doc), doc
        assert matcher_accepts(compiled, gpt2, text) == validator.is_valid(doc), doc


def test_union_conflict_is_real(small_chunks, gpt2, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without choose_chunked (only the long strings chunked), the whole-string terminal of
    the second branch wins the longest match and a valid document is rejected."""
    monkeypatch.setattr(chunks, "choose_chunked",
                        lambda rules, groups, counted, wanted, long: wanted)
    compiled = compile_json_schema(ANY_STRING_UNION, gpt2)
    doc = {"a": "x" * 5, "n": 1}
    assert validator_for(ANY_STRING_UNION).is_valid(doc)
    assert not matcher_accepts(compiled, gpt2, canonical_json(doc, ANY_STRING_UNION))


def test_scalar_unions_and_disjoint_objects_stay_chunked(small_chunks) -> None:
    same_value = {"anyOf": [{"type": "string", "maxLength": 9}, {"type": "string", "format": "email"}]}
    disjoint = {"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 9}, "b": {"type": "string", "pattern": "x"}}}
    for schema in (same_value, disjoint):
        assert chunked(json_schema_to_grammar(schema))


@pytest.mark.parametrize("schema,chunked_here", [
    ({"anyOf": [{"type": "string", "maxLength": 9}, {"type": "string", "format": "email"}]}, True),
    ({"type": "array", "items": {"type": "string", "maxLength": 9},
      "contains": {"pattern": "@"}, "maxContains": 1}, False),
    ({"type": "array", "items": {"type": "string", "maxLength": 9},
      "contains": {"minLength": 7}, "minContains": 2}, True),
    ({"type": "array", "items": {"type": "string", "maxLength": 9},
      "contains": {"format": "email"}, "minContains": 2}, False)])
def test_unions_and_contains_agree_with_jsonschema(small_chunks, gpt2, schema, chunked_here) -> None:
    assert chunked(json_schema_to_grammar(schema)) == chunked_here
    validator = validator_for(schema)
    compiled = compile_json_schema(schema, gpt2)
    rng = random.Random(11)
    pieces = ["x", "@", "é", '"']
    docs: list = [text_of(rng, n, pieces) for n in range(13) for _ in range(2)]
    docs += [[text_of(rng, rng.randrange(12), pieces) for _ in range(rng.randrange(4))]
             for _ in range(80)]
    for i, doc in enumerate(docs):
        if isinstance(doc, list) != (schema.get("type") == "array"):
            continue
        text = canonical_json(doc, schema)
        accepted = matcher_accepts(compiled, gpt2, text, check_mask=i % 4 == 0)
        assert accepted == validator.is_valid(doc), doc


# --------------------------------------------------------------------- pattern detection

def test_class_repetition_detects_only_anchored_class_repetitions() -> None:
    assert class_repetition("^[a-z0-9]*$") == (((48, 57), (97, 122)), 0, None)
    assert class_repetition("^(?:[ab]){2,5}$") == (((97, 98),), 2, 5)
    assert class_repetition("^x$") == (((120, 120),), 1, 1)
    for other in ("[a-z]*", "^[a-z]*", "^(ab)*$", "^[a-z]*$|^b$", "^$", "^[a-z"):
        assert class_repetition(other) is None, other
