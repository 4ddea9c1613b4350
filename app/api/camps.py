"""Registration camps over the API (issue 17): request a camp plan (a queued job), follow it, read
the stored versions, approve one, and download its CSV, iCalendar file, map and printable sheets.

The GIS cell and the CMMU may request camp plans; the CMMU approves. Any key of the city reads.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from geoalchemy2.shape import to_shape

from app.api.deps import CityCode, Cmmu, Reader, SessionDep, SettingsDep, require
from app.api.layers import read_upload
from app.api.schemas import PROBLEM_RESPONSES, JobProgress
from app.api.schemas.camps import CampForm, CampJobOut, CampOut, CampPlanOut
from app.core.errors import NotFound
from app.db.models import CampCluster
from app.services import camp_jobs, camp_store
from app.services import jobs as job_service
from app.services.keys import Principal, Role
from gis.errors import InputError, Issue

router = APIRouter(tags=["registration camps"], responses=PROBLEM_RESPONSES)

#: The GIS cell and the CMMU (and admins) request camp plans.
CampPlanner = Annotated[Principal, Depends(require(Role.GIS, Role.CMMU))]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FileName = Annotated[
    str, Path(description="one of " + ", ".join(camp_store.FILES), pattern=r"^[a-z.-]{1,40}$")
]


def _bad(field: str, value: str, message: str) -> InputError:
    return InputError(
        f"camp request refused: {field} {value!r}: {message}",
        [Issue("invalid-camp-request", message, field=field, value=value)],
        code="invalid-camp-request",
    )


def _weekdays(text: str) -> tuple[int, ...]:
    out = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        if part[:3] not in WEEKDAYS:
            raise _bad("no_camp_weekdays", text, "give weekdays like sun or sat,sun (or nothing)")
        out.append(WEEKDAYS.index(part[:3]))
    return tuple(out)


def _holidays(text: str) -> tuple[date, ...]:
    out = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            out.append(date.fromisoformat(part))
        except ValueError:
            raise _bad(
                "holidays", part, "give dates like 2027-04-14, separated by commas"
            ) from None
    return tuple(out)


def camp_job_out(found: job_service.StoredJob) -> CampJobOut:
    job, city = found.job, found.city
    assert city is not None
    plan_id = None if job.result is None else job.result.get("camp_plan_id")
    return CampJobOut(
        id=job.id,
        city=city.code,
        status=job.status,  # type: ignore[arg-type]  # the table's CHECK constraint
        queue_position=found.queue_position,
        attempts=job.attempts,
        progress=JobProgress.model_validate(job.progress),
        cancel_requested=job.cancel_requested,
        error=job.error,
        camp_plan_id=plan_id,
        camp_plan_url=None if plan_id is None else f"/cities/{city.code}/camps/{plan_id}",
        url=f"/cities/{city.code}/camp-jobs/{job.id}",
        cancel_url=f"/cities/{city.code}/jobs/{job.id}/cancel",
        request=job.request,
        time_limit=job.time_limit,
        created_at=job.created_at,
        created_by=job.created_by,
        finished_at=job.finished_at,
    )


def _camp_out(cluster: CampCluster, ward_ids: list[str]) -> CampOut:
    where = to_shape(cluster.venue)
    return CampOut(
        camp_id=cluster.camp_id,
        venue_id=cluster.venue_id,
        venue_name=cluster.venue_name,
        lat=where.y,
        lon=where.x,
        venue_ward_id=cluster.venue_ward_id,
        ward_ids=ward_ids,
        expected_registrants=cluster.registrants,
        capacity_per_day=cluster.capacity_per_day,
        dates=[date.fromisoformat(d) for d in cluster.dates],
    )


def camp_plan_out(stored: camp_store.StoredCampPlan) -> CampPlanOut:
    plan, code = stored.plan, stored.city.code
    url = f"/cities/{code}/camps/{plan.id}"
    wards = {c.camp_id: list(c.ward_ids) for c in stored.camps}
    return CampPlanOut(
        id=plan.id,
        city=code,
        version=plan.version,
        parent_id=plan.parent_id,
        job_id=plan.job_id,
        layer_id=plan.layer_id,
        status=plan.status,  # type: ignore[arg-type]  # the table's CHECK constraint
        describe=str(plan.report.get("describe", plan.status)),
        objective_registrant_km=plan.objective,
        bound=plan.bound,
        gap=plan.gap,
        camps_count=plan.camps,
        camps_bound=plan.camps_bound,
        count_proved=plan.count_proved,
        verified=plan.verified,
        explanation=str(plan.report.get("explanation", "")),
        seconds=plan.seconds,
        solver_version=plan.solver_version,
        parameters=plan.parameters,
        warnings=[str(w) for w in plan.warnings],
        created_at=plan.created_at,
        created_by=plan.created_by,
        approved_at=plan.approved_at,
        approved_by=plan.approved_by,
        camps=[_camp_out(c, wards[c.camp_id]) for c in plan.clusters],
        files={name: f"{url}/{name}" for name in camp_store.FILES} if stored.camps else {},
        url=url,
    )


@router.post("/cities/{city}/camps", status_code=202, response_model=CampJobOut)
def request_camps(
    city: CityCode,
    session: SessionDep,
    settings: SettingsDep,
    caller: CampPlanner,
    response: Response,
    form: Annotated[CampForm, Form()],
    venues: Annotated[
        UploadFile | None,
        File(
            description="candidate venues, a CSV (name, lat, lon[, venue_id][, capacity_per_day]"
            "[, unavailable (dates separated by ;)]) or a GIS point file (GeoJSON, GeoPackage, "
            "zipped shapefile; read in the parsing sandbox); without it, the city's community "
            "centres"
        ),
    ] = None,
    ward_table: Annotated[
        UploadFile | None,
        File(
            description="expected registrants per ward, CSV: a ward number (or name) column and "
            "a registrants column (registrants, workers, …); instead of the share of the estimate"
        ),
    ] = None,
) -> CampJobOut:
    """Request a camp plan: contiguous ward clusters, one venue each, dates in the window.

    Answers ``202`` with the job (``Location``: the job); a worker solves it. Bad input (a date,
    a field, a venue line, a window too short for the expected registrants, with the days or
    teams needed) is refused at once with a problem naming the field and value; nothing is stored.
    """
    order = camp_jobs.CampOrder(
        start=form.start,
        end=form.end,
        teams=form.teams,
        per_camp_per_day=form.per_camp_per_day,
        no_camp_weekdays=_weekdays(form.no_camp_weekdays),
        holidays=_holidays(form.holidays),
        max_camp_days=form.max_camp_days,
        camps=form.camps,
        registrant_share=form.registrant_share,
        registrant_basis=form.registrant_basis,
        hours=form.hours,
        time_limit=form.time_limit,
        replaces=form.replaces,
        registrants_column=form.registrants_column,
    )
    upload = None if venues is None else read_upload(venues, "venues.csv")
    table = None if ward_table is None else read_upload(ward_table, "registrants.csv")
    job = camp_jobs.submit(
        session, city, order, upload, settings, actor=caller.name, ward_table=table
    )
    out = camp_job_out(job_service.get_job(session, city, job.id))
    response.headers["Location"] = out.url
    return out


@router.get("/cities/{city}/camp-jobs/{job_id}", response_model=CampJobOut)
def get_camp_job(city: CityCode, job_id: int, session: SessionDep, _caller: Reader) -> CampJobOut:
    """Status, queue position and, when done, the camp plan it stored."""
    found = job_service.get_job(session, city, job_id)
    if found.job.kind != "camps":
        raise NotFound("camp job not found", f"{city!r} has no camp job {job_id}")
    return camp_job_out(found)


@router.get("/cities/{city}/camps", response_model=list[CampPlanOut])
def list_camp_plans(
    city: CityCode,
    session: SessionDep,
    _caller: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CampPlanOut]:
    """The city's camp plans, newest version first."""
    return [
        camp_plan_out(camp_store.get_plan(session, city, p.id))
        for p in camp_store.list_plans(session, city, limit=limit, offset=offset)
    ]


