"""Pinned wards in a fresh plan: "ward 57 stays with CO-04", or the pins that make it impossible.

A pin is kept through the objective, so every method keeps it (set partitioning, the cut loop,
branch-and-cut, the relaxed search): a pinned ward given to another organiser costs more than the
whole objective of any plan that keeps every pin (:func:`pinned_problem`). The solve is the
ordinary one (:func:`solver.solve.solve`) on those costs; a plan that keeps every pin has the same
objective as on the plain distances, and the proven bound is a lower bound on every plan that keeps
the pins, so what is proved (optimal, feasible with a gap) holds for the pinned plan. The balance
search of tolerance *auto* does not see the pins: it finds the tightest balance without them, and
the pins are then kept at that balance, or refused there.

When the pins cannot all be kept, the answer names them:

- **before solving** (:func:`obvious`): a pin naming a ward not in the layer, an organiser not on
  the roster, a ward without poor households (a pin is kept through its households), or one
  organiser's pinned wards that alone exceed the balance's largest share;
- **by the solver** (:func:`conflict`): a deletion filter over the pins. The pinned model is
  solved for the pins less one, one pin at a time, only as far as telling whether a plan keeps
  them (a gap of :data:`FILTER_GAP` decides it: a plan that breaks a pin costs more than twice
  any plan that keeps them); a pin whose removal leaves the others still impossible (proved) is
  dropped. What remains is a set of pins that cannot be kept together, each needed for that (when
  every step was proved in the time; otherwise the answer says so, or only that the pins together
  cannot be kept).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solver.backends import Backend, make_backend
from solver.params import SolveParams
from solver.problem import Problem, Solution, Status
from solver.solve import ProgressFn, solve

#: The share of the time limit the pinned solve gets; the rest names the pins when it breaks one.
SOLVE_SHARE = 0.7
#: A step of the deletion filter gets this share of the time left (the last one all of it; a
#: step decided early leaves its time to the next), and is not started with less than
#: STEP_SECONDS left.
STEP_SHARE = 0.5
STEP_SECONDS = 0.5
#: The gap at which a step of the deletion filter stops: below ½, a bound proving it breaks a pin.
FILTER_GAP = 0.4


def pin_text(problem: Problem, i: int, j: int) -> str:
    return f"{problem.unit_ids[i]}={problem.organiser_ids[j]}"


def positions(problem: Problem, pins: Mapping[str, str]) -> tuple[dict[int, int], list[str]]:
    """``{ward_id: organiser_id}`` → ``{unit position: organiser position}``, and the reasons
    (one per pin, naming it) why a pin cannot be kept whatever the plan."""
    unit = {u: i for i, u in enumerate(problem.unit_ids)}
    org = {o: j for j, o in enumerate(problem.organiser_ids)}
    out: dict[int, int] = {}
    wrong: list[str] = []
    for w, o in pins.items():
        if w not in unit:
            wrong.append(f"pin {w}={o}: ward {w} is not in the layer")
        elif o not in org:
            wrong.append(f"pin {w}={o}: {o} is not on the roster")
        elif problem.weights[unit[w]] <= 0:
            wrong.append(f"pin {w}={o}: ward {w} has no poor households, it cannot be pinned")
        else:
            out[unit[w]] = org[o]
    return out, wrong


def heavy(problem: Problem, pinned: Mapping[int, int], tolerance: float | None) -> list[str]:
    """One reason per organiser whose pinned wards alone exceed the balance's largest share."""
    if tolerance is None:
        return []
    hi = problem.load_bounds(tolerance)[1]
    reasons = []
    for j in range(problem.n_organisers):
        units = [i for i, pj in sorted(pinned.items()) if pj == j]
        load = math.fsum(problem.weights[i] for i in units)
        if load > hi * (1 + 1e-9):
            pins = ", ".join(pin_text(problem, i, j) for i in units)
            reasons.append(
                f"pins {pins}: together {load:,.0f} poor households, more than one CO's largest "
                f"share {hi:,.0f} at ±{tolerance * 100:.1f} % of the mean"
            )
    return reasons


