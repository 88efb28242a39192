"""The ASAp trie: sampled prefixes with over-approximated expected future grammaticality.

For a prefix ``u`` the expected future grammaticality c(u) is the probability under the model
that a continuation of ``u`` ends grammatical. The trie keeps an over-approximation c~(u):

* a prefix the grammar allows but that was never expanded has c~ = 1 (a visited EOS too:
  the text before it is a sentence, so c = 1 exactly);
* a prefix that can never finish (cut off by the token budget, or a dead end) has c~ = 0;
* an expanded prefix has c~(u) = sum over allowed v of P(v|u) * c~(uv).

An expanded node stores the allowed token ids and one weight per allowed token,
``P(v|u) * c~(uv)`` (for unvisited v simply ``P(v|u)``), plus child nodes only for the tokens
actually sampled. After a sample only the nodes on its path change, so updating is O(depth):
when a child's c~ changes by delta, its parent's mass changes by ``P(v|u) * delta``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from grammar_decode.errors import GrammarDecodeError

_FORMAT_VERSION = 1
_RESUM_BELOW = 1e-6


class TrieNode:
    """One prefix. ``allowed is None`` means not expanded (no model call made for it yet)."""

    __slots__ = ("p", "index", "c", "allowed", "weights", "mass", "allowed_mass", "children")

    def __init__(self, p: float = 1.0, index: int = -1, c: float = 1.0) -> None:
        self.p = p                    # P(token | parent prefix) under the (warped) model
        self.index = index            # position of the token in the parent's allowed array
        self.c = c                    # c~ of this prefix
        self.allowed: np.ndarray | None = None   # sorted int64 token ids the grammar allows
        self.weights: np.ndarray | None = None   # float64, P(v|u) * c~(uv) per allowed token
        self.mass = 0.0                            # sum of weights, kept incrementally
        self.allowed_mass = 0.0                    # sum of P(v|u) over allowed v (fixed)
        self.children: dict[int, TrieNode] = {}

    @property
    def expanded(self) -> bool:
        return self.allowed is not None

    def expand(self, allowed: np.ndarray, probs: np.ndarray) -> None:
        """Store the model's probabilities of the grammar-allowed tokens (all children c~ = 1)."""
        self.allowed = allowed
        self.weights = probs
        self.mass = self.allowed_mass = float(probs.sum())

    def child(self, index: int) -> TrieNode:
        """The child for allowed[index], created on first visit (c~ = 1, P from the weights)."""
        assert self.allowed is not None and self.weights is not None
        token = int(self.allowed[index])
        node = self.children.get(token)
        if node is None:
            node = TrieNode(float(self.weights[index]), index)
            self.children[token] = node
        return node


class Trie:
    """The trie of one prompt, plus the model mass of the distinct finished samples seen."""

    def __init__(self) -> None:
        self.root = TrieNode()
        self.found_mass = 0.0   # sum of P(w) over distinct grammatical samples: a lower bound of Z

    def lookup(self, path: list[int]) -> TrieNode | None:
        """The node for a token path, or None if it was never visited."""
        node = self.root
        for token in path:
            found = node.children.get(token)
            if found is None:
                return None
            node = found
        return node


def propagate(path: list[TrieNode], leaf_c: float | None = None) -> None:
    """Update c~ bottom-up along a sampled path (root first); ``leaf_c`` overrides the leaf.

    An expanded node's new c~ is its mass. Values never rise: mathematically each update can
    only lower c~, and the ``min`` guards against rounding pushing it a hair above.
    """
    for depth in range(len(path) - 1, -1, -1):
        node = path[depth]
        if depth == len(path) - 1 and leaf_c is not None:
            new = leaf_c
        elif node.expanded:
            new = node.mass
        else:
            new = node.c
        new = min(max(new, 0.0), node.c)
        delta = new - node.c
        node.c = new
        if depth and delta:
            parent = path[depth - 1]
            assert parent.weights is not None
            parent.weights[node.index] = node.p * new
            parent.mass += node.p * delta
            if parent.mass < _RESUM_BELOW * parent.allowed_mass:
                # Cancellation: most of the mass is gone, so the running sum's rounding error
                # is no longer small relative to it; re-add the weights exactly (rare).
                parent.mass = float(parent.weights.sum())


def _walk(trie: Trie) -> Iterator[tuple[int, int, TrieNode]]:
    """Preorder (parent index, token, node) for every node; parents come before children."""
    stack: list[tuple[int, int, TrieNode]] = [(-1, -1, trie.root)]
    count = 0
    while stack:
        parent, token, node = stack.pop()
        yield parent, token, node
        me = count
        count += 1
        stack.extend((me, t, child) for t, child in node.children.items())


