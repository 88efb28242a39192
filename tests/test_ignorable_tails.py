"""Ignorable tails: the suffixes of a token that every context lexes without ending the text.

``remainders.ignorable_tails`` names, per token, the offset from which its bytes are made of
complete one-byte lexemes of the ignored terminals (CR LF: a two-byte one), possibly ending
in a byte that begins one. Branches that pop out of a frame with such a remainder are settled
without redoing them on the exact parse (``RemainderSet.settled``). Truth for the offsets is a
direct reading of the definition over Python ``re`` matches of the grammar's own ignored
patterns; end-to-end exactness of the settled tokens is checked by tests/test_frames.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from grammar_corpus import grammar_text

compiler = pytest.importorskip("grammar_decode.compiler")
remainders = pytest.importorskip("grammar_decode.maskstore.remainders")
from grammar_decode.vocab.vocabulary import TokenVocabulary  # noqa: E402

NONE = remainders.NO_TAIL
TOKENS = [b")\n\n", b";\r\n\r\n", b"}\n\t\t", b")\r", b")\r\n", b")\rx", b")\n/", b")\n//",
          b"\n\n", b"x", b"\r", b"//", b"/\n", b")\n\n)", b" \t\f", b"\r\r\n", b"a \n"]


def _expected(token: bytes, ignored: list[str]) -> int:
    """The first offset from which every suffix is one-byte ignored lexemes, CR LF pairs and
    at most a last byte that begins an ignored lexeme (the definition, byte by byte)."""
    def whole(text: bytes) -> bool:
        return any(re.fullmatch(p.encode(), text) for p in ignored)

    def begins(byte: bytes) -> bool:
        return any(re.match(p.encode(), byte + rest) for p in ignored
                   for rest in (b"\n", b"/", b"*/", b" "))  # some lexeme starts with it

    def ok(i: int) -> bool:
        if i == len(token):
            return True
        b = token[i:i + 1]
        if whole(b):
            return ok(i + 1)
        if not begins(b):
            return False
        if i + 1 == len(token):
            return True
        return whole(token[i:i + 2]) and whole(token[i + 1:i + 2]) and ok(i + 2)

    i = len(token)
    while i > 0 and ok(i - 1):
        i -= 1
    return i if i < len(token) else NONE


@pytest.mark.parametrize("name,ignored", [
    ("go_subset", [r"[ \t\f]+", r"\r?\n", r"//[^\n]*", r"/\*([^*]|\*+[^*/])*\*+/"]),
    ("json", [r"[ \t\n\r]+"]),
])
def test_tails_follow_the_definition(name: str, ignored: list[str]) -> None:
    vocab = TokenVocabulary([None, *TOKENS], [0], name="tails")
    compiled = compiler.compile_grammar(grammar_text(name), vocab, cache_dir=False)
    tails = remainders.ignorable_tails(compiled.ignored_lexer, vocab)
    assert tails[0] == NONE  # no bytes
    got = {t: int(tails[i + 1]) for i, t in enumerate(TOKENS)}
    assert got == {t: _expected(t, ignored) for t in TOKENS}
    if name == "go_subset":  # spot checks of the definition itself
        assert got[b")\n\n"] == 1 and got[b";\r\n\r\n"] == 1 and got[b")\r"] == 1
        assert got[b")\rx"] == NONE and got[b")\n/"] == 1 and got[b")\n//"] == 3
        assert got[b"\r\r\n"] == 1 and got[b")\n\n)"] == NONE


def test_settled_pairs_take_tails_and_one_lexeme_remainders() -> None:
    vocab = TokenVocabulary([None, *TOKENS], [0], name="tails")
    compiled = compiler.compile_grammar(grammar_text("go_subset"), vocab, cache_dir=False)
    ids = {t: i + 1 for i, t in enumerate(TOKENS)}
    pairs = [(b")\n\n", 1), (b")\rx", 1), (b")\n//", 1), (b")\n//", 2), (b"a \n", 1),
             (b")\n\n)", 1)]
    rs = remainders.RemainderSet(np.array([ids[t] for t, _ in pairs]),
                                 np.array([o for _, o in pairs]))
    valid, rest = rs.settled(compiled.ignored_lexer, vocab, compiled.next_bytes_of)
    # ")\n//" from 1 crosses lexemes and its tail is the last slash only; from 2 it stays
    # inside one comment lexeme
    assert sorted(valid.tolist()) == sorted([ids[b")\n\n"], ids[b")\n//"], ids[b"a \n"]])
    assert rest is not None and sorted(rest.tokens.tolist()) == sorted(
        [ids[b")\rx"], ids[b")\n\n)"]])
