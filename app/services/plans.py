"""Plans: solve a stored layer for a city's active COs, store the answer, and read it back."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound
from app.db.models import (
    City,
    Organiser,
    Plan,
    PlanArea,
    PlanAssignment,
    PlanVersion,
    Ward,
    WardLayer,
    Zone,
)
from app.pipeline import answer_time, planning
from app.services import audit, centres, pins, plan_areas, plan_versions, solving
from app.services.cities import get_city, require_current_layer
from app.services.frames import gis_organisers, multipolygon, stored_layer, ward_pks
from app.services.organisers import active_organisers
from gis.credits import data_credit
from gis.diffmap import difference_map
from gis.frontier_chart import add_frontier_chart
from gis.layer import STORAGE_CRS
from gis.maps import plan_figures, plan_map
from gis.moved_layer import Moved
from gis.organisers import Organiser as Home
from solver.deadline import Deadline
from solver.poverty import WardFigures, poor_households
from solver.problem import Progress


@dataclass(frozen=True)
class StoredPlan:
    plan: Plan
    city: City
    layer: WardLayer


def _plan_layer(session: Session, city: City, layer_version: int | None) -> WardLayer:
    """The layer version a plan is made on: the city's current one unless one is named."""
    if layer_version is None:
        return session.get_one(WardLayer, require_current_layer(city))
    found = session.scalars(
        select(WardLayer).where(WardLayer.city_id == city.id, WardLayer.version == layer_version)
    ).one_or_none()
    if found is None:
        raise NotFound("layer not found", f"{city.code!r} has no layer version {layer_version}")
    return found


def _roster_sha256(organisers: list[Home]) -> str:
    """The digest of the COs a plan was made for (ids and homes, as stored)."""
    roster = [
        {"organiser_id": o.organiser_id, "lon": round(o.lon, 7), "lat": round(o.lat, 7)}
        for o in organisers
    ]
    return hashlib.sha256(json.dumps(roster, sort_keys=True).encode()).hexdigest()


def create_plan(
    session: Session,
    city_code: str,
    config: solving.SolveConfig,
    *,
    layer_version: int | None = None,
    actor: str = "api",
    on_progress: Callable[[Progress], None] | None = None,
) -> StoredPlan:
    """Solve the city's current (or given) layer for its active COs and store the plan.

    Runs synchronously (a worker runs it for a solve job, ``app.services.jobs``); ``on_progress``
    hears the solver's reports. Plans without an answer (infeasible, no
    solution in time) are stored too, with their explanation. The time limit bounds the whole
    request (reading the stored layer, solving, storing); ``plan.report["phases"]`` says where
    the time went.
    """
    deadline = Deadline(config.solve.time_limit)
    city = get_city(session, city_code)
    layer = _plan_layer(session, city, layer_version)
    rows = active_organisers(session, city.id)
    if not rows:
        raise Conflict(
            "the city has no active organisers",
            f"import organisers first (POST /cities/{city.code}/organisers)",
            code="no-organisers",
        )
    organisers = gis_organisers(rows)
    kept = pins.for_plan(session, city, layer.id)
    pins.check_options(city, kept, frontier=config.frontier is not None)
    with deadline.phase("reading"):
        wards = stored_layer(session, layer)
    result = solving.run(
        wards,
        organisers,
        config,
        label=layer.source_filename,
        on_progress=on_progress,
        deadline=deadline,
        pins=kept,
    )
    plan = _plan_row(city, layer, config, organisers, result, actor)
    if kept:
        found = pins.report(session, city, kept, result.problem, result.solution.assignment)
        plan.report = {**plan.report, "pins": found}
        plan.warnings = [*plan.warnings, *found["notes"]]
    sol = result.solution
    with deadline.phase("storing"):
        session.add(plan)
        session.flush()
        if sol.has_plan:
            store_answer(session, plan, layer, rows, result)
        plan_versions.record(session, plan, reason="new")
    plan.report = {**plan.report, **answer_time.time_report(deadline)}
    audit.record(
        session,
        actor,
        "plan.create",
        "plan",
        plan.id,
        city=city.code,
        layer_version=layer.version,
        status=plan.status,
    )
    session.flush()
    return StoredPlan(plan, city, layer)


