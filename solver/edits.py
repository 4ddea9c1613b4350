"""Hand edits of a finished plan: move wards to other organisers, check the result with the same
verifier as solved plans (:mod:`solver.verify`), say in plain words what breaks, and show what
changes for each organiser the edit touches.

Pure: plain data in, plain data out, so the command line and the API can share it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solver import verify
from solver.graph import components
from solver.problem import Problem, relative_gap


@dataclass(frozen=True)
class OrganiserFigures:
    """One organiser's area in numbers: wards, poor households, deviation from the mean (a
    fraction, 0.05 = +5 %) and the household-weighted mean km from the organiser's home."""

    wards: int
    poor_households: float
    deviation: float
    mean_km: float


@dataclass(frozen=True)
class Delta:
    organiser: str
    before: OrganiserFigures
    after: OrganiserFigures

    def describe(self) -> str:
        b, a = self.before, self.after
        return (
            f"{self.organiser}: {b.wards} → {a.wards} wards, poor households "
            f"{b.poor_households:,.0f} → {a.poor_households:,.0f} "
            f"({a.poor_households - b.poor_households:+,.0f}), deviation from the mean "
            f"{b.deviation * 100:+.1f} % → {a.deviation * 100:+.1f} %, mean km from home "
            f"{b.mean_km:.2f} → {a.mean_km:.2f}"
        )


@dataclass(frozen=True)
class EditCheck:
    """The outcome of an edit: the new assignment, what it breaks (in words; empty when valid),
    the deltas of the organisers it touches, and its distance against the parent's best bound."""

    assignment: tuple[int, ...]
    breaks: tuple[str, ...]
    deltas: tuple[Delta, ...]
    objective: float
    parent_objective: float
    parent_bound: float | None

    @property
    def valid(self) -> bool:
        return not self.breaks

    @property
    def above_bound(self) -> float | None:
        """How far (relative) the edited plan's distance is above the parent's best bound."""
        return relative_gap(self.objective, self.parent_bound)


def parse_moves(items: Sequence[str]) -> dict[str, str]:
    """``["57=CO-04", …]`` → ``{"57": "CO-04"}``; ``ValueError`` naming a malformed item."""
    moves: dict[str, str] = {}
    for item in items:
        ward, sep, organiser = item.partition("=")
        if not sep or not ward.strip() or not organiser.strip():
            raise ValueError(f"{item!r} is not WARD=CO (e.g. 57=CO-04)")
        ward = ward.strip()
        if ward in moves:
            raise ValueError(f"ward {ward} is given twice")
        moves[ward] = organiser.strip()
    return moves


def apply_moves(problem: Problem, assignment: Sequence[int], moves: Mapping[str, str]) -> list[int]:
    """``assignment`` with each ward of ``moves`` given to its new organiser; ``ValueError``
    naming every unknown ward or organiser."""
    unit = {u: i for i, u in enumerate(problem.unit_ids)}
    org = {o: j for j, o in enumerate(problem.organiser_ids)}
    errors = [f"ward {w} is not in the plan" for w in moves if w not in unit]
    errors += [f"organiser {o} is not in the plan" for o in moves.values() if o not in org]
    if errors:
        raise ValueError("; ".join(dict.fromkeys(errors)))
    same = [
        f"ward {w} is already with {o}" for w, o in moves.items() if assignment[unit[w]] == org[o]
    ]
    if same:
        raise ValueError("; ".join(same))
    out = list(assignment)
    for w, o in moves.items():
        out[unit[w]] = org[o]
    return out


def figures(problem: Problem, assignment: Sequence[int], j: int) -> OrganiserFigures:
    units = [i for i, a in enumerate(assignment) if a == j]
    load = math.fsum(problem.weights[i] for i in units)
    weighted = math.fsum(problem.weights[i] * problem.distance_km[i][j] for i in units)
    mean = problem.mean_load
    return OrganiserFigures(
        wards=len(units),
        poor_households=load,
        deviation=(load - mean) / mean if mean > 0 else 0.0,
        mean_km=weighted / load if load > 0 else 0.0,
    )


def deltas(problem: Problem, before: Sequence[int], after: Sequence[int]) -> list[Delta]:
    """The figures before and after for every organiser who gains or loses a ward."""
    touched = sorted(
        {b for b, a in zip(before, after, strict=True) if b != a}
        | {a for b, a in zip(before, after, strict=True) if b != a}
    )
    return [
        Delta(problem.organiser_ids[j], figures(problem, before, j), figures(problem, after, j))
        for j in touched
    ]


