"""One rounding of every figure a plan's outputs show: the maps, the sheets and ``summary.csv``.

A figure is rounded once, here, half away from zero on its decimal text (1.55 → 1.6, 1.45 → 1.5,
whatever the float's binary expansion), to a fixed number of decimals per kind; the text helpers
format the rounded value, so a CO's distance reads the same on the file map, the served map, the
sheets and in the CSV. A missing or non-finite figure prints as "—".
"""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_UP, Decimal

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
