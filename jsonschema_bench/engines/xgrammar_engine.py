"""XGrammar adapter (``pip install xgrammar``): TokenizerInfo + GrammarCompiler + GrammarMatcher."""

from __future__ import annotations

import json
from typing import Any

from jsonschema_bench.engines.base import BitmaskMatcher, CompileFailure, Engine


class _XgrMatcher(BitmaskMatcher):
    def __init__(self, xgr: Any, compiled: Any, vocab_size: int) -> None:
        self.m = xgr.GrammarMatcher(compiled)
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self.bits = self.bitmask[0].numpy()

    def fill(self) -> None:
        self.m.fill_next_token_bitmask(self.bitmask)

    def accept(self, token_id: int) -> bool:
        return bool(self.m.accept_token(token_id))


class XGrammarEngine(Engine):
    """JSON Schema compiled with ``strict_mode=False`` (extra properties allowed, as the schema
    says), flexible whitespace, properties in schema order, one compiler thread, no cache."""

    name = "xgrammar"
    requires = "xgrammar"

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        super().__init__(tokenizer, eos_ids)
        import xgrammar

        self.xgr = xgrammar
        self.info = xgrammar.TokenizerInfo.from_huggingface(
            tokenizer, stop_token_ids=sorted(eos_ids))
        self.compiler = xgrammar.GrammarCompiler(self.info, max_threads=1, cache_enabled=False)

    def compile(self, schema: Any) -> Any:
        try:
            return self.compiler.compile_json_schema(
                json.dumps(schema), any_whitespace=True, strict_mode=False)
        except Exception as exc:  # xgrammar raises RuntimeError/ValueError with a message
            raise CompileFailure(f"{type(exc).__name__}: {exc}") from exc

    def matcher(self, compiled: Any) -> _XgrMatcher:
        return _XgrMatcher(self.xgr, compiled, self.info.vocab_size)

    def config(self) -> dict[str, Any]:
        return {"strict_mode": False, "any_whitespace": True, "max_threads": 1,
                "cache_enabled": False}
