"""The state's view: one row of figures per city, rolled up by district, state and nation.

Per city: population, poor households at the mission letter's 25 % and 30 % and at the chosen rate,
COs required at each against COs in post (the city's own count, else its active roster) and the
shortfall, the plan status (none, draft, approved; its date), the plan's tightest balance (largest
deviation of a CO's load from the mean) and its mean km from a CO's home to its wards. The same
rows feed the page, the CSV, the XLSX and the printable summary.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.db.models import City, District, Organiser, Plan, PlanAssignment, State, Ward
from app.services import cities
from app.services.organisers import count_active
from gis.state_sheet import SummaryLine, state_summary_pdf
from solver.poverty import EstimateParams, WardFigures, requirement

PLAN_READY: Final = ("optimal", "feasible")


@dataclass(frozen=True)
class CityRow:
    state: str
    district: str
    city: str
    name: str
    population: int | None
    poor_households_25: int | None
    poor_households_chosen: int | None
    poor_households_30: int | None
    cos_required_25: int | None
    cos_required_chosen: int | None
    cos_required_30: int | None
    cos_in_post: int | None
    shortfall: int | None
    plan_status: str  # none, draft, approved
    plan_id: int | None
    plan_date: str | None
    tightest_balance_pct: float | None
    mean_km_from_home: float | None


COLUMNS: Final = tuple(f.name for f in fields(CityRow))
#: Columns summed in a roll-up.
SUMMED: Final = (
    "population",
    "poor_households_25",
    "poor_households_chosen",
    "poor_households_30",
    "cos_required_25",
    "cos_required_chosen",
    "cos_required_30",
    "cos_in_post",
    "shortfall",
)


@dataclass(frozen=True)
class Rollup:
    level: str  # district, state or nation
    name: str
    cities: int
    approved: int
    drafts: int
    sums: dict[str, int]


def _wards(session: Session, layer_id: int) -> list[WardFigures]:
    rows = session.execute(
        select(Ward.population, Ward.households, Ward.poor_households).where(
            Ward.layer_id == layer_id
        )
    ).all()
    return [
        WardFigures(
            None if p is None else float(p),
            None if h is None else float(h),
            None if poor is None else float(poor),
        )
        for p, h, poor in rows
    ]


def _plan(session: Session, city_id: int) -> tuple[str, Plan | None]:
    """The approved plan in force (the latest approval), else the newest draft with a plan."""
    approved = session.scalars(
        select(Plan)
        .where(Plan.city_id == city_id, Plan.approved_at.is_not(None))
        .order_by(Plan.approved_at.desc())
        .limit(1)
    ).first()
    if approved is not None:
        return "approved", approved
    draft = session.scalars(
        select(Plan)
        .where(Plan.city_id == city_id, Plan.status.in_(PLAN_READY))
        .order_by(Plan.id.desc())
        .limit(1)
    ).first()
    return ("draft", draft) if draft is not None else ("none", None)


def mean_km(session: Session, plan: Plan) -> float | None:
    """Mean km from each ward (a point on it) to its CO's home (or home ward) in the plan."""
    home_ward = aliased(Ward)
    home = func.coalesce(Organiser.home, func.ST_PointOnSurface(home_ward.geom))
    metres = func.ST_Distance(
        func.geography(func.ST_PointOnSurface(Ward.geom)), func.geography(home)
    )
    value = session.scalar(
        select(func.avg(metres))
        .select_from(PlanAssignment)
        .join(Ward, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .outerjoin(
            home_ward,
            (home_ward.layer_id == plan.layer_id) & (home_ward.ward_id == Organiser.home_ward),
        )
        .where(PlanAssignment.plan_id == plan.id)
    )
    return None if value is None else round(float(value) / 1000, 2)


def city_row(
    session: Session, city: City, district: District, state: State, estimate: EstimateParams
) -> CityRow:
    in_post = city.cos_in_post if city.cos_in_post is not None else count_active(session, city.id)
    need = None
    if city.current_layer_id is not None:
        need = requirement(_wards(session, city.current_layer_id), estimate, in_post)
    status, plan = _plan(session, city.id)
    deviation = None if plan is None else plan.report.get("max_deviation")
    when = None if plan is None else (plan.approved_at or plan.created_at)

    def whole(value: float | None) -> int | None:
        return None if value is None else round(value)

    return CityRow(
        state=state.code,
        district=district.name,
        city=city.code,
        name=city.name,
        population=whole(need.population) if need else None,
        poor_households_25=whole(need.poor_households_low) if need else None,
        poor_households_chosen=whole(need.poor_households) if need else None,
        poor_households_30=whole(need.poor_households_high) if need else None,
        cos_required_25=need.organisers_required_low if need else None,
        cos_required_chosen=need.organisers_required if need else None,
        cos_required_30=need.organisers_required_high if need else None,
        cos_in_post=in_post,
        shortfall=need.shortfall if need else None,
        plan_status=status,
        plan_id=None if plan is None else plan.id,
        plan_date=None if when is None else _date(when),
        tightest_balance_pct=None if deviation is None else round(100 * float(deviation), 1),
        mean_km_from_home=None if plan is None else mean_km(session, plan),
    )


def _date(when: datetime) -> str:
    return when.date().isoformat()


def state_rows(
    session: Session, state_code: str | None, estimate: EstimateParams | None = None
) -> list[CityRow]:
    """One row per city of the state (every state's when ``state_code`` is None)."""
    estimate = estimate or EstimateParams()
    estimate.check()
    return [
        city_row(session, c, d, s, estimate) for c, d, s in cities.list_cities(session, state_code)
    ]


def rollup(rows: list[CityRow], level: str, key: str) -> list[Rollup]:
    """Sums of ``rows`` grouped by ``key`` (a CityRow field; "" for one group of all)."""
    groups: dict[str, list[CityRow]] = {}
    for row in rows:
        groups.setdefault(str(getattr(row, key)) if key else "", []).append(row)
    return [
        Rollup(
            level,
            name,
            len(members),
            sum(r.plan_status == "approved" for r in members),
            sum(r.plan_status == "draft" for r in members),
            {c: sum(getattr(r, c) or 0 for r in members) for c in SUMMED},
        )
        for name, members in groups.items()
    ]


def outlines(session: Session, state_code: str) -> dict[str, Any]:
    """Each city's outline (its current wards dissolved, simplified) as GeoJSON features."""
    state = cities.get_state(session, state_code)
    rows = session.execute(
        select(
            City.code,
            func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(func.ST_Union(Ward.geom), 0.001), 5),
        )
        .join(District, City.district_id == District.id)
        .join(Ward, Ward.layer_id == City.current_layer_id)
        .where(District.state_id == state.id)
        .group_by(City.code)
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": code, "properties": {"city": code}, "geometry": json.loads(g)}
            for code, g in rows
        ],
    }


