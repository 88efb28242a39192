"""Leaderboard tables built once and rendered both as Markdown and as HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(
            len(self.headers))) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                  for row in self.rows]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.rows)
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return (f"<h3>{html.escape(self.title)}</h3>{note}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")


def pct(share: dict | None) -> str:
    """``"83.1% [78.0, 88.2]"`` from a share with a CI; ``"-"`` when empty."""
    if not share or share.get("value") is None:
        return "-"
    text = f"{100 * share['value']:.1f}%"
    if share.get("ci"):
        lo, hi = share["ci"]
        text += f" [{100 * lo:.1f}, {100 * hi:.1f}]"
    return text


def num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _failures(m: dict) -> list[str]:
    st = m["status"]
    return [str(st.get("compile_error", 0)), str(st.get("timeout", 0)),
            str(st.get("crash", 0) + st.get("error", 0))]


FAIL_HEADERS = ["compile errors", "timeouts", "crashes/errors"]

#: mode -> (headers, row builder from the "all" metrics, per-subset headline metric)
OVERALL: dict[str, tuple[list[str], Callable[[dict], list[str]], Callable[[dict], str]]] = {
    "compile": (["schemas", "declared coverage [95% CI]", "GCT p50 ms", "GCT p90 ms"]
                + FAIL_HEADERS,
                lambda m: [str(m["declared"]["n"]), pct(m["declared"]), num(m["gct_ms"]["p50"]),
                           num(m["gct_ms"]["p90"])] + _failures(m),
                lambda m: pct(m["declared"])),
    "replay": (["schemas", "declared", "all instances right [95% CI]", "right (compiled)",
                "instances", "over-constrained", "under-constrained", "mask µs mean",
                "mask µs p50", "mask µs p99", "label disagreements", "GCT p50 ms"]
               + FAIL_HEADERS,
               lambda m: [str(m["declared"]["n"]), pct({**m["declared"], "ci": None}),
                          pct(m["passed_all"]), pct({**m["passed_all_compiled"], "ci": None}),
                          str(m["instances"]["scored"]), str(m["instances"]["over"]),
                          str(m["instances"]["under"]), num(m["mask_us"]["mean"], 0),
                          num(m["mask_us"]["p50"], 0), num(m["mask_us"]["p99"], 0),
                          str(m["instances"]["label_disagreements"]),
                          num(m["gct_ms"]["p50"])] + _failures(m),
               lambda m: pct(m["passed_all"])),
    "generate": (["schemas", "declared [95% CI]", "empirical [95% CI]", "compliance",
                  "GCT p50 ms", "TTFT p50 ms", "TPOT p50 ms"] + FAIL_HEADERS,
                 lambda m: [str(m["declared"]["n"]), pct(m["declared"]), pct(m["empirical"]),
                            pct({"value": m["compliance"]}), num(m["gct_ms"]["p50"]),
                            num(m["ttft_ms"]["p50"]), num(m["tpot_ms"]["p50"])] + _failures(m),
                 lambda m: pct(m["empirical"])),
    "testsuite": (["cases", "cases passed [95% CI]", "GCT p50 ms"] + FAIL_HEADERS,
                  lambda m: [str(m["passed"]["n"]), pct(m["passed"]), num(m["gct_ms"]["p50"])]
                  + _failures(m),
                  lambda m: pct(m["passed"])),
}
HEADLINE = {"compile": "declared coverage", "replay": "schemas with every instance judged "
            "right", "generate": "empirical coverage", "testsuite": "test cases passed"}


def tables_for(mode: str, tokenizer: str, summary: dict[str, Any], note: str = ""
               ) -> list[Table]:
    """Overall leaderboard, per-subset headline metric, compile errors by keyword."""
    headers, overall_row, headline = OVERALL[mode]
    engines = sorted(summary)
    tables = [Table(f"{mode} — {tokenizer}: leaderboard", ["engine"] + headers,
                    [[e] + overall_row(summary[e]["all"]) for e in engines], note)]
    subsets = sorted({s for e in engines for s in summary[e]["subsets"]})
    rows = []
    for s in subsets:
        metrics = [summary[e]["subsets"].get(s) for e in engines]
        n = max(sum(m["status"].values()) for m in metrics if m)
        rows.append([f"{s} ({n})"] + [headline(m) if m else "-" for m in metrics])
    label = "keyword file" if mode == "testsuite" else "subset"
    tables.append(Table(f"{mode} — {tokenizer}: {HEADLINE[mode]} per {label}",
                        [f"{label} (n)"] + engines, rows))
    keywords = sorted({k for e in engines for k in summary[e]["compile_errors"]},
                      key=lambda k: -sum(summary[e]["compile_errors"].get(k, 0) for e in engines))
    if keywords:
        tables.append(Table(
            f"{mode} — {tokenizer}: compile errors by keyword (schemas)", ["keyword"] + engines,
            [[k] + [str(summary[e]["compile_errors"].get(k, 0)) for e in engines]
             for k in keywords[:25]],
            "Peers' errors are attributed by finding keyword names in their messages."))
    return tables
