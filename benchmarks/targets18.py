"""Issue 18's targets, judged from the benchmark results (``latest.json`` for the n/10 and n/5
solves, ``frontier.json`` and ``timelimit.json`` for the frontier and the wall time), for
``benchmarks.report``. Every verdict is computed here from those files; none is written by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Rec = dict[str, Any]
RESULTS = Path(__file__).resolve().parent / "results"
#: The frontier target: every point within this gap, the whole frontier within this many seconds.
FRONTIER_GAP = 0.01
FRONTIER_SECONDS = 120.0


def allowed_s(limit: float) -> float:
    """The wall-time target for a run with ``limit``: the limit + 5 % or 3 s, whichever is larger."""
    return limit + max(0.05 * limit, 3.0)


def _load(name: str) -> Rec | None:
    path = RESULTS / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _wall_rows(data: Rec) -> list[list[str]]:
    runs = data["runs"]
    late = [r for r in runs if not r["within"]]
    worst = max(runs, key=lambda r: r["wall_s"] - r["time_limit_s"])
    m = data["machine"]
    got = (
        f"{len(runs) - len(late)} of {len(runs)} runs within; largest overrun "
        f"{worst['wall_s'] - worst['time_limit_s']:+.1f} s ({worst['instance']}, "
        f"{worst['tolerance']}, limit {worst['time_limit_s']:g} s); {m['date'][:10]}, beside it: "
        f"{m.get('beside') or 'not recorded'}"
    )
    where = "" if "-" not in str(data.get("name", "")) else f", {data['name'].split('-', 1)[1]}"
    return [
        [
            f"every `wardplan allocate` run ends within its limit + max(5 %, 3 s){where}",
            "met" if not late else "missed",
            got,
        ]
    ]


def within_gap(points: list[Rec]) -> bool:
    """Every point proved within :data:`FRONTIER_GAP`; a point proved infeasible needs no gap."""
    return all(
        p["status"] == "infeasible" or (p["gap"] is not None and p["gap"] <= FRONTIER_GAP)
        for p in points
    )


def frontier_verdict(run: Rec) -> tuple[str, str]:
    """("met" or "missed", what was measured) for one frontier run."""
    points = run["frontier"]["points"]
    solved = [p for p in points if p["status"] != "infeasible"]
    worst = max((p["gap"] for p in solved if p["gap"] is not None), default=None)
    open_ = [p["label"] for p in solved if p["gap"] is None]
    fast = run["wall_s"] <= allowed_s(FRONTIER_SECONDS)
    got = f"{run['wall_s']:.1f} s; largest gap " + (
        "—" if worst is None else f"{100 * worst:.2f} %"
    )
    if open_:
        got += f"; no gap at {', '.join(open_)}"
    return ("met" if within_gap(points) and fast else "missed"), got


def _frontier_rows(data: Rec) -> list[list[str]]:
    return [
        [
            f"frontier {run['instance']} ({run['co_label']}): every point within 1 % in ≤ 120 s",
            *frontier_verdict(run),
        ]
        for run in data["runs"]
    ]


def section(data: Rec, solve_targets: Callable[[Rec], list[list[str]]]) -> list[str]:
    """The section's lines: the n/10 and n/5 rows of ``solve_targets`` (the same targets as
    issue 3's), the wall time and the frontier."""
    rows = [r for r in solve_targets(data) if ", n/10 " in r[0] or ", n/5 " in r[0]]
    for name in ("timelimit.json", "timelimit-loaded.json"):
        timelimit = _load(name)
        if timelimit is not None:
            rows += _wall_rows(timelimit)
    frontier = _load("frontier.json")
    if frontier is not None:
        rows += _frontier_rows(frontier)
    lines = [
        "## Targets (issue 18)",
        "",
        "The n/10 and n/5 rows are the solves above (the same targets as issue 3's); the wall time "
        'and the frontier come from their own runs, below ("Wall time against the time limit", '
        '"Balance–distance frontier"), which say what limits each missed one. A frontier point '
        "proved infeasible needs no gap. *No regression on any instance met today* is judged by "
        "the per-instance tables of each run, not here.",
        "",
        "| target | verdict | result |",
        "|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    return [*lines, ""]
