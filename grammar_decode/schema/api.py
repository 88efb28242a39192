"""Public entry points: JSON Schema -> Lark grammar text, compiled grammar, canonical JSON."""

from __future__ import annotations

from typing import Any

from grammar_decode.errors import SchemaIssue, UnsupportedSchemaError

from .analyze import SchemaReport, build_report
from .canonical import Canonicalizer
from .normalize import Conj
from .session import SchemaSession
from .to_grammar import GrammarBuilder


def _translate(schema: Any, whitespace: str, openapi_nullable: bool
               ) -> tuple[GrammarBuilder, Conj, list[SchemaIssue], list[SchemaIssue]]:
    """Builder with every rule built, root, issues (approximated/narrowed/unsupported), notes
    (ignored annotations)."""
    session = SchemaSession(schema, openapi_nullable=openapi_nullable)
    builder = GrammarBuilder(session.norm, session.issues, whitespace)
    root = session.root()
    builder.start_body(root)  # builds every rule, so that every issue is known
    issues = [i for i in session.issues.issues if i.status != "ignored"]
    notes = [i for i in session.issues.issues if i.status == "ignored"] + builder.notes
    return builder, root, issues, notes


def _checked(schema: Any, whitespace: str, strict: bool, openapi_nullable: bool
             ) -> tuple[GrammarBuilder, Conj, list[SchemaIssue]]:
    builder, root, issues, _ = _translate(schema, whitespace, openapi_nullable)
    if strict and any(i.status in ("approximated", "unsupported") for i in issues):
        raise UnsupportedSchemaError([i for i in issues if i.status in ("approximated", "unsupported")])
    return builder, root, issues


def json_schema_to_grammar_with_report(schema: Any, *, whitespace: str = "compact",
                                       strict: bool = True, openapi_nullable: bool = False
                                       ) -> tuple[str, list[SchemaIssue]]:
    """Lark grammar (start rule `start`) generating the JSON documents valid against `schema`,
    plus the keywords it approximates. Strict mode raises UnsupportedSchemaError listing every
    keyword that is not enforced exactly; InvalidSchemaError if the schema is invalid against
    its draft's meta-schema. `openapi_nullable` honours OpenAPI's `nullable: true` (JSON Schema
    validators ignore it, so it is off by default)."""
    builder, root, issues = _checked(schema, whitespace, strict, openapi_nullable)
    return builder.grammar(root), issues


def json_schema_to_grammar(schema: Any, *, whitespace: str = "compact", strict: bool = True,
                           openapi_nullable: bool = False) -> str:
    """Lark grammar text for `schema`; see `json_schema_to_grammar_with_report`."""
    return json_schema_to_grammar_with_report(schema, whitespace=whitespace, strict=strict,
                                              openapi_nullable=openapi_nullable)[0]


def compile_json_schema(schema: Any, tokenizer: Any, *, whitespace: str = "compact",
                        strict: bool = True, openapi_nullable: bool = False) -> Any:
    """Compile `schema` for constrained decoding with `tokenizer` (or a TokenVocabulary); the
    result carries `.schema_issues` (the approximated keywords, empty when exact). The grammar
    IR is built directly, the same grammar `json_schema_to_grammar` prints."""
    from grammar_decode.compiler import compile_grammar

    builder, root, issues = _checked(schema, whitespace, strict, openapi_nullable)
    compiled = compile_grammar(builder.grammar_ir(root), tokenizer, terminal_conflicts="all")
    compiled.schema_issues = issues
    return compiled


def canonical_json(instance: Any, schema: Any, *, openapi_nullable: bool = False) -> str:
    """The serialization of `instance` that the grammar for `schema` generates (compact,
    non-ASCII kept, keys in the schema's property order); see `canonical` for the rules."""
    session = SchemaSession(schema, openapi_nullable=openapi_nullable, check=False)
    return Canonicalizer(session).dump(instance, session.root())


def analyze_schema(schema: Any, *, openapi_nullable: bool = False) -> SchemaReport:
    """Every keyword at its JSON pointer: exact / approximated / narrowed / unsupported /
    annotation / unknown. Raises InvalidSchemaError for a schema invalid against its draft."""
    _, _, issues, notes = _translate(schema, "compact", openapi_nullable)
    return build_report(schema, issues, notes)
