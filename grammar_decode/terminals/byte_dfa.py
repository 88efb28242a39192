"""Deterministic automata over bytes: the form every terminal takes before mask-store building.

All constructions work over *byte classes*: the 256 bytes are cut into contiguous intervals
that no edge range (or transition row) distinguishes, and subset construction, products and
minimisation iterate classes, not bytes. Results are expanded back to 256 columns at the end.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from grammar_decode.errors import GrammarCompileError

DEAD = -1
# Subset construction and products refuse to grow past this many states: such terminals are
# impractical for mask stores too, and failing clearly beats compiling for minutes.
MAX_STATES = 50_000

Edges = list[list[tuple[int, int, int]]]  # per NFA state: (lo byte, hi byte, target)


@dataclass(eq=False)
class ByteDFA:
    """A trimmed, minimal DFA over bytes; state 0 is the start, ``-1`` is the dead state.

    ``trans[s, b]`` is the next state after byte ``b``; every live state can reach an
    accepting state (trimmed), so "not dead" means "still a prefix of some match".
    """

    trans: np.ndarray  # int32 [n_states, 256]
    accepting: np.ndarray  # bool [n_states]
    _digest: str | None = field(default=None, repr=False)
    _rows: list[list[int]] | None = field(default=None, repr=False)

    @property
    def n_states(self) -> int:
        return int(self.trans.shape[0])

    def rows(self) -> list[list[int]]:
        """``trans`` as Python lists (cached), for per-state loops."""
        if self._rows is None:
            self._rows = self.trans.tolist()
        return self._rows

    def walk(self, data: bytes, state: int = 0) -> int:
        """State after reading ``data`` from ``state`` (``DEAD`` if it dies)."""
        trans = self.trans
        for b in data:
            state = int(trans[state, b])
            if state < 0:
                return DEAD
        return state

    def fullmatch(self, data: bytes) -> bool:
        """Whether the whole of ``data`` is a match."""
        s = self.walk(data)
        return s >= 0 and bool(self.accepting[s])

    def digest(self) -> str:
        """Stable structural hash (identical minimal DFAs have identical digests)."""
        if self._digest is None:
            self._digest = structural_digest(self.trans, self.accepting)
        return self._digest

    def matches_empty(self) -> bool:
        return self.n_states > 0 and bool(self.accepting[0])


def structural_digest(trans: np.ndarray, accepting: np.ndarray) -> str:
    """sha256 over the transition table and the accepting flags."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(trans, dtype="<i4").tobytes())
    h.update(np.ascontiguousarray(accepting, dtype=np.uint8).tobytes())
    return h.hexdigest()


def empty_dfa() -> ByteDFA:
    """The DFA of the empty language."""
    return ByteDFA(np.zeros((0, 256), dtype=np.int32), np.zeros(0, dtype=bool))


# ---------------------------------------------------------------- byte classes

def _class_starts_of_edges(edges: Edges) -> list[int]:
    """Start bytes of the coarsest interval partition that every edge range respects."""
    cuts = {0}
    for row in edges:
        for lo, hi, _ in row:
            cuts.add(lo)
            cuts.add(hi + 1)
    cuts.discard(256)
    return sorted(cuts)


def _class_starts_of_tables(*tables: np.ndarray) -> np.ndarray:
    """Start bytes of the interval partition on which every row of every table is constant."""
    change = np.zeros(255, dtype=bool)
    for t in tables:
        if t.shape[0]:
            change |= (t[:, 1:] != t[:, :-1]).any(axis=0)
    return np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.int64)


def _byte_to_class(starts: np.ndarray | list[int]) -> np.ndarray:
    """[256] class index of each byte, for sorted interval starts."""
    starts = np.asarray(starts, dtype=np.int64)
    return np.repeat(np.arange(starts.size), np.diff(np.append(starts, 256)))


# ---------------------------------------------------------------- subset construction

def _too_large() -> GrammarCompileError:
    return GrammarCompileError(
        f"automaton exceeds {MAX_STATES} states (counted repetitions combined with "
        f"lookaheads multiply); simplify the pattern")


def _closures(eps: list[list[int]] | None, own: list[frozenset[int]]) -> list[frozenset[int]]:
    """Epsilon closure of every NFA state, as the set of important states it contains.

    Fixpoint over the epsilon graph in reverse creation order: Thompson NFAs mostly point
    forward, so this converges in a couple of passes.
    """
    if eps is None:
        return own
    clo = [set(x) for x in own]
    changed = True
    while changed:
        changed = False
        for s in range(len(clo) - 1, -1, -1):
            mine = clo[s]
            for t in eps[s]:
                if not clo[t] <= mine:
                    mine |= clo[t]
                    changed = True
    return [frozenset(x) for x in clo]


