"""Seed and threads reach every HiGHS model of every solve method.

``highspy.Highs`` is replaced by a subclass that records, at each ``run()``, the options the model
runs with and which solver module ran it; every model the solver or PuLP makes is then one of
these, so the check covers real calls on every path (PuLP's models through the backend, and the
set-partitioning and contiguity-relaxed models the solver builds itself).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import highspy
import pytest

from solver import verify
from solver.backends import make_backend
from solver.methods import relaxed_search
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid

SEED = 7
THREADS = 1


@dataclass(frozen=True)
class Run:
    caller: str  # the solver module whose code called run()
    seed: int
    threads: int
    ran: bool  # HiGHS accepted the options and ran (it refuses a thread count unlike its scheduler's)


def _option(h: Any, name: str) -> Any:
    status, value = h.getOptionValue(name)
    assert status == highspy.HighsStatus.kOk, name
    return value


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[Run]:
    """Every HiGHS run from now on, with its options (``highspy.Highs`` replaced for the test)."""
    seen: list[Run] = []

    class RecordingHighs(highspy.Highs):
        def run(self) -> Any:
            caller = inspect.getmodule(inspect.stack()[1].frame)
            name = caller.__name__ if caller is not None else "?"
            seed, threads = _option(self, "random_seed"), _option(self, "threads")
            status = super().run()
            seen.append(Run(name, seed, threads, status != highspy.HighsStatus.kError))
            return status

    monkeypatch.setattr(highspy, "Highs", RecordingHighs)
    return seen


def _problem() -> Problem:
    """A 4 × 5 grid, 4 organisers: few enough connected areas for set partitioning to list."""
    weights = [float(8 + (5 * i) % 7) for i in range(20)]
    return grid(4, 5, [(0, 0), (3, 4), (0, 4), (3, 0)], weights=weights)


def _solve(
    problem: Problem, backend: str = "highs", threads: int = THREADS, **params: Any
) -> Status:
    settings = SolveParams(seed=SEED, threads=threads, time_limit=4, **params)
    sol = solve(problem, settings, backend=make_backend(backend, threads=threads, seed=SEED))
    assert sol.assignment is not None, sol.explanation
    assert verify.check_plan(problem, sol.assignment, sol.tolerance) == []
    return sol.status


def _check(runs: list[Run], *callers: str, threads: int = THREADS) -> None:
    assert runs, "no HiGHS model ran"
    assert all(r.ran for r in runs), f"HiGHS refused to run: {[r for r in runs if not r.ran]}"
    assert {r.seed for r in runs} == {SEED}
    assert {r.threads for r in runs} == {threads}
    missing = set(callers) - {r.caller for r in runs}
    assert not missing, f"no HiGHS run from {missing}; runs came from {[r.caller for r in runs]}"


def test_set_partitioning_models_get_seed_and_threads(runs: list[Run]) -> None:
    _solve(_problem(), tolerance=0.15)
    _check(runs, "solver.partition")  # the restricted LP and the integer programme


def test_cut_loop_models_get_seed_and_threads(runs: list[Run]) -> None:
    _solve(_problem(), tolerance=0.15, partition=False)
    _check(runs, "solver.backends")  # PuLP's models, run by the backend


def test_relaxed_search_models_get_seed_and_threads(
    runs: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relaxed_search, "LARGE_PAIRS", 0)  # every layer counts as large
    _solve(_problem(), tolerance=0.15, partition=False)
    _check(runs, "solver.relaxed")  # the LP without contiguity


def test_relaxed_lp_with_cbc_gets_seed_and_threads(
    runs: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relaxed_search, "LARGE_PAIRS", 0)
    _solve(_problem(), backend="cbc", tolerance=0.15, partition=False)
    _check(runs, "solver.relaxed")  # CBC runs as a command; the LP is HiGHS's either way


def test_balance_search_models_get_seed_and_threads(runs: list[Run]) -> None:
    _solve(_problem(), tolerance=None, auto_share=0.5)
    _check(runs, "solver.partition")  # the exact probes, then the distance stage


def test_a_thread_count_unlike_the_last_solves_still_runs(runs: list[Run]) -> None:
    """HiGHS keeps one thread scheduler per process; a solve asking for another count (a worker
    that solved before with other settings) must not be refused."""
    _solve(_problem(), threads=2, tolerance=0.15)
    _check(runs, "solver.partition", threads=2)
    runs.clear()
    _solve(_problem(), threads=1, tolerance=0.15)
    _check(runs, "solver.partition", threads=1)


def test_branch_and_cut_gets_seed_threads_and_time(
    runs: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SCIP's model (``method="branch_and_cut"``) runs with the params' seed, threads, gap and no
    more than the time left; the HiGHS models of its warm start get them too."""
    import pyscipopt

    seen: list[dict[str, Any]] = []

    class RecordingModel(pyscipopt.Model):  # type: ignore[misc]
        def optimize(self) -> None:
            names = ("randomization/randomseedshift", "lp/threads", "limits/time", "limits/gap")
            seen.append({n: self.getParam(n) for n in names})
            super().optimize()

    monkeypatch.setattr(pyscipopt, "Model", RecordingModel)
    _solve(_problem(), tolerance=0.15, method="branch_and_cut", gap=0.002)
    assert len(seen) == 1
    assert seen[0]["randomization/randomseedshift"] == SEED
    assert seen[0]["lp/threads"] == THREADS
    assert seen[0]["limits/gap"] == pytest.approx(0.002)
    assert 0 < seen[0]["limits/time"] <= 4  # the solve's time limit, less what the start took
    _check(runs, "solver.backends")  # the star-shaped plan's model, run by the backend
