"""Per engine (and per subset) metrics of each mode, with bootstrap confidence intervals."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Callable

import numpy as np

FAILED = ("compile_error", "timeout", "crash", "error")


def bootstrap_ci(values: list[float], n_boot: int = 100, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean (schemas resampled with replacement)."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def _share(flags: list[bool], n_boot: int, seed: int) -> dict[str, Any]:
    return {"value": float(np.mean(flags)) if flags else None, "n": len(flags),
            "ci": bootstrap_ci([float(f) for f in flags], n_boot, seed)}


def _quantiles(values: list[float], scale: float = 1.0) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    a = np.asarray(values, dtype=float) * scale
    return {"mean": float(a.mean()), "p50": float(np.quantile(a, 0.5)),
            "p90": float(np.quantile(a, 0.9)), "p99": float(np.quantile(a, 0.99)),
            "max": float(a.max())}


def _statuses(records: list[dict]) -> dict[str, int]:
    return dict(Counter(r.get("status", "?") for r in records))


def _gct(records: list[dict]) -> dict:
    return _quantiles([r["gct_s"] for r in records if r.get("status") == "ok"
                       and r.get("gct_s") is not None], 1e3)


def compile_metrics(records: list[dict], n_boot: int, seed: int) -> dict:
    return {"declared": _share([r.get("status") == "ok" for r in records], n_boot, seed),
            "gct_ms": _gct(records), "status": _statuses(records)}


def _instances(records: list[dict]) -> list[dict]:
    return [i for r in records for i in r.get("instances", ())]


def replay_metrics(records: list[dict], n_boot: int, seed: int) -> dict:
    inst = _instances(records)
    scored = [i for i in inst if i.get("correct") is not None]
    mask_us = [t for i in scored for t in i.get("mask_us", ())]
    return {
        "declared": _share([r.get("status") == "ok" for r in records], n_boot, seed),
        "passed_all": _share([bool(r.get("passed_all")) for r in records], n_boot, seed),
        "passed_all_compiled": _share([bool(r.get("passed_all")) for r in records
                                       if r.get("status") == "ok"], n_boot, seed),
        "instances": {"n": len(inst), "scored": len(scored),
                      "correct": sum(bool(i["correct"]) for i in scored),
                      "over": sum(i.get("kind") == "over" for i in scored),
                      "under": sum(i.get("kind") == "under" for i in scored),
                      "label_disagreements": sum(bool(i.get("label_disagrees")) for i in inst),
                      "truth_unavailable": sum(i.get("status") == "truth_unavailable"
                                               for i in inst),
                      "tokenization_mismatch": sum(i.get("status") == "tokenization_mismatch"
                                                   for i in inst),
                      "canonical_fallback": sum("canonical_fallback" in i for i in inst),
                      "mask_accept_mismatch": sum(i.get("mask_accept_mismatch", 0)
                                                  for i in scored)},
        "mask_us": _quantiles(mask_us), "n_masks": len(mask_us),
        "gct_ms": _gct(records), "status": _statuses(records)}


def generate_metrics(records: list[dict], n_boot: int, seed: int) -> dict:
    declared = _share([r.get("status") == "ok" for r in records], n_boot, seed)
    empirical = _share([bool(r.get("valid")) for r in records], n_boot, seed)
    ok = [r for r in records if r.get("status") == "ok"]
    return {
        "declared": declared, "empirical": empirical,
        "compliance": (empirical["value"] / declared["value"]) if declared["value"] else None,
        "gct_ms": _gct(records),
        "ttft_ms": _quantiles([r["ttft_s"] for r in ok if r.get("ttft_s") is not None], 1e3),
        "tpot_ms": _quantiles([r["tpot_s"] for r in ok if r.get("tpot_s") is not None], 1e3),
        "stop": dict(Counter(r.get("stop") for r in ok)),
        "status": _statuses(records)}


def testsuite_metrics(records: list[dict], n_boot: int, seed: int) -> dict:
    """Share of test-suite cases passed (per keyword file via the subsets breakdown)."""
    return {"passed": _share([bool(r.get("passed")) for r in records], n_boot, seed),
            "gct_ms": _gct(records), "status": _statuses(records)}


METRICS: dict[str, Callable[[list[dict], int, int], dict]] = {
    "compile": compile_metrics, "replay": replay_metrics, "generate": generate_metrics,
    "testsuite": testsuite_metrics}


def compile_error_keywords(records: list[dict]) -> dict[str, int]:
    """How many schemas each keyword made fail to compile (a schema may count for several)."""
    counts: Counter = Counter()
    for r in records:
        if r.get("status") == "compile_error":
            counts.update(r.get("error_keywords") or ["(unattributed)"])
    return dict(counts.most_common())


def summarize(mode: str, by_engine: dict[str, list[dict]], n_boot: int = 100,
              seed: int = 0) -> dict:
    """``{engine: {"all": metrics, "subsets": {subset: metrics}, "compile_errors": {...}}}``."""
    fn = METRICS[mode]
    out = {}
    for engine, records in sorted(by_engine.items()):
        subsets: dict[str, list[dict]] = defaultdict(list)
        for r in records:
            subsets[r.get("subset", "?")].append(r)
        out[engine] = {"all": fn(records, n_boot, seed),
                       "subsets": {s: fn(rs, n_boot, seed) for s, rs in sorted(subsets.items())},
                       "compile_errors": compile_error_keywords(records)}
    return out
