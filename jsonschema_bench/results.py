"""Streaming JSONL result files: append one record per schema, resume by skipping done ids."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


def repair_tail(path: Path) -> None:
    """Drop a partial last line left by a killed run, so appends start on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        fh.truncate(data.rfind(b"\n") + 1)


def iter_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a result file (lines with an ``id``); meta lines and a torn tail are skipped."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "id" in record:
                yield record


def iter_meta(path: str | Path) -> Iterator[dict[str, Any]]:
    """The ``{"type": "meta", ...}`` lines written at the start of every (resumed) run."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith('{"type": "meta"'):
                yield json.loads(line)


def done_ids(path: str | Path) -> set[str]:
    """Ids already recorded (any status) in ``path``; empty when the file does not exist."""
    return {r["id"] for r in iter_records(path)} if os.path.exists(path) else set()


class ResultWriter:
    """Append-only JSONL writer that flushes every record (a crash loses at most one line)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self.fh = open(self.path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