def _plan_row(
    city: City,
    layer: WardLayer,
    config: solving.SolveConfig,
    organisers: list[Home],
    result: planning.PlanResult,
    actor: str,
) -> Plan:
    """The plan's row: its inputs, what the solver proved, its report."""
    sol = result.solution
    return Plan(
        created_at=func.clock_timestamp(),  # when it is stored, not when the transaction began
        city_id=city.id,
        layer_id=layer.id,
        parameters={**config.as_dict(), "layer_version": layer.version},
        input_hashes={
            "layer_sha256": layer.sha256,
            "organisers_sha256": _roster_sha256(organisers),
        },
        solver=sol.solver,
        solver_version=sol.solver_version,
        seed=config.solve.seed,
        status=sol.status.value,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        tolerance_used=sol.tolerance,
        seconds=round(sol.seconds, 3),
        timings={k: round(v, 3) for k, v in sol.timings.items()},
        warnings=solving.all_warnings(result),
        report=solving.outcome(result),
        created_by=actor,
    )


def layer_version_of(session: Session, layer_id: int) -> int:
    return session.get_one(WardLayer, layer_id).version


def store_answer(
    session: Session,
    plan: Plan,
    layer: WardLayer,
    rows: list[Organiser],
    result: planning.PlanResult,
) -> None:
    pks = ward_pks(session, layer)
    organiser_pk = {o.organiser_id: o.id for o in rows}
    plan_wards, areas = planning.plan_frames(result)
    session.add_all(
        PlanAssignment(plan_id=plan.id, ward_pk=pks[str(w)], organiser_pk=organiser_pk[str(o)])
        for w, o in zip(plan_wards["ward_id"], plan_wards["organiser_id"], strict=True)
    )
    session.add_all(
        PlanArea(
            plan_id=plan.id,
            organiser_pk=organiser_pk[str(a.organiser_id)],
            geom=multipolygon(a.geometry),
            load=float(a.poor_households_est),
            deviation=float(a.deviation_from_mean_pct) / 100.0,
        )
        for a in areas.itertuples()
        if a.n_wards > 0
    )
    plan.report = {
        **plan.report,
        "poverty_sources": planning.poverty_source_report(result.layer),
        "unnumbered": result.layer.unnumbered,
        "areas": [
            {
                "organiser_id": str(a.organiser_id),
                "name": str(a.name),
                "wards": int(a.n_wards),
                "load": round(float(a.poor_households_est), 1),
                "deviation_from_mean_pct": float(a.deviation_from_mean_pct),
            }
            for a in areas.itertuples()
        ],
    }


def get_plan(session: Session, city_code: str, plan_id: int) -> StoredPlan:
    """A plan of this city; ``NotFound`` for another city's plan, as for a missing one."""
    row = session.execute(
        select(Plan, City, WardLayer)
        .join(City, Plan.city_id == City.id)
        .join(WardLayer, Plan.layer_id == WardLayer.id)
        .where(City.code == city_code, Plan.id == plan_id)
    ).one_or_none()
    if row is None:
        raise NotFound("plan not found", f"{city_code!r} has no plan {plan_id}")
    plan, city, layer = row
    return StoredPlan(plan, city, layer)


def _require_answer(stored: StoredPlan) -> None:
    if stored.plan.status not in ("optimal", "feasible"):
        raise Conflict(
            "the plan has no assignment",
            f"plan {stored.plan.id} is {stored.plan.status}: "
            f"{stored.plan.report.get('explanation', '')}",
            code="plan-without-answer",
        )


def _estimate(stored: StoredPlan, ward: Ward) -> float:
    params = stored.plan.parameters
    figures = WardFigures(
        None if ward.population is None else float(ward.population),
        None if ward.households is None else float(ward.households),
        None if ward.poor_households is None else float(ward.poor_households),
    )
    return poor_households(figures, float(params["poverty_rate"]), float(params["household_size"]))


def _poverty_source(stored: StoredPlan, ward: Ward) -> str:
    """Where the ward's poor households figure came from (see ``planning.poverty_sources``)."""
    joined = stored.layer.validation_report.get("poverty_sources", {}).get(ward.ward_id)
    if joined:
        return str(joined)
    if ward.poor_households is not None:
        return "the ward layer's poor households column"
    return (
        "estimate: households × rate"
        if ward.households is not None
        else ("estimate: population × rate ÷ household size")
    )


