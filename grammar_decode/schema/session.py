"""Everything derived once per schema: draft, document index, ground-truth validator, normalizer."""

from __future__ import annotations

from typing import Any

from referencing.exceptions import Unresolvable

from ..errors import SchemaIssue, UnsupportedSchemaError
from .drafts import check_schema, detect_draft, make_validator
from .normalize import IssueLog, Normalizer
from .refs import DEFAULT_BASE, Ctx, Document


class SchemaSession:
    """One schema document ready for normalization; `validate` is `jsonschema` (format on)."""

    def __init__(self, schema: Any, *, openapi_nullable: bool = False, check: bool = True) -> None:
        self.draft = detect_draft(schema)
        if check:
            check_schema(schema, self.draft)
        self.schema = schema
        self.doc = Document(schema, self.draft)
        self.validator = make_validator(schema, self.draft)
        self.issues = IssueLog()
        formats = frozenset(self.validator.format_checker.checkers)
        self.norm = Normalizer(self.doc, self.issues, self.validate, openapi_nullable, formats)
        self._resolvers: dict[str, Any] = {}

    def root(self) -> tuple[Ctx, ...]:
        return (self.doc.root_ctx(),)

    def validate(self, value: Any, ctx: Ctx) -> bool:
        """Whether `value` satisfies the subschema `ctx` (references resolved in the document)."""
        if ctx.schema is True or ctx.schema is False:
            return bool(ctx.schema)
        resolver = self._resolvers.get(ctx.base)
        if resolver is None:
            root = self.validator._resolver
            if ctx.base in (DEFAULT_BASE, self.doc.root_base):
                resolver = root
            else:
                try:
                    resolver = root.lookup(ctx.base).resolver
                except Unresolvable:
                    # an $id the validator does not treat as a resource (e.g. relative, in a
                    # place its draft does not crawl): the base only matters to references
                    if _has_reference(ctx.schema):
                        raise UnsupportedSchemaError([SchemaIssue(
                            ctx.pointer, "$id", "unsupported",
                            f"base URI {ctx.base} is not a resource for the validator, so "
                            "references below it cannot be resolved as it would")]) from None
                    resolver = root
            self._resolvers[ctx.base] = resolver
        return self.validator.evolve(schema=ctx.schema, _resolver=resolver).is_valid(value)


def _has_reference(schema: Any) -> bool:
    """Whether a reference keyword appears anywhere in ``schema``."""
    if isinstance(schema, dict):
        return any(k in ("$ref", "$dynamicRef", "$recursiveRef") or _has_reference(v)
                   for k, v in schema.items())
    if isinstance(schema, list):
        return any(_has_reference(v) for v in schema)
    return False
