"""Reporting of schema keywords that a terminal regex cannot enforce exactly.

The string/number regex builders either raise :class:`UnsupportedKeyword` (strict mode) or
record a :class:`~grammar_decode.errors.SchemaIssue` and fall back to an over-approximation
(lenient mode): an approximated terminal never rejects a valid value, it may admit invalid ones.
"""

from __future__ import annotations

from grammar_decode.errors import GrammarDecodeError, SchemaIssue


class UnsupportedKeyword(GrammarDecodeError):
    """A keyword value that cannot be turned into an exact terminal regex."""

    def __init__(self, keyword: str, pointer: str, detail: str) -> None:
        super().__init__(f"{pointer or '/'}: {keyword}: {detail}")
        self.keyword = keyword
        self.pointer = pointer
        self.detail = detail

    def as_issue(self, status: str = "approximated") -> SchemaIssue:
        return SchemaIssue(self.pointer, self.keyword, status, self.detail)


class Reporter:
    """Collects issues; in strict mode the first inexact keyword raises instead."""

    def __init__(self, approximate: bool) -> None:
        self.approximate = approximate
        self.issues: list[SchemaIssue] = []

    def unsupported(self, keyword: str, pointer: str, detail: str) -> None:
        """Raise in strict mode, else record that the keyword is over-approximated."""
        error = UnsupportedKeyword(keyword, pointer, detail)
        if not self.approximate:
            raise error
        self.issues.append(error.as_issue("approximated"))

    def narrowed(self, keyword: str, pointer: str, detail: str) -> None:
        """Record a keyword enforced more strictly than the validator (safe, never fatal)."""
        self.issues.append(SchemaIssue(pointer, keyword, "narrowed", detail))

    def ignored(self, keyword: str, pointer: str, detail: str) -> None:
        """Record an annotation-only keyword (e.g. an unknown format); never fatal."""
        self.issues.append(SchemaIssue(pointer, keyword, "ignored", detail))
