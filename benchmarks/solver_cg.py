"""Column generation at n/5 (issue 18, item 2): ``method="column_generation"`` against the default
``auto`` choice and the cut loop (which *auto* ran at n/5 before), side by side.

    nice -n 10 uv run python -m benchmarks.solver_cg [--time-limit S] [--only NAME[,NAME...]]
        [--methods auto,column_generation,cut_loop]

Each instance is read once; each method then solves it in a fresh *spawn* child, one after the
other (the two of one instance back to back), with the 1-minute load average before and after; the
records are appended to ``benchmarks/results/cg.jsonl`` (one JSON record a line). The machine is
shared: compare the two methods of one instance, not the absolute figures;
``benchmarks/results/cg.md`` (hand-written, included in BENCHMARKS.md by ``benchmarks.report``)
gives the figures and what limits them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from benchmarks import instances as inst
from solver.problem import Problem

RESULTS = Path(__file__).resolve().parent / "results" / "cg.jsonl"

#: Lucknow and Bangalore at n/5 COs (the benchmark's instances and tolerances).
NAMES = ("lucknow-k22-auto", "bangalore-k40-t10", "bangalore-k40-t05")
METHODS = ("auto", "column_generation", "cut_loop")


def run_one(name: str, problem: Problem, method: str, time_limit: float) -> dict[str, Any]:
    """One solve in this process (a spawn child)."""
    from solver import verify
    from solver.backends import make_backend
    from solver.solve import SolveParams, solve

    spec = next(s for s in inst.all_specs() if s.name == name)
    params = SolveParams(tolerance=spec.tolerance, time_limit=time_limit, method=method)
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    sol = solve(problem, params, backend=make_backend("highs"))
    wall = time.monotonic() - t0
    passed = sol.assignment is not None and not verify.check_plan(
        problem, sol.assignment, sol.tolerance
    )
    return {
        "instance": name,
        "asked": method,
        "method": sol.method,
        "time_limit": time_limit,
        "tolerance": sol.tolerance,
        "status": sol.status.value,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "wall_s": round(wall, 1),
        "iterations": sol.iterations,
        "load": [round(load, 1), round(os.getloadavg()[0], 1)],
        "check": passed,
        "warnings": list(sol.warnings),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--only", default=",".join(NAMES))
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    for name in args.only.split(","):
        spec = next(s for s in inst.all_specs() if s.name == name)
        problem = inst.build(spec).problem
        for method in args.methods.split(","):
            with ctx.Pool(1) as pool:
                rec = pool.apply(run_one, (name, problem, method, args.time_limit))
            print(json.dumps(rec), flush=True)
            with RESULTS.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
