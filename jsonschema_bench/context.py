"""What a worker process builds once and reuses for every schema: tokenizer, shared EOS ids,
exact token bytes, the engine, the canonical serialiser and (for ``generate``) the model."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from jsonschema_bench.engines import Engine, make_engine
from jsonschema_bench.engines.base import engine_from_spec


@dataclass
class RunOptions:
    """Everything a worker needs to rebuild its context (plain data: sent to spawned workers)."""

    mode: str
    engine: str
    tokenizer: str = "qwen2.5"
    model: str | None = None
    max_new_tokens: int = 512
    compile_timeout: float = 10.0
    run_timeout: float = 60.0
    setup_timeout: float = 600.0
    memory_mb: int = 8192
    # a worker past this share of memory_mb retires after its record and a fresh one goes on
    # (caches that outlive a schema would otherwise make later schemas hit the cap)
    retire_at: float = 0.6
    log_path: str | None = None  # worker stderr (native libraries' warnings) goes here
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    """Per-worker state shared by all tasks."""

    options: RunOptions
    engine: Engine
    tokenizer: Any
    eos_ids: frozenset[int]
    token_bytes: list[bytes | None] | None
    canonical: Callable[[Any, Any], tuple[str, str | None]]
    model: Any = None
    meta: dict = field(default_factory=dict)


def _canonical_serializer() -> tuple[Callable[[Any, Any], tuple[str, str | None]], str]:
    """``canonical(instance, schema) -> (text, fallback_reason)`` from grammar-decode.

    Every engine is given this same text (ours: properties in schema order, compact), so that
    no engine is judged on another engine's serialisation. When ``canonical_json`` fails on an
    instance the compact ``json.dumps`` text is used and the reason is recorded.
    """
    def compact(instance: Any) -> str:
        return json.dumps(instance, ensure_ascii=False, separators=(",", ":"))

    try:
        from grammar_decode import canonical_json
    except (ImportError, AttributeError) as exc:
        reason = f"grammar_decode.canonical_json unavailable ({exc})"
        return (lambda instance, schema: (compact(instance), reason)), "json.dumps (compact)"

    def canonical(instance: Any, schema: Any) -> tuple[str, str | None]:
        try:
            return canonical_json(instance, schema), None
        except Exception as exc:  # recorded per instance, never silent
            return compact(instance), f"{type(exc).__name__}: {exc}"

    return canonical, "grammar_decode.canonical_json"


def _vocabulary_facts(tokenizer: Any) -> tuple[frozenset[int], list[bytes | None] | None, str]:
    """EOS ids and exact token bytes from grammar-decode's TokenVocabulary (shared by all
    engines); the tokenizer's own ``eos_token_id`` when the vocabulary module is missing."""
    try:
        from grammar_decode import TokenVocabulary

        vocab = TokenVocabulary.from_tokenizer(tokenizer)
        return frozenset(vocab.eos_token_ids), list(vocab.token_bytes), "TokenVocabulary"
    except (ImportError, AttributeError):
        return frozenset({tokenizer.eos_token_id}), None, "tokenizer.eos_token_id"


def load_named_tokenizer(name: str) -> Any:
    """A packaged tokenizer by name (``grammar_decode.vocab.packaged``), or a local
    ``tokenizer.json`` file / Hugging Face tokenizer folder given by path."""
    if os.path.isfile(name):
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast(tokenizer_file=name)
    if os.path.isdir(name):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name)
    from grammar_decode.vocab.packaged import load_tokenizer

    return load_tokenizer(name)


def build_context(options: RunOptions) -> Context:
    """Load tokenizer (or model), engine and serialiser for one worker."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(1)
    model = None
    if options.mode == "generate":
        from grammar_decode import load_model

        model, tokenizer = load_model(options.model)
        model.eval()
    else:
        tokenizer = load_named_tokenizer(options.tokenizer)
    eos_ids, token_bytes, eos_source = _vocabulary_facts(tokenizer)
    engine = (engine_from_spec(options.engine, tokenizer, eos_ids) if ":" in options.engine
              else make_engine(options.engine, tokenizer, eos_ids))
    canonical, canonical_source = _canonical_serializer()
    meta = {"engine_config": engine.config(), "eos_ids": sorted(eos_ids),
            "eos_source": eos_source, "canonical": canonical_source,
            "vocab_size": len(tokenizer)}
    return Context(options, engine, tokenizer, eos_ids, token_bytes, canonical, model, meta)
