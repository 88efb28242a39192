"""The instruction-count benchmark runs a source tree under callgrind and counts only the
cold replays: the same tree counted twice gives the same figure within 0.5% (what makes it
usable for A/B decisions that process timings on this machine cannot settle)."""

from __future__ import annotations

import re
import shutil

import pytest

from grammar_decode.bench import instructions


@pytest.mark.skipif(not all(shutil.which(tool) for tool in instructions.TOOLS),
                    reason="needs valgrind")
def test_the_same_tree_counts_the_same_instructions(capsys) -> None:
    tree = instructions.REPO
    assert instructions.main(["--grammars", "sexpr", "--tokenizer", "gpt2", "--passes", "1",
                              "--trees", str(tree), str(tree)]) == 0
    rows = re.findall(r"^sexpr\s+\S+\s+([\d,]+) instr\s+([\d,]+)/token\s+x([\d.]+)",
                      capsys.readouterr().out, re.M)
    assert len(rows) == 2
    counts = [int(row[0].replace(",", "")) for row in rows]
    # outside the allocator the documented spread of one tree's counts is ~0.03%
    assert counts[0] > 1_000_000 and abs(counts[1] - counts[0]) <= counts[0] // 200


def test_allocator_cost_counts_glibc_malloc_functions_only() -> None:
    """The figure compared leaves out glibc's allocator (its free lists make the counts of
    the same work differ between processes): its functions by source folder or internal
    name, in libc only; Python's own allocator and libc's other functions stay counted."""
    libc, python = "[/usr/lib/x86_64-linux-gnu/libc.so.6]", "[/usr/lib/libpython3.11.so.1.0]"
    report = "\n".join([
        "17,303,307 (100.0%)  PROGRAM TOTALS",
        f"   90,506 ( 0.52%)  ./malloc/./malloc/malloc.c:_int_malloc {libc}",
        f"    8,361 ( 0.05%)  ./malloc/./malloc/malloc.c:free {libc}",
        f"    1,000 ( 0.01%)  ???:unlink_chunk.constprop.0 {libc}",
        f"      100 ( 0.00%)  ???:_int_free {libc}",
        f"  249,653 ( 1.44%)  ./string/../sysdeps/x86_64/multiarch/memmove-vec.S:__memcpy {libc}",
        f"  200,218 ( 1.16%)  Objects/obmalloc.c:_PyObject_Malloc {python}",
        f"      500 ( 0.00%)  Objects/x.c:_int_malloc {python}",
    ])
    assert instructions.allocator_cost(report) == 90_506 + 8_361 + 1_000 + 100


def test_rejects_a_folder_that_is_not_a_source_tree(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        instructions.main(["--trees", str(tmp_path)])
    assert "is not a source tree" in capsys.readouterr().err


@pytest.mark.skipif(not all(shutil.which(tool) for tool in instructions.TOOLS),
                    reason="needs valgrind")
def test_table_mode_counts_with_the_frame_table_an_ordinary_process_made(capsys) -> None:
    """``--table``: the counted child reads the frame table that warm() made beforehand (the
    row says how many judgments it holds), and the same tree counts the same twice (the
    table is made afresh each time, with budgets its plan ends within)."""
    tree = instructions.REPO
    assert instructions.main(["--grammars", "sexpr", "--tokenizer", "gpt2", "--passes", "1",
                              "--table", "--trees", str(tree), str(tree)]) == 0
    rows = re.findall(r"^sexpr\s+\S+\s+([\d,]+) instr.*frame table (\d+)$",
                      capsys.readouterr().out, re.M)
    assert len(rows) == 2
    counts = [int(row[0].replace(",", "")) for row in rows]
    tables = {int(row[1]) for row in rows}
    assert len(tables) == 1 and tables.pop() > 100
    assert abs(counts[1] - counts[0]) <= counts[0] // 200
