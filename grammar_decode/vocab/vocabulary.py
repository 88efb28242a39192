"""Exact bytes of every token id of a Hugging Face tokenizer, plus its end-of-sequence ids.

The grammar machinery works on bytes: a token is allowed when the bytes it adds to the output
keep the text inside the grammar. ``TokenVocabulary`` therefore maps every id to exactly those
bytes, read from the tokenizer's backend (``tokenizers.Tokenizer``), not from ``decode`` (which
may strip, fuse or replace characters):

* byte-level BPE (GPT-2, Llama-3, Qwen2.5, SmolLM2, DeepSeek, Tekken, tiktoken conversions):
  token strings are written in GPT-2's byte-to-unicode alphabet; inverting it gives the bytes,
  including tokens that hold only part of a UTF-8 sequence.
* SentencePiece-style (Metaspace, e.g. Mistral v3, Llama-2): ``▁`` stands for a space and, with
  byte fallback, ``<0xNN>`` is the single byte 0xNN. When a text is encoded *from the start* the
  tokenizer adds a dummy-prefix space (``"hi"`` -> ``▁hi`` = b" hi"); when generation continues
  after a prompt, ``▁x`` simply contributes b" x". :meth:`TokenVocabulary.text_prefix` tells the
  bytes such a tokenizer puts in front of a text encoded on its own.

Special and added tokens (``<|im_end|>``, ``[INST]``, ``<think>`` ...) contribute no grammar text:
their entry is ``None``. The kind of tokenizer is read from its backend configuration (model
type, pre-tokenizer, decoder, normalizer), never guessed from its name; a token that cannot be
mapped raises :class:`~grammar_decode.errors.TokenizerMappingError`.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from grammar_decode.errors import TokenizerMappingError

# Special tokens that end a turn or a document in common chat/base models; any of them present
# in a tokenizer as a special/added token counts as end-of-sequence, besides ``eos_token``.
END_OF_SEQUENCE_TOKENS = frozenset({
    "</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>", "<|eot_id|>",
    "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|return|>", "<|EOT|>",
    "<｜end▁of▁sentence｜>", "<|end▁of▁sentence|>", "<|END_OF_TURN_TOKEN|>",
})

_BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def byte_level_alphabet() -> dict[str, int]:
    """GPT-2's byte-to-unicode table, inverted: printable character -> byte value.

    Bytes that are printable and not whitespace stand for themselves; the other 68 bytes are
    shifted to code points 256, 257, ... in byte order.
    """
    kept = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {chr(b): b for b in kept}
    shifted = (b for b in range(256) if b not in table.values())
    for offset, b in enumerate(shifted):
        table[chr(256 + offset)] = b
    return table


def _components(node: Any) -> Iterator[dict[str, Any]]:
    """Every component of a serialised normalizer/pre-tokenizer/decoder (flattening Sequence)."""
    if isinstance(node, dict):
        yield node
        for key in ("normalizers", "pretokenizers", "decoders"):
            for child in node.get(key) or ():
                yield from _components(child)


class _Mapper:
    """Turns a backend's token strings into bytes; built from the backend's configuration."""

    def __init__(self, spec: dict[str, Any], name: str) -> None:
        self.name = name
        model = spec.get("model") or {}
        pre = list(_components(spec.get("pre_tokenizer")))
        dec = list(_components(spec.get("decoder")))
        norm = list(_components(spec.get("normalizer")))
        if model.get("type") not in ("BPE", "Unigram"):
            raise TokenizerMappingError(
                f"tokenizer {name!r}: {model.get('type')} models are not supported: only BPE "
                f"and Unigram tokens are plain pieces of the output text")
        markers = [model.get(k) for k in ("continuing_subword_prefix", "end_of_word_suffix")]
        if any(markers):
            raise TokenizerMappingError(
                f"tokenizer {name!r}: subword markers {markers} are not part of the output "
                f"text; such tokens have no exact bytes")
        self.byte_fallback = bool(model.get("byte_fallback"))
        self.prefix_rule = "never"
        self.space_marker: str | None = None
        if any(c.get("type") == "ByteLevel" for c in pre + dec):
            self.alphabet: dict[str, int] | None = byte_level_alphabet()
            self._to_latin1 = {ord(ch): b for ch, b in self.alphabet.items()}
            self._foreign = re.compile(
                "[^" + "".join(re.escape(ch) for ch in self.alphabet) + "]")
            if any(c.get("type") == "ByteLevel" and c.get("add_prefix_space") for c in pre):
                self.prefix_rule = "unless_space"
            return
        self.alphabet = None
        self._read_space_marker(pre, dec, norm)
        if self.space_marker is None:
            kinds = sorted({str(c.get("type")) for c in pre + dec + norm})
            raise TokenizerMappingError(
                f"tokenizer {name!r}: cannot tell how its tokens map to bytes (components "
                f"{kinds}): only byte-level BPE and SentencePiece-style (space marker) "
                f"tokenizers are supported")

    def _read_space_marker(self, pre: list[dict[str, Any]], dec: list[dict[str, Any]],
                           norm: list[dict[str, Any]]) -> None:
        """SentencePiece's space marker and how the dummy prefix of a text is added."""
        for c in pre:
            if c.get("type") == "Metaspace":
                self.space_marker = c.get("replacement", "\u2581")
                scheme = c.get("prepend_scheme") or (
                    "always" if c.get("add_prefix_space", True) else "never")
                if scheme in ("always", "first"):
                    self.prefix_rule = "unless_space"
        for c in norm:
            if c.get("type") == "Prepend":  # legacy Llama normalizer: always prepends
                self.space_marker = self.space_marker or c.get("prepend")
                self.prefix_rule = "always"
        for c in dec:
            if c.get("type") == "Metaspace":
                self.space_marker = self.space_marker or c.get("replacement", "\u2581")
            elif c.get("type") == "Replace" and c.get("content") == " ":
                self.space_marker = self.space_marker or c["pattern"].get("String")

    def __call__(self, token: str) -> bytes:
        if self.alphabet is not None:
            foreign = self._foreign.search(token)
            if foreign:
                raise TokenizerMappingError(
                    f"tokenizer {self.name!r}: token {token!r} has character "
                    f"{foreign.group()!r} outside the byte-level alphabet")
            return token.translate(self._to_latin1).encode("latin-1")
        if self.byte_fallback:
            m = _BYTE_FALLBACK.fullmatch(token)
            if m:
                return bytes([int(m.group(1), 16)])
        assert self.space_marker is not None
        return token.replace(self.space_marker, " ").encode("utf-8")


