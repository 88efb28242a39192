"""Deterministic automata over bytes: the form every terminal takes before mask-store building."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

import numpy as np

DEAD = -1


@dataclass(eq=False)
class ByteDFA:
    """A trimmed, minimal DFA over bytes; state 0 is the start, ``-1`` is the dead state.

    ``trans[s, b]`` is the next state after byte ``b``; every live state can reach an
    accepting state (trimmed), so "not dead" means "still a prefix of some match".
    """

    trans: np.ndarray  # int32 [n_states, 256]
    accepting: np.ndarray  # bool [n_states]
    _digest: str | None = field(default=None, repr=False)

    @property
    def n_states(self) -> int:
        return int(self.trans.shape[0])

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
            h = hashlib.sha256()
            h.update(np.ascontiguousarray(self.trans, dtype="<i4").tobytes())
            h.update(np.ascontiguousarray(self.accepting, dtype=np.uint8).tobytes())
            self._digest = h.hexdigest()
        return self._digest

    def matches_empty(self) -> bool:
        return self.n_states > 0 and bool(self.accepting[0])


def empty_dfa() -> ByteDFA:
    """The DFA of the empty language."""
    return ByteDFA(np.zeros((0, 256), dtype=np.int32), np.zeros(0, dtype=bool))


def _eps_closure(states: set[int], eps: list[list[int]]) -> frozenset[int]:
    stack = list(states)
    seen = set(states)
    while stack:
        s = stack.pop()
        for t in eps[s]:
            if t not in seen:
                seen.add(t)
                stack.append(t)
    return frozenset(seen)


def determinize(edges: list[list[tuple[int, int, int]]], start: int, finals: set[int],
                eps: list[list[int]] | None = None) -> ByteDFA:
    """Subset construction for a byte NFA: per-state (lo, hi, target) edges, optional
    epsilon edges."""

    def close(states: set[int]) -> frozenset[int]:
        return _eps_closure(states, eps) if eps is not None else frozenset(states)

    start_set = close({start})
    closed: dict[frozenset[int], frozenset[int]] = {}
    index = {start_set: 0}
    order = [start_set]
    rows: list[np.ndarray] = []
    queue = deque([start_set])
    while queue:
        current = queue.popleft()
        targets: list[set[int]] = [set() for _ in range(256)]
        for s in current:
            for lo, hi, t in edges[s]:
                for b in range(lo, hi + 1):
                    targets[b].add(t)
        row = np.full(256, DEAD, dtype=np.int32)
        for b in range(256):
            if not targets[b]:
                continue
            raw = frozenset(targets[b])
            key = closed.get(raw)
            if key is None:
                key = closed[raw] = close(raw)
            if key not in index:
                index[key] = len(order)
                order.append(key)
                queue.append(key)
            row[b] = index[key]
        rows.append(row)
    trans = np.stack(rows) if rows else np.zeros((0, 256), dtype=np.int32)
    accepting = np.array([bool(s & finals) for s in order], dtype=bool)
    return minimize(trans, accepting)


def _trim(trans: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop states unreachable from 0 or unable to reach acceptance; renumber (0 stays 0)."""
    n = trans.shape[0]
    if n == 0:
        return trans, accepting
    reach = np.zeros(n, dtype=bool)
    reach[0] = True
    frontier = [0]
    while frontier:
        nxt = np.unique(trans[frontier].ravel())
        nxt = nxt[nxt >= 0]
        nxt = nxt[~reach[nxt]]
        reach[nxt] = True
        frontier = nxt.tolist()
    # co-reachability: iterate until no change (n is small)
    live = accepting & reach
    while True:
        t = trans.copy()
        valid = t >= 0
        to_live = np.zeros_like(valid)
        to_live[valid] = live[t[valid]]
        new_live = live | (reach & to_live.any(axis=1))
        if (new_live == live).all():
            break
        live = new_live
    if not live[0]:
        return np.zeros((0, 256), dtype=np.int32), np.zeros(0, dtype=bool)
    keep = np.flatnonzero(live)
    remap = np.full(n, DEAD, dtype=np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    sub = trans[keep]
    out = np.where(sub >= 0, remap[np.maximum(sub, 0)], DEAD).astype(np.int32)
    return out, accepting[keep].copy()


def minimize(trans: np.ndarray, accepting: np.ndarray) -> ByteDFA:
    """Trim then Moore partition refinement (vectorised); start state stays 0."""
    trans, accepting = _trim(np.asarray(trans, dtype=np.int32), np.asarray(accepting, bool))
    n = trans.shape[0]
    if n == 0:
        return empty_dfa()
    classes = accepting.astype(np.int64)
    n_classes = len(np.unique(classes))
    while True:
        target_cls = np.where(trans >= 0, classes[np.maximum(trans, 0)], -1)
        sig = np.concatenate([classes[:, None], target_cls], axis=1)
        _, new_classes = np.unique(sig, axis=0, return_inverse=True)
        new_classes = new_classes.ravel()
        k = int(new_classes.max()) + 1
        classes = new_classes
        if k == n_classes:
            break
        n_classes = k
    # renumber classes in BFS order from the start state so that equal DFAs look equal
    order: list[int] = []
    seen = np.full(n_classes, -1, dtype=np.int64)
    rep = np.zeros(n_classes, dtype=np.int64)
    for s in range(n - 1, -1, -1):
        rep[classes[s]] = s
    queue = deque([int(classes[0])])
    seen[classes[0]] = 0
    order.append(int(classes[0]))
    while queue:
        c = queue.popleft()
        for t in trans[rep[c]]:
            if t < 0:
                continue
            tc = int(classes[t])
            if seen[tc] < 0:
                seen[tc] = len(order)
                order.append(tc)
                queue.append(tc)
    new_trans = np.full((len(order), 256), DEAD, dtype=np.int32)
    new_acc = np.zeros(len(order), dtype=bool)
    for i, c in enumerate(order):
        row = trans[rep[c]]
        ok = row >= 0
        new_trans[i, ok] = seen[classes[row[ok]]]
        new_acc[i] = accepting[rep[c]]
    return ByteDFA(new_trans, new_acc)


def product(a: ByteDFA, b: ByteDFA, mode: str) -> ByteDFA:
    """Intersection (``mode='and'``) or difference (``'minus'``: in a, not in b) of two DFAs."""
    if a.n_states == 0:
        return empty_dfa()
    index: dict[tuple[int, int], int] = {(0, 0 if b.n_states else DEAD): 0}
    order = list(index)
    rows = []
    i = 0
    while i < len(order):
        sa, sb = order[i]
        i += 1
        ta = a.trans[sa]
        tb = b.trans[sb] if sb >= 0 else np.full(256, DEAD, dtype=np.int32)
        row = np.full(256, DEAD, dtype=np.int32)
        for byte in np.flatnonzero(ta >= 0):
            key = (int(ta[byte]), int(tb[byte]))
            if mode == "and" and key[1] < 0:
                continue
            if key not in index:
                index[key] = len(order)
                order.append(key)
            row[byte] = index[key]
        rows.append(row)
    acc = []
    for sa, sb in order:
        in_b = sb >= 0 and bool(b.accepting[sb])
        acc.append(bool(a.accepting[sa]) and (in_b if mode == "and" else not in_b))
    return minimize(np.stack(rows), np.array(acc, dtype=bool))


def concatenate(a: ByteDFA, b: ByteDFA) -> ByteDFA:
    """The DFA of a·b (via an NFA with epsilon edges folded in, then subset construction)."""
    if a.n_states == 0 or b.n_states == 0:
        return empty_dfa()
    off = a.n_states
    edges: list[list[tuple[int, int, int]]] = []
    for dfa, shift in ((a, 0), (b, off)):
        for s in range(dfa.n_states):
            edges.append(_row_edges(dfa.trans[s], shift))
    # epsilon from every accepting state of a to b's start: copy b's start edges
    for s in np.flatnonzero(a.accepting):
        edges[int(s)] = edges[int(s)] + edges[off]
    finals = {off + int(s) for s in np.flatnonzero(b.accepting)}
    if b.accepting[0]:
        finals |= {int(s) for s in np.flatnonzero(a.accepting)}
    return determinize(edges, 0, finals)


def _row_edges(row: np.ndarray, shift: int) -> list[tuple[int, int, int]]:
    """Compress one transition row into (lo, hi, target) runs."""
    out = []
    b = 0
    while b < 256:
        t = int(row[b])
        if t < 0:
            b += 1
            continue
        e = b
        while e + 1 < 256 and int(row[e + 1]) == t:
            e += 1
        out.append((b, e, t + shift))
        b = e + 1
    return out


