"""GrammarMatcher core behaviour: masks agree with byte-level acceptance for every token,
EOS exactly at sentence ends, rollback/copy/reset, the disk cache, and grammar errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grammar_decode.compiler import compile_grammar, flush_mask_stores
from grammar_decode.errors import GrammarCompileError, GrammarSyntaxError
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.vocabulary import TokenVocabulary

JSON_GRAMMAR = r"""
start: value
?value: object | array | STRING | NUMBER | "true" | "false" | "null"
array: "[" [value ("," value)*] "]"
object: "{" [pair ("," pair)*] "}"
pair: STRING ":" value
STRING: /"(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
NUMBER: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/
%ignore /[ \t\n\r]+/
"""

KEYWORD_GRAMMAR = r"""
start: stmt+
stmt: "if" NAME "then" NAME ";" | NAME "=" NAME ";" | "iffy" ";"
NAME: /[a-z]+/
%ignore " "
"""


def _vocab(tokens: list[str]) -> TokenVocabulary:
    """A vocabulary: id 0 is EOS, then the given texts (deduplicated)."""
    tokens = list(dict.fromkeys(tokens))
    return TokenVocabulary([None] + [t.encode() for t in tokens], [0], name="test")


JSON_TOKENS = list('{}[],:"\\ 0123456789.-+eEabtrufnl\n') + [
    '",', '":', '"}', '},{', '":"', 'true', 'null', ' "', '12', '1.', '"a', 'ab', '],', '"]}',
    '0,', '{"', '[{"', 'e+', '\n  ', 'fal', 'se', 'é"', '\\u', '00e9', '"é', '\\"', '""', '[]',
    '{}', 'é', "\xe9".encode().decode(), '}}', ']]', '1}', ' 1', '"\\', 'u00']


def _check_all_prefixes(compiled, docs: list[str], is_sentence) -> int:
    vocab = compiled.vocab
    checked = 0
    for doc in docs:
        for cut in range(len(doc) + 1):
            m = GrammarMatcher(compiled)
            assert m.accept_text(doc[:cut]), (doc, cut)
            mask = m.allowed_mask()
            for tid, data in enumerate(vocab.token_bytes):
                if data is None:
                    expected = m.is_accepting()
                else:
                    expected = m.copy().accept_bytes(data)
                assert bool(mask[tid]) == expected, (doc[:cut], data, bool(mask[tid]))
                checked += 1
            assert m.is_accepting() == is_sentence(doc[:cut]), doc[:cut]
    return checked


def _json_sentence(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return text.strip() != ""


def test_json_masks_match_bytewise_acceptance() -> None:
    compiled = compile_grammar(JSON_GRAMMAR, _vocab(JSON_TOKENS), cache_dir=False)
    docs = ['{"a": [1, 2.5e+3, true, null], "bé": {"c": "x\\"y\\u00e9"}}', "[]",
            '[{"":-0.5}, "ab", false]', '  {"a":1} ']
    assert _check_all_prefixes(compiled, docs, _json_sentence) > 5000


def test_keywords_follow_longest_match_then_literal_priority() -> None:
    tokens = list("abcdefghijklmnopqrstuvwxyz ;=") + ["if", "iff", "iffy", " then", "then ", "y;"]
    compiled = compile_grammar(KEYWORD_GRAMMAR, _vocab(tokens), cache_dir=False)
    m = GrammarMatcher(compiled)
    assert m.accept_text("iffy;")  # keyword "iffy", not NAME
    m = GrammarMatcher(compiled)
    assert not m.accept_text("ifx then y;")  # "ifx" is one NAME: NAME then NAME is no statement
    m = GrammarMatcher(compiled)
    assert m.accept_text("if x then y;") and m.is_accepting()
    docs = ["if x then y; iffy; ab = cd;", "iffy;if a then b;"]

    def sentence(text: str) -> bool:
        return GrammarMatcher(compiled).accept_text(text) and _statements_end(text)

    def _statements_end(text: str) -> bool:
        return text.rstrip(" ").endswith(";")

    _check_all_prefixes(compiled, docs, sentence)


def test_all_conflicts_mode_keeps_every_matching_terminal() -> None:
    grammar = r"""
