"""llguidance adapter (``pip install llguidance``): LLTokenizer + LLMatcher from a JSON Schema."""

from __future__ import annotations

from typing import Any

import numpy as np

from jsonschema_bench.engines.base import BitmaskMatcher, CompileFailure, Engine


class _LlgMatcher(BitmaskMatcher):
    def __init__(self, llg: Any, compiled: Any, vocab_size: int) -> None:
        self.llg = llg
        self.m = compiled.deep_copy()
        self.bitmask = np.zeros((1, (vocab_size + 31) // 32), dtype=np.int32)
        self.bits = self.bitmask[0]

    def fill(self) -> None:
        self.llg.numpy.fill_next_token_bitmask(self.m, self.bitmask)

    def accept(self, token_id: int) -> bool:
        return bool(self.m.consume_token(token_id)) and not self.m.is_error()


class LLGuidanceEngine(Engine):
    """Default JSON options (flexible whitespace, unknown keywords are errors, not lenient).
    Compilation = grammar_from_json_schema + validate_grammar + building the LLMatcher."""

    name = "llguidance"
    requires = "llguidance"

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        super().__init__(tokenizer, eos_ids)
        import llguidance
        import llguidance.hf
        import llguidance.numpy  # noqa: F401  (fill_next_token_bitmask)

        self.llg = llguidance
        self.lltok = llguidance.hf.from_tokenizer(tokenizer, eos_token=sorted(eos_ids))

    def compile(self, schema: Any) -> Any:
        LLMatcher = self.llg.LLMatcher
        try:
            grammar = LLMatcher.grammar_from_json_schema(schema)
        except ValueError as exc:
            raise CompileFailure(str(exc), kind="invalid") from exc
        error = LLMatcher.validate_grammar(grammar, self.lltok)
        if error:
            raise CompileFailure(error)
        matcher = LLMatcher(self.lltok, grammar, log_level=0)
        if matcher.is_error():
            raise CompileFailure(matcher.get_error())
        return matcher

    def matcher(self, compiled: Any) -> _LlgMatcher:
        return _LlgMatcher(self.llg, compiled, self.lltok.vocab_size)

    def config(self) -> dict[str, Any]:
        return {"json_options": "defaults (whitespace_flexible, not lenient)"}
