"""``report`` mode: summary.json, report.md, report.html and PNG charts from result files."""

from __future__ import annotations

import html
import json
from pathlib import Path

from jsonschema_bench.report.load import common_rows, load_groups
from jsonschema_bench.report.stats import summarize
from jsonschema_bench.report.tables import tables_for

MODE_ORDER = ("compile", "replay", "generate", "testsuite")
NOTES = {
    "replay": "Every engine is fed the same text: grammar-decode's canonical_json of each "
              "instance (properties in schema order, compact), tokenized once with the "
              "tokenizer shown; truth = jsonschema validator with format checks. "
              "Over-constrained = a valid instance rejected; under-constrained = an invalid "
              "instance accepted. A schema that fails to compile counts as not right.",
    "compile": "Declared coverage = the engine compiles the schema (ours in strict mode: "
               "every keyword enforced exactly). GCT = grammar compilation time.",
    "generate": "Greedy, one sample, same decoding loop for every engine; empirical = output "
                "parses and validates (format checks on); compliance = empirical / declared.",
    "testsuite": "A case passes when every instance is judged right; a compile error passes "
                 "only a case whose instances are all invalid.",
}


def build_report(paths: list[str], report_dir: str | None = None, *, n_boot: int = 100,
                 seed: int = 0, charts: bool = True) -> list[Path]:
    """Write the leaderboard; returns the files written."""
    groups = load_groups(paths)
    if not groups:
        raise ValueError(f"no result records found in {paths}")
    first = Path(paths[0])
    out = Path(report_dir) if report_dir else (first if first.is_dir() else first.parent
                                               ) / "report"
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary_all: dict = {}
    md = ["# JSONSchemaBench leaderboard", ""]
    body: list[str] = []
    keys = sorted(groups, key=lambda k: (MODE_ORDER.index(k[0]) if k[0] in MODE_ORDER else 9,
                                         k[1]))
    for mode, tokenizer in keys:
        by_engine, dropped = common_rows(groups[(mode, tokenizer)])
        note = NOTES.get(mode, "")
        if dropped:
            note += (f" Restricted to the {len(next(iter(by_engine.values())))} ids every "
                     f"engine has ({dropped} records of other ids left out).")
        summary = summarize(mode, by_engine, n_boot, seed)
        summary_all[f"{mode}/{tokenizer}"] = summary
        md.append(f"## {mode} ({tokenizer})\n")
        body.append(f"<h2>{html.escape(mode)} ({html.escape(tokenizer)})</h2>")
        for table in tables_for(mode, tokenizer, summary, note):
            md.append(table.markdown())
            body.append(table.html())
        if charts:
            from jsonschema_bench.report.charts import coverage_chart, latency_chart

            for chart in (coverage_chart(mode, tokenizer, summary,
                                         out / f"{mode}-{tokenizer}-coverage.png"),
                          latency_chart(mode, tokenizer, by_engine,
                                        out / f"{mode}-{tokenizer}-latency.png")):
                written.append(chart)
                md.append(f"![{chart.stem}]({chart.name})\n")
                body.append(f'<p><img src="{html.escape(chart.name)}" alt="{chart.stem}"></p>')
    (out / "summary.json").write_text(json.dumps(summary_all, indent=1), encoding="utf-8")
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}")
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>JSONSchemaBench leaderboard"
        f"</title><style>{style}</style></head><body><h1>JSONSchemaBench leaderboard</h1>"
        + "".join(body) + "</body></html>", encoding="utf-8")
    return [out / "report.md", out / "report.html", out / "summary.json"] + written
