"""Test helpers for the decoding tests: a tiny byte-level BPE tokenizer and a random GPT-2.

Nothing is downloaded: the tokenizer is trained in memory on a few JSON strings and the model is
randomly initialised, so generations are arbitrary but every constraint must still hold.
Also a stand-in matcher (a fixed set of allowed strings) implementing the GrammarMatcher
contract, used to test the decoding machinery independently of the grammar compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

EOS = "<|endoftext|>"
CORPUS = [
    '{"name": "Ada", "age": 36, "tags": ["x", "y"]}',
    '{"ok": true, "value": null, "pi": 3.14, "city": "Zürich"}',
    '[1, 2, 3] {"a": "b"} {"id": 7, "name": "élan"}',
    "yes no maybe hello world",
]


@lru_cache(maxsize=1)
def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A ~300-token byte-level BPE (GPT-2 style byte alphabet) with one EOS token."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS)


def tiny_model(seed: int = 0, extra_logits: int = 5) -> GPT2LMHeadModel:
    """A random 2-layer GPT-2 whose output layer is wider than the tokenizer (padded ids)."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    config = GPT2Config(vocab_size=len(tokenizer) + extra_logits, n_positions=512, n_embd=32,
                        n_layer=2, n_head=2, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    return GPT2LMHeadModel(config).eval()


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes-to-unicode table."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes)}


@dataclass
class StandInVocab:
    """The parts of the TokenVocabulary contract the decoder uses."""

    token_bytes: list[bytes | None]
    eos_token_ids: frozenset[int]

    @property
    def size(self) -> int:
        return len(self.token_bytes)


@lru_cache(maxsize=1)
def tiny_vocab() -> StandInVocab:
    """Exact bytes of every token of :func:`tiny_tokenizer` (None for the EOS special)."""
    tokenizer = tiny_tokenizer()
    table = _byte_decoder()
    token_bytes: list[bytes | None] = [None] * len(tokenizer)
    for piece, idx in tokenizer.get_vocab().items():
        if piece != EOS:
            token_bytes[idx] = bytes(table[ch] for ch in piece)
    return StandInVocab(token_bytes, frozenset({tokenizer.eos_token_id}))


@dataclass
class StandInCompiled:
    """A 'compiled grammar' whose language is a fixed set of byte strings."""

    vocab: StandInVocab
    strings: tuple[bytes, ...]


class FixedStringsMatcher:
    """GrammarMatcher contract for the language ``compiled.strings`` (brute force)."""

    def __init__(self, compiled: StandInCompiled) -> None:
        self.vocab = compiled.vocab
        self.strings = compiled.strings
        self.reset()

    def reset(self) -> None:
        self.history: list[int] = []
        self.data = b""
        self.terminated = False

    def copy(self) -> FixedStringsMatcher:
        other = FixedStringsMatcher(StandInCompiled(self.vocab, self.strings))
        other.history, other.data, other.terminated = list(self.history), self.data, self.terminated
        return other

    def is_accepting(self) -> bool:
        return self.data in self.strings

    def is_terminated(self) -> bool:
        return self.terminated

    def allowed_token_ids(self) -> list[int]:
        if self.terminated:
            return []
        ids = [i for i, b in enumerate(self.vocab.token_bytes)
               if b and any(s.startswith(self.data + b) for s in self.strings)]
        if self.is_accepting():
            ids += sorted(self.vocab.eos_token_ids)
        return ids

    def fill_mask(self, mask: torch.Tensor) -> None:
        mask[: self.vocab.size] = False
        ids = self.allowed_token_ids()
        if ids:
            mask[ids] = True

    def accept_token(self, token_id: int) -> bool:
        if token_id not in self.allowed_token_ids():
            return False
        self.history.append(token_id)
        if token_id in self.vocab.eos_token_ids:
            self.terminated = True
        else:
            self.data += self.vocab.token_bytes[token_id]
        return True

    def rollback(self, n_tokens: int) -> None:
        kept = self.history[: len(self.history) - n_tokens]
        self.reset()
        for token in kept:
            self.accept_token(token)


def use_stand_in_matcher(monkeypatch) -> None:
    """Make the decoding package build FixedStringsMatchers for StandInCompiled grammars."""
    from grammar_decode.decoding import asap, loop

    for module in (loop, asap):
        real = module.new_matcher
        monkeypatch.setattr(module, "new_matcher", lambda c, real=real: FixedStringsMatcher(c)
                            if isinstance(c, StandInCompiled) else real(c))
