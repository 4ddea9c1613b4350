"""The state dashboard (page, JSON, CSV, XLSX, printable PDF) and the admin's national roll-up."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from app.api.dashboard_page import page
from app.api.deps import (
    Admin,
    SessionDep,
    StateOfficer,
    get_principal,
    get_session_factory,
    require,
)
from app.api.media import PDF, XLSX, CSVResponse
from app.api.places import StateCode
from app.api.schemas import PROBLEM_RESPONSES, StateLinkOut
from app.core.errors import Unauthorized
from app.core.settings import Settings
from app.services import cities, dashboard, links
from app.services.keys import Principal, Role
from solver.poverty import DEFAULT_RATE, EstimateParams

router = APIRouter(tags=["dashboard"], responses=PROBLEM_RESPONSES)

Rate = Annotated[
    float, Query(gt=0, le=1, description="the chosen poverty rate (0.25–0.30 in the letter)")
]


def _state_viewer(
    request: Request,
    state: str,
    principal: Annotated[Principal | None, Depends(get_principal)],
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    expires: Annotated[int | None, Query(description="from a signed dashboard link")] = None,
    sig: Annotated[str | None, Query(description="from a signed dashboard link")] = None,
) -> Principal | None:
    """A state key (or admin), checked as for every state route; or, without a key, a signed link
    from ``POST /states/{state}/dashboard-link`` (a browser cannot send a key). None: the link."""
    if principal is not None:
        return require(Role.STATE)(request, principal, factory)
    if (
        expires is not None
        and sig is not None
        and links.verify_state(
            request.app.state.link_secret, state.upper(), expires=expires, sig=sig
        )
    ):
        return None
    raise Unauthorized(
        "API key or dashboard link required",
        f"send an API key, or open a link from POST /states/{state}/dashboard-link "
        "(it may have expired)",
    )


#: The dashboard and its downloads: a state key, or a signed dashboard link.
StateViewer = Annotated[Principal | None, Depends(_state_viewer)]


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


@router.get("/states/{state}/figures.csv", response_class=CSVResponse)
def state_figures_csv(
    state: StateCode, session: SessionDep, _caller: StateViewer, rate: Rate = DEFAULT_RATE
) -> Response:
    code = cities.get_state(session, state).code
    rows = dashboard.state_rows(session, code, EstimateParams(rate))
    return CSVResponse(
        dashboard.rows_csv(rows),
        headers={"Content-Disposition": f'attachment; filename="{code}-cities.csv"'},
    )


@router.get(
    "/states/{state}/figures.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the figures as XLSX"}},
)
def state_figures_xlsx(
    state: StateCode, session: SessionDep, _caller: StateViewer, rate: Rate = DEFAULT_RATE
) -> Response:
    code = cities.get_state(session, state).code
    rows = dashboard.state_rows(session, code, EstimateParams(rate))
    return Response(
        dashboard.rows_xlsx(rows, _rollups(rows)),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{code}-cities.xlsx"'},
    )


@router.get(
    "/states/{state}/summary.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the summary as PDF"}},
)
def state_summary_pdf(
    state: StateCode, session: SessionDep, _caller: StateViewer, rate: Rate = DEFAULT_RATE
) -> Response:
    """The printable summary (English and Hindi), rolled up by district and state."""
    code = cities.get_state(session, state).code
    return Response(
        dashboard.state_summary(session, code, EstimateParams(rate)),
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{code}-summary.pdf"'},
    )


@router.get("/states/{state}/dashboard", response_class=HTMLResponse)
def state_dashboard(
    request: Request,
    state: StateCode,
    session: SessionDep,
    caller: StateViewer,
    rate: Rate = DEFAULT_RATE,
    expires: Annotated[int | None, Query(description="from a signed dashboard link")] = None,
    sig: Annotated[str | None, Query(description="from a signed dashboard link")] = None,
) -> HTMLResponse:
    """The state officers' page: the cities on a map and in a sortable, filterable table. Opened
    with a key or a signed link; its downloads carry the same link, and each planned city's name
    opens a signed link to its plan map (CO homes rounded to about 1 km unless the key may see
    them exactly)."""
    found = cities.get_state(session, state)
    rows = dashboard.state_rows(session, found.code, EstimateParams(rate))
    totals = dashboard.rollup(rows, "state", "state")
    secret: bytes = request.app.state.link_secret
    ttl = request.app.state.settings.api.link_ttl_s
    exact = caller is not None and caller.sees_exact_homes()
    map_urls = {
        r.city: links.sign(secret, r.city, r.plan_id, ttl_s=ttl, exact_homes=exact).url
        for r in rows
        if r.plan_id is not None
    }
    query = f"expires={expires}&sig={sig}" if caller is None else ""
    if rate != DEFAULT_RATE:
        query = f"{query}&rate={rate}" if query else f"rate={rate}"
    title = f"{found.name} ({found.code})"
    outlines = dashboard.outlines(session, found.code)
    total = totals[0] if totals else None
    return HTMLResponse(page(title, rows, total, outlines, query=query, map_urls=map_urls))


@router.post("/states/{state}/dashboard-link", response_model=StateLinkOut)
def state_dashboard_link(
    request: Request, state: StateCode, session: SessionDep, _caller: StateOfficer
) -> StateLinkOut:
    """A link to the state's dashboard (and its CSV, XLSX and PDF) that opens in a browser
    without a key until it expires."""
    code = cities.get_state(session, state).code
    settings: Settings = request.app.state.settings
    link = links.sign_state(request.app.state.link_secret, code, ttl_s=settings.api.link_ttl_s)
    return StateLinkOut(url=link.url, expires_at=datetime.fromtimestamp(link.expires, UTC))


@router.get("/national/figures")
def national_figures(
    session: SessionDep, _caller: Admin, rate: Rate = DEFAULT_RATE
) -> dict[str, Any]:
    """The fourth level: every state's sums (the same columns) and the nation's."""
    rows = dashboard.state_rows(session, None, EstimateParams(rate))
    states = dashboard.rollup(rows, "state", "state")
    nation = dashboard.rollup(rows, "nation", "")
    return {"states": [asdict(r) for r in states], "nation": [asdict(r) for r in nation]}


@router.get("/national/figures.csv", response_class=CSVResponse)
def national_figures_csv(
    session: SessionDep, _caller: Admin, rate: Rate = DEFAULT_RATE
) -> Response:
    """The same sums as a table: a row per state, then the nation's row."""
    rows = dashboard.state_rows(session, None, EstimateParams(rate))
    rollups = [*dashboard.rollup(rows, "state", "state"), *dashboard.rollup(rows, "nation", "")]
    return CSVResponse(
        dashboard.rollups_csv(rollups),
        headers={"Content-Disposition": 'attachment; filename="national-figures.csv"'},
    )
