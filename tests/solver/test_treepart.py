"""Spanning-tree splits (solver.treepart): balanced connected pieces, bounds met exactly included."""

from __future__ import annotations

from solver import verify
from solver.treepart import match_to_organisers, tree_partition
from tests.solver.grids import grid


def test_a_piece_exactly_at_the_lower_bound_is_taken() -> None:
    """20 equal wards of 10, 3 COs at ±10 %: every balanced plan has a 6-ward area of 60, the
    lower bound 0.9 × 66.67, which as floats is 60.00000000000001. The split must take it, as the
    check does (it used to try spanning trees until its deadline and find none)."""
    problem = grid(4, 5, [(0, 0), (3, 4), (0, 4)])
    found = [tree_partition(problem, 0.1, seed=s, deadline=None) for s in range(20)]
    plans = [p for p in found if p is not None]
    assert plans, "no seed split the grid"
    for pieces in plans:
        assert sorted(len(p) for p in pieces) == [6, 7, 7]
        assert not verify.check_plan(problem, match_to_organisers(problem, pieces), 0.1)


def test_no_piece_outside_the_balance_is_returned() -> None:
    """At ±1 % no area of whole 10-household wards fits (60 and 70 are both ±10 % from 66.67)."""
    problem = grid(4, 5, [(0, 0), (3, 4), (0, 4)])
    assert all(tree_partition(problem, 0.01, seed=s, deadline=None) is None for s in range(5))
