"""The mask benchmark's aggregation over processes (the benchmark itself is not a test)."""

from __future__ import annotations

from grammar_decode.bench.masks import _median_of_runs


def _run(p50: float, p99: float, seconds: float) -> dict:
    return {"seconds": seconds, "vocab_size": 7, "rejected": 0,
            "mask": {"p50_ms": p50, "p99_ms": p99, "n": 100},
            "bool_mask": {"p50_ms": p50 * 2, "p99_ms": p99 * 2, "n": 100}}


def test_medians_per_figure_over_runs_without_errors() -> None:
    runs = [_run(0.05, 1.0, 3.0), {"error": "boom"}, _run(0.01, 9.0, 1.0), _run(0.03, 2.0, 2.0)]
    out = _median_of_runs(runs)
    assert out["mask"] == {"p50_ms": 0.03, "p99_ms": 2.0, "n": 100}  # each figure on its own
    assert out["bool_mask"]["p50_ms"] == 0.06 and out["bool_mask"]["p99_ms"] == 4.0
    assert out["seconds"] == 2.0 and out["vocab_size"] == 7
    assert out["runs"] == runs  # every run kept, the failed one too


def test_all_runs_failed_gives_the_first_error() -> None:
    assert _median_of_runs([{"error": "a"}, {"error": "b"}]) == {"error": "a"}


def test_missing_percentiles_stay_missing() -> None:
    empty = {"seconds": 1.0, "mask": {"p50_ms": None, "p99_ms": None, "n": 0}}
    assert _median_of_runs([empty, dict(empty)])["mask"]["p50_ms"] is None