def _backend_spec(backend: Any) -> dict[str, Any]:
    """The backend's normalizer / pre-tokenizer / decoder configuration and model settings.

    Read component by component: serialising the whole tokenizer (vocabulary and merges) would
    cost seconds for a 150k-token vocabulary.
    """
    spec: dict[str, Any] = {}
    for key in ("normalizer", "pre_tokenizer", "decoder"):
        component = getattr(backend, key)
        spec[key] = json.loads(component.__getstate__()) if component is not None else None
    model = backend.model
    spec["model"] = {"type": type(model).__name__,
                     **{k: getattr(model, k, None) for k in (
                         "byte_fallback", "continuing_subword_prefix", "end_of_word_suffix")}}
    return spec


def _backend(tokenizer: Any) -> tuple[Any, str]:
    """The ``tokenizers.Tokenizer`` behind an HF tokenizer (or the object itself) and a name."""
    from tokenizers import Tokenizer

    name = str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)
    if isinstance(tokenizer, Tokenizer):
        return tokenizer, name
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TokenizerMappingError(
            f"tokenizer {name!r} ({type(tokenizer).__name__}) has no `tokenizers` backend; "
            f"load a fast tokenizer (PreTrainedTokenizerFast)")
    return backend, name


def _as_ids(value: Any) -> list[int]:
    """An eos id setting (None, int or list of ints) as a list."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


class TokenVocabulary:
    """Token id -> exact bytes it adds to the output (``None`` = special/added/unmappable)."""

    def __init__(self, token_bytes: list[bytes | None], eos_token_ids: Iterable[int], *,
                 name: str = "", prefix_rule: str = "never") -> None:
        self.token_bytes: list[bytes | None] = [b if b else None for b in token_bytes]
        self.eos_token_ids: frozenset[int] = frozenset(int(i) for i in eos_token_ids)
        for i in self.eos_token_ids:
            if not 0 <= i < len(self.token_bytes):
                raise TokenizerMappingError(
                    f"tokenizer {name!r}: end-of-sequence id {i} is outside the vocabulary "
                    f"(size {len(self.token_bytes)})")
            self.token_bytes[i] = None  # an EOS id ends the text, it never adds to it
        self.name = name
        self.prefix_rule = prefix_rule
        self._matrix: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._hash: str | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, *, model: Any = None,
                       extra_eos_ids: Iterable[int] = ()) -> TokenVocabulary:
        """Map every id of ``tokenizer`` (HF fast tokenizer or ``tokenizers.Tokenizer``).

        End-of-sequence ids: the tokenizer's ``eos_token``, every special token in
        :data:`END_OF_SEQUENCE_TOKENS` it has, ``model.generation_config`` / ``model.config``
        eos ids when ``model`` is given, and ``extra_eos_ids``.
        """
        backend, name = _backend(tokenizer)
        spec = _backend_spec(backend)
        mapper = _Mapper(spec, name)
        added = {int(i): tok for i, tok in backend.get_added_tokens_decoder().items()}
        size = max([backend.get_vocab_size(with_added_tokens=True), *(i + 1 for i in added)])
        if hasattr(tokenizer, "__len__") and tokenizer is not backend:
            size = max(size, len(tokenizer))
        token_bytes: list[bytes | None] = [None] * size
        for token, i in backend.get_vocab(with_added_tokens=False).items():
            if i not in added:
                token_bytes[i] = mapper(token)
        eos = {i for i, tok in added.items() if tok.content in END_OF_SEQUENCE_TOKENS}
        if tokenizer is not backend:
            eos.update(_as_ids(getattr(tokenizer, "eos_token_id", None)))
        if model is not None:
            for config in (getattr(model, "generation_config", None),
                           getattr(model, "config", None)):
                eos.update(_as_ids(getattr(config, "eos_token_id", None)))
        eos.update(int(i) for i in extra_eos_ids)
        return cls(token_bytes, eos, name=name, prefix_rule=mapper.prefix_rule)

    @property
    def bytes_of(self) -> list[bytes | None]:
        """Alias of :attr:`token_bytes`."""
        return self.token_bytes

    @property
    def size(self) -> int:
        """Number of ids (model logits may be wider; ids beyond are never text)."""
        return len(self.token_bytes)

    def text_prefix(self, text: str) -> bytes:
        """Bytes the tokenizer puts before ``text`` when encoding it on its own.

        b"" for byte-level BPE. SentencePiece-style tokenizers add a dummy-prefix space: the
        ``tokenizers`` Metaspace pre-tokenizer (prepend scheme "first"/"always") adds it unless
        the text already starts with a space; a legacy ``Prepend("▁")`` normalizer always adds it.
        So ``b"".join(bytes_of[i] for i in encode(text)) == text_prefix(text) + text.encode()``
        (for texts the normalizer leaves unchanged).
        """
        if text and (self.prefix_rule == "always"
                     or (self.prefix_rule == "unless_space" and not text.startswith(" "))):
            return b" "
        return b""

    @property
    def content_hash(self) -> str:
        """sha256 hex over the id -> bytes mapping and the EOS ids (stable across runs)."""
        if self._hash is None:
            h = hashlib.sha256(b"grammar-decode-vocab-v1")
            h.update(struct.pack("<Q", self.size))
            for b in self.token_bytes:
                h.update(b"\xff" if b is None else struct.pack("<I", len(b)) + b)
            h.update(struct.pack(f"<{len(self.eos_token_ids)}Q", *sorted(self.eos_token_ids)))
            self._hash = h.hexdigest()
        return self._hash

    def byte_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Text tokens as a padded uint8 matrix, longest first (cached, read-only).

        Returns ``(matrix [n, max_len] uint8 zero-padded, lengths [n] int32, ids [n] int32)``
        with lengths descending, so tokens longer than ``j`` are exactly the rows
        ``[:count(lengths > j)]``.
        """
        if self._matrix is None:
            ids = np.array([i for i, b in enumerate(self.token_bytes) if b], dtype=np.int32)
            lengths = np.array([len(self.token_bytes[i]) for i in ids], dtype=np.int32)
            order = np.argsort(-lengths, kind="stable")
            ids, lengths = ids[order], lengths[order]
            max_len = int(lengths[0]) if len(ids) else 0
            flat = np.frombuffer(b"".join(self.token_bytes[i] for i in ids), dtype=np.uint8)
            rows = np.repeat(np.arange(len(ids)), lengths)
            starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
            matrix = np.zeros((len(ids), max_len), dtype=np.uint8)
            matrix[rows, np.arange(len(flat)) - starts] = flat
            for array in (matrix, lengths, ids):
                array.setflags(write=False)
            self._matrix = (matrix, lengths, ids)
        return self._matrix

    def __repr__(self) -> str:
        n_text = sum(b is not None for b in self.token_bytes)
        return (f"TokenVocabulary({self.name!r}, size={self.size}, text_tokens={n_text}, "
                f"eos={sorted(self.eos_token_ids)})")
