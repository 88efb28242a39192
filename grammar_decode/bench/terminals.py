"""Terminal-compile benchmark: regex -> byte DFA time on the terminals of real JSON Schemas.

    python -m grammar_decode.bench.terminals [--n 200] [--seed 0] [--top 10] [--json out.json]

Samples ``--n`` schemas (seeded) from JSONSchemaBench's dev split, turns each into Lark text
with ``json_schema_to_grammar(schema, strict=False)``, loads it and collects every terminal
regex. Then, in this one process:

* cold: each distinct regex built from scratch (``build_regex``: no in-process or disk
  cache); the one-time Unicode tables (``\\d \\w \\s``, case folding) are built first and
  timed separately;
* per schema: the sum of the cold times of its terminals (what a first compile pays);
* disk: each regex through ``compile_regex`` with the in-process cache cleared and a filled
  disk cache in a temporary folder (what a later process pays).

Prints p50/p90/p99/max for each and the slowest regexes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "jsonschemabench" / "dev.jsonl.gz"


def collect_terminal_regexes(n: int, seed: int, path: Path = DEV) -> list[dict[str, Any]]:
    """[{id, regexes}] for a seeded sample of dev schemas (schemas that fail to translate
    are counted under id None with the error)."""
    from grammar_decode.grammar.lark_loader import load_grammar
    from grammar_decode.schema.api import json_schema_to_grammar

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    out = []
    for row in random.Random(seed).sample(rows, min(n, len(rows))):
        try:
            grammar = load_grammar(json_schema_to_grammar(row["schema"], strict=False))
        except Exception as exc:  # report, do not hide: the benchmark covers what translates
            out.append({"id": None, "error": f"{row['id']}: {type(exc).__name__}: {exc}"[:200]})
            continue
        out.append({"id": row["id"],
                    "regexes": sorted({t.regex for t in grammar.terminals.values()})})
    return out


def _stats(times: list[float]) -> dict[str, float | int]:
    ordered = sorted(times)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3, 3)

    return {"n": len(ordered), "p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1] * 1e3, 3) if ordered else 0.0}


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def run(n: int, seed: int, top: int) -> dict[str, Any]:
    from grammar_decode.terminals import char_semantics
    from grammar_decode.terminals.regex_dfa import build_regex, compile_regex

    schemas = collect_terminal_regexes(n, seed)
    ok = [s for s in schemas if s["id"] is not None]
    patterns = sorted({p for s in ok for p in s["regexes"]})
    tables = {
        "unicode_classes_ms": round(1e3 * sum(
            _timed(char_semantics.unicode_class, c) for c in "dws"), 2),
        "case_table_ms": round(1e3 * _timed(char_semantics.case_table, False), 2),
    }
    cold: dict[str, float] = {}
    errors: dict[str, str] = {}
    for p in patterns:
        started = time.perf_counter()
        try:
            build_regex(p)
        except Exception as exc:
            errors[p] = str(exc)[:200]
        cold[p] = time.perf_counter() - started
    per_schema = [sum(cold[p] for p in s["regexes"]) for s in ok]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GRAMMAR_DECODE_CACHE"] = tmp
        for p in patterns:
            if p not in errors:
                compile_regex(p)  # fills the disk cache (slow builds only)
        compile_regex.cache_clear()
        disk = {p: _timed(compile_regex, p) for p in patterns if p not in errors}
        compile_regex.cache_clear()
    per_schema_disk = [sum(disk.get(p, 0.0) for p in s["regexes"]) for s in ok]
    slowest = sorted(cold, key=cold.get, reverse=True)[:top]
    return {
        "schemas": len(ok), "schemas_failed": [s["error"] for s in schemas if s["id"] is None],
        "distinct_regexes": len(patterns), "regex_errors": errors, "tables": tables,
        "cold_per_regex": _stats(list(cold.values())),
        "cold_per_schema": _stats(per_schema),
        "disk_per_regex": _stats(list(disk.values())),
        "disk_per_schema": _stats(per_schema_disk),
        "slowest": [{"ms": round(cold[p] * 1e3, 2), "chars": len(p), "regex": p[:160]}
                    for p in slowest],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="schemas to sample")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=10, help="slowest regexes to list")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if not DEV.exists():
        print(f"dev split not found at {DEV}", file=sys.stderr)
        return 2
    result = run(args.n, args.seed, args.top)
    for key in ("schemas", "distinct_regexes", "tables", "cold_per_regex", "cold_per_schema",
                "disk_per_regex", "disk_per_schema"):
        print(f"{key:18} {result[key]}")
    print(f"{'schemas_failed':18} {len(result['schemas_failed'])}; "
          f"regex_errors {len(result['regex_errors'])}")
    print("slowest regexes (cold):")
    for row in result["slowest"]:
        print(f"  {row['ms']:9.2f} ms  {row['chars']:5d} chars  {row['regex']!r}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
