"""One solve from an in-memory layer and organisers: estimate → adjacency → problem → solve → verify.

Shared by stored plans (``app.services.plans``) and the stateless ``/allocate`` route; the steps are
those of ``app.planning.plan`` without its file reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import answer_time, planning
from app.errors import DomainError
from app.schemas import PlanParameters
from app.settings import Settings
from gis.layer import WardLayer
from gis.organisers import Organiser
from solver import verify
from solver.deadline import Deadline
from solver.frontier import FrontierRequest
from solver.poverty import EstimateParams
from solver.problem import Progress
from solver.solve import SolveParams


class TimeLimitTooLong(DomainError):
    code = "time-limit-too-long"


@dataclass(frozen=True)
class SolveConfig:
    """Everything a solve needs besides its data, resolved against the server's limits."""

    estimate: EstimateParams
    solve: SolveParams
    solver: str
    snap_metres: float
    frontier: FrontierRequest | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tolerance": answer_time.tolerance_requested(self.solve, self.frontier),
            "frontier": self.frontier is not None,
            "respect_zones": self.solve.respect_zones,
            "time_limit": self.solve.time_limit,
            "gap": self.solve.gap,
            "seed": self.solve.seed,
            "solver": self.solver,
            "snap_metres": self.snap_metres,
            "poverty_rate": self.estimate.rate,
            "household_size": self.estimate.household_size,
            "households_per_organiser": self.estimate.households_per_organiser,
        }


def solve_config(
    params: PlanParameters, *, default_time_limit: float, max_time_limit: float, solver: str
) -> SolveConfig:
    """Resolve request parameters: the time limit defaults to, and may not exceed, the server's."""
    time_limit = params.time_limit if params.time_limit is not None else default_time_limit
    if time_limit > max_time_limit:
        raise TimeLimitTooLong(
            "time limit too long",
            f"time_limit {time_limit:g} s is above this server's maximum of {max_time_limit:g} s",
        )
    tolerance = None if params.tolerance in ("auto", "balanced") else float(params.tolerance)
    return SolveConfig(
        estimate=EstimateParams(rate=params.poverty_rate, household_size=params.household_size),
        solve=SolveParams(
            tolerance=tolerance,
            respect_zones=params.respect_zones,
            time_limit=min(time_limit, max_time_limit),
            gap=params.gap,
            seed=params.seed,
        ),
        solver=params.solver or solver,
        snap_metres=params.snap_metres,
        frontier=answer_time.frontier_request(str(params.tolerance), params.frontier),
    )


def server_config(params: PlanParameters, settings: Settings) -> SolveConfig:
    """``params`` resolved against this server's solver settings (its time limit is the maximum)."""
    limit = settings.solver.time_limit
    return solve_config(
        params, default_time_limit=limit, max_time_limit=limit, solver=settings.solver.name
    )


def run(
    layer: WardLayer,
    organisers: list[Organiser],
    config: SolveConfig,
    *,
    label: str,
    on_progress: Callable[[Progress], None] | None = None,
    deadline: Deadline | None = None,
) -> planning.PlanResult:
    """Solve and independently verify; ``label`` names the layer in messages and reports.
    ``deadline``: the whole request's time limit, started when the request was (phases timed)."""
    request = planning.PlanRequest(
        layer=planning.LayerRequest(wards=Path(label)),
        organisers=Path("organisers"),
        estimate=config.estimate,
        solve=config.solve,
        solver=config.solver,
        snap_metres=config.snap_metres,
        frontier=config.frontier,
    )
    return planning.solve_layer(
        request, layer, organisers, on_progress=on_progress, deadline=deadline
    )


def outcome(result: planning.PlanResult) -> dict[str, Any]:
    """What the solve proved beyond the plan table's columns (stored as ``plan.report``)."""
    sol = result.solution
    return {
        "summary": sol.describe(),
        "explanation": sol.explanation,
        "check": {"passed": result.verified, "violations": [v.message for v in result.violations]},
        "tightest_tolerance": sol.tightest_tolerance,
        "max_deviation": (
            verify.max_deviation(result.problem, sol.assignment) if sol.assignment else None
        ),
        "mean_load": result.problem.mean_load,
        "iterations": sol.iterations,
        "contiguity_cuts": sol.cuts,
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
