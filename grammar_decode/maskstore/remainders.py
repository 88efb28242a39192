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
import itertools
import weakref
from typing import Any, Callable

import numpy as np

from grammar_decode.lru import LRU
from grammar_decode.maskstore.bits import pack_ids, worth_packing
from grammar_decode.maskstore.walk import split_point, walk_rows

# (vocabulary, digest of the pairs) -> content: equal pairs recur as children of many outcomes
_CONTENTS = LRU(64 << 20)


class RemainderSet:
    """(token id, byte offset) pairs, with per-context cached outcomes."""

    __slots__ = ("tokens", "offsets", "_outcomes", "_content", "_startable",
                 "_settled", "_key")

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray) -> None:
        self.tokens = np.asarray(tokens, dtype=np.int32)
        self.offsets = np.asarray(offsets, dtype=np.int32)
        self._outcomes: dict[Any, Outcome] = {}
        self._content: tuple[bytes, np.ndarray, int] | None = None
        self._startable: dict[int, RemainderSet | None] = {}
        self._settled: dict[Any, tuple[np.ndarray, RemainderSet | None]] = {}
        self._key: bytes | None = None

    def pairs_key(self) -> bytes:
        """A 20-byte name of the pairs themselves (BLAKE2b of the token and offset arrays),
        computed once: sets with equal pairs are the same set wherever they were made, so
        judgments kept under it carry over between objects and processes (``content``'s
        16-byte digests name the remainder strings instead)."""
        if self._key is None:
            pairs = hashlib.blake2b(self.tokens.tobytes(), digest_size=20)
            pairs.update(self.offsets.tobytes())
            self._key = pairs.digest()
        return self._key

    def content(self, vocab: Any) -> tuple[bytes, np.ndarray, int]:
        """(digest of the distinct remainder strings sorted by length then bytes, index of each
        pair's string in that order, number of distinct strings), computed once. Equal digests
        mean equal strings (128-bit BLAKE2b over length-prefixed strings), so a verdict per
        distinct string carries over between sets."""
        if self._content is None:
            key = (vocab.content_hash, self.pairs_key())  # the same pairs in another set
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

    def outcome(self, lexer: Any, vocab: Any, next_bytes: NextBytes) -> Outcome:
        """The outcome of lexing every remainder from the empty lexeme of ``lexer``, whose
        children keep only the pairs that can open a lexeme allowed after the one they
        ended (``next_bytes``; ``lexer`` belongs to one grammar, and so does it)."""
        found = self._outcomes.get(lexer)
        if found is None:
            found = self._outcomes[lexer] = _walk(self, lexer, vocab, next_bytes)
        return found

    def settled(self, lexer: Any, vocab: Any, next_bytes: NextBytes
                ) -> tuple[np.ndarray, RemainderSet | None]:
        """(tokens whose remainder is viable in every context that runs the terminals of
        ``lexer``, the other pairs or None), cached per lexer. With the lexer of the ignored
        terminals alone (which every context runs too) those are the remainders that stay
        inside one of its lexemes, and the ignorable tails (``ignorable_tails``)."""
        found = self._settled.get(lexer)
        if found is None:
            valid = self.outcome(lexer, vocab, next_bytes).valid
            tails = self.offsets >= ignorable_tails(lexer, vocab)[self.tokens]
            if tails.any():
                valid = np.union1d(valid, self.tokens[tails])  # both int32
            if not len(valid):
                found = (valid, self)
            else:
                rest = ~np.isin(self.tokens, valid)
                found = ((valid, None) if not rest.any() else
                         (valid, RemainderSet(self.tokens[rest], self.offsets[rest])))
            self._settled[lexer] = found
        return found

    def startable(self, after: Openings, vocab: Any) -> RemainderSet | None:
        """The pairs whose remainder can open a lexeme allowed next (``after``): this set
        itself when all can, None when none can (cached per ``after``)."""
        found = self._startable.get(after.uid, self)
        if found is self and after.uid not in self._startable:
            keep = after.admits(self.tokens, self.offsets, vocab)
            if keep.all():
                found = self
            elif keep.any():
                found = RemainderSet(self.tokens[keep], self.offsets[keep])
            else:
                found = None
            self._startable[after.uid] = found
        return found


class Outcome:
    """Valid token ids (also packed when many), and child groups keyed by emitted terminals."""

    __slots__ = ("valid", "packed", "children")

    def __init__(self, valid: np.ndarray, children: list[tuple[frozenset[int], RemainderSet]],
                 size: int) -> None:
        self.valid = valid
        self.children = children
        self.packed: np.ndarray | None = None
        if worth_packing(len(valid), size):
            self.packed = pack_ids(valid, size)


