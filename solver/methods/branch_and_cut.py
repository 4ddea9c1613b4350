"""Branch-and-cut in one search tree: the assignment model of the cut loop (:mod:`solver.model`:
each unit to one organiser, loads within the window, optional zones, Σ load × km to the home) in
SCIP, with contiguity enforced by a constraint handler (:mod:`~solver.methods.contiguity`) that cuts
off areas in pieces wherever they appear in the tree, so the bound is never thrown away.

The cut loop's cheap plans, star-shaped plan and neighbourhood search make the warm start; SCIP
gets the params' seed, threads (its LP), gap and the time left. The answer is optimal only when
SCIP's bound proves the plan within the gap; a stop at the time limit is feasible with its gap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pyscipopt
from pyscipopt._version import __version__ as pyscipopt_version
from pyscipopt.scip import PY_SCIP_PARAMSETTING as SCIP_PARAMSETTING

from solver import heuristic, lns
from solver.deadline import BuildStopped, check_build
from solver.methods.context import Context, Incumbent, Outcome, build_stopped
from solver.methods.contiguity import ContiguityHandler
from solver.methods.cut_loop import primal_shares
from solver.methods.starts import cheap_plans, star_plan
from solver.problem import Problem, Status

#: Seconds of boundary moves for each repaired solution offered to SCIP.
REPAIR_POLISH_SECONDS = 0.2

#: Separation rounds at the root: SCIP's default (no limit) spent most of a minute there on
#: Bangalore with 20 COs before the first branching.
ROOT_ROUNDS = 20

NAME = "scip"
#: What :func:`build` builds, as a stopped build names it.
WHAT = "the branch-and-cut model"


def version() -> str:
    m = pyscipopt.Model()
    return f"SCIP {m.version()} (PySCIPOpt {pyscipopt_version})"


def solve(ctx: Context, *, start: list[int] | None = None) -> Outcome:
    """The nearest-home contiguous plan at the context's tolerance, by branch-and-cut."""
    best = Incumbent(ctx)
    _primal(ctx, best, start)
    try:
        model, x, handler = build(ctx, lambda plan: _repair(ctx, best, plan))
    except BuildStopped as stop:
        return build_stopped(ctx, best, stop)
    if best.plan is not None:
        _warm_start(model, x, best.plan)
    remaining = ctx.clock.remaining()
    if remaining > 0.05:
        model.setParam("limits/time", max(0.05, remaining))
        model.optimize()
    plan = _plan(model, x)
    bound = _bound(model)
    if plan is not None:
        best.offer(plan, polish=ctx.clock.remaining() > 0.5)
    ctx.report("distance", best.known, bound, f"branch-and-cut: {handler.cuts} contiguity cuts")
    nodes = int(model.getNNodes()) if model.getStage() >= TRANSFORMED else 0
    return _outcome(ctx, model, best, bound, handler.cuts, nodes)


def build(
    ctx: Context, on_pieces: Callable[[list[int]], list[int] | None] | None = None
) -> tuple[pyscipopt.Model, list[list[Any]], ContiguityHandler]:
    """The SCIP model with the context's options and the contiguity handler (not yet solved);
    ``on_pieces`` turns an integer solution in pieces into a plan for SCIP (or ``None``). The
    build checks the context's clock between rows (:class:`~solver.deadline.BuildStopped`)."""
    p = ctx.problem
    lo, hi = ctx.load_bounds
    m = pyscipopt.Model("wardplan")
    m.hideOutput()
    _options(m, ctx)
    n, k = p.n_units, p.n_organisers
    x: list[list[Any]] = []
    for i in range(n):
        check_build(ctx.clock, WHAT, i, n, "units")
        x.append([m.addVar(f"x_{i}_{j}", vtype="B") for j in range(k)])
    w, d = p.weights, p.distance_km
    m.setObjective(pyscipopt.quicksum(w[i] * d[i][j] * x[i][j] for i in range(n) for j in range(k)))
    for i in range(n):
        check_build(ctx.clock, WHAT, i, n, "unit rows")
        m.addCons(pyscipopt.quicksum(x[i]) == 1, name=f"one_{i}")
    for j in range(k):
        check_build(ctx.clock, WHAT, j, k, "organisers' rows")
        load = pyscipopt.quicksum(w[i] * x[i][j] for i in range(n))
        m.addCons(load <= hi, name=f"hi_{j}")
        if lo > 0:
            m.addCons(load >= lo, name=f"lo_{j}")
        m.addCons(pyscipopt.quicksum(x[i][j] for i in range(n)) >= 1, name=f"nonempty_{j}")
    if ctx.respect_zones and p.zones is not None:
        _zone_rows(m, p, x)
    handler = ContiguityHandler(p, x, ctx.clock.limit, on_pieces or (lambda _plan: None))
    m.includeConshdlr(
        handler,
        "contiguity",
        "areas in one piece: a-b separator cuts",
        sepapriority=1,
        enfopriority=-1,
        chckpriority=-1,
        sepafreq=1,
        needscons=False,
    )
    return m, x, handler