def enclosed(problem: Problem, pinned: Mapping[int, int], tolerance: float | None) -> list[str]:
    """One reason per organiser whose pinned wards the other organisers' pins cut apart, or shut
    in with fewer poor households than the balance's smallest share: an organiser's area is
    connected, holds its pinned wards and none pinned to another."""
    nb = problem.neighbours()
    lo = problem.load_bounds(tolerance)[0] if tolerance is not None else 0.0
    reasons = []
    for j in range(problem.n_organisers):
        mine = [i for i, pj in sorted(pinned.items()) if pj == j]
        if not mine:
            continue
        reach, todo = {mine[0]}, [mine[0]]
        while todo:
            for v in nb[todo.pop()]:
                if v not in reach and pinned.get(v, j) == j:
                    reach.add(v)
                    todo.append(v)
        fence = sorted({v for u in reach for v in nb[u] if v not in reach})
        walls = ", ".join(pin_text(problem, v, pinned[v]) for v in fence)
        own = ", ".join(pin_text(problem, i, j) for i in mine)
        load = math.fsum(problem.weights[u] for u in reach)
        if any(i not in reach for i in mine):
            reasons.append(
                f"pins {own} cannot share one connected area: pins {walls} cut them apart"
            )
        elif load < lo * (1 - 1e-9):
            wards = ", ".join(problem.unit_ids[u] for u in sorted(reach)[:12])
            more = f" and {len(reach) - 12} more" if len(reach) > 12 else ""
            reasons.append(
                f"pin{'s' if len(mine) > 1 else ''} {own}: pins {walls} shut "
                f"{problem.organiser_ids[j]} in wards {wards}{more} with {load:,.0f} poor "
                f"households, less than one CO's smallest share {lo:,.0f} at "
                f"±{(tolerance or 0.0) * 100:.1f} % of the mean"
            )
    return reasons


def obvious(problem: Problem, pins: Mapping[str, str], tolerance: float | None) -> list[str]:
    """Every reason, found without solving, why the pins cannot all be kept (each names a pin)."""
    pinned, wrong = positions(problem, pins)
    return wrong + heavy(problem, pinned, tolerance) + enclosed(problem, pinned, tolerance)


def worst_objective(problem: Problem) -> float:
    """More than the objective of any plan: every unit at its farthest organiser."""
    return math.fsum(
        w * max(row) for w, row in zip(problem.weights, problem.distance_km, strict=True)
    )


def pinned_problem(problem: Problem, pinned: Mapping[int, int]) -> Problem:
    """``problem`` whose pinned wards cost, with another organiser, more than twice any plan
    keeping the pins (so its objective and bound are those of the pinned plans while one exists,
    and a bound above :func:`worst_objective` proves that no plan keeps them)."""
    big = 2.0 * worst_objective(problem) + 1.0
    rows = []
    for i, row in enumerate(problem.distance_km):
        pin, w = pinned.get(i), problem.weights[i]
        penalty = big / w if pin is not None else 0.0
        rows.append(tuple(d + (penalty if j != pin else 0.0) for j, d in enumerate(row)))
    return dataclasses.replace(problem, distance_km=tuple(rows))


def broken(problem: Problem, pinned: Mapping[int, int], plan: Sequence[int]) -> list[str]:
    return [pin_text(problem, i, j) for i, j in sorted(pinned.items()) if plan[i] != j]


def solve_pinned(
    problem: Problem,
    params: SolveParams,
    pins: Mapping[str, str],
    backend: Backend | None = None,
    on_progress: ProgressFn | None = None,
) -> Solution:
    """The best contiguous plan that keeps every pin (``{ward_id: organiser_id}``), or a refusal
    naming the pins that cannot be kept (see the module). Without pins, :func:`solve` itself."""
    if not pins:
        return solve(problem, params, backend, on_progress)
    deadline = time.monotonic() + params.time_limit
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    reasons = obvious(problem, pins, params.tolerance)
    if reasons:
        why = "the pins cannot be kept: " + "; ".join(reasons)
        return _refused(Status.INFEASIBLE, why, params.tolerance, backend, 0.0)
    pinned, _ = positions(problem, pins)
    params = dataclasses.replace(params, auto_columns=False)  # costs with penalties, see params
    first = dataclasses.replace(params, time_limit=params.time_limit * SOLVE_SHARE)
    sol = solve(pinned_problem(problem, pinned), first, backend, on_progress)
    if sol.assignment is None:
        return sol  # no plan at all (the pins change the costs only, not which plans exist)
    lost = broken(problem, pinned, sol.assignment)
    if not lost:
        kept = ", ".join(pin_text(problem, i, j) for i, j in sorted(pinned.items()))
        return dataclasses.replace(sol, warnings=(*sol.warnings, f"pins kept: {kept}"))
    assert sol.tolerance is not None
    at = dataclasses.replace(params, tolerance=sol.tolerance)
    proved = sol.bound is not None and sol.bound > worst_objective(problem)
    found = conflict(problem, at, pinned, lost, deadline, backend, proved=proved)
    status = Status.INFEASIBLE if proved or found.proved else Status.NO_SOLUTION
    why = found.describe(problem, sol.tolerance, lost, proved)
    if params.tolerance is None:
        why += (
            f"; ±{sol.tolerance * 100:.1f} % is the tightest balance found without the pins: "
            "give a tolerance to plan with them at a looser balance"
        )
    return _refused(status, why, sol.tolerance, backend, sol.seconds, sol.method)


