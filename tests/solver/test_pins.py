"""Pinned wards in a fresh plan on small grids: kept by every method, refused naming the pins
that cannot be kept (before solving, or by the deletion filter), checked against brute force."""

from __future__ import annotations

import itertools

import pytest

from solver import verify
from solver.params import METHODS, SolveParams
from solver.pins import obvious, solve_pinned
from solver.problem import Problem, Status
from solver.solve import solve
from tests.solver.grids import grid

PARAMS = SolveParams(tolerance=0.0, time_limit=10)


def three_rows() -> Problem:
    """3×3, homes on the left column: the nearest-home plan is the three rows."""
    return grid(3, 3, [(0, 0), (1, 0), (2, 0)])


def brute_best(problem: Problem, tolerance: float, pins: dict[str, str]) -> float | None:
    unit = {u: i for i, u in enumerate(problem.unit_ids)}
    org = {o: j for j, o in enumerate(problem.organiser_ids)}
    best = None
    for a in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if any(a[unit[w]] != org[o] for w, o in pins.items()):
            continue
        if not verify.check_plan(problem, a, tolerance):
            value = verify.objective(problem, a)
            best = value if best is None else min(best, value)
    return best


@pytest.mark.parametrize("method", [m for m in METHODS if m != "auto"])
def test_every_method_keeps_a_pin_the_plain_optimum_breaks(method: str) -> None:
    p = three_rows()
    plain = solve(p, PARAMS)
    assert plain.assignment is not None
    assert p.organiser_ids[plain.assignment[p.unit_ids.index("r0c2")]] == "CO0"
    pins = {"r0c2": "CO2"}  # the top right ward with the bottom row's CO
    sol = solve_pinned(p, SolveParams(tolerance=0.0, time_limit=10, method=method), pins)
    assert sol.assignment is not None, sol.explanation
    assert p.organiser_ids[sol.assignment[p.unit_ids.index("r0c2")]] == "CO2"
    assert verify.check_plan(p, sol.assignment, 0.0) == []
    best = brute_best(p, 0.0, pins)
    assert best is not None
    assert sol.objective == pytest.approx(verify.objective(p, sol.assignment))
    if sol.status is Status.OPTIMAL:
        assert sol.objective == pytest.approx(best, rel=1e-3)
    assert sol.bound is not None
    assert sol.bound <= best + 1e-6
    assert any("pins kept: r0c2=CO2" in w for w in sol.warnings)


def test_obvious_reasons_name_each_pin() -> None:
    p = grid(2, 3, [(0, 0), (1, 2)], weights=[10, 10, 10, 10, 10, 0])
    reasons = obvious(
        p,
        {"r9c9": "CO0", "r0c1": "CO7", "r1c2": "CO1", "r0c0": "CO0", "r1c0": "CO0", "r0c2": "CO0"},
        0.1,
    )
    assert "pin r9c9=CO0: ward r9c9 is not in the layer" in reasons
    assert "pin r0c1=CO7: CO7 is not on the roster" in reasons
    assert any(r.startswith("pin r1c2=CO1: ward r1c2 has no poor households") for r in reasons)
    # three wards of 10 with CO0, more than 25 × 1.1
    heavy = [r for r in reasons if r.startswith("pins r0c0=CO0, r0c2=CO0, r1c0=CO0: together 30")]
    assert len(heavy) == 1, reasons
    sol = solve_pinned(p, SolveParams(tolerance=0.1, time_limit=5), {"r0c1": "CO7"})
    assert sol.status is Status.INFEASIBLE
    assert sol.assignment is None
    assert "pin r0c1=CO7: CO7 is not on the roster" in sol.explanation


