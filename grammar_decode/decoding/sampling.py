"""Token masks and next-token selection shared by the decoding loop and the logits processor.

A mask is a bool tensor as wide as the model's logits (True = allowed). The matcher fills the
first ``vocab.size`` entries; anything beyond (models often pad their output layer) stays
disallowed, so a padded logit can never be chosen.
"""

from __future__ import annotations

from typing import Protocol

import torch

from grammar_decode.errors import GrammarDecodeError


class MaskFiller(Protocol):
    """The part of the GrammarMatcher contract that masking needs."""

    def fill_mask(self, mask: torch.Tensor) -> None: ...


def fill_allowed(matcher: MaskFiller, mask: torch.Tensor, vocab_size: int) -> None:
    """Write the matcher's allowed tokens into ``mask`` (1-D, width >= vocab_size)."""
    if mask.shape[-1] < vocab_size:
        raise GrammarDecodeError(
            f"model logits have {mask.shape[-1]} entries but the grammar's vocabulary has "
            f"{vocab_size} tokens: the grammar was compiled for a different tokenizer")
    mask.zero_()
    matcher.fill_mask(mask)
    mask[vocab_size:] = False


def apply_mask(logits: torch.Tensor, mask: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
    """Set disallowed logits to -inf in place; ``blocked`` is a reusable buffer like ``mask``."""
    torch.logical_not(mask, out=blocked)
    return logits.masked_fill_(blocked, float("-inf"))


def make_generator(seed: int | None) -> torch.Generator:
    """A private CPU generator: seeded when ``seed`` is given, else from OS entropy."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def select_token(logits: torch.Tensor, *, temperature: float, top_p: float,
                 generator: torch.Generator) -> int:
    """Pick the next token id from 1-D (already masked) logits.

    ``temperature == 0`` is greedy (argmax). Otherwise sample from softmax(logits / T)
    restricted to the nucleus: the smallest set of most likely tokens whose mass reaches
    ``top_p`` (the most likely token is always kept).
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        sorted_probs[mass_before >= top_p] = 0
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))