start: "{" (A ":" NUM | B ":" WORD) "}"
A: /"[a-z]+"/
B: "\"id\""
NUM: /[0-9]+/
WORD: /[a-z]+/
"""
    vocab = _vocab(list('{}":abcdefghijklmnopqrstuvwxyz0123456789') + ['"id"', '":', 'id'])
    both = compile_grammar(grammar, vocab, terminal_conflicts="all", cache_dir=False)
    m = GrammarMatcher(both)
    assert m.accept_text('{"id":')
    allowed = {vocab.token_bytes[i] for i in m.allowed_token_ids()}
    assert b"7" in allowed and b"x" in allowed  # both readings of "id" stay possible
    lark_like = compile_grammar(grammar, vocab, terminal_conflicts="priority", cache_dir=False)
    m = GrammarMatcher(lark_like)
    assert m.accept_text('{"id":')
    allowed = {vocab.token_bytes[i] for i in m.allowed_token_ids()}
    assert b"x" in allowed and b"7" not in allowed  # the literal B wins, as in Lark


def test_accept_reject_rollback_copy_reset() -> None:
    vocab = _vocab(JSON_TOKENS)
    compiled = compile_grammar(JSON_GRAMMAR, vocab, cache_dir=False)
    ids = {vocab.token_bytes[i]: i for i in range(1, vocab.size)}
    m = GrammarMatcher(compiled)
    before = m.allowed_token_ids()
    assert not m.accept_token(ids[b"}"])
    assert m.allowed_token_ids() == before and m.num_accepted == 0
    for piece in [b"[", b"1", b",", b"2", b"]"]:
        assert m.accept_token(ids[piece])
    assert m.is_accepting() and 0 in m.allowed_token_ids()
    twin = m.copy()
    m.rollback(2)
    assert not m.is_accepting() and 0 not in m.allowed_token_ids()
    assert twin.is_accepting()
    assert m.accept_token(ids[b"3"]) and m.accept_token(ids[b"]"])
    assert m.accept_token(0) and m.is_terminated()
    assert m.allowed_token_ids() == [] and not m.accept_token(ids[b" "])
    m.rollback(1)
    assert not m.is_terminated() and m.is_accepting()
    m.reset()
    assert m.allowed_token_ids() == before
    with pytest.raises(ValueError):
        m.rollback(1)


def test_fill_mask_matches_allowed_ids() -> None:
    torch = pytest.importorskip("torch")
    vocab = _vocab(JSON_TOKENS)
    m = GrammarMatcher(compile_grammar(JSON_GRAMMAR, vocab, cache_dir=False))
    m.accept_text('{"a":')
    mask = torch.ones(vocab.size + 7, dtype=torch.bool)
    m.fill_mask(mask)
    assert torch.nonzero(mask).flatten().tolist() == m.allowed_token_ids()
    # batched rows, a non-contiguous view (the torch path) and a mask shorter than the vocab
    expected = torch.zeros(vocab.size + 7, dtype=torch.bool)
    expected[m.allowed_token_ids()] = True
    batch = torch.ones(3, vocab.size + 7, dtype=torch.bool)
    m.fill_mask(batch)
    assert all(torch.equal(row, expected) for row in batch)
    wide = torch.ones(vocab.size + 7, 2, dtype=torch.bool)
    m.fill_mask(wide.T)  # each row of wide.T is a strided view
    assert all(torch.equal(row, expected) for row in wide.T)
    short = torch.ones(vocab.size - 1, dtype=torch.bool)
    m.fill_mask(short)
    assert torch.equal(short, expected[:vocab.size - 1])


def _unpack_words(words: np.ndarray, size: int) -> np.ndarray:
    """Bool per id from int32 words, bit i % 32 of word i // 32 (shifts only, no packbits)."""
    bits = (words.astype(np.int64)[:, None] >> np.arange(32)) & 1
    return bits.astype(bool).ravel()[:size]


def test_fill_bitmask_layout_rows_and_states() -> None:
    torch = pytest.importorskip("torch")
    vocab = _vocab(JSON_TOKENS)
    m = GrammarMatcher(compile_grammar(JSON_GRAMMAR, vocab, cache_dir=False))
    words = (vocab.size + 31) // 32
    m.accept_text('{"a":')
    expected = m.allowed_mask()
    batch = torch.full((3, words + 2), -1, dtype=torch.int32)
    m.fill_bitmask(batch, 1)
    assert np.array_equal(_unpack_words(batch[1].numpy(), vocab.size), expected)
    assert not batch[1, words:].any() and (batch[0] == -1).all() and (batch[2] == -1).all()
    array = np.full(words, -1, dtype=np.int32)  # numpy and a strided torch view, too
    m.fill_bitmask(array)
    assert np.array_equal(_unpack_words(array, vocab.size), expected)
    strided = torch.full((words, 2), -1, dtype=torch.int32)
    m.fill_bitmask(strided.T, 0)
    assert np.array_equal(_unpack_words(strided[:, 0].numpy(), vocab.size), expected)
    with pytest.raises(ValueError, match="int32"):
        m.fill_bitmask(torch.zeros(words, dtype=torch.int64))
    # the numpy view kept for a tensor follows the tensor, the row and the storage
    m.fill_bitmask(batch, 2)
    assert np.array_equal(_unpack_words(batch[2].numpy(), vocab.size), expected)
    fresh = torch.full((5, words + 2), -1, dtype=torch.int32)
    batch.set_(fresh)  # the same tensor object on other memory
    m.fill_bitmask(batch, 2)
    assert np.array_equal(_unpack_words(fresh[2].numpy(), vocab.size), expected)
    assert (fresh[1] == -1).all() and (fresh[3] == -1).all()
    # EOS bit exactly at a sentence end; all zeros once EOS was accepted; copies keep it
    assert m.accept_text("1}") and m.is_accepting()
    bits = _unpack_words(m.allowed_bitmask(), vocab.size)
    assert np.array_equal(bits, m.allowed_mask()) and bits[0]
    twin = m.copy()
    assert m.accept_token(0)
    assert not m.allowed_bitmask().any()
    assert np.array_equal(_unpack_words(twin.allowed_bitmask(), vocab.size), bits)
    m.rollback(1)
    assert np.array_equal(_unpack_words(m.allowed_bitmask(), vocab.size), bits)
    with pytest.raises(ValueError):  # cached and shared with copies: read-only
        m.allowed_bitmask()[0] = 0
    with pytest.raises(ValueError):
        m.allowed_mask()[0] = False


