"""ASAp sampler: exact checks against enumerated Q on the binary_len_5_0 toy, plus a tiny GPT-2.

The grammar {00000} U 1{0,1}^4 over tokens {"0", "1", EOS}. Q(w) = P(w EOS) / Z is enumerated
from the model's own probabilities (17 strings); the sampler's exact distribution is
enumerated from its per-step probabilities, never estimated by sampling (except in the
statistical test, which compares empirical KL with fixed seeds).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from grammar_decode.decoding.asap import ASApSampler
from grammar_decode.errors import GrammarDecodeError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GRAMMAR = DATA / "gad" / "examples" / "test" / "binary_len_5_0.ebnf"
EOS = 2
TOKENS = {0: "0", 1: "1"}
# Independent reading of the grammar file: "00000" or "1" followed by any 4 bits.
LANGUAGE = ["00000"] + ["1" + "".join(bits) for bits in itertools.product("01", repeat=4)]
PROMPT = (EOS,)   # GPT-2 style: the EOS token doubles as BOS
LogProbs = Callable[[tuple[int, ...]], np.ndarray]   # generated ids -> next-token log-probs

pytestmark = pytest.mark.skipif(not GRAMMAR.is_file(), reason="GAD example data not present")


# ----------------------------------------------------------------------------- toy models

class TableModel:
    """A next-token table over {0, 1, EOS}: ``table(generated_ids) -> probabilities``."""

    def __init__(self, table: Callable[[tuple[int, ...]], np.ndarray]) -> None:
        self.table = table

    def next_logprobs(self, prefix_ids: Sequence[int]) -> np.ndarray:
        return np.log(self.table(tuple(prefix_ids[len(PROMPT):])))


def fair_table(generated: tuple[int, ...]) -> np.ndarray:
    """Fair coin for the bits; EOS more likely once five bits are out."""
    return np.array([0.45, 0.45, 0.1]) if len(generated) < 5 else np.array([0.25, 0.25, 0.5])


def skewed_table(generated: tuple[int, ...]) -> np.ndarray:
    """A fixed pseudo-random table (Dirichlet per prefix, seeded by the prefix)."""
    rng = np.random.default_rng(zlib.crc32(repr(generated).encode()))
    return rng.dirichlet([2.0, 2.0, 1.0])


# ----------------------------------------------------------------------------- exact truth

def model_logprob(logprobs_of: LogProbs, ids: Sequence[int]) -> float:
    return sum(float(logprobs_of(tuple(ids[:i]))[t]) for i, t in enumerate(ids))


def word_ids(word: str) -> list[int]:
    return [int(ch) for ch in word] + [EOS]


def exact_q(logprobs_of: LogProbs) -> dict[str, float]:
    """Q over the 17 strings from the model's probabilities (P(w EOS) / Z)."""
    p = {w: math.exp(model_logprob(logprobs_of, word_ids(w))) for w in LANGUAGE}
    z = sum(p.values())
    return {w: v / z for w, v in p.items()}


def exact_c(logprobs_of: LogProbs) -> dict[tuple[int, ...], float]:
    """c(u) for every viable prefix u (EOS-terminated words included)."""
    p = {w: math.exp(model_logprob(logprobs_of, word_ids(w))) for w in LANGUAGE}
    c: dict[tuple[int, ...], float] = {}
    for w in LANGUAGE:
        ids = word_ids(w)
        for n in range(len(ids) + 1):
            prefix = tuple(ids[:n])
            if prefix not in c:
                owners = [v for v in LANGUAGE if tuple(word_ids(v)[:n]) == prefix]
                c[prefix] = sum(p[v] for v in owners) / math.exp(model_logprob(logprobs_of, prefix))
    return c


def gcd_distribution(logprobs_of: LogProbs) -> dict[str, float]:
    """Plain constrained decoding: renormalise P over the allowed tokens at every step."""
    prefixes = {tuple(word_ids(w)[:n]) for w in LANGUAGE for n in range(7)}
    out = {}
    for w in LANGUAGE:
        ids, q = word_ids(w), 1.0
        for i, t in enumerate(ids):
            allowed = [v for v in (0, 1, EOS) if tuple(ids[:i]) + (v,) in prefixes]
            probs = np.exp(logprobs_of(tuple(ids[:i])))
            q *= probs[t] / probs[allowed].sum()
        out[w] = q
    return out


