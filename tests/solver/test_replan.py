"""Hand edits and re-plans on small grids, checked against brute force where it matters."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import NamedTuple

import pytest

from solver import replan_areas, verify
from solver.edits import check_edit, parse_moves
from solver.params import SolveParams
from solver.problem import Problem, Status
from solver.replan import base_positions, changes, replan
from tests.solver.grids import grid

ROWS = {"r0c0": "CO0", "r0c1": "CO0", "r0c2": "CO0", "r1c0": "CO1", "r1c1": "CO1"}
ROWS |= {"r1c2": "CO1", "r2c0": "CO2", "r2c1": "CO2", "r2c2": "CO2"}
PARAMS = SolveParams(tolerance=0.0, time_limit=20)


class Plan(NamedTuple):
    households: float
    wards: int
    distance: float


def rows_problem(homes: list[tuple[float, float]]) -> Problem:
    return grid(3, 3, homes)


def least_moved(problem: Problem, base: dict[str, str], tolerance: float) -> float:
    """The fewest poor households any valid plan moves from ``base`` (brute force)."""
    pos = base_positions(problem, base)
    best = math.inf
    for a in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if not verify.check_plan(problem, a, tolerance):
            best = min(best, changes(problem, pos, a).households_moved)
    return best


def test_replan_keeps_a_valid_base_although_a_fresh_plan_moves_wards() -> None:
    # homes in three corners: the nearest-home plan is not the three rows of the base
    p = rows_problem([(0, 0), (0, 2), (2, 1)])
    fresh = replan(p, {}, PARAMS)
    assert fresh.changes is not None
    assert fresh.plan is not None
    assert len(changes(p, base_positions(p, ROWS), fresh.plan).wards_moved) > 0
    again = replan(p, ROWS, PARAMS)
    assert again.solution.status is Status.OPTIMAL
    assert again.changes is not None
    assert again.plan is not None
    assert again.changes.wards_moved == ()
    assert [p.organiser_ids[j] for j in again.plan] == [ROWS[u] for u in p.unit_ids]


def test_a_co_leaves_and_a_new_co_gets_an_area_moving_the_fewest_households() -> None:
    # CO2 (the bottom row) leaves; CO3 joins with a home at the top right
    p = replace(grid(3, 3, [(0, 0), (1, 0), (0, 2)]), organiser_ids=("CO0", "CO1", "CO3"))
    out = replan(p, ROWS, PARAMS)
    assert out.plan is not None
    assert out.changes is not None
    assert verify.check_plan(p, out.plan, 0.0) == []
    assert any(p.organiser_ids[j] == "CO3" for j in out.plan)  # the new CO has an area
    assert out.changes.households_moved == pytest.approx(least_moved(p, ROWS, 0.0))
    assert "CO3" in out.changes.organisers_affected
    fresh = replan(p, {}, PARAMS)
    assert fresh.plan is not None
    fresh_moved = changes(p, base_positions(p, ROWS), fresh.plan).households_moved
    assert out.changes.households_moved <= fresh_moved


def test_fresh_plan_keeps_a_pin_it_would_not_choose() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    free = replan(p, {}, PARAMS)
    assert free.plan is not None
    assert p.organiser_ids[free.plan[p.unit_ids.index("r0c2")]] == "CO0"
    pinned = replan(p, {}, PARAMS, pins={"r0c2": "CO2"})
    assert pinned.plan is not None, pinned.refusal
    assert p.organiser_ids[pinned.plan[p.unit_ids.index("r0c2")]] == "CO2"
    assert verify.check_plan(p, pinned.plan, 0.0) == []


def test_impossible_pins_are_refused_and_named() -> None:
    # opposite corners with the same CO need five wards, but the balance gives each CO three
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    out = replan(p, ROWS, PARAMS, pins={"r0c0": "CO1", "r2c2": "CO1"})
    assert out.plan is None
    assert "(proved)" in out.refusal
    assert out.broken_pins
    assert all(pin in ("r0c0=CO1", "r2c2=CO1") for pin in out.broken_pins)
    assert "ward r" in out.refusal


def test_unknown_pin_is_refused_before_solving() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    with pytest.raises(ValueError, match="organiser CO9 is not on the roster"):
        replan(p, {}, PARAMS, pins={"r0c0": "CO9"})


def test_edit_that_splits_an_area_names_the_wards_cut_off() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    base = [int(ROWS[u][2]) for u in p.unit_ids]
    out = check_edit(p, base, parse_moves(["r0c1=CO1"]), 0.5)
    assert not out.valid
    assert "CO0's area would fall into 2 pieces: ward r0c2 cut off from the rest" in out.breaks[0]
    assert {d.organiser for d in out.deltas} == {"CO0", "CO1"}
    co1 = next(d for d in out.deltas if d.organiser == "CO1")
    assert (co1.before.wards, co1.after.wards) == (3, 4)
    assert co1.after.poor_households - co1.before.poor_households == pytest.approx(10.0)


def test_edit_that_breaks_the_balance_says_so_and_a_valid_one_passes() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    base = [int(ROWS[u][2]) for u in p.unit_ids]
    tight = check_edit(p, base, {"r1c0": "CO0"}, 0.1, parent_bound=90.0)
    assert any("CO0 would have too many poor households: 40" in b for b in tight.breaks)
    assert any("CO1 would have too few" in b for b in tight.breaks)
    loose = check_edit(p, base, {"r1c0": "CO0"}, 0.5, parent_bound=tight.parent_objective)
    assert loose.valid
    assert loose.objective >= loose.parent_objective
    assert loose.above_bound is not None
    assert loose.above_bound >= 0


def test_an_edit_moving_a_pinned_ward_away_breaks_naming_the_pin() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    base = [int(ROWS[u][2]) for u in p.unit_ids]
    free = check_edit(p, base, {"r1c0": "CO0"}, 0.5)
    assert free.valid
    pins = {"r1c0": "CO1", "r2c2": "CO2"}
    pinned = check_edit(p, base, {"r1c0": "CO0"}, 0.5, pins=pins)
    assert pinned.breaks == (
        "ward r1c0 is pinned to CO1: it cannot move to CO0 (remove the pin first)",
    )
    assert pinned.assignment == free.assignment  # the check says what breaks, the move stands
    assert check_edit(p, base, {"r1c0": "CO0"}, 0.5, pins={"r1c0": "CO0"}).valid  # to its pin


def test_moves_naming_unknown_wards_or_organisers_fail() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    base = [int(ROWS[u][2]) for u in p.unit_ids]
    with pytest.raises(ValueError, match="ward 99 is not in the plan; organiser CO7"):
        check_edit(p, base, {"99": "CO7"}, 0.1)
    with pytest.raises(ValueError, match="not WARD=CO"):
        parse_moves(["57"])


def test_pins_heavier_than_one_cos_share_are_refused_without_solving() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    out = replan(p, ROWS, PARAMS, pins={"r0c0": "CO1", "r2c2": "CO1", "r1c1": "CO1", "r0c1": "CO1"})
    assert out.plan is None
    assert out.solution.status is Status.INFEASIBLE
    assert out.refusal.startswith("the pins give CO1 wards r0c0, r0c1, r1c1, r2c2 with 40 poor")


def test_the_piece_with_the_home_ward_is_the_main_piece() -> None:
    p = rows_problem([(0, 0), (1, 0), (2, 0)])
    base = [int(ROWS[u][2]) for u in p.unit_ids]
    home = {0: p.unit_ids.index("r0c2")}
    out = check_edit(p, base, {"r0c1": "CO1"}, None, home_units=home)
    assert out.breaks == ("CO0's area would fall into 2 pieces: ward r0c0 cut off from the rest",)


# CO2 (the bottom row) leaves and CO3 joins at its left end; the top row is too heavy for CO0
CAP_WEIGHTS = [30, 20, 5, 10, 20, 5, 10, 10, 5]
CAP_PARAMS = SolveParams(tolerance=0.3, time_limit=20)


def cap_problem() -> Problem:
    p = grid(3, 3, [(0, 0), (1, 0), (2, 0)], CAP_WEIGHTS)
    return replace(p, organiser_ids=("CO0", "CO1", "CO3"))


def valid_plans(problem: Problem, base: dict[str, str], tolerance: float) -> list[Plan]:
    """Brute force: every valid plan (coverage, one connected area per CO, balance) with its
    households moved, wards moved and distance."""
    pos = base_positions(problem, base)
    out = []
    for a in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if not verify.check_plan(problem, a, tolerance):
            ch = changes(problem, pos, a)
            out.append(Plan(ch.households_moved, len(ch.wards_moved), verify.objective(problem, a)))
    return out


def best_within(problem: Problem, cap: int) -> tuple[float, float, int]:
    """Brute force: the lexicographic optimum (fewest households moved, then the least distance)
    among valid plans moving at most ``cap`` wards, and the fewest wards any valid plan moves."""
    plans = valid_plans(problem, ROWS, CAP_PARAMS.tolerance or 0.0)
    best = min((q for q in plans if q.wards <= cap), key=lambda q: (q.households, q.distance))
    return best.households, best.distance, min(q.wards for q in plans)


def test_max_moves_binds_holds_and_is_optimal_under_the_cap() -> None:
    p = cap_problem()
    free = replan(p, ROWS, CAP_PARAMS)
    assert free.changes is not None
    assert len(free.changes.wards_moved) == 3  # the fewest households: three light wards
    out = replan(p, ROWS, CAP_PARAMS, max_moves=2)
    assert out.plan is not None, out.refusal
    assert out.changes is not None
    assert out.solution.status is Status.OPTIMAL
    assert verify.check_plan(p, out.plan, CAP_PARAMS.tolerance) == []
    assert len(out.changes.wards_moved) == 2  # the cap holds
    assert out.changes.households_moved > free.changes.households_moved  # and it binds
    households, distance, fewest = best_within(p, 2)
    assert fewest == 2
    assert out.changes.households_moved == pytest.approx(households)
    assert out.solution.objective == pytest.approx(distance)
    assert out.solution.bound is not None
    assert out.solution.bound <= out.solution.objective + 1e-6
    loose = replan(p, ROWS, CAP_PARAMS, max_moves=3)  # a cap the free re-plan keeps
    assert loose.plan == free.plan


def test_max_moves_below_the_fewest_possible_is_refused_naming_the_smallest_cap() -> None:
    out = replan(cap_problem(), ROWS, CAP_PARAMS, max_moves=1)
    assert out.plan is None
    assert out.solution.status is Status.INFEASIBLE
    assert "no plan moves at most 1 ward from their current CO (proved)" in out.refusal
    assert "the smallest cap that allows a plan is 2 (proved)" in out.refusal
    with pytest.raises(ValueError, match="max moves -1"):
        replan(cap_problem(), ROWS, CAP_PARAMS, max_moves=-1)


@pytest.mark.parametrize("listed", [True, False], ids=["areas", "cut-loop"])
def test_max_moves_by_either_method_matches_brute_force(
    listed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not listed:  # as on a layer with too many areas to list
        monkeypatch.setattr(replan_areas, "list_areas", lambda *_a, **_k: None)
    p = cap_problem()
    households, distance, _ = best_within(p, 2)
    out = replan(p, ROWS, CAP_PARAMS, max_moves=2)
    assert out.plan is not None, out.refusal
    assert out.changes is not None
    assert len(out.changes.wards_moved) <= 2
    assert out.changes.households_moved == pytest.approx(households)
    assert out.solution.objective == pytest.approx(distance)
    refused = replan(p, ROWS, CAP_PARAMS, max_moves=1)
    assert "the smallest cap that allows a plan is 2 (proved)" in refused.refusal


# CO2 (the bottom row) leaves and CO3 joins; every home is on the bottom row. Found by brute force:
# the old objective, distance + 4 × the longest ward-to-home distance per household moved, moves
# 10 households to save distance, where a valid plan moving 2 exists.
LEX_WEIGHTS = [20, 1, 2, 10, 1, 2, 20, 5, 20]
LEX_PARAMS = SolveParams(tolerance=0.2, time_limit=20)


def lex_problem() -> Problem:
    p = grid(3, 3, [(2, 1), (2, 2), (2, 0)], LEX_WEIGHTS)
    return replace(p, organiser_ids=("CO0", "CO1", "CO3"))


def test_stability_is_strictly_first_where_the_old_weighted_objective_was_not() -> None:
    p = lex_problem()
    plans = valid_plans(p, ROWS, 0.2)
    longest = max(d for row in p.distance_km for d in row)
    old = min(plans, key=lambda q: q.distance + 4.0 * longest * q.households)
    lex = min(plans, key=lambda q: (q.households, q.distance))
    assert old.households > lex.households  # the instance shows what the weighting got wrong
    out = replan(p, ROWS, LEX_PARAMS)
    assert out.plan is not None, out.refusal
    assert out.changes is not None
    assert verify.check_plan(p, out.plan, 0.2) == []
    assert out.changes.households_moved == pytest.approx(lex.households)
    assert out.distance == pytest.approx(lex.distance)
    assert out.solution.status is Status.OPTIMAL
    assert out.moves is not None
    assert out.nearness is not None
    assert out.moves.status is Status.OPTIMAL
    assert out.moves.value == pytest.approx(lex.households)
    assert out.nearness.value == pytest.approx(lex.distance)
    assert "poor households moved: optimal" in out.describe()


@pytest.mark.parametrize("listed", [True, False], ids=["areas", "cut-loop"])
def test_step_two_keeps_the_households_moved_by_either_method(
    listed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not listed:  # as on a layer with too many areas to list
        monkeypatch.setattr(replan_areas, "list_areas", lambda *_a, **_k: None)
    p = lex_problem()
    lex = min(valid_plans(p, ROWS, 0.2), key=lambda q: (q.households, q.distance))
    out = replan(p, ROWS, LEX_PARAMS)
    assert out.changes is not None
    assert out.nearness is not None
    assert out.changes.households_moved == pytest.approx(lex.households)
    assert out.distance == pytest.approx(lex.distance)
    assert out.nearness.method == ("set_partitioning" if listed else "cut_loop")


def test_a_step_one_stopped_by_time_says_moves_are_not_proved_minimal() -> None:
    p = lex_problem()
    out = replan(p, ROWS, LEX_PARAMS)
    assert out.moves is not None
    stopped = replace(out, moves=replace(out.moves, status=Status.FEASIBLE, bound=0.0))
    assert not stopped.moves_proved
    assert "poor households moved: feasible, gap 100.00 %" in stopped.describe()
    assert "not proved minimal" in stopped.describe()
