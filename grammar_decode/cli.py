"""The ``grammar-decode`` command line: validate, compile, generate, bench.

Errors are reported as one line on stderr (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grammar_decode.errors import (GrammarDecodeError, InvalidSchemaError, TokenBudgetExceeded,
                                   UnsupportedSchemaError)

EXIT_OK = 0
EXIT_APPROXIMATE = 1   # validate: the schema compiles, but only approximately
EXIT_INVALID = 2       # bad input: missing file, invalid JSON/schema/grammar, unsupported keyword
EXIT_GENERATION = 3    # token budget ran out, or the output failed validation
EXIT_INTERNAL = 4      # unexpected error (a bug): rerun with --debug for the traceback

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK}  success (validate: every keyword is enforced exactly)
  {EXIT_APPROXIMATE}  validate: the schema compiles only approximately (some keywords over-approximated)
  {EXIT_INVALID}  invalid input: missing file, invalid JSON (line:column), invalid schema or grammar,
     unsupported keyword (JSON pointer), bad arguments
  {EXIT_GENERATION}  generation failed: token budget exhausted or output not valid
  {EXIT_INTERNAL}  internal error (rerun with --debug for the traceback)"""


# ---------------------------------------------------------------- commands

def _report_status(report: Any) -> tuple[str, int]:
    """Overall status of a keyword report (SchemaReport) and its exit code."""
    statuses = {issue.status for issue in report.issues}
    if "unsupported" in statuses:
        return "unsupported", EXIT_INVALID
    if "approximated" in statuses:
        return "approximated", EXIT_APPROXIMATE
    return "exact", EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Meta-schema check of the schema's draft, then the keyword report."""
    from grammar_decode.api import read_json_file
    from grammar_decode.schema.drafts import check_schema, detect_draft

    schema = read_json_file(args.schema)
    try:
        draft = detect_draft(schema)
        check_schema(schema, draft)
    except InvalidSchemaError as exc:
        if not args.json:
            raise
        print(json.dumps({"file": args.schema, "valid": False, "status": "invalid",
                          "error": str(exc), "pointer": exc.pointer}))
        return EXIT_INVALID
    from grammar_decode.schema.api import analyze_schema

    report = analyze_schema(schema)
    status, code = _report_status(report)
    if args.json:
        print(json.dumps({"file": args.schema, "valid": True, "draft": draft, "status": status,
                          "keywords": [{"pointer": e.pointer or "/", "keyword": e.keyword,
                                        "status": e.status, "detail": e.detail}
                                       for e in report.entries]}, ensure_ascii=False))
        return code
    counts = Counter(e.status for e in report.entries)
    print(f"{args.schema}: valid draft {draft} schema; keywords: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for entry in report.entries:
        if args.all or entry.status not in ("exact", "annotation"):
            print(f"  {entry.pointer or '/'}: {entry.keyword}: {entry.status}"
                  + (f" ({entry.detail})" if entry.detail else ""))
    print(f"status: {status}")
    return code


def load_tokenizer_arg(name_or_path: str) -> Any:
    """A packaged tokenizer by name, or a tokenizer from a local folder."""
    if Path(name_or_path).exists():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name_or_path)
    from grammar_decode.vocab.packaged import load_tokenizer

    return load_tokenizer(name_or_path)


