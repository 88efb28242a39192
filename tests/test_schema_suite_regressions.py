"""Regressions found with JSON-Schema-Test-Suite (draft 2020-12, 7, 4), each checked against the
`jsonschema` validator: the grammar accepts `canonical_json(doc)` iff the validator accepts doc."""

from __future__ import annotations

import pytest
from lark.exceptions import LarkError

from grammar_decode.schema.api import json_schema_to_grammar, json_schema_to_grammar_with_report
from grammar_decode.schema.check_dev import lark_acceptor
from test_schema_grammar import SMALL, arrays, assert_agrees, objects

D4 = "http://json-schema.org/draft-04/schema#"
D7 = "http://json-schema.org/draft-07/schema#"
NUMBERS = [0, 1, 1.0, 2, 2.5, -0.5, 3, 1.5, 0.0, -0.0, 1e-07, 1e16, 123.25]

CASES = {
    # count keywords given as integral numbers (minItems: 1.0 is valid JSON Schema)
    "decimal-item-counts": ({"minItems": 1.0, "maxItems": 2.0}, arrays(3, (1, "a"))),
    "decimal-property-counts": ({"minProperties": 1.0, "maxProperties": 2.0}, objects()),
    "decimal-contains-counts": ({"contains": {"const": 1}, "minContains": 2.0, "maxContains": 2.0},
                                arrays(3, (1, 1.0, 2))),
    "not-minitems-decimal": ({"type": "array", "not": {"minItems": 2.0}}, arrays(3, (1,))),
    # numbers excluded by `not` const/enum: every spelling of the value (1 and 1.0)
    "contains-const-max": ({"contains": {"const": 1}, "maxContains": 1}, arrays(3, (1, 1.0, 2, 1.5))),
    "not-enum-numbers": ({"type": "number", "not": {"enum": [1, 2.5, 1e16]}}, NUMBERS + ["a"]),
    "not-const-in-range": ({"type": "integer", "minimum": 0, "maximum": 3, "not": {"const": 3}},
                           NUMBERS),
    "if-not-const": ({"if": {"not": {"const": 1}}, "then": {"type": "number"}, "else": {"minimum": 1}},
                     NUMBERS + ["a", None]),
    # `not` integer: non-integral numbers
    "not-integer": ({"not": {"type": "integer"}}, SMALL + NUMBERS),
    "not-integer-or-boolean": ({"not": {"type": ["integer", "boolean"]}}, SMALL + NUMBERS),
    "oneOf-integer-or-minimum": ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, NUMBERS + ["a"]),
    "oneOf-negating-property-types": ({"oneOf": [
        {"properties": {"bar": {"type": "integer"}}, "required": ["bar"]},
        {"properties": {"foo": {"type": "string"}}, "required": ["foo"]}]},
        [{"bar": 2}, {"foo": "baz"}, {"foo": "baz", "bar": 2}, {"foo": 2, "bar": "quux"},
         {"bar": 2.5}, {"bar": 2.5, "foo": "x"}, {}]),
    "draft4-not-integer": ({"$schema": D4, "not": {"type": "integer"}}, SMALL + NUMBERS),
    "draft4-enum-float-equal": ({"$schema": D4, "enum": [0, 1]}, [0, 0.0, 1, 1.0, False, True, 2]),
    # base URI changes ($id beside $ref, relative $id, URN bases)
    "id-beside-ref": ({"$id": "http://example.com/a.json",
                       "properties": {"foo": {"$id": "b.json", "$defs": {"inner": {
                           "properties": {"bar": {"type": "string"}}}}, "$ref": "#/$defs/inner"}},
                       "$ref": "b.json"},
                      [{"foo": {"bar": 1}, "bar": "a"}, {"foo": {"bar": "a"}, "bar": 1},
                       {"foo": {"bar": "a"}, "bar": "a"}]),
    "relative-id-of-ref-target": ({"$id": "https://example.com/x/base.json", "$ref": "nested/foo.json",
                                   "$defs": {"foo": {"$id": "nested/foo.json", "$ref": "./bar.json"},
                                             "bar": {"$id": "nested/bar.json", "type": "number"}}},
                                  [1, "a"]),
    "urn-base-pointer": ({"$id": "urn:uuid:deadbeef-1234-00ff-ff00-4321feebdaed",
                          "properties": {"foo": {"$ref": "#/$defs/bar"}}, "$defs": {"bar": {"type": "string"}}},
                         [{"foo": "a"}, {"foo": 1}]),
    "draft7-urn-anchor": ({"$schema": D7, "$id": "urn:uuid:deadbeef-1234-ff00-00ff-4321feebdaed",
                           "properties": {"foo": {"$ref": "#something"}},
                           "definitions": {"bar": {"$id": "#something", "type": "string"}}},
                          [{"foo": "a"}, {"foo": 1}]),
    "draft7-ref-ignores-sibling-id": ({"$schema": D7, "$id": "http://localhost:1234/sibling_id/base/",
                                       "definitions": {
                                           "foo": {"$id": "http://localhost:1234/sibling_id/foo.json",
                                                   "type": "string"},
                                           "base_foo": {"$id": "foo.json", "type": "number"}},
                                       "allOf": [{"$id": "http://localhost:1234/sibling_id/",
                                                  "$ref": "foo.json"}]}, ["a", 1]),
    # $dynamicRef follows the dynamic scope
    "dynamic-ref-outermost-anchor": ({"$id": "https://example.com/root", "$ref": "list", "$defs": {
        "foo": {"$dynamicAnchor": "items", "type": "string"},
        "list": {"$id": "list", "type": "array", "items": {"$dynamicRef": "#items"},
                 "$defs": {"items": {"$dynamicAnchor": "items"}}}}}, arrays(2, ("a", 1))),
    "dynamic-ref-without-bookend": ({"$id": "https://example.com/root", "$ref": "list", "$defs": {
        "foo": {"$dynamicAnchor": "items", "type": "string"},
        "list": {"$id": "list", "type": "array", "items": {"$dynamicRef": "#items"},
                 "$defs": {"items": {"$anchor": "items", "type": "integer"}}}}}, arrays(2, ("a", 1))),
    "dynamic-ref-paths": ({"$id": "https://example.com/main",
                           "if": {"properties": {"kind": {"const": "numbers"}}, "required": ["kind"]},
                           "then": {"$ref": "numberList"}, "else": {"$ref": "stringList"},
                           "$defs": {
                               "genericList": {"$id": "genericList",
                                               "properties": {"list": {"items": {"$dynamicRef": "#t"}}},
                                               "$defs": {"d": {"$dynamicAnchor": "t"}}},
                               "numberList": {"$id": "numberList", "$ref": "genericList",
                                              "$defs": {"t": {"$dynamicAnchor": "t", "type": "number"}}},
                               "stringList": {"$id": "stringList", "$ref": "genericList",
                                              "$defs": {"t": {"$dynamicAnchor": "t", "type": "string"}}}}},
                          [{"kind": "numbers", "list": [1]}, {"kind": "numbers", "list": ["a"]},
                           {"kind": "strings", "list": ["a"]}, {"kind": "strings", "list": [1]}]),
    "dynamic-scope-left": ({"$id": "https://example.com/main",
                            "if": {"$id": "first", "$defs": {"t": {"$dynamicAnchor": "t", "type": "number"}}},
                            "then": {"$id": "second", "$ref": "start",
                                     "$defs": {"t": {"$dynamicAnchor": "t", "type": "null"}}},
                            "$defs": {"start": {"$id": "start", "$dynamicRef": "inner#t"},
                                      "t": {"$id": "inner", "$dynamicAnchor": "t", "type": "string"}}},
                           ["a", 1, None]),
    "ref-and-dynamic-ref-both-apply": ({"$defs": {"a": {"type": "integer"},
                                                  "b": {"$dynamicAnchor": "b", "minimum": 2}},
                                        "$ref": "#/$defs/a", "$dynamicRef": "#b"}, NUMBERS + ["x"]),
    "recursive-ref-2019": ({"$schema": "https://json-schema.org/draft/2019-09/schema",
                            "$id": "https://example.com/root", "$recursiveAnchor": True,
                            "type": "object", "properties": {"x": {"type": "integer"}},
                            "$ref": "tree", "$defs": {"tree": {
                                "$id": "tree", "$recursiveAnchor": True, "type": "object",
                                "properties": {"kid": {"$recursiveRef": "#"}}}}},
                           [{"kid": {"x": 1}}, {"kid": {"x": "a"}}, {"kid": {"kid": {"x": "a"}}}, {}]),
    "recursive-ref-2019-no-outer-anchor": ({"$schema": "https://json-schema.org/draft/2019-09/schema",
                                            "$id": "https://example.com/root", "type": "object",
                                            "properties": {"x": {"type": "integer"}}, "$ref": "tree",
                                            "$defs": {"tree": {
                                                "$id": "tree", "$recursiveAnchor": True, "type": "object",
                                                "properties": {"kid": {"$recursiveRef": "#"}}}}},
                                           [{"kid": {"x": "a"}}, {"x": "a"}, {"kid": 1}, {}]),
    # generator-style relative $id (Github_medium/o8478): not a resource for the validator
    "relative-id-draft6-enum": ({"$schema": "http://json-schema.org/draft-06/schema#",
                                 "type": "object", "properties": {"t": {
                                     "$id": "/properties/t", "type": "string",
                                     "enum": ["current", "rollback 1", 3]}}},
                                [{"t": "current"}, {"t": "rollback 1"}, {"t": 3}, {"t": "x"},
                                 {}]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_suite_regression_agrees_with_jsonschema(name):
    schema, docs = CASES[name]
    assert_agrees(schema, docs)


def _accepts(schema, text: str) -> bool:
    try:
        lark_acceptor(json_schema_to_grammar(schema)).parse(text)
        return True
    except LarkError:
        return False


def test_excluded_number_is_excluded_in_every_spelling_that_parses_to_it():
    schema = {"type": "number", "not": {"const": 1}}
    assert not _accepts(schema, "1.0000000000000001")  # parses to the double 1.0
    assert _accepts(schema, "1.000000000000001")


def test_non_integer_numbers_are_reported_as_narrowed():
    _, issues = json_schema_to_grammar_with_report({"not": {"type": "integer"}})
    assert [(i.keyword, i.status) for i in issues] == [("type", "narrowed")]
    assert not _accepts({"not": {"type": "integer"}}, "9.000000000000001")  # 16 digits
    assert _accepts({"not": {"type": "integer"}}, "9.00000000000001")


def test_relative_id_with_references_below_is_refused_with_its_pointer():
    from grammar_decode.errors import UnsupportedSchemaError

    schema = {"$schema": "http://json-schema.org/draft-06/schema#", "type": "object",
              "definitions": {"s": {"type": "string"}},
              "properties": {"t": {"$id": "/properties/t", "enum": ["a", 3],
                                   "allOf": [{"$ref": "#/definitions/s"}]}}}
    with pytest.raises(UnsupportedSchemaError, match="/properties/t"):
        json_schema_to_grammar(schema)
