"""End-to-end tests of the jsonschema_bench harness (worker processes, limits, resume, report).

Stand-in engines defined here drive the machinery with known behaviour, and the verdicts are
checked against the jsonschema validator computed independently in the test:
an oracle engine (EOS allowed exactly when the text so far validates) must be judged right on
every instance; an accept-everything engine must be under-constrained on exactly the invalid
instances; a hanging / aborting engine must produce timeout / crash records and the run must go
on. Our engine runs on 5 rows with the gpt2 tokenizer and its verdicts are checked the same way.
"""

from __future__ import annotations

import json
import os
import time
from functools import lru_cache
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from jsonschema_bench.cli import main
from jsonschema_bench.context import RunOptions
from jsonschema_bench.data import Item, read_rows, select
from jsonschema_bench.engines.base import (BitmaskMatcher, CompileFailure, Engine,
                                           keywords_in_message)
from jsonschema_bench.report.build import build_report
from jsonschema_bench.report.stats import bootstrap_ci
from jsonschema_bench.results import iter_records
from jsonschema_bench.run import run_engine

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ROWS_FILE = DATA / "jsonschemabench" / "dev.jsonl.gz"
SUITE = DATA / "json-schema-test-suite"
pytestmark = pytest.mark.skipif(not ROWS_FILE.exists(),
                                reason=f"benchmark data absent: {ROWS_FILE}")
SELF = Path(__file__).stem  # spawned workers import this module by name (tests/ is on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


