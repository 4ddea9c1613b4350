"""Re-plans of a stored plan as durable jobs: the city's current layer and active COs, solved with
the fewest poor households moved from the parent plan (:func:`solver.replan.replan`), pins kept,
beside a fresh plan of the same roster (what stability costs in distance).

Submitted like a plan job (``app.services.jobs``, kind ``replan``) and run by the same worker; the
new plan is stored as a version of the city with reason ``replan`` and the parent's id.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict
from app.core.settings import Settings
from app.db import queue
from app.db.models import City, Plan, SolveJob, Ward, WardLayer
from app.services import audit, jobs, pins, plan_edits, plan_versions, plans, solving
from app.services.cities import get_city, require_current_layer
from app.services.organisers import active_organisers
from solver import pins as solver_pins
from solver import verify
from solver.backends import Backend, make_backend
from solver.params import SolveParams
from solver.problem import Problem, Progress
from solver.replan import Replan, base_positions, changes, replan


def submit(
    session: Session,
    city_code: str,
    parent_id: int,
    request: dict[str, Any],
    settings: Settings,
    *,
    actor: str,
) -> SolveJob:
    """Queue a re-plan of plan ``parent_id`` on the city's current layer and active COs.

    ``request``: ``pins`` ({ward: CO}), ``time_limit`` (s, for the re-plan and the fresh plan
    together), ``tolerance`` (default: the parent's), ``compare_fresh``, ``max_moves`` (at most
    this many wards leave their current CO), ``note``."""
    city = get_city(session, city_code)
    parent = plans.get_plan(session, city_code, parent_id)
    if parent.plan.status not in ("optimal", "feasible"):
        raise Conflict(
            "the plan has no assignment",
            f"plan {parent_id} is {parent.plan.status}; re-plan from a plan with wards",
            code="plan-without-answer",
        )
    jobs.fair_share(session, settings, actor)
    layer_id = require_current_layer(city)
    if not active_organisers(session, city.id):
        raise Conflict(
            "the city has no active organisers",
            f"import organisers first (POST /cities/{city.code}/organisers)",
            code="no-organisers",
        )
    pins.for_plan(session, city, layer_id, request.get("pins"))  # stored + asked, checked
    limit = settings.solver.time_limit
    time_limit = request.get("time_limit") or limit
    if time_limit > limit:
        raise solving.TimeLimitTooLong(
            "time limit too long",
            f"time_limit {time_limit:g} s is above this server's maximum of {limit:g} s",
        )
    job = SolveJob(
        kind="replan",
        city_id=city.id,
        layer_id=layer_id,
        request={**request, "parent_plan_id": parent_id},
        time_limit=float(time_limit),
        solver=settings.solver.name,
        created_by=actor,
    )
    session.add(job)
    session.flush()
    job.queue_job_id = queue.defer_solve(session, job.id)
    audit.record(
        session, actor, "plan.replan_request", "solve_job", job.id, city=city.code, parent=parent_id
    )
    session.flush()
    return job


def _ward_ids(session: Session, layer_id: int) -> set[str]:
    return set(session.scalars(select(Ward.ward_id).where(Ward.layer_id == layer_id)))


def run(
    session: Session, job: SolveJob, on_progress: Callable[[Progress], None] | None = None
) -> int:
    """Solve a claimed re-plan job and store its plan; returns the new plan's id. A re-plan that
    cannot be made (a pin that cannot be kept, no plan in time) raises ``Conflict`` saying why."""
    assert job.city_id is not None
    assert job.layer_id is not None
    city = session.get_one(City, job.city_id)
    req = job.request
    parent_id = int(req["parent_plan_id"])
    parent = plans.get_plan(session, city.code, parent_id)
    layer = session.get_one(WardLayer, job.layer_id)
    started = time.monotonic()
    rows = active_organisers(session, city.id)
    compare = bool(req.get("compare_fresh", True))
    base_params = plan_edits.solve_params_of(parent.plan, job.time_limit)
    tolerance = req.get("tolerance")
    params = SolveParams(
        tolerance=base_params.tolerance if tolerance is None else float(tolerance),
        respect_zones=base_params.respect_zones,
        time_limit=job.time_limit / 2 if compare else job.time_limit,
        gap=base_params.gap,
        seed=base_params.seed,
    )
    ctx = plan_edits.build_context(session, layer, rows, parent.plan.parameters, params)
    problem = ctx.base.problem
    base = plan_edits.assignment_of(session, parent_id)
    kept = pins.for_plan(session, city, layer.id, req.get("pins"))  # the city's pins and the asked
    reasons = solver_pins.obvious(problem, kept, params.tolerance)
    if reasons:
        why = "the pins cannot be kept: " + "; ".join(reasons)
        raise Conflict("no re-plan", why, code="no-replan")
    cap = req.get("max_moves")
    max_moves = None if cap is None else int(cap)
    backend = make_backend(job.solver, seed=params.seed)
    try:
        stable = replan(
            problem,
            base,
            params,
            pins=kept,
            max_moves=max_moves,
            backend=backend,
            on_progress=on_progress,
        )
        fresh = (
            replan(problem, {}, params, pins=kept, backend=backend)
            if compare and stable.plan
            else None
        )
    except ValueError as exc:
        raise Conflict("the re-plan cannot start", str(exc), code="bad-replan") from None
    if stable.plan is None or stable.distance is None or stable.changes is None:
        why = _pins_named(problem, params, kept, stable, started + job.time_limit, backend)
        raise Conflict("no re-plan", why, code="no-replan")
    details = _details(problem, base, stable, fresh, kept)
    details["pins_stored"] = pins.stored_pins(session, city.id)
    details["wards_new"] = sorted(_ward_ids(session, layer.id) - set(base))
    details["wards_gone"] = sorted(set(base) - _ward_ids(session, layer.id))
    details["left"] = sorted(set(base.values()) - set(problem.organiser_ids))
    details["joined"] = sorted(set(problem.organiser_ids) - set(base.values()))
    plan = _store(session, parent, ctx, stable, fresh, details, job.created_by)
    # where the moved wards are highlighted: the parent against the re-plan, on one map
    details["compare_map"] = f"/cities/{city.code}/plans/{parent_id}/compare/{plan.id}/map"
    plan_versions.record(
        session, plan, reason="replan", parent_id=parent_id, note=req.get("note"), details=details
    )
    audit.record(
        session,
        job.created_by,
        "plan.create",
        "plan",
        plan.id,
        city=city.code,
        layer_version=layer.version,
        status=plan.status,
        replan_of=parent_id,
    )
    session.flush()
    return plan.id


def _pins_named(
    problem: Problem,
    params: SolveParams,
    kept: dict[str, str],
    stable: Replan,
    deadline: float,
    backend: Backend,
) -> str:
    """The re-plan's refusal; when it broke pins (no cap asked: then only the pins and the
    balance decide), the deletion filter's pins that cannot be kept together, in the time left."""
    tolerance = stable.solution.tolerance
    if not stable.broken_pins or stable.max_moves is not None or tolerance is None:
        return stable.refusal
    pinned, _ = solver_pins.positions(problem, kept)
    at = dataclasses.replace(params, tolerance=tolerance)
    found = solver_pins.conflict(problem, at, pinned, stable.broken_pins, deadline, backend)
    if not (found.proved and found.pins):
        return stable.refusal
    return found.describe(problem, tolerance, stable.broken_pins, True)


