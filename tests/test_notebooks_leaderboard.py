"""Execute notebooks/leaderboard.ipynb: it renders the reports shipped in docs/leaderboard/.

The shipped report tables must be the ones ``jsonschema_bench report`` writes (each engine's
leaderboard row) and every chart they reference must exist and be displayed as an image.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "leaderboard.ipynb"
SHIPPED = [ROOT / "docs" / "leaderboard" / n for n in ("replay-full-dev", "generate-smollm2-36")]


def test_leaderboard_notebook_renders_the_shipped_reports(monkeypatch, tmp_path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JSONSCHEMA_BENCH_REPORT", str(tmp_path / "none"))  # no user report
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    markdown = "".join(o["data"].get("text/markdown", "") for o in outputs if "data" in o)
    images = [o for o in outputs if "data" in o and "image/png" in o["data"]]
    charts = []
    for folder in SHIPPED:
        text = (folder / "report.md").read_text(encoding="utf-8")
        charts += re.findall(r"^!\[[^\]]*\]\(([^)]+)\)", text, flags=re.M)
        assert all((folder / c).is_file() for c in re.findall(r"\(([^)]+\.png)\)", text))
    for engine in ("| grammar_decode |", "| llguidance |", "| xgrammar |"):
        assert engine in markdown
    assert len(images) == len(charts) > 0
