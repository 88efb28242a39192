"""Exceptions raised by grammar-decode; each names what failed and where."""

from __future__ import annotations

from dataclasses import dataclass


class GrammarDecodeError(Exception):
    """Base class of every error this library raises on purpose."""


class GrammarSyntaxError(GrammarDecodeError):
    """Grammar text that does not parse; carries line and column (1-based)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 source: str | None = None) -> None:
        where = ""
        if source:
            where += f"{source}:"
        if line is not None:
            where += f"{line}:{column or 0}: " if where or line else ""
        super().__init__(f"{where}{message}" if where else message)
        self.line = line
        self.column = column
        self.source = source


class GrammarCompileError(GrammarDecodeError):
    """A grammar that parses but cannot be compiled (bad regex, undefined symbol, ...)."""


class TokenizerMappingError(GrammarDecodeError):
    """A tokenizer whose tokens cannot be mapped to exact bytes."""


class InvalidSchemaError(GrammarDecodeError):
    """A JSON Schema that is not valid against its draft's meta-schema or is malformed."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(f"{message} (at {pointer or '/'})" if pointer is not None else message)
        self.pointer = pointer


@dataclass(frozen=True)
class SchemaIssue:
    """One keyword that is not enforced exactly: where it is, what it is, and why."""

    pointer: str
    keyword: str
    status: str  # "approximated" | "unsupported"
    detail: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.keyword} ({self.status}): {self.detail}"


class UnsupportedSchemaError(GrammarDecodeError):
    """Raised in strict mode when some keywords cannot be enforced exactly."""

    def __init__(self, issues: list[SchemaIssue]) -> None:
        self.issues = list(issues)
        lines = "\n  ".join(str(i) for i in self.issues)
        super().__init__(
            f"{len(self.issues)} keyword(s) cannot be enforced exactly "
            f"(use strict=False to approximate):\n  {lines}")


class TokenBudgetExceeded(GrammarDecodeError):
    """Generation hit max_new_tokens before the grammar accepted; carries the partial text."""

    def __init__(self, partial_text: str, max_new_tokens: int) -> None:
        super().__init__(
            f"token budget of {max_new_tokens} new tokens ran out before the output was "
            f"complete; partial output: {partial_text[:200]!r}"
            + ("..." if len(partial_text) > 200 else ""))
        self.partial_text = partial_text
        self.max_new_tokens = max_new_tokens
