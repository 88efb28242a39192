"""GrammarMatcher: the incremental state of one generation (parse chart + partial lexeme).

A token is allowed iff its bytes keep the text a viable prefix of some sentence, decided
exactly by the contextual longest-match lexer and the Earley parser. ``allowed_token_ids`` /
``fill_mask`` read the precomputed mask store of the current lexer state and only walk the
(short) remainders of tokens that cross a lexeme boundary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from grammar_decode.maskstore.remainders import RemainderSet
from grammar_decode.matcher.earley import EarleySet, scan

if TYPE_CHECKING:
    import torch

    from grammar_decode.compiler import CompiledGrammar
    from grammar_decode.matcher.lexer import ContextLexer


class ChartView:
    """A committed chart (shared list prefix) plus hypothetical sets, without copying."""

    __slots__ = ("base", "n", "ext")

    def __init__(self, base: list[EarleySet], n: int, ext: tuple[EarleySet, ...] = ()) -> None:
        self.base, self.n, self.ext = base, n, ext

    def __len__(self) -> int:
        return self.n + len(self.ext)

    def __getitem__(self, i: int) -> EarleySet:
        if i < 0:
            i += self.n + len(self.ext)
        return self.base[i] if i < self.n else self.ext[i - self.n]

    def push(self, s: EarleySet) -> ChartView:
        return ChartView(self.base, self.n, self.ext + (s,))


# (ChartView, ContextLexer, lexer state, backtrack point): the backtrack point is None, or
# (state, pending bytes) when the lexeme was complete in ``state`` and has since read
# ``pending`` bytes without being complete again (longest match may have to fall back there).
_State = tuple


def _emit(compiled: CompiledGrammar, view: ChartView, ctx: ContextLexer, q: int
          ) -> tuple[ChartView, ContextLexer] | None:
    """End the current lexeme (state ``q``): scan its terminals; None if it cannot end here."""
    emitted = ctx.emit[q]
    if not emitted:
        return None
    return _emit_set(compiled, view, ctx, emitted)


def _restart(compiled: CompiledGrammar, view: ChartView, ctx: ContextLexer, q: int,
             data: bytes) -> _State | None:
    """End the lexeme in state ``q``, then lex ``data`` from an empty lexeme."""
    after = _emit(compiled, view, ctx, q)
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
    view, ctx, q, back = state
    nq = ctx.trans_list[q][b]
    if nq >= 0:
        if ctx.emit[nq]:
            return view, ctx, nq, None
        if ctx.emit[q]:
            return view, ctx, nq, (q, bytes((b,)))
        if back is not None:
            return view, ctx, nq, (back[0], back[1] + bytes((b,)))
        return view, ctx, nq, None
    if ctx.emit[q]:
        return _restart(compiled, view, ctx, q, bytes((b,)))
    if back is not None:
        return _restart(compiled, view, ctx, back[0], back[1] + bytes((b,)))
    return None


def _accepting(compiled: CompiledGrammar, state: _State) -> bool:
    """Whether the text is a complete sentence (the lexer flushes its lexeme at the end)."""
    view, ctx, q, back = state
    if q == 0:
        return view[-1].accepting
    if ctx.emit[q]:
        after = _emit(compiled, view, ctx, q)
        return after is not None and after[0][-1].accepting
    if back is not None:
        redo = _restart(compiled, view, ctx, back[0], back[1])
        return redo is not None and _accepting(compiled, redo)
    return False


class _TokenSet:
    """A token set under construction: a packed bitset part plus small id arrays, so that
    unions of large precomputed sets are byte-wise ORs and small ones cost their size."""

    __slots__ = ("packed", "ids")

    def __init__(self, packed: np.ndarray) -> None:
        self.packed = packed.copy()
        self.ids: list[np.ndarray] = []

    def add(self, packed: np.ndarray | None, ids: np.ndarray) -> None:
        if packed is not None:
            np.bitwise_or(self.packed, packed, out=self.packed)
        elif len(ids):
            self.ids.append(ids)

    def add_filtered(self, other: _TokenSet, keep: np.ndarray) -> None:
        """Add ``other`` restricted to the packed set ``keep``."""
        np.bitwise_or(self.packed, other.packed & keep, out=self.packed)
        for ids in other.ids:
            hit = (keep[ids >> 3] >> (7 - (ids & 7))) & 1
            self.ids.append(ids[hit.astype(bool)])

    def to_bool(self, size: int) -> np.ndarray:
        out = np.unpackbits(self.packed, count=size).view(bool)
        for ids in self.ids:
            out[ids] = True
        return out


def _mask(compiled: CompiledGrammar, state: _State) -> _TokenSet:
    """Tokens whose bytes keep the text viable."""
    view, ctx, q, back = state
    store = compiled.store_for(ctx)
    masks = store.state(q, ctx.trans, compiled.vocab)
    allowed = _TokenSet(masks.inside)
    for e_index, remainders in masks.crossing:
        after = _emit_set(compiled, view, ctx, ctx.ids_of(store.emit_sets[e_index]))
        if after is not None:
            _judge_remainders(compiled, after, remainders, allowed)
    if masks.n_d0:
        after = _emit(compiled, view, ctx, q)
        if after is not None:
            allowed.add_filtered(_mask(compiled, (after[0], after[1], 0, None)), masks.d0)
    if back is not None:
        redo = _restart(compiled, view, ctx, back[0], back[1])
        if redo is not None:
            allowed.add_filtered(_mask(compiled, redo), masks.backtrack)
    return allowed


def _judge_remainders(compiled: CompiledGrammar, after: tuple[ChartView, ContextLexer],
                      remainders: RemainderSet, allowed: _TokenSet) -> None:
    """Add tokens whose remaining bytes are viable after a lexeme was emitted."""
    view, ctx = after
    outcome = remainders.outcome(ctx, compiled.vocab)
    allowed.add(outcome.packed, outcome.valid)
    for emitted, child in outcome.children:
        nxt = _emit_set(compiled, view, ctx, emitted)
        if nxt is not None:
            _judge_remainders(compiled, nxt, child, allowed)


def _emit_set(compiled: CompiledGrammar, view: ChartView, ctx: ContextLexer,
              emitted: frozenset[int]) -> tuple[ChartView, ContextLexer] | None:
    """Scan a lexeme of terminals ``emitted`` (ignored terminals leave the parse unchanged)."""
    if emitted <= compiled.ignored_ids:
        return view, ctx
    nxt = scan(compiled.earley, view, emitted)
    if nxt is None:
        return None
    return view.push(nxt), compiled.context_for(nxt)


class GrammarMatcher:
    """Tracks one sequence: which tokens may come next, accepting tokens, rolling back."""

    def __init__(self, compiled: CompiledGrammar) -> None:
        self.compiled = compiled
        self.reset()

    def reset(self) -> None:
        """Back to the empty text."""
        c = self.compiled
        self._chart: list[EarleySet] = [c.initial_set]
        self._ctx = c.context_for(c.initial_set)
        self._q = 0
        self._back: tuple[int, bytes] | None = None
        self._terminated = False
        self._history: list[tuple[int, ContextLexer, int, tuple | None, bool]] = []
        self._cached_mask: np.ndarray | None = None

    # -- state -----------------------------------------------------------------------------
    def _state(self) -> _State:
        return ChartView(self._chart, len(self._chart)), self._ctx, self._q, self._back

    def is_accepting(self) -> bool:
        """Whether the text so far is a complete sentence (so EOS may come next)."""
        return not self._terminated and _accepting(self.compiled, self._state())

    def is_terminated(self) -> bool:
        """Whether an EOS token has been accepted."""
        return self._terminated

    # -- masks -----------------------------------------------------------------------------
    def allowed_mask(self) -> np.ndarray:
        """Bool numpy array over the vocabulary ids (EOS ids included when accepting)."""
        if self._cached_mask is not None:
            return self._cached_mask
        size = self.compiled.vocab_size
        if self._terminated:
            mask = np.zeros(size, dtype=bool)
        else:
            mask = _mask(self.compiled, self._state()).to_bool(size)
            if self.is_accepting():
                mask[list(self.compiled.eos_token_ids)] = True
        self._cached_mask = mask
        return mask

    def allowed_token_ids(self) -> list[int]:
        """Ids of every token that may come next."""
        return np.flatnonzero(self.allowed_mask()).tolist()

    def fill_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """Write the allowed set into a bool tensor (True = allowed; ids past the vocab False)."""
        import torch

        allowed = torch.from_numpy(self.allowed_mask())
        n = min(len(allowed), mask.shape[-1])
        mask.zero_()
        mask[..., :n] = allowed[:n]
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
        view, self._ctx, self._q, self._back = state
        self._chart.extend(view.ext)
        return True

    def accept_text(self, text: str) -> bool:
        """Advance by UTF-8 text."""
        return self.accept_bytes(text.encode("utf-8"))

    def _push_history(self) -> None:
        self._history.append((len(self._chart), self._ctx, self._q, self._back,
                              self._terminated))
        self._cached_mask = None

    def rollback(self, n_tokens: int = 1) -> None:
        """Undo the last ``n_tokens`` accepted tokens (or byte strings)."""
        if n_tokens < 0 or n_tokens > len(self._history):
            raise ValueError(f"cannot roll back {n_tokens} of {len(self._history)} steps")
        if n_tokens == 0:
            return
        n, self._ctx, self._q, self._back, self._terminated = self._history[-n_tokens]
        del self._history[-n_tokens:]
        del self._chart[n:]
        self._cached_mask = None

    def copy(self) -> GrammarMatcher:
        """An independent matcher in the same state."""
        other = GrammarMatcher.__new__(GrammarMatcher)
        other.compiled = self.compiled
        other._chart = list(self._chart)
        other._ctx, other._q, other._back = self._ctx, self._q, self._back
        other._terminated = self._terminated
        other._history = list(self._history)
        other._cached_mask = self._cached_mask
        return other

    @property
    def num_accepted(self) -> int:
        return len(self._history)


def explore_contexts(compiled: CompiledGrammar, max_contexts: int = 256) -> int:
    """Breadth-first over lexemes from the start, building each new context's store."""
    seen: set[int] = set()
    frontier = [ChartView([compiled.initial_set], 1)]
    built = 0
    while frontier and built < max_contexts:
        view = frontier.pop(0)
        ctx = compiled.context_for(view[-1])
        if id(ctx) in seen:
            continue
        seen.add(id(ctx))
        compiled.store_for(ctx).state(0, ctx.trans, compiled.vocab)
        built += 1
        for emitted in {e for e in ctx.emit if e}:
            after = _emit_set(compiled, view, ctx, emitted)
            if after is not None and len(after[0]) < 64:
                frontier.append(after[0])
    return built
