"""Benchmark inputs: JSONSchemaBench rows (``.jsonl`` / ``.jsonl.gz``) and JSON-Schema-Test-Suite
cases, with the row filters of the command line (subset, sample, limit)."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

#: The repository is cloned with ``../shared`` beside it.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_DATA = SHARED_DATA / "jsonschemabench" / "dev.jsonl.gz"
DEFAULT_SUITE = SHARED_DATA / "json-schema-test-suite"

#: ``$schema`` URIs of the test-suite draft folders, injected when a case has none.
DRAFT_URIS = {
    "draft4": "http://json-schema.org/draft-04/schema#",
    "draft6": "http://json-schema.org/draft-06/schema#",
    "draft7": "http://json-schema.org/draft-07/schema#",
    "draft2019-09": "https://json-schema.org/draft/2019-09/schema",
    "draft2020-12": "https://json-schema.org/draft/2020-12/schema",
}


@dataclass(frozen=True)
class Item:
    """One unit of work: a schema and its test instances ``[{valid, data}]``.

    ``labels_are_truth`` is True for the test suite (its labels are authoritative); for
    JSONSchemaBench rows the jsonschema validator decides and the labels are only compared.
    """

    id: str
    subset: str
    schema: Any
    tests: tuple[dict, ...]
    labels_are_truth: bool = False


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(
        path, encoding="utf-8")


def read_rows(path: str | Path = DEFAULT_DATA) -> Iterator[Item]:
    """Yield the rows of a JSONSchemaBench-format file; a malformed line names file and line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"benchmark data not found: {path}")
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield Item(str(row["id"]), str(row.get("subset", "")), row["schema"],
                           tuple(row.get("tests") or ()))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a benchmark row ({exc})") from exc


def select(items: list[Item], *, subsets: list[str] | None = None, sample: int | None = None,
           seed: int = 0, limit: int | None = None, need_tests: bool = False) -> list[Item]:
    """Apply the filters in a fixed order: subsets, rows with tests, sample N (seeded), limit."""
    if subsets:
        wanted = {s.lower() for s in subsets}
        known = {i.subset.lower() for i in items}
        missing = wanted - known
        if missing:
            raise ValueError(f"unknown subset(s) {sorted(missing)}; known: {sorted(known)}")
        items = [i for i in items if i.subset.lower() in wanted]
    if need_tests:
        items = [i for i in items if i.tests]
    if sample is not None and sample < len(items):
        items = random.Random(seed).sample(items, sample)
    if limit is not None:
        items = items[:limit]
    return items


def read_test_suite(suite_dir: str | Path = DEFAULT_SUITE, draft: str = "draft2020-12",
                    keywords: list[str] | None = None) -> list[Item]:
    """Cases of ``tests/<draft>/*.json`` (top level only) as items with id ``<keyword>#<n>``;
    a case without ``$schema`` gets the draft's URI so that every engine sees the same draft."""
    folder = Path(suite_dir) / "tests" / draft
    if not folder.is_dir():
        raise FileNotFoundError(f"test-suite draft folder not found: {folder}")
    items: list[Item] = []
    for path in sorted(folder.glob("*.json")):
        if keywords and path.stem not in keywords:
            continue
        for n, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            schema = case["schema"]
            if isinstance(schema, dict) and "$schema" not in schema and draft in DRAFT_URIS:
                schema = {"$schema": DRAFT_URIS[draft], **schema}
            items.append(Item(f"{path.stem}#{n}", path.stem, schema, tuple(case["tests"]),
                              labels_are_truth=True))
    return items

