"""outlines-core adapter (``pip install outlines-core``): schema -> regex -> Index -> Guide.

outlines-core needs every token's bytes; we give it the exact bytes of grammar-decode's
:class:`~grammar_decode.vocab.vocabulary.TokenVocabulary` so that all engines see one vocabulary.
It accepts one EOS id: the tokenizer's ``eos_token_id`` when it is in the shared EOS set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np

from jsonschema_bench.engines.base import BitmaskMatcher, CompileFailure, Engine


class _OutlinesMatcher(BitmaskMatcher):
    def __init__(self, oc: Any, index: Any, n_words: int, eos_id: int) -> None:
        self.guide = oc.Guide(index)
        self.bits = np.zeros(n_words, dtype=np.int32)
        self.eos_id = eos_id
        self.finished = False

    def fill(self) -> None:
        self.bits[:] = 0
        self.guide.write_mask_into(self.bits.ctypes.data, self.bits.size, 4)

    def accept(self, token_id: int) -> bool:
        if self.finished or not self.allowed(token_id):  # the harness fills before accepting
            return False
        if token_id == self.eos_id:  # the Guide has no transition for EOS: it just ends
            self.finished = True
            return True
        self.guide.advance(token_id, return_tokens=False)
        return True


class OutlinesCoreEngine(Engine):
    """``build_regex_from_schema`` with its default whitespace pattern; compilation includes
    building the token Index over the whole vocabulary."""

    name = "outlines_core"
    requires = "outlines_core"

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        super().__init__(tokenizer, eos_ids)
        import outlines_core

        from grammar_decode import TokenVocabulary

        self.oc = outlines_core
        vocab = TokenVocabulary.from_tokenizer(tokenizer)
        eos = tokenizer.eos_token_id
        self.eos_id = eos if eos in eos_ids else min(eos_ids)
        by_bytes: dict[bytes, list[int]] = defaultdict(list)
        for token_id, data in enumerate(vocab.token_bytes):
            if data and token_id not in eos_ids:
                by_bytes[data].append(token_id)
        self.vocabulary = outlines_core.Vocabulary(self.eos_id, dict(by_bytes))
        self.n_words = (max(vocab.size, self.eos_id + 1) + 31) // 32

    def compile(self, schema: Any) -> Any:
        try:
            regex = self.oc.json_schema.build_regex_from_schema(json.dumps(schema))
        except Exception as exc:  # ValueError / TypeError with the unsupported feature named
            raise CompileFailure(f"{type(exc).__name__}: {exc}") from exc
        try:
            return self.oc.Index(regex, self.vocabulary)
        except Exception as exc:
            raise CompileFailure(f"Index: {type(exc).__name__}: {exc}", kind="error") from exc

    def matcher(self, compiled: Any) -> _OutlinesMatcher:
        return _OutlinesMatcher(self.oc, compiled, self.n_words, self.eos_id)

    def config(self) -> dict[str, Any]:
        return {"whitespace_pattern": "default", "eos_id": self.eos_id}
