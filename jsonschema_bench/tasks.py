"""The work done for one schema in each mode (run inside a worker process).

Every task reports its phase through ``phase(name, partial)`` so that the parent applies the
compile time limit, then the run time limit, and keeps the partial results (e.g. the grammar
compilation time) if the worker has to be killed.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from jsonschema_bench.context import Context
from jsonschema_bench.data import Item
from jsonschema_bench.engines import CompileFailure
from jsonschema_bench.truth import validator_for

Phase = Callable[[str, dict], None]


def _compile(ctx: Context, item: Item, phase: Phase) -> tuple[Any, dict]:
    """Compile with timing; returns (compiled object, record fields with the status)."""
    phase("compile", {})
    t0 = time.perf_counter()
    try:
        compiled = ctx.engine.compile(item.schema)
    except CompileFailure as exc:
        return None, {"status": "compile_error", "gct_s": time.perf_counter() - t0,
                      "error": str(exc)[:2000], "error_kind": exc.kind,
                      "error_keywords": exc.keywords}
    return compiled, {"status": "ok", "gct_s": time.perf_counter() - t0}


def compile_task(ctx: Context, item: Item, phase: Phase) -> dict:
    """Declared coverage and grammar compilation time."""
    return _compile(ctx, item, phase)[1]


def _timed_fill(m: Any, mask_us: list[int]) -> None:
    t0 = time.perf_counter()
    m.fill()
    mask_us.append(round((time.perf_counter() - t0) * 1e6))


def replay_tokens(ctx: Context, compiled: Any, token_ids: list[int]) -> dict:
    """Feed ``token_ids`` one by one, computing (and timing) the full mask before each token and
    once more at the end to ask whether an EOS token is allowed. ``mask_accept_mismatch``
    counts steps where the mask and ``accept`` disagree about a token (an engine bug)."""
    m = ctx.engine.matcher(compiled)
    mask_us: list[int] = []
    mismatches = 0
    for k, token in enumerate(token_ids):
        _timed_fill(m, mask_us)
        in_mask = m.allowed(token)
        ok = m.accept(token)
        mismatches += in_mask != ok
        if not ok:
            return {"accepted": False, "reject_at": k, "eos_ok": None,
                    "n_tokens": len(token_ids), "mask_us": mask_us,
                    "mask_accept_mismatch": mismatches}
    _timed_fill(m, mask_us)
    eos = [e for e in sorted(ctx.eos_ids) if m.allowed(e)]
    if eos:
        mismatches += not m.accept(eos[0])
    return {"accepted": bool(eos), "reject_at": None, "eos_ok": bool(eos),
            "n_tokens": len(token_ids), "mask_us": mask_us, "mask_accept_mismatch": mismatches}


def _tokenize(ctx: Context, text: str) -> tuple[list[int], bool]:
    """Token ids of ``text`` and whether their exact bytes spell it (when bytes are known)."""
    ids = list(ctx.tokenizer.encode(text, add_special_tokens=False))
    if ctx.token_bytes is None:
        return ids, True
    spelled = b"".join(ctx.token_bytes[i] or b"\x00" for i in ids)
    return ids, spelled == text.encode("utf-8")


def judge_instances(ctx: Context, item: Item, compiled: Any) -> list[dict]:
    """Replay every test instance; truth = suite label, or jsonschema (labels compared)."""
    check = None if item.labels_are_truth else validator_for(item.schema)
    results = []
    for k, test in enumerate(item.tests):
        label = bool(test["valid"])
        truth = label if check is None else check(test["data"])
        text, fallback = ctx.canonical(test["data"], item.schema)
        ids, spelled = _tokenize(ctx, text)
        res: dict[str, Any] = {"i": k, "label": label, "truth": truth,
                               "label_disagrees": truth is not None and truth != label}
        if fallback:
            res["canonical_fallback"] = fallback[:500]
        if not spelled:
            res.update(status="tokenization_mismatch", correct=None, kind=None)
            results.append(res)
            continue
        res.update(replay_tokens(ctx, compiled, ids))
        expected = label if truth is None else truth
        res["status"] = "ok" if truth is not None else "truth_unavailable"
        res["correct"] = res["accepted"] == expected
        res["kind"] = "ok" if res["correct"] else ("over" if expected else "under")
        results.append(res)
    return results


def replay_task(ctx: Context, item: Item, phase: Phase) -> dict:
    """MaskBench-style replay of the canonical text of every test instance."""
    compiled, record = _compile(ctx, item, phase)
    if record["status"] != "ok":
        return record
    phase("run", {"gct_s": record["gct_s"]})
    record["instances"] = judge_instances(ctx, item, compiled)
    scored = [r for r in record["instances"] if r["correct"] is not None]
    record["passed_all"] = bool(scored) and all(r["correct"] for r in scored)
    return record


def testsuite_task(ctx: Context, item: Item, phase: Phase) -> dict:
    """A test-suite case passes iff every instance is judged right; a compile error passes only
    a case whose instances are all invalid."""
    compiled, record = _compile(ctx, item, phase)
    record["keyword"] = item.subset
    if record["status"] != "ok":
        record["passed"] = all(not t["valid"] for t in item.tests)
        return record
    phase("run", {"gct_s": record["gct_s"]})
    record["instances"] = judge_instances(ctx, item, compiled)
    record["passed"] = all(r["correct"] for r in record["instances"])
    return record


SYSTEM_PROMPT = ("You are a helpful assistant that answers only with JSON. Produce one JSON "
                 "value that is valid against the JSON Schema given by the user, with no "
                 "other text.")


def prompt_ids(tokenizer: Any, schema: Any) -> list[int]:
    """The JSONSchemaBench set-up: a system message asking for JSON matching the schema and
    the schema itself as the user message, in the model's chat template."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(schema, ensure_ascii=False)}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def greedy_generate(ctx: Context, compiled: Any, prompt: list[int]) -> dict:
    """Greedy decoding with a KV cache; the engine's full mask is applied at every step.
    One loop for every engine, so TTFT/TPOT differ only by the engine's work."""
    import torch

    model, m = ctx.model, ctx.engine.matcher(compiled)
    generated: list[int] = []
    stop = "max_new_tokens"
    t_start = time.perf_counter()
    first_token_s = None
    mask_us: list[int] = []
    past = None
    inputs = torch.tensor([prompt])
    with torch.inference_mode():
        for _ in range(ctx.options.max_new_tokens):
            out = model(input_ids=inputs, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1].float()
            t0 = time.perf_counter()
            m.fill()
            mask_us.append(round((time.perf_counter() - t0) * 1e6))
            allowed = torch.from_numpy(m.allowed_array(logits.shape[-1]))
            if not bool(allowed.any()):
                stop = "empty_mask"
                break
            token = int(torch.where(allowed, logits, float("-inf")).argmax())
            if first_token_s is None:
                first_token_s = time.perf_counter() - t_start
            if not m.accept(token):
                stop = "engine_rejected_own_mask"
                break
            if token in ctx.eos_ids:
                stop = "eos"
                break
            generated.append(token)
            inputs = torch.tensor([[token]])
    total = time.perf_counter() - t_start
    n_out = len(generated) + (stop == "eos")
    return {"output": ctx.tokenizer.decode(generated, skip_special_tokens=False),
            "stop": stop, "n_tokens": n_out, "first_token_s": first_token_s,
            "tpot_s": (total - first_token_s) / (n_out - 1) if n_out > 1 and first_token_s
            is not None else None, "gen_s": total, "mask_us": mask_us}


