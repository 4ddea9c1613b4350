"""Re-plan against a fresh plan on Lucknow's wards: how many wards and poor households each moves
away from the approved plan when the roster changes, and at what distance.

    uv run python -m benchmarks.replan --time-limit 60

Writes ``benchmarks/results/replan.json`` and prints the Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from app.pipeline.plan_folders import mean_km, problem_for, read_plan_folder
from gis.organisers import read_organisers
from solver.backends import make_backend
from solver.params import SolveParams
from solver.problem import Problem
from solver.replan import Replan, base_positions, changes, replan

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lucknow"
RESULTS = Path(__file__).resolve().parent / "results" / "replan.json"


def _wardplan(*args: str | Path) -> None:
    subprocess.run(["wardplan", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def scenarios(tmp: Path, wards: Path) -> dict[str, Path]:
    """The three roster changes, as organiser files, from the 20 illustrative COs (seed 2017)."""
    base = _rows(tmp / "organisers.csv")
    _wardplan("example-organisers", wards, "--count", "22", "--seed", "5", "--out", tmp / "x.csv")
    extra = _rows(tmp / "x.csv")[1:]
    new = [[f"CO-N{q}", f"New CO {q}", *row[2:]] for q, row in enumerate(extra[-2:], start=1)]
    moved = [row[:] for row in base]
    moved[1][2:] = extra[0][2:]  # CO-01's home moves to another ward
    return {
        "one CO leaves (20 → 19)": _write(tmp / "leave.csv", base[:-1]),
        "two COs join (20 → 22)": _write(tmp / "join.csv", base + new),
        "one CO's home moves": _write(tmp / "home.csv", moved),
    }


def _figures(problem: Problem, base: dict[str, str], r: Replan) -> dict[str, object]:
    if r.plan is None or r.distance is None:
        return {"refused": r.refusal}
    ch = changes(problem, base_positions(problem, base), r.plan)
    return {
        "status": r.describe(),
        "moves_proved_minimal": r.moves_proved,
        "seconds": round(r.solution.seconds, 1),
        "wards_moved": len(ch.wards_moved),
        "households_moved": round(ch.households_moved),
        "organisers_affected": len(ch.organisers_affected),
        "mean_km_from_home": round(mean_km(problem, r.distance), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--tolerance", type=float, default=0.2)
    args = ap.parse_args()
    wards = DATA / "wards.geojson"
    out: dict[str, object] = {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "time_limit_s": args.time_limit,
        "tolerance": args.tolerance,
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _wardplan("example-organisers", wards, "--count", "20", "--out", tmp / "organisers.csv")
        limit = str(args.time_limit)
        _wardplan("allocate", wards, "--organisers", tmp / "organisers.csv", "--out", tmp / "plan",
                  "--time-limit", limit, "--tolerance", str(args.tolerance))  # fmt: skip
        parent = read_plan_folder(tmp / "plan")
        out["parent"] = parent.report["summary"]
        params = SolveParams(tolerance=parent.tolerance, time_limit=args.time_limit)
        backend = make_backend("highs", seed=0)
        for name, roster_csv in scenarios(tmp, wards).items():
            roster = read_organisers(roster_csv, parent.wards)
            problem = problem_for(parent.wards, roster, parent.snap_metres)
            base = parent.mapping()
            stable = replan(problem, base, params, backend=backend)
            fresh = replan(problem, {}, params, backend=backend)
            result = {
                "re-plan": _figures(problem, base, stable),
                "fresh": _figures(problem, base, fresh),
            }
            out["scenarios"][name] = result  # type: ignore[index]
            print(name, json.dumps(result), file=sys.stderr)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
