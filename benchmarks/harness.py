"""Run one method in a fresh child process and measure its peak memory.

Each method runs in its own process started with ``multiprocessing`` *spawn* (a new interpreter, so
no memory is inherited from earlier runs). The child returns its record through a pipe together
with ``resource.getrusage``: ``ru_maxrss`` of itself (``RUSAGE_SELF``) and of its own finished
children (``RUSAGE_CHILDREN``, i.e. the CBC executable). Peak memory is the larger of the two —
the largest resident set of any single process of that method — in MiB (Linux reports KiB). It
includes the interpreter and imported libraries (about 150–250 MiB before any model is built).
The parent waits ``time limit × 1.5 + 120 s`` at most, then kills the child and records a timeout.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from solver.problem import Problem

Record = dict[str, Any]


def _child(
    conn: Connection, method: str, problem: Problem, tolerance: float | None, time_limit: float
) -> None:
    from benchmarks.methods import dispatch

    try:
        rec = dispatch(method, problem, tolerance, time_limit)
    except BaseException as exc:  # any crash is a result to record, not a reason to stop
        rec = {
            "status": "error",
            "explanation": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-2000:],
            "verified": None,
        }
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rec["peak_mib"] = max(own, kids) / 1024.0
    rec["peak_mib_self"] = own / 1024.0
    rec["peak_mib_children"] = kids / 1024.0
    conn.send(rec)
    conn.close()


def run_method(method: str, problem: Problem, tolerance: float | None, time_limit: float) -> Record:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, method, problem, tolerance, time_limit))
    t0 = time.monotonic()
    proc.start()
    child.close()
    wait = time_limit * 1.5 + 120.0
    rec: Record | None = None
    try:
        if parent.poll(wait):
            rec = parent.recv()
    except (EOFError, OSError):
        rec = None
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()
    wall = time.monotonic() - t0
    if rec is None:
        rec = {
            "status": "crashed" if wall < wait else "killed",
            "explanation": f"child exit code {proc.exitcode} after {wall:.0f} s",
            "verified": None,
            "peak_mib": None,
        }
    rec["method"] = method
    rec["wall_seconds"] = wall
    rec["time_limit"] = time_limit
    return rec
