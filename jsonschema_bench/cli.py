"""Command line: ``python -m jsonschema_bench <mode> ...`` (also ``grammar-decode bench``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jsonschema_bench.data import DEFAULT_DATA, DEFAULT_SUITE, read_rows, read_test_suite, select

RUN_MODES = ("compile", "replay", "generate", "testsuite")


def _run_arguments(p: argparse.ArgumentParser, mode: str) -> None:
    p.add_argument("--engine", action="append", default=None,
                   help="repeatable or a comma list of grammar_decode, grammar_decode_lenient "
                        "(strict=False), xgrammar, llguidance, outlines_core, or 'all' "
                        "(a module:Class plug-in is accepted too); "
                        "default grammar_decode")
    if mode == "generate":
        p.add_argument("--model", default=None,
                       help="model name or path for load_model (default: embedded SmolLM2)")
        p.add_argument("--max-new-tokens", type=int, default=512)
    else:
        p.add_argument("--tokenizer", default="qwen2.5",
                       help="packaged tokenizer (qwen2.5, gpt2, llama3, smollm2, ...) or a path "
                            "to tokenizer.json / a tokenizer folder; default qwen2.5")
    if mode == "testsuite":
        p.add_argument("--suite", default=str(DEFAULT_SUITE), help="JSON-Schema-Test-Suite root")
        p.add_argument("--draft", default="draft2020-12")
        p.add_argument("--keyword", action="append", help="only these keyword files (repeat)")
    else:
        p.add_argument("--data", default=str(DEFAULT_DATA),
                       help="JSONSchemaBench-format .jsonl or .jsonl.gz file")
        p.add_argument("--subset", action="append",
                       help="only these subsets (repeat or comma list)")
        p.add_argument("--sample", type=int, help="random sample of N rows (with --seed)")
        p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="first N rows after the other filters")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--compile-timeout", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("--run-timeout", type=float, default=60.0,
                   help="seconds for replay/generation of one schema (default 60)")
    p.add_argument("--memory-mb", type=int, default=8192,
                   help="address-space cap per worker in MiB (0 = none; default 8192)")
    p.add_argument("--out", help="result file (only with a single engine); default "
                                 "<out-dir>/<mode>-<engine>-<tokenizer>.jsonl")
    p.add_argument("--out-dir", default="results")
    p.add_argument("--no-progress", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jsonschema_bench",
        description="JSONSchemaBench-style benchmark of grammar-decode and peer engines.")
    sub = parser.add_subparsers(dest="mode", required=True)
    helps = {"compile": "declared coverage and grammar compilation time",
             "replay": "MaskBench-style token replay of test instances (no model)",
             "generate": "greedy generation with a model: empirical coverage, TTFT, TPOT",
             "testsuite": "JSON-Schema-Test-Suite, share of cases judged right per keyword"}
    for mode in RUN_MODES:
        _run_arguments(sub.add_parser(mode, help=helps[mode]), mode)
    rep = sub.add_parser("report", help="leaderboard (Markdown, HTML, PNG) from result files")
    rep.add_argument("results", nargs="*", default=["results"],
                     help="result files or folders (default: results/)")
    rep.add_argument("--report-dir", default=None, help="default <first folder>/report")
    rep.add_argument("--bootstrap", type=int, default=100, help="resamples for the CIs")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--no-charts", action="store_true")
    return parser


def _items(args: argparse.Namespace) -> list:
    if args.mode == "testsuite":
        items = read_test_suite(args.suite, args.draft, args.keyword)
        return items[:args.limit] if args.limit is not None else items
    subsets = [s for spec in args.subset or () for s in spec.split(",") if s]
    return select(list(read_rows(args.data)), subsets=subsets or None, sample=args.sample,
                  seed=args.seed, limit=args.limit, need_tests=args.mode == "replay")


def _run(args: argparse.Namespace) -> int:
    from jsonschema_bench.context import RunOptions
    from jsonschema_bench.engines import resolve_names
    from jsonschema_bench.pool import SetupError
    from jsonschema_bench.run import default_out, run_engine, tokenizer_label

    engines: list[str] = []
    for spec in args.engine or ["grammar_decode"]:
        for name in ([spec] if ":" in spec else resolve_names(spec)):
            if name not in engines:
                engines.append(name)
    if args.out and len(engines) > 1:
        raise SystemExit("--out names one file: use it with a single --engine (or --out-dir)")
    items = _items(args)
    print(f"[bench] {args.mode}: {len(items)} items, engines {engines}", file=sys.stderr)
    status = 0
    for engine in engines:
        options = RunOptions(
            mode=args.mode, engine=engine, tokenizer=getattr(args, "tokenizer", "qwen2.5"),
            model=getattr(args, "model", None),
            max_new_tokens=getattr(args, "max_new_tokens", 512),
            compile_timeout=args.compile_timeout, run_timeout=args.run_timeout,
            memory_mb=args.memory_mb)
        out = Path(args.out) if args.out else default_out(
            args.out_dir, args.mode, engine, tokenizer_label(options))
        try:
            counts = run_engine(items, options, out, args.workers,
                                progress=not args.no_progress)
        except SetupError as exc:  # this engine cannot start here; the others still run
            print(f"[bench] {args.mode}:{engine} failed to start: {exc}", file=sys.stderr)
            status = 2
            continue
        print(f"[bench] {args.mode}:{engine} -> {out} {counts}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.mode == "report":
        from jsonschema_bench.report.build import build_report

        paths = build_report(args.results, args.report_dir, n_boot=args.bootstrap,
                             seed=args.seed, charts=not args.no_charts)
        for path in paths:
            print(path)
        return 0
    try:
        return _run(args)
    except ValueError as exc:  # bad option values (unknown engine, empty selection, ...)
        print(f"jsonschema_bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
