"""GCD vs ASAp on SyGuS problems (SLIA, INV-BV4) with the embedded SmolLM2, as in the GAD paper.

For each problem, GCD samples (a fresh trie per sample) and ASAp samples (one trie that learns)
are drawn alternately, so that load on the machine affects both alike. Outputs, in ``--out``:
``asap_<problem>.png`` (KL and mean log-likelihood over the sample count), ``asap_results.json``
(every sample) and ``asap_summary.json`` (per problem: curve checkpoints, failures, timings).

KL, as in the paper: the exact target Q (the model conditioned on the grammar) is intractable,
so it is replaced by P renormalised over the union U of the distinct grammatical outputs that
either method drew in the whole run, P_U(w) = P(w) / sum of P over U. After n samples of a
method, the curve shows KL(E_n || P_U), E_n being the empirical distribution of that method's
grammatical samples among its first n. Outputs are compared as token sequences (the samplers'
unit), EOS included. Mean log-likelihood: the running mean of log P(w | prompt) over the same
samples. A sample that reaches ``--max-new-tokens`` without finishing (truncated) or reaches a
prefix no token can continue (dead end) is a failure: it counts in n but not in E_n or the mean.
A sound check needs no estimate of Q: ASAp's trie bounds Z (mass of its distinct grammatical
samples below, c~ of the empty prefix above), which bounds Q of the most probable output seen;
the summary gives those bounds and how often each method drew that output.

Timing, like with like: both methods run the same sampler code on the same model, each with
its own KV cache of the prompt computed before timing starts, the same ``--max-new-tokens``,
alternating. Reported: seconds per sample, seconds per model call (one call expands one trie
node: grammar mask, forward pass over the tokens not yet in the KV cache, softmax), model calls
per sample, and the share of time outside model calls (trie walk, draws, c~ updates). ASAp
needs fewer model calls per sample as its trie fills (it reuses stored distributions), so its
per-sample time can fall below GCD's; its overhead shows in the per-call time and that share.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gad"
DEFAULT_PROBLEMS = ["SLIA/bikes_small", "bv4/find_inv_bvsge_bvadd_4bit"]
METHODS = ("gcd", "asap")


@dataclass
class Record:
    """One sample of one method."""

    method: str
    text: str
    token_ids: list[int]
    logprob: float          # log P(token_ids | prompt), EOS included
    sampler_logprob: float  # log-probability that the sampler drew exactly these tokens
    finished: bool
    truncated: bool
    model_calls: int
    seconds: float
    expand_seconds: float   # part of ``seconds`` spent in model calls (node expansions)


def problem_files(problem: str, data: Path) -> tuple[Path, Path]:
    """Grammar and prompt files of ``<suite>/<name>`` (suite: SLIA or bv4)."""
    suite, _, name = problem.partition("/")
    grammar = data / "examples" / "sygus" / suite / f"{name}.ebnf"
    prompt = data / "prompts" / suite / f"{name}.txt"
    for path in (grammar, prompt):
        if not path.is_file():
            raise FileNotFoundError(f"{problem}: missing {path}")
    return grammar, prompt


def timed_sample(sampler: Any, prompt_ids: list[int], method: str) -> Record:
    """Draw one sample; GCD forgets its trie first, so every GCD sample starts from scratch."""
    before, expand_before = sampler.expansions, sampler.expand_seconds
    start = time.perf_counter()
    if method == "gcd":
        sampler.reset(prompt_ids)
    [s] = sampler.sample(prompt_ids, 1)
    seconds = time.perf_counter() - start
    return Record(method, s.text, s.token_ids, s.logprob, s.sampler_logprob, s.finished,
                  s.truncated, sampler.expansions - before, seconds,
                  sampler.expand_seconds - expand_before)


def compare(compiled: Any, model: Any, prompt_ids: list[int], *, n_samples: int,
            max_new_tokens: int, seed: int, max_seconds: float = math.inf,
            label: str = "") -> dict[str, Any]:
    """Draw up to ``n_samples`` per method, alternating GCD and ASAp (fewer if sampling takes
    longer than ``max_seconds``; both methods always have the same count)."""
    from grammar_decode.decoding.asap import ASApSampler

    samplers = {method: ASApSampler(compiled, model, max_new_tokens=max_new_tokens,
                                    seed=seed + offset)
                for offset, method in enumerate(METHODS)}
    for sampler in samplers.values():
        sampler.prefill(prompt_ids)
    records: dict[str, list[Record]] = {method: [] for method in METHODS}
    start = time.perf_counter()
    for i in range(n_samples):
        for method, sampler in samplers.items():
            records[method].append(timed_sample(sampler, prompt_ids, method))
        if label:
            print(f"  {label} {i + 1}/{n_samples}: " + "  ".join(
                f"{m} {records[m][-1].logprob:7.2f} {records[m][-1].text[-32:]!r}"
                for m in METHODS), flush=True)
        if time.perf_counter() - start > max_seconds:
            break
    return {"prompt_tokens": len(prompt_ids), "max_new_tokens": max_new_tokens,
            "z_bounds_asap": list(samplers["asap"].bounds(prompt_ids)),
            "records": {m: [asdict(r) for r in rs] for m, rs in records.items()}}


def renormalised_target(records: dict[str, list[dict[str, Any]]]) -> dict[tuple[int, ...], float]:
    """log P_U: log P renormalised over the distinct finished samples of all methods."""
    logp = {tuple(r["token_ids"]): r["logprob"]
            for rs in records.values() for r in rs if r["finished"]}
    if not logp:
        return {}
    values = np.array(list(logp.values()))
    log_z = float(values.max() + np.log(np.exp(values - values.max()).sum()))
    return {key: value - log_z for key, value in logp.items()}


def curves(records: list[dict[str, Any]], target: dict[tuple[int, ...], float]
           ) -> dict[str, np.ndarray]:
    """Per sample count n = 1..N: KL(E_n || P_U), mean log P over the finished samples among
    the first n (NaN while there are none), and the number of failures so far."""
    counts: Counter[tuple[int, ...]] = Counter()
    sum_c_log_c = sum_log_target = sum_logprob = 0.0
    finished = 0
    kl, loglik, failures = [], [], []
    for r in records:
        if r["finished"]:
            key = tuple(r["token_ids"])
            c = counts[key]
            sum_c_log_c += (c + 1) * math.log(c + 1) - (c * math.log(c) if c else 0.0)
            counts[key] = c + 1
            sum_log_target += target[key]
            sum_logprob += r["logprob"]
            finished += 1
        # sum_w (c_w/m) log((c_w/m) / P_U(w)) with m finished samples
        kl.append(sum_c_log_c / finished - math.log(finished) - sum_log_target / finished
                  if finished else math.nan)
        loglik.append(sum_logprob / finished if finished else math.nan)
        failures.append(len(kl) - finished)
    return {"n": np.arange(1, len(records) + 1), "kl": np.array(kl),
            "loglik": np.array(loglik), "failures": np.array(failures)}


def timing(records: list[dict[str, Any]]) -> dict[str, float]:
    """Per-sample and per-model-call times, model calls per sample, time outside model calls."""
    n = max(len(records), 1)
    seconds = sum(r["seconds"] for r in records)
    calls = sum(r["model_calls"] for r in records)
    outside = seconds - sum(r["expand_seconds"] for r in records)
    return {"seconds_per_sample": round(seconds / n, 4),
            "seconds_per_model_call": round(seconds / max(calls, 1), 5),
            "model_calls_per_sample": round(calls / n, 2),
            "outside_model_calls_share": round(outside / seconds, 5) if seconds else 0.0}


def summarise(problem: str, result: dict[str, Any],
              checkpoints: tuple[int, ...] = (1, 10, 25, 50, 100, 150, 200, 300, 500)
              ) -> dict[str, Any]:
    """The per-problem summary: curve values at checkpoints and at the end, failures, timing,
    and ASAp's per-sample and per-call time relative to GCD (positive = ASAp slower)."""
    records = result["records"]
    target = renormalised_target(records)
    out: dict[str, Any] = {"problem": problem, "prompt_tokens": result["prompt_tokens"],
                           "max_new_tokens": result["max_new_tokens"],
                           "samples_per_method": len(records["gcd"]),
                           "distinct_outputs_both_methods": len(target),
                           "z_bounds_asap": result["z_bounds_asap"], "methods": {}}
    for method in METHODS:
        rs = records[method]
        c = curves(rs, target)
        finished = [r for r in rs if r["finished"]]
        at = {str(k): {"kl": _num(c["kl"][k - 1]), "mean_loglik": _num(c["loglik"][k - 1])}
              for k in checkpoints if k <= len(rs)}
        out["methods"][method] = {
            "final_kl": _num(c["kl"][-1]) if len(rs) else None,
            "final_mean_loglik": _num(c["loglik"][-1]) if len(rs) else None,
            "at_samples": at,
            "finished": len(finished),
            "truncated": sum(r["truncated"] for r in rs),
            "dead_ends": sum(not r["finished"] and not r["truncated"] for r in rs),
            "distinct_outputs": len({tuple(r["token_ids"]) for r in finished}),
            "timing": timing(rs)}
    out["most_probable_output"] = mode_check(records, tuple(result["z_bounds_asap"]))
    gcd, asap = (out["methods"][m]["timing"] for m in METHODS)
    out["asap_vs_gcd_percent"] = {
        key: round(100 * (asap[key] / gcd[key] - 1), 2) if gcd[key] else None
        for key in ("seconds_per_sample", "seconds_per_model_call")}
    return out


