"""The frontier and the phase timings over HTTP on the real PostGIS: the stateless ``/allocate``
answer, a stored plan (through its job) and its map page, with ``tolerance: "balanced"``."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import AllocateOut
from tests.app.apihelp import plan_through_job, upload_lucknow

SOLVE_PHASES = ("adjacency", "model", "solve", "check")


def _adds_up(phases: dict[str, float]) -> bool:
    parts = math.fsum(v for k, v in phases.items() if k not in ("total", "limit"))
    return abs(parts - phases["total"]) <= 0.01


def test_allocate_balanced_returns_the_frontier_and_phases(
    client: TestClient, shared_data: Path
) -> None:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    body = {
        "wards": fc,
        "organisers": [
            {"organiser_id": f"CO-{k}", "name": f"CO {k}", "home_ward": ward}
            for k, ward in enumerate(("1", "8", "15"), start=1)
        ],
        "parameters": {"tolerance": "balanced", "time_limit": 20},
    }
    response = client.post("/allocate", json=body)
    assert response.status_code == 200, response.text
    out = AllocateOut.model_validate(response.json())
    assert out.check.passed
    assert out.frontier is not None
    assert out.frontier["chosen"] == out.frontier["balanced"]
    labels = [p["label"] for p in out.frontier["points"]]
    assert "tightest" in labels
    chosen = next(p for p in out.frontier["points"] if p["label"] == out.frontier["chosen"])
    assert out.tolerance_used == chosen["tolerance"]
    assert out.phases is not None
    for name in ("reading", *SOLVE_PHASES, "outputs", "total"):
        assert name in out.phases, name
    assert out.phases["limit"] == 20
    assert _adds_up(out.phases)


def test_allocate_without_frontier_has_phases_and_no_frontier(
    client: TestClient, shared_data: Path
) -> None:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    body = {
        "wards": fc,
        "organisers": [
            {"organiser_id": f"CO-{k}", "name": f"CO {k}", "home_ward": ward}
            for k, ward in enumerate(("1", "15"), start=1)
        ],
        "parameters": {"tolerance": 0.2, "time_limit": 10},
    }
    out = AllocateOut.model_validate(client.post("/allocate", json=body).json())
    assert out.frontier is None
    assert out.phases is not None
    assert out.phases["solve"] > 0


def test_stored_plan_with_frontier_and_map_panel(
    client: TestClient,
    session_factory: sessionmaker[Session],
    lucknow_files: dict[str, Path],
) -> None:
    uploaded = upload_lucknow(client, "lucknow", lucknow_files, exclude="0")
    assert uploaded.status_code == 201, uploaded.text
    with lucknow_files["organisers"].open("rb") as fh:
        imported = client.post(
            "/cities/lucknow/organisers", files={"file": ("organisers.csv", fh, "text/csv")}
        )
    assert imported.status_code == 201, imported.text
    _, plan = plan_through_job(
        client, session_factory, "lucknow", {"tolerance": 0.2, "frontier": True, "time_limit": 30}
    )
    assert plan.parameters["tolerance"] == 0.2
    assert plan.parameters["frontier"] is True
    assert plan.frontier is not None
    assert plan.frontier["chosen"] == "±20 %"
    assert plan.tolerance_used == 0.2
    assert plan.parameters["method"] == "auto"
    assert plan.method is not None  # the stored plan names the method asked for and the one used
    assert plan.method["asked"] == "auto"
    assert plan.method["used"] in ("set_partitioning", "cut_loop")
    points = plan.frontier["points"]
    objectives = [p["objective"] for p in points if p["objective"] is not None]
    assert all(a >= b - 1e-6 for a, b in itertools.pairwise(objectives))
    assert plan.phases is not None
    for name in ("reading", *SOLVE_PHASES, "storing", "total"):
        assert name in plan.phases, name
    assert _adds_up(plan.phases)
    page = client.get(f"/cities/lucknow/plans/{plan.id}/map")
    assert page.status_code == 200, page.text
    assert 'class="wp-frontier"' in page.text
    assert "±20 %" in page.text
