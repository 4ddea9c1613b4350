"""MIP solvers behind one small interface: HiGHS (through highspy) and CBC (through PuLP's command).

PuLP's own status is not enough: after a time limit it reports ``LpStatusOptimal`` for a plan that is
only feasible. Each backend therefore reads what the solver itself says (HiGHS model status and dual
bound; CBC's result line and bound from its log) and returns a :class:`MipResult` that says plainly
whether optimality was proved.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulp

from solver.problem import Status

#: Called with (incumbent, bound) as the MIP solver improves either; may return True to stop.
MipCallback = Callable[[float | None, float | None], bool]
#: Called with each improving integer solution (variable name → value); may return True to stop.
SolutionCallback = Callable[[Mapping[str, float]], bool]


#: A fresh HiGHS model (``highspy.Highs``) carrying a backend's options; see :meth:`Backend.highs_model`.
HighsFactory = Callable[[], Any]


@dataclass(frozen=True)
class MipResult:
    status: Status
    objective: float | None
    bound: float | None
    values: dict[str, float]
    seconds: float


class Backend(Protocol):
    """A MIP solver for PuLP models, plus the HiGHS models the solver builds itself (the
    set-partitioning and contiguity-relaxed LPs): both carry the same seed and threads."""

    name: str
    seed: int
    threads: int | None

    @property
    def version(self) -> str: ...

    def highs_model(self) -> Any:
        """A fresh, silent ``highspy.Highs`` with this backend's seed and threads."""
        ...

    def solve(
        self,
        model: pulp.LpProblem,
        *,
        time_limit: float,
        gap: float,
        warm_start: Mapping[str, float] | None = None,
        on_progress: MipCallback | None = None,
        on_solution: SolutionCallback | None = None,
    ) -> MipResult: ...


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) and abs(x) < 1e29 else None


class _PulpHighs(pulp.HiGHS):  # type: ignore[misc]
    """PuLP's HiGHS class plus a MIP start and callbacks (PuLP offers neither)."""

    def __init__(
        self,
        warm: Mapping[str, float] | None,
        on_progress: MipCallback | None,
        on_solution: SolutionCallback | None,
        **kw: Any,
    ):
        super().__init__(**kw)
        self._warm = warm
        self._on_progress = on_progress
        self._on_solution = on_solution
        # PuLP builds the HiGHS model before running it: count that time against the limit too
        self._deadline = time.monotonic() + float(kw.get("timeLimit") or 1e9)

    def callSolver(self, lp: pulp.LpProblem) -> None:
        h = lp.solverModel
        h.setOptionValue("time_limit", max(0.05, self._deadline - time.monotonic()))
        if self._warm:
            variables = lp.variables()
            idx = [v.index for v in variables if v.name in self._warm]
            vals = [float(self._warm[v.name]) for v in variables if v.name in self._warm]
            sol = highspy_module().HighsSolution()
            col = [0.0] * h.getNumCol()
            for i, x in zip(idx, vals, strict=True):
                col[i] = x
            sol.col_value = col
            sol.value_valid = True
            h.setSolution(sol)
        if self._on_progress is not None or self._on_solution is not None:
            progress = self._on_progress
            on_solution = self._on_solution
            hs = highspy_module()
            last: list[float | None] = [None, None]
            names = [v.name for v in sorted(lp.variables(), key=lambda v: v.index)]
            improving = hs.cb.HighsCallbackType.kCallbackMipImprovingSolution

            def cb(kind: Any, _msg: str, data_out: Any, data_in: Any, _user: Any) -> None:
                if kind == improving and on_solution is not None:
                    values = dict(zip(names, data_out.mip_solution.tolist(), strict=True))
                    if on_solution(values):
                        data_in.user_interrupt = True
                if progress is None:
                    return
                inc = _finite(data_out.mip_primal_bound)
                bnd = _finite(data_out.mip_dual_bound)
                if [inc, bnd] != last:
                    last[:] = [inc, bnd]
                    if progress(inc, bnd):
                        data_in.user_interrupt = True

            h.setCallback(cb, None)
            h.startCallback(hs.cb.HighsCallbackType.kCallbackMipInterrupt)
            h.startCallback(hs.cb.HighsCallbackType.kCallbackMipImprovingSolution)
        h.run()


_BANNER_SILENCED = False


def highspy_module() -> Any:
    """highspy, imported with its once-per-process banner kept off standard output."""
    global _BANNER_SILENCED
    import highspy as hs

    highspy: Any = hs

    if not _BANNER_SILENCED:
        _BANNER_SILENCED = True
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    return highspy


#: The thread count HiGHS's process-wide scheduler was last reset to here (None: not yet).
_SCHEDULER_THREADS: int | None = None


def match_scheduler(threads: int | None) -> None:
    """Make HiGHS's process-wide thread scheduler fit ``threads`` (``None``: any will do).

    HiGHS starts one scheduler per process, at its first run, and refuses to run a model whose
    ``threads`` option differs from it ("Not Set", no solution). So before models with an explicit
    count, the scheduler is reset when the last count asked for here was another one."""
    global _SCHEDULER_THREADS
    if threads is None or threads == _SCHEDULER_THREADS:
        return
    highspy_module().Highs.resetGlobalScheduler(True)
    _SCHEDULER_THREADS = threads


def configured_highs(seed: int, threads: int | None) -> Any:
    """A fresh, silent ``highspy.Highs`` with ``random_seed`` (and ``threads`` when given) set."""
    match_scheduler(threads)
    h = highspy_module().Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", seed)
    if threads is not None:
        h.setOptionValue("threads", threads)
    return h


