"""Mask benchmark: store build / load cost and per-token mask latency on real documents.

    python -m grammar_decode.bench.masks [--grammars json,sql_select] [--tokenizers gpt2,qwen2.5]
                                         [--max-tokens 400] [--no-peers] [--runs 3]
                                         [--frame-seconds S] [--json out.json]

For each shipped grammar (``grammars/*.lark``) and tokenizer it reports, each phase in a fresh
subprocess so that no in-memory cache hides a cost:

* build: ``compile_grammar`` + ``warm()`` (stores reachable from the start, within its
  time budget, then frame judgments within ``--frame-seconds``, by default ``warm()``'s own
  budget) with an empty disk cache: seconds, peak growth of the resident set over the
  process before it (``peak_mb``; tracemalloc, used before, slowed the time-budgeted
  ``warm()`` ~4x, so fewer frames were precomputed than a user's process gets), store
  bytes and the frame table's size (entries, bytes);
* warm load: the same with the disk cache filled by the build (stores and frame table);
* per-token mask time, p50 / p99 in us, of ``fill_bitmask`` into an int32 bitmask (what the
  peers below are timed on) and of ``fill_mask`` into a bool tensor (``bool p50/p99``),
  replaying the corpus documents of ``tests/corpus/<grammar>/`` token by token (a first pass
  builds the stores of contexts ``warm()`` did not reach; the reported times pool
  ``COLD_PASSES`` more passes per fill, each after ``clear_parse_caches()``, so masks
  memoised before do not help). Times are process CPU time (the machine may be shared;
  each reading costs ~1.5 us), taken after ``gc.freeze()`` as a serving process would do
  once loaded, for every engine alike (the JSON output also has ``repeat_pass``: a third
  pass that keeps the parse caches);
* when importable, the same per-token times for XGrammar (``compile_lark``) and llguidance
  (Lark text given to ``LLMatcher``) on the same documents and tokenizer.

The first line says which of the matcher's hot modules run compiled (``grammar_decode/accel.py``;
``GRAMMAR_DECODE_PURE=1`` measures the pure-Python source); each build result records it too.

Per-token times of one process move by 30-80% between processes on this machine (memory
placement: the same work, even a memo hit, costs more in some processes). ``--runs N`` repeats
the build and peer phases in N fresh processes each and reports, per figure, the median over
the runs (the JSON output keeps every run).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
GRAMMARS = REPO / "grammars"
CORPUS = REPO / "tests" / "corpus"
DEFAULT_GRAMMARS = ("json", "arithmetic", "sql_select", "sexpr", "go_subset")
DEFAULT_TOKENIZERS = ("gpt2", "qwen2.5")
COLD_PASSES = 3  # cold-cache passes pooled for our p50/p99 (small corpora are noisy)


def _documents(grammar: str) -> list[str]:
    folder = CORPUS / grammar
    return [p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()]


def _percentiles(times: list[float]) -> dict[str, float | int | None]:
    if not times:
        return {"p50_ms": None, "p99_ms": None, "n": 0}
    ordered = sorted(times)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return {"p50_ms": round(pick(0.50), 4), "p99_ms": round(pick(0.99), 4), "n": len(ordered)}


def _token_streams(tokenizer: Any, grammar: str, max_tokens: int) -> list[list[int]]:
    streams, total = [], 0
    for text in _documents(grammar):
        ids = tokenizer.encode(text, add_special_tokens=False)
        if total + len(ids) > max_tokens and streams:
            break
        streams.append(ids)
        total += len(ids)
    return streams


def _replay(streams: list[list[int]], mask_fn: Callable[[], None],
            accept: Callable[[int], bool], reset: Callable[[], None]) -> tuple[list[float], int]:
    """Time ``mask_fn`` before every token; returns (times, tokens rejected by the matcher)."""
    gc.collect()
    gc.freeze()
    times, rejected = [], 0
    for ids in streams:
        reset()
        for tid in ids:
            started = time.process_time()
            mask_fn()
            times.append(time.process_time() - started)
            if not accept(tid):
                rejected += 1
                break
    return times, rejected


# ---- workers (run in a subprocess each) ---------------------------------------------------
def _resident_bytes() -> int:
    """This process's resident set now (Linux ``/proc``)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _ours(grammar: str, tokenizer_name: str, cache: str, max_tokens: int, replay: bool,
          frame_seconds: float | None) -> dict[str, Any]:
    import torch

    from grammar_decode import accel
    from grammar_decode.compiler import compile_grammar
    from grammar_decode.maskstore.bits import bitmask_words
    from grammar_decode.matcher.matcher import GrammarMatcher
    from grammar_decode.vocab.packaged import load_tokenizer

    torch.set_num_threads(1)
    tokenizer = load_tokenizer(tokenizer_name)
    text = (GRAMMARS / f"{grammar}.lark").read_text(encoding="utf-8")
    compile_grammar("start: \"x\"\n", tokenizer, cache_dir=False)  # vocabulary built once
    before = _resident_bytes()
    started = time.perf_counter()
    compiled = compile_grammar(text, tokenizer, cache_dir=cache)
    contexts = (compiled.warm() if frame_seconds is None
                else compiled.warm(frame_seconds=frame_seconds))
    seconds = time.perf_counter() - started
    peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before)
    out: dict[str, Any] = {"seconds": round(seconds, 3), "peak_mb": round(peak / 2**20, 1),
                           "contexts": contexts, "vocab_size": compiled.vocab_size,
                           "modules": accel.status(), **compiled.stats()}
    if replay:
        matcher = GrammarMatcher(compiled)
        bitmask = torch.zeros(1, bitmask_words(compiled.vocab_size), dtype=torch.int32)
        mask = torch.zeros(compiled.vocab_size, dtype=torch.bool)
        fills = {"mask": lambda: matcher.fill_bitmask(bitmask),
                 "bool_mask": lambda: matcher.fill_mask(mask)}
        streams = _token_streams(tokenizer, grammar, max_tokens)
        first, _ = _replay(streams, fills["mask"], matcher.accept_token, matcher.reset)
        out.update(first_pass=_percentiles(first))
        for name, fill in fills.items():
            times, rejected = [], 0
            for _ in range(COLD_PASSES):
                compiled.clear_parse_caches()
                cold, rejected = _replay(streams, fill, matcher.accept_token, matcher.reset)
                times += cold
            out.update({name: _percentiles(times), "rejected": rejected})
        repeat, _ = _replay(streams, fills["mask"], matcher.accept_token, matcher.reset)
        out.update(repeat_pass=_percentiles(repeat), stats_after_replay=compiled.stats())
    return out


