"""The methods compared on each instance. Each runs inside a fresh child process (see ``harness``).

* ``wardplan`` — :func:`solver.solve.solve` with its default settings and HiGHS (the product);
* ``wardplan-cbc`` — the same search with CBC as the MIP backend (the alternative weighed);
* ``tree`` — GerryChain ``recursive_tree_part`` on the same adjacency and loads, then the optimal
  matching of COs to its parts (``scipy.optimize.linear_sum_assignment``): what a districting user
  would do today;
* ``floor`` — the same MIP without contiguity (``AssignmentModel`` + one ``backend.solve``): its best
  bound is a floor no plan at that tolerance can beat.

Every plan is checked by :func:`solver.verify.check_plan` at the tolerance it claims.
"""

from __future__ import annotations

import math
import signal
import time
from typing import Any, cast

from solver import verify
from solver.backends import make_backend
from solver.model import AssignmentModel
from solver.problem import Problem
from solver.solve import SolveParams, solve

Record = dict[str, Any]

TREE_SEED = 2017


class _Deadline(BaseException):
    """Raised by SIGALRM in a child; a BaseException so no ``except Exception`` swallows it."""


def _plan_fields(problem: Problem, assignment: list[int] | None, tolerance: float | None) -> Record:
    if assignment is None:
        return {"verified": None, "violations": [], "max_deviation": None, "objective": None}
    violations = verify.check_plan(problem, assignment, tolerance)
    return {
        "verified": not violations,
        "violations": [v.message for v in violations[:5]],
        "max_deviation": verify.max_deviation(problem, assignment),
        "objective": verify.objective(problem, assignment),
    }


def run_wardplan(
    problem: Problem, tolerance: float | None, time_limit: float, backend: str
) -> Record:
    params = SolveParams(tolerance=tolerance, time_limit=time_limit)
    sol = solve(problem, params, backend=make_backend(backend))
    assignment = None if sol.assignment is None else list(sol.assignment)
    rec: Record = {
        "status": sol.status.value,
        "bound": sol.bound,
        "gap": sol.gap,
        "seconds": sol.seconds,
        "tolerance_used": sol.tolerance,
        "tightest_tolerance": sol.tightest_tolerance,
        "iterations": sol.iterations,
        "cuts": sol.cuts,
        "solver": sol.solver_version,
        "explanation": sol.explanation,
        "warnings": list(sol.warnings),
        "timings": dict(sol.timings),
    }
    rec.update(_plan_fields(problem, assignment, sol.tolerance))
    if sol.objective is not None and rec["objective"] is not None:
        rec["objective_reported"] = sol.objective
    return rec


def run_floor(problem: Problem, tolerance: float, time_limit: float, backend: str) -> Record:
    t0 = time.monotonic()
    lo, hi = problem.load_bounds(tolerance)
    model = AssignmentModel(problem, lo=lo, hi=hi)
    be = make_backend(backend)
    res = be.solve(model.lp, time_limit=max(0.5, time_limit - (time.monotonic() - t0)), gap=1e-4)
    pieces = None
    if res.values:
        from solver.graph import components

        a = model.assignment_from(res.values)
        nb = problem.neighbours()
        pieces = sum(
            len(components([i for i, x in enumerate(a) if x == j], nb))
            for j in range(problem.n_organisers)
        )
    return {
        "status": res.status.value,
        "objective": res.objective,  # of the relaxed (possibly disconnected) optimum
        "bound": res.bound,
        "gap": None
        if res.objective is None or res.bound is None or res.objective <= 0
        else max(0.0, (res.objective - res.bound) / res.objective),
        "seconds": time.monotonic() - t0,
        "tolerance_used": tolerance,
        "areas_in_pieces": None if pieces is None else pieces - problem.n_organisers,
        "solver": be.version,
        "verified": None,
    }


def run_tree(
    problem: Problem, tolerance: float, time_limit: float, seed: int = TREE_SEED
) -> Record:
    import networkx as nx
    import numpy as np
    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part
    from scipy.optimize import linear_sum_assignment

    def alarm(_signum: int, _frame: object) -> None:
        raise _Deadline

    import warnings

    warnings.simplefilter("ignore")  # GerryChain warns on every 1,000 failed attempts
    t0 = time.monotonic()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    k = problem.n_organisers
    try:
        g = nx.Graph()
        for i, load in enumerate(problem.weights):
            g.add_node(i, load=load)
        g.add_edges_from(problem.edges)
        graph = Graph.from_networkx(g)
        parts = recursive_tree_part(
            graph, list(range(k)), problem.mean_load, "load", tolerance, rng=seed
        )
        tree_s = time.monotonic() - t0
    except _Deadline:
        return {
            "status": "timeout",
            "seconds": time.monotonic() - t0,
            "verified": None,
            "tolerance_used": tolerance,
            "explanation": f"recursive_tree_part did not finish in {time_limit:g} s",
        }
    except Exception as exc:  # the baseline's own failure, recorded as it is
        return {
            "status": "failed",
            "seconds": time.monotonic() - t0,
            "verified": None,
            "tolerance_used": tolerance,
            "explanation": f"{type(exc).__name__}: {str(exc)[:300]}",
        }
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # the labels are those given, range(k); GerryChain types them as Hashable
    label = [cast(int, parts[i]) for i in range(problem.n_units)]
    labels = sorted(set(label))
    index = {p: q for q, p in enumerate(labels)}
    part_of = [index[p] for p in label]
    w = np.asarray(problem.weights)
    d = np.asarray(problem.distance_km)
    cost = np.zeros((len(labels), k))
    for i, q in enumerate(part_of):
        cost[q] += w[i] * d[i]
    rows, cols = linear_sum_assignment(cost)
    to_co = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    assignment = [to_co.get(q, -1) for q in part_of]
    rec: Record = {
        "status": "feasible",
        "seconds": time.monotonic() - t0,
        "tree_seconds": tree_s,
        "parts": len(labels),
        "tolerance_used": tolerance,
        "bound": None,
        "gap": None,
    }
    rec.update(_plan_fields(problem, assignment, tolerance))
    if not rec["verified"]:
        rec["status"] = "invalid"
    return rec


def dispatch(method: str, problem: Problem, tolerance: float | None, time_limit: float) -> Record:
    if method == "wardplan":
        return run_wardplan(problem, tolerance, time_limit, "highs")
    if method == "wardplan-cbc":
        return run_wardplan(problem, tolerance, time_limit, "cbc")
    if tolerance is None or not math.isfinite(tolerance):
        raise ValueError(f"{method} needs a numeric tolerance")
    if method == "floor":
        return run_floor(problem, tolerance, time_limit, "highs")
    if method == "tree":
        return run_tree(problem, tolerance, time_limit)
    raise ValueError(f"unknown method {method!r}")
