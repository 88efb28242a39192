"""warm()'s frame table on disk (``matcher/frame_table.py``).

A process that loads a grammar from the disk cache reads the frame judgments an earlier one
precomputed. Truth here: the table read back equals the one written, entry by entry (tokens
as sets, pops with their lexemes and remainder pairs); a second process that only reads it
gets the masks of a matcher without any table or memo at every position of the corpus
documents; a corrupt file is removed and judged again; another grammar or other sources do
not read it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from grammar_corpus import REPO, grammar_text, valid_documents

compiler = pytest.importorskip("grammar_decode.compiler")
frame_table = pytest.importorskip("grammar_decode.matcher.frame_table")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")
earley = pytest.importorskip("grammar_decode.matcher.earley")

GRAMMAR = "sql_select"  # its frames pop, so judgments carry pops with remainder sets


def _token_ids(tokens: tuple, size: int) -> set[int]:
    ids: set[int] = set()
    if tokens[0] is not None:
        bits = np.unpackbits(tokens[0], bitorder="little")[:size]
        ids |= set(np.flatnonzero(bits).tolist())
    for part in tokens[1:]:
        ids |= set(part.tolist())
    return ids


def _named(compiled) -> dict:
    """The table with frames named by content and values as plain data."""
    mask = compiled.earley.rule_mask
    out = {}
    for (frame, key), kept in compiled.frame_table.items():
        name = (frame.part.predicted, frame.accepting,
                tuple(item & mask for item in frame.kernel))
        value = [sorted(_token_ids(kept.tokens, compiled.vocab_size))]
        if isinstance(kept, matcher_module._Verdict):
            value += [kept.rs.pairs_key(), kept.content[0], kept.content[1].tolist(),
                      kept.content[2]]
        else:
            pops = kept.pops
            value += [[(pops[i], pops[i + 1], pops[i + 2].pairs_key())
                       for i in range(0, len(pops), 3)]]
        out[(name, key)] = value
    return out


@pytest.fixture(scope="module")
def written(packaged_tokenizer, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    compiled = compiler.compile_grammar(grammar_text(GRAMMAR), packaged_tokenizer("gpt2"),
                                        cache_dir=cache)
    compiled.warm(seconds=2.0, frame_seconds=2.0)
    return compiled, cache


def test_the_table_read_back_equals_the_table_written(written, packaged_tokenizer) -> None:
    compiled, cache = written
    path = frame_table.table_path(compiled)
    assert path is not None and path.exists()
    assert any(kept.pops for kept in compiled.frame_table.values()
               if isinstance(kept, matcher_module._Judged))
    again = compiler.compile_grammar(grammar_text(GRAMMAR), packaged_tokenizer("gpt2"),
                                     cache_dir=cache)
    assert frame_table.table_path(again) == path
    assert frame_table.load(again, path) == len(compiled.frame_table)
    assert again.frame_table_bytes == compiled.frame_table_bytes
    assert _named(again) == _named(compiled)
    frames = {id(frame) for frame, _ in again.frame_table}
    assert all(earley.frame_of(again.earley, frame) is frame  # canonical frames
               for frame, _ in again.frame_table)
    assert len(frames) > 10


CHILD = """
import json, sys
import numpy as np
from grammar_corpus import grammar_text, valid_documents
from grammar_decode.compiler import compile_grammar
from grammar_decode.lru import LRU
from grammar_decode.matcher.earley import frame_of
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.packaged import load_tokenizer

tokenizer = load_tokenizer("gpt2")
loaded = compile_grammar(grammar_text(sys.argv[1]), tokenizer, cache_dir=sys.argv[2])
loaded.warm(seconds=1.0, frame_seconds=0.0)
plain = compile_grammar(grammar_text(sys.argv[1]), tokenizer, cache_dir=False)
plain.mask_memo, plain.frame_memo, plain.verdicts = LRU(0), LRU(0), LRU(0)
frames = {frame for frame, _ in loaded.frame_table}
states = on_table = 0
for _, data in valid_documents(sys.argv[1]):
    a, b = GrammarMatcher(loaded), GrammarMatcher(plain)
    for tid in tokenizer.encode(data.decode("utf-8")):
        assert np.array_equal(a.allowed_bitmask(), b.allowed_bitmask()), (data, states)
        on_table += frame_of(loaded.earley, a._set) in frames
        states += 1
        assert a.accept_token(tid) and b.accept_token(tid)
print(json.dumps({"entries": len(loaded.frame_table), "states": states,
                  "on_table": on_table}))
"""


def test_another_process_reads_the_table_and_gets_exact_masks(written) -> None:
    compiled, cache = written
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO)]),
               PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", CHILD, GRAMMAR, str(cache)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["entries"] == len(compiled.frame_table)
    assert report["states"] > 200 and report["on_table"] > 50, report
    assert valid_documents(GRAMMAR)


def test_a_corrupt_table_is_removed_and_judged_again(packaged_tokenizer, tmp_path) -> None:
    tokenizer = packaged_tokenizer("gpt2")
    first = compiler.compile_grammar(grammar_text("arithmetic"), tokenizer, cache_dir=tmp_path)
    first.warm(seconds=1.0, frame_seconds=1.0)
    path = frame_table.table_path(first)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    second = compiler.compile_grammar(grammar_text("arithmetic"), tokenizer, cache_dir=tmp_path)
    assert frame_table.load(second, path) == 0 and not second.frame_table
    assert not path.exists()
    second.warm(seconds=1.0, frame_seconds=1.0)
    assert path.exists() and second.frame_table
    third = compiler.compile_grammar(grammar_text("arithmetic"), tokenizer, cache_dir=tmp_path)
    assert frame_table.load(third, path) == len(second.frame_table)


def test_the_file_is_named_by_grammar_vocabulary_and_sources(packaged_tokenizer, tmp_path,
                                                              monkeypatch) -> None:
    gpt2 = packaged_tokenizer("gpt2")
    arithmetic = compiler.compile_grammar(grammar_text("arithmetic"), gpt2, cache_dir=tmp_path)
    path = frame_table.table_path(arithmetic)
    other = compiler.compile_grammar(grammar_text("arithmetic") + "\n%ignore \"#\"\n", gpt2,
                                     cache_dir=tmp_path)
    qwen = compiler.compile_grammar(grammar_text("arithmetic"), packaged_tokenizer("qwen2.5"),
                                    cache_dir=tmp_path)
    assert len({path, frame_table.table_path(other), frame_table.table_path(qwen)}) == 3
    monkeypatch.setattr(frame_table, "_sources_digest", "edited sources")
    assert frame_table.table_path(arithmetic) != path
    uncached = compiler.compile_grammar(grammar_text("arithmetic"), gpt2, cache_dir=False)
    assert frame_table.table_path(uncached) is None
    uncached.warm(seconds=1.0, frame_seconds=1.0)  # judged in memory, nothing written
    assert uncached.frame_table and not list(tmp_path.rglob("*.frames"))
