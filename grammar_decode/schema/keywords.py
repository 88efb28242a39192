"""Keyword vocabulary shared by the normalizer and the keyword report."""

from __future__ import annotations

ALL_TYPES = frozenset({"null", "boolean", "number", "string", "array", "object"})  # number ⊇ integer

ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "example", "$comment", "deprecated",
    "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema",
    "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary",
    "$defs", "definitions", "markdownDescription", "x-intellij-html-description",
})
NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "patternProperties",
                   "propertyNames", "minProperties", "maxProperties")
ARRAY_KEYWORDS = ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "contains",
                  "minContains", "maxContains", "uniqueItems")
COMPOSITION_KEYWORDS = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref",
                        "$recursiveRef", "$dynamicRef", "dependencies", "dependentRequired",
                        "dependentSchemas")
VALUE_KEYWORDS = ("type", "enum", "const")
OTHER_KNOWN = ("unevaluatedProperties", "unevaluatedItems")  # OpenAPI `nullable`: unknown

INTERPRETED = frozenset(NUMBER_KEYWORDS + STRING_KEYWORDS + OBJECT_KEYWORDS + ARRAY_KEYWORDS
                        + COMPOSITION_KEYWORDS + VALUE_KEYWORDS + OTHER_KNOWN)
KNOWN = frozenset(NUMBER_KEYWORDS + STRING_KEYWORDS + OBJECT_KEYWORDS + ARRAY_KEYWORDS
                  + COMPOSITION_KEYWORDS + VALUE_KEYWORDS + OTHER_KNOWN) | ANNOTATIONS

# keywords whose value is one subschema / a map of subschemas / a list of subschemas
SUBSCHEMA = ("additionalProperties", "propertyNames", "additionalItems", "contains", "not", "if",
             "then", "else", "unevaluatedProperties", "unevaluatedItems", "contentSchema")
SUBSCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SUBSCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")


def type_of(value: object) -> str:
    """JSON type name of a Python JSON value ("integer" for integral numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def allows(types: frozenset[str], value_type: str) -> bool:
    """Whether a type set (normal form: "number" subsumes "integer") admits a value type."""
    return value_type in types or (value_type == "integer" and "number" in types)


def normal_types(names: set[str] | frozenset[str]) -> frozenset[str]:
    """Type set in normal form (drop "integer" when "number" is present)."""
    out = set(names)
    if "number" in out:
        out.discard("integer")
    return frozenset(out)


def intersect_types(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    out = set(a & b)
    if "integer" in a and "number" in b or "integer" in b and "number" in a:
        out.add("integer")
    return normal_types(out)


def complement_types(names: frozenset[str]) -> frozenset[str] | None:
    """All JSON types outside `names`; None when that needs "non-integral numbers"."""
    if "integer" in names and "number" not in names:
        return None
    return normal_types(ALL_TYPES - names)
