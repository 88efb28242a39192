"""Token mask store of one lexer context: for every lexer state, how every token behaves.

For a lexer state ``q`` each vocabulary token is one of:
- *inside*: all its bytes extend the current lexeme (the lexeme stays a viable prefix);
- *d0*: its first byte ends the lexeme already read in ``q``, so it is valid iff the whole token
  is valid in the next parser context (the matcher answers that from the next context's store);
- *backtrack*: it dies before the lexeme is complete anywhere inside it; valid only if the
  lexeme was complete at an earlier point before the token (longest match backtracks there),
  which depends on the matcher's pending bytes;
- *crossing*: it extends the lexeme for ``k >= 1`` bytes and then ends it; such tokens are
  grouped by the emitted terminal set into a ``RemainderSet`` of (token, offset) pairs whose
  remaining bytes are judged in the next context (see ``remainders``);
- invalid otherwise.
Inside and d0 sets are packed bitsets over the vocabulary id space (``bits``). Building is a
vectorised walk plus sorting; there is no Python loop over tokens.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np

from grammar_decode.maskstore.bits import pack_ids
from grammar_decode.maskstore.remainders import RemainderSet
from grammar_decode.maskstore.walk import split_point, walk_vocabulary


@dataclass
class StateMasks:
    """Everything precomputed for one lexer state."""

    inside: np.ndarray  # packed bits over the vocabulary
    d0: np.ndarray  # packed bits over the vocabulary
    n_d0: int
    backtrack: np.ndarray  # packed bits: die before any complete lexeme inside the token
    successors: np.ndarray  # states the inside tokens lead to, most tokens first
    crossing: list[tuple[int, RemainderSet]] = field(default_factory=list)  # (emit idx, pairs)

    @property
    def n_crossing(self) -> int:
        return sum(len(r) for _, r in self.crossing)


class ContextStore:
    """Masks for the states of one ContextLexer over one vocabulary, built state by state.

    ``emit_sets`` are sets of *positions* in the context's canonical terminal order, so a store
    is valid for any grammar whose context has the same terminals. A state's masks are built
    the first time the matcher reaches it (most product states are never visited).
    """

    def __init__(self, n_states: int, emit: list[frozenset[int]],
                 states: dict[int, StateMasks] | None = None) -> None:
        self.n_states = n_states
        self.emit = emit
        self.emit_sets = sorted({e for e in emit if e}, key=sorted)
        index = {e: i for i, e in enumerate(self.emit_sets)}
        self._emit_of_state = np.array([index.get(e, -1) for e in emit], dtype=np.int64)
        self.states: dict[int, StateMasks] = states or {}
        self._nbytes = sum(_state_bytes(m) for m in self.states.values())
        self.dirty = False
        self.path = None  # where the compiler persists it (None: memory only)
        self.build_seconds = 0.0

    def state(self, q: int, trans: np.ndarray, vocab: object) -> StateMasks:
        """The masks of lexer state ``q`` (walking the vocabulary the first time)."""
        found = self.states.get(q)
        if found is None:
            started = time.perf_counter()
            found = self.states[q] = self._build_state(q, trans, vocab)
            self._nbytes += _state_bytes(found)
            self.build_seconds += time.perf_counter() - started
            self.dirty = True
        return found

    def _build_state(self, q: int, trans: np.ndarray, vocab: object) -> StateMasks:
        matrix, lengths, ids = vocab.byte_matrix()  # type: ignore[attr-defined]
        size = vocab.size  # type: ignore[attr-defined]
        accepting = self._emit_of_state >= 0
        walk = walk_vocabulary(trans, accepting, q, matrix, lengths)
        alive = walk.stop == lengths
        pos, end_state = split_point(walk, accepting)
        ends_here = ~alive & (end_state >= 0)
        emit_at = np.where(ends_here, self._emit_of_state[np.maximum(end_state, 0)], -1)
        d0_ids = ids[ends_here & (pos == 0)]
        backtrack_ids = ids[~alive & (end_state < 0)]
        states, counts = np.unique(walk.last[alive], return_counts=True)
        cross = np.flatnonzero(ends_here & (pos > 0))
        groups: list[tuple[int, RemainderSet]] = []
        if len(cross):
            e = emit_at[cross]
            order = np.argsort(e, kind="stable")
            cross, e = cross[order], e[order]
            bounds = np.flatnonzero(np.diff(e)) + 1
            for part in np.split(np.arange(len(cross)), bounds):
                sel = cross[part]
                groups.append((int(e[part[0]]), RemainderSet(ids[sel], pos[sel])))
        return StateMasks(inside=pack_ids(ids[alive], size), d0=pack_ids(d0_ids, size),
                          n_d0=len(d0_ids), backtrack=pack_ids(backtrack_ids, size),
                          successors=states[np.argsort(-counts, kind="stable")],
                          crossing=groups)

    def nbytes(self) -> int:
        """Memory of the precomputed arrays (bitsets and remainder pairs); kept up to date as
        states are built, so callers may ask often."""
        return self._nbytes

    # -- persistence -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Serialise as a numpy .npz archive of flat arrays."""
        arrays: dict[str, np.ndarray] = {
            "n_states": np.array([self.n_states]),
            "built": np.array(sorted(self.states), np.int64),
            "emit_flat": np.array([t for e in self.emit for t in sorted(e)], np.int64),
            "emit_len": np.array([len(e) for e in self.emit], np.int64),
        }
        for q, s in self.states.items():
            arrays[f"inside{q}"] = s.inside
            arrays[f"d0{q}"] = s.d0
            arrays[f"bt{q}"] = s.backtrack
            arrays[f"succ{q}"] = s.successors
            arrays[f"meta{q}"] = np.array([s.n_d0] + [e for e, _ in s.crossing], np.int64)
            for g, (_, r) in enumerate(s.crossing):
                arrays[f"tok{q}_{g}"] = r.tokens
                arrays[f"off{q}_{g}"] = r.offsets
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContextStore:
        z = np.load(io.BytesIO(data))
        emit = []
        pos = 0
        flat = z["emit_flat"]
        for n in z["emit_len"]:
            emit.append(frozenset(int(t) for t in flat[pos:pos + n]))
            pos += int(n)
        states = {}
        for q in z["built"].tolist():
            meta = z[f"meta{q}"]
            groups = [(int(e), RemainderSet(z[f"tok{q}_{g}"], z[f"off{q}_{g}"]))
                      for g, e in enumerate(meta[1:])]
            states[q] = StateMasks(inside=z[f"inside{q}"], d0=z[f"d0{q}"], n_d0=int(meta[0]),
                                   backtrack=z[f"bt{q}"], successors=z[f"succ{q}"],
                                   crossing=groups)
        return cls(int(z["n_states"][0]), emit, states)


def _state_bytes(masks: StateMasks) -> int:
    return masks.inside.nbytes + masks.d0.nbytes + sum(
        r.tokens.nbytes + r.offsets.nbytes for _, r in masks.crossing)