def generate_task(ctx: Context, item: Item, phase: Phase) -> dict:
    """Declared coverage (compiles), empirical coverage (output parses and validates), GCT,
    TTFT (= GCT + time to the first generated token) and TPOT."""
    compiled, record = _compile(ctx, item, phase)
    if record["status"] != "ok":
        return record
    phase("run", {"gct_s": record["gct_s"]})
    record.update(greedy_generate(ctx, compiled, prompt_ids(ctx.tokenizer, item.schema)))
    if record["first_token_s"] is not None:  # as a user sees it: compile, prefill, first mask
        record["ttft_s"] = record["gct_s"] + record["first_token_s"]
    try:
        value = json.loads(record["output"])
    except json.JSONDecodeError as exc:
        record.update(parsed=False, valid=False, invalid_reason=f"JSON parse error: {exc}")
        return record
    truth = validator_for(item.schema)(value)
    record.update(parsed=True, valid=bool(truth), truth_available=truth is not None)
    if not truth:
        record["invalid_reason"] = ("validator could not decide" if truth is None
                                    else "fails jsonschema validation")
    return record


TASKS: dict[str, Callable[[Context, Item, Phase], dict]] = {
    "compile": compile_task, "replay": replay_task, "generate": generate_task,
    "testsuite": testsuite_task}
