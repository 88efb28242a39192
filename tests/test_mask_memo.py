"""Memoised masks are shared between equal parse states and equal to recomputed ones.

Earley sets are interned by their future, so matchers that reach the same state through
different texts share one memoised mask. Under GPT-2, for every shipped grammar, a matcher
whose memo was filled by every corpus document (valid and invalid) gives, at seeded random
prefixes, exactly the masks and ``is_accepting`` of a matcher whose memo is disabled; the
memo must have been hit along the way. (The oracle tests check the masks themselves.)
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from grammar_corpus import SHIPPED, grammar_text, invalid_documents, valid_documents

compiler = pytest.importorskip("grammar_decode.compiler")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")
from grammar_decode.lru import LRU  # noqa: E402
from grammar_decode.vocab.vocabulary import TokenVocabulary  # noqa: E402

PREFIXES_PER_DOCUMENT = 6

# After "abc" and "abcbc" the lexer is in the same state (inside B, which needs a final "d")
# and the parse is the same, but longest match falls back to A after different pending
# bytes: "x" may follow only the first (A C X), "y" only the second (A C C Y).
BACKTRACK_GRAMMAR = r"""
start: A C X | A C C Y | B
A: "a"
B: /a(bc)*d/
C: "bc"
X: "x"
Y: "y"
"""


@pytest.fixture(scope="module")
def gpt2(packaged_tokenizer):
    return packaged_tokenizer("gpt2")


def test_equal_states_share_one_memoised_mask(gpt2, tmp_path) -> None:
    compiled = compiler.compile_grammar(grammar_text("json"), gpt2, cache_dir=tmp_path)
    first = matcher_module.GrammarMatcher(compiled)
    second = matcher_module.GrammarMatcher(compiled)
    assert first.accept_text('{"a": [1, {"b": null}, 2')
    assert second.accept_text('{"zz": [true, false, 3')
    mask = first.allowed_mask()
    entries = len(compiled.mask_memo)
    assert np.array_equal(second.allowed_mask(), mask)
    assert len(compiled.mask_memo) == entries  # answered from the memo
    other = matcher_module.GrammarMatcher(compiled)
    assert other.accept_text('{"zz": [[3')  # one level deeper: another state
    assert not np.array_equal(other.allowed_mask(), mask)
    assert len(compiled.mask_memo) > entries


def test_rollback_and_copy_reuse_memoised_masks(gpt2, tmp_path) -> None:
    compiled = compiler.compile_grammar(grammar_text("arithmetic"), gpt2, cache_dir=tmp_path)
    m = matcher_module.GrammarMatcher(compiled)
    assert m.accept_text("f(a, ")
    before = m.allowed_mask().copy()
    twin = m.copy()
    assert m.accept_text("b)") and twin.accept_text("c)")
    assert np.array_equal(m.allowed_mask(), twin.allowed_mask())
    entries = len(compiled.mask_memo)
    m.rollback(1)
    assert np.array_equal(m.allowed_mask(), before)
    assert len(compiled.mask_memo) == entries


def test_lru_forgets_the_least_recently_used_beyond_its_budget() -> None:
    lru = LRU(10)
    lru.put("a", 1, cost=4)
    lru.put("b", 2, cost=4)
    assert lru.get("a") == 1  # "b" is now the oldest
    lru.put("c", 3, cost=4)
    assert (lru.get("a"), lru.get("b"), lru.get("c"), lru.total) == (1, None, 3, 8)


def test_memo_tells_backtrack_points_apart(tmp_path) -> None:
    tokens = ["a", "b", "c", "d", "x", "y"]
    vocab = TokenVocabulary([None] + [t.encode() for t in tokens], [0], name="test")
    compiled = compiler.compile_grammar(BACKTRACK_GRAMMAR, vocab, cache_dir=tmp_path)
    allowed = {}
    for text in ("abc", "abcbc"):
        m = matcher_module.GrammarMatcher(compiled)
        assert m.accept_text(text)
        allowed[text] = {tokens[i - 1] for i in m.allowed_token_ids()}
    assert allowed == {"abc": {"b", "d", "x"}, "abcbc": {"b", "d", "y"}}


def _token_ids(tokenizer, data: bytes) -> list[int]:
    return tokenizer.encode(data.decode("utf-8"), add_special_tokens=False)


@pytest.mark.parametrize("name", SHIPPED)
def test_memoised_masks_equal_recomputed_masks(gpt2, tmp_path, name) -> None:
    memo = compiler.compile_grammar(grammar_text(name), gpt2, cache_dir=tmp_path)
    plain = compiler.compile_grammar(grammar_text(name), gpt2, cache_dir=tmp_path)
    plain.mask_memo = LRU(0)  # remembers nothing
    plain.frame_memo = plain.verdicts = LRU(0)
    docs = [ids for _, data in valid_documents(name) + invalid_documents(name)
            if (ids := _token_ids(gpt2, data))]
    m = matcher_module.GrammarMatcher(memo)
    for ids in docs:  # fill the memo along every document
        for tid in ids:
            m.allowed_mask()
            if not m.accept_token(tid):
                break
        m.reset()
    rng = random.Random(name)
    hits = checked = 0
    for ids in docs:
        m, reference = matcher_module.GrammarMatcher(memo), matcher_module.GrammarMatcher(plain)
        cuts = set(rng.sample(range(len(ids)), min(PREFIXES_PER_DOCUMENT, len(ids))))
        for step, tid in enumerate(ids):
            if step in cuts:
                entries = len(memo.mask_memo)
                mask = m.allowed_mask()
                hits += len(memo.mask_memo) == entries
                assert np.array_equal(mask, reference.allowed_mask()), (name, step)
                assert m.is_accepting() == reference.is_accepting(), (name, step)
                checked += 1
            if not m.accept_token(tid):
                assert not reference.accept_token(tid)
                break
            assert reference.accept_token(tid)
    assert checked and hits, (checked, hits)
    assert len(plain.mask_memo) == 0
