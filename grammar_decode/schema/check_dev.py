"""Check schema grammars against the `jsonschema` validator on JSONSchemaBench rows.

For every schema: compile strictly (declared coverage) and leniently; for every test instance,
the grammar must accept `canonical_json(instance)` (Lark's Earley parser as the acceptor) iff
`jsonschema` (right draft, formats checked) validates it. Labels in the data that disagree with
`jsonschema` are counted separately. Usage:

    python -m grammar_decode.schema.check_dev [--sample N] [--seed S] [--timeout SEC] [--data PATH]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from grammar_decode.errors import InvalidSchemaError, UnsupportedSchemaError

from .api import canonical_json, json_schema_to_grammar_with_report
from .drafts import detect_draft, make_validator

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jsonschemabench" / "dev.jsonl.gz"


class _Timeout(Exception):
    pass


@dataclass
class SubsetStats:
    schemas: int = 0
    strict_ok: int = 0          # strict compile succeeded (declared exact)
    invalid_schema: int = 0
    all_right: int = 0          # every instance judged like jsonschema
    instances: int = 0
    right: int = 0
    over: int = 0               # grammar accepts, jsonschema rejects
    under: int = 0              # grammar rejects, jsonschema accepts
    label_disagreements: int = 0
    crashes: int = 0
    timeouts: int = 0
    compile_ms: list[float] = field(default_factory=list)
    wrong_keywords: collections.Counter = field(default_factory=collections.Counter)
    crash_examples: list[str] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)  # wrong although declared exact

    def add(self, other: "SubsetStats") -> None:
        for name, value in other.__dict__.items():
            mine = getattr(self, name)
            if isinstance(value, int):
                setattr(self, name, mine + value)
            elif isinstance(value, collections.Counter):
                mine.update(value)
            else:
                mine.extend(value)


def load_rows(path: Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def sample_rows(rows: list[dict[str, Any]], n: int | None, seed: int) -> list[dict[str, Any]]:
    if n is None or n >= len(rows):
        return rows
    return random.Random(seed).sample(rows, n)


def lark_acceptor(text: str) -> Any:
    """Lark Earley parser for a schema grammar, used as an independent acceptor. Python's
    `re.match` is not longest-match (a number regex may stop at "1" in "1.5"), so number
    terminals get `(?![0-9.eE+-])` appended; in JSON a number is never followed by those."""
    from lark import Lark
    text = re.sub(r"^(N\d+: /.*)/$", r"\1(?![0-9.eE+\\-])/", text, flags=re.M)
    return Lark(text, parser="earley", lexer="dynamic")


def check_row(row: dict[str, Any], timeout: float) -> SubsetStats:
    """Stats of one row (one schema and its test instances)."""
    st = SubsetStats(schemas=1)
    schema = row["schema"]
    old = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(_Timeout()))
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            json_schema_to_grammar_with_report(schema, strict=True)
            st.strict_ok = 1
        except UnsupportedSchemaError:
            pass
        except InvalidSchemaError:
            st.invalid_schema = 1
            return st
        t0 = time.perf_counter()
        text, issues = json_schema_to_grammar_with_report(schema, strict=False)
        st.compile_ms.append((time.perf_counter() - t0) * 1000)
        parser = lark_acceptor(text)
        validator = make_validator(schema, detect_draft(schema))
        all_right = True
        for test in row["tests"]:
            truth = validator.is_valid(test["data"])
            st.label_disagreements += truth != test["valid"]
            try:
                parser.parse(canonical_json(test["data"], schema))
                accepted = True
            except Exception as exc:  # lark's UnexpectedInput family
                if isinstance(exc, _Timeout):
                    raise
                accepted = False
            st.instances += 1
            if accepted == truth:
                st.right += 1
                continue
            all_right = False
            st.over += accepted
            st.under += not accepted
            st.wrong_keywords.update({i.keyword for i in issues} or {"(declared exact)"})
            if not issues:
                st.wrong_examples.append(f"{row['id']}: {'over' if accepted else 'under'}: "
                                         f"{canonical_json(test['data'], schema)[:300]}")
        st.all_right = int(all_right)
    except _Timeout:
        st.timeouts = 1
    except Exception as exc:  # counted: must stay at 0
        st.crashes = 1
        st.crash_examples.append(f"{row['id']}: {type(exc).__name__}: {exc}"[:300])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return st


def run(rows: Iterable[dict[str, Any]], timeout: float = 20.0) -> dict[str, SubsetStats]:
    """Per-subset stats plus the "ALL" total."""
    out: dict[str, SubsetStats] = collections.defaultdict(SubsetStats)
    for row in rows:
        st = check_row(row, timeout)
        out[row["subset"]].add(st)
        out["ALL"].add(st)
    return dict(out)


def _pct(q: float, values: list[float]) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(stats: dict[str, SubsetStats]) -> str:
    head = (f"{'subset':<16}{'schemas':>8}{'strict%':>8}{'allok%':>8}{'inst':>7}{'right%':>8}"
            f"{'over':>6}{'under':>6}{'label≠':>7}{'invalid':>8}{'crash':>6}{'tmo':>5}"
            f"{'p50ms':>8}{'p90ms':>8}{'p99ms':>8}")
    lines = [head]
    for name in sorted(stats, key=lambda k: (k == "ALL", k)):
        s = stats[name]
        lines.append(
            f"{name:<16}{s.schemas:>8}{100 * s.strict_ok / max(s.schemas, 1):>8.1f}"
            f"{100 * s.all_right / max(s.schemas, 1):>8.1f}{s.instances:>7}"
            f"{100 * s.right / max(s.instances, 1):>8.1f}{s.over:>6}{s.under:>6}"
            f"{s.label_disagreements:>7}{s.invalid_schema:>8}{s.crashes:>6}{s.timeouts:>5}"
            f"{_pct(.5, s.compile_ms):>8.1f}{_pct(.9, s.compile_ms):>8.1f}{_pct(.99, s.compile_ms):>8.1f}")
    total = stats.get("ALL")
    if total:
        lines.append("schemas with wrong instances, by approximated keyword: "
                     + ", ".join(f"{k}={v}" for k, v in total.wrong_keywords.most_common(15)))
        lines += ["crash: " + c for c in total.crash_examples[:10]]
        lines += ["wrong: " + c for c in total.wrong_examples[:20]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per schema")
    args = ap.parse_args(argv)
    rows = sample_rows(load_rows(args.data), args.sample, args.seed)
    print(report(run(rows, args.timeout)))


if __name__ == "__main__":
    main()