def mode_check(records: dict[str, list[dict[str, Any]]], z_bounds: tuple[float, float]
               ) -> dict[str, Any] | None:
    """The most probable output seen, with sound bounds on its probability under the exact
    target Q = P / Z (from ASAp's bounds on Z) and its frequency among each method's
    grammatical samples: a sampler that has converged draws it with a frequency in the bounds."""
    finished = {m: [r for r in rs if r["finished"]] for m, rs in records.items()}
    seen = [r for rs in finished.values() for r in rs]
    if not seen:
        return None
    best = max(seen, key=lambda r: r["logprob"])
    p = math.exp(best["logprob"])
    z_low, z_high = z_bounds
    return {"text": best["text"], "logprob": round(best["logprob"], 4),
            "q_bounds": [p / z_high, min(1.0, p / z_low)],
            "frequency": {m: sum(r["token_ids"] == best["token_ids"] for r in rs) / len(rs)
                          if rs else None for m, rs in finished.items()}}


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)


def plot_problem(problem: str, result: dict[str, Any], out: Path) -> Path:
    """Save the KL and mean log-likelihood curves of GCD and ASAp for one problem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = renormalised_target(result["records"])
    fig, (ax_kl, ax_ll) = plt.subplots(1, 2, figsize=(10, 3.6))
    for method, colour, label in (("gcd", "tab:red", "GCD"), ("asap", "tab:blue", "ASAp")):
        c = curves(result["records"][method], target)
        failed = f" ({int(c['failures'][-1])} failed)" if len(c["n"]) and c["failures"][-1] else ""
        ax_kl.plot(c["n"], c["kl"], color=colour, label=label + failed)
        ax_ll.plot(c["n"], c["loglik"], color=colour, label=label)
    ax_kl.set(xlabel="samples", ylabel="KL(empirical || P renormalised)", title=problem)
    ax_ll.set(xlabel="samples", ylabel="mean log P(output | prompt)", title=problem)
    for ax in (ax_kl, ax_ll):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / f"asap_{problem.replace('/', '_')}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_outputs(results: dict[str, dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """Write every sample, the summary and one plot per problem into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "asap_results.json").write_text(json.dumps(results))
    summary = [summarise(problem, result) for problem, result in results.items()]
    (out / "asap_summary.json").write_text(json.dumps(summary, indent=1))
    for problem, result in results.items():
        plot_problem(problem, result, out)
    return summary


