"""Engine registry: our engine and optional peer adapters, all behind one contract."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from jsonschema_bench.engines.base import (CompileFailure, Engine, EngineUnavailable, Matcher,
                                           keywords_in_message)

#: name -> "module:Class" (imported lazily: peers are optional).
ENGINES = {
    "grammar_decode": "jsonschema_bench.engines.grammar_decode_engine:GrammarDecodeEngine",
    "grammar_decode_lenient":
        "jsonschema_bench.engines.grammar_decode_engine:GrammarDecodeLenientEngine",
    "xgrammar": "jsonschema_bench.engines.xgrammar_engine:XGrammarEngine",
    "llguidance": "jsonschema_bench.engines.llguidance_engine:LLGuidanceEngine",
    "outlines_core": "jsonschema_bench.engines.outlines_engine:OutlinesCoreEngine",
}
#: Modules each engine needs at run time.
_OURS = ("grammar_decode.compiler", "grammar_decode.schema.api", "grammar_decode.matcher.matcher")
_REQUIRES = {"grammar_decode": _OURS, "grammar_decode_lenient": _OURS,
             "xgrammar": ("xgrammar",), "llguidance": ("llguidance",),
             "outlines_core": ("outlines_core", "grammar_decode.vocab.vocabulary")}

__all__ = ["ENGINES", "CompileFailure", "Engine", "EngineUnavailable", "Matcher",
           "engine_class", "keywords_in_message", "make_engine", "missing_requirement",
           "resolve_names"]


def missing_requirement(name: str) -> str | None:
    """The first module ``name`` needs that is not importable, or None when it can run."""
    for module in _REQUIRES[name]:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ModuleNotFoundError:
            return module
    return None


def resolve_names(spec: str) -> list[str]:
    """Parse ``--engine`` (comma list, or ``all``); unknown names are an error."""
    names = list(ENGINES) if spec.strip() == "all" else [
        s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s) {unknown}; choose from {sorted(ENGINES)} or 'all'")
    return names


def engine_class(name: str) -> type[Engine]:
    module, _, cls = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_engine(name: str, tokenizer: Any, eos_ids: frozenset[int]) -> Engine:
    """Instantiate an engine; raise :class:`EngineUnavailable` when it cannot run here."""
    missing = missing_requirement(name)
    if missing:
        raise EngineUnavailable(f"engine {name!r} skipped: module {missing!r} is not installed")
    return engine_class(name)(tokenizer, eos_ids)