def plan_wards_geojson(session: Session, stored: StoredPlan) -> dict[str, Any]:
    _require_answer(stored)
    rows = session.execute(
        select(Ward, Zone.name, Organiser.organiser_id, func.ST_AsGeoJSON(Ward.geom, 7))
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .outerjoin(Zone, Ward.zone_id == Zone.id)
        .where(PlanAssignment.plan_id == stored.plan.id)
        .order_by(Ward.id)
    ).all()
    features = [
        {
            "type": "Feature",
            "properties": {
                "ward_id": ward.ward_id,
                "ward_name": ward.name,
                "zone": zone,
                "population": ward.population,
                "households": ward.households,
                "poor_households_est": round(_estimate(stored, ward), 1),
                "poverty_source": _poverty_source(stored, ward),
                "organiser_id": oid,
            },
            "geometry": json.loads(geometry),
        }
        for ward, zone, oid, geometry in rows
    ]
    return {"type": "FeatureCollection", "plan": plan_stamp(session, stored), "features": features}


def plan_areas_geojson(
    session: Session, stored: StoredPlan, *, exact_homes: bool = False
) -> dict[str, Any]:
    """The areas in the CLI's schema (``app.services.plan_areas``), with the approval."""
    _require_answer(stored)
    rows = plan_areas.area_properties(
        session, stored.plan.id, stored.layer, stored.plan.parameters, exact_homes=exact_homes
    )
    stamp = plan_stamp(session, stored)  # carried into GPKG, KML, shapefile
    marks = {"approval": stamp["approval"], "plan_version": stamp["version"]}
    features = [
        {"type": "Feature", "properties": {**props, **marks}, "geometry": mapping(geom)}
        for props, geom in rows
    ]
    return {"type": "FeatureCollection", "plan": stamp, "features": features}


def assignment_csv(session: Session, stored: StoredPlan) -> str:
    _require_answer(stored)
    rows = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == stored.plan.id)
        .order_by(Ward.id)
    ).all()
    stamp = plan_stamp(session, stored)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # the plan folder's two columns first; then which plan this is, on every row like the
    # areas' attributes, so a saved or forwarded file still says its version and approval
    writer.writerow(["ward_id", "organiser_id", "plan_id", "plan_version", "approval"])
    writer.writerows((*row, stamp["id"], stamp["version"], stamp["approval"]) for row in rows)
    return out.getvalue()


#: Rendered map pages, newest last. A plan never changes but for its approval, which is part of
#: the key, so a page is drawn once (about 0.5 s for Lucknow) and then served from here.
_MAP_PAGES: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_MAP_PAGES_KEPT = 32
_MAP_PAGES_LOCK = threading.Lock()


def plan_map_html(session: Session, stored: StoredPlan, *, exact_homes: bool) -> str:
    """The plan drawn by ``gis.maps.plan_map`` (which escapes every user string), cached.

    ``exact_homes`` False: each CO's home is rounded to 0.01° (about 1 km) before it is drawn,
    for viewers whose role does not see personal data."""
    _require_answer(stored)
    from app.core.settings import get_settings  # the tile server, if one is configured

    tiles = get_settings().map
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    plan = stored.plan
    # The COs' names and homes are read live (a CO may move): they are part of the key too.
    roster = session.execute(
        select(Organiser.organiser_id, Organiser.name, Organiser.home, Organiser.home_ward)
        .join(PlanArea, PlanArea.organiser_pk == Organiser.id)
        .where(PlanArea.plan_id == plan.id)
        .order_by(Organiser.organiser_id)
    ).all()
    people = tuple((r[0], r[1], None if r[2] is None else bytes(r[2].data), r[3]) for r in roster)
    places = centres.city_centres(session, stored.city).to_wkt().to_json()
    key = (
        database,
        plan.id,
        plan.approved_at,
        plan.approved_by,
        exact_homes,
        people,
        places,
        repr(tiles),
    )
    with _MAP_PAGES_LOCK:
        if key in _MAP_PAGES:
            _MAP_PAGES.move_to_end(key)
            return _MAP_PAGES[key]
    page = _draw_plan_map(session, stored, exact_homes)
    with _MAP_PAGES_LOCK:
        _MAP_PAGES[key] = page
        while len(_MAP_PAGES) > _MAP_PAGES_KEPT:
            _MAP_PAGES.popitem(last=False)
    return page


