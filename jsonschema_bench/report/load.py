"""Gather result records from files/folders and group them by (mode, tokenizer, engine)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from jsonschema_bench.results import iter_records

Key = tuple[str, str]  # (mode, tokenizer)


def result_files(paths: list[str | Path]) -> list[Path]:
    """Every ``*.jsonl`` named or inside a named folder (not recursive), sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("*.jsonl")))
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no result file or folder: {p}")
    return files


def load_groups(paths: list[str | Path]) -> dict[Key, dict[str, list[dict]]]:
    """``{(mode, tokenizer): {engine: [record, ...]}}``; the last record of an id wins."""
    groups: dict[Key, dict[str, dict[str, dict]]] = defaultdict(lambda: defaultdict(dict))
    for path in result_files(paths):
        for record in iter_records(path):
            key = (record.get("mode", "?"), record.get("tokenizer", "?"))
            groups[key][record.get("engine", "?")][record["id"]] = record
    return {k: {e: list(recs.values()) for e, recs in v.items()} for k, v in groups.items()}


def common_rows(by_engine: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], int]:
    """Restrict every engine to the ids all engines have (fair ratios); returns the number of
    records dropped."""
    ids = set.intersection(*({r["id"] for r in recs} for recs in by_engine.values()))
    kept = {e: sorted((r for r in recs if r["id"] in ids), key=lambda r: r["id"])
            for e, recs in by_engine.items()}
    dropped = sum(len(v) for v in by_engine.values()) - sum(len(v) for v in kept.values())
    return kept, dropped