def _details(
    problem: Problem,
    base: dict[str, str],
    stable: Replan,
    fresh: Replan | None,
    pins: dict[str, str],
) -> dict[str, Any]:
    assert stable.changes is not None
    out: dict[str, Any] = {
        "pins": pins,
        "wards_moved": list(stable.changes.wards_moved),
        "households_moved": round(stable.changes.households_moved, 1),
        "organisers_affected": list(stable.changes.organisers_affected),
        "distance": stable.distance,
        "mean_km_from_home": _mean_km(problem, stable.distance),
        "steps": [s.as_dict() for s in (stable.moves, stable.nearness) if s is not None],
        "moves_proved_minimal": stable.moves_proved,
        "max_moves": stable.max_moves,
    }
    if fresh is not None and fresh.plan is not None:
        moved = changes(problem, base_positions(problem, base), fresh.plan)
        out["fresh_plan"] = {
            "summary": fresh.describe(),
            "distance": fresh.distance,
            "mean_km_from_home": _mean_km(problem, fresh.distance),
            "wards_moved": list(moved.wards_moved),
            "households_moved": round(moved.households_moved, 1),
            "organisers_affected": list(moved.organisers_affected),
        }
    elif fresh is not None:
        out["fresh_plan"] = {"summary": fresh.refusal}
    return out


def _mean_km(problem: Problem, distance: float | None) -> float | None:
    if distance is None or problem.total_weight <= 0:
        return None
    return round(distance / problem.total_weight, 3)


def _store(
    session: Session,
    parent: plans.StoredPlan,
    ctx: plan_edits.Context,
    stable: Replan,
    fresh: Replan | None,
    details: dict[str, Any],
    actor: str,
) -> Plan:
    """The re-plan as a plan: objective = its distance; bound = the fresh plan's (a lower bound on
    every plan's distance: edits of this plan are measured on it); status optimal only when both
    steps are proved, gap = step 2's (the distance among plans moving at most step 1's
    households; both steps' figures are in the report)."""
    sol = stable.solution
    fresh_bound = fresh.solution.bound if fresh is not None and fresh.plan is not None else None
    assert stable.plan is not None
    solution = dataclasses.replace(
        sol,
        assignment=stable.plan,
        objective=stable.distance,
        bound=fresh_bound,
        seconds=sol.seconds + (fresh.solution.seconds if fresh is not None else 0.0),
    )
    result = plan_edits.result_with(ctx, solution)
    report = {
        **solving.outcome(result),
        "summary": f"re-plan from plan {parent.plan.id}: {stable.describe()}",
        "max_deviation": verify.max_deviation(result.problem, stable.plan),
        "replan": details,
    }
    plan = plan_edits.store(session, parent, ctx, result, report=report, actor=actor)
    plan.gap = sol.gap  # step 2's, proved among plans moving at most step 1's households
    return plan
