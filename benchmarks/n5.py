"""The n/5 experiment of issue 18 (item 2): the default solve with and without the assignment
model's neighbour rows (``solver.model.AssignmentModel.neighbour_rows``), side by side.

    nice -n 10 uv run python -m benchmarks.n5 [--time-limit S] [--only NAME[,NAME...]]

Each instance is read once; each variant then solves it in a fresh *spawn* child, one after the
other, with the load average before and after; the records are appended to
``benchmarks/results/n5.jsonl`` (one JSON record a line). The machine is shared: compare the
variants of one instance (run back to back), not the absolute figures;
``benchmarks/results/n5.md`` (hand-written, included in BENCHMARKS.md by ``benchmarks.report``)
gives the ratios.
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

RESULTS = Path(__file__).resolve().parent / "results" / "n5.jsonl"

#: Lucknow and Bangalore at n/5 COs (and Lucknow at n/10, to see what the rows cost there).
NAMES = ("lucknow-k22-auto", "bangalore-k40-t05", "lucknow-k11-t10")
VARIANTS = {"default": False, "neighbour rows": True}


def run_one(name: str, problem: Problem, rows: bool, time_limit: float) -> dict[str, Any]:
    """One solve in this process (a spawn child)."""
    from solver import verify
    from solver.backends import make_backend
    from solver.model import AssignmentModel
    from solver.solve import SolveParams, solve

    AssignmentModel.neighbour_rows = rows
    spec = next(s for s in inst.all_specs() if s.name == name)
    params = SolveParams(tolerance=spec.tolerance, time_limit=time_limit)
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    sol = solve(problem, params, backend=make_backend("highs"))
    wall = time.monotonic() - t0
    passed = sol.assignment is not None and not verify.check_plan(
        problem, sol.assignment, sol.tolerance
    )
    return {
        "instance": name,
        "neighbour_rows": rows,
        "method": sol.method,
        "time_limit": time_limit,
        "status": sol.status.value,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "wall_s": round(wall, 1),
        "iterations": sol.iterations,
        "cuts": sol.cuts,
        "load": [round(load, 1), round(os.getloadavg()[0], 1)],
        "check": passed,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--only", default=",".join(NAMES))
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    for name in args.only.split(","):
        spec = next(s for s in inst.all_specs() if s.name == name)
        problem = inst.build(spec).problem
        for label, rows in VARIANTS.items():
            with ctx.Pool(1) as pool:
                rec = pool.apply(run_one, (name, problem, rows, args.time_limit))
            rec["variant"] = label
            print(json.dumps(rec), flush=True)
            with RESULTS.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
