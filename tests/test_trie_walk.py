"""The trie walk of the vocabulary equals the row-by-row matrix walk.

Mask stores walk the whole vocabulary from a lexer state; states where most tokens live on
use the byte trie (shared prefixes fed once). Truth is ``walk_rows`` over every row of the
padded byte matrix: per token the bytes consumed before the DFA died, the state there, and
the last accepting position and state must be identical, for real vocabularies and for
random DFAs (dense and sparse) and terminal DFAs, from every start state.
"""

from __future__ import annotations

import numpy as np
import pytest

from grammar_decode.maskstore.trie import build_trie, walk_trie
from grammar_decode.maskstore.walk import walk_rows, walk_vocabulary
from grammar_decode.terminals.regex_dfa import compile_regex
from grammar_decode.vocab.vocabulary import TokenVocabulary


def _reference(trans, accepting, start, matrix, lengths):
    rows = np.arange(len(lengths))
    return walk_rows(trans, accepting, rows, np.full(len(rows), start, np.int32),
                     np.zeros(len(rows), np.int32), matrix, lengths)


def _dfas(rng):
    for rx in (r'"([^"\\]|\\.)*"', r"[a-z]+", r"-?[0-9]+(\.[0-9]+)?", r"[^\n]*\n", r" *x"):
        dfa = compile_regex(rx)
        yield rx, dfa.trans, dfa.accepting
    for density in (0.97, 0.5, 0.05):
        n = 6
        trans = rng.integers(0, n, size=(n, 256)).astype(np.int32)
        trans[rng.random((n, 256)) > density] = -1
        yield f"random {density}", trans, rng.random(n) < 0.4


@pytest.mark.parametrize("name", ["gpt2", "mistral-v3", "smollm2"])
def test_trie_walk_equals_matrix_walk(packaged_tokenizer, name) -> None:
    vocab = TokenVocabulary.from_tokenizer(packaged_tokenizer(name))
    matrix, lengths, _ = vocab.byte_matrix()
    trie = build_trie(matrix, lengths)
    assert trie.n_nodes < int(lengths.sum())  # prefixes are shared
    rng = np.random.default_rng(3)
    for label, trans, accepting in _dfas(rng):
        for start in range(trans.shape[0]):
            ref = _reference(trans, accepting, start, matrix, lengths)
            got = walk_trie(trie, trans, accepting, start)
            for field, a, b in zip(("stop", "last", "acc_pos", "acc_state"),
                                   (ref.stop, ref.last, ref.acc_pos, ref.acc_state), got):
                assert np.array_equal(a, b), (name, label, start, field)
            both = walk_vocabulary(trans, accepting, start, matrix, lengths)  # chooses a path
            assert np.array_equal(both.stop, ref.stop) and np.array_equal(both.last, ref.last)


def test_trie_structure_on_a_small_vocabulary() -> None:
    words = [b"a", b"ab", b"abc", b"b", b"ba", b"\x00", b"ab"]  # a duplicate and a zero byte
    lengths = np.array([len(w) for w in words], np.int32)
    matrix = np.zeros((len(words), 3), np.uint8)
    for i, w in enumerate(words):
        matrix[i, :len(w)] = list(w)
    trie = build_trie(matrix, lengths)
    assert trie.n_nodes == 1 + 6  # root, \x00, a, b, ab, ba, abc
    assert trie.row_node[1] == trie.row_node[6]
    for i, w in enumerate(words):
        node, path = int(trie.row_node[i]), []
        while node:
            path.append(int(trie.byte[node]))
            node = int(trie.parent[node])
        assert bytes(reversed(path)) == w
