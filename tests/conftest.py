"""Shared fixtures: real tokenizers built offline from pip packages, loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def packaged_tokenizer() -> Callable[[str], Any]:
    """Factory ``packaged_tokenizer(name)``: a packaged tokenizer, skipping if it is missing."""
    from grammar_decode.vocab.packaged import load_tokenizer

    loaded: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in loaded:
            try:
                loaded[name] = load_tokenizer(name)
            except ModuleNotFoundError as exc:
                pytest.skip(str(exc))
        return loaded[name]

    return get