def _refused(
    status: Status,
    why: str,
    tolerance: float | None,
    backend: Backend,
    seconds: float,
    method: str = "",
) -> Solution:
    return Solution(
        status,
        None,
        None,
        None,
        tolerance,
        backend.name,
        backend.version,
        seconds,
        why,
        method=method,
    )


@dataclass(frozen=True)
class Conflict:
    """What the deletion filter found: ``pins`` (positions) that cannot be kept together when
    ``proved``; ``smallest``: each of them was proved needed for that; ``keepable``: a plan keeping
    every pin was found after all (the pinned solve ran out of time)."""

    pins: tuple[tuple[int, int], ...]
    proved: bool
    smallest: bool
    keepable: bool = False

    def describe(
        self, problem: Problem, tolerance: float, lost: Sequence[str], proved: bool
    ) -> str:
        at = f"at ±{tolerance * 100:.1f} % of the mean"
        best = f"the best plan found breaks pin{'s' if len(lost) > 1 else ''} {', '.join(lost)}"
        if self.keepable:
            return f"no plan keeping every pin was found in time ({best}); allow more time"
        if not (self.proved or proved):
            return f"{best}; not proved impossible in the time: allow more time"
        if not self.proved or not self.pins:
            return f"the pins together cannot all be kept {at} (proved); {best}"
        named = ", ".join(pin_text(problem, i, j) for i, j in self.pins)
        if len(self.pins) == 1:
            head = f"pin {named} makes the plan impossible {at} (proved)"
        else:
            head = f"pins {named} cannot be kept together {at} (proved)"
        tail = "" if self.smallest else "; the time ran out before each was proved needed"
        return head + tail


def conflict(
    problem: Problem,
    params: SolveParams,
    pinned: Mapping[int, int],
    lost: Sequence[str],
    deadline: float,
    backend: Backend,
    *,
    proved: bool = False,
) -> Conflict:
    """The deletion filter (see the module) at ``params.tolerance``, until ``deadline``;
    ``proved``: no plan keeps all of ``pinned`` (known already). The pins the best plan kept are
    tried first: they are the likelier to be dropped."""
    broken_first = set(lost)
    order = sorted(pinned.items(), key=lambda p: (pin_text(problem, *p) in broken_first, p[0]))
    if not proved:
        verdict = _feasible(problem, params, dict(order), deadline, len(order) + 1, backend)
        if verdict is not False:
            return Conflict((), False, False, keepable=verdict is True)
    kept = list(order)
    smallest = True
    for pin in order:
        if time.monotonic() >= deadline:
            smallest = False
            break
        rest = [p for p in kept if p != pin]
        steps = len(order) - order.index(pin)
        answer = _feasible(problem, params, dict(rest), deadline, steps, backend)
        if answer is False:
            kept = rest
        elif answer is None:
            smallest = False
    return Conflict(tuple(sorted(kept)), True, smallest)


def _feasible(
    problem: Problem,
    params: SolveParams,
    pinned: Mapping[int, int],
    deadline: float,
    steps: int,
    backend: Backend,
) -> bool | None:
    """Can every pin in ``pinned`` be kept at ``params.tolerance``? ``None``: not known in time."""
    if not pinned:
        return True
    left = deadline - time.monotonic()
    if left < STEP_SECONDS:
        return None
    limit = left * STEP_SHARE if steps > 1 else left
    step = dataclasses.replace(params, time_limit=limit, gap=FILTER_GAP)
    sol = solve(pinned_problem(problem, pinned), step, backend)
    if sol.status is Status.INFEASIBLE:
        return False  # no plan at all at this balance: no pin can be kept
    if sol.assignment is not None and not broken(problem, pinned, sol.assignment):
        return True
    if sol.bound is not None and sol.bound > worst_objective(problem):
        return False
    return None
