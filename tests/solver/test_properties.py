"""Hypothesis invariants: whatever the solver returns covers every ward once, in connected areas,
within the tolerance it reports."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import verify
from solver.graph import components
from solver.problem import Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid


@st.composite
def grid_problems(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    rows = draw(st.integers(2, 4))
    cols = draw(st.integers(2, 4))
    n = rows * cols
    k = draw(st.integers(1, min(4, n)))
    homes = draw(
        st.lists(
            st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1)), min_size=k, max_size=k
        )
    )
    weights = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    tol = draw(st.sampled_from([0.1, 0.3, 0.6]))
    return grid(rows, cols, homes, weights=[float(w) for w in weights]), tol


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_problems())
def test_plans_are_complete_connected_and_balanced(case) -> None:  # type: ignore[no-untyped-def]
    problem, tol = case
    sol = solve(problem, SolveParams(tolerance=tol, time_limit=20))
    if sol.status is Status.INFEASIBLE:
        assert sol.explanation
        assert sol.assignment is None
        return
    assert sol.assignment is not None
    assert len(sol.assignment) == problem.n_units
    assert set(sol.assignment) == set(range(problem.n_organisers))
    nb = problem.neighbours()
    for j in range(problem.n_organisers):
        assert len(components([i for i, a in enumerate(sol.assignment) if a == j], nb)) == 1
    lo, hi = problem.load_bounds(tol)
    for load in verify.loads(problem, sol.assignment):
        assert lo - 1e-6 <= load <= hi + 1e-6
