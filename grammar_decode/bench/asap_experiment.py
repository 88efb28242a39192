"""GCD vs ASAp on SyGuS problems (SLIA, INV-BV4) with the embedded SmolLM2, as in the GAD paper.

For each problem, GCD samples (a fresh trie per sample) and ASAp samples (one trie that learns)
are drawn alternately, so that load on the machine affects both alike. Outputs, in ``--out``:
``asap_<problem>.png`` (KL estimate and mean log-likelihood over the sample count) and
``asap_summary.json`` (per-sample records, bounds on Z, timings).

KL estimate. The target is Q(w) = P(w) / Z over grammatical w. A sample i is drawn from the
sampler's distribution Q_i at that moment, whose probability q_i(w_i) the sampler reports, so
``log q_i(w_i) - log P(w_i) + log Z`` is an unbiased one-sample estimate of KL(Q_i || Q). Z is
unknown but bracketed: the mass of the distinct grammatical samples seen (from both methods)
is a lower bound, and ASAp's c~ of the empty prefix an upper bound; the plot shades the band
between the two and draws the curve for the upper bound (a conservative KL). Samples cut off
by the token budget are left out of the KL and log-likelihood curves and counted separately.

Timing: seconds per sample, seconds per model call (node expansion), and the share of time
spent outside node expansions (descending the trie, drawing tokens, updating c~). Both methods
do the same work per expansion (grammar mask, forward pass, softmax), so that share is ASAp's
bookkeeping overhead; per sample, ASAp is usually faster than GCD because it reuses the stored
distributions of nodes it has already expanded.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gad"
DEFAULT_PROBLEMS = ["SLIA/bikes_small", "bv4/find_inv_bvsge_bvadd_4bit"]


@dataclass
class Record:
    """One sample of one method."""

    method: str
    text: str
    logprob: float
    sampler_logprob: float
    finished: bool
    truncated: bool
    n_tokens: int
    model_calls: int
    seconds: float
    expand_seconds: float   # part of ``seconds`` spent computing distributions of new nodes


def problem_files(problem: str, data: Path) -> tuple[Path, Path]:
    """Grammar and prompt files of ``<suite>/<name>`` (suite: SLIA or bv4)."""
    suite, name = problem.split("/", 1)
    grammar = data / "examples" / "sygus" / suite / f"{name}.ebnf"
    prompt = data / "prompts" / suite / f"{name}.txt"
    for path in (grammar, prompt):
        if not path.is_file():
            raise FileNotFoundError(f"{problem}: missing {path}")
    return grammar, prompt


def timed_sample(sampler: Any, prompt_ids: list[int], method: str) -> Record:
    before, expand_before = sampler.expansions, sampler.expand_seconds
    start = time.perf_counter()
    if method == "gcd":
        sampler.reset(prompt_ids)
    [s] = sampler.sample(prompt_ids, 1)
    seconds = time.perf_counter() - start
    return Record(method, s.text, s.logprob, s.sampler_logprob, s.finished, s.truncated,
                  len(s.token_ids), sampler.expansions - before, seconds,
                  sampler.expand_seconds - expand_before)


def run_problem(problem: str, model: Any, tokenizer: Any, *, n_samples: int,
                max_new_tokens: int, seed: int, data: Path) -> dict[str, Any]:
    """Draw ``n_samples`` per method for one problem; returns records, Z bounds, timings."""
    from grammar_decode.compiler import compile_grammar
    from grammar_decode.decoding.asap import ASApSampler

    grammar, prompt_file = problem_files(problem, data)
    compiled = compile_grammar(grammar, tokenizer)
    prompt_ids = list(tokenizer(prompt_file.read_text())["input_ids"])
    samplers = {method: ASApSampler(compiled, model, max_new_tokens=max_new_tokens,
                                    seed=seed + offset)
                for offset, method in enumerate(("gcd", "asap"))}
    for sampler in samplers.values():
        sampler.prefill(prompt_ids)
    records: dict[str, list[Record]] = {"gcd": [], "asap": []}
    for i in range(n_samples):
        for method, sampler in samplers.items():
            records[method].append(timed_sample(sampler, prompt_ids, method))
        print(f"  {problem} {i + 1}/{n_samples}: gcd {records['gcd'][-1].text[-40:]!r}  "
              f"asap {records['asap'][-1].text[-40:]!r}", flush=True)
    distinct = {r.text: r.logprob for rs in records.values() for r in rs if r.finished}
    z_low = float(sum(math.exp(lp) for lp in distinct.values()))
    z_high = samplers["asap"].bounds(prompt_ids)[1]
    return {"problem": problem, "prompt_tokens": len(prompt_ids), "z_bounds": [z_low, z_high],
            "records": {m: [asdict(r) for r in rs] for m, rs in records.items()}}


def curves(records: list[dict[str, Any]], log_z: float) -> dict[str, np.ndarray]:
    """Running KL estimate and running mean log-likelihood over the finished samples."""
    ok = [r for r in records if r["finished"]]
    n = np.arange(1, len(ok) + 1)
    kl_terms = np.array([r["sampler_logprob"] - r["logprob"] for r in ok]) + log_z
    loglik = np.array([r["logprob"] for r in ok])
    return {"n": n, "kl": np.cumsum(kl_terms) / n, "loglik": np.cumsum(loglik) / n}


def timing(records: list[dict[str, Any]]) -> dict[str, float]:
    seconds = sum(r["seconds"] for r in records)
    calls = sum(r["model_calls"] for r in records)
    sampler_seconds = seconds - sum(r["expand_seconds"] for r in records)
    return {"seconds_per_sample": seconds / max(len(records), 1),
            "seconds_per_model_call": seconds / max(calls, 1),
            "sampler_share": sampler_seconds / seconds if seconds else 0.0,
            "model_calls_per_sample": calls / max(len(records), 1),
            "truncated": sum(r["truncated"] for r in records),
            "finished": sum(r["finished"] for r in records)}


def plot_problem(result: dict[str, Any], out: Path) -> Path:
    """Save the KL and log-likelihood curves of GCD and ASAp for one problem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z_low, z_high = result["z_bounds"]
    fig, (ax_kl, ax_ll) = plt.subplots(1, 2, figsize=(10, 3.6))
    for method, colour, label in (("gcd", "tab:red", "GCD"), ("asap", "tab:blue", "ASAp")):
        records = result["records"][method]
        high = curves(records, math.log(z_high))
        if not len(high["n"]):
            continue
        low = curves(records, math.log(z_low)) if z_low > 0 else high
        ax_kl.plot(high["n"], high["kl"], color=colour, label=label)
        ax_kl.fill_between(high["n"], low["kl"], high["kl"], color=colour, alpha=0.2)
        ax_ll.plot(high["n"], high["loglik"], color=colour, label=label)
    ax_kl.set(xlabel="finished samples", title=result["problem"],
              ylabel="KL(sampler || P restricted to G), running mean")
    ax_ll.set(xlabel="finished samples", title=result["problem"],
              ylabel="mean log-likelihood log P(w)")
    for ax in (ax_kl, ax_ll):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / f"asap_{result['problem'].replace('/', '_')}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS,
                        help="problems as <suite>/<name>, suite SLIA or bv4 "
                             f"(default: {' '.join(DEFAULT_PROBLEMS)})")
    parser.add_argument("--samples", type=int, default=12, help="samples per method and problem")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="model folder (default: embedded SmolLM2)")
    parser.add_argument("--data", type=Path, default=DATA, help="GAD data folder")
    parser.add_argument("--out", type=Path, default=Path("results") / "asap")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)

    import torch

    from grammar_decode.models import load_model

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_model(args.model)
    results = []
    for problem in args.problems:
        print(f"{problem}:", flush=True)
        result = run_problem(problem, model, tokenizer, n_samples=args.samples,
                             max_new_tokens=args.max_new_tokens, seed=args.seed, data=args.data)
        result["timing"] = {m: timing(rs) for m, rs in result["records"].items()}
        result["plot"] = str(plot_problem(result, args.out))
        results.append(result)
        t = result["timing"]
        print(f"  Z in [{result['z_bounds'][0]:.3g}, {result['z_bounds'][1]:.3g}]; "
              f"s/sample gcd {t['gcd']['seconds_per_sample']:.2f} asap "
              f"{t['asap']['seconds_per_sample']:.2f}; s/model call gcd "
              f"{t['gcd']['seconds_per_model_call']:.3f} asap "
              f"{t['asap']['seconds_per_model_call']:.3f}; time outside model calls gcd "
              f"{t['gcd']['sampler_share']:.1%} asap {t['asap']['sampler_share']:.1%}; "
              f"plot {result['plot']}", flush=True)
    (args.out / "asap_summary.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
