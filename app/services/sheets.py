"""Printable sheets of a stored plan: the city demarcation sheet and a CO's sheet, as PDF bytes.

Reads the plan through ``app.services.plans`` (``get_plan``: another city's plan is not found) and
draws it with ``gis.sheets``. The CO's distance from home is recomputed from the stored homes, as
the plan tables keep only the loads. A CO sheet's contact point is the first of the city's community
centres (``POST /cities/{city}/community-centres``) inside the CO's area, else "—".
"""

from __future__ import annotations

import math

import geopandas as gpd
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound
from app.db.models import Organiser, PlanArea, PlanAssignment, Ward
from app.pipeline.planning import ward_figures
from app.pipeline.printing import sheet_parameters
from app.services import centres
from app.services.frames import gis_organisers, stored_layer
from app.services.plans import StoredPlan, city_title, get_plan, version_number
from gis import co_sheets, sheets
from gis.credits import data_credit
from gis.layer import STORAGE_CRS
from gis.maps import plan_figures
from solver.poverty import poor_households


def _require_answer(stored: StoredPlan) -> None:
    if stored.plan.status not in ("optimal", "feasible"):
        raise Conflict(
            "the plan has no assignment",
            f"plan {stored.plan.id} is {stored.plan.status}: nothing to print",
            code="plan-without-answer",
        )


def sheet_info(stored: StoredPlan, version: int | None = None) -> sheets.SheetInfo:
    """The plan's parameters, what the solver proved, and the CMMU's approval, for printing;
    ``version``: the plan's version within its city."""
    plan, params = stored.plan, stored.plan.parameters
    numbered = "" if version is None else f", version {version}"
    return sheets.SheetInfo(
        city=city_title(stored.city),
        parameters={
            "plan": f"{plan.id}{numbered} (ward layer version {stored.layer.version})",
            **sheet_parameters(
                poverty_rate=float(params["poverty_rate"]),
                household_size=float(params["household_size"]),
                households_per_organiser=float(params["households_per_organiser"]),
                tolerance_requested=params.get("tolerance"),
                tolerance_used=plan.tolerance_used,
                status=str(plan.report.get("summary", plan.status)),
                check_passed=bool(plan.report.get("check", {}).get("passed", False)),
                frontier=plan.report.get("frontier"),
            ),
        },
        approved_on=None if plan.approved_at is None else plan.approved_at.date(),
        approved_by=plan.approved_by,
        credits=data_credit(stored.layer.data_source, stored.layer.data_licence),
    )


def plan_frames(session: Session, stored: StoredPlan) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The frames ``gis.sheets`` draws: wards with their CO and estimate; one row per CO area."""
    _require_answer(stored)
    params = stored.plan.parameters
    wards = stored_layer(session, stored.layer).wards.copy()
    assigned = dict(
        session.execute(
            select(Ward.ward_id, Organiser.organiser_id)
            .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
            .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
            .where(PlanAssignment.plan_id == stored.plan.id)
        ).all()
    )
    wards["organiser_id"] = [assigned[str(w)] for w in wards["ward_id"]]
    hindi = dict(
        session.execute(
            select(Ward.ward_id, Ward.name_hi).where(Ward.layer_id == stored.layer.id)
        ).all()
    )
    wards["ward_name_hi"] = [hindi.get(str(w)) for w in wards["ward_id"]]
    rate, size = float(params["poverty_rate"]), float(params["household_size"])
    estimates = [poor_households(f, rate, size) for f in ward_figures(wards)]
    wards["poor_households_est"] = estimates
    rows = session.execute(
        select(PlanArea, Organiser)
        .join(Organiser, PlanArea.organiser_pk == Organiser.id)
        .where(PlanArea.plan_id == stored.plan.id)
        .order_by(Organiser.organiser_id)
    ).all()
    homes = gis_organisers([o for _, o in rows])
    figures = plan_figures(wards, homes, [o.organiser_id for _, o in rows])
    records = []
    for (area, organiser), home, fig in zip(rows, homes, figures.organisers, strict=True):
        records.append(
            {
                "organiser_id": organiser.organiser_id,
                "name": organiser.name,
                "n_wards": len(fig.ward_ids),
                "poor_households_est": area.load,
                "deviation_from_mean_pct": _nan(fig.deviation_pct),
                "mean_km_from_home": _nan(fig.mean_km),
                "home_lon": home.lon,
                "home_lat": home.lat,
                "geometry": to_shape(area.geom),
            }
        )
    areas = gpd.GeoDataFrame(records, geometry="geometry", crs=STORAGE_CRS)
    return wards, areas


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def city_sheet_pdf(session: Session, city_code: str, plan_id: int) -> bytes:
    """The city demarcation sheet (A3 landscape) of a plan."""
    stored = get_plan(session, city_code, plan_id)
    wards, areas = plan_frames(session, stored)
    return sheets.city_sheet(wards, areas, sheet_info(stored, version_number(session, stored.plan)))


def organiser_sheet_pdf(session: Session, city_code: str, plan_id: int, organiser_id: str) -> bytes:
    """One CO's sheet (A4) of a plan; ``NotFound`` when the CO has no area in it."""
    stored = get_plan(session, city_code, plan_id)
    wards, areas = plan_frames(session, stored)
    if organiser_id not in set(areas["organiser_id"]):
        raise NotFound("organiser not found", f"plan {plan_id} has no area for {organiser_id!r}")
    return co_sheets.organiser_sheets(
        wards,
        areas,
        sheet_info(stored, version_number(session, stored.plan)),
        organiser_ids=[organiser_id],
        centres=centres.city_centres(session, stored.city),
    )
