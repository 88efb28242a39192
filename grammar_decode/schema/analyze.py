"""Keyword report: how every keyword of a schema is handled by the grammar translation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from grammar_decode.errors import SchemaIssue

from .drafts import detect_draft, inactive_keywords, pointer_of
from .keywords import ANNOTATIONS, INTERPRETED, KNOWN, SUBSCHEMA, SUBSCHEMA_LIST, SUBSCHEMA_MAP


@dataclass(frozen=True)
class KeywordStatus:
    """One keyword occurrence: status is "exact", "approximated", "narrowed", "unsupported",
    "annotation" (ignored by validation) or "unknown" (not a JSON Schema keyword; ignored)."""

    pointer: str
    keyword: str
    status: str
    detail: str = ""


@dataclass
class SchemaReport:
    """Every keyword of a schema at its JSON pointer, with how it is enforced."""

    entries: list[KeywordStatus] = field(default_factory=list)
    issues: list[SchemaIssue] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether the grammar enforces the schema exactly (no approximated/unsupported keyword)."""
        return not any(i.status in ("approximated", "unsupported") for i in self.issues)

    def with_status(self, *statuses: str) -> list[KeywordStatus]:
        return [e for e in self.entries if e.status in statuses]

    def __str__(self) -> str:
        return "\n".join(f"{e.pointer or '/'}: {e.keyword}: {e.status}"
                         + (f" ({e.detail})" if e.detail else "") for e in self.entries)


def _subschemas(node: dict[str, Any], ptr: str) -> Iterator[tuple[Any, str]]:
    for kw, value in node.items():
        here = f"{ptr}/{pointer_of([kw])[1:]}"
        if kw in SUBSCHEMA or (kw == "items" and not isinstance(value, list)):
            yield value, here
        elif kw in SUBSCHEMA_MAP or kw == "dependencies":
            if isinstance(value, dict):
                for k, v in value.items():
                    if not isinstance(v, list):
                        yield v, here + pointer_of([k])
        elif kw in SUBSCHEMA_LIST or kw == "items":
            if isinstance(value, list):
                for i, v in enumerate(value):
                    yield v, f"{here}/{i}"


def _walk(node: Any, ptr: str) -> Iterator[tuple[str, str, Any]]:
    if not isinstance(node, dict):
        return
    for kw in node:
        yield ptr, kw, node[kw]
    for sub, sub_ptr in _subschemas(node, ptr):
        yield from _walk(sub, sub_ptr)


def build_report(schema: Any, issues: list[SchemaIssue], notes: list[SchemaIssue]) -> SchemaReport:
    """Classify every keyword of `schema` given the issues found while translating it."""
    draft = detect_draft(schema)
    inactive = inactive_keywords(draft, INTERPRETED)
    report = SchemaReport(issues=list(issues))
    found = list(issues) + list(notes)
    for ptr, kw, _ in _walk(schema, ""):
        mine = [i for i in found if i.keyword == kw and
                (i.pointer == ptr or i.pointer.startswith(f"{ptr}/{pointer_of([kw])[1:]}"))]
        if mine:
            worst = next((i for s in ("unsupported", "approximated", "narrowed", "ignored")
                          for i in mine if i.status == s), mine[0])
            status = "annotation" if worst.status == "ignored" else worst.status
            report.entries.append(KeywordStatus(ptr, kw, status, "; ".join(i.detail for i in mine)))
        elif kw in ANNOTATIONS:
            report.entries.append(KeywordStatus(ptr, kw, "annotation"))
        elif kw in inactive:
            report.entries.append(KeywordStatus(ptr, kw, "unknown", f"not a draft-{draft} keyword; ignored"))
        elif kw not in KNOWN:
            report.entries.append(KeywordStatus(ptr, kw, "unknown", "not a JSON Schema keyword; ignored"))
        else:
            report.entries.append(KeywordStatus(ptr, kw, "exact"))
    return report
