"""High-level entry points: ``generate_json`` / ``stream_json`` for JSON Schemas and
``generate`` / ``stream`` for Lark (or GBNF) grammars.

Each call resolves the model (default: the embedded SmolLM2, loaded once per process), compiles
the schema or grammar for the model's tokenizer (memoised in-process; the compiler also keeps a
disk cache), builds the prompt (the tokenizer's chat template for instruct models), decodes
under the grammar's masks and, for JSON, parses the output and validates it with ``jsonschema``
before returning it. Running out of tokens raises TokenBudgetExceeded with the partial text;
output that fails validation raises OutputValidationError: nothing invalid is returned.
"""

from __future__ import annotations

import codecs
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from grammar_decode.decoding import loop
from grammar_decode.errors import GrammarDecodeError, InvalidSchemaError, TokenBudgetExceeded

METHODS = ("mask", "asap")
_MEMO_SIZE = 32
_memo: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()


class OutputValidationError(GrammarDecodeError):
    """Generated JSON that does not satisfy the schema (a compiler bug or an approximation)."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


# ---------------------------------------------------------------- inputs

def parse_json_text(text: str, source: str = "<string>") -> Any:
    """Parse JSON, naming the line and column of a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSchemaError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}",
                                 None) from None


def read_json_file(path: str | Path) -> Any:
    """Read and parse a JSON file (clear errors for a missing file or bad JSON)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return parse_json_text(path.read_text(encoding="utf-8"), str(path))


def load_schema(schema: Any) -> Any:
    """A JSON Schema as a Python value from a dict/bool, JSON text, file path or pydantic model."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        return schema.model_json_schema()
    if isinstance(schema, (dict, bool)):
        return schema
    if isinstance(schema, Path):
        return read_json_file(schema)
    if isinstance(schema, str):
        if schema.lstrip()[:1] in ("{", "[") or schema.strip() in ("true", "false"):
            return parse_json_text(schema)
        return read_json_file(schema)
    raise TypeError("schema must be a dict, JSON text, a path or a pydantic model class, "
                    f"not {type(schema).__name__}")


def load_grammar_text(grammar: str | Path) -> str:
    """Grammar text from a path (Path, or a one-line string naming an existing file) or text."""
    if isinstance(grammar, Path) or ("\n" not in grammar and Path(grammar).suffix in
                                     (".lark", ".gbnf", ".ebnf", ".txt")):
        path = Path(grammar)
        if not path.is_file():
            raise FileNotFoundError(f"no such grammar file: {path}")
        return path.read_text(encoding="utf-8")
    return grammar


@lru_cache(maxsize=4)
def _load_model_cached(name_or_path: str | None) -> tuple[Any, Any]:
    from grammar_decode.models import load_model

    return load_model(name_or_path)


