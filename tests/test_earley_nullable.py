"""The Earley recogniser on a grammar full of nullable rules, against Lark's Earley parser.

Completing a nonterminal advances the origin set's own items through cached completion
chains (past nullable symbols, completing further nonterminals in turn); this grammar makes
those chains pass nullable symbols at every step. Truth: Lark's Earley parser decides every
string over the alphabet up to length 6; every string up to length 4 must be accepted as a
prefix exactly when some sentence of length <= 6 extends it, and be a complete sentence
exactly when Lark parses it.
"""

from __future__ import annotations

import itertools

from lark import Lark
from lark.exceptions import LarkError

from grammar_decode.compiler import compile_grammar
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.vocabulary import TokenVocabulary

GRAMMAR = r"""
start: item+ end
item: "(" words ")" mark mark
words: (word sep)*
word: WORD | pre WORD post
pre: "-"?
post: mark
sep: ","?
mark: "!"?
end: mark
WORD: "a"
"""
ALPHABET = "(),a!-"


def test_nullable_completion_chains_match_lark() -> None:
    lark = Lark(GRAMMAR, parser="earley", lexer="dynamic")

    def parses(text: str) -> bool:
        try:
            lark.parse(text)
            return True
        except LarkError:
            return False

    sentences = {"".join(t) for n in range(7) for t in itertools.product(ALPHABET, repeat=n)
                 if parses("".join(t))}
    prefixes = {s[:i] for s in sentences for i in range(len(s) + 1)}
    vocab = TokenVocabulary([None] + [c.encode() for c in ALPHABET], [0], name="test")
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    checked = 0
    for n in range(5):
        for t in itertools.product(ALPHABET, repeat=n):
            text = "".join(t)
            m = GrammarMatcher(compiled)
            viable = m.accept_text(text)
            assert viable == (text in prefixes), text
            if viable:
                assert m.is_accepting() == (text in sentences), text
            checked += 1
    assert checked > 1000 and len(sentences) > 50


def test_sets_are_interned_while_alive_and_record_their_inherited_items() -> None:
    """Equal futures give one set object; a set's ``inherited`` items are exactly its
    kernel (its frame's: the same with ``BOTTOM``), grouped by awaited symbol (a group of
    one is the item itself), and its predicted items have no origin; its ``origins`` (a
    set alone, or a tuple) are theirs; dropped sets leave the intern table."""
    import gc

    from grammar_decode.matcher.earley import BOTTOM, frame_of

    vocab = TokenVocabulary([None] + [c.encode() for c in ALPHABET], [0], name="test")
    compiled = compile_grammar(GRAMMAR, vocab, cache_dir=False)
    g = compiled.earley
    frame_of(g, compiled.initial_set)  # kept alive by the initial set, like the set itself
    gc.collect()
    before = len(g.by_uid)
    a, b = GrammarMatcher(compiled), GrammarMatcher(compiled)
    assert a.accept_text("(a,-a!") and b.accept_text("(a,-a!")
    assert a._set is b._set
    sets = [h[0] for h in a._history] + [a._set]
    assert len(g.by_uid) > before
    for s in sets + [frame_of(g, s) for s in sets]:
        groups = [group if type(group) is tuple else (group,) for group in s.inherited.values()]
        assert all(len(group) > 1 for group in s.inherited.values() if type(group) is tuple)
        inherited = {item for group in groups for item in group}
        own = {item for group in s.part.own.values() for item in group}
        assert inherited == set(s.kernel) and all(g.item_origin(i) is None for i in own)
        assert {g.dr_next[g.item_rule(i)] for i in inherited} == set(s.inherited)
        assert s.waiting_rules(g) == {g.item_rule(i) for i in own | inherited}
        origins = {g.item_origin(i) for i in inherited}
        kept = set(s.origins) if type(s.origins) is tuple else {s.origins}
        assert kept == origins - {BOTTOM} and s not in origins
        if frame_of(g, s) is s and s.kernel:
            assert origins == {BOTTOM}
    del a, b, sets, s
    compiled.clear_parse_caches()
    gc.collect()
    assert len(g.by_uid) == before
