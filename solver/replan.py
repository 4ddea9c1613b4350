"""Re-plan with the fewest changes, and pinned wards.

A re-plan solves the same exact model as a fresh plan (every constraint: coverage, one connected
area per organiser, balance, zones; proved by the same methods, :func:`solver.solve.solve`) with
stability strictly first, in two steps (:mod:`solver.replan_lex`):

1. the fewest poor households moved from their current organiser;
2. the nearest-to-home plan among those moving at most step 1's households.

Wards whose organiser left (or that are new in the layer) have no current organiser and move
freely; a new organiser starts empty and the model's rule "every organiser gets at least one
ward" gives them an area. Without a base (a fresh plan) nothing can move and only step 2 runs.

**Pins**: a pinned ward given to another organiser costs ``pin_cost``, more than the whole
objective of any plan that keeps every pin, in both steps. So the optimum keeps the pins whenever
a plan can; when step 1's best plan still breaks a pin and the proven bound exceeds that total,
no plan keeps the pins, proved, and the answer names the pins it could not keep.

With ``max_moves`` (N), at most N wards may leave their current organiser: a row of both steps
(step 1 solves it as :mod:`solver.replan_cap` explains); a cap too tight for the roster change is
refused, saying which cap would work.

The answer's ``solution`` is step 2's (objective and bound in poor households × km; its status is
optimal only when both steps are); ``moves`` and ``nearness`` say what each step proved.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solver import replan_areas, replan_cap, verify
from solver.backends import Backend, make_backend
from solver.params import SolveParams
from solver.problem import Problem, Progress, Solution, Status
from solver.replan_lex import (
    MOVES_GOAL,
    MOVES_SHARE,
    NEAR_GOAL,
    Step,
    households_row,
    moves_problem,
    nearest_within,
)
from solver.solve import ProgressFn, solve


@dataclass(frozen=True)
class Changes:
    """What a plan changes against a base: the wards that leave their (still present) organiser,
    their poor households, and every organiser who gains or loses a ward."""

    wards_moved: tuple[str, ...]
    households_moved: float
    organisers_affected: tuple[str, ...]


@dataclass(frozen=True)
class Replan:
    """A re-plan's answer. ``solution`` is step 2's (see the module); ``plan`` is ``None`` when
    refused (``refusal`` says why, naming pins). ``moves``: what step 1 proved (``None``: no
    base, nothing to move); ``nearness``: what step 2 proved (``None``: refused before it)."""

    solution: Solution
    plan: tuple[int, ...] | None
    distance: float | None
    changes: Changes | None
    refusal: str = ""
    broken_pins: tuple[str, ...] = ()
    max_moves: int | None = None
    moves: Step | None = None
    nearness: Step | None = None

    @property
    def moves_proved(self) -> bool:
        """Whether no valid plan moves fewer households (within the gap); True without a base."""
        return self.moves is None or self.moves.status is Status.OPTIMAL

    def describe(self) -> str:
        """What each step proved, in one line."""
        if self.plan is None:
            return self.refusal
        parts = [s.describe() for s in (self.moves, self.nearness) if s is not None]
        if not self.moves_proved:
            parts.append("the households moved are not proved minimal")
        return "; ".join(parts)


def base_positions(problem: Problem, base: Mapping[str, str]) -> tuple[int | None, ...]:
    """Each unit's current organiser position from ``{ward_id: organiser_id}``; ``None`` for a
    ward new in the layer or whose organiser is no longer on the roster."""
    org = {o: j for j, o in enumerate(problem.organiser_ids)}
    return tuple(org.get(base.get(u, "")) for u in problem.unit_ids)


def pin_positions(problem: Problem, pins: Mapping[str, str]) -> dict[int, int]:
    """``{ward_id: organiser_id}`` → positions; ``ValueError`` naming an unknown ward or
    organiser, or a ward without poor households (a pin is kept through its households)."""
    unit = {u: i for i, u in enumerate(problem.unit_ids)}
    org = {o: j for j, o in enumerate(problem.organiser_ids)}
    out: dict[int, int] = {}
    for w, o in pins.items():
        if w not in unit:
            raise ValueError(f"pin {w}={o}: ward {w} is not in the layer")
        if o not in org:
            raise ValueError(f"pin {w}={o}: organiser {o} is not on the roster")
        if problem.weights[unit[w]] <= 0:
            raise ValueError(f"pin {w}={o}: ward {w} has no poor households, it cannot be pinned")
        out[unit[w]] = org[o]
    return out


def changes(problem: Problem, base: Sequence[int | None], plan: Sequence[int]) -> Changes:
    moved = [i for i, (b, a) in enumerate(zip(base, plan, strict=True)) if b is not None and b != a]
    touched = {plan[i] for i in moved} | {b for i in moved if (b := base[i]) is not None}
    touched |= {a for b, a in zip(base, plan, strict=True) if b is None}
    return Changes(
        wards_moved=tuple(problem.unit_ids[i] for i in moved),
        households_moved=math.fsum(problem.weights[i] for i in moved),
        organisers_affected=tuple(problem.organiser_ids[j] for j in sorted(touched)),
    )


def pin_cost(problem: Problem, stability_km: float) -> float:
    """More than the combined objective of any plan that keeps every pin."""
    worst = math.fsum(
        w * (max(row) + stability_km)
        for w, row in zip(problem.weights, problem.distance_km, strict=True)
    )
    return 2.0 * worst + 1.0


def stable_problem(
    problem: Problem,
    base: Sequence[int | None],
    pins: Mapping[int, int],
    stability_km: float,
) -> Problem:
    """``problem`` with the stability and pin costs added to its distances (see the module)."""
    big = pin_cost(problem, stability_km)
    rows = []
    for i, row in enumerate(problem.distance_km):
        b, pin, w = base[i], pins.get(i), problem.weights[i]
        rows.append(
            tuple(
                d
                + (stability_km if b is not None and j != b else 0.0)
                + (big / w if pin is not None and j != pin else 0.0)
                for j, d in enumerate(row)
            )
        )
    return Problem(
        problem.unit_ids,
        problem.weights,
        problem.edges,
        problem.organiser_ids,
        tuple(rows),
        problem.zones,
    )


def replan(
    problem: Problem,
    base: Mapping[str, str],
    params: SolveParams,
    *,
    pins: Mapping[str, str] | None = None,
    max_moves: int | None = None,
    backend: Backend | None = None,
    on_progress: ProgressFn | None = None,
) -> Replan:
    """The plan moving the fewest poor households from ``base`` (``{ward_id: organiser_id}``;
    empty: a fresh plan that keeps the pins), nearest to home among those, moving at most
    ``max_moves`` wards when given; see the module for what is proved."""
    replan_cap.check_cap(max_moves)
    params = dataclasses.replace(params, auto_columns=False)  # moves and pin costs, see params
    pos = base_positions(problem, base)
    pinned = pin_positions(problem, pins or {})
    too_heavy = _heavy_pins(problem, pinned, params.tolerance)
    if too_heavy:
        refused = Solution(
            Status.INFEASIBLE, None, None, None, params.tolerance, "", "", 0.0, too_heavy
        )
        return Replan(refused, None, None, None, too_heavy, max_moves=max_moves)
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    near = stable_problem(problem, pos, pinned, 0.0)
    if all(b is None for b in pos):  # a fresh plan: nothing to move, step 2 alone
        sol = solve(near, params, backend, on_progress)
        return _answer(problem, pos, pinned, sol, None, max_moves, pin_km=0.0)
    deadline = time.monotonic() + params.time_limit
    first_params = dataclasses.replace(params, time_limit=params.time_limit * MOVES_SHARE)
    moving = stable_problem(moves_problem(problem), pos, pinned, 1.0)
    first = _solve(moving, problem, pos, first_params, max_moves, backend, on_progress)
    if first.assignment is None or _broken(problem, pinned, first.assignment):
        return _answer(
            problem, pos, pinned, first, None, max_moves, pin_km=1.0, pin_of=moves_problem(problem)
        )
    moved = changes(problem, pos, first.assignment).households_moved
    step1 = Step.of(MOVES_GOAL, first, moved)
    if on_progress is not None:
        on_progress(Progress(first.seconds, None, None, "replan", step1.describe()))
    rows = [households_row(problem, moved)]
    if max_moves is not None:
        rows.append(replan_areas.ward_cap(problem.n_units, max_moves))
    second = nearest_within(
        near,
        problem,
        pos,
        rows,
        first,
        backend,
        gap=params.gap,
        respect_zones=params.respect_zones,
        deadline=deadline,
    )
    return _answer(problem, pos, pinned, second, step1, max_moves, pin_km=0.0, first=first)


def _broken(problem: Problem, pinned: Mapping[int, int], plan: Sequence[int]) -> tuple[str, ...]:
    return tuple(
        f"{problem.unit_ids[i]}={problem.organiser_ids[j]}"
        for i, j in sorted(pinned.items())
        if plan[i] != j
    )


def _answer(
    problem: Problem,
    pos: Sequence[int | None],
    pinned: Mapping[int, int],
    sol: Solution,
    step1: Step | None,
    max_moves: int | None,
    *,
    pin_km: float,
    pin_of: Problem | None = None,
    first: Solution | None = None,
) -> Replan:
    """The answer from the last step's solution ``sol`` (refused when it has no plan or breaks
    a pin); a combined status: optimal only when both steps are."""
    if sol.assignment is None:
        return Replan(sol, None, None, None, refusal=sol.describe(), max_moves=max_moves)
    plan = sol.assignment
    broken = _broken(problem, pinned, plan)
    if broken:
        why = _pin_refusal(pin_of or problem, sol, broken, pin_km)
        return Replan(sol, None, None, None, why, broken, max_moves)
    step2 = Step.of(NEAR_GOAL if step1 is not None else "poor households × km from home", sol)
    if step1 is not None and step1.status is not Status.OPTIMAL:
        sol = dataclasses.replace(sol, status=Status.FEASIBLE)
    if first is not None:
        sol = dataclasses.replace(
            sol,
            seconds=first.seconds + sol.seconds,
            tightest_tolerance=first.tightest_tolerance,
            balance_floor=first.balance_floor,
            warnings=first.warnings,
            timings={**first.timings, "nearness_s": step2.seconds},
        )
    found = changes(problem, pos, plan)
    distance = verify.objective(problem, plan)
    return Replan(sol, plan, distance, found, max_moves=max_moves, moves=step1, nearness=step2)


def _solve(
    costed: Problem,
    problem: Problem,
    pos: Sequence[int | None],
    params: SolveParams,
    max_moves: int | None,
    backend: Backend,
    on_progress: ProgressFn | None,
) -> Solution:
    """Step 1's solve: without a cap, or with one (half the time first without it; its plan
    stands when it keeps the cap)."""
    if max_moves is None:
        return solve(costed, params, backend, on_progress)
    deadline = time.monotonic() + params.time_limit
    first = dataclasses.replace(params, time_limit=params.time_limit / 2)
    sol = solve(costed, first, backend, on_progress)
    if sol.assignment is None or replan_cap.moves_of(pos, sol.assignment) <= max_moves:
        return sol
    return replan_cap.capped(
        costed,
        problem,
        pos,
        max_moves,
        sol,
        backend,
        gap=params.gap,
        respect_zones=params.respect_zones,
        deadline=deadline,
    )


def _heavy_pins(problem: Problem, pins: Mapping[int, int], tolerance: float | None) -> str:
    """Why the pins alone break the balance (without solving), or ``""``."""
    if tolerance is None:
        return ""
    hi = problem.load_bounds(tolerance)[1]
    reasons = []
    for j, oid in enumerate(problem.organiser_ids):
        units = [i for i, pj in sorted(pins.items()) if pj == j]
        load = math.fsum(problem.weights[i] for i in units)
        if load > hi * (1 + 1e-9):
            wards = ", ".join(problem.unit_ids[i] for i in units)
            reasons.append(
                f"the pins give {oid} wards {wards} with {load:,.0f} poor households, more than "
                f"one CO's largest share {hi:,.0f} at ±{tolerance * 100:.1f} %"
            )
    return "; ".join(reasons)


def _pin_refusal(problem: Problem, sol: Solution, broken: Sequence[str], km: float) -> str:
    pins = ", ".join(f"ward {p.replace('=', ' with ')}" for p in broken)
    limit = pin_cost(problem, km) - 1.0
    if sol.bound is not None and sol.bound > limit / 2.0:
        return f"no plan keeps every pin (proved); the best plan gives up {pins}"
    why = "optimal" if sol.status is Status.OPTIMAL else "the best found in time"
    return f"the plan {why} breaks {pins}; not proved impossible: allow more time"
