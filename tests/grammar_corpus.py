"""Shared test helpers: the shipped grammars, their corpus documents, JSON instances from the
JSON-Schema-Test-Suite, and greedy tokenisation of bytes with a vocabulary's token bytes."""

from __future__ import annotations

import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRAMMARS_DIR = REPO / "grammars"
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
DATA_DIR = REPO.parent / "shared" / "data"
JSON_SUITE_DIR = DATA_DIR / "json-schema-test-suite" / "tests"

SHIPPED = ("json", "arithmetic", "sql_select", "sexpr", "go_subset")


def grammar_path(name: str) -> Path:
    return GRAMMARS_DIR / f"{name}.lark"


def grammar_text(name: str) -> str:
    return grammar_path(name).read_text(encoding="utf-8")


def _documents(folder: Path) -> list[tuple[str, bytes]]:
    if not folder.is_dir():
        return []
    return [(f"{folder.name}/{p.name}", p.read_bytes())
            for p in sorted(folder.iterdir()) if p.is_file()]


def valid_documents(name: str) -> list[tuple[str, bytes]]:
    """(label, bytes) of every valid corpus document of a grammar."""
    return _documents(CORPUS_DIR / name)


def invalid_documents(name: str) -> list[tuple[str, bytes]]:
    """(label, bytes) of the corpus documents a grammar must reject."""
    return _documents(CORPUS_DIR / name / "invalid")


def json_suite_instances(limit: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """Up to ``limit`` distinct JSON instances (json.dumps, ensure_ascii=False half the time)
    from the JSON-Schema-Test-Suite, sampled with a fixed seed; [] if the data is absent."""
    files = sorted((JSON_SUITE_DIR / "draft2020-12").glob("*.json")) if JSON_SUITE_DIR.is_dir() \
        else []
    seen: dict[str, str] = {}
    for path in files:
        for group in json.loads(path.read_text(encoding="utf-8")):
            for i, test in enumerate(group.get("tests", [])):
                for ascii_only in (True, False):
                    text = json.dumps(test["data"], ensure_ascii=ascii_only)
                    seen.setdefault(text, f"{path.stem}:{group['description'][:40]}:{i}")
    items = sorted(seen.items())
    random.Random(seed).shuffle(items)
    return [(label, text.encode("utf-8")) for text, label in items[:limit]]


def greedy_token_ids(data: bytes, token_to_id: dict[bytes, int], max_len: int) -> list[int]:
    """Longest-match segmentation of ``data`` into token ids (every single byte must be a
    token); a deterministic stand-in for a tokenizer's own segmentation."""
    out = []
    i = 0
    while i < len(data):
        for n in range(min(max_len, len(data) - i), 0, -1):
            tid = token_to_id.get(data[i:i + n])
            if tid is not None:
                out.append(tid)
                i += n
                break
        else:
            raise ValueError(f"byte {data[i]:#x} at offset {i} is not a token")
    return out
