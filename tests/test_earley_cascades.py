"""Cached completions (``earley._cascade``) give the sets the uncached closure gives.

Completing a nonterminal at an earlier set, and everything that completion brings in turn, is
cached per (origin set, nonterminal) and shared by later positions. Truth: the same texts
replayed with the cache emptied before every step and recursion turned off
(``CASCADE_DEPTH = 0``: every completion done in line, the closure as it was before the
cache) reach the same sets (same kernels, predicted parts, accepting flags) and the same
masks. A right-recursive rule nests origins as deep as the text is long, so a completion at
the end of 1,500 nested levels, with nothing cached, must neither recurse that deep nor
differ.
"""

from __future__ import annotations

import gc
import random

import pytest

from grammar_decode.compiler import compile_grammar
from grammar_decode.matcher import earley
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.vocabulary import TokenVocabulary

# right recursion (x), nesting (b), a left-recursive list with a nullable separator (items)
GRAMMAR = r"""
start: x | items
x: "a" x | "a" b
b: "(" items ")" | "z"
items: item | items sep item
item: x | "y"
sep: ","?
"""
ALPHABET = "az(),y"


def _vocab() -> TokenVocabulary:
    return TokenVocabulary([None] + [c.encode() for c in ALPHABET] + [b"a(", b"),", b"z)"],
                           [0], name="cascades")


def _signature(compiled, matcher: GrammarMatcher) -> tuple:
    s = matcher._set
    g = compiled.earley
    return (tuple(sorted(s.waiting_rules(g))), s.accepting, s.expected_terminals,
            matcher.is_accepting(), tuple(matcher.allowed_token_ids()))


