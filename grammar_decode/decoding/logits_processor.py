"""GrammarLogitsProcessor: grammar masks inside ``transformers``' own ``model.generate``.

One matcher per batch row. ``generate`` calls the processor before choosing each new token,
with every id so far; the first call fixes the prompt length, later calls first advance each
row's matcher with the token chosen at the previous step and then mask the scores. Works for
greedy search, sampling and batches (not beam search, whose rows are reordered between steps).

Pass ``eos_token_id=sorted(processor.eos_token_ids)`` to ``generate`` so that it stops on
every EOS-like id the grammar may emit. Rows that already finished keep only the pad token (and
the EOS ids) allowed, which keeps sampling well defined while ``generate`` pads them.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import LogitsProcessor

from grammar_decode.decoding import loop
from grammar_decode.decoding.sampling import apply_mask, fill_allowed
from grammar_decode.errors import GrammarDecodeError


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks logits so that every row of ``generate``'s output follows the grammar."""

    def __init__(self, compiled: Any, batch_size: int = 1, *,
                 pad_token_id: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.compiled = compiled
        self.vocab = compiled.vocab
        self.batch_size = batch_size
        self.pad_token_id = pad_token_id
        self.eos_token_ids: frozenset[int] = frozenset(self.vocab.eos_token_ids)
        self.reset()

    def reset(self) -> None:
        """Forget all progress so that the processor can serve a new ``generate`` call."""
        self.matchers = [loop.new_matcher(self.compiled) for _ in range(self.batch_size)]
        self.prompt_length: int | None = None
        self.steps = 0
        self._mask: torch.Tensor | None = None
        self._blocked: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        batch, width = scores.shape
        if batch != self.batch_size:
            raise GrammarDecodeError(
                f"GrammarLogitsProcessor was built for batch size {self.batch_size} but got "
                f"{batch} rows (num_beams and num_return_sequences multiply the rows)")
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        else:
            self._advance(input_ids)
        self.steps += 1
        if self._mask is None or self._mask.shape != scores.shape:
            self._mask = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
            self._blocked = torch.empty_like(self._mask)
        for row, matcher in enumerate(self.matchers):
            if matcher.is_terminated():
                self._allow_padding(self._mask[row])
            else:
                fill_allowed(matcher, self._mask[row], self.vocab.size)
                if not bool(self._mask[row].any()):
                    raise GrammarDecodeError(
                        f"row {row}: no token can continue the output (the grammar cannot be "
                        "completed with this vocabulary)")
        return apply_mask(scores, self._mask, self._blocked)

    def _advance(self, input_ids: torch.LongTensor) -> None:
        """Feed each unfinished row's matcher the token generated at the previous step."""
        expected = self.prompt_length + self.steps
        if input_ids.shape[1] != expected:
            raise GrammarDecodeError(
                f"expected {expected} ids (prompt {self.prompt_length} + {self.steps} generated) "
                f"but got {input_ids.shape[1]}: call reset() before reusing the processor")
        for row, token in enumerate(input_ids[:, -1].tolist()):
            matcher = self.matchers[row]
            if not matcher.is_terminated() and not matcher.accept_token(token):
                raise GrammarDecodeError(
                    f"row {row}: token {token} is not allowed by the grammar (another logits "
                    "processor or a forced token overrode the mask)")

    def _allow_padding(self, mask_row: torch.Tensor) -> None:
        """A finished row: only padding/EOS, so that sampling stays defined for the batch."""
        mask_row.zero_()
        allowed = set(self.eos_token_ids)
        if self.pad_token_id is not None:
            allowed.add(self.pad_token_id)
        ids = [i for i in allowed if 0 <= i < mask_row.shape[0]]
        if not ids:
            raise GrammarDecodeError("a finished row needs a pad or EOS token id to continue")
        mask_row[ids] = True
