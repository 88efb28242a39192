"""Decoding machinery: sampling, masks, the KV-cached loop and the transformers logits processor.

Truth comes from outside the code under test: a cache-free full forward pass (KV cache and
greedy choices), the language of a stand-in matcher (fixed strings), exact nucleus
probabilities, and transformers' own ``generate``.
"""

from __future__ import annotations

import pytest
import torch
from tiny_lm import (StandInCompiled, FixedStringsMatcher, tiny_model, tiny_tokenizer,
                     tiny_vocab, use_stand_in_matcher)
from transformers import LogitsProcessorList

from grammar_decode.decoding.logits_processor import GrammarLogitsProcessor
from grammar_decode.decoding.loop import decode, iter_decode
from grammar_decode.decoding.sampling import fill_allowed, make_generator, select_token
from grammar_decode.errors import GrammarDecodeError

torch.set_num_threads(1)
STRINGS = (b'{"name": "Ada"}', b'{"name": "\xc3\xa9lan", "age": 36}', b'{"ok": true}',
           b"[1, 2, 3]", b"yes", b"yes no")


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    use_stand_in_matcher(monkeypatch)


def prompt_ids(text: str = "hello world") -> list[int]:
    return tiny_tokenizer()(text)["input_ids"]


def full_logits(model, ids: list[int]) -> torch.Tensor:
    """Logits at every position from one cache-free forward pass."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


def language_matcher(strings=STRINGS) -> FixedStringsMatcher:
    return FixedStringsMatcher(StandInCompiled(tiny_vocab(), tuple(strings)))


# ---------------------------------------------------------------- sampling

def test_greedy_is_argmax_and_masked_tokens_are_never_chosen():
    logits = torch.tensor([0.1, 5.0, -1.0, 4.0])
    assert select_token(logits.clone(), temperature=0, top_p=1, generator=make_generator(0)) == 1
    masked = logits.clone()
    masked[1] = float("-inf")
    g = make_generator(0)
    assert select_token(masked.clone(), temperature=0, top_p=1, generator=g) == 3
    picks = {select_token(masked.clone(), temperature=2.0, top_p=1, generator=g)
             for _ in range(300)}
    assert 1 not in picks and picks <= {0, 2, 3}


def test_nucleus_sampling_matches_exact_distribution():
    logits = torch.log(torch.tensor([0.5, 0.25, 0.15, 0.1]))
    # top_p = 0.8: the nucleus is {0, 1, 2} (0.5 + 0.25 < 0.8 <= 0.9), renormalised.
    expected = torch.tensor([0.5, 0.25, 0.15, 0.0]) / 0.9
    g = make_generator(123)
    n = 6000
    counts = torch.zeros(4)
    for _ in range(n):
        counts[select_token(logits.clone(), temperature=1.0, top_p=0.8, generator=g)] += 1
    freq = counts / n
    assert counts[3] == 0
    # 5 standard deviations of a binomial proportion.
    tolerance = 5 * torch.sqrt(expected * (1 - expected) / n) + 1e-9
    assert torch.all((freq - expected).abs() <= tolerance), (freq, expected)


def test_temperature_and_seed_reproducible():
    logits = torch.randn(50, generator=torch.Generator().manual_seed(1))
    a = [select_token(logits.clone(), temperature=0.7, top_p=0.9, generator=g)
         for g in [make_generator(5)] for _ in range(20)]
    b = [select_token(logits.clone(), temperature=0.7, top_p=0.9, generator=g)
         for g in [make_generator(5)] for _ in range(20)]
    assert a == b
    with pytest.raises(ValueError):
        select_token(logits, temperature=-1, top_p=1, generator=make_generator(0))
    with pytest.raises(ValueError):
        select_token(logits, temperature=1, top_p=0, generator=make_generator(0))


def test_fill_allowed_disallows_padded_logits():
    class AllowEverything:
        def fill_mask(self, mask):
            mask[:] = True

    mask = torch.zeros(12, dtype=torch.bool)
    fill_allowed(AllowEverything(), mask, vocab_size=10)
    assert mask[:10].all() and not mask[10:].any()
    with pytest.raises(GrammarDecodeError, match="different tokenizer"):
        fill_allowed(AllowEverything(), torch.zeros(5, dtype=torch.bool), vocab_size=10)


# ---------------------------------------------------------------- decoding loop

def test_unconstrained_greedy_with_kv_cache_equals_full_forward(model):
    ids = prompt_ids()
    result = decode(model, ids, tiny_vocab(), max_new_tokens=12, ignore_eos=True)
    assert len(result.token_ids) == 12 and result.hit_budget and not result.finished
    logits = full_logits(model, ids + result.token_ids)
    expected = logits[len(ids) - 1: -1].argmax(-1).tolist()
    assert result.token_ids == expected


def check_constrained_greedy(model, ids, token_ids, strings):
    """Each chosen token is the argmax among the tokens the language allows at that point."""
    logits = full_logits(model, ids + token_ids)
    matcher = language_matcher(strings)
    for step, token in enumerate(token_ids):
        allowed = matcher.allowed_token_ids()
        row = logits[len(ids) - 1 + step]
        assert token == max(allowed, key=lambda t: row[t].item())
        assert matcher.accept_token(token)


@pytest.mark.parametrize("overlap", [True, False])
def test_constrained_greedy_output_is_in_language_and_locally_optimal(model, overlap):
    ids = prompt_ids()
    result = decode(model, ids, tiny_vocab(), language_matcher(), max_new_tokens=40,
                    overlap=overlap)
    assert result.finished and not result.hit_budget
    assert result.data in STRINGS
    assert result.text == result.data.decode("utf-8")
    check_constrained_greedy(model, ids, result.token_ids, STRINGS)
    t = result.timings
    assert t.time_to_first_token > 0 and t.mask_seconds > 0
    assert len(t.token_times) == len(result.token_ids) - 1
    assert 0 < t.mask_share < 1 and t.time_per_output_token > 0


def test_stops_without_extra_forward_when_only_eos_remains(model):
    calls = []
    handle = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        result = decode(model, prompt_ids(), tiny_vocab(), language_matcher([b"yes"]),
                        max_new_tokens=10)
    finally:
        handle.remove()
    assert result.data == b"yes" and result.finished
    assert all(t not in tiny_vocab().eos_token_ids for t in result.token_ids)
    assert len(calls) == len(result.token_ids)  # one forward per chosen token, none wasted


def test_eos_is_chosen_only_where_the_language_accepts(model):
    strings = (b"yes", b"yes no", b"yes no maybe")
    for seed in range(6):
        result = decode(model, prompt_ids(), tiny_vocab(), language_matcher(strings),
                        max_new_tokens=30, temperature=1.5, seed=seed)
        assert result.finished and result.data in strings
        eos = [t for t in result.token_ids if t in tiny_vocab().eos_token_ids]
        assert eos == [] or result.token_ids[-1] in eos and len(eos) == 1


def test_sampling_is_reproducible_with_seed(model):
    runs = [decode(model, prompt_ids(), tiny_vocab(), language_matcher(), max_new_tokens=40,
                   temperature=1.0, top_p=0.95, seed=7).token_ids for _ in range(2)]
    assert runs[0] == runs[1]


def test_budget_exhaustion_reports_partial_prefix(model):
    result = decode(model, prompt_ids(), tiny_vocab(),
                    language_matcher([b'{"name": "\xc3\xa9lan", "age": 36}']), max_new_tokens=3)
    assert result.hit_budget and not result.finished and len(result.token_ids) == 3
    assert b'{"name": "\xc3\xa9lan", "age": 36}'.startswith(result.data)


def test_dead_end_raises(model):
    with pytest.raises(GrammarDecodeError, match="no token can continue"):
        decode(model, prompt_ids(), tiny_vocab(), language_matcher([]), max_new_tokens=5)


def test_iter_decode_yields_each_accepted_token(model):
    steps = iter_decode(model, prompt_ids(), tiny_vocab(), language_matcher(), max_new_tokens=40)
    yielded = []
    while True:
        try:
            yielded.append(next(steps))
        except StopIteration as stop:
            result = stop.value
            break
    assert yielded == [t for t in result.token_ids if t not in tiny_vocab().eos_token_ids]
    assert b"".join(tiny_vocab().token_bytes[t] for t in yielded) == result.data


# ---------------------------------------------------------------- logits processor

def generate_with_processor(model, processor, batch, **kwargs):
    ids = torch.tensor([prompt_ids()] * batch)
    eos = sorted(processor.eos_token_ids)
    out = model.generate(ids, attention_mask=torch.ones_like(ids),
                         logits_processor=LogitsProcessorList([processor]),
                         eos_token_id=eos, pad_token_id=eos[0], **kwargs)
    texts = []
    for row in out[:, ids.shape[1]:].tolist():
        kept = []
        for t in row:
            if t in processor.eos_token_ids:
                break
            kept.append(tiny_vocab().token_bytes[t])
        texts.append(b"".join(kept))
    return texts


def test_processor_greedy_matches_our_loop(model):
    compiled = StandInCompiled(tiny_vocab(), STRINGS)
    processor = GrammarLogitsProcessor(compiled)
    [text] = generate_with_processor(model, processor, 1, do_sample=False, max_new_tokens=40)
    ours = decode(model, prompt_ids(), tiny_vocab(), language_matcher(), max_new_tokens=40)
    assert text == ours.data and text in STRINGS


def test_processor_batch_sampling_each_row_in_language(model):
    compiled = StandInCompiled(tiny_vocab(), STRINGS)
    processor = GrammarLogitsProcessor(compiled, batch_size=4)
    torch.manual_seed(3)
    texts = generate_with_processor(model, processor, 4, do_sample=True, temperature=1.3,
                                    top_k=0, max_new_tokens=40)
    assert all(t in STRINGS for t in texts), texts
    # The last EOS ends generate before the processor sees it: every row is complete.
    assert all(m.is_accepting() for m in processor.matchers)
    with pytest.raises(GrammarDecodeError, match="reset"):
        generate_with_processor(model, processor, 4, do_sample=False, max_new_tokens=5)
    processor.reset()
    assert all(t in STRINGS for t in generate_with_processor(
        model, processor, 4, do_sample=False, max_new_tokens=40))


def test_processor_rejects_wrong_batch_size(model):
    processor = GrammarLogitsProcessor(StandInCompiled(tiny_vocab(), STRINGS), batch_size=2)
    with pytest.raises(GrammarDecodeError, match="batch size 2"):
        generate_with_processor(model, processor, 1, do_sample=False, max_new_tokens=3)


# ---------------------------------------------------------------- real grammar compiler

ARITH = r"""
start: expr
expr: term (("+" | "-") term)*
term: NUMBER | "(" expr ")"
NUMBER: /[0-9]{1,3}/
"""


@pytest.fixture(scope="module")
def arith():
    pytest.importorskip("grammar_decode.vocab.vocabulary")
    from grammar_decode.compiler import compile_grammar

    return compile_grammar(ARITH, tiny_tokenizer(), cache_dir=False)


def test_real_grammar_loop_and_processor_outputs_parse_with_lark(model, arith):
    import lark

    parser = lark.Lark(ARITH)
    from grammar_decode.decoding.loop import new_matcher

    finished = 0
    for seed in range(4):
        result = decode(model, prompt_ids(), arith.vocab, new_matcher(arith), max_new_tokens=60,
                        temperature=1.0, seed=seed)
        if result.finished:
            finished += 1
            parser.parse(result.text)
        else:
            assert result.hit_budget and len(result.token_ids) == 60
    assert finished
    processor = GrammarLogitsProcessor(arith, batch_size=3)
    torch.manual_seed(0)
    ids = torch.tensor([prompt_ids()] * 3)
    eos = sorted(processor.eos_token_ids)
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=0,
                         max_new_tokens=60, logits_processor=LogitsProcessorList([processor]),
                         eos_token_id=eos, pad_token_id=eos[0])
    for row in out[:, ids.shape[1]:].tolist():
        if any(t in processor.eos_token_ids for t in row):
            text = b"".join(arith.vocab.token_bytes[t] for t in
                            row[: min(row.index(e) for e in eos if e in row)]).decode()
            parser.parse(text)
