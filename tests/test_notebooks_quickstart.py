"""Execute notebooks/quickstart.ipynb (embedded SmolLM2) and check its outputs independently."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _schema_literal(source: str) -> dict:
    """The ``schema = {...}`` literal assigned in a cell."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "schema":
            return ast.literal_eval(node.value)
    raise AssertionError("no schema literal in the cell")


@pytest.mark.slow
def test_quickstart_notebook_runs_and_outputs_are_schema_valid(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pydantic = pytest.importorskip("pydantic")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]

    city_cell = next(c for c in code if "class City" in c.source)
    city = ast.literal_eval(_stdout(city_cell).strip())
    namespace = {name: getattr(pydantic, name) for name in ("BaseModel", "ConfigDict", "Field")}
    exec(city_cell.source.split("city = ")[0], namespace)  # only the class definition
    namespace["City"].model_validate(city)

    schema_cell = next(c for c in code if "schema = {" in c.source)
    schema = _schema_literal(schema_cell.source)
    jsonschema.Draft202012Validator(schema).validate(json.loads(_stdout(schema_cell)))

    stream_cell = next(c for c in code if "stream_json" in c.source and "chunks" in c.source)
    chunks = ast.literal_eval(_stdout(stream_cell).strip())
    assert len(chunks) > 1
    jsonschema.Draft202012Validator(schema).validate(json.loads("".join(chunks)))
