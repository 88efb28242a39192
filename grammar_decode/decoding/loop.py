"""Our KV-cached decoding loop with grammar masks, exact stopping and timings.

Each step: the model's forward pass for the last accepted token runs in a worker thread while
the main thread asks the matcher for the next mask (the mask depends only on the tokens accepted
so far, not on the logits), then the masked logits give the next token and the matcher accepts
it. Generation stops when an EOS token is chosen (the mask allows EOS only when the matcher
accepts), when the matcher accepts and no other token is possible (no forward pass is wasted on
it), or when the token budget runs out.

The text is the exact concatenation of the accepted tokens' bytes from the vocabulary, never a
tokenizer round trip.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from grammar_decode.decoding.sampling import apply_mask, fill_allowed, make_generator, select_token
from grammar_decode.errors import GrammarDecodeError


class Matcher(Protocol):
    """The part of the GrammarMatcher contract the loop uses."""

    def fill_mask(self, mask: torch.Tensor) -> None: ...
    def accept_token(self, token_id: int) -> bool: ...
    def is_accepting(self) -> bool: ...


class Vocabulary(Protocol):
    """The part of the TokenVocabulary contract the loop uses."""

    token_bytes: list[bytes | None]
    eos_token_ids: frozenset[int]
    size: int


@dataclass
class DecodeTimings:
    """Wall-clock measurements of one generation (seconds)."""

    time_to_first_token: float = 0.0
    token_times: list[float] = field(default_factory=list)  # gap before each later token
    mask_seconds: float = 0.0   # computing masks + applying them (partly overlapped)
    total_seconds: float = 0.0

    @property
    def time_per_output_token(self) -> float:
        """Mean gap between consecutive tokens (after the first); 0 when fewer than two."""
        return sum(self.token_times) / len(self.token_times) if self.token_times else 0.0

    @property
    def mask_share(self) -> float:
        """Share of the total time spent on masks."""
        return self.mask_seconds / self.total_seconds if self.total_seconds else 0.0


@dataclass
class DecodeResult:
    """Output of one generation."""

    token_ids: list[int]      # generated ids, including a final EOS if one was chosen
    data: bytes               # exact bytes of the accepted non-EOS tokens
    finished: bool            # stopped because the grammar (or model, unconstrained) was done
    hit_budget: bool          # max_new_tokens ran out before a stop
    timings: DecodeTimings

    @property
    def text(self) -> str:
        """The output as text (invalid UTF-8, only possible in partial output, is replaced)."""
        return self.data.decode("utf-8", errors="replace")


def new_matcher(compiled: Any) -> Any:
    """A fresh GrammarMatcher for a CompiledGrammar (the one place that constructs them)."""
    from grammar_decode.matcher.matcher import GrammarMatcher

    return GrammarMatcher(compiled)


def logits_width(model: Any) -> int:
    """Number of logits the model outputs per position (may exceed the tokenizer's size)."""
    head = model.get_output_embeddings()
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(model.config.vocab_size)


def last_logits_only(model: Any) -> dict[str, int]:
    """Forward keyword arguments that skip the output layer for all but the last position."""
    return ({"logits_to_keep": 1} if "logits_to_keep" in
            inspect.signature(model.forward).parameters else {})


class _Forward:
    """Runs the model one step at a time on a KV cache (in a worker thread)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.logits_width = logits_width(model)
        self.past: Any = None
        self.extra = last_logits_only(model)

    def __call__(self, token_ids: Sequence[int]) -> torch.Tensor:
        # inference_mode is thread-local, so it is entered here, in the worker thread.
        with torch.inference_mode():
            ids = torch.tensor([list(token_ids)], dtype=torch.long, device=self.device)
            out = self.model(input_ids=ids, past_key_values=self.past, use_cache=True,
                             **self.extra)
            self.past = out.past_key_values
            last = out.logits[0, -1]
        # Cloned outside inference mode: a normal tensor that masking may modify in place.
        return last.float().cpu().clone()


class _Inline:
    """Executor stand-in that runs each call at once in the calling thread."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Any, *args: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def iter_decode(model: Any, prompt_ids: Sequence[int], vocab: Vocabulary,
                matcher: Matcher | None = None, *, max_new_tokens: int = 512,
                temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
                ignore_eos: bool = False, overlap: bool = True,
                ) -> Generator[int, None, DecodeResult]:
    """Decode step by step, yielding each accepted non-EOS token id; returns a DecodeResult.

    ``matcher=None`` decodes without constraints (stopping at an EOS id unless ``ignore_eos``,
    used by the benchmark to time a fixed number of tokens). ``overlap=False`` runs the
    forward pass and the mask one after the other in this thread (for comparison).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if not prompt_ids:
        raise ValueError("the prompt must contain at least one token")
    generator = make_generator(seed)
    eos_ids = torch.tensor(sorted(vocab.eos_token_ids), dtype=torch.long)
    forward = _Forward(model)
    timings = DecodeTimings()
    token_ids: list[int] = []
    chunks: list[bytes] = []
    mask = torch.zeros(forward.logits_width, dtype=torch.bool)
    blocked = torch.empty_like(mask)
    start = last = time.perf_counter()

    def next_mask() -> bool:
        """Fill the mask for the matcher's state; True when decoding must stop here."""
        t0 = time.perf_counter()
        fill_allowed(matcher, mask, vocab.size)
        n_allowed = int(mask.sum())
        n_eos = int(mask[eos_ids].sum()) if len(eos_ids) else 0
        timings.mask_seconds += time.perf_counter() - t0
        accepting = matcher.is_accepting()
        if n_allowed == 0 and not accepting:
            raise GrammarDecodeError(
                "no token can continue the output: the grammar cannot be completed with this "
                f"vocabulary after {b''.join(chunks)[-80:]!r}")
        return accepting and n_allowed == n_eos

    def result(finished: bool, hit_budget: bool) -> DecodeResult:
        timings.total_seconds = time.perf_counter() - start
        return DecodeResult(token_ids, b"".join(chunks), finished, hit_budget, timings)

    with (ThreadPoolExecutor(max_workers=1) if overlap else _Inline()) as pool:
        pending: Future[torch.Tensor] = pool.submit(forward, prompt_ids)
        mask_ready = False
        while True:
            if matcher is not None and not mask_ready and next_mask():
                pending.cancel()
                return result(True, False)
            logits = pending.result()
            if matcher is not None:
                t0 = time.perf_counter()
                apply_mask(logits, mask, blocked)
                timings.mask_seconds += time.perf_counter() - t0
            token = select_token(logits, temperature=temperature, top_p=top_p,
                                 generator=generator)
            now = time.perf_counter()
            if token_ids:
                timings.token_times.append(now - last)
            else:
                timings.time_to_first_token = now - start
            last = now
            token_ids.append(token)
            is_eos = token in vocab.eos_token_ids
            if matcher is not None and not matcher.accept_token(token):
                raise GrammarDecodeError(f"the matcher refused token {token}, which its own "
                                         "mask allowed (a matcher bug)")
            if is_eos and (matcher is not None or not ignore_eos):
                return result(True, False)
            if not is_eos:
                piece = vocab.token_bytes[token] if token < len(vocab.token_bytes) else None
                chunks.append(piece or b"")
                yield token
            if len(token_ids) >= max_new_tokens:
                done = matcher is not None and matcher.is_accepting()
                return result(done, not done)
            # When the output may be complete, decide before paying for another forward pass.
            mask_ready = matcher is not None and matcher.is_accepting()
            if mask_ready and next_mask():
                return result(True, False)
            pending = pool.submit(forward, [token])


def decode(model: Any, prompt_ids: Sequence[int], vocab: Vocabulary,
           matcher: Matcher | None = None, **options: Any) -> DecodeResult:
    """Run :func:`iter_decode` to completion and return its DecodeResult."""
    steps = iter_decode(model, prompt_ids, vocab, matcher, **options)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