def _wards(problem: Problem, units: Sequence[int]) -> str:
    ids = sorted((problem.unit_ids[i] for i in units), key=_natural)
    if len(ids) == 1:
        return f"ward {ids[0]}"
    return "wards " + ", ".join(ids[:-1]) + f" and {ids[-1]}"


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def describe_breaks(
    problem: Problem,
    assignment: Sequence[int],
    tolerance: float | None,
    *,
    respect_zones: bool = False,
    home_units: Mapping[int, int] | None = None,
) -> list[str]:
    """What ``assignment`` breaks, in words a city mission office understands; empty when valid.

    Found by :func:`solver.verify.check_plan`; areas in pieces name the wards cut off from the
    main piece (the one holding the organiser's home ward ``home_units[j]`` when known, else the
    heaviest)."""
    out = []
    nb = problem.neighbours()
    for v in verify.check_plan(problem, assignment, tolerance, respect_zones=respect_zones):
        if v.kind == "balance" and v.organiser is not None and tolerance is not None:
            out.append(_balance(problem, assignment, tolerance, v.organiser))
            continue
        if v.kind != "contiguity" or v.organiser is None:
            out.append(_plain(v))
            continue
        j = problem.organiser_ids.index(v.organiser)
        pieces = components([i for i, a in enumerate(assignment) if a == j], nb)
        home = (home_units or {}).get(j)
        main = next((p for p in pieces if home in p), None) or max(
            pieces, key=lambda p: math.fsum(problem.weights[i] for i in p)
        )
        cut = [i for p in pieces if p is not main for i in p]
        out.append(
            f"{v.organiser}'s area would fall into {len(pieces)} pieces: "
            f"{_wards(problem, cut)} cut off from the rest"
        )
    return out


def _balance(problem: Problem, assignment: Sequence[int], tolerance: float, oid: str) -> str:
    j = problem.organiser_ids.index(oid)
    load = math.fsum(problem.weights[i] for i, a in enumerate(assignment) if a == j)
    lo, hi = problem.load_bounds(tolerance)
    side = "too many" if load > hi else "too few"
    dev = (load - problem.mean_load) / problem.mean_load * 100
    return (
        f"{oid} would have {side} poor households: {load:,.0f} ({dev:+.1f} % from the mean "
        f"{problem.mean_load:,.0f}), outside the plan's ±{tolerance * 100:.1f} % "
        f"({lo:,.0f}–{hi:,.0f})"
    )


def _plain(v: verify.Violation) -> str:
    if v.kind == "empty":
        return f"{v.organiser} would be left without any ward"
    if v.kind == "zone":
        return v.message.replace(f"organiser {v.organiser}'s area", f"{v.organiser}'s area would")
    return v.message


def pin_breaks(moves: Mapping[str, str], pins: Mapping[str, str]) -> list[str]:
    """One reason per move taking a pinned ward to another CO than its pin's (a move to the
    pinned CO itself, or of a ward not pinned, breaks nothing)."""
    return [
        f"ward {w} is pinned to {pins[w]}: it cannot move to {o} (remove the pin first)"
        for w, o in sorted(moves.items(), key=lambda m: _natural(m[0]))
        if w in pins and pins[w] != o
    ]


def check_edit(
    problem: Problem,
    base: Sequence[int],
    moves: Mapping[str, str],
    tolerance: float | None,
    *,
    respect_zones: bool = False,
    parent_bound: float | None = None,
    home_units: Mapping[int, int] | None = None,
    pins: Mapping[str, str] | None = None,
) -> EditCheck:
    """Apply ``moves`` to ``base`` and check the result (see :class:`EditCheck`); a move taking
    a pinned ward (``pins``: ``{ward_id: organiser_id}``) away from its CO breaks the edit."""
    after = apply_moves(problem, base, moves)
    breaks = pin_breaks(moves, pins or {}) + describe_breaks(
        problem, after, tolerance, respect_zones=respect_zones, home_units=home_units
    )
    return EditCheck(
        assignment=tuple(after),
        breaks=tuple(breaks),
        deltas=tuple(deltas(problem, base, after)),
        objective=verify.objective(problem, after),
        parent_objective=verify.objective(problem, base),
        parent_bound=parent_bound,
    )
