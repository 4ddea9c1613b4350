"""A small stored city for the download and OGC API tests: Chandigarh's 26 wards, some named in
Hindi, four COs with Hindi names, one plan (approved when asked)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.services import layers, organisers, plans, solving
from tests.app.apihelp import TEST_PLACE

#: Ward 1's name and CO-1's name in the stored city; they must come back unchanged.
WARD_NAME_HI = "सेक्टर १७ – चंडीगढ़"
ORGANISER_NAME_HI = "सुनीता देवी"
HOME_WARDS = ("1", "8", "15", "22")


@dataclass(frozen=True)
class SmallCity:
    code: str
    plan_id: int
    ward_names: dict[str, str | None]  # ward_id → name, as stored


def load_small_city(session: Session, shared_data: Path, code: str, *, approve: bool) -> SmallCity:
    """Store the city, its COs and a plan through the services (the caller's scope commits)."""
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    for feature in fc["features"]:
        ward = feature["properties"]["ward_id"]
        feature["properties"]["ward_name"] = WARD_NAME_HI if ward == "1" else f"Ward {ward}"
    layers.upload_layer(
        session,
        code,
        layers.Upload("wards.geojson", json.dumps(fc, ensure_ascii=False).encode()),
        place=TEST_PLACE,
    )
    rows = ["organiser_id,name,home_ward"] + [
        f"CO-{k},{ORGANISER_NAME_HI if k == 1 else f'CO {k}'},{ward}"
        for k, ward in enumerate(HOME_WARDS, start=1)
    ]
    organisers.import_organisers(
        session, code, layers.Upload("organisers.csv", "\n".join(rows).encode())
    )
    config = solving.solve_config(
        {"tolerance": 0.5, "time_limit": 20},
        default_time_limit=20,
        max_time_limit=20,
        solver="highs",
    )
    stored = plans.create_plan(session, code, config)
    assert stored.plan.status in ("optimal", "feasible"), stored.plan.report
    if approve:
        plans.approve_plan(session, code, stored.plan.id, actor="test")
    names = {f["properties"]["ward_id"]: f["properties"]["ward_name"] for f in fc["features"]}
    return SmallCity(code, stored.plan.id, names)
