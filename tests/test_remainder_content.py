"""Remainder sets are named by their distinct remainder strings, and judgments are shared by name.

``RemainderSet.content`` gives a digest of the sorted distinct strings and, per (token, offset)
pair, the index of its string. Truth is plain Python over the vocabulary's bytes. The matcher
keeps a judgment without pops under that digest, so a set of other tokens with the same
remainders (``)\\n`` and ``]\\n`` after their first lexeme) reuses it; masks must not change
when nothing is shared (memo tables of size zero).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from grammar_corpus import grammar_text

compiler = pytest.importorskip("grammar_decode.compiler")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")
from grammar_decode.lru import LRU  # noqa: E402
from grammar_decode.maskstore.remainders import RemainderSet  # noqa: E402


def _pairs_by_suffix(vocab) -> dict[bytes, list[tuple[int, int]]]:
    found: dict[bytes, list[tuple[int, int]]] = {}
    for tid, data in enumerate(vocab.token_bytes):
        if data and len(data) <= 6:
            for off in range(1, len(data)):
                found.setdefault(data[off:], []).append((tid, off))
    return found


@pytest.mark.parametrize("tokenizer_name", ["gpt2", "qwen2.5", "mistral-v3"])
def test_content_names_the_distinct_remainder_strings(packaged_tokenizer, tmp_path,
                                                      tokenizer_name) -> None:
    vocab = compiler.compile_grammar('start: "x"\n', packaged_tokenizer(tokenizer_name),
                                     cache_dir=tmp_path).vocab
    by_suffix = _pairs_by_suffix(vocab)
    shared = [s for s, pairs in by_suffix.items() if len(pairs) >= 2]
    rng = random.Random(tokenizer_name)
    for _ in range(40):
        strings = rng.sample(shared, rng.randint(1, 12))
        first = [rng.choice(by_suffix[s]) for s in strings for _ in range(rng.randint(1, 2))]
        other = [rng.choice([p for p in by_suffix[s] if p not in first] or by_suffix[s])
                 for s in strings]
        a = RemainderSet(*map(np.array, zip(*first)))
        b = RemainderSet(*map(np.array, zip(*other)))
        digest_a, index_a, n_a = a.content(vocab)
        digest_b, index_b, n_b = b.content(vocab)
        assert digest_a == digest_b and n_a == n_b == len(set(strings))
        order = sorted(set(strings), key=lambda s: (len(s), s))  # numpy's order: length first
        for rs, index in ((a, index_a), (b, index_b)):
            for (tid, off), i in zip(zip(rs.tokens.tolist(), rs.offsets.tolist()), index):
                assert vocab.token_bytes[tid][off:] == order[i]
        if len(strings) > 1:  # one string fewer is another name
            fewer = [p for p in first if vocab.token_bytes[p[0]][p[1]:] != strings[0]]
            assert RemainderSet(*map(np.array, zip(*fewer))).content(vocab)[0] != digest_a


def test_a_trailing_zero_byte_is_another_string() -> None:
    from grammar_decode.vocab.vocabulary import TokenVocabulary

    # rows are zero-padded to the longest remainder: "xa" + pad and "xa\0" must differ
    vocab = TokenVocabulary([None, b"xa", b"xa\x00", b"xbc"], [0], name="test")
    short = RemainderSet(np.array([1, 3]), np.array([1, 1]))  # "a", "bc"
    zero = RemainderSet(np.array([2, 3]), np.array([1, 1]))  # "a\0", "bc"
    assert short.content(vocab)[0] != zero.content(vocab)[0]
    same = RemainderSet(np.array([3, 1]), np.array([1, 1]))  # order of pairs does not matter
    assert same.content(vocab)[0] == short.content(vocab)[0]
    assert same.content(vocab)[1].tolist() == [1, 0]


@pytest.mark.parametrize("name,prefixes", [
    ("arithmetic", ["(", "((1 + (2", "f(x, (y", "-(-(-(a"]),
    ("json", ['{"a": [1, [2, ', '[{"k": [[', '{"a": {"b": ']),
])
def test_equal_remainders_share_judgments_without_changing_masks(
        packaged_tokenizer, tmp_path, name, prefixes) -> None:
    tokenizer = packaged_tokenizer("qwen2.5")
    shared = compiler.compile_grammar(grammar_text(name), tokenizer, cache_dir=tmp_path)
    plain = compiler.compile_grammar(grammar_text(name), tokenizer, cache_dir=tmp_path)
    plain.mask_memo, plain.frame_memo, plain.verdicts = LRU(0), LRU(0), LRU(0)
    reused = 0
    for prefix in prefixes:
        a, b = (matcher_module.GrammarMatcher(c) for c in (shared, plain))
        assert a.accept_text(prefix) and b.accept_text(prefix)
        assert np.array_equal(a.allowed_mask(), b.allowed_mask()), prefix
        # read for a set of other pairs (the per-string verdict was derived), or of the same
        # pairs made again (the verdict's own tokens were handed over)
        reused += sum(v.viable is not None for v in shared.verdicts.values())
        kept = {id(v.tokens) for v in shared.verdicts.values()}
        reused += sum(id(j.tokens) in kept for j in shared.frame_memo.values())
    assert reused, "no judgment was read for another remainder set with the same strings"
