"""Next-token distributions for the ASAp sampler: toy tables and KV-cached HF causal LMs.

A *session* serves one prompt: ``logprobs(path)`` returns the float64 log-distribution of the
next token after ``prompt + path`` (over the model's full output width, after the optional
warp). The Hugging Face session computes the prompt's KV cache once and keeps one working
cache: for a new path it crops the cache back to the longest prefix it shares with the previous
path and feeds only the remaining tokens in one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from grammar_decode.decoding.loop import last_logits_only

# A logits warper with the transformers LogitsProcessor signature:
# (input_ids LongTensor [1, L], scores FloatTensor [1, V]) -> FloatTensor [1, V].
Warp = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@runtime_checkable
class NextTokenModel(Protocol):
    """A toy model: log-probabilities (or any logits) of the next token given all ids so far."""

    def next_logprobs(self, prefix_ids: Sequence[int]) -> np.ndarray: ...


class Session(Protocol):
    def logprobs(self, path: Sequence[int]) -> np.ndarray: ...


def _normalise(scores: torch.Tensor, ids: Sequence[int], warp: Warp | None) -> np.ndarray:
    """Apply the warp to 1-D scores and return float64 log-softmax as numpy."""
    if warp is not None:
        input_ids = torch.tensor([list(ids)], dtype=torch.long)
        scores = warp(input_ids, scores.float().unsqueeze(0))[0]
    return torch.log_softmax(scores.double(), dim=-1).numpy()


class TableSession:
    """Session over a :class:`NextTokenModel` (no cache: the table is the model)."""

    def __init__(self, model: NextTokenModel, prompt_ids: Sequence[int], warp: Warp | None) -> None:
        self.model, self.prompt_ids, self.warp = model, list(prompt_ids), warp

    def logprobs(self, path: Sequence[int]) -> np.ndarray:
        ids = self.prompt_ids + list(path)
        scores = torch.as_tensor(np.asarray(self.model.next_logprobs(ids), dtype=np.float64))
        return _normalise(scores, ids, self.warp)


class HFSession:
    """Session over a transformers causal LM with a reusable KV cache for one prompt."""

    def __init__(self, model: Any, prompt_ids: Sequence[int], warp: Warp | None) -> None:
        from transformers import DynamicCache

        if not prompt_ids:
            raise ValueError("the prompt must contain at least one token (e.g. a BOS token)")
        self.model, self.prompt_ids, self.warp = model, list(prompt_ids), warp
        self.device = next(model.parameters()).device
        self.extra = last_logits_only(model)
        self.cache = DynamicCache(config=model.config)
        self.cached_path: list[int] = []   # tokens after the prompt whose KV is in the cache
        self.root_scores = self._feed(self.prompt_ids)
        self.forward_calls = 0              # model calls after the prompt (for measurements)

    def _feed(self, ids: Sequence[int]) -> torch.Tensor:
        with torch.inference_mode():
            tensor = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
            out = self.model(input_ids=tensor, past_key_values=self.cache, use_cache=True,
                             **self.extra)
            self.cache = out.past_key_values
            return out.logits[0, -1].float().cpu().clone()

    def logprobs(self, path: Sequence[int]) -> np.ndarray:
        path = list(path)
        if not path:
            return _normalise(self.root_scores, self.prompt_ids, self.warp)
        keep = 0
        limit = min(len(self.cached_path), len(path) - 1)   # at least one token must be fed
        while keep < limit and self.cached_path[keep] == path[keep]:
            keep += 1
        drop = len(self.cached_path) - keep
        if drop:
            self.cache.crop(-drop)   # negative = number of tokens to remove (all versions)
        scores = self._feed(path[keep:])
        self.forward_calls += 1
        self.cached_path = path
        return _normalise(scores, self.prompt_ids + path, self.warp)


def open_session(model: Any, prompt_ids: Sequence[int], warp: Warp | None) -> Session:
    """A session for a toy table model or a Hugging Face causal LM."""
    if isinstance(model, NextTokenModel):
        return TableSession(model, prompt_ids, warp)
    return HFSession(model, prompt_ids, warp)
