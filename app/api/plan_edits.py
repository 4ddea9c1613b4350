"""A plan's life over HTTP: hand edits checked at once (and saved as new versions), re-plans with
the fewest households moved (durable jobs), the city's plan versions and their lineage, the
difference between two versions, and withdrawal of an approval.

The CMMU edits, re-plans and withdraws approvals; every key that reads plans reads the history.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from app.api.deps import CityCode, Cmmu, Reader, SessionDep, SettingsDep
from app.api.jobs import job_out, job_url
from app.api.media import PDF, XLSX
from app.api.plans import plan_out
from app.api.schemas import PROBLEM_RESPONSES, JobOut
from app.api.schemas.plan_edits import (
    ApprovalActOut,
    DeltaOut,
    EditCheckOut,
    EditIn,
    FiguresOut,
    OrganiserDiff,
    ReplanIn,
    VersionDiffOut,
    VersionOut,
    WardDiff,
    WithdrawIn,
)
from app.services import allocation_order, jobs, plan_edits, plan_versions, plans, replans
from app.services.cities import get_city
from solver.edits import Delta, OrganiserFigures

router = APIRouter(tags=["plan versions"], responses=PROBLEM_RESPONSES)


def _figures(f: OrganiserFigures) -> FiguresOut:
    return FiguresOut(
        wards=f.wards,
        poor_households=round(f.poor_households, 1),
        deviation_from_mean_pct=round(100 * f.deviation, 2),
        mean_km_from_home=round(f.mean_km, 3),
    )


def _delta(d: Delta) -> DeltaOut:
    return DeltaOut(
        organiser_id=d.organiser,
        before=_figures(d.before),
        after=_figures(d.after),
        text=d.describe(),
    )


def version_out(e: plan_versions.Entry) -> VersionOut:
    plan, v = e.plan, e.version
    return VersionOut(
        plan_id=plan.id,
        version=v.version,
        reason=v.reason,  # type: ignore[arg-type]  # the table's CHECK constraint
        parent_plan_id=v.parent_plan_id,
        parent_version=e.parent_version,
        lineage=plan_versions.lineage_text(e),
        note=v.note,
        details=v.details,
        status=plan.status,
        summary=str(plan.report.get("summary", plan.status)),
        valid=bool(plan.report.get("check", {}).get("passed", False)),
        layer_version=plan.parameters.get("layer_version"),
        created_at=plan.created_at,
        created_by=plan.created_by,
        approved=plan.approved_at is not None,
        approved_at=plan.approved_at,
        approved_by=plan.approved_by,
        approval_history=[
            ApprovalActOut(
                action=a.action,  # type: ignore[arg-type]  # the table's CHECK constraint
                at=a.at,
                actor=a.actor,
                reason=a.reason,
                superseded_by=a.superseded_by,
            )
            for a in e.acts
        ],
    )


@router.post("/cities/{city}/plans/{plan_id}/edits", response_model=EditCheckOut)
def edit_plan(
    city: CityCode, plan_id: int, body: EditIn, session: SessionDep, caller: Cmmu
) -> EditCheckOut:
    """Move wards to other COs: the same checks as a solved plan, answered at once (coverage,
    one connected area per CO, balance, zones), with each touched CO's figures before and after.

    Nothing is stored unless ``save``; then the edit becomes a new version (the plan edited is
    never changed). An edit that breaks a rule is refused (409, naming the wards) unless
    ``draft``: a draft is stored but can never be approved."""
    return edit_answer(session, city, plan_id, body, actor=caller.name)


def edit_answer(
    session: Session, city: str, plan_id: int, body: EditIn, *, actor: str
) -> EditCheckOut:
    """The answer of :func:`edit_plan` for ``actor`` (also the map page's edit mode)."""
    moves = {m.ward_id: m.organiser_id for m in body.moves}
    if len(moves) < len(body.moves):
        raise plan_edits.BadEdit("a ward is moved twice", "give each ward once")
    saved = None
    if body.save:
        edit, stored = plan_edits.save(
            session, city, plan_id, moves, actor=actor, note=body.note, draft=body.draft
        )
        saved = stored
    else:
        edit = plan_edits.check(session, city, plan_id, moves)
    found = edit.check
    above = found.above_bound
    version = None
    if saved is not None:
        entry = plan_versions.lineage(session, saved.city, saved.plan.id)[0]
        version = entry.version.version
    return EditCheckOut(
        plan_id=plan_id,
        valid=found.valid,
        breaks=list(found.breaks),
        deltas=[_delta(d) for d in found.deltas],
        objective=round(found.objective, 3),
        parent_objective=round(found.parent_objective, 3),
        parent_bound=found.parent_bound,
        above_parent_bound_pct=None if above is None else round(100 * above, 3),
        saved=None if saved is None else plan_out(saved),
        version=version,
    )


@router.post("/cities/{city}/plans/{plan_id}/replan", status_code=202, response_model=JobOut)
def replan_plan(
    city: CityCode,
    plan_id: int,
    body: ReplanIn,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    caller: Cmmu,
) -> JobOut:
    """Re-plan from this plan after the roster changed (retire a CO who left, add new ones, move
    a home first), moving the fewest poor households; pins kept. Answers ``202`` with the job; its
    plan is a new version whose ``details`` give the wards and households moved, beside a fresh
    plan's."""
    job = replans.submit(
        session, city, plan_id, body.model_dump(mode="json"), settings, actor=caller.name
    )
    response.headers["Location"] = job_url(city, job.id)
    return job_out(jobs.get_job(session, city, job.id))


@router.get("/cities/{city}/versions", response_model=list[VersionOut])
def city_versions(city: CityCode, session: SessionDep, _caller: Reader) -> list[VersionOut]:
    """Every plan of the city with its version, lineage, who made it and why, and its approvals."""
    return [version_out(e) for e in plan_versions.history(session, get_city(session, city))]


@router.get("/cities/{city}/plans/{plan_id}/lineage", response_model=list[VersionOut])
def plan_lineage(
    city: CityCode, plan_id: int, session: SessionDep, _caller: Reader
) -> list[VersionOut]:
    """The plan, then the plan it was made from, and so on back to a solved plan."""
    return [
        version_out(e) for e in plan_versions.lineage(session, get_city(session, city), plan_id)
    ]


@router.get("/cities/{city}/plans/{plan_id}/diff/{other_id}", response_model=VersionDiffOut)
def plan_diff(
    city: CityCode, plan_id: int, other_id: int, session: SessionDep, _caller: Reader
) -> VersionDiffOut:
    """What changes from this plan to the other: wards that change CO, households moved, loads."""
    d = plan_versions.diff(session, get_city(session, city), plan_id, other_id)
    return VersionDiffOut(
        plan_a=plan_id,
        plan_b=other_id,
        version_a=d.a.version.version,
        version_b=d.b.version.version,
        changed=[
            WardDiff(ward_id=w, organiser_a=a, organiser_b=b, poor_households=h)
            for w, a, b, h in d.changed
        ],
        unchanged=d.unchanged,
        households_moved=d.households_moved,
        organisers=[
            OrganiserDiff(
                organiser_id=o,
                poor_households_a=None if a is None else a["load"],
                poor_households_b=None if b is None else b["load"],
                wards_a=None if a is None else a["wards"],
                wards_b=None if b is None else b["wards"],
            )
            for o, (a, b) in d.loads.items()
        ],
    )


@router.post("/cities/{city}/plans/{plan_id}/withdraw-approval", response_model=VersionOut)
def withdraw_approval(
    city: CityCode, plan_id: int, body: WithdrawIn, session: SessionDep, caller: Cmmu
) -> VersionOut:
    """Withdraw the plan's approval (409 if it has none); the act and its reason are kept."""
    stored = plans.get_plan(session, city, plan_id)
    plan_versions.withdraw(session, stored.city, stored.plan, actor=caller.name, reason=body.reason)
    return version_out(plan_versions.lineage(session, stored.city, plan_id)[0])


@router.get(
    "/cities/{city}/plans/{plan_id}/allocation-order.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the order as PDF"}},
)
def allocation_order_pdf(
    city: CityCode, plan_id: int, session: SessionDep, _caller: Reader
) -> Response:
    """The ward-wise work allocation order (A4, English and Hindi): each CO's wards with names,
    poor households, contact point and home ward; plan version and approval; map; signature."""
    return Response(
        allocation_order.order_pdf(session, city, plan_id),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{city}-plan-{plan_id}-order.pdf"'},
    )


@router.get(
    "/cities/{city}/plans/{plan_id}/allocation-order.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the order as XLSX"}},
)
def allocation_order_xlsx(
    city: CityCode, plan_id: int, session: SessionDep, _caller: Reader
) -> Response:
    """The same order as an XLSX workbook, for the office's spreadsheets."""
    return Response(
        allocation_order.order_xlsx(session, city, plan_id),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{city}-plan-{plan_id}-order.xlsx"'},
    )
