"""The balance–distance frontier: monotone objectives, honest bound reuse, gaps, the balanced rule,
and the time shares; the whole-answer deadline's phase timings and solver budget (a fake clock)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any

import pytest

from solver import frontier, verify
from solver.deadline import MIN_SOLVER_SECONDS, MIN_SOLVER_SHARE, Deadline, Reserve
from solver.frontier import FrontierRequest, balanced_index, compute
from solver.params import SolveParams
from solver.problem import Problem, Solution, Status, relative_gap
from solver.solve import solve
from tests.solver.grids import grid

TOLERANCES = (0.05, 0.10, 0.15)


def uneven() -> Problem:
    """3×4 wards of uneven loads, two homes at opposite corners: balance costs distance."""
    weights = [30, 10, 12, 8, 9, 14, 11, 10, 7, 13, 9, 27]
    return grid(3, 4, [(0, 0), (2, 3)], weights)


def brute_force(problem: Problem, tolerance: float) -> float:
    best = math.inf
    for a in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if not verify.check_plan(problem, a, tolerance):
            best = min(best, verify.objective(problem, a))
    return best


@pytest.fixture(scope="module")
def real_frontier() -> frontier.Frontier:
    params = SolveParams(tolerance=None, time_limit=20)
    return compute(uneven(), params, FrontierRequest(TOLERANCES))


def test_points_are_ordered_checked_and_monotone(real_frontier: frontier.Frontier) -> None:
    points = real_frontier.points
    assert points[0].label == "tightest"
    tolerances = [p.tolerance for p in points]
    assert tolerances == sorted(tolerances)
    assert all(p.check_passed for p in points)
    objectives = [p.objective for p in points]
    assert all(v is not None for v in objectives)
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(objectives))  # type: ignore[operator]
    assert objectives[0] > objectives[-1]  # the tight balance costs distance on this grid


def test_bounds_are_honest_and_gaps_reported(real_frontier: frontier.Frontier) -> None:
    problem = uneven()
    for p in real_frontier.points:
        sol = p.solution
        assert sol.bound is not None
        assert sol.bound <= brute_force(problem, p.tolerance) + 1e-6  # a true lower bound
        assert sol.gap == relative_gap(sol.objective, sol.bound)
        assert p.row()["gap"] == sol.gap
        if sol.status is Status.OPTIMAL:
            assert sol.objective == pytest.approx(brute_force(problem, p.tolerance), rel=1e-3)
    bounds = [p.solution.bound for p in real_frontier.points]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(bounds))  # type: ignore[operator]


def test_table_names_the_balanced_point_and_rule(real_frontier: frontier.Frontier) -> None:
    table = real_frontier.table()
    objectives = [p.objective for p in real_frontier.points]
    assert real_frontier.balanced == balanced_index(objectives)
    assert table["balanced"] == real_frontier.points[real_frontier.balanced or 0].label
    assert "2 %" in str(table["rule"])
    assert table["chosen"] == "tightest"  # auto requested: the tightest point is the answer
    tightest = table["points"][0]  # type: ignore[index]
    # an exact balance (every CO the same load) is proved the tightest: nothing is below ±0 %
    assert tightest["max_deviation"] == pytest.approx(0.0, abs=1e-9)
    assert tightest["balance_floor"] == 0.0


@pytest.mark.parametrize(
    ("objectives", "expected"),
    [
        ([500.0, 460.0, 430.0, 427.0], 2),  # 430 is within 2 % of 427, 460 is not
        ([100.0, 100.0, 100.0], 0),  # loosening saves nothing: the tightest
        ([None, 120.0, 100.0], 2),
        ([101.9, 101.0, 100.0], 0),
        ([None, None], None),
    ],
)
def test_balanced_rule(objectives: list[float | None], expected: int | None) -> None:
    assert balanced_index(objectives) == expected


def _solution(
    tolerance: float | None, objective: float | None, bound: float | None, plan: tuple[int, ...]
) -> Solution:
    status = Status.FEASIBLE if objective is not None else Status.NO_SOLUTION
    return Solution(
        status=status,
        assignment=plan if objective is not None else None,
        objective=objective,
        bound=bound,
        tolerance=tolerance,
        solver="fake",
        solver_version="0",
        seconds=0.0,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSolve:
    """Answers per tolerance from a table; records each call's time limit and start."""

    def __init__(
        self,
        answers: dict[float | None, tuple[float | None, float | None]],
        clock: FakeClock | None = None,
    ) -> None:
        self.answers = answers
        self.clock = clock
        self.tightest = 0.021
        self.calls: list[tuple[float | None, float, Any]] = []

    def __call__(
        self,
        problem: Problem,
        params: SolveParams,
        backend: object,
        on_progress: object,
        *,
        start: Any,
    ) -> Solution:
        self.calls.append((params.tolerance, params.time_limit, start))
        if self.clock is not None:  # the solve uses all of its time
            self.clock.now += params.time_limit
        objective, bound = self.answers[params.tolerance]
        tolerance = self.tightest if params.tolerance is None else params.tolerance
        plan = tuple(i % 2 for i in range(problem.n_units))
        return _solution(tolerance, objective, bound, plan)


