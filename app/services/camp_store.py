"""Stored camp plans: written once by their job, read back, approved, and turned into files.

Versions are numbered per city in the order their jobs finish (under the city's row lock); a new
version names the one it re-plans (``parent_id``: the ``replaces`` of its request, else the city's
previous version). Approving a version withdraws the approval of any other version of the city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import geopandas as gpd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound
from app.db.models import CampCluster, CampPlan, CampWard, City, SolveJob, Ward, WardLayer
from app.pipeline import camps as camp_run
from app.pipeline.planning import DATA_CREDITS
from app.services import audit, camp_venues
from app.services.cities import get_city
from app.services.frames import point, stored_layer, ward_pks
from gis.camp_files import Camp, CampHours, camps_calendar, camps_csv
from gis.camp_map import camp_map
from gis.camp_sheets import camp_notices, camp_schedule
from gis.sheets import SheetInfo


def find_plan(session: Session, city_id: int, plan_id: int) -> CampPlan | None:
    return session.scalars(
        select(CampPlan).where(CampPlan.city_id == city_id, CampPlan.id == plan_id)
    ).one_or_none()


def store(
    session: Session, city: City, layer: WardLayer, job: SolveJob, result: camp_run.CampResult
) -> CampPlan:
    """The camp plan of a finished solve, its camps and its wards (in ``session``)."""
    get_city(session, city.code, lock=True)  # versions are numbered one job at a time
    latest = session.scalars(
        select(CampPlan).where(CampPlan.city_id == city.id).order_by(CampPlan.version.desc())
    ).first()
    replaces = job.request.get("replaces")
    camps = camp_run.camps_of(result)
    sol = result.solution
    plan = CampPlan(
        city_id=city.id,
        layer_id=layer.id,
        job_id=job.id,
        version=1 if latest is None else latest.version + 1,
        parent_id=replaces if replaces is not None else None if latest is None else latest.id,
        parameters=job.request,
        status=sol.status.value,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        camps=sol.camps,
        camps_bound=sol.camps_bound,
        count_proved=sol.count_proved,
        verified=result.verified,
        solver_version=sol.solver_version,
        seconds=sol.seconds,
        report={
            **camp_run.report_json(result, camps),
            "sheet_parameters": camp_run.parameters(result),
        },
        warnings=list(result.warnings),
        created_by=job.created_by,
    )
    session.add(plan)
    session.flush()
    _store_camps(session, plan, layer, result, camps)
    audit.record(session, job.created_by, "camps.create", "camp_plan", plan.id, city=city.code)
    session.flush()
    return plan


def _store_camps(
    session: Session,
    plan: CampPlan,
    layer: WardLayer,
    result: camp_run.CampResult,
    camps: list[Camp],
) -> None:
    p = result.problem
    pks = ward_pks(session, layer)
    venue_pos = {v: k for k, v in enumerate(p.venue_ids)}
    for c in camps:
        session.add(
            CampCluster(
                camp_plan_id=plan.id,
                camp_id=c.camp_id,
                venue_id=c.venue.venue_id,
                venue_name=c.venue.name,
                venue_ward_id=c.venue.ward_id,
                venue_inside=c.venue.inside,
                venue=point(c.venue.lon, c.venue.lat),
                capacity_per_day=c.capacity_per_day,
                registrants=c.registrants,
                dates=[d.isoformat() for d in c.dates],
            )
        )
    session.flush()
    camp_of = {w: c for c in camps for w in c.ward_ids}
    for i, w in enumerate(p.unit_ids):
        c = camp_of[w]
        session.add(
            CampWard(
                camp_plan_id=plan.id,
                ward_pk=pks[w],
                camp_id=c.camp_id,
                registrants=p.registrants[i],
                distance_km=p.distance_km[i][venue_pos[c.venue.venue_id]],
            )
        )


# --- Reading back --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCampPlan:
    plan: CampPlan
    city: City
    camps: list[Camp]


def get_plan(session: Session, city_code: str, plan_id: int) -> StoredCampPlan:
    city = get_city(session, city_code)
    plan = find_plan(session, city.id, plan_id)
    if plan is None:
        raise NotFound("camp plan not found", f"{city_code!r} has no camp plan {plan_id}")
    return StoredCampPlan(plan, city, _camps(session, plan))


def list_plans(session: Session, city_code: str, *, limit: int, offset: int) -> list[CampPlan]:
    city = get_city(session, city_code)
    return list(
        session.scalars(
            select(CampPlan)
            .where(CampPlan.city_id == city.id)
            .order_by(CampPlan.version.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def plan_of_job(session: Session, job_id: int) -> CampPlan | None:
    return session.scalars(select(CampPlan).where(CampPlan.job_id == job_id)).one_or_none()


def _camps(session: Session, plan: CampPlan) -> list[Camp]:
    venues = {v["venue_id"]: camp_venues.venue_of(v) for v in plan.parameters.get("venues", [])}
    wards: dict[str, list[str]] = {}
    rows = session.execute(
        select(CampWard.camp_id, Ward.ward_id)
        .join(Ward, CampWard.ward_pk == Ward.id)
        .where(CampWard.camp_plan_id == plan.id)
    ).all()
    for camp_id, ward_id in rows:
        wards.setdefault(camp_id, []).append(ward_id)
    return [
        Camp(
            camp_id=c.camp_id,
            venue=venues[c.venue_id],
            ward_ids=tuple(sorted(wards.get(c.camp_id, []), key=camp_run.ward_key)),
            registrants=c.registrants,
            capacity_per_day=c.capacity_per_day,
            dates=tuple(date.fromisoformat(d) for d in c.dates),
        )
        for c in plan.clusters
    ]


def approve(session: Session, city_code: str, plan_id: int, *, actor: str) -> StoredCampPlan:
    """The CMMU approves a checked camp plan; any other approved version of the city is withdrawn."""
    stored = get_plan(session, city_code, plan_id)
    plan = stored.plan
    if not plan.verified or not stored.camps:
        raise Conflict(
            "the camp plan cannot be approved",
            f"camp plan {plan_id} is {plan.status} and "
            f"{'passed' if plan.verified else 'did not pass'} its check; only a checked plan "
            "with camps can be approved",
            code="camp-plan-not-checked",
        )
    if plan.approved_at is not None:
        return stored
    for old in session.scalars(
        select(CampPlan).where(
            CampPlan.city_id == stored.city.id,
            CampPlan.approved_at.is_not(None),
            CampPlan.id != plan.id,
        )
    ):
        old.approved_at, old.approved_by = None, None
        audit.record(
            session, actor, "camps.approval_withdrawn", "camp_plan", old.id, superseded_by=plan.id
        )
    plan.approved_at, plan.approved_by = func.now(), actor
    audit.record(session, actor, "camps.approve", "camp_plan", plan.id, city=city_code)
    session.flush()
    session.refresh(plan)
    return stored


# --- Files ---------------------------------------------------------------------------------------

#: The files of a stored camp plan: name → media type.
FILES = {
    "camps.csv": "text/csv; charset=utf-8",
    "camps.ics": "text/calendar; charset=utf-8",
    "camps-map.html": "text/html; charset=utf-8",
    "camp-schedule.pdf": "application/pdf",
    "camp-notices.pdf": "application/pdf",
}


def plan_file(session: Session, city_code: str, plan_id: int, name: str) -> bytes:
    """One file of a stored camp plan, made from its stored rows."""
    stored = get_plan(session, city_code, plan_id)
    if not stored.camps:
        raise Conflict(
            "the camp plan has no camps",
            f"camp plan {plan_id} is {stored.plan.status}: "
            f"{stored.plan.report.get('explanation') or 'no camps were found'}",
            code="no-camps",
        )
    hours = CampHours.parse(str(stored.plan.parameters["hours"]))
    city, camps = stored.city.name, stored.camps
    if name == "camps.ics":
        return camps_calendar(camps, hours, city=city)
    if name == "camps.csv":
        return camps_csv(camps, hours)
    layer = session.get_one(WardLayer, stored.plan.layer_id)
    wards, clusters = camp_run.cluster_frames(stored_layer(session, layer).wards, camps)
    if name == "camps-map.html":
        return _map_html(stored, wards, clusters, hours)
    info = SheetInfo(city=city, parameters=dict(stored.plan.report.get("sheet_parameters", {})))
    if name == "camp-schedule.pdf":
        return camp_schedule(wards, clusters, camps, hours, info)
    if name == "camp-notices.pdf":
        return camp_notices(wards, camps, hours, info)
    raise NotFound("no such file", f"a camp plan's files are {', '.join(FILES)}")


def _map_html(
    stored: StoredCampPlan, wards: gpd.GeoDataFrame, clusters: gpd.GeoDataFrame, hours: CampHours
) -> bytes:
    used = {c.venue.venue_id for c in stored.camps}
    unused = [
        camp_venues.venue_of(v)
        for v in stored.plan.parameters.get("venues", [])
        if v["venue_id"] not in used
    ]
    fmap = camp_map(
        wards,
        clusters,
        stored.camps,
        hours,
        title=f"{stored.city.name}: registration camps v{stored.plan.version} / पंजीयन शिविर",
        credits=DATA_CREDITS,
        unused=unused,
    )
    html: str = fmap.get_root().render()
    return html.encode("utf-8")
