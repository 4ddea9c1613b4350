"""The solve step under the whole answer's time limit, and the frontier when one is asked for.

``app.pipeline.planning`` times its phases on a :class:`~solver.deadline.Deadline` made when the request
starts; this module gives the solver what is left (minus the reserve for the phases after it),
runs the plain solve or the balance–distance frontier (:mod:`solver.frontier`), and writes the
final phase timings into ``report.json`` once every output is written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path

from gis.frontier_chart import rows as frontier_rows
from solver import frontier
from solver import pins as pinned
from solver.backends import Backend
from solver.deadline import Deadline, Reserve
from solver.params import SolveParams
from solver.problem import Problem, Progress, Solution
from solver.solve import solve


def solver_params(params: SolveParams, deadline: Deadline | None) -> SolveParams:
    """``params`` with the solver's share of the deadline as its time limit (unchanged without
    one). The budget is recorded as ``deadline.solver_budget_s``."""
    if deadline is None:
        return params
    return replace(params, time_limit=deadline.solver_budget())


def solve_step(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    request: frontier.FrontierRequest | None,
    on_progress: Callable[[Progress], None] | None = None,
    pins: Mapping[str, str] | None = None,
) -> tuple[Solution, frontier.Frontier | None]:
    """The plan (the frontier's chosen point with a frontier request) and the frontier. With
    ``pins`` (``{ward_id: organiser_id}``), the plan keeps them or names those it cannot keep
    (:mod:`solver.pins`; the frontier does not take pins: the caller refuses that)."""
    if pins:
        assert request is None, "the frontier does not keep pins"
        return pinned.solve_pinned(problem, params, pins, backend, on_progress), None
    if request is None:
        return solve(problem, params, backend=backend, on_progress=on_progress), None
    front = frontier.compute(problem, params, request, backend=backend, on_progress=on_progress)
    return front.solution, front


def finish_report(report: Path, deadline: Deadline) -> None:
    """Write the final phase timings into ``report.json`` (after every output is written)."""
    data = json.loads(report.read_text(encoding="utf-8"))
    data["phases"] = deadline.report()
    report.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def time_report(deadline: Deadline | None) -> dict[str, object]:
    """The report's time fields: seconds per phase so far and the solver's budget."""
    if deadline is None:
        return {}
    return {"phases": deadline.report(), "solver_budget_s": round(deadline.solver_budget_s, 3)}


def timed(deadline: Deadline | None) -> Callable[[str], AbstractContextManager[None]]:
    """``timed(name)``: the deadline's phase timer, or a no-op without a deadline."""
    if deadline is None:
        return lambda _name: nullcontext()
    return deadline.phase


def method_report(params: SolveParams, sol: Solution) -> dict[str, str]:
    """The solve method asked for and the one that made the answer (``used`` is "" when the
    prechecks answered before any method ran)."""
    return {"asked": params.method, "used": sol.method}


def frontier_table(front: frontier.Frontier | None) -> dict[str, object] | None:
    """The frontier's table for the report, the map and the API (``None`` without one)."""
    return None if front is None else front.table()


#: The reserve after the solve: the check and the files (map, GeoPackage, shapefiles, report),
#: and with ``--sheets`` the PDFs too (ratios to the reading + adjacency seconds measured by
#: ``benchmarks/timelimit.py``; see BENCHMARKS.md).
RESERVE = Reserve(base=0.5, ratio=1.0, max_share=0.3)
RESERVE_WITH_SHEETS = Reserve(base=2.0, ratio=4.0, max_share=0.5)


def reserve_for(*, sheets: bool) -> Reserve:
    return RESERVE_WITH_SHEETS if sheets else RESERVE


def summary_lines(front: frontier.Frontier | None, deadline: Deadline) -> list[str]:
    """What the CLI prints about the frontier and the phases."""
    lines = []
    if front is not None:
        lines.append("balance–distance frontier (objective, bound, gap, status):")
        table = front.table()
        lines += ["  " + " | ".join(r) for r in frontier_rows(table)]
        lines.append(f"  {table['rule']}")
    phases = deadline.report()
    shown = ", ".join(f"{k} {v:.1f} s" for k, v in phases.items() if k not in ("total", "limit"))
    lines.append(f"time: {phases['total']:.1f} s of {phases['limit']:g} s ({shown})")
    return lines


def process_age() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 where that cannot be read): the
    interpreter's start and the imports are part of the user's wait too."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return max(0.0, age)


#: ``time.monotonic()`` when this process started, once the console script has marked it.
_process_start: float | None = None


def mark_process_start() -> None:
    """Called by the ``wardplan`` console script: its deadlines count from the process's start."""
    global _process_start
    _process_start = time.monotonic() - process_age()


def cli_deadline(time_limit: float, *, sheets: bool) -> Deadline:
    """The CLI's deadline: from the process's start when the console script marked it (phase
    ``startup``: the interpreter and the imports), else from now (a command run in-process)."""
    now = time.monotonic()
    start = now if _process_start is None else _process_start
    phases = {} if _process_start is None else {"startup": now - start}
    return Deadline(time_limit, start=start, phases=phases, reserve=reserve_for(sheets=sheets))
