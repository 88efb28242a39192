"""Everything derived once per schema: draft, document index, ground-truth validator, normalizer."""

from __future__ import annotations

from typing import Any

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
            resolver = root if ctx.base in (DEFAULT_BASE, self.doc.root_base) else \
                root.lookup(ctx.base).resolver
            self._resolvers[ctx.base] = resolver
        return self.validator.evolve(schema=ctx.schema, _resolver=resolver).is_valid(value)
