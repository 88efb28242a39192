"""Masks judged on Earley *frames* equal masks judged token by token from the exact parse.

Tokens that span several lexemes (runs of ``-`` or brackets, ``"),\\n"``...) are judged on the
frame of the parse state (origins below it replaced by BOTTOM) and memoised per frame, so
states at other nesting depths share the work; branches that pop out of a frame are redone
from the exact state. Truth here is the matcher's byte-level path (``accept_token`` on a copy),
which scans every lexeme on the exact Earley sets and never uses frames: at deep and shallow
prefixes, under GPT-2 and Qwen2.5, every multi-lexeme token and a random sample of the others
get the same verdict both ways, and popping and sharing did happen.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from grammar_corpus import grammar_text

compiler = pytest.importorskip("grammar_decode.compiler")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")

# (grammar, prefixes): nesting makes the exact sets differ while their frames repeat
CASES = [
    ("arithmetic", ["", "1 + ", "-(2 * ", "((-(1 + (-(3 ^ ", "((((((x - ((((-(1 + (-(3 ^ ",
                    "f(1, -g(2, ", "(((1))", "2 * (3 + 4", "a - - - - "]),
    ("sexpr", ["(", "(a (b (c ", "((((((((x ", "(define (f x) (if (< x 2) x (+ (f (- x 1"]),
    ("json", ['{"a": [', '[[[[[[{"k": [1, ', '{"a": {"b": {"c": [true, ', '[1, 2']),
    # tokens ending in runs of newlines, tabs, CR LF or a comment's slash after a bracket pop
    # out of the statement, and are settled as ignorable tails (remainders.ignorable_tails)
    ("go_subset", ["package p\nfunc f() {\n\tx := g(1, h(",
                   "package p\nfunc f() {\n\tif a {\n\t\tb(", "package p\nvar v = []int{1, "]),
]
SAMPLE = 1500


def _multi_lexeme(vocab, chars: bytes) -> list[int]:
    """Ids of tokens made only of ``chars`` with at least two bytes (several lexemes)."""
    allowed = set(chars)
    return [i for i, b in enumerate(vocab.token_bytes)
            if b and len(b) >= 2 and set(b) <= allowed]


@pytest.mark.parametrize("tokenizer_name", ["gpt2", "qwen2.5"])
@pytest.mark.parametrize("name,prefixes", CASES)
def test_frame_masks_equal_bytewise_verdicts(packaged_tokenizer, tmp_path, tokenizer_name,
                                             name, prefixes) -> None:
    compiled = compiler.compile_grammar(grammar_text(name), packaged_tokenizer(tokenizer_name),
                                        cache_dir=tmp_path)
    vocab = compiled.vocab
    special = _multi_lexeme(vocab, b"-+()[]{},: \n\t^*;\r/")
    rng = random.Random(f"{name}-{tokenizer_name}")
    pops = 0
    for prefix in prefixes:
        m = matcher_module.GrammarMatcher(compiled)
        assert m.accept_text(prefix), prefix
        mask = m.allowed_mask()
        ids = set(special) | set(rng.sample(range(len(vocab.token_bytes)), SAMPLE))
        ids |= set(rng.sample(np.flatnonzero(mask).tolist(), min(SAMPLE, int(mask.sum()))))
        for tid in sorted(ids):
            if tid in compiled.eos_token_ids:
                continue
            assert bool(mask[tid]) == m.copy().accept_token(tid), (prefix, vocab.token_bytes[tid])
        pops += sum(len(j.pops) for j in compiled.frame_memo.values())
    assert pops, "no branch popped out of a frame: the exact redo was not exercised"


def test_deeper_nesting_reuses_frame_judgments(packaged_tokenizer, tmp_path) -> None:
    compiled = compiler.compile_grammar(grammar_text("arithmetic"),
                                        packaged_tokenizer("qwen2.5"), cache_dir=tmp_path)
    shallow = matcher_module.GrammarMatcher(compiled)
    assert shallow.accept_text("((1 - ")
    shallow.allowed_mask()
    def walks() -> int:  # judgments kept with their pops, and those kept as verdicts
        return len(compiled.frame_memo) + len(compiled.verdicts)

    shallow_walks = walks()
    deep = matcher_module.GrammarMatcher(compiled)
    assert deep.accept_text("(((((((1 - ")  # other exact sets, same frames
    deep.allowed_mask()
    assert walks() <= shallow_walks + 2, (shallow_walks, walks())


def test_warm_frame_table_is_kept_and_gives_the_same_masks(packaged_tokenizer, tmp_path) -> None:
    from grammar_decode.lru import LRU

    tokenizer = packaged_tokenizer("qwen2.5")
    warmed = compiler.compile_grammar(grammar_text("arithmetic"), tokenizer, cache_dir=tmp_path)
    warmed.warm(seconds=3.0, frame_seconds=3.0)
    entries = len(warmed.frame_table)
    assert entries and warmed.frame_table_bytes > 0
    warmed.clear_parse_caches()
    assert len(warmed.frame_table) == entries
    plain = compiler.compile_grammar(grammar_text("arithmetic"), tokenizer, cache_dir=tmp_path)
    plain.mask_memo, plain.frame_memo, plain.verdicts = LRU(0), LRU(0), LRU(0)
    hits = 0
    for prefix in CASES[0][1]:
        a, b = (matcher_module.GrammarMatcher(c) for c in (warmed, plain))
        assert a.accept_text(prefix) and b.accept_text(prefix)
        frame = matcher_module.frame_of(warmed.earley, a._set)
        hits += any(key[0] is frame for key in warmed.frame_table)
        assert np.array_equal(a.allowed_mask(), b.allowed_mask()), prefix
    assert hits, "no prefix reached a precomputed frame"
    assert len(plain.frame_table) == 0