def test_reuse_carries_plans_looser_and_bounds_tighter() -> None:
    # ±10 %'s own solve is worse than ±5 %'s plan; ±15 % proved a bound above ±5 %'s own bound.
    fake = FakeSolve(
        {None: (500.0, 400.0), 0.05: (460.0, 410.0), 0.10: (470.0, 380.0), 0.15: (430.0, 425.0)}
    )
    params = SolveParams(tolerance=None, time_limit=50, gap=1e-3)
    front = compute(uneven(), params, FrontierRequest(TOLERANCES), solve_fn=fake)
    by = {p.label: p for p in front.points}
    assert by["±10 %"].objective == 460.0
    assert by["±10 %"].plan_from == 0.05
    assert by["±5 %"].solution.bound == 425.0
    assert by["±5 %"].bound_from == 0.15
    assert by["tightest"].solution.bound == 425.0
    assert by["±15 %"].solution.bound == 425.0
    assert by["±15 %"].bound_from == 0.15
    assert by["±10 %"].solution.gap == pytest.approx((460 - 425) / 460)
    # Each looser solve started from the best plan of the tighter ones.
    assert fake.calls[0][2] is None
    assert all(c[2] is not None for c in fake.calls[1:])


def test_time_shares_fit_the_limit() -> None:
    clock = FakeClock()
    fake = FakeSolve(
        {None: (500.0, 400.0), 0.05: (460.0, 410.0), 0.10: (450.0, 400.0), 0.15: (440.0, 400.0)},
        clock,
    )
    params = SolveParams(tolerance=None, time_limit=50)
    front = compute(uneven(), params, FrontierRequest(TOLERANCES), solve_fn=fake, clock=clock)
    limits = [c[1] for c in fake.calls]
    # The tightest gets 1 share of 4, each loose point a third, a half, all of what is left.
    assert frontier.TIGHTEST_WEIGHT == 1.0
    assert limits == pytest.approx([12.5, 12.5, 12.5, 12.5])
    assert front.seconds == pytest.approx(50)


def test_balanced_choice_answers_with_the_balanced_point() -> None:
    fake = FakeSolve(
        {None: (500.0, 490.0), 0.05: (440.0, 430.0), 0.10: (436.0, 430.0), 0.15: (435.0, 430.0)}
    )
    params = SolveParams(tolerance=None, time_limit=10)
    front = compute(uneven(), params, FrontierRequest(TOLERANCES, "balanced"), solve_fn=fake)
    assert front.points[front.balanced or 0].label == "±5 %"
    assert front.solution.tolerance == 0.05
    assert front.table()["chosen"] == "±5 %"


def test_requested_tolerance_is_a_point_and_the_answer() -> None:
    fake = FakeSolve(
        {
            None: (500.0, 400.0),
            0.05: (460.0, 410.0),
            0.08: (455.0, 400.0),
            0.10: (450.0, 400.0),
            0.15: (440.0, 400.0),
        }
    )
    params = SolveParams(tolerance=0.08, time_limit=10)
    front = compute(uneven(), params, FrontierRequest(TOLERANCES), solve_fn=fake)
    assert [p.label for p in front.points] == ["tightest", "±5 %", "±8 %", "±10 %", "±15 %"]
    assert front.solution.tolerance == 0.08


# -- the whole answer's deadline -------------------------------------------------------------------


def test_phases_add_up_to_the_total() -> None:
    clock = FakeClock()
    d = Deadline(60, clock=clock)
    with d.phase("reading"):
        clock.now += 4
    clock.now += 0.5  # glue between phases
    with d.phase("solve"):
        clock.now += 40
    report = d.report()
    assert report["reading"] == 4
    assert report["solve"] == 40
    assert report["other"] == pytest.approx(0.5)
    assert report["total"] == pytest.approx(44.5)
    parts = sum(v for k, v in report.items() if k not in ("total", "limit"))
    assert parts == pytest.approx(report["total"])