def determinize(edges: Edges, start: int, finals: set[int],
                eps: list[list[int]] | None = None) -> ByteDFA:
    """Subset construction for a byte NFA (per-state byte-range edges, optional epsilon
    edges), then trim and minimise.

    A subset is a frozenset of *important* NFA states (those with byte edges, or final):
    closures that agree on them behave identically. Transitions are computed per byte class.
    """
    n = len(edges)
    empty: frozenset[int] = frozenset()
    closure = _closures(eps, [frozenset((s,)) if edges[s] or s in finals else empty
                              for s in range(n)])
    starts = _class_starts_of_edges(edges)
    cls = {b: i for i, b in enumerate(starts)}
    k = len(starts)
    moves: dict[int, list[tuple[int, int, frozenset[int]]]] = {}  # (class lo, hi, targets)
    for s in range(n):
        moves[s] = [(cls[lo], cls[hi + 1] - 1 if hi < 255 else k - 1, closure[t])
                    for lo, hi, t in edges[s] if closure[t]]
    final_set = frozenset(finals)

    start_set = closure[start]
    if not start_set:
        return empty_dfa()
    index = {start_set: 0}
    order = [start_set]
    rows: list[list[int]] = []
    i = 0
    while i < len(order):
        subset = order[i]
        i += 1
        acc: list[list[frozenset[int]]] = [[] for _ in range(k)]
        for s in subset:
            for c_lo, c_hi, targets in moves[s]:
                for c in range(c_lo, c_hi + 1):
                    acc[c].append(targets)
        row = [DEAD] * k
        for c in range(k):
            parts = acc[c]
            if parts:
                targets = parts[0] if len(parts) == 1 else empty.union(*parts)
                j = index.get(targets)
                if j is None:
                    j = index[targets] = len(order)
                    order.append(targets)
                    if j >= MAX_STATES:
                        raise _too_large()
                row[c] = j
        rows.append(row)
    accepting = np.array([not x.isdisjoint(final_set) for x in order], dtype=bool)
    return _finish(np.array(rows, dtype=np.int32).reshape(-1, k), accepting, starts)


# ---------------------------------------------------------------- trim / minimise

