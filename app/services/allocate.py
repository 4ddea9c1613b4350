"""Stateless allocation: wards and organisers in the request, the plan in the answer.

The service takes plain data (:class:`Allocation`, built by the HTTP route from its body, or by a job
from its stored payload) and answers plain data (:class:`AllocationAnswer`); HTTP schemas stay in
``app.api``. The wards go through the same reader as uploads, from memory (the sandboxed GDAL read
writes their bytes in its own private folder, the one file it needs), the organisers through the
same CSV reader (from memory), so validation is identical. Only an audit event is stored (and, for
a request answered by a job, the job with its answer).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.core.options import LayerOptions
from app.pipeline import planning
from app.services import audit, solving
from gis.export import assignment_mapping
from gis.layer import FileBytes, WardLayer
from gis.organisers import CSV_COLUMNS, Organiser, read_organisers
from solver.deadline import Deadline
from solver.problem import Progress

LABEL = "wards.geojson"


@dataclass(frozen=True, kw_only=True)
class OrganiserHome:
    """A CO of the request: ``lat`` + ``lon`` (WGS 84) or ``home_ward``."""

    organiser_id: str
    name: str
    lat: float | None = None
    lon: float | None = None
    home_ward: str | None = None


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """One stateless allocation as asked: the wards (a GeoJSON FeatureCollection), the organisers
    and the plan parameters (JSON, as asked; resolved by ``app.services.solving``)."""

    wards: Mapping[str, Any]
    organisers: tuple[OrganiserHome, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def wards_bytes(self) -> bytes:
        """The wards as the GeoJSON file an upload would carry (kept in memory)."""
        return json.dumps(self.wards).encode()

    def organisers_csv(self) -> bytes:
        """The organisers as the CSV an upload would carry."""
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(CSV_COLUMNS)
        for o in self.organisers:
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

    def payload(self) -> dict[str, Any]:
        """What a job stores to run it later (the request body as it came, without nulls)."""
        return {
            "wards": dict(self.wards),
            "organisers": [
                {k: v for k, v in asdict(o).items() if v is not None} for o in self.organisers
            ],
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Allocation:
        """The allocation a job stored with :meth:`payload`."""
        return cls(
            wards=payload["wards"],
            organisers=tuple(OrganiserHome(**o) for o in payload["organisers"]),
            parameters=payload.get("parameters", {}),
        )


@dataclass(frozen=True, kw_only=True)
class AllocationAnswer:
    """What a stateless allocation answers (the route's ``AllocateOut``, a job's ``result``)."""

    status: str
    summary: str
    explanation: str
    objective: float | None
    bound: float | None
    gap: float | None
    tolerance_used: float | None
    seconds: float
    solver: str
    #: ``passed`` and ``violations`` of the independent check.
    check: dict[str, Any]
    warnings: list[str]
    assignment: dict[str, str]
    #: The CO areas as a GeoJSON FeatureCollection (WGS 84); None without a plan.
    areas: dict[str, Any] | None
    phases: dict[str, float] | None = None
    frontier: dict[str, Any] | None = None
    #: The solve method asked for and the one used (``{"asked": …, "used": …}``).
    method: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def read_request(request: Allocation) -> tuple[WardLayer, list[Organiser]]:
    """The request's wards and organisers through the upload readers (``InputError`` if bad), from
    memory: nothing is written here (the sandboxed GDAL read stages the wards itself)."""
    layer = planning.load_layer(
        planning.LayerRequest(FileBytes(LABEL, request.wards_bytes()), LayerOptions())
    )
    warnings: list[str] = []
    organisers = read_organisers(
        Path("organisers.csv"), layer.wards, warnings=warnings, data=request.organisers_csv()
    )
    layer.warnings.extend(warnings)
    return layer, organisers


def check_request(request: Allocation) -> None:
    """Refuse a request whose wards or organisers cannot be read, before it is queued."""
    read_request(request)


def allocate(
    session: Session,
    request: Allocation,
    config: solving.SolveConfig,
    *,
    actor: str = "api",
    on_progress: Callable[[Progress], None] | None = None,
) -> AllocationAnswer:
    """Solve the request's wards for its organisers. The time limit bounds the whole request
    (reading, solving, the areas); the answer's ``phases`` say where the time went."""
    deadline = Deadline(config.solve.time_limit)
    with deadline.phase("reading"):
        layer, organisers = read_request(request)
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
        hashlib.sha256(request.wards_bytes()).hexdigest()[:16],
        wards=len(layer),
        organisers=len(organisers),
        status=result.solution.status.value,
        parameters=config.as_dict(),
    )
    session.flush()
    return answer(result, areas, deadline.report())


def answer(
    result: planning.PlanResult, areas: dict[str, Any] | None, phases: dict[str, float] | None
) -> AllocationAnswer:
    sol = result.solution
    outcome = solving.outcome(result)
    return AllocationAnswer(
        status=sol.status.value,
        summary=sol.describe(),
        explanation=sol.explanation,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        tolerance_used=sol.tolerance,
        seconds=round(sol.seconds, 3),
        solver=sol.solver,
        check=dict(outcome["check"]),
        warnings=solving.all_warnings(result),
        assignment=assignment_mapping(result.problem, sol) if sol.has_plan else {},
        areas=areas,
        phases=phases,
        frontier=outcome.get("frontier"),
        method=outcome.get("method"),
    )