@router.get("/cities/{city}/camps/{camp_plan_id}", response_model=CampPlanOut)
def get_camp_plan(
    city: CityCode, camp_plan_id: int, session: SessionDep, _caller: Reader
) -> CampPlanOut:
    """One camp plan: its camps (venue, wards, dates), what was proved, and its files."""
    return camp_plan_out(camp_store.get_plan(session, city, camp_plan_id))


@router.post("/cities/{city}/camps/{camp_plan_id}/approve", response_model=CampPlanOut)
def approve_camp_plan(
    city: CityCode, camp_plan_id: int, session: SessionDep, caller: Cmmu
) -> CampPlanOut:
    """The CMMU approves a checked camp plan (another approved version of the city is withdrawn)."""
    return camp_plan_out(camp_store.approve(session, city, camp_plan_id, actor=caller.name))


@router.get(
    "/cities/{city}/camps/{camp_plan_id}/{name}",
    response_class=Response,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in sorted(set(camp_store.FILES.values()))
            }
        }
    },
)
def camp_plan_file(
    city: CityCode, camp_plan_id: int, name: FileName, session: SessionDep, _caller: Reader
) -> Response:
    """A file of the camp plan: ``camps.csv``, ``camps.ics`` (iCalendar), ``camps-map.html``
    (offline map), ``camp-schedule.pdf`` and ``camp-notices.pdf`` (Hindi and English)."""
    if name not in camp_store.FILES:
        raise NotFound("no such file", f"a camp plan's files are {', '.join(camp_store.FILES)}")
    data = camp_store.plan_file(session, city, camp_plan_id, name)
    shown = "inline" if name.endswith(".html") else "attachment"
    return Response(
        data,
        media_type=camp_store.FILES[name],
        headers={"Content-Disposition": f'{shown}; filename="{name}"'},
    )
