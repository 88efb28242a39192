"""JSONSchemaBench-style harness and leaderboard for grammar-decode and peer engines.

Modes (``python -m jsonschema_bench <mode> ...`` or ``grammar-decode bench <mode> ...``):
``compile`` (declared coverage, grammar compilation time), ``replay`` (MaskBench-style: feed the
canonical text of every test instance token by token, time the full mask at each step),
``generate`` (greedy generation with a model: empirical coverage, compliance, TTFT, TPOT),
``testsuite`` (official JSON-Schema-Test-Suite, per keyword file) and ``report`` (Markdown/HTML
leaderboard, PNG charts, bootstrap confidence intervals) from saved JSONL results.

Only the public API of ``grammar_decode`` and of the peer libraries is used.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see :func:`jsonschema_bench.cli.main`)."""
    from jsonschema_bench.cli import main as cli_main

    return cli_main(argv)
