"""Registration camps (issue 17) beside a plain capacitated p-median without contiguity.

For each instance, Wardplan's camp plan (:func:`solver.camp_solve.solve_camps`: contiguous clusters,
each holding its venue's ward) is solved with the number of camps fixed, and so is the plain
p-median with the same venues, capacities, window and number of camps but no contiguity and no
venue-in-cluster rule. The p-median's best bound is a lower bound on the contiguous optimum, so
``Wardplan ÷ p-median bound`` says how far above the best conceivable plan the contiguous one is,
and ``Wardplan's own bound`` how much of that is proved.

    uv run python -m benchmarks.camps --time-limit 60      # writes results/camps.json, CAMPS.md

The markdown section is included in BENCHMARKS.md by ``benchmarks/report.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pulp

from app.core.options import LayerOptions
from app.pipeline.camps import CampRequest, build_camp_problem
from app.pipeline.planning import LayerRequest, load_layer
from gis.adjacency import build_adjacency
from gis.camps import illustrative_venues
from solver.backends import make_backend
from solver.camp_solve import solve_camps
from solver.camp_verify import check_camp_plan
from solver.camps import Campaign, CampParams, CampProblem, fewest_camps

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "camps.json"
SECTION = HERE / "CAMPS.md"
DATA = Path(os.environ.get("WARDPLAN_DATA", HERE.parent.parent / "shared" / "data"))


@dataclass(frozen=True)
class Instance:
    name: str
    city: str
    share: float
    teams: int
    camps: int | None  # None: the fewest


INSTANCES = (
    Instance("chandigarh-share0.10-fewest", "chandigarh", 0.10, 1, None),
    Instance("chandigarh-share0.10-k8", "chandigarh", 0.10, 1, 8),
    Instance("lucknow-share0.10-fewest", "lucknow", 0.10, 2, None),
    Instance("lucknow-share0.10-k30", "lucknow", 0.10, 2, 30),
    Instance("lucknow-share0.10-k45", "lucknow", 0.10, 2, 45),
)
START, END = date(2027, 4, 1), date(2027, 5, 15)


def _problem(inst: Instance) -> tuple[CampProblem, Campaign]:
    if inst.city == "lucknow":
        layer_req = LayerRequest(
            DATA / "lucknow" / "raw" / "Lucknow_ward_boundary-SHP.zip",
            LayerOptions(exclude_ids=("0",)),
            population_table=DATA / "lucknow" / "census2011_wards.csv",
        )
    else:
        layer_req = LayerRequest(DATA / inst.city / "wards.geojson")
    campaign = Campaign(
        start=START,
        end=END,
        teams=inst.teams,
        per_camp_per_day=300.0,
        holidays=frozenset({date(2027, 4, 14)}),
    )
    layer = load_layer(layer_req)
    venues = illustrative_venues(layer.wards, start=campaign.start, end=campaign.end, seed=2018)
    req = CampRequest(layer_req, Path("generated"), campaign, share=inst.share)
    problem = build_camp_problem(layer, build_adjacency(layer.wards), venues, req)
    return problem, campaign


def p_median(problem: CampProblem, campaign: Campaign, k: int, time_limit: float) -> dict[str, Any]:
    """The plain capacitated p-median: the same rows as the camp model without contiguity and
    without the venue-in-cluster rule (every venue may serve any ward)."""
    p, n = problem, problem.n_units
    lp = pulp.LpProblem("pmedian", pulp.LpMinimize)
    usable = [v for v in range(p.n_venues) if p.longest_camp(v, campaign) > 0]
    x = {
        (i, v): lp.add_variable(f"x_{i}_{v}", 0, 1, cat="Binary") for i in range(n) for v in usable
    }
    y = {v: lp.add_variable(f"y_{v}", 0, 1, cat="Binary") for v in usable}
    t = {
        v: lp.add_variable(f"t_{v}", 0, p.longest_camp(v, campaign), cat="Integer") for v in usable
    }
    for i in range(n):
        lp += pulp.lpSum(x[i, v] for v in usable) == 1
    for v in usable:
        for i in range(n):
            lp += x[i, v] <= y[v]
        lp += (
            pulp.lpSum(p.registrants[i] * x[i, v] for i in range(n))
            <= p.capacity(v, campaign) * t[v]
        )
        lp += t[v] <= p.longest_camp(v, campaign) * y[v]
    lp += pulp.lpSum(t.values()) <= campaign.teams * len(campaign.camp_days())
    lp += pulp.lpSum(y.values()) == k
    lp += pulp.lpSum(p.registrants[i] * p.distance_km[i][v] * x[i, v] for (i, v) in x)
    res = make_backend("highs").solve(lp, time_limit=time_limit, gap=1e-4)
    return {
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "seconds": res.seconds,
    }


def run_instance(inst: Instance, time_limit: float) -> dict[str, Any]:
    problem, campaign = _problem(inst)
    t0 = time.monotonic()
    sol = solve_camps(problem, campaign, CampParams(camps=inst.camps, time_limit=time_limit))
    wall = time.monotonic() - t0
    rec: dict[str, Any] = {
        "instance": inst.name,
        "wards": problem.n_units,
        "venues": problem.n_venues,
        "registrants": math.fsum(problem.registrants),
        "camp_days": len(campaign.camp_days()),
        "teams": campaign.teams,
        "camps_floor": fewest_camps(problem, campaign),
        "wardplan": {
            "status": sol.status.value,
            "camps": sol.camps,
            "camps_proved": sol.count_proved,
            "objective": sol.objective,
            "bound": sol.bound,
            "gap": sol.gap,
            "seconds": wall,
            "cuts": sol.cuts,
            "check": None
            if sol.assignment is None
            else (
                "pass" if not check_camp_plan(problem, campaign, sol.assignment, None) else "FAIL"
            ),
        },
    }
    if sol.camps is not None:
        rec["pmedian"] = p_median(problem, campaign, sol.camps, time_limit)
    return rec


def _machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _n(x: float | None, spec: str = ",.0f") -> str:
    return "–" if x is None else f"{x:{spec}}"


def render(data: dict[str, Any]) -> str:
    lines = [
        "## Registration camps (issue 17)",
        "",
        "Generated by `benchmarks/camps.py` from `benchmarks/results/camps.json` "
        f"(`{data['command']}`, {data['machine']['date']}). Machine: 2-core AMD EPYC, 24 GB, "
        "shared with five other developers' builds and tests during the run, so times are "
        "contended. Window 1 April – 15 May 2027 without Sundays and 14 April, 300 registrations "
        "per camp-day, camps of at most 3 days, illustrative venues (one per ward, seed 2018, a "
        "fifth with 150 a day, a fifth closed on 1–3 dates), registrants = share × estimated poor "
        "households.",
        "",
        "The p-median has the same venues, capacities, window and number of camps but no "
        "contiguity and no venue-in-cluster rule: its bound is a lower bound on the contiguous "
        "optimum. *W/PM* = Wardplan's objective ÷ the p-median's bound. *camps*: the number "
        "used (given, or proved the fewest), with the floor (registrants ÷ the roomiest camp).",
        "",
        "| instance | wards | registrants | camps (floor) | Wardplan | objective (reg.-km) | gap | s "
        "| p-median | PM objective | PM bound | W/PM | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        w, pm = r["wardplan"], r.get("pmedian", {})
        ratio = w["objective"] / pm["bound"] if w.get("objective") and pm.get("bound") else None
        given = any(i.name == r["instance"] and i.camps is not None for i in INSTANCES)
        note = " given" if given else " proved" if w["camps_proved"] else ""
        camps = f"{_n(w['camps'], 'd')}{note} ({r['camps_floor']})"
        lines.append(
            f"| {r['instance']} | {r['wards']} | {_n(r['registrants'])} | {camps} | {w['status']} "
            f"| {_n(w['objective'])} | {_n(None if w['gap'] is None else w['gap'] * 100, '.2f')} % "
            f"| {w['seconds']:.1f} | {pm.get('status', '–')} | {_n(pm.get('objective'))} "
            f"| {_n(pm.get('bound'))} | {_n(ratio, '.3f')} | {w['check'] or '–'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--only", default=None, help="run the instances whose name contains this")
    parser.add_argument("--render", action="store_true", help="only re-render CAMPS.md")
    args = parser.parse_args()
    if args.render:
        SECTION.write_text(
            render(json.loads(RESULTS.read_text(encoding="utf-8"))), encoding="utf-8"
        )
        return 0
    chosen = [i for i in INSTANCES if args.only is None or args.only in i.name]
    results = [run_instance(inst, args.time_limit) for inst in chosen]
    command = f"uv run python -m benchmarks.camps --time-limit {args.time_limit:g}" + (
        f" --only {args.only}" if args.only else ""
    )
    data = {"command": command, "machine": _machine(), "results": results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2), encoding="utf-8")
    SECTION.write_text(render(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
