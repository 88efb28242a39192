"""Token mask store of one lexer context: for every lexer state, how every token behaves.

For a lexer state ``q`` each vocabulary token is one of:
- *inside*: all its bytes extend the current lexeme (the lexeme stays a viable prefix);
- *d0*: its first byte ends the lexeme already read in ``q``, so it is valid iff the whole token
  is valid in the next parser context (the matcher answers that from the next context's store);
- *crossing*: it extends the lexeme for ``k >= 1`` bytes and then ends it; such tokens are
  grouped by the emitted terminal set into a ``RemainderSet`` of (token, offset) pairs whose
  remaining bytes are judged in the next context (see ``remainders``);
- invalid otherwise.
Inside and d0 sets are packed bitsets over the vocabulary id space. Building is a vectorised
walk plus sorting; there is no Python loop over tokens.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from grammar_decode.maskstore.remainders import RemainderSet
from grammar_decode.maskstore.walk import walk_vocabulary


@dataclass
class StateMasks:
    """Everything precomputed for one lexer state."""

    inside: np.ndarray  # packed bits over the vocabulary
    d0: np.ndarray  # packed bits over the vocabulary
    n_d0: int
    crossing: list[tuple[int, RemainderSet]] = field(default_factory=list)  # (emit idx, pairs)

    @property
    def n_crossing(self) -> int:
        return sum(len(r) for _, r in self.crossing)


class ContextStore:
    """Masks for every state of one ContextLexer over one vocabulary.

    ``emit_sets`` are sets of *positions* in the context's canonical terminal order, so a store
    is valid for any grammar whose context has the same terminals.
    """

    def __init__(self, states: list[StateMasks], emit_sets: list[frozenset[int]]) -> None:
        self.states = states
        self.emit_sets = emit_sets

    @classmethod
    def build(cls, trans: np.ndarray, emit: list[frozenset[int]], matrix: np.ndarray,
              lengths: np.ndarray, ids: np.ndarray, vocab_size: int) -> ContextStore:
        """Walk the vocabulary from every state of the lexer and classify every token."""
        n_states = trans.shape[0]
        walk = walk_vocabulary(trans, np.arange(n_states), matrix, lengths, ids)
        emit_sets = sorted({e for e in emit if e}, key=sorted)
        emit_index = {e: i for i, e in enumerate(emit_sets)}
        emit_of_state = np.array([emit_index.get(e, -1) for e in emit], dtype=np.int64)
        states = []
        for q in range(n_states):
            alive = walk.alive[q]
            stop = walk.stop[q]
            emit_at_stop = emit_of_state[walk.last[q]]
            died_ok = ~alive & (emit_at_stop >= 0)
            d0_ids = ids[died_ok & (stop == 0)]
            cross = np.flatnonzero(died_ok & (stop > 0))
            groups: list[tuple[int, RemainderSet]] = []
            if len(cross):
                e = emit_at_stop[cross]
                order = np.argsort(e, kind="stable")
                cross, e = cross[order], e[order]
                bounds = np.flatnonzero(np.diff(e)) + 1
                for part in np.split(np.arange(len(cross)), bounds):
                    sel = cross[part]
                    groups.append((int(e[part[0]]), RemainderSet(
                        ids[sel].astype(np.int32), stop[sel].astype(np.int32))))
            states.append(StateMasks(inside=_pack(ids[alive], vocab_size),
                                     d0=_pack(d0_ids, vocab_size), n_d0=len(d0_ids),
                                     crossing=groups))
        return cls(states, emit_sets)

    def nbytes(self) -> int:
        """Memory of the precomputed arrays (bitsets and remainder pairs)."""
        total = 0
        for s in self.states:
            total += s.inside.nbytes + s.d0.nbytes
            total += sum(r.tokens.nbytes + r.offsets.nbytes for _, r in s.crossing)
        return total

    # -- persistence -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Serialise as a numpy .npz archive of flat arrays."""
        arrays: dict[str, np.ndarray] = {
            "n_states": np.array([len(self.states)]),
            "emit_flat": np.array([t for e in self.emit_sets for t in sorted(e)], np.int64),
            "emit_len": np.array([len(e) for e in self.emit_sets], np.int64),
        }
        for q, s in enumerate(self.states):
            arrays[f"inside{q}"] = s.inside
            arrays[f"d0{q}"] = s.d0
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
        emit_sets = []
        pos = 0
        flat = z["emit_flat"]
        for n in z["emit_len"]:
            emit_sets.append(frozenset(int(t) for t in flat[pos:pos + n]))
            pos += int(n)
        states = []
        for q in range(int(z["n_states"][0])):
            meta = z[f"meta{q}"]
            groups = [(int(e), RemainderSet(z[f"tok{q}_{g}"], z[f"off{q}_{g}"]))
                      for g, e in enumerate(meta[1:])]
            states.append(StateMasks(inside=z[f"inside{q}"], d0=z[f"d0{q}"],
                                     n_d0=int(meta[0]), crossing=groups))
        return cls(states, emit_sets)


def _pack(token_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    bits = np.zeros(vocab_size, dtype=bool)
    bits[token_ids] = True
    return np.packbits(bits)
