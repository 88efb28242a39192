"""The Earley step benchmark replays real steps: redone, each gives the very same set.

Sets are canonical (interned by their future), so a recorded ``scan_frame`` call redone on
the same inputs must return the identical object and pop flag; the benchmark counts any
difference. A small run on the arithmetic corpus under GPT-2 exercises the real mask path
(multi-lexeme tokens, frames, pops) and must see no difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from grammar_decode.bench.earley_steps import measure


def test_recorded_steps_redo_to_the_same_sets(packaged_tokenizer: Callable[[str], Any],
                                              tmp_path: Path) -> None:
    result = measure("arithmetic", packaged_tokenizer("gpt2"), max_tokens=60, repeats=1,
                     cache_dir=tmp_path)
    assert result["tokens"] > 0
    assert result["steps"] > result["tokens"]  # tokens crossing lexemes need several steps
    assert result["mismatches"] == 0
    assert result["us_per_step"] > 0
