"""Draft detection and meta-schema validation (JSON Schema drafts 4, 6, 7, 2019-09, 2020-12)."""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from grammar_decode.errors import InvalidSchemaError

DEFAULT_DRAFT = "2020-12"

_DRAFT_OF_URI = {
    "json-schema.org/draft-04/schema": "4",
    "json-schema.org/draft-06/schema": "6",
    "json-schema.org/draft-07/schema": "7",
    "json-schema.org/draft/2019-09/schema": "2019-09",
    "json-schema.org/draft/2020-12/schema": "2020-12",
}

_VALIDATORS = {
    "4": jsonschema.Draft4Validator,
    "6": jsonschema.Draft6Validator,
    "7": jsonschema.Draft7Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "2020-12": jsonschema.Draft202012Validator,
}


def detect_draft(schema: Any) -> str:
    """Draft named by the root `$schema` ("4", "6", "7", "2019-09", "2020-12"); default 2020-12."""
    uri = schema.get("$schema") if isinstance(schema, dict) else None
    if not isinstance(uri, str):
        return DEFAULT_DRAFT
    key = uri.split("://", 1)[-1].rstrip("#")
    if key not in _DRAFT_OF_URI:
        raise InvalidSchemaError(f"unknown $schema {uri!r}", "/$schema")
    return _DRAFT_OF_URI[key]


def validator_class(draft: str) -> type:
    """The `jsonschema` validator class of a draft."""
    return _VALIDATORS[draft]


def pointer_of(path: Any) -> str:
    """JSON pointer (RFC 6901) of a sequence of keys/indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def check_schema(schema: Any, draft: str) -> None:
    """Raise InvalidSchemaError (with the pointer of the offending value) unless `schema` is
    valid against its draft's meta-schema."""
    if not isinstance(schema, (dict, bool)):
        raise InvalidSchemaError(f"a schema must be an object or a boolean, got {type(schema).__name__}", "")
    try:
        validator_class(draft).check_schema(schema)
    except SchemaError as exc:
        raise InvalidSchemaError(f"schema is invalid against draft {draft}: {exc.message}",
                                 pointer_of(exc.path)) from None


def make_validator(schema: Any, draft: str) -> Any:
    """A `jsonschema` validator of the right draft with format checking on (our ground truth)."""
    cls = validator_class(draft)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def inactive_keywords(draft: str, interpreted: frozenset[str]) -> frozenset[str]:
    """Keywords among `interpreted` that the draft does not define (validators ignore them),
    e.g. `const`/`if` in draft 4, `dependencies` in 2019-09+, `$recursiveRef` in 2020-12."""
    known = set(validator_class(draft).VALIDATORS)
    if draft == "4":
        known |= {"exclusiveMaximum", "exclusiveMinimum"}
    if "if" in known:
        known |= {"then", "else"}
    if draft in ("2019-09", "2020-12"):
        known |= {"minContains", "maxContains"}
    return frozenset(interpreted - known)
