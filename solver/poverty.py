"""The poverty estimate and the CO requirement, as the state mission letter defines them.

The letter (SUDA Uttar Pradesh, 12-6-2017, DAY-NULM) says: take about 25–30 % of the urban population as
urban poor, and one Community Organiser for every 3,000 urban-poor households. Poor households are an
*estimate*, so every figure here is given at both ends of that band, with the rate and household size used.

Household size: where a ward layer or census table carries household counts, poor households are
``households × rate`` and no household size is assumed. Otherwise ``population × rate ÷ household size``,
with :data:`DEFAULT_HOUSEHOLD_SIZE` = 4.66 persons — Census of India 2011, Primary Census Abstract,
urban India: 377,106,125 persons in 80,888,766 households. Cities vary (Lucknow M Corp. 5.23,
Chandigarh 4.40 in the same census), so a city that knows its own figure should pass it.

Rates outside the letter's band are allowed (a city may have its own survey) but always produce a
warning; rates ≤ 0 or > 1 are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RATE_LOW = 0.25
RATE_HIGH = 0.30
DEFAULT_RATE = 0.275  # the middle of the letter's band
DEFAULT_HOUSEHOLD_SIZE = 4.66
HOUSEHOLD_SIZE_SOURCE = (
    "Census of India 2011 PCA, urban India: 377,106,125 persons / 80,888,766 households = 4.66"
)
HOUSEHOLDS_PER_ORGANISER = 3000


class EstimateError(ValueError):
    """A parameter of the estimate is not usable."""


@dataclass(frozen=True)
class EstimateParams:
    rate: float = DEFAULT_RATE
    household_size: float = DEFAULT_HOUSEHOLD_SIZE
    households_per_organiser: int = HOUSEHOLDS_PER_ORGANISER

    def check(self) -> list[str]:
        """Refuse unusable values; return warnings for unusual ones."""
        if not (math.isfinite(self.rate) and 0 < self.rate <= 1):
            raise EstimateError(
                f"poverty rate {self.rate!r} must be a fraction in (0, 1], e.g. 0.25"
            )
        if not (math.isfinite(self.household_size) and 1 <= self.household_size <= 20):
            raise EstimateError(
                f"household size {self.household_size!r} must be between 1 and 20 persons"
            )
        if self.households_per_organiser < 1:
            raise EstimateError(
                f"households per organiser {self.households_per_organiser!r} must be ≥ 1"
            )
        warnings = []
        if not RATE_LOW <= self.rate <= RATE_HIGH:
            warnings.append(
                f"poverty rate {self.rate:.3f} is outside the mission letter's band "
                f"{RATE_LOW:.2f}–{RATE_HIGH:.2f}; figures at the band's ends are reported too"
            )
        if self.households_per_organiser != HOUSEHOLDS_PER_ORGANISER:
            warnings.append(
                f"{self.households_per_organiser:,} households per organiser instead of the "
                f"letter's {HOUSEHOLDS_PER_ORGANISER:,}"
            )
        return warnings


@dataclass(frozen=True)
class WardFigures:
    """What is known of one ward: any of these may be missing (NaN or None)."""

    population: float | None
    households: float | None = None
    poor_households: float | None = None  # a ward-level poverty figure (e.g. slum households)


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def poor_households(w: WardFigures, rate: float, household_size: float) -> float:
    """Estimated poor households of one ward at ``rate``.

    A ward-level poverty figure overrides the flat estimate; otherwise households × rate; otherwise
    population × rate ÷ household size.
    """
    if w.poor_households is not None and _known(w.poor_households):
        return float(w.poor_households)
    if w.households is not None and _known(w.households):
        return float(w.households) * rate
    if w.population is not None and _known(w.population):
        return float(w.population) * rate / household_size
    raise EstimateError("ward has neither population, households nor a poverty figure")


def basis(w: WardFigures) -> str:
    """Which figure the estimate of this ward rests on."""
    if _known(w.poor_households):
        return "ward poverty figure"
    if _known(w.households):
        return "households × rate"
    return "population × rate ÷ household size"


@dataclass(frozen=True)
class Requirement:
    population: float
    poor_households_low: float
    poor_households_high: float
    poor_households: float  # at the chosen rate
    organisers_required_low: int
    organisers_required_high: int
    organisers_required: int
    organisers_in_post: int | None
    params: EstimateParams
    bases: dict[str, int]

    @property
    def shortfall(self) -> int | None:
        """COs missing at the chosen rate (0 when the city has enough)."""
        if self.organisers_in_post is None:
            return None
        return max(0, self.organisers_required - self.organisers_in_post)

    @property
    def households_per_organiser_in_post(self) -> float | None:
        if not self.organisers_in_post:
            return None
        return self.poor_households / self.organisers_in_post


def requirement(
    wards: Sequence[WardFigures], params: EstimateParams, organisers_in_post: int | None = None
) -> Requirement:
    """Poor households and COs required at both ends of the band and at the chosen rate."""
    params.check()
    if not wards:
        raise EstimateError("no wards")

    def total(rate: float) -> float:
        return math.fsum(poor_households(w, rate, params.household_size) for w in wards)

    low, high, chosen = total(RATE_LOW), total(RATE_HIGH), total(params.rate)
    per = params.households_per_organiser
    bases: dict[str, int] = {}
    for w in wards:
        bases[basis(w)] = bases.get(basis(w), 0) + 1
    population = math.fsum(
        w.population for w in wards if w.population is not None and _known(w.population)
    )
    return Requirement(
        population=population,
        poor_households_low=low,
        poor_households_high=high,
        poor_households=chosen,
        organisers_required_low=math.ceil(low / per - 1e-9),
        organisers_required_high=math.ceil(high / per - 1e-9),
        organisers_required=math.ceil(chosen / per - 1e-9),
        organisers_in_post=organisers_in_post,
        params=params,
        bases=bases,
    )
