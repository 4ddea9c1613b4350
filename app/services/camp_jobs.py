"""Registration-camp requests as jobs: checked and queued at once, solved by a worker, stored as
a versioned camp plan (``camp_plan``, ``camp_cluster``, ``camp_ward``).

A camp request is a ``solve_job`` of kind ``camps``: the queue, the claim, the watchdog, the
cancel flag and the "only one attempt stores an answer" rule are the plan jobs' own
(:mod:`app.services.jobs`). Everything a solve would refuse at once (an unknown city, no layer,
bad dates, unreadable venues, a window too short for the expected registrants) is refused here,
before anything is stored. The request keeps the venues as read, so the job is independent of
later uploads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.core.settings import Settings
from app.db import queue
from app.db.models import City, SolveJob, WardLayer
from app.pipeline import camps as camp_run
from app.pipeline.planning import LayerRequest
from app.services import audit, camp_store, camp_venues
from app.services.cities import get_city, require_current_layer
from app.services.frames import stored_layer
from app.services.layers import Upload
from gis.adjacency import build_adjacency
from gis.camp_files import CampHours
from gis.camps import Venue
from gis.errors import InputError, Issue
from gis.layer import WardLayer as GisWardLayer
from solver.camps import Campaign, CampParams, precheck
from solver.problem import Progress

#: The request's field names, as the API form spells them (named in refusals).
BASES = camp_run.BASES


@dataclass(frozen=True)
class CampOrder:
    """What a camp request asks for (the API's form fields)."""

    start: date
    end: date
    teams: int = 2
    per_camp_per_day: float = 300.0
    no_camp_weekdays: tuple[int, ...] = (6,)
    holidays: tuple[date, ...] = ()
    max_camp_days: int = 3
    camps: int | None = None
    registrant_share: float = 0.1
    registrant_basis: str = "poor-households"
    hours: str = "10:00-17:00"
    time_limit: float | None = None
    replaces: int | None = None
    registrants_column: str | None = None


def _refuse(field: str, value: object, message: str, code: str = "invalid-camp-request") -> None:
    raise InputError(
        f"camp request refused: {message}",
        [Issue(code, message, field=field, value=str(value))],
        code=code,
    )


def campaign_of(request: dict[str, Any]) -> Campaign:
    c = request["campaign"]
    return Campaign(
        start=date.fromisoformat(c["start"]),
        end=date.fromisoformat(c["end"]),
        teams=int(c["teams"]),
        per_camp_per_day=float(c["per_camp_per_day"]),
        no_camp_weekdays=frozenset(int(d) for d in c["no_camp_weekdays"]),
        holidays=frozenset(date.fromisoformat(d) for d in c["holidays"]),
        max_camp_days=int(c["max_camp_days"]),
    )


def camp_request(request: dict[str, Any], time_limit: float, solver: str) -> camp_run.CampRequest:
    """The CLI's request object for a stored job (its layer is read from the database)."""
    r = request["registrants"]
    return camp_run.CampRequest(
        layer=LayerRequest(wards=Path(str(request["layer_label"]))),
        venues=Path(str(request["venue_source"])),
        campaign=campaign_of(request),
        share=float(r["share"]),
        basis=str(r["basis"]),
        by_ward=None
        if r.get("by_ward") is None
        else {str(k): float(v) for k, v in r["by_ward"].items()},
        params=CampParams(camps=request["camps"], time_limit=time_limit, seed=0),
        hours=CampHours.parse(str(request["hours"])),
        solver=solver,
    )


def _checked_request(order: CampOrder, settings: Settings) -> tuple[dict[str, Any], float]:
    """The order as the job's stored request, and its time limit; InputError naming the field."""
    limit = settings.solver.time_limit
    time_limit = limit if order.time_limit is None else order.time_limit
    if not (math.isfinite(time_limit) and 0 < time_limit <= limit):
        _refuse("time_limit", f"{time_limit:g}", f"time_limit must be > 0 and at most {limit:g} s")
    if order.registrant_basis not in BASES:
        _refuse("registrant_basis", order.registrant_basis, f"choose {' or '.join(BASES)}")
    if not (math.isfinite(order.registrant_share) and 0 < order.registrant_share <= 1):
        _refuse("registrant_share", order.registrant_share, "must be a fraction in (0, 1]")
    try:
        CampHours.parse(order.hours)
    except ValueError as exc:
        _refuse("hours", order.hours, str(exc))
    request: dict[str, Any] = {
        "campaign": {
            "start": order.start.isoformat(),
            "end": order.end.isoformat(),
            "teams": order.teams,
            "per_camp_per_day": order.per_camp_per_day,
            "no_camp_weekdays": sorted(set(order.no_camp_weekdays)),
            "holidays": sorted({d.isoformat() for d in order.holidays}),
            "max_camp_days": order.max_camp_days,
        },
        "registrants": {"share": order.registrant_share, "basis": order.registrant_basis},
        "camps": order.camps,
        "hours": order.hours,
        "time_limit": time_limit,
        "replaces": order.replaces,
    }
    try:
        campaign_of(request)
        CampParams(camps=order.camps, time_limit=time_limit)
    except ValueError as exc:
        field = "end" if "ends" in str(exc) else "camps" if "camps" in str(exc) else "campaign"
        _refuse(field, _value_of(order, field), str(exc))
    return request, time_limit


def _value_of(order: CampOrder, field: str) -> object:
    return getattr(order, field, f"{order.start}–{order.end}, {order.teams} team(s)")


def _check_window(
    layer: GisWardLayer, venues: Sequence[Venue], request: dict[str, Any], settings: Settings
) -> None:
    """Refuse, before queuing, a request no camp plan can meet (a window too short, too few
    venues, …), with what would be needed."""
    req = camp_request(request, settings.solver.time_limit, settings.solver.name)
    adjacency = build_adjacency(layer.wards, snap_metres=req.snap_metres)
    problem = camp_run.build_camp_problem(layer, adjacency, venues, req)
    reason = precheck(problem, req.campaign, req.params.camps)
    if reason:
        c = request["campaign"]
        _refuse("end", f"{c['start']}–{c['end']}, {c['teams']} team(s)", reason, "camps-infeasible")


def _replaced(session: Session, city: City, replaces: int | None) -> None:
    if replaces is None:
        return
    found = camp_store.find_plan(session, city.id, replaces)
    if found is None:
        _refuse("replaces", replaces, f"{city.code!r} has no camp plan {replaces}")


def submit(
    session: Session,
    city_code: str,
    order: CampOrder,
    venues: Upload | None,
    settings: Settings,
    *,
    actor: str,
    ward_table: Upload | None = None,
) -> SolveJob:
    """Check a camp request, store it as a job and queue it, all in ``session``."""
    from app.services.jobs import fair_share  # jobs runs camp jobs: a cycle

    request, time_limit = _checked_request(order, settings)
    city = get_city(session, city_code)
    fair_share(session, settings, actor)
    layer_id = require_current_layer(city)
    _replaced(session, city, order.replaces)
    layer_row = session.get_one(WardLayer, layer_id)
    layer = stored_layer(session, layer_row)
    notes: list[str] = []
    found, source = camp_venues.venues_for(session, city, layer, venues, notes)
    if ward_table is not None:
        table = camp_venues.ward_registrants(layer, ward_table, order.registrants_column)
        request["registrants"] = {
            "basis": "ward-table",
            "share": 1.0,
            "table": ward_table.filename,
            "column": table.column,
            "by_ward": table.by_ward,
        }
        notes += table.notes
    request |= {
        "venues": [camp_venues.venue_json(v) for v in found],
        "venue_source": source,
        "layer_label": f"{city.code} layer v{layer_row.version}",
        "notes": notes,
    }
    _check_window(layer, found, request, settings)
    job = SolveJob(
        kind="camps",
        city_id=city.id,
        layer_id=layer_id,
        request=request,
        time_limit=time_limit,
        solver=settings.solver.name,
        created_by=actor,
    )
    session.add(job)
    session.flush()
    job.queue_job_id = queue.defer_solve(session, job.id)
    audit.record(session, actor, "camps.request", "solve_job", job.id, city=city.code)
    session.flush()
    return job


def run(
    session: Session, job: SolveJob, on_progress: Callable[[Progress], None] | None = None
) -> dict[str, Any]:
    """Solve a claimed camp job and store its camp plan; the job's answer (``result``)."""
    assert job.city_id is not None
    assert job.layer_id is not None
    city = session.get_one(City, job.city_id)
    layer_row = session.get_one(WardLayer, job.layer_id)
    layer = stored_layer(session, layer_row)
    req = camp_request(job.request, job.time_limit, job.solver)
    venues = [camp_venues.venue_of(v) for v in job.request["venues"]]
    notes = [*layer.warnings, *(str(n) for n in job.request.get("notes", []))]
    if on_progress is not None:
        on_progress(Progress(0.0, None, None, "camps", "choosing clusters, venues and dates"))
    result = camp_run.solve_camp_layer(req, layer, venues, notes)
    plan = camp_store.store(session, city, layer_row, job, result)
    return {"result": {"camp_plan_id": plan.id, "version": plan.version}}
