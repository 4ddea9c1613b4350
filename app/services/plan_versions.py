"""Plan versions: each plan's number within its city, the plan it was made from and why, and the
acts on its approval (``plan_version`` and ``plan_approval``).

Plans stay immutable. An edit or a re-plan of an approved plan is a new draft version; the parent
keeps its approval until the new version is approved, which supersedes it (recorded as such), or
until the CMMU withdraws it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound
from app.db.models import (
    City,
    Organiser,
    Plan,
    PlanApproval,
    PlanAssignment,
    PlanVersion,
    Ward,
)
from app.services import audit
from solver.poverty import WardFigures, poor_households

#: The first key of the advisory lock that numbers a city's plans (the second is the city's id).
_VERSION_LOCK = 13_001


def record(
    session: Session,
    plan: Plan,
    *,
    reason: str,
    parent_id: int | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> PlanVersion:
    """Give a stored (flushed) plan the city's next version number, under a lock per city."""
    session.execute(select(func.pg_advisory_xact_lock(_VERSION_LOCK, plan.city_id)))
    last = session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.city_id == plan.city_id)
    )
    row = PlanVersion(
        plan_id=plan.id,
        city_id=plan.city_id,
        version=(last or 0) + 1,
        parent_plan_id=parent_id,
        reason=reason,
        note=note,
        details=details or {},
    )
    session.add(row)
    session.flush()
    return row


def record_act(
    session: Session,
    plan_id: int,
    action: str,
    actor: str,
    *,
    reason: str | None = None,
    superseded_by: int | None = None,
) -> None:
    """One act on a plan's approval (approve, withdraw, supersede) into its history."""
    session.add(
        PlanApproval(
            plan_id=plan_id,
            action=action,
            at=func.clock_timestamp(),
            actor=actor,
            reason=reason,
            superseded_by=superseded_by,
        )
    )


def withdraw(session: Session, city: City, plan: Plan, *, actor: str, reason: str) -> None:
    """Withdraw the approval in force of ``plan`` (kept in its history); 409 when it has none."""
    if plan.approved_at is None:
        raise Conflict(
            "the plan is not approved",
            f"plan {plan.id} has no approval to withdraw",
            code="plan-not-approved",
        )
    plan.approved_at, plan.approved_by = None, None
    record_act(session, plan.id, "withdraw", actor, reason=reason)
    audit.record(
        session, actor, "plan.approval_withdrawn", "plan", plan.id, city=city.code, reason=reason
    )
    session.flush()
    session.refresh(plan)


@dataclass(frozen=True)
class Act:
    action: str
    at: datetime
    actor: str
    reason: str | None
    superseded_by: int | None


@dataclass(frozen=True)
class Entry:
    """One plan in its city's history."""

    plan: Plan
    version: PlanVersion
    parent_version: int | None
    acts: list[Act]


_LINEAGE = {
    "new": "solved",
    "edit": "edited from version {}",
    "replan": "re-planned from version {}",
}


def lineage_text(entry: Entry) -> str:
    """How the plan came to be, e.g. "edited from version 3"."""
    return _LINEAGE[entry.version.reason].format(entry.parent_version)


def _entries(session: Session, city: City, where: Any) -> list[Entry]:
    parent = PlanVersion.__table__.alias("parent")
    rows = session.execute(
        select(Plan, PlanVersion, parent.c.version)
        .join(PlanVersion, PlanVersion.plan_id == Plan.id)
        .outerjoin(parent, parent.c.plan_id == PlanVersion.parent_plan_id)
        .where(Plan.city_id == city.id, where)
        .order_by(PlanVersion.version)
    ).all()
    ids = [plan.id for plan, _, _ in rows]
    acts: dict[int, list[Act]] = {i: [] for i in ids}
    for a in session.scalars(
        select(PlanApproval).where(PlanApproval.plan_id.in_(ids)).order_by(PlanApproval.id)
    ):
        acts[a.plan_id].append(Act(a.action, a.at, a.actor, a.reason, a.superseded_by))
    return [Entry(plan, version, pv, acts[plan.id]) for plan, version, pv in rows]


def history(session: Session, city: City) -> list[Entry]:
    """Every plan of the city, oldest version first."""
    return _entries(session, city, True)


def lineage(session: Session, city: City, plan_id: int) -> list[Entry]:
    """The plan and the plans it was made from, back to a solved one; the plan first."""
    chain: list[int] = []
    current: int | None = plan_id
    while current is not None and current not in chain:
        chain.append(current)
        current = session.scalar(
            select(PlanVersion.parent_plan_id).where(PlanVersion.plan_id == current)
        )
    found = {e.plan.id: e for e in _entries(session, city, Plan.id.in_(chain))}
    if plan_id not in found:
        raise NotFound("plan not found", f"{city.code!r} has no plan {plan_id}")
    return [found[i] for i in chain if i in found]


@dataclass(frozen=True)
class Diff:
    a: Entry
    b: Entry
    changed: list[tuple[str, str | None, str | None, float | None]]  # ward, CO in a, in b, poor hh
    unchanged: int
    households_moved: float
    loads: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]  # CO → area in a, in b


def _ward_households(session: Session, plan: Plan) -> dict[str, float]:
    """Each ward's poor households under the plan's own estimate (as its areas' loads)."""
    rate, size = (float(plan.parameters[k]) for k in ("poverty_rate", "household_size"))
    out = {}
    for ward in session.scalars(select(Ward).where(Ward.layer_id == plan.layer_id)):
        figures = WardFigures(
            None if ward.population is None else float(ward.population),
            None if ward.households is None else float(ward.households),
            None if ward.poor_households is None else float(ward.poor_households),
        )
        out[ward.ward_id] = poor_households(figures, rate, size)
    return out


def diff(session: Session, city: City, a_id: int, b_id: int) -> Diff:
    """Which wards change CO from plan ``a`` to plan ``b`` (by ward id), their poor households
    (``a``'s estimate; ``b``'s for a ward new in ``b``'s layer), and each CO's area in both."""
    found = {e.plan.id: e for e in _entries(session, city, Plan.id.in_((a_id, b_id)))}
    for pid in (a_id, b_id):
        if pid not in found:
            raise NotFound("plan not found", f"{city.code!r} has no plan {pid}")
    a, b = found[a_id], found[b_id]
    for e in (a, b):
        if e.plan.status not in ("optimal", "feasible"):
            raise Conflict(
                "the plan has no assignment",
                f"plan {e.plan.id} is {e.plan.status}",
                code="plan-without-answer",
            )
    in_a, in_b = _assignment(session, a_id), _assignment(session, b_id)
    hh = {**_ward_households(session, b.plan), **_ward_households(session, a.plan)}
    wards = sorted(set(in_a) | set(in_b), key=lambda w: (len(w), w))
    changed = [
        (w, in_a.get(w), in_b.get(w), None if w not in hh else round(hh[w], 1))
        for w in wards
        if in_a.get(w) != in_b.get(w)
    ]
    moved = sum(h or 0.0 for w, oa, ob, h in changed if oa is not None and ob is not None)
    areas_a = {x["organiser_id"]: x for x in a.plan.report.get("areas", [])}
    areas_b = {x["organiser_id"]: x for x in b.plan.report.get("areas", [])}
    loads = {o: (areas_a.get(o), areas_b.get(o)) for o in sorted(set(areas_a) | set(areas_b))}
    return Diff(a, b, changed, len(wards) - len(changed), round(moved, 1), loads)


def _assignment(session: Session, plan_id: int) -> dict[str, str]:
    rows = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == plan_id)
    ).all()
    return {str(w): str(o) for w, o in rows}
