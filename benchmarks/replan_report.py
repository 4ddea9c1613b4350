"""The re-plan section of BENCHMARKS.md, rendered from ``results/replan.json``
(written by :mod:`benchmarks.replan`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "replan.json"
COLUMNS = [
    ("wards_moved", "wards moved"),
    ("households_moved", "poor households moved"),
    ("organisers_affected", "COs affected"),
    ("mean_km_from_home", "mean km from home"),
]


def _cell(rec: dict[str, Any], key: str) -> str:
    if "refused" in rec:
        return "refused"
    value = rec[key]
    return f"{value:.2f}" if isinstance(value, float) else f"{value:,}"


def _load(data: dict[str, Any]) -> str:
    load = data.get("load_average_at_start")
    return "" if load is None else f"; 1-minute load average {load:g} at the start"


def section(path: Path = RESULTS) -> list[str]:
    """Markdown lines (none when the results file is absent)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    header = ["scenario", "plan", *(label for _, label in COLUMNS), "proved", "s"]
    lines = [
        "## Re-plan against a fresh plan (issue 13)",
        "",
        "Regenerate: `uv run python -m benchmarks.replan --time-limit "
        f"{data['time_limit_s']:g} --tolerance {data['tolerance']:g}` then "
        "`uv run python -m benchmarks.report`. Lucknow's 110 wards "
        "(`../shared/data/lucknow/wards.geojson`), 20 illustrative COs (seed 2017) at "
        f"±{data['tolerance'] * 100:g} % (at ±10 % 22 COs are infeasible: a pocket of wards 1 and "
        "10 behind ward 21 forces ±17.4 %); the "
        f"approved plan: {data['parent']}. Each scenario changes the roster and solves twice with "
        f"{data['time_limit_s']:g} s each: the re-plan (fewest poor households moved, then nearness; "
        "`solver/replan.py`) and a fresh plan; moves are counted against the approved plan (wards "
        "whose CO is still on the roster). The re-plan is lexicographic (`solver/replan_lex.py`): "
        "step 1 minimises the poor households moved (half the time), step 2 the distance with "
        "households moved ≤ step 1's value (the rest); 'proved' gives each step's status and gap, "
        "and says when the households moved are not proved minimal. "
        f"Machine: {data['machine']} (2-core AMD EPYC shared with other developers' runs, so "
        f"seconds are noisy{_load(data)}); {data['date_utc']}."
        + (f" {data['note']}" if data.get("note") else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for name, result in data["scenarios"].items():
        for plan in ("re-plan", "fresh"):
            rec = result[plan]
            cells = [_cell(rec, key) for key, _ in COLUMNS]
            proved = rec.get("status", rec.get("refused", ""))
            lines.append(
                "| " + " | ".join([name, plan, *cells, proved, str(rec.get("seconds", "—"))]) + " |"
            )
    return [*lines, ""]