def test_disk_cache_roundtrip_and_corruption(tmp_path) -> None:
    vocab = _vocab(JSON_TOKENS)
    first = compile_grammar(JSON_GRAMMAR, vocab, cache_dir=tmp_path)
    m = GrammarMatcher(first)
    m.accept_text('{"k": [1')
    expected = m.allowed_token_ids()
    first.warm()
    assert flush_mask_stores() >= 0
    files = sorted(tmp_path.rglob("*.store"))
    assert files
    # a second grammar object (same content) reads the stores back from disk
    from grammar_decode import compiler

    compiler._STORE_MEMORY.clear()
    second = compile_grammar(JSON_GRAMMAR, vocab, cache_dir=tmp_path)
    m2 = GrammarMatcher(second)
    m2.accept_text('{"k": [1')
    assert m2.allowed_token_ids() == expected
    # corrupt every file: they are detected, dropped and rebuilt, answers unchanged
    for f in files:
        f.write_bytes(f.read_bytes()[:40] + b"garbage")
    compiler._STORE_MEMORY.clear()
    third = compile_grammar(JSON_GRAMMAR, vocab, cache_dir=tmp_path)
    m3 = GrammarMatcher(third)
    m3.accept_text('{"k": [1')
    assert m3.allowed_token_ids() == expected


def test_store_is_shared_between_grammars_with_same_context() -> None:
    vocab = _vocab(JSON_TOKENS)
    a = compile_grammar(JSON_GRAMMAR, vocab, cache_dir=False)
    b = compile_grammar(JSON_GRAMMAR.replace("start: value", "start: value\nunused: value"),
                        vocab, cache_dir=False)
    ma, mb = GrammarMatcher(a), GrammarMatcher(b)
    assert a.store_for(ma._ctx) is b.store_for(mb._ctx)


@pytest.mark.parametrize("text,line", [
    ("start: A\nA: \"a\"\nb: ( \n", 3),
    ("start: a\n", None),
])
def test_grammar_errors_name_the_place(text: str, line: int | None) -> None:
    with pytest.raises(GrammarSyntaxError) as err:
        compile_grammar(text, _vocab(["a"]), cache_dir=False)
    if line is not None:
        assert err.value.line == line


def test_empty_matching_terminal_is_rejected() -> None:
    with pytest.raises(GrammarCompileError, match="empty string"):
        compile_grammar('start: A "x"\nA: /a*/\n', _vocab(["a", "x"]), cache_dir=False)


def test_masks_on_a_real_vocabulary_shape() -> None:
    """Longer tokens crossing several lexemes: bool mask over the whole id space."""
    words = ['{"', '":', '","', '"},{"', '":[', '],"', 'null', ' true', '1234', '.5', 'e-7']
    vocab = _vocab(JSON_TOKENS + words)
    m = GrammarMatcher(compile_grammar(JSON_GRAMMAR, vocab, cache_dir=False))
    assert m.accept_text('[{"a":1},{"b')
    mask = m.allowed_mask()
    assert mask.dtype == np.bool_ and mask.shape == (vocab.size,)
    allowed = {vocab.token_bytes[i] for i in np.flatnonzero(mask)}
    assert b'":' in allowed and b'":[' in allowed and b'"},{"' not in allowed


def test_dead_alternatives_are_pruned_not_offered() -> None:
    """A branch using an empty terminal or a non-terminating rule is never entered."""
    grammar = r"""
start: "a" "b" | "x" EMPTY | "y" loop
loop: "z" loop
EMPTY: /(?=q)r/
"""
    vocab = _vocab(list("abxyzqr"))
    m = GrammarMatcher(compile_grammar(grammar, vocab, cache_dir=False))
    allowed = {vocab.token_bytes[i] for i in m.allowed_token_ids()}
    assert allowed == {b"a"}
    with pytest.raises(GrammarCompileError, match="language is empty"):
        compile_grammar('start: "y" loop\nloop: "z" loop\n', vocab, cache_dir=False)