def resolve_model(model: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from None (embedded SmolLM2), a pair, or a model folder path."""
    if model is None:
        return _load_model_cached(None)
    if isinstance(model, (str, Path)):
        return _load_model_cached(str(model))
    if isinstance(model, (tuple, list)) and len(model) == 2:
        return model[0], model[1]
    raise TypeError("model must be None, a (model, tokenizer) pair or a path, "
                    f"not {type(model).__name__}")


def prompt_token_ids(tokenizer: Any, prompt: str, *, system: str | None = None,
                     chat: bool = True) -> list[int]:
    """Prompt ids: the chat template (system + user, generation prompt) when the tokenizer has
    one and ``chat``; otherwise the plain prompt (a lone BOS/EOS if it is empty)."""
    if chat and getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                             tokenize=False)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        ids = tokenizer(prompt)["input_ids"]
    if not ids:
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
            else tokenizer.eos_token_id
        ids = [start]
    return list(ids)


def json_system_message(schema: Any) -> str:
    """System prompt asking for one JSON value matching the schema."""
    return ("You are a helpful assistant that answers with a single JSON value and nothing "
            "else. The JSON must match this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False))


# ---------------------------------------------------------------- compilation (memoised)

def _memoised(key: tuple, owners: tuple, build: Any) -> Any:
    """In-process LRU of compiled grammars and samplers, keyed also by the identity of the
    objects they belong to (tokenizer, model), which are kept alive so their ids stay unique."""
    key = key + tuple(id(o) for o in owners)
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key][1]
    value = build()
    _memo[key] = (owners, value)
    if len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)
    return value


def compile_schema(schema: Any, tokenizer: Any, *, whitespace: str = "compact",
                   strict: bool = True) -> Any:
    """CompiledGrammar of a JSON Schema for ``tokenizer`` (memoised)."""
    from grammar_decode.schema.api import compile_json_schema

    key = ("schema", json.dumps(schema, sort_keys=True), whitespace, strict)
    return _memoised(key, (tokenizer,), lambda: compile_json_schema(
        schema, tokenizer, whitespace=whitespace, strict=strict))


def compile_grammar_text(text: str, tokenizer: Any, *, start: str = "start") -> Any:
    """CompiledGrammar of Lark/GBNF text for ``tokenizer`` (memoised)."""
    from grammar_decode.compiler import compile_grammar

    return _memoised(("grammar", text, start), (tokenizer,),
                     lambda: compile_grammar(text, tokenizer, start=start))


# ---------------------------------------------------------------- decoding

@dataclass
class _Job:
    """Everything a generation needs once inputs are resolved."""

    model: Any
    compiled: Any
    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int | None

    def decode_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`grammar_decode.decoding.loop.iter_decode`."""
        return dict(max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                    top_p=self.top_p, seed=self.seed)


def _json_job(schema: Any, prompt: str, model: Any, whitespace: str, strict: bool, chat: bool,
              **sampling: Any) -> tuple[Any, _Job]:
    schema = load_schema(schema)
    lm, tokenizer = resolve_model(model)
    compiled = compile_schema(schema, tokenizer, whitespace=whitespace, strict=strict)
    ids = prompt_token_ids(tokenizer, prompt, system=json_system_message(schema), chat=chat)
    return schema, _Job(lm, compiled, ids, **sampling)


def _grammar_job(grammar: str | Path, prompt: str, model: Any, start: str, chat: bool,
                 **sampling: Any) -> _Job:
    lm, tokenizer = resolve_model(model)
    compiled = compile_grammar_text(load_grammar_text(grammar), tokenizer, start=start)
    return _Job(lm, compiled, prompt_token_ids(tokenizer, prompt, chat=chat), **sampling)


def _asap_warp(temperature: float, top_p: float) -> Any:
    """The logits warp ASAp should target (None: the model's own distribution)."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    warps = LogitsProcessorList()
    if temperature > 0 and temperature != 1:
        warps.append(TemperatureLogitsWarper(temperature))
    if top_p < 1:
        warps.append(TopPLogitsWarper(top_p))
    return warps or None


def _asap_sampler(job: _Job) -> Any:
    """The in-process ASApSampler of (grammar, model, budget, warp): it learns across calls."""
    from grammar_decode.decoding.asap import ASApSampler

    key = ("asap", job.max_new_tokens, job.temperature, job.top_p)
    sampler = _memoised(key, (job.compiled, job.model), lambda: ASApSampler(
        job.compiled, job.model, max_new_tokens=job.max_new_tokens, seed=job.seed,
        warp=_asap_warp(job.temperature, job.top_p)))
    if job.seed is not None:
        sampler.rng = np.random.default_rng(job.seed)
    return sampler


def _complete_text(job: _Job, method: str) -> str:
    """Decode the whole output; TokenBudgetExceeded if the grammar did not accept in time."""
    if method == "mask":
        result = loop.decode(job.model, job.prompt_ids, job.compiled.vocab,
                             loop.new_matcher(job.compiled), **job.decode_options())
        text, complete = result.text, result.finished
    elif method == "asap":
        [sample] = _asap_sampler(job).sample(job.prompt_ids)
        text, complete = sample.text, sample.finished
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not complete:
        raise TokenBudgetExceeded(text, job.max_new_tokens)
    return text


def _stream_text(job: _Job) -> Iterator[str]:
    """Yield text as tokens are accepted, holding back incomplete UTF-8 sequences."""
    vocab = job.compiled.vocab
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    steps = loop.iter_decode(job.model, job.prompt_ids, vocab, loop.new_matcher(job.compiled),
                             **job.decode_options())
    emitted: list[str] = []
    while True:
        try:
            token = next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        chunk = decoder.decode(vocab.token_bytes[token] or b"")
        if chunk:
            emitted.append(chunk)
            yield chunk
    tail = decoder.decode(b"", final=True)
    if not result.finished:
        raise TokenBudgetExceeded("".join(emitted) + tail, job.max_new_tokens)
    if tail:
        yield tail


def parse_and_validate(text: str, schema: Any) -> Any:
    """Parse generated JSON and validate it (right draft, formats checked); raise if invalid."""
    from grammar_decode.schema.drafts import detect_draft, make_validator, pointer_of

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputValidationError(
            f"generated text is not JSON ({exc.msg} at column {exc.colno}): {text[:200]!r}",
            text) from None
    error = next(iter(make_validator(schema, detect_draft(schema)).iter_errors(value)), None)
    if error is not None:
        raise OutputValidationError(
            f"generated JSON violates the schema at {pointer_of(error.absolute_path) or '/'} "
            f"(schema {pointer_of(error.absolute_schema_path) or '/'}): {error.message}", text)
    return value


# ---------------------------------------------------------------- public API

def generate_json(schema: Any, prompt: str, *, model: Any = None, max_new_tokens: int = 512,
                  temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
                  method: str = "mask", whitespace: str = "compact", strict: bool = True,
                  chat: bool = True) -> Any:
    """Generate a JSON value satisfying ``schema`` and return it parsed and validated.

    ``schema``: dict, JSON text, file path or pydantic model class. ``model``: None (embedded
    SmolLM2), ``(model, tokenizer)`` or a model folder. ``method``: "mask" (masked decoding:
    greedy when ``temperature == 0``, else sampling) or "asap" (grammar-aligned sampling from
    the model's distribution, warped by ``temperature``/``top_p`` when they are not 0/1 and
    1; its sampler is kept per grammar and model and learns across calls).
    ``strict=False`` approximates keywords that cannot be enforced exactly (the result is
    still validated).
    """
    schema, job = _json_job(schema, prompt, model, whitespace, strict, chat,
                            max_new_tokens=max_new_tokens, temperature=temperature,
                            top_p=top_p, seed=seed)
    return parse_and_validate(_complete_text(job, method), schema)


def stream_json(schema: Any, prompt: str, *, model: Any = None, max_new_tokens: int = 512,
                temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
                whitespace: str = "compact", strict: bool = True,
                chat: bool = True) -> Iterator[str]:
    """Like :func:`generate_json` but returns an iterator of text chunks, yielded as tokens
    are accepted; after the last chunk the whole text is validated (OutputValidationError if
    it fails). Bad inputs raise at the call, before iteration."""
    schema, job = _json_job(schema, prompt, model, whitespace, strict, chat,
                            max_new_tokens=max_new_tokens, temperature=temperature,
                            top_p=top_p, seed=seed)
    return _validated_stream(job, schema)


def _validated_stream(job: _Job, schema: Any) -> Iterator[str]:
    chunks: list[str] = []
    for chunk in _stream_text(job):
        chunks.append(chunk)
        yield chunk
    parse_and_validate("".join(chunks), schema)


def generate(grammar: str | Path, prompt: str, *, model: Any = None, max_new_tokens: int = 512,
             temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
             method: str = "mask", start: str = "start", chat: bool = True) -> str:
    """Generate text in the language of a Lark/GBNF grammar (text or file path)."""
    job = _grammar_job(grammar, prompt, model, start, chat, max_new_tokens=max_new_tokens,
                       temperature=temperature, top_p=top_p, seed=seed)
    return _complete_text(job, method)


def stream(grammar: str | Path, prompt: str, *, model: Any = None, max_new_tokens: int = 512,
           temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
           start: str = "start", chat: bool = True) -> Iterator[str]:
    """Like :func:`generate` but returns an iterator of text chunks, yielded as tokens are
    accepted (incomplete UTF-8 sequences held back). Bad inputs raise at the call."""
    job = _grammar_job(grammar, prompt, model, start, chat, max_new_tokens=max_new_tokens,
                       temperature=temperature, top_p=top_p, seed=seed)
    return _stream_text(job)
