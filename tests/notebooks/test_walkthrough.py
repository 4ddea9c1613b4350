"""The walkthrough notebook runs from top to bottom on the real Lucknow data, so it never rots.

It is executed in a fresh kernel (nbclient) from the ``notebooks`` folder, as a reader would run
it; the test checks that no cell failed and that the figures the text talks about are there.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from app.core.options import LayerOptions
from app.pipeline.planning import LayerRequest, estimate_requirement, load_layer
from solver.poverty import EstimateParams

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "lucknow_walkthrough.ipynb"

pytestmark = pytest.mark.slow


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
            parts.append(output["data"].get("text/html", ""))
    return "".join(parts)


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_walkthrough_runs_and_shows_the_requirement_map_and_sweeps(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDPLAN_DATA", str(shared_data))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the cell when one fails
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    text = "\n".join(_text(c) for c in code)

    lucknow = shared_data / "lucknow"
    layer = load_layer(
        LayerRequest(
            wards=lucknow / "raw" / "Lucknow_ward_boundary-SHP.zip",
            options=LayerOptions(exclude_ids=("0",)),
            population_table=lucknow / "census2011_wards.csv",
        )
    )
    assert "110 wards" in text
    for rate in (0.25, 0.275, 0.30):
        req = estimate_requirement(layer, EstimateParams(rate=rate), organisers_in_post=20)
        assert f"{req.poor_households:,.0f}" in text
        assert f"COs required: {req.organisers_required}" in text
    assert "shortfall with 20 in post" in text  # the poverty-rate table
    assert "check passed: True" in text
    assert "leaflet" in text.lower()  # the folium map was drawn
    for label in ("±15 %", "±20 %", "auto"):
        assert label in text
    assert "max deviation %" in text