def city_title(city: City) -> str:
    """The city's name for titles: its name, or, for a city known only by its code
    (``lucknow``, ``navi-mumbai``), the code written as a name (Lucknow, Navi Mumbai)."""
    if city.name and city.name != city.code:
        return city.name
    return " ".join(part.capitalize() for part in city.code.replace("_", "-").split("-") if part)


def version_number(session: Session, plan: Plan) -> int | None:
    """The plan's version within its city (``None`` for a plan stored before versions)."""
    return session.scalar(select(PlanVersion.version).where(PlanVersion.plan_id == plan.id))


def plan_stamp(session: Session, stored: StoredPlan) -> dict[str, Any]:
    """What every export of a plan says about which plan it is: id, version, approval (a GeoJSON
    foreign member ``plan``; the areas' ``plan_version`` and ``approval`` attributes)."""
    version = version_number(session, stored.plan)
    return {"id": stored.plan.id, "version": version, "approval": approval_mark(stored.plan)}


def approval_mark(plan: Plan) -> str:
    """What every output of a plan says about its approval (the sheets say the same)."""
    if plan.approved_at is None:
        return "DRAFT — not approved"
    return f"APPROVED on {plan.approved_at.date().isoformat()} by {plan.approved_by}"


def moved_from_parent(session: Session, stored: StoredPlan) -> Moved | None:
    """The wards a re-plan or an edit gives another CO than its parent plan did, as the compare
    view counts them (:func:`plan_versions.diff`); ``None`` for a plan without a parent."""
    parent_id = session.scalar(
        select(PlanVersion.parent_plan_id).where(PlanVersion.plan_id == stored.plan.id)
    )
    if parent_id is None:
        return None
    d = plan_versions.diff(session, stored.city, parent_id, stored.plan.id)
    moves = {w: (a, b) for w, a, b, _ in d.changed if a is not None and b is not None}
    return Moved(moves, d.households_moved, f"version {d.a.version.version}, plan {parent_id}")


def _draw_plan_map(session: Session, stored: StoredPlan, exact_homes: bool) -> str:
    layer = stored_layer(session, stored.layer)
    assigned = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == stored.plan.id)
    ).all()
    by_ward = {ward_id: oid for ward_id, oid in assigned}
    wards = layer.wards.copy()
    wards["organiser_id"] = [by_ward[str(w)] for w in wards["ward_id"]]
    if layer.parents:  # split wards: their outlines over the units (gis.parent_outlines)
        wards["parent"] = [layer.parents.get(str(w), (str(w),))[0] for w in wards["ward_id"]]
    rate, size = (float(stored.plan.parameters[k]) for k in ("poverty_rate", "household_size"))
    wards["poor_households_est"] = [
        poor_households(f, rate, size) for f in planning.ward_figures(wards)
    ]
    area_rows = session.execute(
        select(PlanArea, Organiser)
        .join(Organiser, PlanArea.organiser_pk == Organiser.id)
        .where(PlanArea.plan_id == stored.plan.id)
        .order_by(Organiser.organiser_id)
    ).all()
    homes = gis_organisers([o for _, o in area_rows])
    # The figures from the exact homes (as the solver and the sheets), before any rounding of
    # the homes shown: one figure in every output.
    figures = plan_figures(wards, homes, [o.organiser_id for _, o in area_rows])
    areas = gpd.GeoDataFrame(
        [
            {
                "organiser_id": o.organiser_id,
                "name": o.name,
                "n_wards": len(fig.ward_ids),
                "poor_households_est": area.load,
                "deviation_from_mean_pct": fig.deviation_pct,
                "mean_km_from_home": fig.mean_km,
                "geometry": to_shape(area.geom),
            }
            for (area, o), fig in zip(area_rows, figures.organisers, strict=True)
        ],
        geometry="geometry",
        crs=STORAGE_CRS,
    )
    if not exact_homes:
        homes = [replace(h, lon=round(h.lon, 2), lat=round(h.lat, 2)) for h in homes]
    title = (
        f"Wardplan: {city_title(stored.city)}, layer {stored.layer.version}, "
        f"plan {stored.plan.id} — "
        f"{stored.plan.report.get('summary', stored.plan.status)} — {approval_mark(stored.plan)}"
    )
    from app.core.settings import get_settings  # the tile server, if one is configured

    map_settings = get_settings().map
    fmap = plan_map(
        wards,
        areas,
        homes,
        title=title,
        credits=data_credit(stored.layer.data_source, stored.layer.data_licence),
        load_column="poor_households_est",
        deviation_column="deviation_from_mean_pct",
        tiles=map_settings.tiles,
        tiles_attribution=map_settings.tiles_attribution,
        centres=centres.city_centres(session, stored.city),
        moved=moved_from_parent(session, stored),
    )
    add_frontier_chart(fmap, stored.plan.report.get("frontier"))
    return str(fmap.get_root().render())