def test_the_deletion_filter_names_the_two_pins_that_conflict_and_not_the_third() -> None:
    # 3×3 at ±0: three rows of three. Opposite corners with one CO need a path of 5 wards: never.
    p = three_rows()
    pins = {"r0c0": "CO0", "r2c2": "CO0", "r1c1": "CO1"}
    assert brute_best(p, 0.0, pins) is None
    assert brute_best(p, 0.0, {"r0c0": "CO0", "r1c1": "CO1"}) is not None
    assert brute_best(p, 0.0, {"r2c2": "CO0", "r1c1": "CO1"}) is not None
    sol = solve_pinned(p, SolveParams(tolerance=0.0, time_limit=20), pins)
    assert sol.status is Status.INFEASIBLE, sol.explanation
    assert sol.assignment is None
    assert "pins r0c0=CO0, r2c2=CO0 cannot be kept together at ±0.0 % of the mean (proved)" in (
        sol.explanation
    )
    assert "r1c1" not in sol.explanation.split("(proved)")[0]


def test_on_a_line_two_pins_conflict_and_one_of_them_alone_is_kept() -> None:
    # 1×4 line, two COs at ±0: the two halves only. r0c1 and r0c3 with one CO: never.
    p = grid(1, 4, [(0, 0), (0, 3)])
    pins = {"r0c1": "CO0", "r0c3": "CO0"}
    assert brute_best(p, 0.0, pins) is None
    sol = solve_pinned(p, SolveParams(tolerance=0.0, time_limit=10), pins)
    assert sol.status is Status.INFEASIBLE
    assert "pins r0c1=CO0, r0c3=CO0 cannot be kept together" in sol.explanation
    single = solve_pinned(p, SolveParams(tolerance=0.0, time_limit=10), {"r0c2": "CO0"})
    assert single.assignment is not None
    assert single.assignment == (1, 1, 0, 0)  # CO0 takes the right half, CO1 the left


def test_pins_of_other_cos_that_shut_in_or_cut_apart_a_co_are_named_before_solving() -> None:
    p = three_rows()  # ±0: every area holds three wards (30 poor households)
    pins = {"r0c0": "CO0", "r0c1": "CO1", "r1c0": "CO1"}
    assert brute_best(p, 0.0, pins) is None
    assert obvious(p, pins, 0.0) == [
        "pin r0c0=CO0: pins r0c1=CO1, r1c0=CO1 shut CO0 in wards r0c0 with 10 poor households, "
        "less than one CO's smallest share 30 at ±0.0 % of the mean"
    ]
    sol = solve_pinned(p, SolveParams(tolerance=0.0, time_limit=5), pins)
    assert sol.status is Status.INFEASIBLE
    assert sol.explanation.startswith("the pins cannot be kept: pin r0c0=CO0: pins r0c1=CO1")
    line = grid(1, 5, [(0, 0), (0, 4)])
    apart = {"r0c0": "CO0", "r0c2": "CO1", "r0c4": "CO0"}
    assert obvious(line, apart, None) == [
        "pins r0c0=CO0, r0c4=CO0 cannot share one connected area: pins r0c2=CO1 cut them apart"
    ]
    assert obvious(line, {"r0c0": "CO0", "r0c4": "CO1"}, 0.5) == []


def test_with_tolerance_auto_the_answer_says_the_balance_was_found_without_the_pins() -> None:
    p = three_rows()  # the tightest balance: ±0, three rows
    pins = {"r0c0": "CO0", "r2c2": "CO0"}
    sol = solve_pinned(p, SolveParams(tolerance=None, time_limit=20), pins)
    assert sol.status is Status.INFEASIBLE, sol.explanation
    assert "pins r0c0=CO0, r2c2=CO0 cannot be kept together at ±0.0 % of the mean (proved)" in (
        sol.explanation
    )
    assert "±0.0 % is the tightest balance found without the pins" in sol.explanation
    assert brute_best(p, 0.0, pins) is None
    looser = solve_pinned(p, SolveParams(tolerance=1.0, time_limit=20), pins)
    assert looser.assignment is not None
    assert (looser.assignment[0], looser.assignment[8]) == (0, 0)