# ---------------------------------------------------------------- stand-in engines
class _TextMatcher(BitmaskMatcher):
    """Accepts every non-EOS token; EOS is allowed when ``eos_rule(text)`` holds."""

    def __init__(self, engine: Engine, eos_rule) -> None:
        self.engine, self.eos_rule, self.ids = engine, eos_rule, []
        self.bits = np.zeros((len(engine.tokenizer) + 31) // 32, dtype=np.int32)

    def fill(self) -> None:
        allowed = np.ones(self.bits.size * 32, dtype=bool)
        text = self.engine.tokenizer.decode(self.ids)
        allowed[sorted(self.engine.eos_ids)] = bool(self.eos_rule(text))
        self.bits[:] = np.packbits(allowed, bitorder="little").view(np.int32)

    def accept(self, token_id: int) -> bool:
        if not self.allowed(token_id):
            return False
        self.ids.append(token_id)
        return True


def _parses_and_validates(schema):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    def rule(text: str) -> bool:
        try:
            return validator.is_valid(json.loads(text))
        except Exception:  # not JSON yet, or not valid
            return False
    return rule


class OracleEngine(Engine):
    """Exact by construction: EOS allowed iff the text parses and validates."""

    def compile(self, schema):
        return _parses_and_validates(schema)

    def matcher(self, compiled):
        return _TextMatcher(self, compiled)


class AcceptAllEngine(Engine):
    """Never constrains: EOS always allowed."""

    def compile(self, schema):
        return None

    def matcher(self, compiled):
        return _TextMatcher(self, lambda text: True)


class RefuseAllEngine(AcceptAllEngine):
    """Every schema is a compile error."""

    def compile(self, schema):
        raise CompileFailure('Unimplemented keys: ["enum"]')


class FlakyEngine(AcceptAllEngine):
    """Hangs on one schema, aborts the process on another, behaves otherwise."""

    def compile(self, schema):
        marker = json.dumps(schema)
        if '"hang"' in marker:
            time.sleep(60)
        if '"abort"' in marker:
            os.abort()
        return None


class PidEngine(AcceptAllEngine):
    """Appends its worker's process id to the file named in the schema."""

    def compile(self, schema):
        with open(schema["description"], "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return None


# ---------------------------------------------------------------- helpers
@lru_cache(maxsize=1)
def _all_rows() -> tuple:
    return tuple(read_rows(ROWS_FILE))


def _rows(n: int = 5, seed: int = 3):
    """``n`` rows with test instances, small schemas (fast), chosen by a seeded sample."""
    rows = [r for r in _all_rows() if r.tests and len(json.dumps(r.schema)) < 1500]
    return select(rows, sample=n, seed=seed, need_tests=True)


def _truth(schema, data) -> bool:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(data)


def _run(engine: str, items, out: Path, **kw) -> dict:
    options = RunOptions(mode=kw.pop("mode", "replay"), engine=engine, tokenizer="gpt2",
                         compile_timeout=kw.pop("compile_timeout", 10.0), memory_mb=0, **kw)
    return run_engine(items, options, out, progress=False)


def _records(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in iter_records(path)}


# ---------------------------------------------------------------- tests
def test_data_filters_are_deterministic() -> None:
    rows = list(_all_rows())
    a = select(rows, subsets=["Glaiveai2K"], sample=7, seed=11, limit=5, need_tests=True)
    b = select(rows, subsets=["glaiveai2k"], sample=7, seed=11, limit=5, need_tests=True)
    assert [r.id for r in a] == [r.id for r in b] and len(a) == 5
    assert all(r.subset == "Glaiveai2K" and r.tests for r in a)
    with pytest.raises(ValueError, match="unknown subset"):
        select(rows, subsets=["NoSuchSubset"])


def test_keyword_attribution_of_peer_messages() -> None:
    assert keywords_in_message('Unimplemented keys: ["not"]') == ["not"]
    assert keywords_in_message("Unsupported structure {\"oneOf\": [1], \"x\": 2} if y") == [
        "oneOf"]
    assert keywords_in_message("cannot resolve #/definitions/properties") == []


def test_bootstrap_ci_matches_normal_approximation() -> None:
    flags = [1.0] * 60 + [0.0] * 140  # p = 0.3, n = 200
    lo, hi = bootstrap_ci(flags, n_boot=2000, seed=1)
    half = 1.96 * (0.3 * 0.7 / 200) ** 0.5
    assert lo < 0.3 < hi and abs((hi - lo) / 2 - half) < 0.2 * half
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0) and bootstrap_ci([]) is None


@pytest.mark.skipif(not SUITE.exists(), reason=f"test suite absent: {SUITE}")
def test_testsuite_rule_for_compile_errors(tmp_path: Path) -> None:
    """A compile error passes exactly the cases whose instances are all invalid; an engine
    that accepts everything passes exactly the cases whose instances are all valid."""
    cases = [c for kw in ("enum", "minLength")
             for c in json.loads((SUITE / "tests" / "draft2020-12" / f"{kw}.json").read_text())]
    expect = {"RefuseAllEngine": sum(all(not t["valid"] for t in c["tests"]) for c in cases),
              "AcceptAllEngine": sum(all(t["valid"] for t in c["tests"]) for c in cases)}
    for engine, passed in expect.items():
        out = tmp_path / f"ts-{engine}.jsonl"
        assert main(["testsuite", "--engine", f"{SELF}:{engine}", "--tokenizer", "gpt2",
                     "--keyword", "enum", "--keyword", "minLength", "--out", str(out),
                     "--no-progress", "--memory-mb", "0"]) == 0
        records = list(iter_records(out))
        assert len(records) == len(cases)
        assert sum(r["passed"] for r in records) == passed
    refused = list(iter_records(tmp_path / "ts-RefuseAllEngine.jsonl"))
    assert all(r["error_keywords"] == ["enum"] for r in refused)


def test_replay_verdicts_match_jsonschema(tmp_path: Path) -> None:
    """Oracle: every instance right; accept-all: under-constrained exactly on invalid ones."""
    items = _rows()
    n_invalid = sum(not _truth(i.schema, t["data"]) for i in items for t in i.tests)
    assert n_invalid > 0, "pick a sample with invalid instances"
    for engine, expect_under in (("OracleEngine", 0), ("AcceptAllEngine", n_invalid)):
        out = tmp_path / f"replay-{engine}.jsonl"
        assert _run(f"{SELF}:{engine}", items, out) == {"ok": len(items)}
        records = _records(out)
        assert set(records) == {i.id for i in items}
        under = 0
        for item in items:
            for inst, test in zip(records[item.id]["instances"], item.tests):
                truth = _truth(item.schema, test["data"])
                assert inst["truth"] == truth and inst["n_tokens"] > 0
                assert len(inst["mask_us"]) == inst["n_tokens"] + 1
                assert inst["accepted"] == (truth if expect_under == 0 else True)
                under += inst["kind"] == "under"
        assert under == expect_under

    paths = build_report([str(tmp_path)], str(tmp_path / "report"), charts=True)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())["replay/gpt2"]
    assert summary["OracleEngine"]["all"]["passed_all"]["value"] == 1.0
    assert summary["AcceptAllEngine"]["all"]["instances"]["under"] == n_invalid
    md = (tmp_path / "report" / "report.md").read_text()
    assert "OracleEngine" in md and "AcceptAllEngine" in md
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_timeout_crash_and_resume(tmp_path: Path) -> None:
    """Through the CLI (compile mode, a --data file): a hang becomes a timeout, an abort a crash,
    the run goes on, and a rerun only does the rows not yet recorded."""
    good = _rows(2, seed=5)
    bad = [Item("x/hang", "x", {"const": "hang"}, ()), Item("x/abort", "x", {"const": "abort"}, ())]
    data = tmp_path / "rows.jsonl"

    def write_rows(items) -> None:
        data.write_text("".join(json.dumps({"id": i.id, "subset": i.subset, "schema": i.schema,
                                            "tests": list(i.tests)}) + "\n" for i in items))

    def cli() -> int:
        return main(["compile", "--engine", f"{SELF}:FlakyEngine", "--tokenizer", "gpt2",
                     "--data", str(data), "--out", str(out), "--compile-timeout", "2",
                     "--no-progress", "--memory-mb", "0"])

    out = tmp_path / "compile-flaky.jsonl"
    write_rows([bad[0], good[0], bad[1]])
    assert cli() == 0
    records = _records(out)
    assert {k: r["status"] for k, r in records.items()} == {
        "x/hang": "timeout", good[0].id: "ok", "x/abort": "crash"}
    assert records["x/hang"]["phase"] == "compile" and "exceeded" in records["x/hang"]["error"]
    assert "SIGABRT" in records["x/abort"]["error"]
    assert records[good[0].id]["gct_s"] >= 0
    # resume: a torn last line is repaired first, then only the new row runs
    with open(out, "a") as fh:
        fh.write('{"id": "torn')
    write_rows(bad + good)
    assert cli() == 0
    assert sorted(_records(out)) == sorted(i.id for i in bad + good)
    assert len(list(iter_records(out))) == 4


