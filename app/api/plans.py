from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from app.api.deps import CityCode, Cmmu, MaybeReader, Reader, SessionDep, SettingsDep
from app.api.jobs import job_out, job_url
from app.api.media import GEOJSON, CSVResponse, GeoJSONResponse
from app.api.schemas import (
    PROBLEM_RESPONSES,
    AreaSummary,
    CheckOut,
    FeatureCollection,
    JobOut,
    MapLinkOut,
    PlanComparisonOut,
    PlanOut,
    PlanParameters,
    RequirementOut,
    WardChange,
)
from app.core.errors import Unauthorized
from app.core.settings import Settings
from app.services import jobs, links
from app.services import plans as service
from app.services.requirement import city_requirement
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE, EstimateParams

router = APIRouter(tags=["plans"], responses=PROBLEM_RESPONSES)


def plan_out(stored: service.StoredPlan) -> PlanOut:
    plan, report = stored.plan, stored.plan.report
    check = report.get("check", {"passed": False, "violations": ["not checked"]})
    return PlanOut(
        id=plan.id,
        city=stored.city.code,
        layer_version=stored.layer.version,
        status=plan.status,  # type: ignore[arg-type]  # the table's CHECK constraint
        summary=str(report.get("summary", plan.status)),
        explanation=str(report.get("explanation", "")),
        objective=plan.objective,
        bound=plan.bound,
        gap=plan.gap,
        tolerance_used=plan.tolerance_used,
        seconds=plan.seconds,
        solver=plan.solver,
        solver_version=plan.solver_version,
        parameters=plan.parameters,
        check=CheckOut.model_validate(check),
        warnings=[str(w) for w in plan.warnings],
        areas=[AreaSummary.model_validate(a) for a in report.get("areas", [])],
        created_at=plan.created_at,
        created_by=plan.created_by,
        approved_at=plan.approved_at,
        approved_by=plan.approved_by,
        phases=report.get("phases"),
        frontier=report.get("frontier"),
        method=report.get("method"),
    )


@router.get("/cities/{city}/requirement", response_model=RequirementOut)
def requirement(
    city: CityCode,
    session: SessionDep,
    _caller: Reader,
    rate: Annotated[float, Query(gt=0, le=1)] = DEFAULT_RATE,
    household_size: Annotated[float, Query(ge=1, le=20)] = DEFAULT_HOUSEHOLD_SIZE,
) -> RequirementOut:
    """Poor households and COs required at both ends of the 25–30 % band and at ``rate``."""
    found = city_requirement(
        session, city, EstimateParams(rate=rate, household_size=household_size)
    )
    r = found.requirement
    return RequirementOut(
        city=city,
        layer_version=found.layer_version,
        population=r.population,
        poverty_rate=r.params.rate,
        household_size=r.params.household_size,
        households_per_organiser=r.params.households_per_organiser,
        poor_households=round(r.poor_households, 1),
        poor_households_at_25pct=round(r.poor_households_low, 1),
        poor_households_at_30pct=round(r.poor_households_high, 1),
        organisers_required=r.organisers_required,
        organisers_required_at_25pct=r.organisers_required_low,
        organisers_required_at_30pct=r.organisers_required_high,
        organisers_in_post=r.organisers_in_post or 0,
        shortfall=r.shortfall,
        bases=r.bases,
        warnings=found.warnings,
    )


@router.post("/cities/{city}/plans", status_code=202, response_model=JobOut)
def create_plan(
    city: CityCode,
    params: PlanParameters,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    caller: Cmmu,
) -> JobOut:
    """Ask for a plan of the current layer's wards among the city's active COs.

    Answers ``202`` with the job at once (``Location``: the job); a worker solves it. Follow the
    job until ``status`` is ``succeeded``, then read ``plan_url``.
    """
    job = jobs.submit(session, city, params.model_dump(mode="json"), settings, actor=caller.name)
    response.headers["Location"] = job_url(city, job.id)
    return job_out(jobs.get_job(session, city, job.id))


@router.get("/cities/{city}/plans/{plan_id}", response_model=PlanOut)
def get_plan(city: CityCode, plan_id: int, session: SessionDep, _caller: Reader) -> PlanOut:
    return plan_out(service.get_plan(session, city, plan_id))


@router.get(
    "/cities/{city}/plans/{plan_id}/wards.geojson",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
)
def plan_wards(city: CityCode, plan_id: int, session: SessionDep, _caller: Reader) -> JSONResponse:
    stored = service.get_plan(session, city, plan_id)
    return JSONResponse(service.plan_wards_geojson(session, stored), media_type=GEOJSON)