def test_solver_budget_is_the_remainder_minus_the_reserve() -> None:
    clock = FakeClock()
    d = Deadline(60, clock=clock, reserve=Reserve(base=1.0, ratio=2.0, max_share=0.3))
    with d.phase("reading"):
        clock.now += 3
    with d.phase("adjacency"):
        clock.now += 1
    with d.phase("model"):
        clock.now += 2
    # 60 − 6 s used − (1 + 2 × (3 + 1)) reserve = 45
    assert d.solver_budget() == pytest.approx(45)
    assert d.solver_budget_s == pytest.approx(45)
    clock.now += 100  # the limit is long gone: the solver still gets its minimum share
    assert d.solver_budget() == pytest.approx(MIN_SOLVER_SHARE * 60)
    short = Deadline(5, clock=clock)
    clock.now += 10
    assert short.solver_budget() == MIN_SOLVER_SECONDS


def test_reserve_is_capped_by_its_share() -> None:
    assert Reserve(base=1.0, ratio=10.0, max_share=0.3).seconds(10, 20) == pytest.approx(6)


def test_a_deadline_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(0)


def test_frontier_request_rejects_bad_tolerances() -> None:
    with pytest.raises(ValueError, match="fractions"):
        FrontierRequest(())
    with pytest.raises(ValueError, match="fractions"):
        replace(FrontierRequest(), tolerances=(-0.1,))


def test_a_point_tighter_than_the_tightest_is_solved_and_may_be_infeasible() -> None:
    fake = FakeSolve(
        {None: (500.0, 400.0), 0.05: (None, None), 0.10: (450.0, 420.0), 0.15: (440.0, 430.0)}
    )
    fake.tightest = 0.08
    real = fake.__call__

    def infeasible_at_5(problem: Problem, params: SolveParams, *a: Any, start: Any) -> Solution:
        sol = real(problem, params, *a, start=start)
        return replace(sol, status=Status.INFEASIBLE) if params.tolerance == 0.05 else sol

    params = SolveParams(tolerance=None, time_limit=10)
    front = compute(uneven(), params, FrontierRequest(TOLERANCES), solve_fn=infeasible_at_5)
    assert [p.label for p in front.points] == ["±5 %", "tightest", "±10 %", "±15 %"]
    five = front.points[0]
    assert five.solution.status is Status.INFEASIBLE
    assert five.solution.bound is None  # no bound is carried to a proved-infeasible point
    assert front.points[1].solution.bound == 430.0
    assert front.balanced == 3  # 440 is the loosest; 450 is more than 2 % above it


def pocketed() -> Problem:
    """A path a–b–c–d of loads 2, 20, 9, 9 and two COs: ward a reaches the rest only through b, so
    every plan has an area 10 % above the mean (pockets prove it without a solve)."""
    return Problem.from_lists(
        ["a", "b", "c", "d"],
        [2.0, 20.0, 9.0, 9.0],
        [(0, 1), (1, 2), (2, 3)],
        ["X", "Y"],
        [[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]],
    )


def test_points_below_a_proved_floor_take_no_time() -> None:
    clock = FakeClock()
    fake = FakeSolve({None: (50.0, 40.0), 0.15: (45.0, 40.0)}, clock)
    fake.tightest = 0.10
    params = SolveParams(tolerance=None, time_limit=60)
    request = FrontierRequest((0.05, 0.08, 0.15))
    front = compute(pocketed(), params, request, solve_fn=fake, clock=clock)
    # Only the tightest and ±15 % are solved: one share of 2, then all that is left.
    assert [c[0] for c in fake.calls] == [None, 0.15]
    assert [c[1] for c in fake.calls] == pytest.approx([30, 30])
    by = {p.label: p for p in front.points}
    for label in ("±5 %", "±8 %"):
        assert by[label].solution.status is Status.INFEASIBLE
        assert "only through ward b" in by[label].solution.explanation
        assert by[label].solution.seconds == 0.0


def test_ruled_out_points_match_what_a_solve_answers() -> None:
    front = compute(
        pocketed(), SolveParams(tolerance=None, time_limit=10), FrontierRequest((0.05,))
    )
    ruled = next(p for p in front.points if p.label == "±5 %").solution
    solved = solve(pocketed(), SolveParams(tolerance=0.05, time_limit=10))
    assert (ruled.status, ruled.explanation) == (solved.status, solved.explanation)
    assert (ruled.solver, ruled.solver_version) == (solved.solver, solved.solver_version)
