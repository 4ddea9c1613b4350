"""Branch-and-cut (SCIP, one search tree) against the default method, side by side.

    nice -n 10 uv run python -m benchmarks.bc [--time-limit S] [--only NAME[,NAME...]]
    uv run python -m benchmarks.bc --report      # re-render results/bc.md, then benchmarks.report

Each instance is read once; each method then solves it in a fresh *spawn* child, one after another;
the records (with the load average before and after each run) are appended to
``benchmarks/results/bc.json``. ``--report`` renders them as ``benchmarks/results/bc.md`` followed
by the hand-written ``benchmarks/BRANCH_AND_CUT.md``; ``benchmarks.report`` includes that file in
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks import instances as inst
from solver.problem import Problem

RESULTS = Path(__file__).resolve().parent / "results" / "bc.json"
SECTION = Path(__file__).resolve().parent / "results" / "bc.md"
NOTES = Path(__file__).resolve().parent / "BRANCH_AND_CUT.md"

#: The solver table's Lucknow and Bangalore instances at n/10 and n/5 COs.
NAMES = (
    "lucknow-k11-t10",
    "lucknow-k11-t05",
    "lucknow-k11-auto",
    "lucknow-k22-t10",
    "lucknow-k22-t05",
    "lucknow-k22-auto",
    "bangalore-k20-t10",
    "bangalore-k20-t05",
    "bangalore-k20-auto",
    "bangalore-k40-t10",
    "bangalore-k40-t05",
    "bangalore-k40-auto",
)
METHODS = ("auto", "branch_and_cut")


def run_one(name: str, problem: Problem, method: str, time_limit: float) -> dict[str, Any]:
    """One solve in this process (the harness's child)."""
    from solver import verify
    from solver.backends import make_backend
    from solver.solve import SolveParams, solve

    spec = next(s for s in inst.all_specs() if s.name == name)
    params = SolveParams(tolerance=spec.tolerance, time_limit=time_limit, method=method)
    t0 = time.monotonic()
    sol = solve(problem, params, backend=make_backend("highs"))
    wall = time.monotonic() - t0
    plan = None if sol.assignment is None else list(sol.assignment)
    return {
        "instance": name,
        "method": method,
        "status": sol.status.value,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "seconds": sol.seconds,
        "wall_s": wall,
        "tolerance_used": sol.tolerance,
        "cuts": sol.cuts,
        "solver": sol.solver_version,
        "explanation": sol.explanation,
        "verified": None if plan is None else not verify.check_plan(problem, plan, sol.tolerance),
        "timings": dict(sol.timings),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--report", action="store_true", help="only re-render results/bc.md")
    args = ap.parse_args()
    if args.report:
        SECTION.write_text(render(json.loads(RESULTS.read_text())), encoding="utf-8")
        return
    names = [n for n in args.only.split(",") if n] or list(NAMES)
    out = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for name in names:
        spec = next(s for s in inst.all_specs() if s.name == name)
        problem = inst.build(spec).problem  # read once, outside the timed children
        for method in args.methods.split(","):
            load = os.getloadavg()[0]
            rec = _child(name, problem, method, args.time_limit)
            rec.update(load_before=load, load_after=os.getloadavg()[0], time_limit=args.time_limit)
            out.append(rec)
            RESULTS.write_text(json.dumps(out, indent=1))
            print(json.dumps({k: rec.get(k) for k in _SHOWN}), flush=True)


_SHOWN = ("instance", "method", "status", "objective", "gap", "wall_s", "load_before", "cuts")


def _child(name: str, problem: Problem, method: str, time_limit: float) -> dict[str, Any]:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        try:
            res: dict[str, Any] = pool.apply_async(
                run_one, (name, problem, method, time_limit)
            ).get(timeout=time_limit * 3 + 60)
        except Exception as exc:
            res = {"instance": name, "method": method, "status": "error", "error": repr(exc)}
    return res


def render(records: list[dict[str, Any]]) -> str:
    """The section: one row per run, in the order run, then the hand-written notes."""
    head = [
        "instance",
        "method",
        "limit s",
        "status",
        "objective",
        "gap",
        "wall s",
        "load",
        "check",
    ]
    rows = [
        [
            r["instance"],
            "SCIP branch-and-cut"
            if r["method"] == "branch_and_cut"
            else "default (" + _how(r) + ")",
            f"{r.get('time_limit', 0):g}",
            r["status"],
            "–" if r.get("objective") is None else f"{r['objective']:,.0f}",
            "–" if r.get("gap") is None else f"{r['gap'] * 100:.2f} %",
            "–" if r.get("wall_s") is None else f"{r['wall_s']:.1f}",
            f"{r.get('load_before', 0):.1f}–{r.get('load_after', 0):.1f}",
            {True: "pass", False: "FAIL", None: "–"}[r.get("verified")],
        ]
        for r in records
    ]
    lines = [
        "## Branch-and-cut in one tree (issue 18, items 1–2)",
        "",
        "Generated by `benchmarks/bc.py` from `benchmarks/results/bc.json`; the notes after the "
        "table are hand-written (`benchmarks/BRANCH_AND_CUT.md`). **load** = the machine's "
        "1-minute load average before–after the run (2 cores, shared with 7 other developers).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    if NOTES.exists():
        lines += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def _how(rec: dict[str, Any]) -> str:
    return "HiGHS" if "HiGHS" in str(rec.get("solver", "")) else str(rec.get("solver", "?"))


if __name__ == "__main__":
    main()