def _xgrammar(grammar: str, tokenizer_name: str, max_tokens: int) -> dict[str, Any]:
    import xgrammar as xgr

    from grammar_decode.vocab.packaged import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_name)
    text = (GRAMMARS / f"{grammar}.lark").read_text(encoding="utf-8")
    info = xgr.TokenizerInfo.from_huggingface(tokenizer)
    started = time.perf_counter()
    compiled = xgr.GrammarCompiler(info, max_threads=1).compile_lark(text)
    seconds = time.perf_counter() - started
    matcher = xgr.GrammarMatcher(compiled)
    bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
    times, rejected = _replay(_token_streams(tokenizer, grammar, max_tokens),
                              lambda: matcher.fill_next_token_bitmask(bitmask),
                              matcher.accept_token, matcher.reset)
    return {"compile_seconds": round(seconds, 3), "mask": _percentiles(times),
            "rejected": rejected, "memory_mb": round(compiled.memory_size_bytes / 2**20, 1)}


def _llguidance(grammar: str, tokenizer_name: str, max_tokens: int) -> dict[str, Any]:
    import llguidance
    import llguidance.hf
    import llguidance.torch

    from grammar_decode.vocab.packaged import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_name)
    text = (GRAMMARS / f"{grammar}.lark").read_text(encoding="utf-8")
    lltok = llguidance.hf.from_tokenizer(tokenizer)
    started = time.perf_counter()
    check = llguidance.LLMatcher(lltok, text, log_level=0)
    seconds = time.perf_counter() - started
    if check.is_error():
        raise RuntimeError(check.get_error())
    state = {"m": check}

    def reset() -> None:
        state["m"] = llguidance.LLMatcher(lltok, text, log_level=0)

    bitmask = llguidance.torch.allocate_token_bitmask(1, lltok.vocab_size)
    times, rejected = _replay(
        _token_streams(tokenizer, grammar, max_tokens),
        lambda: llguidance.torch.fill_next_token_bitmask(state["m"], bitmask, 0),
        lambda tid: state["m"].consume_token(tid) and not state["m"].is_error(), reset)
    return {"compile_seconds": round(seconds, 3), "mask": _percentiles(times),
            "rejected": rejected}