def _replay(text_tokens: list[int], uncached: bool, monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as patch:
        if uncached:
            patch.setattr(earley, "CASCADE_DEPTH", 0)
        compiled = compile_grammar(GRAMMAR, _vocab(), cache_dir=False)
        matcher = GrammarMatcher(compiled)
        out = []
        for token in text_tokens:
            if uncached:
                compiled.clear_parse_caches()
            out.append(_signature(compiled, matcher))
            assert matcher.accept_token(token), (text_tokens, token)
        out.append(_signature(compiled, matcher))
    return out


def _random_text(rng: random.Random, vocab: TokenVocabulary, length: int) -> list[int]:
    """A random walk over allowed tokens (EOS excluded)."""
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    matcher = GrammarMatcher(compiled)
    tokens = []
    for _ in range(length):
        allowed = [t for t in matcher.allowed_token_ids() if t != 0]
        if not allowed:
            break
        tokens.append(rng.choice(allowed))
        matcher.accept_token(tokens[-1])
    return tokens


def test_cached_completions_match_the_uncached_closure(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    rng = random.Random(5)
    vocab = _vocab()
    for _ in range(12):
        tokens = _random_text(rng, vocab, rng.randrange(5, 40))
        assert _replay(tokens, False, monkeypatch) == _replay(tokens, True, monkeypatch)


def test_deep_right_recursion_is_closed_without_deep_recursion(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = _vocab()
    a, z = vocab.token_bytes.index(b"a"), vocab.token_bytes.index(b"z")
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    matcher = GrammarMatcher(compiled)
    for _ in range(1500):
        assert matcher.accept_token(a)
    compiled.clear_parse_caches()  # the last completion climbs 1,500 uncached levels
    assert matcher.accept_token(z)  # two Python frames a level would pass the limit of 1,000
    assert matcher.is_accepting()
    deep = _signature(compiled, matcher)
    assert 0 < len(compiled.earley.cascades) < 200  # the levels within CASCADE_DEPTH
    # the same text with every completion in line gives the same final set
    monkeypatch.setattr(earley, "CASCADE_DEPTH", 0)
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    inline = GrammarMatcher(compiled)
    for _ in range(1500):
        inline.accept_token(a)
    inline.accept_token(z)
    assert _signature(compiled, inline) == deep


def test_sets_are_keyed_by_their_sorted_distinct_kernel() -> None:
    """Whatever repeats a closure collects, a set's kernel is sorted and without repeats, and
    it is the set's intern key: equal content, one object."""
    rng = random.Random(11)
    vocab = _vocab()
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    g = compiled.earley
    seen = 0
    for _ in range(8):
        matcher = GrammarMatcher(compiled)
        for token in _random_text(rng, vocab, rng.randrange(5, 30)):
            assert matcher.accept_token(token)
            s = matcher._set
            assert s.kernel == tuple(sorted(set(s.kernel)))
            if s.kernel:
                assert g.interned_set(s.part, s.accepting, s.kernel) is s
                seen += 1
    assert seen > 20


def test_the_contexts_of_a_grammar_share_one_object_per_lexeme() -> None:
    """Lexemes (terminal id sets) are dict keys on the matcher's hot path: every context of a
    grammar hands out the same object for the same set, so lookups stop at identity."""
    rng = random.Random(3)
    vocab = _vocab()
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    for _ in range(6):
        matcher = GrammarMatcher(compiled)
        for token in _random_text(rng, vocab, 20):
            matcher.accept_token(token)
    contexts = list(compiled._contexts.values())
    assert len(contexts) > 2
    first: dict[frozenset[int], frozenset[int]] = {}
    for ctx in contexts:
        for emitted in ctx.emit:
            if emitted:
                assert first.setdefault(emitted, emitted) is emitted
    assert len(first) < sum(1 for ctx in contexts for e in ctx.emit if e)  # some repeat


def test_predicted_nonterminals_are_bit_masks() -> None:
    """A set of ids is an int with one bit per id (``id_mask``): it reads
    back as the ids given, and a predicted part holds the items of exactly its ids."""
    rng = random.Random(3)
    for _ in range(300):
        ids = {rng.randrange(400) for _ in range(rng.randrange(40))}
        assert earley.ids_in(earley.id_mask(ids)) == sorted(ids)
    g = compile_grammar(GRAMMAR, _vocab(), cache_dir=False).earley
    for a in range(g.n_nonterminals):
        predicted = earley.ids_in(g.predicts[a])
        assert a in predicted
        part = g.predicted_part(g.predicts[a])
        assert part.predicted == g.predicts[a]
        own = sorted(item for group in part.own.values() for item in group)
        assert own == sorted(item for b in predicted for item in g.own_items[b])


def test_lexemes_completing_one_nonterminal_at_one_set_share_its_closure() -> None:
    """Scanning "a" or "b" after "((" completes ``e`` at the same set: the second scan reads
    the set the first one closed (``earley.completed_sets``) and reaches the same set."""
    vocab = TokenVocabulary([None, b"(", b")", b"a", b"b"], [0], name="completions")
    compiled = compile_grammar('start: "(" e ")"\ne: "a" | "b" | "(" e ")"\n', vocab,
                               cache_dir=False)
    g = compiled.earley
    first, second = GrammarMatcher(compiled), GrammarMatcher(compiled)
    assert first.accept_text("((a)")
    cached = dict(g.completed_sets)
    assert cached
    assert second.accept_text("((b)")
    assert second._set is first._set and g.completed_sets == cached
    compiled.clear_parse_caches()
    assert not g.completed_sets and not g.cascades
    third = GrammarMatcher(compiled)
    assert third.accept_text("((b)") and third._set is first._set


def test_sets_are_freed_by_reference_counts_alone() -> None:
    """Sets form no reference cycle (the compiled build leaves them out of the cyclic GC, so a
    cycle would never be freed): with the collector off, dropping the matchers and the parse
    caches frees every set but the initial one, which the compiled grammar keeps, and its
    frame."""
    rng = random.Random(7)
    vocab = _vocab()
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    g = compiled.earley
    gc.collect()
    gc.disable()
    try:
        for _ in range(8):
            matcher = GrammarMatcher(compiled)
            for token in _random_text(rng, vocab, rng.randrange(5, 40)):
                matcher.allowed_token_ids()
                assert matcher.accept_token(token)
            copy = matcher.copy()
            copy.rollback(2)
            copy.allowed_token_ids()
        frames = {earley.frame_of(g, ref()).uid for ref in list(g.by_uid.values())
                  if ref() is not None}
        assert len(g.by_uid) > 50 and len(frames) > 5  # sets and frames were made
        del matcher, copy
        compiled.clear_parse_caches()
        kept = [compiled.initial_set, earley.frame_of(g, compiled.initial_set)]
        assert [ref() for ref in g.by_uid.values()] == kept
    finally:
        gc.enable()
