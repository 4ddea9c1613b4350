"""Hand edits of a stored plan: checked at once by the verifier of solved plans
(:func:`solver.edits.check_edit`), and, when asked, stored as a new plan version.

The parent plan is never changed. An edited plan is never called optimal: it is ``feasible`` and
its gap is how far its distance lies above the best bound known for its parent. An edit that breaks
a rule is stored only as a draft (``check.passed`` false), which can never be approved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, DomainError
from app.core.options import LayerOptions, PlanOptions
from app.db.models import Organiser, Plan, PlanAssignment, Ward, WardLayer
from app.pipeline import planning
from app.services import audit, pins, plan_versions, plans
from app.services.frames import gis_organisers, stored_layer
from gis.adjacency import build_adjacency
from gis.organisers import Organiser as GisOrganiser
from solver import verify
from solver.edits import EditCheck, check_edit
from solver.params import SolveParams
from solver.poverty import EstimateParams
from solver.problem import Solution, Status


class BadEdit(DomainError):
    """A move names a ward or CO the plan does not have (422)."""

    code = "bad-edit"


class EditRefused(Conflict):
    """An edit that breaks a rule, asked to be saved as a valid plan (409)."""

    code = "edit-breaks-rules"


@dataclass(frozen=True)
class Context:
    """A plan's wards and COs as the solver sees them, ready to check or store a new assignment:
    ``base`` is a ``PlanResult`` without a solution of its own (see :func:`result_with`)."""

    base: planning.PlanResult
    rows: list[Organiser]
    layer: WardLayer


def estimate_of(parameters: Mapping[str, Any]) -> EstimateParams:
    return EstimateParams(
        rate=float(parameters["poverty_rate"]), household_size=float(parameters["household_size"])
    )


#: Problems built for edit checks, newest last: a layer and a roster never change under one key
#: (homes are part of it), so the adjacency and the distances (most of a check's time) are built
#: once per plan and roster, not at every click.
_PROBLEMS: OrderedDict[tuple[Any, ...], planning.PlanResult] = OrderedDict()
_PROBLEMS_KEPT = 16
_PROBLEMS_LOCK = threading.Lock()


def build_context(
    session: Session,
    layer: WardLayer,
    rows: Sequence[Organiser],
    parameters: Mapping[str, Any],
    solve: SolveParams,
) -> Context:
    """The problem of ``layer``'s wards and the organisers ``rows`` under a plan's parameters."""
    key = (
        session.get_bind().engine.url.render_as_string(hide_password=True),
        layer.id,
        tuple(
            (
                o.id,
                o.organiser_id,
                o.name,
                o.home_ward,
                None if o.home is None else bytes(o.home.data),
            )
            for o in rows
        ),
        json.dumps(dict(parameters), sort_keys=True, default=str),
        repr(solve),
    )
    with _PROBLEMS_LOCK:
        if key in _PROBLEMS:
            _PROBLEMS.move_to_end(key)
            return Context(_PROBLEMS[key], list(rows), layer)
    base = _build(session, layer, rows, parameters, solve)
    with _PROBLEMS_LOCK:
        _PROBLEMS[key] = base
        while len(_PROBLEMS) > _PROBLEMS_KEPT:
            _PROBLEMS.popitem(last=False)
    return Context(base, list(rows), layer)


def _build(
    session: Session,
    layer: WardLayer,
    rows: Sequence[Organiser],
    parameters: Mapping[str, Any],
    solve: SolveParams,
) -> planning.PlanResult:
    gis_layer = stored_layer(session, layer)
    organisers: list[GisOrganiser] = gis_organisers(rows)
    estimate = estimate_of(parameters)
    snap = float(parameters.get("snap_metres", 5.0))
    metric = planning.metric_layer(gis_layer)  # one reprojection for the adjacency and distances
    adjacency = build_adjacency(metric.wards, snap_metres=snap)
    problem = planning.build_problem(metric, adjacency, organisers, estimate)
    config = PlanOptions(
        estimate=estimate,
        solve=solve,
        solver=str(parameters.get("solver", "highs")),
        snap_metres=snap,
    )
    empty = Solution(Status.NO_SOLUTION, None, None, None, solve.tolerance, "", "", 0.0)
    return planning.PlanResult(
        config=config,
        layer_options=LayerOptions(),
        label=layer.source_filename,
        layer=gis_layer,
        adjacency=adjacency,
        organisers=organisers,
        problem=problem,
        solution=empty,
        violations=[],
        warnings=list(adjacency.warnings),
    )


def plan_organisers(session: Session, plan_id: int) -> list[Organiser]:
    """The COs a plan gives wards to (retired since or not), by their id."""
    return list(
        session.scalars(
            select(Organiser)
            .where(
                Organiser.id.in_(
                    select(PlanAssignment.organiser_pk).where(PlanAssignment.plan_id == plan_id)
                )
            )
            .order_by(Organiser.organiser_id)
        )
    )


def assignment_of(session: Session, plan_id: int) -> dict[str, str]:
    """``{ward_id: organiser_id}`` of a stored plan."""
    rows = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == plan_id)
    ).all()
    return {str(w): str(o) for w, o in rows}


def solve_params_of(plan: Plan, time_limit: float = 0.0) -> SolveParams:
    p = plan.parameters
    return SolveParams(
        tolerance=plan.tolerance_used,
        respect_zones=bool(p.get("respect_zones", False)),
        time_limit=time_limit or float(p.get("time_limit", 60.0)),
        gap=float(p.get("gap", 1e-3)),
        seed=int(p.get("seed", 0)),
    )


def home_units(ctx: Context) -> dict[int, int]:
    unit = {u: i for i, u in enumerate(ctx.base.problem.unit_ids)}
    return {
        j: unit[o.home_ward]
        for j, o in enumerate(ctx.base.organisers)
        if o.home_ward is not None and o.home_ward in unit
    }


@dataclass(frozen=True)
class CheckedEdit:
    parent: plans.StoredPlan
    context: Context
    check: EditCheck
    moves: dict[str, str]


def check(session: Session, city_code: str, plan_id: int, moves: Mapping[str, str]) -> CheckedEdit:
    """Apply ``moves`` (``{ward_id: organiser_id}``) to the plan and check the result; nothing
    is stored. ``BadEdit`` (422) names unknown wards or COs and moves that change nothing. A move
    taking a ward away from the CO the city pinned it to (:mod:`app.services.pins`) breaks the
    edit, like a rule: refused unless kept as a draft, which can never be approved."""
    parent = plans.get_plan(session, city_code, plan_id)
    if parent.plan.status not in ("optimal", "feasible"):
        raise Conflict(
            "the plan has no assignment",
            f"plan {plan_id} is {parent.plan.status}; only a plan with wards can be edited",
            code="plan-without-answer",
        )
    if not moves:
        raise BadEdit("no moves", "give at least one ward and the CO it moves to")
    rows = plan_organisers(session, plan_id)
    ctx = build_context(
        session, parent.layer, rows, parent.plan.parameters, solve_params_of(parent.plan)
    )
    problem = ctx.base.problem
    mapping = assignment_of(session, plan_id)
    position = {o: j for j, o in enumerate(problem.organiser_ids)}
    base = [position[mapping[u]] for u in problem.unit_ids]
    try:
        result = check_edit(
            problem,
            base,
            dict(moves),
            parent.plan.tolerance_used,
            respect_zones=bool(parent.plan.parameters.get("respect_zones", False)),
            parent_bound=parent.plan.bound,
            home_units=home_units(ctx),
            pins=pins.stored_pins(session, parent.city.id),
        )
    except ValueError as exc:
        raise BadEdit("the edit cannot be applied", str(exc)) from None
    return CheckedEdit(parent, ctx, result, dict(moves))


def roster_sha256(organisers: Sequence[GisOrganiser]) -> str:
    roster = [
        {"organiser_id": o.organiser_id, "lon": round(o.lon, 7), "lat": round(o.lat, 7)}
        for o in organisers
    ]
    return hashlib.sha256(json.dumps(roster, sort_keys=True).encode()).hexdigest()


def result_with(ctx: Context, solution: Solution) -> planning.PlanResult:
    """The context's ``PlanResult`` carrying ``solution`` (its assignment is what is stored)."""
    base = ctx.base
    assert solution.assignment is not None
    violations = verify.check_plan(
        base.problem,
        solution.assignment,
        solution.tolerance,
        respect_zones=base.config.solve.respect_zones,
    )
    return dataclasses.replace(base, solution=solution, violations=violations)


