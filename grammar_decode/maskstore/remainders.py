"""Remainders of tokens that cross a lexeme boundary, judged in the next lexer context.

A ``RemainderSet`` is a group of (token, offset) pairs: the bytes of each token from its offset
on still have to be lexed, from the empty lexeme, in the context that follows the emitted
terminals. Their outcome in a given context is computed once by a vectorised walk and cached:
- tokens whose remainder stays inside a lexeme are valid;
- the others end another lexeme and form child RemainderSets, one per emitted terminal set,
  which the matcher judges recursively after the parser accepts that terminal set.
Only the parser steps depend on the parse so far; everything else is cached per context.

What a remainder does after a parse state depends only on its bytes, so ``content`` names a
set by its distinct remainder strings: sets of different tokens with the same remainders (a
`)` and a `}` followed by the same newlines) share every judgment the matcher memoises.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from grammar_decode.lru import LRU
from grammar_decode.maskstore.bits import pack_ids
from grammar_decode.maskstore.walk import split_point, walk_rows

# (vocabulary, digest of the pairs) -> content: equal pairs recur as children of many outcomes
_CONTENTS = LRU(64 << 20)


class RemainderSet:
    """(token id, byte offset) pairs, with per-context cached outcomes."""

    __slots__ = ("tokens", "offsets", "_outcomes", "_content")

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray) -> None:
        self.tokens = np.asarray(tokens, dtype=np.int32)
        self.offsets = np.asarray(offsets, dtype=np.int32)
        self._outcomes: dict[Any, Outcome] = {}
        self._content: tuple[bytes, np.ndarray, int] | None = None

    def content(self, vocab: Any) -> tuple[bytes, np.ndarray, int]:
        """(digest of the distinct remainder strings sorted by length then bytes, index of each
        pair's string in that order, number of distinct strings), computed once. Equal digests
        mean equal strings (128-bit BLAKE2b over length-prefixed strings), so a verdict per
        distinct string carries over between sets."""
        if self._content is None:
            pairs = hashlib.blake2b(self.tokens.tobytes(), digest_size=16)
            pairs.update(self.offsets.tobytes())
            key = (vocab.content_hash, pairs.digest())  # the same pairs in another set
            self._content = _CONTENTS.get(key)
            if self._content is None:
                self._content = self._name(vocab)
                _CONTENTS.put(key, self._content, self._content[1].nbytes + 200)
        return self._content

    def _name(self, vocab: Any) -> tuple[bytes, np.ndarray, int]:
        data = vocab.token_bytes
        strings = [data[t][o:] for t, o in zip(self.tokens.tolist(), self.offsets.tolist())]
        distinct = sorted(set(strings))
        distinct.sort(key=len)  # stable: by length, then bytes
        where = {s: i for i, s in enumerate(distinct)}
        named = b"".join([len(s).to_bytes(4, "big") + s for s in distinct])
        index = np.array([where[s] for s in strings], dtype=np.int32)
        return hashlib.blake2b(named, digest_size=16).digest(), index, len(distinct)

    def __len__(self) -> int:
        return len(self.tokens)

    def outcome(self, lexer: Any, vocab: Any) -> Outcome:
        """The outcome of lexing every remainder from the empty lexeme of ``lexer``."""
        found = self._outcomes.get(lexer)
        if found is None:
            found = self._outcomes[lexer] = _walk(self, lexer, vocab)
        return found


class Outcome:
    """Valid token ids (also packed when many), and child groups keyed by emitted terminals."""

    __slots__ = ("valid", "packed", "children")

    def __init__(self, valid: np.ndarray, children: list[tuple[frozenset[int], RemainderSet]],
                 size: int) -> None:
        self.valid = valid
        self.children = children
        self.packed: np.ndarray | None = None
        if len(valid) * 64 > size:
            self.packed = pack_ids(valid, size)


def _walk(rs: RemainderSet, lexer: Any, vocab: Any) -> Outcome:
    matrix, lengths, _ = vocab.byte_matrix()
    rows = _row_index(vocab)[rs.tokens]
    accepting = lexer.emit_group >= 0
    walk = walk_rows(lexer.trans, accepting, rows, np.zeros(len(rs), np.int32), rs.offsets,
                     matrix, lengths)
    alive = walk.stop == lengths[rows]
    valid = rs.tokens[alive]
    children: list[tuple[frozenset[int], RemainderSet]] = []
    pos, end_state = split_point(walk, accepting)
    dead = np.flatnonzero(~alive & (end_state >= 0))
    if len(dead):
        e = lexer.emit_group[end_state[dead]]
        for key in np.unique(e):
            sel = dead[e == key]
            children.append((lexer.emit[int(key)], RemainderSet(rs.tokens[sel], pos[sel])))
    return Outcome(valid, children, vocab.size)


def _row_index(vocab: Any) -> np.ndarray:
    cached = getattr(vocab, "_gd_row_index", None)
    if cached is None:
        _, _, ids = vocab.byte_matrix()
        cached = np.full(vocab.size, -1, dtype=np.int64)
        cached[ids] = np.arange(len(ids))
        try:
            vocab._gd_row_index = cached
        except AttributeError:
            pass
    return cached
