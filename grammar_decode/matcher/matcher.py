"""GrammarMatcher: the incremental state of one generation (Earley set + partial lexeme).

A token is allowed iff its bytes keep the text a viable prefix of some sentence, decided
exactly by the contextual longest-match lexer and the Earley parser. ``allowed_token_ids`` /
``fill_mask`` read the precomputed mask store of the current lexer state and only walk the
(short) remainders of tokens that cross a lexeme boundary. Earley sets are canonical, so the
result is memoised per (Earley set, lexer state, backtrack point) on the CompiledGrammar.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from grammar_decode.maskstore.bits import (bitmask_words, bits_at, concat_ids, pack_ids, select_ids,
                                           set_bits, unpack, worth_packing)
from grammar_decode.maskstore.remainders import RemainderSet
from grammar_decode.matcher.earley import EarleySet, Step, frame_of, scan_frame

try:
    import cython
except ImportError:  # pure Python without Cython installed: its decorators do nothing
    from grammar_decode import cython_shim as cython

if TYPE_CHECKING:
    import torch

    from grammar_decode.compiler import CompiledGrammar
    from grammar_decode.maskstore.store import ContextStore, StateMasks
    from grammar_decode.matcher.lexer import ContextLexer


# (EarleySet, ContextLexer, lexer state, backtrack point). The context is always the one of
# the Earley set. The backtrack point is None, or (state, pending bytes) when the lexeme was
# complete in ``state`` and has since read ``pending`` bytes without being complete again
# (longest match may have to fall back there).
_State = tuple


def _emit(compiled: CompiledGrammar, s: EarleySet, ctx: ContextLexer, q: int
          ) -> tuple[EarleySet, ContextLexer] | None:
    """End the current lexeme (state ``q``): scan its terminals; None if it cannot end here."""
    emitted = ctx.emit[q]
    if not emitted:
        return None
    return _emit_set(compiled, s, ctx, emitted)


def _restart(compiled: CompiledGrammar, s: EarleySet, ctx: ContextLexer, q: int,
             data: bytes) -> _State | None:
    """End the lexeme in state ``q``, then lex ``data`` from an empty lexeme."""
    after = _emit(compiled, s, ctx, q)
    if after is None:
        return None
    state: _State | None = (after[0], after[1], 0, None)
    for b in data:
        state = _step(compiled, state, b)
        if state is None:
            return None
    return state


def _step(compiled: CompiledGrammar, state: _State, b: int) -> _State | None:
    """Feed one byte; None when the text stops being a viable prefix."""
    s, ctx, q, back = state
    nq = ctx.trans_list[q][b]
    if nq >= 0:
        if ctx.emit[nq]:
            return s, ctx, nq, None
        if ctx.emit[q]:
            return s, ctx, nq, (q, bytes((b,)))
        if back is not None:
            return s, ctx, nq, (back[0], back[1] + bytes((b,)))
        return s, ctx, nq, None
    if ctx.emit[q]:
        return _restart(compiled, s, ctx, q, bytes((b,)))
    if back is not None:
        return _restart(compiled, s, ctx, back[0], back[1] + bytes((b,)))
    return None


def _accepting(compiled: CompiledGrammar, state: _State) -> bool:
    """Whether the text is a complete sentence (the lexer flushes its lexeme at the end)."""
    s, ctx, q, back = state
    if q == 0:
        return s.accepting
    if ctx.emit[q]:
        after = _emit(compiled, s, ctx, q)
        return after is not None and after[0].accepting
    if back is not None:
        redo = _restart(compiled, s, ctx, back[0], back[1])
        return redo is not None and _accepting(compiled, redo)
    return False


_NO_IDS = np.empty(0, np.int32)


def _bitmask_row(bitmask: torch.Tensor | np.ndarray, index: int) -> torch.Tensor | np.ndarray:
    """Row ``index`` of an int32 bitmask of shape (batch, words) or (words,): a numpy array
    (sharing a CPU tensor's memory), or the torch row itself when that cannot be shared."""
    row = bitmask[index] if bitmask.ndim == 2 else bitmask
    if row.ndim != 1 or str(row.dtype) not in ("int32", "torch.int32"):
        raise ValueError(f"expected an int32 bitmask of shape (batch, words) or (words,), "
                         f"got {row.dtype} of shape {tuple(bitmask.shape)}")
    if isinstance(row, np.ndarray) or row.device.type != "cpu" or not row.is_contiguous():
        return row
    return row.numpy()


# A finished token set: (packed bitset or None, id array, id array, ...), one flat tuple of
# arrays, which the cyclic GC stops tracking on its first visit (the memos hold thousands of
# them). Nested, (packed, (ids, ...)), the outer tuple stayed tracked until a generation-1
# collection: the GC visits it before the inner one, which is then still tracked.
Tokens = tuple
_NO_TOKENS: Tokens = (None,)


KEPT_BESIDE_BITSET = 256  # ids a finished part keeps unmerged (see _TokenSet.freeze)
KEPT_PARTS = 8  # id arrays a finished part keeps unmerged


class _TokenSet:
    """A token set under construction: a packed bitset part plus small id arrays, so that
    unions of large precomputed sets are byte-wise ORs and small ones cost their size. The
    bitset is copied on first write only (``owned``): the sets it starts from (stores,
    outcomes, memoised judgments) are read-only, and many judgments add nothing to them."""

    __slots__ = ("packed", "ids", "owned")

    def __init__(self, packed: np.ndarray | None) -> None:
        self.packed = packed  # None: no packed part yet
        self.owned = False
        self.ids: list[np.ndarray] = []  # a tuple once frozen

    def add(self, packed: np.ndarray | None, ids: np.ndarray, fresh: bool = False) -> None:
        """Add a packed set (``fresh``: made for this set, so it may be written) or, when
        there is none, the ids ``ids``."""
        if packed is not None:
            if self.packed is None:
                self.packed, self.owned = packed, fresh
            elif self.owned:
                np.bitwise_or(self.packed, packed, out=self.packed)
            else:
                self.packed, self.owned = self.packed | packed, True
        elif len(ids):
            self.ids.append(ids)

    def add_set(self, other: Tokens) -> None:
        """Add every token of ``other``."""
        self.add(other[0], _NO_IDS)
        self.ids.extend(other[1:])

    def add_filtered(self, other: Tokens, keep: np.ndarray) -> None:
        """Add ``other`` restricted to the packed set ``keep``."""
        packed = other[0]
        if packed is not None:
            self.add(packed & keep, _NO_IDS, fresh=True)
        self.ids.extend([part[bits_at(keep, part)] for part in other[1:]])

    def freeze(self, size: int, apart: bool = False) -> Tokens:
        """The finished set. The id arrays are merged into one, or into the bitset when there
        is one or they are many (then reading the set is a copy of the bitset). ``apart``: a
        part of a larger set (a judgment), which may keep a few small arrays as they are,
        beside a bitset it does not own: the larger set merges them anyway (a merge costs a
        call and a copy per array), and a mask is read whole, so it merges them."""
        parts = self.ids
        if not parts:
            return (self.packed,)
        n_ids = 0
        for ids in parts:
            n_ids += len(ids)
        if (apart and n_ids <= KEPT_BESIDE_BITSET and len(parts) <= KEPT_PARTS
                and not self.owned):
            return (self.packed, *parts)
        ids = concat_ids(parts) if len(parts) > 1 else parts[0]
        self.ids = []
        if self.packed is not None:
            if not self.owned:
                self.packed, self.owned = self.packed.copy(), True
            set_bits(self.packed, ids)
        elif worth_packing(n_ids, size):
            self.add(pack_ids(ids, size), ids, fresh=True)
        else:
            self.ids = [ids]
        return (self.packed, *self.ids)


def _contains(tokens: Tokens, ids: np.ndarray, size: int) -> np.ndarray:
    """Bool per id of ``ids``: whether it is in ``tokens`` (over ``size`` ids). Id arrays are
    read through a bitset (a copy and a loop each, compiled): a sorted search took ~8 numpy
    calls, np.isin ~20 us of checks."""
    packed = tokens[0] if len(tokens) == 1 else _packed_copy(tokens, size)
    return np.zeros(len(ids), dtype=bool) if packed is None else bits_at(packed, ids)


def _nbytes(tokens: Tokens) -> int:
    """Bytes held by a token set (its memo cost). A loop: compiled, a generator expression
    is an object and a resumed frame per call (~3% of Go's cold pass)."""
    packed = tokens[0]
    total = 0 if packed is None else packed.nbytes
    for i in range(1, len(tokens)):
        total += tokens[i].nbytes
    return total


def _packed_copy(tokens: Tokens, size: int) -> np.ndarray:
    """``tokens`` as a new packed bitset over ``size`` ids (word-padded)."""
    packed = tokens[0]
    out = np.zeros(4 * bitmask_words(size), dtype=np.uint8) if packed is None else packed.copy()
    for i in range(1, len(tokens)):
        set_bits(out, tokens[i])
    return out


def _mask(compiled: CompiledGrammar, state: _State) -> Tokens:
    """Tokens whose bytes keep the text viable (memoised: the answer depends only on the
    canonical Earley set, the lexer state and the backtrack point)."""
    s, _, q, back = state
    # uids are never reused; an int when there is no backtrack point (most states): a tuple
    # key is one more tracked object per memoised mask, until the GC's first visit
    key = s.uid << 32 | q if back is None else (s.uid, q, back)
    found = compiled.mask_memo.get(key)
    if found is None:
        found = _compute_mask(compiled, state)
        compiled.mask_memo.put(key, found, _nbytes(found))
    return found


def _compute_mask(compiled: CompiledGrammar, state: _State) -> Tokens:
    s, ctx, q, back = state
    store = compiled.store_for(ctx)
    masks = store.state(q, ctx.trans, compiled.vocab)
    allowed = _TokenSet(masks.inside)
    if masks.crossing:
        allowed.add_set(_judge_crossing(compiled, s, ctx, q, store, masks))
    if masks.n_d0:
        after = _emit(compiled, s, ctx, q)
        if after is not None:
            allowed.add_filtered(_mask(compiled, (after[0], after[1], 0, None)), masks.d0)
    if back is not None:
        redo = _restart(compiled, s, ctx, back[0], back[1])
        if redo is not None:
            allowed.add_filtered(_mask(compiled, redo), masks.backtrack)
    return allowed.freeze(compiled.vocab_size)


# Judging tokens that cross lexeme boundaries. ``children`` are (emitted terminal ids,
# RemainderSet) pairs: scan that lexeme, then lex the remaining bytes of the set's tokens in
# the next context (outcomes cached per context), whose valid tokens stay inside a lexeme and
# whose other tokens end further lexemes (the outcome's children). A *pop* is a branch that
# left the frame it was judged on: lexemes scanned before, the lexeme that popped, its set.
# Pops are kept flat, three entries per branch in one sequence: a triple per branch was one
# more container for the cyclic GC to traverse (memoised judgments hold thousands of them).
# A judgment gets its children as a list, or as the lexer state they are the crossing groups
# of, ``(ctx, q, store, masks)``, computed only when a walk needs them (``_children_of``).
_Children = list
_Pops = list  # [path, emitted, remainder set, path, emitted, remainder set, ...]


@cython.no_gc
@cython.cclass
class _Judged:
    """Tokens found viable on a frame, and the branches that popped out of it (flat, see
    ``_Pops``; a tuple, the shared empty one when none did)."""

    __slots__ = ("tokens", "pops", "nbytes")

    def __init__(self, tokens: Tokens, pops: _Pops) -> None:
        self.tokens, self.pops = tokens, tuple(pops) if pops else ()
        self.nbytes = _nbytes(tokens) + 70 * len(pops) + 200


def _judge_crossing(compiled: CompiledGrammar, s: EarleySet, ctx: ContextLexer, q: int,
                    store: ContextStore, masks: StateMasks) -> Tokens:
    """The crossing tokens of lexer state ``q`` viable after the exact set ``s``."""
    tokens, _ = _judge(compiled, s, q, (ctx, q, store, masks))
    return tokens


CROSSING_CHILDREN_LIMIT = 4096  # lexer states whose crossing groups are kept per grammar


def _children_of(compiled: CompiledGrammar, children: _Children | tuple) -> _Children:
    """The branches of a judgment: a list as given, or the crossing groups of the lexer state
    ``(ctx, q, store, masks)`` (see ``_startable_children``; they depend on the grammar and
    the state only, so they are kept per grammar, forgotten all at once past the limit)."""
    if type(children) is list:
        return children
    ctx, q, store, masks = children
    kept = compiled.crossing_children
    found = kept.get((ctx, q))
    if found is None:
        if len(kept) >= CROSSING_CHILDREN_LIMIT:
            kept.clear()
        found = kept[(ctx, q)] = _startable_children(compiled, ctx, store, masks)
    return found


def _startable_children(compiled: CompiledGrammar, ctx: ContextLexer, store: ContextStore,
                        masks: StateMasks) -> _Children:
    """The crossing groups of a lexer state, each without the tokens that go on with a byte
    no lexeme allowed after its terminals begins with (see ``CompiledGrammar.next_bytes``)."""
    children = []
    for e, rs in masks.crossing:
        emitted = ctx.ids_of(store.emit_sets[e])
        kept = rs.startable(compiled.next_bytes(emitted), compiled.vocab)
        if kept is not None:
            children.append((emitted, kept))
    return children


def _judge(compiled: CompiledGrammar, s: EarleySet, key: object,
           children: _Children | tuple, into: _TokenSet | None = None
           ) -> tuple[Tokens, _Pops | tuple]:
    """Tokens of ``children`` viable after ``s``, and the branches that pop out of the world
    of ``s`` (only when ``s`` lies on a frame, i.e. has ``BOTTOM`` origins).

    The walk is done on ``frame_of(s)`` and memoised per (frame, ``_table_key(key)``), so
    every set with that frame (other depths, other positions) shares it; only its pops are
    redone from ``s``.
    Each lexeme scanned in a walk starts a judgment on the next set's own frame, so chains of
    lexemes (runs of operators, nested brackets) reuse the frames of their links.
    ``into``: the caller's token set, which a redone judgment adds its tokens to (it then
    returns none of its own): building and merging a set per nested judgment cost more.

    When ``key`` is a RemainderSet (the children are its outcome's), a frame judgment without
    pops is also kept by its remainder strings (``_Verdict``): a remainder set with the same
    strings reads it instead of judging. Judgments redone on ``s`` itself are not kept: an
    exact set is rarely judged twice (keeping them cost Go 3% more instructions than they
    saved)."""
    frame = frame_of(compiled.earley, s)
    named = (frame, _table_key(key))
    judged = compiled.frame_table.get(named) or compiled.frame_memo.get(named)
    if judged is None:
        judged = _judge_frame(compiled, frame, key, named, children)
    if frame is s or not judged.pops:
        return judged.tokens, judged.pops
    tokens = _TokenSet(None) if into is None else into
    tokens.add_set(judged.tokens)
    pops: _Pops = []
    below = judged.pops
    for i in range(0, len(below), 3):
        path = below[i]
        here = s
        for lexeme in path:  # no pop on the frame: none from s either
            here = _next_set(_lexeme_step(compiled, here, lexeme))
        _follow(compiled, here, path, below[i + 1], below[i + 2], tokens, pops)
    if into is not None:
        return _NO_TOKENS, pops
    return tokens.freeze(compiled.vocab_size, apart=True), pops


def _judge_frame(compiled: CompiledGrammar, frame: EarleySet, key: object, named: tuple,
                 children: _Children | tuple) -> _Judged:
    """The judgment of ``children`` on ``frame``, read from a verdict kept for the same
    remainder strings when there is one, else walked; memoised under ``named`` (frame and
    ``_table_key(key)``, as ``_judge`` looked it up), or only by the verdict when one is kept
    for it (a verdict read for its own remainder set is a lookup: two memo entries cost more
    than they save)."""
    content = _content_of(compiled, key)
    known = None
    if content is not None and not compiled.precomputing:  # warm() walks: deeper frames too
        known = (compiled.frame_table.get((frame, content[0]))
                 or compiled.verdicts.get((frame.uid, content[0])))
    if known is not None:
        judged = _Judged(known.tokens_of(key, content, compiled.vocab_size), [])
    else:
        judged = _walk(compiled, frame, _children_of(compiled, children))
        if content is not None and not judged.pops:
            _keep_verdict(compiled, frame, key, content, judged.tokens)
            if not compiled.precomputing:
                return judged  # the verdict answers (frame, key) too
    if compiled.precomputing:
        table_put(compiled, named, judged)
    else:
        compiled.frame_memo.put(named, judged, judged.nbytes)
    return judged


def _table_key(key: object) -> object:
    """How ``frame_table`` and ``frame_memo`` name a judgment's key: a lexer state as it is,
    a remainder set by its pairs (20 bytes, so never equal to a verdict's 16-byte content
    digest): equal pairs made elsewhere share the judgment, and the table means the same in
    every process (``frame_table.py`` persists it)."""
    return key.pairs_key() if isinstance(key, RemainderSet) else key


def table_put(compiled: CompiledGrammar, key: tuple, kept: _Judged | _Verdict) -> None:
    """Record a precomputed judgment or verdict in ``compiled.frame_table``."""
    compiled.frame_table[key] = kept
    compiled.frame_table_bytes += kept.nbytes


SHARED_VERDICT_PAIRS = 512  # larger remainder sets are judged per object only (see below)


def _content_of(compiled: CompiledGrammar, key: object) -> tuple[bytes, np.ndarray, int] | None:
    """The content name of a remainder-set key whose verdicts are shared, else None. Reading
    a verdict for another set costs time linear in the set (the per-object memo answers in
    O(1)); past a few hundred pairs that is more than the walk it saves."""
    if isinstance(key, RemainderSet) and len(key) <= SHARED_VERDICT_PAIRS:
        return key.content(compiled.vocab)
    return None


@cython.no_gc
@cython.cclass
class _Verdict:
    """The viable tokens of one remainder set after one Earley set, readable for any
    remainder set with the same strings (the per-string verdict is derived on first use)."""

    __slots__ = ("rs", "tokens", "content", "viable", "nbytes")

    def __init__(self, rs: RemainderSet, tokens: Tokens,
                 content: tuple[bytes, np.ndarray, int]) -> None:
        self.rs, self.tokens, self.content = rs, tokens, content
        self.viable: np.ndarray | None = None  # per distinct string, in content order
        self.nbytes = _nbytes(tokens) + len(rs) * 4 + 200

    def tokens_of(self, rs: RemainderSet, content: tuple[bytes, np.ndarray, int], size: int
                  ) -> Tokens:
        """The viable tokens of ``rs`` (whose content equals this verdict's; ``size`` ids)."""
        if rs is self.rs or rs.pairs_key() == self.rs.pairs_key():  # the same pairs
            return self.tokens
        if self.viable is None:
            _, index, n_distinct = self.content
            self.viable = np.zeros(n_distinct, dtype=bool)
            self.viable[index[_contains(self.tokens, self.rs.tokens, size)]] = True
        ids = select_ids(rs.tokens, self.viable, content[1])
        return (None, ids) if len(ids) else _NO_TOKENS


def _keep_verdict(compiled: CompiledGrammar, at: EarleySet, rs: RemainderSet,
                  content: tuple[bytes, np.ndarray, int], tokens: Tokens) -> None:
    """Keep ``tokens``, the viable tokens of ``rs`` after ``at``, under ``rs``'s strings."""
    kept = _Verdict(rs, tokens, content)
    if compiled.precomputing:  # on frames only (see _judge)
        table_put(compiled, (at, content[0]), kept)
    else:
        compiled.verdicts.put((at.uid, content[0]), kept, kept.nbytes)


def _walk(compiled: CompiledGrammar, frame: EarleySet, children: _Children) -> _Judged:
    tokens = _TokenSet(None)
    pops: _Pops = []
    for emitted, rs in children:
        _follow(compiled, frame, (), emitted, rs, tokens, pops)
    return _Judged(tokens.freeze(compiled.vocab_size, apart=True), pops)


def _follow(compiled: CompiledGrammar, here: EarleySet, path: tuple, emitted: frozenset[int],
            rs: RemainderSet, tokens: _TokenSet, pops: _Pops) -> None:
    """Scan ``emitted`` after ``here`` (reached by ``path``) and judge ``rs`` there."""
    nxt = _lexeme_step(compiled, here, emitted)
    if type(nxt) is tuple:  # popped
        # the step from the exact set succeeds too (the same items wait there): a remainder
        # that stays inside an ignored lexeme is viable whatever set it leads to
        valid, rest = rs.settled(compiled.ignored_lexer, compiled.vocab, compiled.next_bytes_of)
        tokens.add(None, valid)
        if rest is not None:
            pops += (path, emitted, rest)
        return
    if nxt is None:
        return
    outcome = rs.outcome(compiled.context_for(nxt), compiled.vocab, compiled.next_bytes_of)
    tokens.add(outcome.packed, outcome.valid)
    if outcome.children:
        found, below = _judge(compiled, nxt, rs, outcome.children, tokens)
        tokens.add_set(found)
        if below:
            path = path + (emitted,)
            for i in range(0, len(below), 3):
                pops += (path + below[i], below[i + 1], below[i + 2])


LEXEME_STEPS_LIMIT = 8192  # cached (Earley set, lexeme) steps per grammar


def _lexeme_step(compiled: CompiledGrammar, s: EarleySet, emitted: frozenset[int]) -> Step:
    """Scan a lexeme of terminals ``emitted`` (ignored terminals leave the parse unchanged):
    an ``earley.Step`` (the next set, None, or the next set in a 1-tuple when the step
    popped), as cached: per grammar (forgotten all at once past ``LEXEME_STEPS_LIMIT``
    entries) by lexeme, then by the set's uid. No object per step: a (uid, lexeme) key was
    one more tuple per step for the cyclic GC to visit (``_next_set`` reads the set)."""
    steps = compiled.lexeme_steps.get(emitted)
    if steps is None:
        steps = compiled.lexeme_steps[emitted] = {}
    found = steps.get(s.uid, steps)
    if found is steps:
        found = s if emitted <= compiled.ignored_ids else scan_frame(compiled.earley, s, emitted)
        if compiled.lexeme_step_count >= LEXEME_STEPS_LIMIT:
            compiled.forget_lexeme_steps()
            steps = compiled.lexeme_steps[emitted] = {}
        steps[s.uid] = found
        compiled.lexeme_step_count += 1
    return found


def _next_set(step: Step) -> EarleySet | None:
    """``earley.step_set``, as this module's C function in the compiled build (a call into
    another module is a Python call, and this runs once per lexeme of every redone pop)."""
    return step[0] if type(step) is tuple else step


def _emit_set(compiled: CompiledGrammar, s: EarleySet, ctx: ContextLexer,
              emitted: frozenset[int]) -> tuple[EarleySet, ContextLexer] | None:
    """Scan a lexeme after the parse state ``s`` (whose context is ``ctx``): the next set
    and its context, or None."""
    nxt = _next_set(_lexeme_step(compiled, s, emitted))
    if nxt is None:
        return None
    return (nxt, ctx) if nxt is s else (nxt, compiled.context_for(nxt))


class GrammarMatcher:
    """Tracks one sequence: which tokens may come next, accepting tokens, rolling back."""

    _target: tuple | None = None  # fill_bitmask's (tensor, index, (data pointer, shape), row)

    def __init__(self, compiled: CompiledGrammar) -> None:
        self.compiled = compiled
        self.reset()

    def reset(self) -> None:
        """Back to the empty text."""
        c = self.compiled
        self._set = c.initial_set
        self._ctx = c.context_for(c.initial_set)
        self._q = 0
        self._back: tuple[int, bytes] | None = None
        self._terminated = False
        self._history: list[tuple[EarleySet, ContextLexer, int, tuple | None, bool]] = []
        self._forget_masks()

    # -- state -----------------------------------------------------------------------------
    def _state(self) -> _State:
        return self._set, self._ctx, self._q, self._back

    def is_accepting(self) -> bool:
        """Whether the text so far is a complete sentence (so EOS may come next)."""
        return not self._terminated and _accepting(self.compiled, self._state())

    def is_terminated(self) -> bool:
        """Whether an EOS token has been accepted."""
        return self._terminated

    # -- masks -----------------------------------------------------------------------------
    def allowed_mask(self) -> np.ndarray:
        """Bool numpy array over the vocabulary ids (EOS ids included when accepting): the
        bitmask unpacked. Read-only: the array is cached until the state changes."""
        if self._cached_mask is None:
            mask = unpack(self.allowed_bitmask().view(np.uint8), self.compiled.vocab_size)
            mask.flags.writeable = False  # shared with copies of this matcher
            self._cached_mask = mask
        return self._cached_mask

    def allowed_bitmask(self) -> np.ndarray:
        """The allowed set as an int32 array of ``ceil(vocab_size / 32)`` words, token ``i``
        allowed iff bit ``i % 32`` of word ``i // 32`` is set (the layout of XGrammar's and
        llguidance's token bitmasks); EOS ids are set exactly when the text is a sentence.
        The precomputed sets are packed that way, so this is usually the memoised bitset
        itself. Read-only: the array is cached until the state changes."""
        if self._cached_bits is None:
            size = self.compiled.vocab_size
            tokens = _NO_TOKENS if self._terminated else _mask(self.compiled, self._state())
            accepting = self.is_accepting()  # False once terminated
            if tokens[0] is not None and len(tokens) == 1 and not accepting:
                packed = tokens[0]  # the memoised bitset itself
            else:
                packed = _packed_copy(tokens, size)
                for i in self.compiled.eos_token_ids if accepting else ():  # a few ids
                    packed[i >> 3] |= 1 << (i & 7)
            words = packed.view("<i4")
            words.flags.writeable = False  # shared with copies of this matcher (and the memo)
            self._cached_bits = words
        return self._cached_bits

    def fill_bitmask(self, bitmask: torch.Tensor | np.ndarray, index: int = 0
                     ) -> torch.Tensor | np.ndarray:
        """Write ``allowed_bitmask()`` into row ``index`` of an int32 bitmask (a torch tensor
        or numpy array of shape ``(batch, words)``, or 1-D); words past the vocabulary get 0.
        For a CPU tensor the numpy view of its row is kept while the tensor, its data pointer
        and shape stay the same (making the view costs twice the copy)."""
        words = self.allowed_bitmask()
        if isinstance(bitmask, np.ndarray):
            row = _bitmask_row(bitmask, index)
        else:
            where = (bitmask.data_ptr(), bitmask.shape)
            kept = self._target
            if kept is None or kept[0] is not bitmask or kept[1] != index or kept[2] != where:
                row = _bitmask_row(bitmask, index)
                if not isinstance(row, np.ndarray):  # on another device, or strided
                    import torch

                    n = min(len(words), row.shape[0])
                    row[:n] = torch.from_numpy(words[:n].astype(np.int32)).to(row.device)
                    row[n:] = 0
                    return bitmask
                kept = self._target = (bitmask, index, where, row)
            row = kept[3]
        n = min(len(words), len(row))
        row[:n] = words[:n]
        row[n:] = 0
        return bitmask

    def allowed_token_ids(self) -> list[int]:
        """Ids of every token that may come next."""
        return np.flatnonzero(self.allowed_mask()).tolist()

    def fill_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """Write the allowed set into a bool tensor (True = allowed; ids past the vocab False)."""
        import torch

        allowed = self.allowed_mask()
        n = min(len(allowed), mask.shape[-1])
        if mask.device.type == "cpu" and mask.dtype == torch.bool and mask.is_contiguous():
            rows = mask.numpy().reshape(-1, mask.shape[-1])  # shares the tensor's memory
            rows[:, :n] = allowed[:n]  # a numpy copy is ~4x cheaper than a torch one here
            rows[:, n:] = False
            return mask
        mask[..., :n] = torch.tensor(allowed[:n], device=mask.device)  # copies: read-only
        mask[..., n:] = False
        return mask

    # -- advancing -------------------------------------------------------------------------
    def accept_token(self, token_id: int) -> bool:
        """Advance by one token; False (state unchanged) when it is not allowed."""
        if self._terminated:
            return False
        c = self.compiled
        if token_id in c.eos_token_ids:
            if not self.is_accepting():
                return False
            self._push_history()
            self._terminated = True
            return True
        if not 0 <= token_id < len(c.vocab.token_bytes):
            return False
        data = c.vocab.token_bytes[token_id]
        if not data:
            return False
        return self.accept_bytes(data)

    def accept_bytes(self, data: bytes) -> bool:
        """Advance by raw bytes (any split of the text); False and unchanged if not viable."""
        if self._terminated:
            return False
        state: _State | None = self._state()
        for b in data:
            state = _step(self.compiled, state, b)
            if state is None:
                return False
        self._push_history()
        self._set, self._ctx, self._q, self._back = state
        return True

    def accept_text(self, text: str) -> bool:
        """Advance by UTF-8 text."""
        return self.accept_bytes(text.encode("utf-8"))

    def _forget_masks(self) -> None:
        """Drop the masks computed for the current state (it changed)."""
        self._cached_mask: np.ndarray | None = None
        self._cached_bits: np.ndarray | None = None

    def _push_history(self) -> None:
        self._history.append((self._set, self._ctx, self._q, self._back, self._terminated))
        self._forget_masks()

    def rollback(self, n_tokens: int = 1) -> None:
        """Undo the last ``n_tokens`` accepted tokens (or byte strings)."""
        if n_tokens < 0 or n_tokens > len(self._history):
            raise ValueError(f"cannot roll back {n_tokens} of {len(self._history)} steps")
        if n_tokens == 0:
            return
        self._set, self._ctx, self._q, self._back, self._terminated = self._history[-n_tokens]
        del self._history[-n_tokens:]
        self._forget_masks()

    def copy(self) -> GrammarMatcher:
        """An independent matcher in the same state."""
        other = GrammarMatcher.__new__(GrammarMatcher)
        other.compiled = self.compiled
        other._set, other._ctx, other._q = self._set, self._ctx, self._q
        other._back = self._back
        other._terminated = self._terminated
        other._history = list(self._history)
        other._cached_mask = self._cached_mask
        other._cached_bits = self._cached_bits
        return other

    @property
    def num_accepted(self) -> int:
        return len(self._history)


def explore_contexts(compiled: CompiledGrammar, max_contexts: int, seconds: float,
                     frame_seconds: float) -> int:
    """Build mask stores ahead of use, within ``seconds``; returns the contexts visited (the
    budgets' defaults are ``CompiledGrammar.warm``'s, its only caller).

    First breadth-first over lexemes from the start, expanding one Earley set per *core*
    (its waiting dotted rules, origins ignored, so nesting depth does not multiply the
    work; at most ``16 * max_contexts`` cores): the empty-lexeme state of every new context.
    Then, round-robin over those contexts, the lexer states their tokens lead to from there,
    the most common first. Finally, within ``frame_seconds``, the frame judgments of the
    multi-lexeme tokens (see ``_judge``) of every explored set in every lexer state built,
    into ``compiled.frame_table`` (kept by ``clear_parse_caches``, bounded in bytes)."""
    deadline = time.perf_counter() + seconds
    contexts: dict[int, ContextLexer] = {}
    explored: list[EarleySet] = []
    cores: set[frozenset[int]] = set()
    frontier = deque([compiled.initial_set])
    while (frontier and len(contexts) < max_contexts and len(cores) < 16 * max_contexts
           and time.perf_counter() < deadline):
        s = frontier.popleft()
        core = s.waiting_rules(compiled.earley)
        if core in cores:
            continue
        cores.add(core)
        explored.append(s)
        ctx = compiled.context_for(s)
        if id(ctx) not in contexts:
            contexts[id(ctx)] = ctx
            compiled.store_for(ctx).state(0, ctx.trans, compiled.vocab)
        for emitted in {e for e in ctx.emit if e}:
            after = _emit_set(compiled, s, ctx, emitted)
            if after is not None:
                frontier.append(after[0])
    states = [(ctx, compiled.store_for(ctx)) for ctx in contexts.values()]
    rank = 0
    while time.perf_counter() < deadline and any(
            rank < len(store.state(0, ctx.trans, compiled.vocab).successors)
            for ctx, store in states):
        for ctx, store in states:
            successors = store.state(0, ctx.trans, compiled.vocab).successors
            if rank < len(successors) and time.perf_counter() < deadline:
                store.state(int(successors[rank]), ctx.trans, compiled.vocab)
        rank += 1
    _precompute_frames(compiled, explored, time.perf_counter() + frame_seconds)
    return len(contexts)


FRAME_TABLE_BYTES = 64 << 20  # precomputed frame judgments per grammar (see explore_contexts)


def _precompute_frames(compiled: CompiledGrammar, explored: list[EarleySet],
                       deadline: float) -> None:
    """Judge the crossing tokens of each explored set in each built lexer state of its
    context, round-robin by state rank, until ``deadline`` or the table's byte budget."""
    plan = []
    for s in explored:
        ctx = compiled.context_for(s)
        store = compiled.store_for(ctx)
        plan.append((s, ctx, store, sorted(store.states)))
    compiled.precomputing = True
    try:
        rank = 0
        while any(rank < len(qs) for *_, qs in plan):
            for s, ctx, store, qs in plan:
                if (time.perf_counter() >= deadline
                        or compiled.frame_table_bytes >= FRAME_TABLE_BYTES):
                    return
                if rank < len(qs):
                    masks = store.state(qs[rank], ctx.trans, compiled.vocab)
                    if masks.crossing:
                        _judge_crossing(compiled, s, ctx, qs[rank], store, masks)
            rank += 1
    finally:
        compiled.precomputing = False
