"""JSON Schema -> Lark grammar: per-keyword agreement with the `jsonschema` validator.

Acceptor: Lark's own Earley parser on `canonical_json(instance, schema)`; truth: `jsonschema`
(right draft, formats checked). Hand-written near-miss documents and brute-force enumeration of
small JSON universes check that nothing valid is rejected and nothing invalid accepted.
"""

from __future__ import annotations

import itertools

import pytest
from lark.exceptions import LarkError

from grammar_decode.errors import InvalidSchemaError, UnsupportedSchemaError
from grammar_decode.schema.api import (analyze_schema, canonical_json,
                                       json_schema_to_grammar,
                                       json_schema_to_grammar_with_report)
from grammar_decode.schema.check_dev import lark_acceptor
from grammar_decode.schema.drafts import detect_draft, make_validator


def _parser(schema, **kw):
    return lark_acceptor(json_schema_to_grammar(schema, **kw))


def lark_accepts(parser, text: str) -> bool:
    """Whether a Lark parser accepts the whole text."""
    try:
        parser.parse(text)
        return True
    except LarkError:
        return False


def assert_agrees(schema, docs, *, strict=True):
    """Grammar accepts canonical_json(doc) iff jsonschema validates doc, for every doc."""
    parser = _parser(schema, strict=strict)
    validator = make_validator(schema, detect_draft(schema))
    wrong = [(d, validator.is_valid(d)) for d in docs
             if lark_accepts(parser, canonical_json(d, schema)) != validator.is_valid(d)]
    assert not wrong, f"disagreements (doc, jsonschema verdict): {wrong}"
    assert any(validator.is_valid(d) for d in docs) and not all(validator.is_valid(d) for d in docs)


SMALL = [None, True, False, 0, 2, 1.5, "a", "bb", [], {}]


def arrays(max_len=3, values=(True, False, None, 0, "a")):
    return [list(t) for n in range(max_len + 1) for t in itertools.product(values, repeat=n)]


def objects(keys=("a", "b", "x"), values=(1, "s", None)):
    out = []
    for n in range(len(keys) + 1):
        for ks in itertools.permutations(keys, n):
            for vs in itertools.product(values, repeat=n):
                out.append(dict(zip(ks, vs)))
    return out


