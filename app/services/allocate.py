"""Stateless allocation: wards and organisers in the request, the plan in the answer.

The wards go through the same reader as uploads (written as GeoJSON into a server-made temp dir, the
one file the sandboxed GDAL read needs), the organisers through the same CSV reader (from memory), so
validation is identical. Only an audit event is stored
(and, for a request answered by a job, the job with its answer).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import planning
from app.schemas import AllocateOut, AllocateRequest, CheckOut, FeatureCollection
from app.services import audit, solving
from app.services.layers import LayerOptions, Upload, read_upload
from gis.export import assignment_mapping
from gis.layer import WardLayer
from gis.organisers import CSV_COLUMNS, Organiser, read_organisers
from solver.deadline import Deadline
from solver.problem import Progress

LABEL = "wards.geojson"


def read_request(tmp: Path, body: AllocateRequest) -> tuple[WardLayer, list[Organiser]]:
    """The request's wards and organisers through the upload readers (``InputError`` if bad).

    The wards are written into ``tmp`` for the (sandboxed) GDAL read; the organisers are read from
    memory, by the same CSV reader as an uploaded file."""
    layer = read_upload(tmp, Upload(LABEL, wards_bytes(body)), None, LayerOptions())
    warnings: list[str] = []
    organisers = read_organisers(
        Path("organisers.csv"), layer.wards, warnings=warnings, data=organisers_csv(body)
    )
    layer.warnings.extend(warnings)
    return layer, organisers


def organisers_csv(body: AllocateRequest) -> bytes:
    """The request's organisers as the CSV an upload would carry."""
    text = io.StringIO()
    writer = csv.writer(text)
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
    return text.getvalue().encode("utf-8")


def wards_bytes(body: AllocateRequest) -> bytes:
    return json.dumps(body.wards.model_dump(mode="json", exclude_none=True)).encode()


def check_request(body: AllocateRequest) -> None:
    """Refuse a request whose wards or organisers cannot be read, before it is queued."""
    with tempfile.TemporaryDirectory(prefix="wardplan-api-") as tmp:
        read_request(Path(tmp), body)


def allocate(
    session: Session,
    body: AllocateRequest,
    config: solving.SolveConfig,
    *,
    actor: str = "api",
    on_progress: Callable[[Progress], None] | None = None,
) -> AllocateOut:
    """Solve the request's wards for its organisers; the answer as the API returns it. The time
    limit bounds the whole request (reading, solving, the areas); the answer's ``phases`` say
    where the time went."""
    deadline = Deadline(config.solve.time_limit)
    with deadline.phase("reading"), tempfile.TemporaryDirectory(prefix="wardplan-api-") as tmp:
        layer, organisers = read_request(Path(tmp), body)
    result = solving.run(
        layer, organisers, config, label=LABEL, on_progress=on_progress, deadline=deadline
    )
    areas = None
    with deadline.phase("outputs"):
        if result.solution.has_plan:
            _wards, frame = planning.plan_frames(result)
            areas = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True))
    audit.record(
        session,
        actor,
        "allocate.stateless",
        "allocation",
        hashlib.sha256(wards_bytes(body)).hexdigest()[:16],
        wards=len(layer),
        organisers=len(organisers),
        status=result.solution.status.value,
        parameters=config.as_dict(),
    )
    session.flush()
    return answer(result, areas).model_copy(update={"phases": deadline.report()})


def answer(result: planning.PlanResult, areas: dict[str, Any] | None) -> AllocateOut:
    sol = result.solution
    outcome = solving.outcome(result)
    return AllocateOut(
        status=sol.status.value,
        summary=sol.describe(),
        explanation=sol.explanation,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        tolerance_used=sol.tolerance,
        seconds=round(sol.seconds, 3),
        solver=sol.solver,
        check=CheckOut.model_validate(outcome["check"]),
        warnings=solving.all_warnings(result),
        assignment=assignment_mapping(result.problem, sol) if sol.has_plan else {},
        areas=None if areas is None else FeatureCollection.model_validate(areas),
        phases=outcome.get("phases"),
        frontier=outcome.get("frontier"),
        method=outcome.get("method"),
    )
