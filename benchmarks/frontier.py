"""The balance–distance frontier benchmark (issue 18): Lucknow and Bangalore at n/10 and n/5 COs,
one frontier (tightest, ±5 %, ±10 %, ±15 %) per instance in one call with one time limit.

    uv run python -m benchmarks.frontier --time-limit 120 [--beside "what else ran on the machine"]

writes ``results/frontier.json`` and ``results/frontier.md`` (included in BENCHMARKS.md by
``benchmarks.report``). The target: every point proved within 1 %, the whole frontier in ≤ 120 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.instances import InstanceSpec, build, ward_count
from benchmarks.run import machine
from benchmarks.targets18 import frontier_verdict, within_gap
from solver import frontier
from solver.params import SolveParams

RESULTS = Path(__file__).resolve().parent / "results"
CITIES = ("lucknow", "bangalore")
FRACTIONS = (("n/10", 10), ("n/5", 5))


def run_one(city: str, label: str, div: int, time_limit: float) -> dict[str, Any]:
    k = max(2, round(ward_count(city) / div))
    built = build(InstanceSpec(city, k, None, co_label=label))
    t0 = time.monotonic()
    front = frontier.compute(built.problem, SolveParams(tolerance=None, time_limit=time_limit))
    wall = time.monotonic() - t0
    table = front.table()
    points = table["points"]
    assert isinstance(points, list)
    return {
        "instance": f"{city}-k{k}",
        "city": city,
        "co_label": label,
        "organisers": k,
        "wards": built.problem.n_units,
        "time_limit_s": time_limit,
        "wall_s": round(wall, 2),
        "all_within_1pct": within_gap(points),
        "frontier": table,
    }


def _pct(x: object) -> str:
    return "—" if x is None else f"{100 * float(x):.2f} %"  # type: ignore[arg-type]


def _num(x: object) -> str:
    return "—" if x is None else f"{float(x):,.0f}"  # type: ignore[arg-type]


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        "## Balance–distance frontier (issue 18)",
        "",
        f"Regenerate: `uv run python -m benchmarks.frontier --time-limit {data['time_limit_s']:g}` "
        "then `uv run python -m benchmarks.report`. One call of `solver.frontier.compute` per "
        "instance (same instances as above: real wards, illustrative CO homes, seed 2017): the "
        "tightest balance, then ±5 %, ±10 %, ±15 %, plans carried to looser points and bounds to "
        "tighter ones. Target: every point proved within 1 %, the whole frontier in ≤ 120 s.",
        "",
        f"Machine: {m.get('cpu', 'CPU not recorded')}, {m['cpus']} CPUs, Python {m['python']}, "
        f"{m['date']}; load average at start {m['load']}, at the end "
        f"{m.get('load_end', 'not recorded')}; beside it: {m.get('beside') or 'not recorded'}.",
        "",
        "What limits it: the tightest point. Where it is a pocket's proved floor (Lucknow, 22 "
        "COs: ±22.39 %), the points below it are answered infeasible at once and take no share of "
        "the time, and the frontier meets the target. Elsewhere the tightest balance found is "
        "within about ±1.5 % at n/10, and at so narrow a window the distance solve finds no plan "
        "of its own: the cut loop alone ran 120 s on Lucknow, 11 COs at ±0.75 %, without one "
        "(2026-12-05, by hand). So that point keeps the balance search's plan, 12.5–14.9 % above "
        "its bound. Each point, the tightest first, gets an equal share of the time left, about "
        "30 s, where a single solve needs about 60 s for a gap near 1 % (the table above); 6 of "
        "the 9 loose points end within 1 %, the rest at 1.45–2.06 %. Until 2026-12-05 the "
        "tightest point had two shares: its distance solve gained little from them, and the "
        "loose points, with about 24 s each, ended within 1 % at 2 of the 9 (Bangalore's ±5 % at "
        "40 COs without a plan). Reuse helps where it can: bounds proved at a looser tolerance "
        "tighten the tighter points' gaps (the `bound from` column), plans found at a tighter "
        "tolerance start the looser solves.",
        "",
    ]
    for rec in data["runs"]:
        verdict, _got = frontier_verdict(rec)
        table = rec["frontier"]
        lines += [
            f"### {rec['instance']} ({rec['co_label']}): {rec['wall_s']:.1f} s wall, "
            f"target {verdict}",
            "",
            f"balanced: {table['balanced']}. " + " ".join(table["notes"]),
            "",
            "| point | largest deviation | objective | bound | bound from | gap | status | s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in table["points"]:
            src = p["bound_from_tolerance"]
            lines.append(
                f"| {p['label']} | {_pct(p['max_deviation'])} | {_num(p['objective'])} | "
                f"{_num(p['bound'])} | {'—' if src is None else _pct(src)} | {_pct(p['gap'])} | "
                f"{p['status']} | {p['seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--only", help="run only instances whose city contains this")
    ap.add_argument("--render", action="store_true", help="only re-render frontier.md")
    ap.add_argument("--beside", default="", help="what else ran on the machine (for the report)")
    args = ap.parse_args()
    if args.render:
        data = json.loads((RESULTS / "frontier.json").read_text(encoding="utf-8"))
        (RESULTS / "frontier.md").write_text(render(data), encoding="utf-8")
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runs = []
    for city in CITIES:
        if args.only and args.only not in city:
            continue
        for label, div in FRACTIONS:
            rec = run_one(city, label, div, args.time_limit)
            print(f"{rec['instance']}: {rec['wall_s']} s, within 1 %: {rec['all_within_1pct']}")
            runs.append(rec)
    data = {
        "time_limit_s": args.time_limit,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load": load,
            "load_end": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
            "cpu": machine()["cpu"],
            "beside": args.beside,
        },
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "frontier.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "frontier.md").write_text(render(data), encoding="utf-8")


if __name__ == "__main__":
    main()
