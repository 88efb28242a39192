"""grammar-decode: exact grammar- and JSON-Schema-constrained decoding.

The pipeline, one sub-package per stage:
``schema`` (JSON Schema -> grammar text) -> ``grammar`` (Lark/GBNF text -> grammar IR) ->
``terminals`` (terminal regexes -> byte DFAs) -> ``maskstore`` (per lexer state token sets) ->
``matcher`` (Earley parser + contextual lexer + masks) -> ``decoding`` (logits processor,
decoding loop, ASAp) -> ``api`` / ``cli``.

Public names are imported lazily so that ``import grammar_decode`` stays fast and does not load
torch until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from grammar_decode import accel

accel.install()  # compiled builds of the hot modules, when fresh (see accel.py)

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors
    "GrammarDecodeError": "grammar_decode.errors",
    "GrammarSyntaxError": "grammar_decode.errors",
    "GrammarCompileError": "grammar_decode.errors",
    "UnsupportedSchemaError": "grammar_decode.errors",
    "InvalidSchemaError": "grammar_decode.errors",
    "TokenizerMappingError": "grammar_decode.errors",
    "TokenBudgetExceeded": "grammar_decode.errors",
    # vocabulary and models
    "TokenVocabulary": "grammar_decode.vocab.vocabulary",
    "load_tokenizer": "grammar_decode.vocab.packaged",
    "load_model": "grammar_decode.models",
    # grammar compiler and matcher
    "compile_grammar": "grammar_decode.compiler",
    "CompiledGrammar": "grammar_decode.compiler",
    "GrammarMatcher": "grammar_decode.matcher.matcher",
    # JSON Schema
    "compile_json_schema": "grammar_decode.schema.api",
    "json_schema_to_grammar": "grammar_decode.schema.api",
    "canonical_json": "grammar_decode.schema.api",
    "analyze_schema": "grammar_decode.schema.api",
    # decoding
    "GrammarLogitsProcessor": "grammar_decode.decoding.logits_processor",
    "ASApSampler": "grammar_decode.decoding.asap",
    "generate_json": "grammar_decode.api",
    "generate": "grammar_decode.api",
    "stream_json": "grammar_decode.api",
    "stream": "grammar_decode.api",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grammar_decode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