@router.get(
    "/cities/{city}/plans/{plan_id}/areas.geojson",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
)
def plan_areas(city: CityCode, plan_id: int, session: SessionDep, caller: Reader) -> JSONResponse:
    stored = service.get_plan(session, city, plan_id)
    exact = caller.sees_exact_homes()
    areas = service.plan_areas_geojson(session, stored, exact_homes=exact)
    return JSONResponse(areas, media_type=GEOJSON)


@router.get("/cities/{city}/plans/{plan_id}/assignment.csv", response_class=CSVResponse)
def plan_assignment(
    city: CityCode, plan_id: int, session: SessionDep, _caller: Reader
) -> PlainTextResponse:
    stored = service.get_plan(session, city, plan_id)
    version = service.version_number(session, stored.plan)
    state = "draft" if stored.plan.approved_at is None else "approved"
    name = f"plan-{plan_id}{'' if version is None else f'-v{version}'}-{state}-assignment.csv"
    return PlainTextResponse(
        service.assignment_csv(session, stored),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/cities/{city}/plans/{plan_id}/map", response_class=HTMLResponse)
def plan_map(
    request: Request,
    city: CityCode,
    plan_id: int,
    session: SessionDep,
    caller: MaybeReader,
    expires: Annotated[int | None, Query(description="from a signed map link")] = None,
    homes: Annotated[str | None, Query(description="from a signed map link")] = None,
    sig: Annotated[str | None, Query(description="from a signed map link")] = None,
) -> HTMLResponse:
    """The plan map, for a key (``Authorization``) or a signed link (``POST …/map-link``): a
    browser cannot send a key. Exact homes only for roles that see them; others get homes
    rounded to 0.01° (about 1 km)."""
    if caller is not None:
        exact = caller.sees_exact_homes()
    elif (
        expires is not None
        and homes is not None
        and sig is not None
        and links.verify(
            request.app.state.link_secret, city, plan_id, expires=expires, homes=homes, sig=sig
        )
    ):
        exact = homes == "exact"
    else:
        raise Unauthorized(
            "API key or map link required",
            "send an API key, or open a link from POST "
            f"/cities/{city}/plans/{plan_id}/map-link (it may have expired)",
        )
    stored = service.get_plan(session, city, plan_id)
    return HTMLResponse(service.plan_map_html(session, stored, exact_homes=exact))


@router.post("/cities/{city}/plans/{plan_id}/map-link", response_model=MapLinkOut)
def plan_map_link(
    request: Request, city: CityCode, plan_id: int, session: SessionDep, caller: Reader
) -> MapLinkOut:
    """A link to the plan's map page that opens in a browser without a key until it expires.
    It shows exact homes only if this key may see them."""
    service.get_plan(session, city, plan_id)  # 404 for another city's or a missing plan
    settings: Settings = request.app.state.settings
    link = links.sign(
        request.app.state.link_secret,
        city,
        plan_id,
        ttl_s=settings.api.link_ttl_s,
        exact_homes=caller.sees_exact_homes(),
    )
    return MapLinkOut(
        url=link.url,
        expires_at=datetime.fromtimestamp(link.expires, UTC),
        exact_homes=link.exact_homes,
    )


@router.post("/cities/{city}/plans/{plan_id}/approve", response_model=PlanOut)
def approve_plan(city: CityCode, plan_id: int, session: SessionDep, caller: Cmmu) -> PlanOut:
    """The CMMU approves this plan; an earlier approved plan of the city is withdrawn."""
    return plan_out(service.approve_plan(session, city, plan_id, actor=caller.name))


@router.get("/cities/{city}/plans/{plan_id}/compare/{other_id}/map", response_class=HTMLResponse)
def compare_plans_map(
    city: CityCode, plan_id: int, other_id: int, session: SessionDep, _caller: Cmmu
) -> HTMLResponse:
    """A difference map: wards whose CO changes between the two plans, filled; one HTML file that
    works offline once saved (``curl -o difference.html …``)."""
    return HTMLResponse(service.difference_map_html(session, city, plan_id, other_id))


@router.get("/cities/{city}/plans/{plan_id}/compare/{other_id}", response_model=PlanComparisonOut)
def compare_plans(
    city: CityCode, plan_id: int, other_id: int, session: SessionDep, _caller: Cmmu
) -> PlanComparisonOut:
    """Which wards change CO between two plans of the city."""
    found = service.compare_plans(session, city, plan_id, other_id)
    return PlanComparisonOut(
        city=city,
        plan_a=plan_id,
        plan_b=other_id,
        changed=[WardChange(ward_id=w, organiser_a=a, organiser_b=b) for w, a, b in found.changed],
        unchanged=found.unchanged,
    )