class HighsBackend:
    """HiGHS through highspy (in-process)."""

    name = "highs"

    def __init__(self, threads: int | None = None, seed: int = 0):
        self.threads = threads
        self.seed = seed

    @property
    def version(self) -> str:
        h = highspy_module()
        return f"HiGHS {h.Highs().version()}"

    def highs_model(self) -> Any:
        return configured_highs(self.seed, self.threads)

    def solve(
        self,
        model: pulp.LpProblem,
        *,
        time_limit: float,
        gap: float,
        warm_start: Mapping[str, float] | None = None,
        on_progress: MipCallback | None = None,
        on_solution: SolutionCallback | None = None,
    ) -> MipResult:
        hs = highspy_module()
        match_scheduler(self.threads)
        opts: dict[str, Any] = {"random_seed": self.seed}
        solver = _PulpHighs(
            warm_start,
            on_progress,
            on_solution,
            msg=False,
            timeLimit=max(0.5, time_limit),
            gapRel=gap,
            threads=self.threads,
            **opts,
        )
        t0 = time.monotonic()
        model.solve(solver)
        seconds = time.monotonic() - t0
        h = model.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        obj = _finite(info.objective_function_value) if info.primal_solution_status == 2 else None
        bound = _finite(info.mip_dual_bound)
        values = (
            {v.name: float(v.varValue or 0.0) for v in model.variables()} if obj is not None else {}
        )
        S = hs.HighsModelStatus
        if ms == S.kOptimal:
            status = Status.OPTIMAL
            bound = obj if bound is None else bound
        elif ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
            status = Status.INFEASIBLE
        elif obj is not None:
            status = Status.FEASIBLE
        else:
            status = Status.NO_SOLUTION
        return MipResult(status, obj, bound, values, seconds)


_CBC_RESULT = re.compile(r"^Result - (.+)$", re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)


def _cbc_path() -> str:
    import cbcbox

    return str(cbcbox.cbc_bin_path())


class CbcBackend:
    """COIN-OR CBC as a command (the ``cbcbox`` build), driven through PuLP's ``COIN_CMD``."""

    name = "cbc"

    def __init__(self, threads: int | None = None, seed: int = 0):
        self.threads = threads
        self.seed = seed

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return f"CBC (cbcbox {version('cbcbox')})"

    def highs_model(self) -> Any:
        """The LPs the solver builds itself are HiGHS models with either backend."""
        return configured_highs(self.seed, self.threads)

    def solve(
        self,
        model: pulp.LpProblem,
        *,
        time_limit: float,
        gap: float,
        warm_start: Mapping[str, float] | None = None,
        on_progress: MipCallback | None = None,
        on_solution: SolutionCallback | None = None,
    ) -> MipResult:
        """CBC runs as a separate command: neither callback is available, both are ignored.

        If CBC ends abnormally (PuLP raises; seen rarely, on a loaded machine, with a warm start),
        it runs once more without the warm start for the time left; if that fails too, the
        answer is ``no_solution`` and the caller goes on with the plans it has."""
        if warm_start:
            for v in model.variables():
                if v.name in warm_start:
                    v.setInitialValue(warm_start[v.name])
        t0 = time.monotonic()
        log: str | None = None
        try:
            log = self._run(model, time_limit, gap, bool(warm_start))
        except pulp.PulpSolverError:
            left = time_limit - (time.monotonic() - t0)
            if warm_start and left >= 1:
                with contextlib.suppress(pulp.PulpSolverError):
                    log = self._run(model, left, gap, False)
        if log is None:
            return MipResult(Status.NO_SOLUTION, None, None, {}, time.monotonic() - t0)
        seconds = time.monotonic() - t0
        result = _CBC_RESULT.search(log)
        text = result.group(1).lower() if result else ""
        m_obj = _CBC_OBJ.search(log)
        m_bound = _CBC_BOUND.search(log)
        has_sol = model.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        obj = float(m_obj.group(1)) if (m_obj and has_sol) else None
        if obj is None and has_sol:
            obj = pulp.value(model.objective)
        bound = float(m_bound.group(1)) if m_bound else None
        values = {v.name: float(v.varValue or 0.0) for v in model.variables()} if has_sol else {}
        if "infeasible" in text or model.status == pulp.LpStatusInfeasible:
            return MipResult(Status.INFEASIBLE, None, None, {}, seconds)
        if text.startswith("optimal") and obj is not None:
            return MipResult(Status.OPTIMAL, obj, obj if bound is None else bound, values, seconds)
        if obj is not None:
            return MipResult(Status.FEASIBLE, obj, bound, values, seconds)
        return MipResult(Status.NO_SOLUTION, None, bound, {}, seconds)

    def _run(self, model: pulp.LpProblem, time_limit: float, gap: float, warm: bool) -> str:
        """Solve with the CBC command; its log. PuLP's model, start and solution files and the
        log are written in a folder of this run's own, removed however the run ends (PuLP leaves
        its files behind when CBC fails)."""
        folder = tempfile.mkdtemp(prefix="wardplan-cbc-")
        log_path = os.path.join(folder, "cbc.log")
        try:
            solver = pulp.COIN_CMD(
                path=_cbc_path(),
                msg=False,
                timeLimit=max(1, math.ceil(time_limit)),
                gapRel=gap,
                threads=self.threads,
                warmStart=warm,
                logPath=log_path,
                options=[f"randomCbcSeed {self.seed + 1}"],
            )
            solver.tmpDir = folder
            model.solve(solver)
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def make_backend(name: str, *, threads: int | None = None, seed: int = 0) -> Backend:
    if name == "highs":
        return HighsBackend(threads=threads, seed=seed)
    if name == "cbc":
        return CbcBackend(threads=threads, seed=seed)
    raise ValueError(f"unknown solver {name!r}: choose 'highs' or 'cbc'")
