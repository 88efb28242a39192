"""Generation benchmark: constrained vs. unconstrained decoding on JSONSchemaBench dev schemas.

For a seeded sample of schemas, on the embedded SmolLM2 (one torch thread): compile the schema,
generate with grammar masks (greedy) and, in the same run, generate the same number of tokens
without constraints from the same prompt. Reports time to first token (TTFT), time per output
token (TPOT) with and without masks and their ratio (target <= 1.05), the mask time share, the
share of finished generations that are schema-valid (must be 100%) and how many hit the budget.

    python -m grammar_decode.bench.generation --n 30 --seed 0 --out results.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_DATA = (Path(__file__).resolve().parents[3] / "shared" / "data" / "jsonschemabench"
                / "dev.jsonl.gz")
PROMPT = "Generate a realistic JSON document for this schema."


def sample_schemas(path: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """A seeded sample of ``n`` rows ({id, schema, ...}) of a JSONSchemaBench jsonl.gz file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return random.Random(seed).sample(rows, min(n, len(rows)))


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: " + " ".join(str(exc).split())[:300]


def run_one(row: dict[str, Any], model: Any, tokenizer: Any, *, max_new_tokens: int,
            strict: bool) -> dict[str, Any]:
    """Compile, decode constrained and unconstrained (as many tokens); one result record."""
    from grammar_decode import api
    from grammar_decode.decoding import loop
    from grammar_decode.errors import GrammarDecodeError

    record: dict[str, Any] = {"id": row["id"]}
    started = time.perf_counter()
    try:
        compiled = api.compile_schema(row["schema"], tokenizer, strict=strict)
        compiled.warm(frame_seconds=3.0)  # one schema, a few outputs: a short frame budget
    except Exception as exc:  # noqa: BLE001 - any failure to compile is a recorded outcome
        record.update(status="compile_error", error=_one_line(exc))
        return record
    record["compile_seconds"] = time.perf_counter() - started
    ids = api.prompt_token_ids(tokenizer, PROMPT, system=api.json_system_message(row["schema"]))
    try:
        constrained = loop.decode(model, ids, compiled.vocab, loop.new_matcher(compiled),
                                  max_new_tokens=max_new_tokens)
    except GrammarDecodeError as exc:
        record.update(status="decode_error", error=_one_line(exc))
        return record
    n_gaps = len(constrained.timings.token_times)
    free = loop.decode(model, ids, compiled.vocab, None,
                       max_new_tokens=max(len(constrained.token_ids), 2), ignore_eos=True)
    t, u = constrained.timings, free.timings
    record.update(tokens=len(constrained.token_ids), finished=constrained.finished,
                  hit_budget=constrained.hit_budget, ttft=t.time_to_first_token,
                  tpot=t.time_per_output_token, mask_share=t.mask_share,
                  mask_ms_per_token=1e3 * t.mask_seconds / max(len(constrained.token_ids), 1),
                  free_ttft=u.time_to_first_token,
                  free_tpot=sum(u.token_times[:n_gaps]) / max(n_gaps, 1),
                  constrained_token_seconds=sum(t.token_times),
                  free_token_seconds=sum(u.token_times[:n_gaps]))
    if constrained.finished:
        try:
            api.parse_and_validate(constrained.data.decode("utf-8"), row["schema"])
            record["status"] = "valid"
        except (api.OutputValidationError, UnicodeDecodeError) as exc:
            record.update(status="invalid", error=_one_line(exc))
    else:
        record["status"] = "budget"
    return record


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate figures over the result records."""
    generated = [r for r in records if "tokens" in r]
    finished = [r for r in generated if r["finished"]]
    timed = [r for r in generated if r["tokens"] >= 2]

    def median(key: str) -> float | None:
        values = [r[key] for r in timed]
        return statistics.median(values) if values else None

    constrained = sum(r["constrained_token_seconds"] for r in timed)
    free = sum(r["free_token_seconds"] for r in timed)
    return {
        "schemas": len(records),
        "compile_errors": sum(r["status"] == "compile_error" for r in records),
        "decode_errors": sum(r["status"] == "decode_error" for r in records),
        "generated": len(generated),
        "finished": len(finished),
        "hit_budget": sum(r["hit_budget"] for r in generated),
        "valid_share_of_finished": (sum(r["status"] == "valid" for r in finished)
                                    / len(finished) if finished else None),
        "median_ttft_s": median("ttft"),
        "median_tpot_s": median("tpot"),
        "median_free_tpot_s": median("free_tpot"),
        "tpot_ratio": constrained / free if free else None,
        "median_tpot_ratio": (statistics.median(r["tpot"] / r["free_tpot"] for r in timed)
                              if timed else None),
        "median_mask_share": median("mask_share"),
        "median_mask_ms_per_token": median("mask_ms_per_token"),
        # Noise-robust upper bound of the TPOT ratio: every mask millisecond on the critical path.
        "tpot_ratio_from_mask_time": ((free + sum(r["mask_ms_per_token"] * 1e-3 * r["tokens"]
                                                  for r in timed)) / free if free else None),
        "median_compile_s": (statistics.median(r["compile_seconds"] for r in generated)
                             if generated else None),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the summary (JSON); returns 1 if any output was invalid."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=30, help="number of schemas (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", help="model folder (default: embedded SmolLM2)")
    parser.add_argument("--lenient", action="store_true", help="approximate inexact keywords")
    parser.add_argument("--out", type=Path, help="write records and summary as JSON here")
    args = parser.parse_args(argv)

    import torch

    from grammar_decode.api import resolve_model

    torch.set_num_threads(1)
    model, tokenizer = resolve_model(args.model)
    records = []
    for i, row in enumerate(sample_schemas(args.data, args.n, args.seed)):
        record = run_one(row, model, tokenizer, max_new_tokens=args.max_new_tokens,
                         strict=not args.lenient)
        records.append(record)
        detail = (f"{record['tokens']} tokens, TPOT {record['tpot'] * 1e3:.1f} ms vs "
                  f"{record['free_tpot'] * 1e3:.1f} ms" if "tokens" in record else
                  record.get("error", ""))
        print(f"[{i + 1}/{args.n}] {record['id']}: {record['status']} {detail}",
              file=sys.stderr, flush=True)
    summary = summarize(records)
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "records": records}, indent=1))
    return 1 if any(r.get("status") == "invalid" for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