def _co_reachable(ctrans: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """States from which an accepting state can be reached (backward BFS over a CSR)."""
    n, k = ctrans.shape
    dst = ctrans.ravel()
    ok = dst >= 0
    src = np.repeat(np.arange(n), k)[ok]
    dst = dst[ok]
    by_dst = np.argsort(dst, kind="stable")
    preds = src[by_dst]
    ptr = np.searchsorted(dst[by_dst], np.arange(n + 1))
    live = accepting.copy()
    frontier = np.flatnonzero(live)
    while frontier.size:
        lo, hi = ptr[frontier], ptr[frontier + 1]
        lens = hi - lo
        total = int(lens.sum())
        if total == 0:
            break
        offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        cand = preds[np.repeat(lo, lens) + offs]
        cand = np.unique(cand[~live[cand]])
        live[cand] = True
        frontier = cand
    return live


@functools.lru_cache(maxsize=64)
def _hash_weights(width: int) -> np.ndarray:
    rng = np.random.default_rng(0x5EED + width)
    return rng.integers(1, 2**62, size=width, dtype=np.int64).astype(np.uint64) | np.uint64(1)


def _acyclic_blocks(table: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimal blocks of the states whose language is finite (Revuz: in reverse topological
    order a state equals another iff acceptance and successor blocks agree); -1 for the
    states that can reach a cycle. Returns (blocks, number of blocks)."""
    n = table.shape[0]
    rows = table.tolist()
    succs = [set(r) - {DEAD} for r in rows]
    outdeg = [len(x) for x in succs]
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, targets in enumerate(succs):
        for t in targets:
            preds[t].append(s)
    blocks = [-1] * n
    register: dict[tuple, int] = {}
    ready = [s for s in range(n) if outdeg[s] == 0]
    acc = accepting.tolist()
    while ready:
        s = ready.pop()
        sig = (acc[s], *[blocks[t] if t >= 0 else -1 for t in rows[s]])
        blocks[s] = register.setdefault(sig, len(register))
        for p in preds[s]:
            outdeg[p] -= 1
            if outdeg[p] == 0:
                ready.append(p)
    return np.array(blocks, dtype=np.int64), len(register)


def _moore(table: np.ndarray, accepting: np.ndarray, exact: bool) -> np.ndarray:
    """Block id of every state: finite-language states by ``_acyclic_blocks``, the rest by
    Moore refinement (rounds touch only those rows).

    Moore rows are told apart by a 64-bit hash of (own block, successor blocks); with
    ``exact=False`` hashes are trusted during the rounds and the caller verifies the final
    partition (see ``_is_congruence``); ``exact=True`` compares whole rows and does all
    states by Moore.
    """
    n, k = table.shape
    if exact:
        fixed, n_fixed = np.full(n, -1, dtype=np.int64), 0
    else:
        fixed, n_fixed = _acyclic_blocks(table, accepting)
    cyclic = np.flatnonzero(fixed < 0)
    blocks = fixed.copy()
    if cyclic.size == 0:
        return blocks
    weights = _hash_weights(k + 1)
    sub = table[cyclic]
    mine = accepting[cyclic].astype(np.int64)
    n_blocks = len(np.unique(mine))
    ext = np.append(blocks, -1)
    while True:
        ext[cyclic] = mine + n_fixed
        succ = ext[sub]
        if exact:
            sig = np.concatenate([mine[:, None], succ], axis=1)
            new = np.unique(sig, axis=0, return_inverse=True)[1].ravel()
        else:
            h = succ.astype(np.uint64) @ weights[1:] + mine.astype(np.uint64) * weights[0]
            new = np.unique(h, return_inverse=True)[1].ravel()
        count = int(new.max()) + 1
        mine = new.astype(np.int64)
        if count == n_blocks:
            blocks[cyclic] = mine + n_fixed
            return blocks
        n_blocks = count


def _is_congruence(table: np.ndarray, accepting: np.ndarray, blocks: np.ndarray,
                   rep: np.ndarray) -> bool:
    """Whether every state agrees with its block's representative on acceptance and on the
    blocks of all successors (then the quotient is the minimal DFA)."""
    ext = np.append(blocks, -1)
    mine = ext[table]
    theirs = mine[rep[blocks]]
    return bool((mine == theirs).all() and (accepting == accepting[rep[blocks]]).all())


def _finish(ctrans: np.ndarray, accepting: np.ndarray, starts) -> ByteDFA:
    """Trim, minimise (Moore refinement over distinct columns) and renumber canonically.

    ``ctrans`` is [n, n_classes] over the interval classes beginning at ``starts``; every
    row must be reachable from state 0 (true of everything built here). States are
    renumbered in breadth-first order from the start visiting bytes in increasing order, so
    equal languages give identical tables.
    """
    live = _co_reachable(ctrans, accepting)
    if not live[0]:
        return empty_dfa()
    if not live.all():
        remap = np.full(ctrans.shape[0] + 1, DEAD, dtype=np.int32)
        keep = np.flatnonzero(live)
        remap[keep] = np.arange(keep.size, dtype=np.int32)
        ctrans = remap[ctrans[keep]]  # DEAD (-1) indexes the trailing DEAD slot
        accepting = accepting[keep]
    # distinct columns, ordered by the first byte class using them
    first_of: dict[bytes, int] = {}  # column content -> first class having it
    firsts = [first_of.setdefault(col.tobytes(), c)
              for c, col in enumerate(np.ascontiguousarray(ctrans.T))]
    distinct = sorted(first_of.values())
    col_of_cls = np.searchsorted(distinct, firsts)
    table = np.ascontiguousarray(ctrans[:, distinct])
    col_of_byte = col_of_cls[_byte_to_class(starts)]

    blocks = _moore(table, accepting, exact=False)
    rep = np.unique(blocks, return_index=True)[1]
    if not _is_congruence(table, accepting, blocks, rep):
        blocks = _moore(table, accepting, exact=True)
        rep = np.unique(blocks, return_index=True)[1]
    # canonical BFS numbering of the blocks from the start block
    ext = np.append(blocks, -1)
    block_rows = ext[table[rep]].tolist()
    new_id = [-1] * len(rep)
    new_id[int(blocks[0])] = 0
    order = [int(blocks[0])]
    for blk in order:
        for t in block_rows[blk]:
            if t >= 0 and new_id[t] < 0:
                new_id[t] = len(order)
                order.append(t)
    ids = np.array(new_id + [DEAD], dtype=np.int32)
    out = ids[np.array([block_rows[b] for b in order], dtype=np.int64).reshape(len(order), -1)]
    trans = np.ascontiguousarray(out[:, col_of_byte], dtype=np.int32)
    return ByteDFA(trans, accepting[rep[order]].copy())


# ---------------------------------------------------------------- operations on DFAs

def with_prefix(a: ByteDFA, b: ByteDFA, negate: bool) -> ByteDFA:
    """The strings of ``a`` that have a prefix in ``b`` (``negate``: that have none): a
    top-level lookahead. BFS over reachable state pairs, vectorised over byte classes; a pair
    is settled once ``b`` accepts or dies, so ``b·Σ*`` is never built."""
    if b.n_states == 0:  # no prefix is in b
        return a if negate else empty_dfa()
    if bool(b.accepting[0]):  # the empty prefix is in b
        return empty_dfa() if negate else a
    if a.n_states == 0:
        return a
    starts = _class_starts_of_tables(a.trans, b.trans)
    ta = a.trans[:, starts].astype(np.int64)
    nb = b.n_states
    gone, hit = nb, nb + 1  # b died / b accepted: both absorbing
    tb = np.vstack([b.trans[:, starts], np.full((2, starts.size), -1)]).astype(np.int64)
    tb[tb < 0] = gone
    tb[hit] = hit
    tb = np.where(np.append(b.accepting, [False, False])[tb], hit, tb)
    width = nb + 2
    ids: dict[int, int] = {0: 0}  # key a * width + b; start pair (0, 0)
    frontier = np.zeros(1, dtype=np.int64)
    rows, accepting = [], []
    while frontier.size:
        fa, fb = np.divmod(frontier, width)
        acc = a.accepting[fa] & (fb != hit if negate else fb == hit)
        na, nbb = ta[fa], tb[fb]
        valid = (na >= 0) & (nbb != (hit if negate else gone))
        keys = np.where(valid, na * width + nbb, -1)
        uniq = np.unique(keys[valid])
        fresh = []
        for key in uniq.tolist():
            if key not in ids:
                ids[key] = len(ids)
                fresh.append(key)
        if len(ids) > MAX_STATES:
            raise _too_large()
        lut = np.array([ids[key] for key in uniq.tolist()] + [DEAD], dtype=np.int64)
        pos = np.where(valid, np.searchsorted(uniq, keys), uniq.size)
        rows.append(lut[pos])
        accepting.append(acc)
        frontier = np.array(fresh, dtype=np.int64)
    return _finish(np.concatenate(rows).astype(np.int32), np.concatenate(accepting), starts)


def prepend(prefix: bytes, dfa: ByteDFA) -> ByteDFA:
    """The DFA of a literal byte string followed by ``dfa``'s language (no subset
    construction: a chain of states in front of ``dfa``)."""
    if dfa.n_states == 0 or not prefix:
        return dfa
    n = len(prefix)
    chain = np.full((n, 256), DEAD, dtype=np.int32)
    chain[np.arange(n), list(prefix)] = np.arange(1, n + 1, dtype=np.int32)
    shifted = np.where(dfa.trans >= 0, dfa.trans + n, DEAD).astype(np.int32)
    trans = np.vstack([chain, shifted])
    accepting = np.concatenate([np.zeros(n, dtype=bool), dfa.accepting])
    starts = _class_starts_of_tables(trans)
    return _finish(np.ascontiguousarray(trans[:, starts]), accepting, starts)


def _edges_of(dfa: ByteDFA, starts: np.ndarray, shift: int) -> Edges:
    """The transitions of ``dfa`` as byte-range NFA edges over the given interval classes."""
    ends = np.append(starts[1:], 256) - 1
    table = dfa.trans[:, starts]
    out: Edges = []
    for row in table.tolist():
        out.append([(int(starts[c]), int(ends[c]), t + shift)
                    for c, t in enumerate(row) if t >= 0])
    return out


def concatenate(a: ByteDFA, b: ByteDFA) -> ByteDFA:
    """The DFA of a·b (an NFA with epsilon edges from a's accepting states to b's start)."""
    if a.n_states == 0 or b.n_states == 0:
        return empty_dfa()
    starts = _class_starts_of_tables(a.trans, b.trans)
    off = a.n_states
    edges = _edges_of(a, starts, 0) + _edges_of(b, starts, off)
    eps: list[list[int]] = [[off] if acc else [] for acc in a.accepting.tolist()]
    eps += [[] for _ in range(b.n_states)]
    finals = {off + int(s) for s in np.flatnonzero(b.accepting)}
    return determinize(edges, 0, finals, eps)


def union(dfas: list[ByteDFA]) -> ByteDFA:
    """The DFA of the union of several DFAs' languages."""
    live = [d for d in dfas if d.n_states]
    if not live:
        return empty_dfa()
    starts = _class_starts_of_tables(*(d.trans for d in live))
    edges: Edges = [[]]
    eps: list[list[int]] = [[]]
    finals: set[int] = set()
    for dfa in live:
        off = len(edges)
        edges += _edges_of(dfa, starts, off)
        eps += [[] for _ in range(dfa.n_states)]
        finals |= {off + int(s) for s in np.flatnonzero(dfa.accepting)}
        eps[0].append(off)
    return determinize(edges, 0, finals, eps)
