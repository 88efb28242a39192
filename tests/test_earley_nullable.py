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
