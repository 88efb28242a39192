"""Our engine: ``grammar_decode.compile_json_schema`` + ``GrammarMatcher``, strict or lenient."""

from __future__ import annotations

from typing import Any

import numpy as np

from jsonschema_bench.engines.base import BitmaskMatcher, CompileFailure, Engine


class _OurMatcher(BitmaskMatcher):
    """Timed on ``fill_bitmask``, the same int32 bitmask fill the peers are timed on."""

    def __init__(self, matcher_cls: Any, compiled: Any, size: int) -> None:
        self.m = matcher_cls(compiled)
        self.bits = np.zeros((size + 31) // 32, dtype=np.int32)

    def fill(self) -> None:
        self.m.fill_bitmask(self.bits)

    def accept(self, token_id: int) -> bool:
        return bool(self.m.accept_token(token_id))


class GrammarDecodeEngine(Engine):
    """Strict mode: a schema with a keyword that cannot be enforced exactly is a compile error
    (attributed to that keyword), so declared coverage means exact enforcement."""

    name = "grammar_decode"
    requires = "grammar_decode"
    strict = True

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        super().__init__(tokenizer, eos_ids)
        import grammar_decode

        self.gd = grammar_decode
        self.vocab = grammar_decode.TokenVocabulary.from_tokenizer(tokenizer)

    def compile(self, schema: Any) -> Any:
        gd = self.gd
        try:
            return gd.compile_json_schema(schema, self.vocab, strict=self.strict)
        except gd.UnsupportedSchemaError as exc:
            raise CompileFailure(str(exc), [i.keyword for i in exc.issues]) from exc
        except gd.InvalidSchemaError as exc:
            keyword = exc.pointer.rsplit("/", 1)[-1] if exc.pointer else None
            raise CompileFailure(str(exc), [keyword] if keyword else None, kind="invalid") from exc
        except gd.GrammarDecodeError as exc:
            raise CompileFailure(f"{type(exc).__name__}: {exc}", kind="error") from exc

    def matcher(self, compiled: Any) -> _OurMatcher:
        return _OurMatcher(self.gd.GrammarMatcher, compiled, self.vocab.size)

    def config(self) -> dict[str, Any]:
        return {"strict": self.strict}


class GrammarDecodeLenientEngine(GrammarDecodeEngine):
    """Lenient mode (``strict=False``): keywords without an exact translation are
    approximated (reported by ``analyze_schema``), so replay shows what approximation costs."""

    name = "grammar_decode_lenient"
    strict = False
