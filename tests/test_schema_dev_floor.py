"""Floors on a fixed seeded sample of JSONSchemaBench dev rows (see schema/check_dev.py):
grammar acceptance of canonical_json must match the `jsonschema` verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from grammar_decode.schema.check_dev import load_rows, run, sample_rows

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jsonschemabench" / "dev.jsonl.gz"
SAMPLE, SEED = 60, 1234


@pytest.fixture(scope="module")
def stats():
    if not DATA.exists():
        pytest.skip(f"dev data not found at {DATA}")
    return run(sample_rows(load_rows(DATA), SAMPLE, SEED), timeout=10.0)["ALL"]


def test_no_crashes(stats):
    assert stats.crashes == 0, stats.crash_examples


def test_schemas_with_all_instances_right(stats):
    assert stats.schemas == SAMPLE
    assert stats.all_right / SAMPLE >= 0.96, stats.wrong_keywords


def test_instances_right_and_declared_exact_is_exact(stats):
    assert stats.right / stats.instances >= 0.98
    assert not stats.wrong_examples, stats.wrong_examples  # declared exact => right


def test_declared_strict_coverage(stats):
    assert stats.strict_ok / SAMPLE >= 0.92