def _worker(args: argparse.Namespace) -> None:
    if args.phase == "build":
        result = _ours(args.grammar, args.tokenizer, args.cache, args.max_tokens, replay=True,
                       frame_seconds=args.frame_seconds)
    elif args.phase == "load":
        result = _ours(args.grammar, args.tokenizer, args.cache, args.max_tokens, replay=False,
                       frame_seconds=args.frame_seconds)
    elif args.phase == "xgrammar":
        result = _xgrammar(args.grammar, args.tokenizer, args.max_tokens)
    else:
        result = _llguidance(args.grammar, args.tokenizer, args.max_tokens)
    print("RESULT " + json.dumps(result))


def _run_phase(phase: str, grammar: str, tokenizer: str, cache: str, max_tokens: int,
               frame_seconds: float | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "grammar_decode.bench.masks", "--worker", phase,
           "--grammar", grammar, "--tokenizer", tokenizer, "--cache", cache,
           "--max-tokens", str(max_tokens)]
    if frame_seconds is not None:
        cmd += ["--frame-seconds", str(frame_seconds)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
    return {"error": lines[-1][:160]}


def _median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from the results of several processes: the first run's fields, each number
    of a percentile block and the seconds replaced by its median over the runs without an
    error; ``runs`` keeps them all. All runs failed: the first error."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    out: dict[str, Any] = dict(ok[0], runs=runs)
    for key in ("seconds", "compile_seconds"):
        if key in out:
            out[key] = statistics.median(r[key] for r in ok)
    for key, block in ok[0].items():
        if isinstance(block, dict) and "p50_ms" in block and block["p50_ms"] is not None:
            out[key] = {name: statistics.median(r[key][name] for r in ok)
                        if name in ("p50_ms", "p99_ms") else value
                        for name, value in block.items()}
    return out


def _repeat_phase(runs: int, phase: str, grammar: str, tokenizer: str, max_tokens: int,
                  cache: str | None = None, frame_seconds: float | None = None
                  ) -> dict[str, Any]:
    """``_run_phase`` in ``runs`` fresh processes (each with an empty disk cache unless
    ``cache`` is given; the last run's cache is left in ``cache`` when it is), medians kept."""
    results = []
    for _ in range(runs):
        if cache is not None:
            for item in Path(cache).iterdir():  # every build starts from an empty cache
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        results.append(_run_phase(phase, grammar, tokenizer, cache or "", max_tokens,
                                  frame_seconds))
    return results[0] if runs == 1 else _median_of_runs(results)


def _peer_available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _fmt(d: dict[str, Any], key: str = "mask", rejections: bool = True) -> str:
    """``p50/p99`` in microseconds (and the count of tokens the engine rejected, if any and
    ``rejections``)."""
    if "error" in d:
        return "n/a"
    m = d.get(key) or {}
    if m.get("p50_ms") is None:
        return "-"
    note = f" ({d['rejected']} rej)" if rejections and d.get("rejected") else ""
    return f"{m['p50_ms'] * 1e3:.1f}/{m['p99_ms'] * 1e3:.0f}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammars", default=",".join(DEFAULT_GRAMMARS))
    parser.add_argument("--tokenizers", default=",".join(DEFAULT_TOKENIZERS))
    parser.add_argument("--max-tokens", type=int, default=400,
                        help="tokens replayed per (grammar, tokenizer), whole documents")
    parser.add_argument("--no-peers", action="store_true", help="skip XGrammar / llguidance")
    parser.add_argument("--runs", type=int, default=1,
                        help="processes per engine and row; figures are medians over them")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--frame-seconds", type=float,
                        help="warm()'s frame precompute budget (default: warm()'s own)")
    parser.add_argument("--worker", choices=("build", "load", "xgrammar", "llguidance"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--grammar", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.phase = args.worker
        _worker(args)
        return 0

    peers = [] if args.no_peers else [p for p in ("xgrammar", "llguidance")
                                      if _peer_available(p)]
    from grammar_decode import accel

    modules = accel.status()
    compiled = sum(kind == "compiled" for kind in modules.values())
    print(f"hot modules compiled: {compiled} of {len(modules)}"
          + (f" (as source: {', '.join(m for m, k in modules.items() if k == 'source')})"
             if compiled < len(modules) else ""))
    results = []
    header = (f"{'grammar':<11} {'vocab':<14} {'build s':>8} {'store MB':>8} "
              f"{'warm load s':>11} {'p50 us':>8} {'p99 us':>8} {'bool p50/p99 us':>16}"
              + "".join(f" {p + ' p50/p99 us':>24}" for p in peers))
    print(header)
    print("-" * len(header))
    for tokenizer in args.tokenizers.split(","):
        for grammar in args.grammars.split(","):
            with tempfile.TemporaryDirectory(prefix="gd-bench-") as cache:
                build = _repeat_phase(args.runs, "build", grammar, tokenizer, args.max_tokens,
                                      cache, args.frame_seconds)
                load = _run_phase("load", grammar, tokenizer, cache, args.max_tokens,
                                  args.frame_seconds)
            row = {"grammar": grammar, "tokenizer": tokenizer, "build": build, "load": load}
            for peer in peers:
                row[peer] = _repeat_phase(args.runs, peer, grammar, tokenizer, args.max_tokens)
            results.append(row)
            if "error" in build:
                print(f"{grammar:<11} {tokenizer:<14} error: {build['error']}")
                continue
            mask = build["mask"]
            vocab = f"{tokenizer} {build['vocab_size'] // 1000}k"
            rej = f" ({build['rejected']} rej)" if build.get("rejected") else ""
            print(f"{grammar:<11} {vocab:<14} {build['seconds']:>8.2f} "
                  f"{build['store_bytes'] / 2**20:>8.1f} "
                  f"{load.get('seconds', float('nan')):>11.2f} "
                  f"{mask['p50_ms'] * 1e3:>8.1f} {mask['p99_ms'] * 1e3:>8.0f}"
                  f" {_fmt(build, 'bool_mask', rejections=False):>16}{rej}"
                  + "".join(f" {_fmt(row[p]):>24}" for p in peers), flush=True)
    errors = [(r["grammar"], r["tokenizer"], k, r[k]["error"]) for r in results
              for k in ("build", "load", *peers) if "error" in r[k]]
    for grammar, tokenizer, what, error in errors:
        print(f"note: {what} {grammar}/{tokenizer}: {error}")
    print(f"build s = compile_grammar + warm() with an empty disk cache; warm load s = the same "
          "from the\ndisk cache; p50/p99 us = CPU time of fill_bitmask (int32 bitmask, as the "
          "peers) before each token of\nthe corpus documents (after a first pass, "
          f"{COLD_PASSES} passes pooled, parse caches cleared before each), one\nthread; "
          "bool = the same for fill_mask into a bool tensor"
          + (f"; warm(frame_seconds={args.frame_seconds})" if args.frame_seconds is not None
             else "")
          + (f"; medians over {args.runs} processes." if args.runs > 1 else "."))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
