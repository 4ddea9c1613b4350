"""The figures of a plan, computed once (:class:`PlanFigures`), and one rounding of every figure a
plan's outputs show: the maps, the sheets and ``summary.csv``.

A figure is rounded once, here, half away from zero on its decimal text (1.55 → 1.6, 1.45 → 1.5,
whatever the float's binary expansion), to a fixed number of decimals per kind; the text helpers
format the rounded value, so a CO's distance reads the same on the file map, the served map, the
sheets and in the CSV. A missing or non-finite figure prints as "—".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from solver.problem import Problem

#: Decimals shown per kind of figure.
KM_DECIMALS = 1
PERCENT_DECIMALS = 1
HOUSEHOLD_DECIMALS = 0
MISSING = "—"


def finite(value: object) -> float | None:
    """``value`` as a float, or None when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def rounded(value: object, decimals: int) -> float | None:
    """``value`` rounded half away from zero to ``decimals`` (None: not a finite number)."""
    number = finite(value)
    if number is None:
        return None
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(number)).quantize(step, rounding=ROUND_HALF_UP))


def km_value(value: object) -> float | None:
    """A distance in km, as every output gives it."""
    return rounded(value, KM_DECIMALS)


def percent_value(value: object) -> float | None:
    """A percentage (deviation from the mean), as every output gives it."""
    return rounded(value, PERCENT_DECIMALS)


def km_text(value: object, unit: str = " km") -> str:
    number = km_value(value)
    return MISSING if number is None else f"{number:.{KM_DECIMALS}f}{unit}"


def percent_text(value: object) -> str:
    number = percent_value(value)
    if number is None:
        return MISSING
    return f"{0.0 if number == 0 else number:+.{PERCENT_DECIMALS}f} %"


def count_text(value: object) -> str:
    """A count (households, people, wards) with thousands separators."""
    number = rounded(value, HOUSEHOLD_DECIMALS)
    return MISSING if number is None else f"{number:,.{HOUSEHOLD_DECIMALS}f}"


# --- the figures of a plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganiserFigures:
    """One CO's figures in a plan, unrounded (the text helpers above round them for display)."""

    organiser_id: str
    #: The CO's wards (units), in the layer's order.
    ward_ids: tuple[str, ...]
    #: Poor households (estimated) of the CO's wards: the load the plan balances.
    load: float
    #: ``100 · (load − mean) / mean``; None when the mean load is not positive.
    deviation_pct: float | None
    #: Mean km of the wards from the CO's home, weighted by their poor households (as the
    #: solver's objective); None when no ward has both a distance and a weight.
    mean_km: float | None
    #: The farthest ward from the CO's home; None when no distance is known.
    max_km: float | None


@dataclass(frozen=True)
class PlanFigures:
    """The figures of one plan, computed once (:meth:`of`) and handed to every output: the CLI's
    summary and areas, the API's plan areas, the sheets and the maps."""

    organisers: tuple[OrganiserFigures, ...]
    total_load: float
    #: ``total_load`` over the number of COs.
    mean_load: float

    def of_organiser(self, organiser_id: str) -> OrganiserFigures | None:
        return next((o for o in self.organisers if o.organiser_id == organiser_id), None)

    @classmethod
    def of_problem(cls, problem: Problem, assignment: Sequence[int]) -> PlanFigures:
        """A solved problem's figures; ``assignment`` holds each unit's CO (an index)."""
        ids = problem.organiser_ids
        return cls.of(
            ids,
            problem.unit_ids,
            [ids[a] for a in assignment],
            problem.weights,
            [problem.distance_km[i][a] for i, a in enumerate(assignment)],
        )

    @classmethod
    def of(
        cls,
        organiser_ids: Sequence[str],
        ward_ids: Sequence[str],
        assigned: Sequence[str],
        weights: Sequence[float | None],
        km: Sequence[float | None],
    ) -> PlanFigures:
        """Per ward: its id, its CO (``assigned``), its poor households (``weights``; None when not
        known: left out of the sums) and its distance from its CO's home (``km``; None when the
        home is not known)."""
        members: dict[str, list[int]] = {str(o): [] for o in organiser_ids}
        for i, oid in enumerate(assigned):
            members.setdefault(str(oid), []).append(i)
        loads = {
            oid: math.fsum(w for i in idx if (w := finite(weights[i])) is not None)
            for oid, idx in members.items()
        }
        total = math.fsum(loads.values())
        mean = total / len(members) if members else 0.0
        return cls(
            tuple(
                OrganiserFigures(
                    organiser_id=oid,
                    ward_ids=tuple(str(ward_ids[i]) for i in idx),
                    load=loads[oid],
                    deviation_pct=100 * (loads[oid] - mean) / mean if mean > 0 else None,
                    mean_km=_weighted_km(idx, weights, km),
                    max_km=max((k for i in idx if (k := finite(km[i])) is not None), default=None),
                )
                for oid, idx in members.items()
            ),
            total,
            mean,
        )


def _weighted_km(
    idx: Sequence[int], weights: Sequence[float | None], km: Sequence[float | None]
) -> float | None:
    pairs = [
        (w, k)
        for i in idx
        if (w := finite(weights[i])) is not None and (k := finite(km[i])) is not None
    ]
    weight = math.fsum(w for w, _ in pairs)
    return math.fsum(w * k for w, k in pairs) / weight if weight > 0 else None