CASES = {
    "type-list": ({"type": ["string", "null"]}, SMALL),
    "boolean-subschemas": ({"properties": {"a": False, "b": True}}, objects() + SMALL),
    "enum-mixed": ({"enum": [1, "a", None, [1, 2], {"k": 1}]}, SMALL + [[1, 2], {"k": 1}, {"k": 2}, 1.0]),
    "const-object": ({"const": {"b": 1, "a": [True]}}, [{"b": 1, "a": [True]}, {"a": [True], "b": 1}, {"b": 1}]),
    "enum-filtered-by-type": ({"type": "string", "enum": ["a", 1, "b"]}, ["a", "b", 1, "c"]),
    "required-optional-commas": ({"type": "object", "properties": {"a": {}, "b": {"type": "integer"}, "x": {}},
                                  "required": ["b"], "additionalProperties": False}, objects()),
    "additional-schema": ({"type": "object", "properties": {"a": {"type": "integer"}},
                           "additionalProperties": {"type": "string"}}, objects()),
    "min-max-properties": ({"type": "object", "properties": {"a": {}}, "minProperties": 1,
                            "maxProperties": 2}, objects()),
    "pattern-properties": ({"type": "object", "patternProperties": {"^a": {"type": "integer"},
                                                                    "b$": {"type": "string"}},
                            "additionalProperties": False},
                           objects(("a", "ab", "b", "x"), (1, "s"))),
    "property-names": ({"type": "object", "propertyNames": {"enum": ["a", "b"]}}, objects()),
    "property-names-pattern": ({"type": "object", "propertyNames": {"pattern": "^[ab]"},
                                "properties": {"x": {}}}, objects()),
    "dependent-required": ({"type": "object", "dependentRequired": {"a": ["b"]}}, objects()),
    "dependencies-draft7": ({"$schema": "http://json-schema.org/draft-07/schema#",
                             "dependencies": {"a": ["x"], "b": {"required": ["a"]}}}, objects()),
    "items-min-max": ({"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2}, arrays()),
    "prefix-items": ({"type": "array", "prefixItems": [{"type": "null"}, {"type": "boolean"}],
                      "items": False}, arrays()),
    "tuple-draft7": ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
                      "items": [{"type": "boolean"}], "additionalItems": {"type": "string"}}, arrays()),
    "contains-min-max": ({"type": "array", "contains": {"type": "boolean"}, "minContains": 1,
                          "maxContains": 2}, arrays()),
    "unique-finite": ({"type": "array", "items": {"enum": [True, False, None]}, "uniqueItems": True},
                      arrays(3, (True, False, None))),
    "allOf-merge": ({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                               {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}, objects()),
    "anyOf-distributed": ({"type": "object", "properties": {"x": {}},
                           "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, objects()),
    "oneOf-discriminator": ({"oneOf": [
        {"type": "object", "properties": {"x": {"const": 1}, "a": {"type": "string"}}, "required": ["x"]},
        {"type": "object", "properties": {"x": {"const": "s"}}, "required": ["x", "b"]}]}, objects()),
    "oneOf-overlapping-made-exclusive": ({"type": "object", "oneOf": [{"required": ["a"]},
                                                                      {"required": ["b"]}]}, objects()),
    "not-type-const": ({"not": {"type": "string"}}, SMALL),
    "not-const-string": ({"type": "string", "not": {"enum": ["a", "b"]}}, ["a", "b", "bb", "", 1]),
    "not-required": ({"type": "object", "not": {"required": ["a"]}}, objects()),
    "if-then-else": ({"type": "object", "properties": {"a": {"type": "integer"}}, "if": {"properties": {"a": {"const": 1}}, "required": ["a"]},
                      "then": {"required": ["b"]}, "else": {"required": ["x"]}}, objects()),
    "ref-defs-recursive": ({"$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"},
                                               "maxItems": 2}}, "$ref": "#/$defs/node"},
                           [[], [[]], [[], []], [[], [], []], [[[[]]]], [1], [[1]]]),
    "ref-pointer-escapes": ({"definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"},
                                             "e f": {"type": "null"}},
                             "anyOf": [{"$ref": "#/definitions/a~1b"}, {"$ref": "#/definitions/c~0d"},
                                       {"$ref": "#/definitions/e%20f"}]}, SMALL),
    "anchor-and-id": ({"$id": "https://example.com/root.json",
                       "$defs": {"s": {"$anchor": "str", "type": "string"},
                                 "i": {"$id": "int.json", "type": "integer"}},
                       "type": "array", "prefixItems": [{"$ref": "#str"}, {"$ref": "int.json"}]},
                      arrays(2, ("a", 1, None))),
    "dynamic-ref-tree": ({"$dynamicAnchor": "node", "type": "object",
                          "properties": {"kids": {"type": "array", "items": {"$dynamicRef": "#node"}}},
                          "additionalProperties": False},
                         [{}, {"kids": []}, {"kids": [{}]}, {"kids": [{"kids": [{}]}]}, {"kids": [1]}, {"x": 1}]),
    "draft4-exclusive": ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                          "properties": {"s": {"type": "string", "maxLength": 2}}, "required": ["s"]},
                         [{"s": "ab"}, {"s": "abc"}, {}, {"s": 1}]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_keyword_agrees_with_jsonschema(name):
    schema, docs = CASES[name]
    assert_agrees(schema, docs)


@pytest.mark.parametrize("schema", [True, False, {}])
def test_boolean_root_schemas(schema):
    parser = _parser(schema)
    for doc in SMALL + [{"a": [1, {"b": None}]}]:
        assert lark_accepts(parser, canonical_json(doc, schema)) == (schema is not False)