class Openings:
    """How a lexeme of some terminals may begin (the compiler's answer for the lexeme after
    a given one, whatever the parse): bit ``b2`` of row ``b1`` of ``table`` says whether one
    of them matches a text beginning with bytes ``b1 b2``, or matches ``b1`` alone (then any
    lexeme may follow); bit 256 whether one begins with ``b1`` (little-endian packed rows).
    No table: anything may open (too many terminals to be worth a table)."""

    __slots__ = ("uid", "table")
    _uids = itertools.count()

    def __init__(self, table: np.ndarray | None) -> None:
        self.uid = next(Openings._uids)  # never reused: a cache key on shared remainder sets
        self.table = table

    @classmethod
    def union(cls, parts: list[tuple[np.ndarray, np.ndarray]]) -> Openings:
        """The openings of several terminals, each given by ``terminal_openings``."""
        table = np.zeros((256, 257), dtype=bool)
        for first, rows in parts:
            table[first] |= rows
        return cls(np.packbits(table, axis=1, bitorder="little"))

    def admits(self, tokens: np.ndarray, offsets: np.ndarray, vocab: Any) -> np.ndarray:
        """Bool per (token, offset) pair: whether its remainder can open such a lexeme (its
        first two bytes, or its only byte, pass the table)."""
        if self.table is None:
            return np.ones(len(tokens), dtype=bool)
        matrix, lengths, _ = vocab.byte_matrix()
        rows = _row_index(vocab)[tokens]
        second = offsets + 1
        following = matrix[rows, np.minimum(second, matrix.shape[1] - 1)].astype(np.intp)
        following[second >= lengths[rows]] = 256
        packed = self.table[matrix[rows, offsets], following >> 3]
        return ((packed >> (following & 7)) & 1).astype(bool)


def terminal_openings(dfa: Any) -> tuple[np.ndarray, np.ndarray]:
    """One terminal's part of an ``Openings`` table: the first bytes its matches begin with,
    and for each a bool row over the second byte (and 256: the first byte alone)."""
    if not dfa.n_states:
        return np.empty(0, dtype=np.intp), np.zeros((0, 257), dtype=bool)
    first = np.flatnonzero(dfa.trans[0] >= 0)
    states = dfa.trans[0][first]
    rows = np.ones((len(first), 257), dtype=bool)
    rows[:, :256] = (dfa.trans[states] >= 0) | dfa.accepting[states][:, None]
    return first, rows


# emitted terminal ids -> how the next lexeme may begin (see Openings)
NextBytes = Callable[[frozenset[int]], Openings]


def _walk(rs: RemainderSet, lexer: Any, vocab: Any, next_bytes: NextBytes) -> Outcome:
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
            emitted = lexer.emit[int(key)]
            sel = dead[e == key]
            sel = sel[next_bytes(emitted).admits(rs.tokens[sel], pos[sel], vocab)]
            if len(sel):
                children.append((emitted, RemainderSet(rs.tokens[sel], pos[sel])))
    return Outcome(valid, children, vocab.size)


# ignored terminals' lexer -> {vocabulary hash: ignorable_tails}
_TAILS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
NO_TAIL = np.iinfo(np.int32).max  # ignorable_tails of a token without one


def ignorable_tails(lexer: Any, vocab: Any) -> np.ndarray:
    """Per token id, the first offset from which its bytes are an *ignorable tail* under
    ``lexer`` (the ignored terminals' lexer; ``NO_TAIL`` when no byte is): bytes that are
    each a complete lexeme alone, or the first byte of a two-byte lexeme whose second byte is
    one alone (CR LF), and at most a last byte that begins a lexeme. Every suffix of a tail
    is one too, so a context lexer that also runs these terminals, started anywhere in it,
    ends a lexeme within two bytes or is still inside one when the token ends: whatever its
    longest match picks is ignored or expected (scanned), and the text stays viable in every
    context. Cached per lexer and vocabulary."""
    per_vocab = _TAILS.setdefault(lexer, {})
    found = per_vocab.get(vocab.content_hash)
    if found is None:
        trans = lexer.trans
        complete = lexer.emit_group >= 0
        first = trans[0]
        alone = (first >= 0) & complete[first]  # the byte is a whole lexeme
        opens = (first >= 0) & ~alone
        second = trans[np.maximum(first, 0)]  # (first byte, second byte) -> state
        pair = opens[:, None] & alone[None, :] & (second >= 0) & complete[np.maximum(second, 0)]
        matrix, lengths, ids = vocab.byte_matrix()
        tail = np.full(len(ids), NO_TAIL, dtype=np.int32)
        going = np.ones(len(ids), dtype=bool)  # every byte right of the column is in the tail
        for col in range(matrix.shape[1] - 1, -1, -1):
            byte = matrix[:, col]
            after = matrix[:, min(col + 1, matrix.shape[1] - 1)]
            ok = (going & (col < lengths)
                  & (alone[byte] | (opens[byte] & ((col + 1 == lengths) | pair[byte, after]))))
            tail[ok] = col
            going &= ok | (col >= lengths)
        found = np.full(vocab.size, NO_TAIL, dtype=np.int32)
        found[ids] = tail
        per_vocab[vocab.content_hash] = found
    return found


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
