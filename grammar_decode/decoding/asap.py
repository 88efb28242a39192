"""Grammar-aligned sampling with ASAp (Adaptive Sampling with Approximate expected futures).

Target: Q(w) proportional to P(w) * 1[w in L(G)], the model's distribution conditioned on the
output being grammatical (and, here, on it ending with EOS within ``max_new_tokens`` tokens).
The exact next-token rule is Q(v|u) proportional to P(v|u) * c(uv), where c is the expected
future grammaticality. Plain grammar-constrained decoding (GCD) uses c = 1 for every allowed
token and is therefore biased towards prefixes with few grammatical continuations.

ASAp samples with an over-approximation c~ kept in a trie of the prefixes sampled so far (see
:mod:`grammar_decode.decoding.asap_trie`). With an empty trie a sample is exactly a GCD sample;
after each sample c~ is tightened along the sampled path, and once every prefix is expanded the
sampling distribution is exactly Q.

The target is the model's full distribution (temperature 1, no top-k / top-p). Pass ``warp=``
(a transformers LogitsProcessor, or any ``(input_ids, scores) -> scores`` callable) to target
the warped model instead: every stored probability and every reported log-probability is then
the warped one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grammar_decode.decoding.asap_models import Session, Warp, open_session
from grammar_decode.decoding.asap_trie import Trie, TrieNode, load_tries, propagate, save_tries
from grammar_decode.decoding.loop import new_matcher
from grammar_decode.errors import GrammarDecodeError


@dataclass(frozen=True)
class SampleResult:
    """One sample. ``logprob`` is log P(token_ids | prompt) under the (warped) model, EOS
    included; ``sampler_logprob`` the log-probability that the sampler, in the state it was in,
    drew exactly these tokens (equal to ``logprob - log Z`` once the sampler has converged)."""

    text: str
    token_ids: list[int]
    logprob: float
    sampler_logprob: float
    finished: bool      # ended with EOS in an accepting grammar state
    truncated: bool     # cut off by max_new_tokens (counted as ungrammatical)
    # Neither finished nor truncated: a dead end (the grammar allowed the prefix, but no token
    # of the vocabulary can continue it); also counted as ungrammatical.


class _PromptState:
    """The live parts for one prompt: its model session and a matcher following the paths."""

    def __init__(self, session: Session, matcher: Any) -> None:
        self.session = session
        self.matcher = matcher
        self.matcher_path: list[int] = []

    def allowed_after(self, path: list[int]) -> np.ndarray:
        """Sorted allowed token ids after ``path`` (rolls the matcher back to the shared prefix)."""
        keep = 0
        limit = min(len(self.matcher_path), len(path))
        while keep < limit and self.matcher_path[keep] == path[keep]:
            keep += 1
        self.matcher.rollback(len(self.matcher_path) - keep)
        del self.matcher_path[keep:]
        for token in path[keep:]:
            if not self.matcher.accept_token(token):
                raise GrammarDecodeError(f"the matcher refused token {token}, which it allowed "
                                         "before (a matcher bug)")
            self.matcher_path.append(token)
        return np.array(sorted(self.matcher.allowed_token_ids()), dtype=np.int64)


class ASApSampler:
    """Samples from the model conditioned on the grammar, learning across calls (per prompt).

    ``model``: a transformers causal LM, or a toy object with ``next_logprobs(prefix_ids)``.
    ``tokenizer`` is needed only for string prompts. Each distinct prompt has its own trie;
    tries persist across :meth:`sample` calls and can be saved and loaded. A sample that uses
    up ``max_new_tokens`` (EOS included) without ending is reported as truncated and counts as
    ungrammatical (c~ = 0 for its prefix).
    """

    def __init__(self, compiled: Any, model: Any, *, tokenizer: Any = None,
                 max_new_tokens: int = 256, seed: int | None = None,
                 warp: Warp | None = None) -> None:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.compiled = compiled
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.warp = warp
        self.rng = np.random.default_rng(seed)
        vocab = compiled.vocab
        self._token_bytes: list[bytes | None] = vocab.token_bytes
        self._eos = frozenset(int(t) for t in vocab.eos_token_ids)
        self._tries: dict[tuple[int, ...], Trie] = {}
        self.expansions = 0    # nodes whose distribution was computed (one model call each)
        self.expand_seconds = 0.0   # time spent in those (matcher mask + model + softmax)
        self._live: tuple[tuple[int, ...], _PromptState] | None = None  # one KV cache at a time

    # -- prompts ----------------------------------------------------------------------------
    def _prompt_key(self, prompt: str | Sequence[int]) -> tuple[int, ...]:
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError("a string prompt needs tokenizer=... (or pass token ids)")
            return tuple(int(t) for t in self.tokenizer(prompt)["input_ids"])
        return tuple(int(t) for t in prompt)

    def _state(self, key: tuple[int, ...]) -> _PromptState:
        if self._live is None or self._live[0] != key:
            self._live = None   # free the previous prompt's KV cache first
            self._live = (key, _PromptState(open_session(self.model, key, self.warp),
                                            new_matcher(self.compiled)))
        return self._live[1]

    def prefill(self, prompt: str | Sequence[int]) -> None:
        """Compute the prompt's KV cache now (otherwise the first sample pays for it)."""
        self._state(self._prompt_key(prompt))

    def trie(self, prompt: str | Sequence[int]) -> Trie:
        """The trie of a prompt (created empty on first use)."""
        return self._tries.setdefault(self._prompt_key(prompt), Trie())

    def reset(self, prompt: str | Sequence[int] | None = None) -> None:
        """Forget what was learnt for one prompt (or for all): sampling is GCD again."""
        if prompt is None:
            self._tries.clear()
        else:
            self._tries.pop(self._prompt_key(prompt), None)

    # -- sampling ---------------------------------------------------------------------------
    def _expand(self, node: TrieNode, state: _PromptState, path: list[int]) -> None:
        start = time.perf_counter()
        allowed = state.allowed_after(path)
        logprobs = state.session.logprobs(path) if len(allowed) else np.zeros(0)
        node.expand(allowed, np.exp(logprobs[allowed]) if len(allowed) else np.zeros(0))
        self.expansions += 1
        self.expand_seconds += time.perf_counter() - start

    def _sample_one(self, key: tuple[int, ...], trie: Trie) -> SampleResult:
        state = self._state(key)
        node = trie.root
        nodes = [node]
        path: list[int] = []
        logprob = sampler_logprob = 0.0
        finished = truncated = False
        leaf_c: float | None = None
        while True:
            if len(path) == self.max_new_tokens:
                truncated, leaf_c = True, 0.0
                break
            if not node.expanded:
                self._expand(node, state, path)
            assert node.weights is not None and node.allowed is not None
            cumulative = np.cumsum(node.weights)
            total = float(cumulative[-1]) if len(cumulative) else 0.0
            if total <= 0.0:
                if node is trie.root:
                    raise GrammarDecodeError(
                        "no grammatical output is reachable: every allowed continuation has "
                        f"probability 0 or exceeds max_new_tokens={self.max_new_tokens}")
                leaf_c = 0.0    # a dead end: nothing allowed and not a sentence
                break
            index = min(int(np.searchsorted(cumulative, self.rng.random() * total, "right")),
                        len(cumulative) - 1)
            sampler_logprob += math.log(node.weights[index] / total)
            token = int(node.allowed[index])
            first_visit = token not in node.children
            child = node.child(index)
            logprob += math.log(child.p)
            path.append(token)
            if token in self._eos:
                if first_visit:
                    trie.found_mass += math.exp(logprob)
                finished = True
                break
            node = child
            nodes.append(node)
        propagate(nodes, leaf_c)
        return self._result(path, logprob, sampler_logprob, finished, truncated)

    def _result(self, path: list[int], logprob: float, sampler_logprob: float, finished: bool,
                truncated: bool) -> SampleResult:
        data = b"".join(self._token_bytes[t] or b"" for t in path if t not in self._eos)
        return SampleResult(data.decode("utf-8", errors="replace"), path, logprob,
                            sampler_logprob, finished, truncated)

    def sample(self, prompt: str | Sequence[int], n: int = 1) -> list[SampleResult]:
        """Draw ``n`` samples for the prompt, updating its trie after each one."""
        key = self._prompt_key(prompt)
        trie = self._tries.setdefault(key, Trie())
        return [self._sample_one(key, trie) for _ in range(n)]

    # -- inspection -------------------------------------------------------------------------
    def bounds(self, prompt: str | Sequence[int]) -> tuple[float, float]:
        """Lower and upper bound on Z = P(the model's output is grammatical within budget):
        the mass of the distinct finished samples seen, and c~ of the empty prefix."""
        trie = self.trie(prompt)
        return trie.found_mass, trie.root.c

    def c_tilde(self, prompt: str | Sequence[int], prefix: Sequence[int]) -> float:
        """The current over-approximation c~ of a token prefix (may end with an EOS id)."""
        node: TrieNode | None = self.trie(prompt).root
        for depth, token in enumerate(prefix):
            assert node is not None
            if node.expanded:
                assert node.allowed is not None
                if not np.isin(token, node.allowed):
                    return 0.0
            nxt = node.children.get(int(token))
            if nxt is None:
                return 1.0 if self._grammar_allows(prefix) else 0.0
            node = nxt
        assert node is not None
        return node.c

    def _grammar_allows(self, prefix: Sequence[int]) -> bool:
        matcher = new_matcher(self.compiled)
        return all(matcher.accept_token(int(t)) for t in prefix)

    def step_distribution(self, prompt: str | Sequence[int],
                          prefix: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The sampler's current next-token distribution after ``prefix``: (ids, probs).

        For a prefix not expanded yet this is the GCD distribution; the trie is not changed.
        """
        key = self._prompt_key(prompt)
        path = [int(t) for t in prefix]
        node = self.trie(key).lookup(path)
        if node is not None and node.expanded:
            assert node.allowed is not None and node.weights is not None
            ids, weights = node.allowed, node.weights
        else:
            state = self._state(key)
            ids = state.allowed_after(path)
            weights = np.exp(state.session.logprobs(path)[ids]) if len(ids) else np.zeros(0)
        total = weights.sum()
        return ids.copy(), (weights / total if total > 0 else weights.copy())

    # -- persistence ------------------------------------------------------------------------
    def _meta(self) -> dict[str, str]:
        return {"vocab": str(getattr(self.compiled.vocab, "content_hash", "")),
                "max_new_tokens": str(self.max_new_tokens)}

    def save(self, path: str | Path) -> None:
        """Write every prompt's trie to ``path`` (a ``.npz`` file)."""
        save_tries(path, self._tries, self._meta())

    def load(self, path: str | Path) -> None:
        """Replace the tries with those saved in ``path``.

        The file must come from a sampler with the same vocabulary and ``max_new_tokens``;
        the grammar, model and warp are not recorded, so use the same ones.
        """
        tries, meta = load_tries(path)
        mine = self._meta()
        for key in ("vocab", "max_new_tokens"):
            if meta.get(key) != mine[key]:
                raise GrammarDecodeError(f"{path}: saved with {key}={meta.get(key)!r}, but this "
                                         f"sampler has {key}={mine[key]!r}")
        self._tries = tries