def test_canonical_json_orders_keys_and_numbers():
    schema = {"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "number"}}}
    assert canonical_json({"z": "é", "a": 1e-07, "b": 3.0}, schema) == '{"b":3,"a":1e-07,"z":"é"}'
    assert canonical_json({"a": 1.5}, {"allOf": [{"$ref": "#/$defs/x"}], "$defs": {"x": schema}}) == '{"a":1.5}'


def test_flexible_whitespace_accepts_pretty_printed_json_only_boundedly():
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}}
    parser = _parser(schema, whitespace="flexible")
    assert lark_accepts(parser, '{\n  "a": [\n    1,\n    2\n  ]\n}\n')
    assert not lark_accepts(parser, '{"a":' + " " * 50 + "[]}")
    assert not lark_accepts(parser, '{"a": [1, "x"]}')


def test_strict_mode_lists_every_inexact_keyword_with_pointers():
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "(a)\\1"},
                                               "b": {"type": "array", "uniqueItems": True}}}
    with pytest.raises(UnsupportedSchemaError) as err:
        json_schema_to_grammar(schema)
    pointers = {(i.pointer, i.keyword) for i in err.value.issues}
    assert ("/properties/b", "uniqueItems") in pointers
    assert any(p.startswith("/properties/a") and k == "pattern" for p, k in pointers)
    text, issues = json_schema_to_grammar_with_report(schema, strict=False)
    assert text.startswith("start:") and len(issues) == len(err.value.issues)


def test_invalid_schema_names_pointer():
    with pytest.raises(InvalidSchemaError) as err:
        json_schema_to_grammar({"properties": {"a": {"type": "strin"}}})
    assert err.value.pointer.startswith("/properties/a")


def test_analyze_schema_classifies_every_keyword():
    schema = {"type": "object", "title": "t", "x-vendor": 1,
              "properties": {"a": {"type": "array", "uniqueItems": True}}}
    report = analyze_schema(schema)
    status = {(e.pointer, e.keyword): e.status for e in report.entries}
    assert status == {("", "type"): "exact", ("", "title"): "annotation", ("", "x-vendor"): "unknown",
                      ("", "properties"): "exact", ("/properties/a", "type"): "exact",
                      ("/properties/a", "uniqueItems"): "approximated"}
    assert not report.exact


def test_shared_subschemas_share_one_rule():
    item = {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}
    text = json_schema_to_grammar({"type": "object", "properties": {"a": item, "b": dict(item)}})
    assert text.count('"k"') == 1 or text.count("/\\x22k\\x22/") == 1


def test_keywords_outside_the_draft_are_ignored_like_the_validator_does():
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"a": {"const": 1}}, "if": {"required": ["a"]}, "then": {"required": ["b"]}}
    assert_agrees(schema, [{"a": 2}, {"a": 1}, {"a": "x"}, {"a": 1, "b": 1}, [], 3])
    status = {(e.pointer, e.keyword): e.status for e in analyze_schema(schema).entries}
    assert status[("/properties/a", "const")] == status[("", "if")] == "unknown"


def test_same_content_different_property_order_keeps_each_order():
    schema = {"type": "object", "properties": {
        "p": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}}},
        "q": {"type": "object", "properties": {"y": {"type": "string"}, "x": {"type": "string"}}}}}
    assert_agrees(schema, [{"p": {"x": "1", "y": "2"}, "q": {"x": "1", "y": "2"}}, {"p": {"x": 1}}])


def test_unsatisfiable_numbers_and_strings_drop_out():
    schema = {"anyOf": [{"type": "integer", "minimum": 5, "maximum": 3},
                        {"type": "string", "minLength": 3, "maxLength": 1}, {"type": "null"}]}
    assert_agrees(schema, [None, 4, 5, "", "abc"])


def test_oneof_made_exclusive_in_draft4_negates_items_only_when_expressible():
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "oneOf": [
        {"required": ["a"]}, {"properties": {"b": {"type": "array", "items": {"type": "integer"}}},
                              "required": ["b"]}]}
    docs = [{"a": 1}, {"b": [1]}, {"a": 1, "b": [1]}, {"a": 1, "b": ["x"]}, {"b": ["x"]}, {}]
    text, issues = json_schema_to_grammar_with_report(schema, strict=False)
    validator = make_validator(schema, "4")
    parser = lark_acceptor(text)
    for d in docs:  # exact if no issue, else only over-approximation
        accepted = lark_accepts(parser, canonical_json(d, schema))
        assert accepted == validator.is_valid(d) or (issues and accepted)