def print_summary(s: dict[str, Any]) -> None:
    g, a = s["methods"]["gcd"], s["methods"]["asap"]
    pct = s["asap_vs_gcd_percent"]
    print(f"  {s['problem']}: {s['samples_per_method']} samples/method, "
          f"{s['distinct_outputs_both_methods']} distinct outputs; KL gcd {g['final_kl']} "
          f"asap {a['final_kl']}; mean log P gcd {g['final_mean_loglik']} asap "
          f"{a['final_mean_loglik']}; truncated gcd {g['truncated']} asap {a['truncated']}; "
          f"dead ends gcd {g['dead_ends']} asap {a['dead_ends']}", flush=True)
    print(f"    s/sample gcd {g['timing']['seconds_per_sample']:.3f} asap "
          f"{a['timing']['seconds_per_sample']:.3f} ({pct['seconds_per_sample']:+.1f}%); "
          f"s/model call gcd {g['timing']['seconds_per_model_call']:.4f} asap "
          f"{a['timing']['seconds_per_model_call']:.4f} ({pct['seconds_per_model_call']:+.1f}%); "
          f"model calls/sample gcd {g['timing']['model_calls_per_sample']:.1f} asap "
          f"{a['timing']['model_calls_per_sample']:.1f}; time outside model calls gcd "
          f"{g['timing']['outside_model_calls_share']:.2%} asap "
          f"{a['timing']['outside_model_calls_share']:.2%}", flush=True)
    if s["most_probable_output"]:
        best = s["most_probable_output"]
        print(f"    most probable output seen (log P {best['logprob']}): Q in "
              f"[{best['q_bounds'][0]:.3f}, {best['q_bounds'][1]:.3f}]; frequency gcd "
              f"{best['frequency']['gcd']:.3f} asap {best['frequency']['asap']:.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS,
                        help="problems as <suite>/<name>, suite SLIA or bv4 "
                             f"(default: {' '.join(DEFAULT_PROBLEMS)})")
    parser.add_argument("--samples", type=int, default=12, help="samples per method and problem")
    parser.add_argument("--minutes", type=float, default=math.inf,
                        help="stop a problem's sampling after this many minutes (default: none)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="model folder (default: embedded SmolLM2)")
    parser.add_argument("--data", type=Path, default=DATA, help="GAD data folder")
    parser.add_argument("--out", type=Path, default=Path("results") / "asap")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--replot", action="store_true",
                        help="only rewrite the summary and plots from <out>/asap_results.json")
    args = parser.parse_args(argv)

    if args.replot:
        results = json.loads((args.out / "asap_results.json").read_text())
        for summary in write_outputs(results, args.out):
            print_summary(summary)
        return 0

    import torch

    from grammar_decode.compiler import compile_grammar
    from grammar_decode.models import load_model

    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(args.model)
    results: dict[str, dict[str, Any]] = {}
    for problem in args.problems:
        grammar, prompt_file = problem_files(problem, args.data)
        compiled = compile_grammar(grammar, tokenizer)
        prompt_ids = list(tokenizer(prompt_file.read_text())["input_ids"])
        print(f"{problem}: {len(prompt_ids)} prompt tokens", flush=True)
        results[problem] = compare(compiled, model, prompt_ids, n_samples=args.samples,
                                   max_new_tokens=args.max_new_tokens, seed=args.seed,
                                   max_seconds=60 * args.minutes, label=problem)
        summary = write_outputs(results, args.out)   # after each problem: partial runs count
        print_summary(summary[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
