"""Real documents pass token by token under real tokenizers; invalid ones stop where they
stop being viable.

For every corpus document (and JSON instances from the JSON-Schema-Test-Suite, serialised
with ``json.dumps``) under several packaged tokenizers: each token is in the mask before it
is accepted, the int32 bitmask says what the bool mask says, ``is_accepting()`` (and EOS in
the mask) agrees with the independent oracle's ``is_sentence`` after every token, and EOS
ends the document. For invalid documents the
matcher accepts exactly the tokens the oracle calls viable and rejects the first one that
is not (or does not accept at the end). Seeded subsets within a byte budget keep the file
fast: GPT-2 sees more documents and every invalid one, the other tokenizers fewer.
"""

from __future__ import annotations

import random

import pytest

from grammar_corpus import (SHIPPED, grammar_text, greedy_token_ids, invalid_documents,
                            json_suite_instances, valid_documents)
from oracle import get_oracle

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
compiler = pytest.importorskip("grammar_decode.compiler")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")
packaged = pytest.importorskip("grammar_decode.vocab.packaged")

TOKENIZERS = ("gpt2", "qwen2.5", "llama3", "mistral-v3", "smollm2")
FULL = "gpt2"  # sees more documents
BYTES_FULL, BYTES_OTHERS = 1500, 350  # corpus bytes per grammar (at least one document)
JSON_SUITE_FULL, JSON_SUITE_OTHERS = 20, 4


@pytest.fixture(scope="module", params=TOKENIZERS)
def tokenizer_case(request, tmp_path_factory):
    name = request.param
    try:
        tokenizer = packaged.load_tokenizer(name)
    except Exception as exc:  # noqa: BLE001 - any failure to build it offline is a skip
        pytest.skip(f"tokenizer {name!r} could not be loaded offline: "
                    f"{type(exc).__name__}: {exc}")
    return name, tokenizer, tmp_path_factory.mktemp(f"maskstore-{name}")


def _token_ids(tokenizer, vocab, data: bytes) -> list[int]:
    """The tokenizer's own ids when they spell ``data`` exactly, else a greedy split over
    the vocabulary's token bytes (e.g. SentencePiece adding a leading space)."""
    ids = tokenizer.encode(data.decode("utf-8"), add_special_tokens=False)
    if b"".join(vocab.token_bytes[i] or b"\0" for i in ids) == data:
        return ids
    lookup = {b: i for i, b in enumerate(vocab.token_bytes) if b}
    return greedy_token_ids(data, lookup, max(len(b) for b in lookup))


def _documents(tokenizer_name: str, name: str) -> list[tuple[str, bytes]]:
    full = tokenizer_name == FULL
    budget = BYTES_FULL if full else BYTES_OTHERS
    pool = valid_documents(name)
    random.Random(f"{tokenizer_name}-{name}").shuffle(pool)
    docs = [min(pool, key=lambda d: len(d[1]))]
    for doc in pool:
        if doc not in docs and sum(len(d) for _, d in docs) + len(doc[1]) <= budget:
            docs.append(doc)
    if name == "json":
        docs += json_suite_instances(JSON_SUITE_FULL if full else JSON_SUITE_OTHERS,
                                     seed=len(tokenizer_name))
    return docs


def _replay(compiled, oracle, vocab, ids: list[int], label: str) -> list[str]:
    """Feed a valid document; return the disagreements found."""
    problems = []
    m = matcher_module.GrammarMatcher(compiled)
    mask = torch.zeros(vocab.size, dtype=torch.bool)
    bitmask = torch.full(((vocab.size + 31) // 32,), -1, dtype=torch.int32)
    shifts = torch.arange(32, dtype=torch.int32)
    eos = sorted(vocab.eos_token_ids)
    prefix = b""
    for step, tid in enumerate(ids):
        m.fill_mask(mask)
        m.fill_bitmask(bitmask)  # bit i % 32 of word i // 32, read back by shifts alone
        bits = ((bitmask[:, None] >> shifts) & 1).bool().flatten()
        if not torch.equal(bits[:vocab.size], mask) or bits[vocab.size:].any():
            problems.append(f"{label} after {prefix[-50:]!r}: the bitmask differs from the "
                            f"bool mask at {int((bits[:vocab.size] != mask).sum())} ids")
        sentence = oracle.is_sentence(prefix)
        if m.is_accepting() != sentence or bool(mask[eos].any()) != sentence:
            problems.append(f"{label} after {prefix[-50:]!r}: is_accepting={m.is_accepting()}"
                            f" eos_allowed={bool(mask[eos].any())} oracle={sentence}")
        if not mask[tid]:
            problems.append(f"{label} token {step} {vocab.token_bytes[tid]!r} after "
                            f"{prefix[-50:]!r} is not in the mask")
            return problems
        if not m.accept_token(tid):
            problems.append(f"{label} token {step} {vocab.token_bytes[tid]!r} is in the mask "
                            f"but accept_token refused it")
            return problems
        prefix += vocab.token_bytes[tid]
    if step_ids := m.allowed_token_ids():
        if not set(eos) <= set(step_ids) or not m.is_accepting():
            problems.append(f"{label}: EOS not allowed at the end")
    if not m.accept_token(eos[0]) or not m.is_terminated():
        problems.append(f"{label}: EOS refused at the end")
    return problems


def _replay_invalid(compiled, oracle, vocab, ids: list[int], label: str) -> list[str]:
    """Feed an invalid document: tokens are accepted exactly while the oracle says viable."""
    m = matcher_module.GrammarMatcher(compiled)
    prefix = b""
    for tid in ids:
        piece = vocab.token_bytes[tid]
        viable = oracle.is_viable_prefix(prefix + piece)
        allowed = tid in set(m.allowed_token_ids())
        if allowed != viable:
            return [f"{label}: token {piece!r} after {prefix[-50:]!r}: allowed={allowed}, "
                    f"oracle viable={viable}"]
        if not viable:
            if m.accept_token(tid):
                return [f"{label}: accept_token took a forbidden token {piece!r}"]
            return []
        assert m.accept_token(tid)
        prefix += piece
    if m.is_accepting():
        return [f"{label}: the whole invalid document was accepted as a sentence"]
    return []


@pytest.mark.parametrize("name", SHIPPED)
def test_corpus_documents_token_by_token(tokenizer_case, name):
    tok_name, tokenizer, cache = tokenizer_case
    compiled = compiler.compile_grammar(grammar_text(name), tokenizer, cache_dir=cache)
    vocab = compiled.vocab
    oracle = get_oracle(grammar_text(name))
    problems: list[str] = []
    docs = _documents(tok_name, name)
    for label, data in docs:
        problems += _replay(compiled, oracle, vocab, _token_ids(tokenizer, vocab, data), label)
    invalid = invalid_documents(name)
    if tok_name != FULL:
        invalid = random.Random(f"{tok_name}-{name}").sample(invalid, 1)
    for label, data in invalid:
        problems += _replay_invalid(compiled, oracle, vocab,
                                    _token_ids(tokenizer, vocab, data), label)
    assert docs and invalid
    assert not problems, f"[{tok_name}/{name}] " + "\n".join(problems[:10])
