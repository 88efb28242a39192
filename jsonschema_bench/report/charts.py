"""PNG charts: headline coverage per subset with bootstrap CIs, latency distributions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jsonschema_bench.report.tables import HEADLINE

HEADLINE_KEY = {"compile": "declared", "replay": "passed_all", "generate": "empirical",
                "testsuite": "passed"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def coverage_chart(mode: str, tokenizer: str, summary: dict[str, Any], path: Path) -> Path:
    """Grouped bars (one group per subset, plus "all"), error bars = 95% bootstrap CI."""
    plt = _pyplot()
    key = HEADLINE_KEY[mode]
    engines = sorted(summary)
    groups = ["all"] + sorted({s for e in engines for s in summary[e]["subsets"]})
    width = 0.8 / max(1, len(engines))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(groups) * max(1, len(engines))), 4.2))
    x = np.arange(len(groups))
    for k, e in enumerate(engines):
        vals, lo, hi = [], [], []
        for g in groups:
            m = summary[e]["all"] if g == "all" else summary[e]["subsets"].get(g)
            share = m[key] if m else None
            v = share["value"] if share and share["value"] is not None else np.nan
            ci = share.get("ci") if share else None
            vals.append(v)
            lo.append(v - ci[0] if ci else 0.0)
            hi.append(ci[1] - v if ci else 0.0)
        ax.bar(x + (k - (len(engines) - 1) / 2) * width, np.array(vals) * 100, width,
               yerr=np.array([lo, hi]) * 100, capsize=2, label=e)
    ax.set_xticks(x, groups, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(f"{HEADLINE[mode]} (%)", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_title(f"{mode} — {tokenizer}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latencies(mode: str, records: list[dict]) -> dict[str, list[float]]:
    ok = [r for r in records if r.get("status") == "ok"]
    out = {"grammar compilation (ms)": [r["gct_s"] * 1e3 for r in ok if r.get("gct_s")]}
    if mode in ("replay", "testsuite"):
        out["mask per token (µs)"] = [t for r in ok for i in r.get("instances", ())
                                     for t in i.get("mask_us", ())]
    if mode == "generate":
        out["mask per token (µs)"] = [t for r in ok for t in r.get("mask_us", ())]
        out["TPOT (ms)"] = [r["tpot_s"] * 1e3 for r in ok if r.get("tpot_s")]
        out["TTFT (ms)"] = [r["ttft_s"] * 1e3 for r in ok if r.get("ttft_s")]
    return out


def latency_chart(mode: str, tokenizer: str, by_engine: dict[str, list[dict]], path: Path
                  ) -> Path:
    """One box plot (log scale, whiskers 1-99%) per latency measure, one box per engine."""
    plt = _pyplot()
    engines = sorted(by_engine)
    per_engine = {e: _latencies(mode, by_engine[e]) for e in engines}
    measures = list(next(iter(per_engine.values())))
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        data = [np.maximum(np.asarray(per_engine[e][measure] or [np.nan]), 1e-3)
                for e in engines]
        ax.boxplot(data, whis=(1, 99), showfliers=False)
        ax.set_xticks(range(1, len(engines) + 1), engines, rotation=20, fontsize=8)
        ax.set_yscale("log")
        ax.set_title(measure, fontsize=9)
    fig.suptitle(f"{mode} — {tokenizer}: latency distributions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