def save_tries(path: str | Path, tries: dict[tuple[int, ...], Trie], meta: dict[str, str]) -> None:
    """Write every trie to one ``.npz`` file (plain arrays, no pickles; ``meta``: strings)."""
    prompt_ids: list[int] = []
    prompt_lengths, roots, found = [], [], []
    parent, token, p, c, mass, allowed_mass, expanded, n_allowed = [], [], [], [], [], [], [], []
    allowed_parts: list[np.ndarray] = [np.zeros(0, np.int64)]
    weight_parts: list[np.ndarray] = [np.zeros(0, np.float64)]
    for prompt, trie in tries.items():
        prompt_ids.extend(prompt)
        prompt_lengths.append(len(prompt))
        base = len(parent)
        roots.append(base)
        found.append(trie.found_mass)
        for par, tok, node in _walk(trie):
            parent.append(par + base if par >= 0 else -1)
            token.append(tok)
            p.append(node.p)
            c.append(node.c)
            mass.append(node.mass)
            allowed_mass.append(node.allowed_mass)
            expanded.append(node.expanded)
            n_allowed.append(len(node.allowed) if node.allowed is not None else 0)
            if node.allowed is not None and node.weights is not None:
                allowed_parts.append(node.allowed)
                weight_parts.append(node.weights)
    arrays = {
        "format_version": np.int64(_FORMAT_VERSION),
        "meta_keys": np.array(list(meta), dtype=str),
        "meta_values": np.array(list(meta.values()), dtype=str),
        "prompt_ids": np.array(prompt_ids, np.int64),
        "prompt_lengths": np.array(prompt_lengths, np.int64),
        "roots": np.array(roots, np.int64), "found": np.array(found, np.float64),
        "parent": np.array(parent, np.int64), "token": np.array(token, np.int64),
        "p": np.array(p, np.float64), "c": np.array(c, np.float64),
        "mass": np.array(mass, np.float64),
        "allowed_mass": np.array(allowed_mass, np.float64), "expanded": np.array(expanded, bool),
        "n_allowed": np.array(n_allowed, np.int64),
        "allowed": np.concatenate(allowed_parts).astype(np.int64),
        "weights": np.concatenate(weight_parts).astype(np.float64),
    }
    with open(path, "wb") as handle:   # a file object, so numpy does not append ".npz"
        np.savez_compressed(handle, **arrays)


def load_tries(path: str | Path) -> tuple[dict[tuple[int, ...], Trie], dict[str, str]]:
    """Read a file written by :func:`save_tries`; returns the tries and the metadata."""
    with np.load(path, allow_pickle=False) as data:
        if int(data["format_version"]) != _FORMAT_VERSION:
            raise GrammarDecodeError(f"{path}: unsupported ASAp trie format "
                                     f"{int(data['format_version'])} (expected {_FORMAT_VERSION})")
        arrays = {key: data[key] for key in data.files}
    meta = dict(zip(arrays["meta_keys"].tolist(), arrays["meta_values"].tolist()))
    offsets = np.concatenate([[0], np.cumsum(arrays["n_allowed"])])
    nodes: list[TrieNode] = []
    for i in range(len(arrays["parent"])):
        node = TrieNode(float(arrays["p"][i]), -1, float(arrays["c"][i]))
        if arrays["expanded"][i]:
            node.allowed = arrays["allowed"][offsets[i]:offsets[i + 1]].copy()
            node.weights = arrays["weights"][offsets[i]:offsets[i + 1]].copy()
        node.mass = float(arrays["mass"][i])
        node.allowed_mass = float(arrays["allowed_mass"][i])
        par = int(arrays["parent"][i])
        if par >= 0:
            parent_node, tok = nodes[par], int(arrays["token"][i])
            assert parent_node.allowed is not None
            node.index = int(np.searchsorted(parent_node.allowed, tok))
            parent_node.children[tok] = node
        nodes.append(node)
    tries: dict[tuple[int, ...], Trie] = {}
    start = 0
    for length, root, found in zip(arrays["prompt_lengths"], arrays["roots"], arrays["found"]):
        trie = Trie()
        trie.root, trie.found_mass = nodes[int(root)], float(found)
        tries[tuple(arrays["prompt_ids"][start:start + length].tolist())] = trie
        start += int(length)
    return tries, meta
