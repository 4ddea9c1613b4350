"""The state dashboard (page, JSON, CSV, XLSX, printable PDF) and the admin's national roll-up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from app.api.deps import Admin, SessionDep, StateOfficer
from app.api.places import StateCode
from app.dashboard_page import page
from app.schemas import PROBLEM_RESPONSES
from app.services import cities, dashboard
from solver.poverty import DEFAULT_RATE, EstimateParams

router = APIRouter(tags=["dashboard"], responses=PROBLEM_RESPONSES)

Rate = Annotated[
    float, Query(gt=0, le=1, description="the chosen poverty rate (0.25–0.30 in the letter)")
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rollups(rows: list[dashboard.CityRow]) -> list[dashboard.Rollup]:
    return [
        *dashboard.rollup(rows, "district", "district"),
        *dashboard.rollup(rows, "state", "state"),
    ]


def _figures(rows: list[dashboard.CityRow], rollups: list[dashboard.Rollup]) -> dict[str, Any]:
    return {"cities": [asdict(r) for r in rows], "rollups": [asdict(r) for r in rollups]}


@router.get("/states/{state}/figures")
def state_figures(
    state: StateCode, session: SessionDep, _caller: StateOfficer, rate: Rate = DEFAULT_RATE
) -> dict[str, Any]:
    """One row per city and the sums by district and for the state."""
    rows = dashboard.state_rows(
        session, cities.get_state(session, state).code, EstimateParams(rate)
    )
    return _figures(rows, _rollups(rows))


@router.get("/states/{state}/figures.csv", response_class=PlainTextResponse)
def state_figures_csv(
    state: StateCode, session: SessionDep, _caller: StateOfficer, rate: Rate = DEFAULT_RATE
) -> Response:
    code = cities.get_state(session, state).code
    rows = dashboard.state_rows(session, code, EstimateParams(rate))
    return Response(
        dashboard.rows_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}-cities.csv"'},
    )


@router.get("/states/{state}/figures.xlsx", response_class=Response)
def state_figures_xlsx(
    state: StateCode, session: SessionDep, _caller: StateOfficer, rate: Rate = DEFAULT_RATE
) -> Response:
    code = cities.get_state(session, state).code
    rows = dashboard.state_rows(session, code, EstimateParams(rate))
    return Response(
        dashboard.rows_xlsx(rows, _rollups(rows)),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{code}-cities.xlsx"'},
    )


@router.get("/states/{state}/summary.pdf", response_class=Response)
def state_summary_pdf(
    state: StateCode, session: SessionDep, _caller: StateOfficer, rate: Rate = DEFAULT_RATE
) -> Response:
    """The printable summary (English and Hindi), rolled up by district and state."""
    code = cities.get_state(session, state).code
    return Response(
        dashboard.state_summary(session, code, EstimateParams(rate)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{code}-summary.pdf"'},
    )


@router.get("/states/{state}/dashboard", response_class=HTMLResponse)
def state_dashboard(
    state: StateCode, session: SessionDep, _caller: StateOfficer, rate: Rate = DEFAULT_RATE
) -> HTMLResponse:
    """The state officers' page: the cities on a map and in a sortable, filterable table."""
    found = cities.get_state(session, state)
    rows = dashboard.state_rows(session, found.code, EstimateParams(rate))
    totals = dashboard.rollup(rows, "state", "state")
    title = f"{found.name} ({found.code})"
    return HTMLResponse(
        page(title, rows, totals[0] if totals else None, dashboard.outlines(session, found.code))
    )


@router.get("/national/figures")
def national_figures(
    session: SessionDep, _caller: Admin, rate: Rate = DEFAULT_RATE
) -> dict[str, Any]:
    """The fourth level: every state's sums (the same columns) and the nation's."""
    rows = dashboard.state_rows(session, None, EstimateParams(rate))
    states = dashboard.rollup(rows, "state", "state")
    nation = dashboard.rollup(rows, "nation", "")
    return {"states": [asdict(r) for r in states], "nation": [asdict(r) for r in nation]}
