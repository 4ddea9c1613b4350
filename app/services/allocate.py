"""Stateless allocation: wards and organisers in the request, the plan in the answer.

The wards go through the same reader as uploads (written as GeoJSON into a server-made temp dir),
the organisers through the same CSV reader, so validation is identical. Only an audit event is stored.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import planning
from app.schemas import AllocateRequest
from app.services import audit, solving
from app.services.layers import LayerOptions, Upload, read_upload
from gis.organisers import CSV_COLUMNS, read_organisers

LABEL = "wards.geojson"


def allocate(
    session: Session, body: AllocateRequest, config: solving.SolveConfig, *, actor: str = "api"
) -> tuple[planning.PlanResult, dict[str, Any] | None]:
    """Solve the request's wards for its organisers; returns the result and its areas GeoJSON."""
    wards_bytes = json.dumps(body.wards.model_dump(mode="json", exclude_none=True)).encode()
    with tempfile.TemporaryDirectory(prefix="wardplan-api-") as tmp:
        layer = read_upload(Path(tmp), Upload(LABEL, wards_bytes), None, LayerOptions())
        csv_path = Path(tmp) / "organisers.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for o in body.organisers:
                writer.writerow(
                    [
                        o.organiser_id,
                        o.name,
                        "" if o.lat is None else repr(o.lat),
                        "" if o.lon is None else repr(o.lon),
                        o.home_ward or "",
                    ]
                )
        warnings: list[str] = []
        organisers = read_organisers(csv_path, layer.wards, warnings=warnings)
    layer.warnings.extend(warnings)
    result = solving.run(layer, organisers, config, label=LABEL)
    areas = None
    if result.solution.has_plan:
        _wards, frame = planning.plan_frames(result)
        areas = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True))
    audit.record(
        session,
        actor,
        "allocate.stateless",
        "allocation",
        hashlib.sha256(wards_bytes).hexdigest()[:16],
        wards=len(layer),
        organisers=len(organisers),
        status=result.solution.status.value,
        parameters=config.as_dict(),
    )
    session.flush()
    return result, areas
