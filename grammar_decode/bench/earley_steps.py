"""Earley step benchmark: the cost of one lexeme step, on the steps real mask queries make.

    python -m grammar_decode.bench.earley_steps [--grammars go_subset,sql_select]
                                                [--tokenizer qwen2.5] [--repeats 5]

The per-token mask time of multi-lexeme grammars (see ``grammar_decode.bench.masks``) is
dominated by Earley steps (``earley.scan_frame``) on parse states the masks reach; its
figures move with ``warm()``'s time budgets and with the machine's load. This script
isolates the step itself: it replays the corpus documents of each grammar once with cold
parse caches, records every ``scan_frame`` call the matcher makes, then times those calls
again (``--repeats`` rounds; the sets they return are kept alive, so the time is the
closure computation plus the intern lookup). Printed: steps per replayed token, and
microseconds per step (median and best round).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

from grammar_decode.bench.masks import DEFAULT_GRAMMARS, GRAMMARS, _token_streams


def measure(grammar: str, tokenizer: Any, max_tokens: int, repeats: int,
            cache_dir: Any = None) -> dict[str, Any]:
    """Record the lexeme steps of a cold replay of ``grammar``'s corpus and time them
    (``cache_dir`` as in ``compile_grammar``: where mask stores are kept)."""
    from grammar_decode.compiler import compile_grammar
    from grammar_decode.matcher import earley, matcher

    compiled = compile_grammar((GRAMMARS / f"{grammar}.lark").read_text(encoding="utf-8"),
                               tokenizer, cache_dir=cache_dir)
    compiled.warm(seconds=5.0, frame_seconds=0.0)
    streams = _token_streams(tokenizer, grammar, max_tokens)
    m = matcher.GrammarMatcher(compiled)

    def replay() -> None:
        for ids in streams:
            m.reset()
            for tid in ids:
                m.allowed_mask()
                m.accept_token(tid)

    replay()  # builds the mask stores the replay needs
    calls: list[tuple[Any, frozenset[int], Any]] = []
    real = matcher.scan_frame

    def record(g: Any, last: Any, terminals: frozenset[int]) -> Any:
        result = real(g, last, terminals)
        calls.append((last, terminals, result))
        return result

    compiled.clear_parse_caches()
    matcher.scan_frame = record
    try:
        replay()
    finally:
        matcher.scan_frame = real
    g = compiled.earley
    mismatches = sum(earley.scan_frame(g, last, t) != r for last, t, r in calls)
    rounds = []
    gc.collect()
    for _ in range(repeats):
        started = time.perf_counter()
        for last, terminals, _ in calls:
            earley.scan_frame(g, last, terminals)
        rounds.append((time.perf_counter() - started) / max(1, len(calls)) * 1e6)
    tokens = sum(len(ids) for ids in streams)
    return {"grammar": grammar, "tokens": tokens, "steps": len(calls),
            "steps_per_token": len(calls) / max(1, tokens),
            "us_per_step": statistics.median(rounds), "best_us_per_step": min(rounds),
            "mismatches": mismatches}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammars", default=",".join(DEFAULT_GRAMMARS))
    parser.add_argument("--tokenizer", default="qwen2.5")
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import torch

    from grammar_decode.vocab.packaged import load_tokenizer

    torch.set_num_threads(1)
    tokenizer = load_tokenizer(args.tokenizer)
    print(f"{'grammar':<11} {'tokens':>6} {'steps':>6} {'steps/token':>11} "
          f"{'us/step':>8} {'best':>6}")
    for grammar in args.grammars.split(","):
        r = measure(grammar, tokenizer, args.max_tokens, args.repeats)
        flag = f"  ({r['mismatches']} steps differ when redone!)" if r["mismatches"] else ""
        print(f"{grammar:<11} {r['tokens']:>6} {r['steps']:>6} {r['steps_per_token']:>11.1f} "
              f"{r['us_per_step']:>8.2f} {r['best_us_per_step']:>6.2f}{flag}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
