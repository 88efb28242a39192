"""The engine adapter contract: compile a JSON Schema, then step a matcher token by token.

Every engine is driven through the same three calls so that the harness measures the same
work for all of them: ``fill()`` computes the full next-token mask (the timed step),
``allowed(t)`` reads the last mask, ``accept(t)`` advances the state.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

#: Keywords looked for in peers' error messages to attribute a compile error to a keyword.
SCHEMA_KEYWORDS = frozenset((
    "$ref", "$dynamicRef", "$anchor", "$defs", "definitions", "additionalProperties",
    "additionalItems", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "const", "enum",
    "contains", "minContains", "maxContains", "dependentRequired", "dependentSchemas",
    "dependencies", "exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum", "format",
    "items", "prefixItems", "maxItems", "minItems", "maxLength", "minLength", "maxProperties",
    "minProperties", "multipleOf", "pattern", "patternProperties", "propertyNames",
    "properties", "required", "type", "unevaluatedItems", "unevaluatedProperties",
    "uniqueItems", "contentEncoding", "contentMediaType",
))
#: Keywords that are also English words: only counted when quoted or followed by a colon.
_ENGLISH = frozenset(("if", "then", "else", "not", "type", "format", "required", "properties",
                      "items", "enum", "const", "pattern", "contains", "minimum", "maximum",
                      "definitions", "dependencies"))
_WORD = re.compile(r"[$\w]+")
_POINTER = re.compile(r"\S*#/\S*")

class EngineUnavailable(RuntimeError):
    """The engine's package (or what it needs from the tokenizer) is missing."""


class CompileFailure(Exception):
    """A schema the engine refuses (unsupported or invalid); ``keywords`` attribute the cause."""

    def __init__(self, message: str, keywords: list[str] | None = None,
                 kind: str = "unsupported") -> None:
        super().__init__(message)
        self.keywords = sorted(set(keywords if keywords is not None
                                   else keywords_in_message(message))) or ["(unattributed)"]
        self.kind = kind


def keywords_in_message(message: str) -> list[str]:
    """Schema keywords a peer's free-text error blames (heuristic, best effort).

    The top-level keys of a JSON object quoted in the message win (outlines prints the
    offending sub-schema); else keywords that are quoted, followed by a colon, or not English
    words; JSON pointers (``...#/definitions/...``) are ignored.
    """
    brace = message.find("{")
    if brace >= 0:
        try:
            fragment, _ = json.JSONDecoder().raw_decode(message[brace:])
        except ValueError:
            fragment = None
        if isinstance(fragment, dict):
            keys = sorted(SCHEMA_KEYWORDS.intersection(fragment))
            if keys:
                return keys
    text = _POINTER.sub(" ", message)
    found = set()
    for match in _WORD.finditer(text):
        word = match.group()
        if word not in SCHEMA_KEYWORDS:
            continue
        before, after = text[match.start() - 1:match.start()], text[match.end():match.end() + 1]
        if word not in _ENGLISH or before in "\"'`" and before or after == ":":
            found.add(word)
    return sorted(found)


class Matcher(ABC):
    """Per-instance state of an engine."""

    @abstractmethod
    def fill(self) -> None:
        """Compute the full mask of tokens allowed next (the step the harness times)."""

    @abstractmethod
    def allowed(self, token_id: int) -> bool:
        """Whether ``token_id`` is allowed by the last computed mask."""

    @abstractmethod
    def accept(self, token_id: int) -> bool:
        """Advance by one token; False when the engine rejects it."""

    @abstractmethod
    def allowed_array(self, width: int) -> np.ndarray:
        """The last mask as a bool array of ``width`` entries (ids beyond the vocabulary: False)."""


class BitmaskMatcher(Matcher, ABC):
    """A matcher whose mask is a little-endian int32 bitmask (xgrammar, llguidance, outlines)."""

    bits: np.ndarray  # 1-D int32 view of the bitmask

    def allowed(self, token_id: int) -> bool:
        word = int(self.bits[token_id >> 5])
        return bool((word >> (token_id & 31)) & 1)

    def allowed_array(self, width: int) -> np.ndarray:
        unpacked = np.unpackbits(self.bits.view(np.uint8), bitorder="little").astype(bool)
        out = np.zeros(width, dtype=bool)
        n = min(width, unpacked.size)
        out[:n] = unpacked[:n]
        return out


class Engine(ABC):
    """An engine bound to one tokenizer and one set of EOS ids (shared by all engines)."""

    name: str = ""
    #: Importable module that must exist for the engine to run.
    requires: str = ""

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids

    @abstractmethod
    def compile(self, schema: Any) -> Any:
        """Compile ``schema`` (raise :class:`CompileFailure` when the engine refuses it)."""

    @abstractmethod
    def matcher(self, compiled: Any) -> Matcher:
        """A fresh matcher for a compiled schema."""

    def config(self) -> dict[str, Any]:
        """Engine options that affect results (recorded in every result file)."""
        return {}


def engine_from_spec(spec: str, tokenizer: Any, eos_ids: frozenset[int]) -> Engine:
    """An engine given as ``module:Class`` (plug-in engines, e.g. a test's stand-in)."""
    import importlib

    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)(tokenizer, eos_ids)