def store(
    session: Session,
    parent: plans.StoredPlan,
    ctx: Context,
    result: planning.PlanResult,
    *,
    report: dict[str, Any],
    actor: str,
) -> Plan:
    """Store ``result`` as a new plan of the parent's city on ``ctx``'s layer (not yet numbered)."""
    sol = result.solution
    plan = Plan(
        created_at=func.clock_timestamp(),
        city_id=parent.city.id,
        layer_id=ctx.layer.id,
        parameters={**parent.plan.parameters, "layer_version": ctx.layer.version},
        input_hashes={
            "layer_sha256": ctx.layer.sha256,
            "organisers_sha256": roster_sha256(ctx.base.organisers),
        },
        solver=sol.solver,
        solver_version=sol.solver_version,
        seed=parent.plan.seed,
        status=sol.status.value,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        tolerance_used=sol.tolerance,
        seconds=round(sol.seconds, 3),
        timings={k: round(v, 3) for k, v in sol.timings.items()},
        warnings=[*result.warnings, *sol.warnings],
        report=report,
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    plans.store_answer(session, plan, ctx.layer, ctx.rows, result)
    return plan


def save(
    session: Session,
    city_code: str,
    plan_id: int,
    moves: Mapping[str, str],
    *,
    actor: str,
    note: str | None = None,
    draft: bool = False,
) -> tuple[CheckedEdit, plans.StoredPlan]:
    """Check the edit and store it as a new version (``reason`` edit, parent ``plan_id``).

    An edit that breaks a rule is refused (``EditRefused``, naming what breaks) unless ``draft``:
    then it is stored with its check failed, and can never be approved."""
    started = time.monotonic()
    edit = check(session, city_code, plan_id, moves)
    found = edit.check
    if not found.valid and not draft:
        raise EditRefused("the edit breaks the plan's rules", "; ".join(found.breaks))
    parent = edit.parent
    solution = Solution(
        Status.FEASIBLE,  # an edited plan is never called optimal
        found.assignment,
        found.objective,
        parent.plan.bound,
        parent.plan.tolerance_used,
        "edit",
        parent.plan.solver_version,
        time.monotonic() - started,
    )
    result = result_with(edit.context, solution)
    above = found.above_bound
    above_txt = "unknown" if above is None else f"{above * 100:.2f} %"
    state = "edited by hand" if found.valid else "INVALID draft (cannot be approved)"
    report = {
        "summary": f"{state} from plan {plan_id}: {above_txt} above the best bound known for "
        "its parent — an edited plan is not optimal",
        "explanation": "; ".join(found.breaks),
        "check": {
            "passed": found.valid and result.verified,
            # in the office's words; the verifier's own messages if it alone found something
            "violations": list(found.breaks) or [v.message for v in result.violations],
        },
        "mean_load": result.problem.mean_load,
        "max_deviation": verify.max_deviation(result.problem, found.assignment),
        "moves": edit.moves,
        "deltas": [d.describe() for d in found.deltas],
        "parent_objective": found.parent_objective,
        "above_parent_bound": above,
    }
    plan = store(session, parent, edit.context, result, report=report, actor=actor)
    plan_versions.record(
        session,
        plan,
        reason="edit",
        parent_id=plan_id,
        note=note,
        details={"moves": edit.moves, "valid": found.valid, "breaks": list(found.breaks)},
    )
    audit.record(
        session,
        actor,
        "plan.edit",
        "plan",
        plan.id,
        city=city_code,
        parent=plan_id,
        moves=edit.moves,
        valid=found.valid,
    )
    session.flush()
    return edit, plans.get_plan(session, city_code, plan.id)