def approve_plan(session: Session, city_code: str, plan_id: int, *, actor: str) -> StoredPlan:
    """Mark a plan as the city's approved plan (the CMMU's decision).

    Only a plan with an answer that passed its check can be approved; approving another plan of the
    city withdraws the earlier approval, and both are kept in the audit trail.
    """
    stored = get_plan(session, city_code, plan_id)
    _require_answer(stored)
    if not stored.plan.report.get("check", {}).get("passed", False):
        raise Conflict(
            "the plan did not pass its check",
            f"plan {plan_id} failed the independent check and cannot be approved",
            code="plan-not-checked",
        )
    if stored.plan.approved_at is not None:
        return stored
    earlier = session.scalars(
        select(Plan).where(
            Plan.city_id == stored.city.id, Plan.approved_at.is_not(None), Plan.id != plan_id
        )
    ).all()
    for old in earlier:
        old.approved_at, old.approved_by = None, None
        audit.record(
            session,
            actor,
            "plan.approval_withdrawn",
            "plan",
            old.id,
            city=city_code,
            superseded_by=plan_id,
        )
        plan_versions.record_act(session, old.id, "supersede", actor, superseded_by=plan_id)
    stored.plan.approved_at = func.clock_timestamp()
    stored.plan.approved_by = actor
    plan_versions.record_act(session, plan_id, "approve", actor)
    audit.record(session, actor, "plan.approve", "plan", plan_id, city=city_code)
    session.flush()
    session.refresh(stored.plan)
    return stored


def _assignment_by_ward(session: Session, plan_id: int) -> dict[str, str]:
    rows = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == plan_id)
    ).all()
    return {str(w): str(o) for w, o in rows}


@dataclass(frozen=True)
class PlanComparison:
    changed: list[tuple[str, str | None, str | None]]  # ward, organiser in a, organiser in b
    unchanged: int


def compare_plans(session: Session, city_code: str, a_id: int, b_id: int) -> PlanComparison:
    """Which wards change organiser between two plans of a city (matched by ward id)."""
    a, b = get_plan(session, city_code, a_id), get_plan(session, city_code, b_id)
    _require_answer(a)
    _require_answer(b)
    in_a, in_b = _assignment_by_ward(session, a_id), _assignment_by_ward(session, b_id)
    wards = sorted(set(in_a) | set(in_b), key=lambda w: (len(w), w))
    changed = [(w, in_a.get(w), in_b.get(w)) for w in wards if in_a.get(w) != in_b.get(w)]
    return PlanComparison(changed, len(wards) - len(changed))


def difference_map_html(session: Session, city_code: str, a_id: int, b_id: int) -> str:
    """The wards of plan ``a``'s layer filled by whether their CO changes in plan ``b``; one HTML
    file with its assets inlined, so it opens offline once saved."""
    a, b = get_plan(session, city_code, a_id), get_plan(session, city_code, b_id)
    _require_answer(a)
    _require_answer(b)
    in_a, in_b = _assignment_by_ward(session, a_id), _assignment_by_ward(session, b_id)
    wards = stored_layer(session, a.layer).wards.copy()
    wards["organiser_a"] = [in_a.get(str(w), "—") for w in wards["ward_id"]]
    wards["organiser_b"] = [in_b.get(str(w), "—") for w in wards["ward_id"]]
    fmap = difference_map(
        wards,
        title=f"Wardplan: {city_title(a.city)} — plan {a_id} compared with plan {b_id}",
        credits=data_credit(a.layer.data_source, a.layer.data_licence),
        label_a=f"plan {a_id} ({approval_mark(a.plan)})",
        label_b=f"plan {b_id} ({approval_mark(b.plan)})",
    )
    return str(fmap.get_root().render())
