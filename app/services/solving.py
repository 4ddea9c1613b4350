"""One solve from an in-memory layer and organisers: estimate → adjacency → problem → solve → verify.

Shared by stored plans (``app.services.plans``) and the stateless ``/allocate`` route; the steps are
those of ``app.pipeline.planning.plan`` without its file reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.core.errors import DomainError
from app.core.options import (
    DEFAULT_GAP,
    DEFAULT_METHOD,
    DEFAULT_SNAP_METRES,
    DEFAULT_TOLERANCE,
    PlanOptions,
    parse_balance,
    parse_method,
)
from app.core.settings import Settings
from app.pipeline import answer_time, planning
from gis.layer import WardLayer
from gis.organisers import Organiser
from solver import verify
from solver.deadline import Deadline
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE, EstimateParams
from solver.problem import Progress
from solver.solve import SolveParams


class TimeLimitTooLong(DomainError):
    code = "time-limit-too-long"


#: The options of a solve, resolved against the server's limits (one model: app.core.options).
SolveConfig = PlanOptions


def solve_config(
    params: Mapping[str, Any],
    *,
    default_time_limit: float,
    max_time_limit: float,
    solver: str,
) -> PlanOptions:
    """Plan parameters as JSON (an API body's, a stored job's) resolved into :class:`PlanOptions`:
    the time limit defaults to, and may not exceed, the server's; absent values take the defaults
    of :mod:`app.core.options`."""
    asked = params.get("time_limit")
    time_limit = float(asked) if asked is not None else default_time_limit
    if time_limit > max_time_limit:
        raise TimeLimitTooLong(
            "time limit too long",
            f"time_limit {time_limit:g} s is above this server's maximum of {max_time_limit:g} s",
        )
    estimate = EstimateParams(
        rate=float(params.get("poverty_rate", DEFAULT_RATE)),
        household_size=float(params.get("household_size", DEFAULT_HOUSEHOLD_SIZE)),
    )
    tolerance, frontier = parse_balance(
        params.get("tolerance", DEFAULT_TOLERANCE), bool(params.get("frontier", False))
    )
    method = parse_method(params.get("method") or DEFAULT_METHOD)
    try:
        solve = SolveParams(
            tolerance=tolerance,
            respect_zones=bool(params.get("respect_zones", False)),
            time_limit=min(time_limit, max_time_limit),
            gap=float(params.get("gap", DEFAULT_GAP)),
            seed=int(params.get("seed", 0)),
            method=method,
        )
    except ValueError as exc:
        raise DomainError("plan parameters refused", str(exc), code="bad-option") from None
    return PlanOptions(
        estimate=estimate,
        solve=solve,
        solver=params.get("solver") or solver,
        snap_metres=float(params.get("snap_metres", DEFAULT_SNAP_METRES)),
        frontier=frontier,
    )


def server_config(params: Mapping[str, Any], settings: Settings) -> PlanOptions:
    """``params`` resolved against this server's solver settings (its time limit is the maximum)."""
    limit = settings.solver.time_limit
    return solve_config(
        params, default_time_limit=limit, max_time_limit=limit, solver=settings.solver.name
    )


def run(
    layer: WardLayer,
    organisers: list[Organiser],
    config: PlanOptions,
    *,
    label: str,
    on_progress: Callable[[Progress], None] | None = None,
    deadline: Deadline | None = None,
    pins: Mapping[str, str] | None = None,
) -> planning.PlanResult:
    """Solve and independently verify; ``label`` names the layer in messages and reports.
    ``deadline``: the whole request's time limit, started when the request was (phases timed).
    ``pins``: wards kept with their COs (``{ward_id: organiser_id}``, :mod:`solver.pins`)."""
    return planning.solve_layer(
        layer,
        organisers,
        config,
        label=label,
        on_progress=on_progress,
        deadline=deadline,
        pins=pins,
    )


def outcome(result: planning.PlanResult) -> dict[str, Any]:
    """What the solve proved beyond the plan table's columns (stored as ``plan.report``)."""
    sol = result.solution
    return {
        "summary": sol.describe(),
        "explanation": sol.explanation,
        "check": {"passed": result.verified, "violations": [v.message for v in result.violations]},
        "tightest_tolerance": sol.tightest_tolerance,
        "balance_floor": sol.balance_floor,
        "max_deviation": (
            verify.max_deviation(result.problem, sol.assignment) if sol.assignment else None
        ),
        "mean_load": result.problem.mean_load,
        "iterations": sol.iterations,
        "contiguity_cuts": sol.cuts,
        "method": answer_time.method_report(result.config.solve, result.solution),
        "adjacency": {
            "rule": result.adjacency.rule,
            "edges": len(result.adjacency.edges),
            "island_links": len(result.adjacency.links),
        },
        "frontier": answer_time.frontier_table(result.frontier),
        **answer_time.time_report(result.deadline),
    }


def all_warnings(result: planning.PlanResult) -> list[str]:
    return [*result.warnings, *result.solution.warnings]