def test_workers_past_the_memory_share_retire_without_losing_records(tmp_path: Path) -> None:
    """A worker whose address space passes ``retire_at`` of the cap finishes its record, exits,
    and the next item runs in a fresh worker (no crash record)."""
    pids = tmp_path / "pids.txt"
    items = [Item(f"x/{i}", "x", {"description": str(pids)}, ()) for i in range(3)]
    options = RunOptions(mode="compile", engine=f"{SELF}:PidEngine", tokenizer="gpt2",
                         memory_mb=16384, retire_at=0.0)
    out = tmp_path / "compile-pid.jsonl"
    run_engine(items, options, out, progress=False)
    assert {k: r["status"] for k, r in _records(out).items()} == {i.id: "ok" for i in items}
    assert len(set(pids.read_text().split())) == 3  # one worker per item


def test_our_engine_replay_gpt2(tmp_path: Path) -> None:
    """grammar-decode on 5 rows: no crash; on compiled schemas, verdicts equal jsonschema's."""
    items = _rows()
    out = tmp_path / "replay-grammar_decode-gpt2.jsonl"
    counts = _run("grammar_decode", items, out, compile_timeout=30.0)
    records = _records(out)
    assert not {"crash", "error", "timeout"} & set(counts), [
        (r["id"], r.get("error")) for r in records.values() if r["status"] != "ok"]
    for item in items:
        record = records[item.id]
        if record["status"] == "compile_error":
            assert record["error_keywords"], record
            continue
        for inst, test in zip(record["instances"], item.tests):
            assert inst["accepted"] == _truth(item.schema, test["data"]), (item.id, inst)
            assert inst["mask_accept_mismatch"] == 0
    build_report([str(out)], str(tmp_path / "report"), charts=False)
    assert "grammar_decode" in (tmp_path / "report" / "report.md").read_text()


def test_engine_option_repeats_and_rejects_unknown_names(capsys) -> None:
    """`--engine a --engine b` names both engines; an unknown one is a one-line error."""
    from jsonschema_bench.cli import main

    code = main(["replay", "--engine", "grammar_decode", "--engine", "nonexistent",
                 "--limit", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nonexistent" in err and "Traceback" not in err


def test_lenient_engine_compiles_what_strict_refuses() -> None:
    """`grammar_decode_lenient` approximates a keyword strict mode refuses (uniqueItems over
    arbitrary strings); its config records the mode so reports tell the two apart."""
    from grammar_decode.vocab.packaged import load_tokenizer
    from jsonschema_bench.engines import make_engine

    schema = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    tok = load_tokenizer("gpt2")
    eos = frozenset({tok.eos_token_id})
    strict = make_engine("grammar_decode", tok, eos)
    lenient = make_engine("grammar_decode_lenient", tok, eos)
    with pytest.raises(CompileFailure) as refused:
        strict.compile(schema)
    assert "uniqueItems" in refused.value.keywords
    compiled = lenient.compile(schema)
    m = lenient.matcher(compiled)
    for token in tok.encode('["a","a"]'):
        m.fill()
        assert m.allowed(token) and m.accept(token)
    assert (strict.config(), lenient.config()) == ({"strict": True}, {"strict": False})