def cmd_compile(args: argparse.Namespace) -> int:
    """Compile a schema (.json) or grammar for a tokenizer, fill the cache, report sizes."""
    from grammar_decode import api

    quiet_progress_bars()
    tokenizer = load_tokenizer_arg(args.tokenizer)
    started = time.perf_counter()
    if args.source.endswith(".json"):
        compiled = api.compile_schema(api.read_json_file(args.source), tokenizer,
                                      whitespace=args.whitespace, strict=not args.lenient)
    else:
        compiled = api.compile_grammar_text(api.load_grammar_text(Path(args.source)), tokenizer)
    compile_seconds = time.perf_counter() - started
    contexts = compiled.warm(args.max_contexts)  # stores and frame judgments, kept on disk
    warm_seconds = time.perf_counter() - started - compile_seconds
    stats = compiled.stats()
    print(f"{args.source}: compiled in {compile_seconds:.2f} s; mask stores for {contexts} "
          f"lexer contexts and {stats['frame_table_entries']} frame judgments built/loaded "
          f"in {warm_seconds:.2f} s; store size {stats['store_bytes'] / 1e6:.2f} MB, frame "
          f"table {stats['frame_table_bytes'] / 1e6:.2f} MB ({stats['terminals']} terminals, "
          f"{stats['rules']} rule alternatives)")
    for issue in getattr(compiled, "schema_issues", []):
        print(f"  {issue}")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate N outputs: JSON lines for a schema, text for a grammar."""
    from grammar_decode import api

    quiet_progress_bars()
    model = api.resolve_model(args.model)
    failures = 0
    for i in range(args.n):
        options = dict(model=model, max_new_tokens=args.max_new_tokens,
                       temperature=args.temperature, top_p=args.top_p, method=args.method,
                       seed=None if args.seed is None else args.seed + i, chat=not args.no_chat)
        try:
            if args.schema:
                value = api.generate_json(args.schema, args.prompt, strict=not args.lenient,
                                          whitespace=args.whitespace, **options)
                print(json.dumps(value, ensure_ascii=False), flush=True)
            else:
                print(api.generate(Path(args.grammar), args.prompt, **options), flush=True)
        except (TokenBudgetExceeded, api.OutputValidationError) as exc:
            failures += 1
            print(f"error: generation {i + 1}: {exc}", file=sys.stderr)
    return EXIT_GENERATION if failures else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    """Forward to the JSONSchemaBench harness."""
    from jsonschema_bench.cli import main as bench_main

    return int(bench_main(args.bench_args) or 0)


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exit codes in --help)."""
    parser = argparse.ArgumentParser(
        prog="grammar-decode", epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Exact grammar- and JSON-Schema-constrained generation.")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks instead of one-line errors")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[debug],
                           epilog=EXIT_CODES_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    p = add("validate", "check a JSON Schema against its draft and report which keywords are "
                        "enforced exactly, approximated or unsupported", cmd_validate)
    p.add_argument("schema", metavar="SCHEMA_FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output (every keyword)")
    p.add_argument("--all", action="store_true", help="list exact keywords and annotations too")

    p = add("compile", "compile a JSON Schema (.json) or a Lark/GBNF grammar for a tokenizer "
                       "and fill the mask-store cache", cmd_compile)
    p.add_argument("source", metavar="SCHEMA_OR_GRAMMAR")
    p.add_argument("--tokenizer", required=True, metavar="NAME_OR_PATH",
                   help="packaged tokenizer name (gpt2, qwen2.5, llama3, smollm2, ...) or folder")
    p.add_argument("--max-contexts", type=int, default=256,
                   help="lexer contexts to pre-build (default 256)")
    _schema_options(p)

    p = add("generate", "generate JSON lines (--schema) or text (--grammar)", cmd_generate)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--schema", metavar="FILE")
    source.add_argument("--grammar", metavar="FILE")
    p.add_argument("--prompt", required=True)
    p.add_argument("--model", metavar="PATH", help="model folder (default: embedded SmolLM2)")
    p.add_argument("--n", type=int, default=1, help="number of generations")
    p.add_argument("--method", choices=("mask", "asap"), default="mask")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--seed", type=int, help="seed of the first generation (+1 for each next)")
    p.add_argument("--no-chat", action="store_true", help="do not apply the chat template")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    _schema_options(p)

    p = add("bench", "run the JSONSchemaBench harness (arguments are forwarded)", cmd_bench)
    p.add_argument("bench_args", nargs=argparse.REMAINDER, metavar="ARGS")
    return parser


def _schema_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--whitespace", choices=("compact", "flexible"), default="compact",
                   help="whitespace the JSON grammar allows (default compact)")
    p.add_argument("--lenient", action="store_true",
                   help="approximate keywords that cannot be enforced exactly")


def _one_line(exc: BaseException) -> str:
    """A single-line description of an expected error."""
    if isinstance(exc, UnsupportedSchemaError):
        return "unsupported schema: " + "; ".join(str(i) for i in exc.issues)
    text = str(exc) if str(exc) else type(exc).__name__
    return " ".join(text.split())


def quiet_progress_bars() -> None:
    """Keep stderr for our messages: no transformers / hub progress bars while loading."""
    import os

    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    hf_logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "bench" in argv and set(argv[:argv.index("bench")]) <= {"--debug"}:
        # Everything after "bench" belongs to the harness, options included.
        split = argv.index("bench") + 1
        args = parser.parse_args(argv[:split])
        args.bench_args = argv[split:]
    else:
        args = parser.parse_args(argv)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every error becomes one line unless --debug
        if args.debug:
            raise
        from grammar_decode.api import OutputValidationError

        if isinstance(exc, (TokenBudgetExceeded, OutputValidationError)):
            code = EXIT_GENERATION
        elif isinstance(exc, (GrammarDecodeError, OSError, ValueError)):
            code = EXIT_INVALID
        else:
            print(f"grammar-decode: internal error: {type(exc).__name__}: {_one_line(exc)} "
                  "(rerun with --debug for the traceback)", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"grammar-decode: error: {_one_line(exc)}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