def _options(m: pyscipopt.Model, ctx: Context) -> None:
    """Seed, threads, gap; no dual reductions or restarts (the handler holds no variable locks)."""
    m.setParam("randomization/randomseedshift", ctx.seed)
    m.setParam("randomization/permutationseed", ctx.seed)
    if ctx.params.threads is not None:
        m.setParam("lp/threads", ctx.params.threads)
    m.setParam("limits/gap", ctx.params.gap)
    m.setParam("misc/allowstrongdualreds", False)
    m.setParam("misc/allowweakdualreds", False)
    m.setParam("presolving/maxrestarts", 0)
    m.setParam("separating/maxroundsroot", ROOT_ROUNDS)
    # the warm start and the repaired solutions in pieces are the primal side; SCIP's diving
    # heuristics and aggressive root cuts took most of the time on 4,000 binaries (NOTES.md)
    m.setHeuristics(SCIP_PARAMSETTING.OFF)
    m.setSeparating(SCIP_PARAMSETTING.FAST)


def _zone_rows(m: pyscipopt.Model, p: Problem, x: list[list[Any]]) -> None:
    zones = sorted({z for z in p.zones or () if z is not None})
    zi = {z: q for q, z in enumerate(zones)}
    for j in range(p.n_organisers):
        y = [m.addVar(f"y_{j}_{q}", vtype="B") for q in range(len(zones))]
        m.addCons(pyscipopt.quicksum(y) == 1, name=f"zone_{j}")
        for i, z in enumerate(p.zones or ()):
            if z is not None:
                m.addCons(x[i][j] <= y[zi[z]], name=f"inzone_{i}_{j}")


def _primal(ctx: Context, best: Incumbent, start: list[int] | None) -> None:
    """The warm start: the cheap plans, the star-shaped plan, a neighbourhood search."""
    for plan in cheap_plans(ctx, start):
        best.offer(plan)
    star_share, share = _shares(ctx)
    if star_share > 0:
        best.offer(star_plan(ctx, first_plan=False, share=star_share))
        ctx.report("distance", best.known, None, "star-shaped plan")
    if best.plan is not None and share > 0:
        lo, hi = ctx.load_bounds
        best.offer(
            lns.improve(
                ctx.problem,
                best.plan,
                lo,
                hi,
                ctx.backend,
                deadline=time.monotonic() + ctx.clock.remaining() * share,
                respect_zones=ctx.respect_zones,
                seed=ctx.seed,
            )
        )
        ctx.report("distance", best.known, None, "neighbourhood search")


def _repair(ctx: Context, best: Incumbent, plan: list[int]) -> list[int] | None:
    """An integer solution in pieces, repaired as in the cut loop (stray pieces to neighbouring
    areas, then briefly polished): the plan to hand SCIP when it beats the best known."""
    before = best.value
    repaired = heuristic.repair(ctx.problem, ctx.nb, plan)
    if repaired is None:
        return None
    best.offer(ctx.polish(repaired, REPAIR_POLISH_SECONDS), polish=False)
    best.offer(repaired, polish=False)
    return best.plan if best.value < before - 1e-9 else None


def _shares(ctx: Context) -> tuple[float, float]:
    """(star share, neighbourhood-search share): the cut loop's, the params' values when set."""
    return primal_shares(ctx.problem, ctx.params)


def _warm_start(m: pyscipopt.Model, x: list[list[Any]], plan: list[int]) -> None:
    sol = m.createPartialSol()
    for i, row in enumerate(x):
        for j, var in enumerate(row):
            m.setSolVal(sol, var, 1.0 if plan[i] == j else 0.0)
    m.addSol(sol)


def _plan(m: pyscipopt.Model, x: list[list[Any]]) -> list[int] | None:
    if m.getNSols() == 0:
        return None
    sol = m.getBestSol()
    return [max(range(len(row)), key=lambda j: m.getSolVal(sol, row[j])) for row in x]


#: SCIP_STAGE_TRANSFORMED: from this stage on SCIP has a dual bound and node counts. Before it
#: (the model built but never optimised: no time was left) asking for them crashed the process.
TRANSFORMED = 3


def _bound(m: pyscipopt.Model) -> float | None:
    if m.getStage() < TRANSFORMED:
        return None
    try:
        b = float(m.getDualbound())
    except Exception:
        return None
    return b if math.isfinite(b) and abs(b) < 1e19 else None


def _outcome(
    ctx: Context, m: pyscipopt.Model, best: Incumbent, bound: float | None, cuts: int, nodes: int
) -> Outcome:
    status = m.getStatus()
    note = f"branch-and-cut: {nodes:,} nodes, {cuts:,} contiguity cuts, SCIP status {status}"
    if best.plan is None:
        if status == "infeasible":
            return Outcome(Status.INFEASIBLE, None, None, bound, 1, cuts, "proved by SCIP")
        why = "time ran out before any contiguous plan was found"
        return Outcome(Status.NO_SOLUTION, None, None, bound, 1, cuts, why)
    return Outcome.of_plan(
        best.plan,
        best.value,
        bound,
        ctx.params.gap,
        cuts=cuts,
        explanation=note,
        solver=f"{NAME}",
        solver_version=version(),
    )
