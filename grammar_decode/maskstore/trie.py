"""A byte trie of the vocabulary, and a walk of it through a DFA level by level.

Tokens share prefixes (" the", " then", " there"...), so walking the trie feeds each shared
prefix once instead of once per token: one numpy step per depth over that depth's nodes
(qwen2.5: 333k nodes for 976k token bytes). Nodes are numbered breadth first, so each depth
is a contiguous range. Built from the sorted tokens: a token starts a new node at depth d
exactly when its common prefix with the previous token in sorted order is shorter than d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ByteTrie:
    """``parent``/``byte``/``depth`` per node (node 0 is the root, the empty prefix) and
    ``row_node``: the node where each matrix row (token) ends."""

    parent: np.ndarray
    byte: np.ndarray
    depth: np.ndarray
    row_node: np.ndarray
    level_bounds: np.ndarray  # nodes of depth d are level_bounds[d]:level_bounds[d+1]

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def build_trie(matrix: np.ndarray, lengths: np.ndarray) -> ByteTrie:
    """The trie of the rows of a zero-padded byte matrix (rows of length 0 end at the root)."""
    n, width = matrix.shape
    order = np.array(sorted(range(n), key=lambda i: matrix[i, :lengths[i]].tobytes()),
                     dtype=np.int64)
    rows = matrix[order].astype(np.int16)
    rows[np.arange(width)[None, :] >= lengths[order][:, None]] = -1  # padding
    lens = lengths[order].astype(np.int64)
    # lcp[i]: common prefix length of sorted rows i-1 and i (0 for the first row)
    lcp = np.zeros(n, dtype=np.int64)
    if n > 1:
        same = (rows[1:] == rows[:-1]) & (rows[1:] >= 0)
        lcp[1:] = np.where(same.all(axis=1), width, np.argmin(same, axis=1))
    parent, byte, depth = [np.array([-1])], [np.array([0], np.int32)], [np.array([0])]
    node_of = np.zeros(n, dtype=np.int64)  # per sorted row: its node at the previous depth
    row_node = np.zeros(n, dtype=np.int64)
    total = 1
    for d in range(1, width + 1):
        sel = np.flatnonzero(lens >= d)  # contiguous groups per d-prefix (see module doc)
        if not len(sel):
            break
        new = lcp[sel] < d
        new[0] = True
        ids = total + np.cumsum(new) - 1
        starts = sel[new]
        parent.append(node_of[starts])
        byte.append(rows[starts, d - 1].astype(np.int32))
        depth.append(np.full(len(starts), d))
        node_of[sel] = ids
        total += len(starts)
        row_node[sel] = ids  # deeper depths overwrite: the last is where the row ends
    out_row_node = np.empty(n, dtype=np.int64)
    out_row_node[order] = row_node
    depth_a = np.concatenate(depth)
    level_bounds = np.searchsorted(depth_a, np.arange(int(depth_a[-1]) + 2))
    return ByteTrie(np.concatenate(parent), np.concatenate(byte), depth_a, out_row_node,
                    level_bounds)


def walk_trie(trie: ByteTrie, trans: np.ndarray, accepting: np.ndarray, start: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk every token from DFA state ``start``; per matrix row: (bytes consumed before the
    DFA died (the length if it never did), the state before dying (or the end state), the
    last position where the state was accepting (-1: none), the state there (-1: none)).

    Every node of a depth is processed at once (nodes below a dead one inherit its outcome),
    which suits states where most tokens live on for a few bytes."""
    n = trie.n_nodes
    state = np.empty(n, dtype=np.int32)  # state after the node's bytes, -1 once dead
    stop = np.empty(n, dtype=np.int32)  # bytes consumed before death (depth while alive)
    last = np.empty(n, dtype=np.int32)  # state before death (the state while alive)
    acc_pos = np.empty(n, dtype=np.int32)
    acc_state = np.empty(n, dtype=np.int32)
    start_acc = bool(accepting[start])
    state[0] = last[0] = start
    stop[0] = 0
    acc_pos[0], acc_state[0] = (0, start) if start_acc else (-1, -1)
    # a dead row appended: state -1 indexes it (Python negative indexing), so dead parents
    # need no masking: their children read -1 and "not accepting"
    flat = np.vstack([trans, np.full((1, trans.shape[1]), -1, trans.dtype)]).ravel()
    accepting_ext = np.append(accepting, False)
    bounds = trie.level_bounds
    for d in range(1, len(bounds) - 1):
        sl = slice(bounds[d], bounds[d + 1])
        par = trie.parent[sl]
        nxt = flat[state[par] * 256 + trie.byte[sl]]
        state[sl] = nxt
        alive = nxt >= 0
        stop[sl] = np.where(alive, d, stop[par])
        last[sl] = np.where(alive, nxt, last[par])
        acc = accepting_ext[nxt]
        acc_pos[sl] = np.where(acc, d, acc_pos[par])
        acc_state[sl] = np.where(acc, nxt, acc_state[par])
    end = trie.row_node
    return stop[end], last[end], acc_pos[end], acc_state[end]