def sampler_distribution(sampler: ASApSampler, prompt: Sequence[int]) -> dict[str, float]:
    """The sampler's exact current distribution, by enumerating its per-step probabilities."""
    out: dict[str, float] = {}

    def walk(prefix: list[int], q: float) -> None:
        ids, probs = sampler.step_distribution(prompt, prefix)
        for token, prob in zip(ids.tolist(), probs.tolist()):
            if token == EOS:
                out["".join(TOKENS[t] for t in prefix)] = q * prob
            elif prob > 0:
                walk(prefix + [token], q * prob)

    walk([], 1.0)
    return out


def kl(p: dict[str, float], q: dict[str, float]) -> float:
    return sum(v * math.log(v / q[k]) for k, v in p.items() if v > 0)


def empirical(samples: list) -> dict[str, float]:
    counts = Counter(s.text for s in samples)
    return {k: v / len(samples) for k, v in counts.items()}


def all_expanded(sampler: ASApSampler, prompt: Sequence[int]) -> bool:
    trie = sampler.trie(prompt)
    for w in LANGUAGE:
        for n in range(6):
            node = trie.lookup([int(ch) for ch in w[:n]])
            if node is None or not node.expanded:
                return False
    return True


# ----------------------------------------------------------------------------- fixtures

def _tiny_tokenizer():
    """A byte-level BPE tokenizer with exactly the tokens "0", "1" and "</s>" (EOS)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE({"0": 0, "1": 1, "</s>": EOS}, []))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["</s>"])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>")


@pytest.fixture(scope="module")
def compiled():
    """The real grammar file compiled for the tiny tokenizer (real matcher and vocabulary)."""
    from grammar_decode.compiler import compile_grammar

    result = compile_grammar(GRAMMAR, _tiny_tokenizer(), cache_dir=False)
    assert list(result.vocab.token_bytes[:3]) == [b"0", b"1", None]
    assert result.vocab.eos_token_ids == frozenset({EOS})
    return result


@pytest.fixture()
def make_sampler(compiled):
    def make(model, **options) -> ASApSampler:
        options.setdefault("max_new_tokens", 8)
        return ASApSampler(compiled, model, **options)

    return make


def table_logprobs(table: Callable[[tuple[int, ...]], np.ndarray]) -> LogProbs:
    return lambda generated: np.log(table(generated))


# ----------------------------------------------------------------------------- toy tests

def test_fresh_trie_is_exactly_gcd(make_sampler) -> None:
    sampler = make_sampler(TableModel(fair_table), seed=0)
    dist = sampler_distribution(sampler, PROMPT)
    gcd = gcd_distribution(table_logprobs(fair_table))
    assert set(dist) == set(LANGUAGE)
    assert all(dist[w] == pytest.approx(gcd[w], abs=1e-12) for w in LANGUAGE)
    assert dist["00000"] == pytest.approx(0.5)
    assert exact_q(table_logprobs(fair_table))["00000"] == pytest.approx(1 / 17)


@pytest.mark.parametrize("table", [fair_table, skewed_table])
def test_c_tilde_over_approximates_and_never_increases(make_sampler, table) -> None:
    sampler = make_sampler(TableModel(table), seed=1)
    truth = exact_c(table_logprobs(table))
    previous = {u: 1.0 for u in truth}
    for _ in range(60):
        sampler.sample(PROMPT, 1)
        for u, c in truth.items():
            now = sampler.c_tilde(PROMPT, list(u))
            assert now >= c - 1e-12, (u, now, c)
            assert now <= previous[u] + 1e-15, (u, now, previous[u])
            previous[u] = now
    assert sampler.c_tilde(PROMPT, [0, 1]) == 0.0      # not a grammatical prefix
    lower, upper = sampler.bounds(PROMPT)
    assert lower <= truth[()] <= upper + 1e-12


@pytest.mark.parametrize("table", [fair_table, skewed_table])
def test_fully_expanded_trie_samples_exactly_q(make_sampler, table) -> None:
    sampler = make_sampler(TableModel(table), seed=2)
    for _ in range(3000):
        if all_expanded(sampler, PROMPT):
            break
        sampler.sample(PROMPT, 1)
    assert all_expanded(sampler, PROMPT)
    dist, q = sampler_distribution(sampler, PROMPT), exact_q(table_logprobs(table))
    assert all(dist[w] == pytest.approx(q[w], rel=1e-9) for w in LANGUAGE)
    lower, upper = sampler.bounds(PROMPT)
    z = sum(math.exp(model_logprob(table_logprobs(table), word_ids(w))) for w in LANGUAGE)
    assert upper == pytest.approx(z, rel=1e-9) and lower == pytest.approx(z, rel=1e-9)


def test_statistics_asap_converges_gcd_does_not(make_sampler) -> None:
    q = exact_q(table_logprobs(fair_table))
    asap = make_sampler(TableModel(fair_table), seed=3).sample(PROMPT, 2000)
    gcd_sampler = make_sampler(TableModel(fair_table), seed=4)
    gcd = []
    for _ in range(2000):
        gcd_sampler.reset()
        gcd += gcd_sampler.sample(PROMPT, 1)
    assert all(s.finished and not s.truncated for s in asap + gcd)
    assert kl(empirical(asap), q) < 0.02
    assert kl(empirical(gcd), q) > 0.5


def test_sample_results_report_model_and_sampler_logprobs(make_sampler) -> None:
    sampler = make_sampler(TableModel(skewed_table), seed=5)
    gcd = gcd_distribution(table_logprobs(skewed_table))
    first = sampler.sample(PROMPT, 1)[0]          # fresh trie: drawn by GCD
    assert first.token_ids == word_ids(first.text)
    assert first.logprob == pytest.approx(model_logprob(table_logprobs(skewed_table),
                                                        first.token_ids))
    assert first.sampler_logprob == pytest.approx(math.log(gcd[first.text]))


def test_budget_cutoffs_are_failures(make_sampler) -> None:
    sampler = make_sampler(TableModel(fair_table), max_new_tokens=5, seed=6)   # no room for EOS
    seen = set()
    for _ in range(len(LANGUAGE)):
        result = sampler.sample(PROMPT, 1)[0]
        assert result.truncated and not result.finished and len(result.token_ids) == 5
        assert sampler.c_tilde(PROMPT, result.token_ids) == 0.0
        seen.add(result.text)
    assert seen == set(LANGUAGE)     # each cut-off path is never sampled again
    assert sampler.bounds(PROMPT) == (0.0, 0.0)
    with pytest.raises(GrammarDecodeError, match="max_new_tokens=5"):
        sampler.sample(PROMPT, 1)


def test_tries_are_per_prompt_and_per_sampler(make_sampler) -> None:
    model = TableModel(fair_table)
    sampler = make_sampler(model, seed=7)
    sampler.sample(PROMPT, 100)
    other_prompt = (1,)
    gcd = gcd_distribution(table_logprobs(fair_table))
    for fresh_sampler, prompt in ((sampler, other_prompt), (make_sampler(model), PROMPT)):
        dist = sampler_distribution(fresh_sampler, prompt)
        assert all(dist[w] == pytest.approx(gcd[w], abs=1e-12) for w in LANGUAGE)
    assert sampler_distribution(sampler, PROMPT)["00000"] < 0.2


def test_save_and_load_round_trip(make_sampler, tmp_path) -> None:
    sampler = make_sampler(TableModel(skewed_table), seed=8)
    sampler.sample(PROMPT, 40)
    sampler.sample((1,), 5)
    path = tmp_path / "trie.bin"
    sampler.save(path)
    assert path.is_file()
    loaded = make_sampler(TableModel(skewed_table))
    loaded.load(path)
    for prompt in (PROMPT, (1,)):
        assert sampler_distribution(loaded, prompt) == sampler_distribution(sampler, prompt)
        assert loaded.bounds(prompt) == sampler.bounds(prompt)
    before = loaded.bounds(PROMPT)[1]
    loaded.sample(PROMPT, 5)                       # loaded tries keep learning
    assert loaded.bounds(PROMPT)[1] <= before
    with pytest.raises(GrammarDecodeError, match="max_new_tokens"):
        make_sampler(TableModel(skewed_table), max_new_tokens=9).load(path)


def test_warp_changes_the_target(make_sampler) -> None:
    from transformers import TemperatureLogitsWarper

    sampler = make_sampler(TableModel(skewed_table), warp=TemperatureLogitsWarper(2.0), seed=9)
    def warped_table(generated: tuple[int, ...]) -> np.ndarray:   # softmax(log p / 2)
        root = np.sqrt(skewed_table(generated))
        return root / root.sum()

    warped = table_logprobs(warped_table)
    assert sampler_distribution(sampler, PROMPT) == pytest.approx(gcd_distribution(warped))
    result = sampler.sample(PROMPT, 1)[0]
    assert result.logprob == pytest.approx(model_logprob(warped, result.token_ids))


# ----------------------------------------------------------------------------- tiny GPT-2

@pytest.fixture(scope="module")
def tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    torch.set_num_threads(1)
    config = GPT2Config(vocab_size=3, n_positions=16, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=EOS, eos_token_id=EOS)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():                          # sharper, prefix-dependent distributions
        model.transformer.wte.weight.mul_(3.0)
    return model


def gpt2_logprobs(model) -> LogProbs:
    """log P(next | prompt + generated) by a full forward pass (no KV cache)."""
    def logprobs_of(generated: tuple[int, ...]) -> np.ndarray:
        with torch.no_grad():
            ids = torch.tensor([list(PROMPT) + list(generated)])
            return torch.log_softmax(model(ids).logits[0, -1].double(), -1).numpy()
    return logprobs_of


def test_gpt2_gcd_then_exact_q_through_kv_cache(make_sampler, tiny_gpt2) -> None:
    truth = gpt2_logprobs(tiny_gpt2)
    sampler = make_sampler(tiny_gpt2, seed=10)
    gcd = gcd_distribution(truth)
    fresh = sampler_distribution(sampler, PROMPT)
    assert all(fresh[w] == pytest.approx(gcd[w], rel=1e-5) for w in LANGUAGE)
    q, c = exact_q(truth), exact_c(truth)
    previous = {u: 1.0 for u in c}
    samples = []
    for step in range(3000):
        if all_expanded(sampler, PROMPT):
            break
        samples += sampler.sample(PROMPT, 1)
        for u, value in c.items() if step < 100 else ():
            now = sampler.c_tilde(PROMPT, list(u))
            assert value - 1e-6 <= now <= previous[u] + 1e-12
            previous[u] = now
    assert all_expanded(sampler, PROMPT)
    for s in samples:
        assert s.logprob == pytest.approx(model_logprob(truth, s.token_ids), abs=1e-4)
    dist = sampler_distribution(sampler, PROMPT)
    assert all(dist[w] == pytest.approx(q[w], rel=1e-4) for w in LANGUAGE)
    assert kl(gcd, q) > 0.05      # the check above is not vacuous for this model


def test_gpt2_statistics(make_sampler, tiny_gpt2) -> None:
    q = exact_q(gpt2_logprobs(tiny_gpt2))
    sampler = make_sampler(tiny_gpt2, seed=11)
    samples = sampler.sample(PROMPT, 1000)
    assert kl(empirical(samples), q) < 0.03
    # 37 trie nodes (root, 5 on the 0-branch, 31 on the 1-branch): one expansion each.
    assert sampler.expansions <= 37


# ----------------------------------------------------------------------------- experiment

def _record(ids: tuple[int, ...], logprob: float, finished: bool) -> dict:
    return {"token_ids": list(ids), "logprob": logprob, "finished": finished}


def test_experiment_kl_matches_direct_computation() -> None:
    """KL(empirical of the first n || P renormalised over both methods' distinct outputs)."""
    from grammar_decode.bench.asap_experiment import curves, mode_check, renormalised_target

    rng = np.random.default_rng(5)
    pool = [((i, EOS), float(lp)) for i, lp in enumerate(rng.uniform(-30, -2, 6))]
    records = {m: [] for m in ("gcd", "asap")}
    for m in records:
        for _ in range(40):
            ids, lp = pool[int(rng.integers(len(pool)))]
            records[m].append(_record(ids, lp, bool(rng.random() > 0.15)))
    records["asap"].insert(0, _record((9,), -1.0, False))   # failure before any success
    union = {tuple(r["token_ids"]): math.exp(r["logprob"])
             for rs in records.values() for r in rs if r["finished"]}
    p_u = {k: v / sum(union.values()) for k, v in union.items()}
    target = renormalised_target(records)
    assert {k: math.exp(v) for k, v in target.items()} == pytest.approx(p_u, rel=1e-12)
    for rs in records.values():
        c = curves(rs, target)
        for n in range(1, len(rs) + 1):
            done = [r for r in rs[:n] if r["finished"]]
            assert c["failures"][n - 1] == n - len(done)
            if not done:
                assert math.isnan(c["kl"][n - 1]) and math.isnan(c["loglik"][n - 1])
                continue
            counts = Counter(tuple(r["token_ids"]) for r in done)
            emp = {k: v / len(done) for k, v in counts.items()}
            assert c["kl"][n - 1] == pytest.approx(kl(emp, p_u), abs=1e-9)
            assert c["loglik"][n - 1] == pytest.approx(np.mean([r["logprob"] for r in done]))
    for r in records["gcd"] + records["asap"]:
        r["text"] = str(r["token_ids"])
    best_ids, best_lp = max(((ids, lp) for ids, lp in pool if ids in union), key=lambda x: x[1])
    check = mode_check(records, (0.5 * sum(union.values()), 2 * sum(union.values())))
    assert check["logprob"] == pytest.approx(best_lp, abs=1e-4)
    assert check["q_bounds"] == pytest.approx([p_u[best_ids] / 2, min(1.0, 2 * p_u[best_ids])])
    for m, rs in records.items():
        done = [tuple(r["token_ids"]) for r in rs if r["finished"]]
        assert check["frequency"][m] == pytest.approx(done.count(best_ids) / len(done))


def test_experiment_counts_truncations_and_times_gcd_from_scratch() -> None:
    """Grammar 1*0 with a 3-token budget: '0' and '10' finish, anything starting '11' is cut."""
    from grammar_decode.bench.asap_experiment import compare, summarise
    from grammar_decode.compiler import compile_grammar

    compiled = compile_grammar('root ::= "1"* "0"', _tiny_tokenizer(), cache_dir=False)
    result = compare(compiled, TableModel(fair_table), list(PROMPT), n_samples=30,
                     max_new_tokens=3, seed=4)
    summary = summarise("toy", result)
    for method, records in result["records"].items():
        assert len(records) == 30
        for r in records:
            words = "".join(TOKENS[t] for t in r["token_ids"] if t != EOS)
            assert r["finished"] == (words in ("0", "10") and r["token_ids"][-1] == EOS)
            assert r["truncated"] == (not r["finished"] and len(r["token_ids"]) == 3)
            assert r["logprob"] == pytest.approx(
                model_logprob(table_logprobs(fair_table), r["token_ids"]))
            if method == "gcd":   # a fresh trie: one model call per token drawn
                assert r["model_calls"] == len(r["token_ids"])
        stats = summary["methods"][method]
        assert stats["truncated"] == sum(r["truncated"] for r in records)
        assert stats["finished"] + stats["truncated"] + stats["dead_ends"] == 30
    assert summary["methods"]["gcd"]["truncated"] > 0   # GCD is cut off 1/4 of the time
    # ASAp learns that '11' cannot finish within the budget (c~ = 0 once both of its
    # continuations were cut off): from then on it never truncates and, every node it can
    # still reach being expanded, makes no model calls (seeded: this happens within 10).
    late = result["records"]["asap"][10:]
    assert not any(r["truncated"] for r in late) and not any(r["model_calls"] for r in late)


# ----------------------------------------------------------------------------- notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "asap.ipynb"


def test_notebook_toy_case_and_saved_run(monkeypatch) -> None:
    """Run notebooks/asap.ipynb (toy cells, and the saved SyGuS run's table; the live-model cell
    is skipped) and check its printed results independently."""
    import json
    import re

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for name, value in (("HF_HUB_OFFLINE", "1"), ("OMP_NUM_THREADS", "1"),
                        ("TOKENIZERS_PARALLELISM", "false"), ("MPLBACKEND", "Agg")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ASAP_NOTEBOOK_REAL", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    stdout = ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout")
              for c in code]
    summary = json.loads(next(s for s in stdout if s.startswith("{")))
    q = {w: 1 / len(LANGUAGE) for w in LANGUAGE}
    assert summary["all_finished"] and set(summary["empirical"]) <= set(LANGUAGE)
    assert kl(summary["empirical"], q) < 0.02
    assert kl(gcd_distribution(table_logprobs(fair_table)), q) == pytest.approx(
        summary["kl_gcd_vs_q"])
    assert "skipped" in stdout[-1]
    # The saved run: one table row per problem of the summary file, and the plots exist.
    figures = NOTEBOOK.parents[1] / "docs" / "figures"
    runs = json.loads((figures / "asap_summary.json").read_text())
    table = next(s for s in stdout if s.startswith("problem")).splitlines()[1:]
    assert [row.split()[:2] for row in table] == [
        [run["problem"], str(run["samples_per_method"])] for run in runs]
    markdown = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    plots = re.findall(r"\(\.\./docs/figures/([^)]+\.png)\)", markdown)
    assert sorted(plots) == sorted(f"asap_{run['problem'].replace('/', '_')}.png" for run in runs)
    assert all((figures / name).is_file() for name in plots)