# -- files ----------------------------------------------------------------------------------------


def rows_csv(rows: list[CityRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()


#: The columns of a table of sums (the XLSX's "rollup" sheet, the national CSV).
ROLLUP_COLUMNS = ("level", "name", "cities", "approved", "drafts", *SUMMED)


def _rollup_row(r: Rollup) -> list[object]:
    return [r.level, r.name, r.cities, r.approved, r.drafts, *(r.sums[c] for c in SUMMED)]


def rollups_csv(rollups: list[Rollup]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROLLUP_COLUMNS)
    writer.writerows(_rollup_row(r) for r in rollups)
    return out.getvalue()


def rows_xlsx(rows: list[CityRow], rollups: list[Rollup]) -> bytes:
    """Sheet "cities": the rows (numbers as numbers); sheet "rollup": the sums by level."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "cities"
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(asdict(row).values()))
    summary = book.create_sheet("rollup")
    summary.append(list(ROLLUP_COLUMNS))
    for r in rollups:
        summary.append(_rollup_row(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the printable summary ------------------------------------------------------------------------


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def summary_lines(rows: list[CityRow], state_name: str) -> list[SummaryLine]:
    """The PDF's lines: each district's cities then its total, and the state's total last."""
    lines: list[SummaryLine] = []
    for district in rollup(rows, "district", "district"):
        members = [r for r in rows if r.district == district.name]
        for r in members:
            plan = r.plan_status if r.plan_date is None else f"{r.plan_status} {r.plan_date}"
            lines.append(SummaryLine((r.name, *(_n(getattr(r, c)) for c in SUMMED), plan)))
        lines.append(_total(f"{district.name} (district)", district))
    for state in rollup(rows, "state", "state"):
        lines.append(_total(f"{state_name} (state)", state))
    return lines


def _total(label: str, r: Rollup) -> SummaryLine:
    plans = f"{r.approved} approved, {r.drafts} draft of {r.cities}"
    return SummaryLine((label, *(_n(r.sums[c]) for c in SUMMED), plans), total=True)


def state_summary(
    session: Session, state_code: str, estimate: EstimateParams | None = None
) -> bytes:
    state = cities.get_state(session, state_code)
    rows = state_rows(session, state.code, estimate)
    return state_summary_pdf(f"{state.name} ({state.code})", summary_lines(rows, state.name))
