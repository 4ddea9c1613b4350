"""The options of a plan, stated and validated once: how to read a ward layer (:class:`LayerOptions`)
and how to divide it (:class:`PlanOptions`).

The command line builds them from its options (:mod:`app.cli.options`), the HTTP API converts its
schemas to them, stored jobs keep them as JSON (:meth:`PlanOptions.as_dict`); the defaults and
ranges below are the only ones. Both are frozen and built keyword-only; a bad value raises
``InputError`` (code ``bad-option``) naming the option and the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gis.credits import data_credit
from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.layer import FileBytes
from gis.slum_points import POINT_TOLERANCE_M
from gis.slums import SlumRequest
from gis.subward import SubwardRequest
from gis.unnumbered import UnnumberedRule
from solver.frontier import FrontierRequest
from solver.params import METHODS
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE, EstimateParams
from solver.solve import SolveParams

#: The solvers a plan may use; the first is the default.
SOLVERS: Final = ("highs", "cbc")
DEFAULT_SOLVER: Final = SOLVERS[0]
#: Wards closer than this are neighbours (metres), by default and at most.
DEFAULT_SNAP_METRES: Final = 5.0
MAX_SNAP_METRES: Final = 1000.0
#: Tolerance: a fraction of the mean load in [0, MAX_TOLERANCE) (0.1 = ±10 %), or auto.
DEFAULT_TOLERANCE: Final = 0.1
MAX_TOLERANCE: Final = 10.0
#: A slum point at most this far outside every ward may join the nearest (metres): the largest.
MAX_SLUM_POINT_METRES: Final = 10_000.0
#: Relative gap accepted as optimal.
DEFAULT_GAP: Final = 1e-3
#: The solve methods one may name (``solver.params.METHODS``); ``auto`` chooses per problem.
DEFAULT_METHOD: Final = "auto"
#: The methods that build their model for HiGHS only.
HIGHS_ONLY_METHODS: Final = ("set_partitioning", "column_generation")


def bad_option(name: str, value: object, message: str) -> InputError:
    """The error of one refused option: ``name value: message``."""
    return InputError(
        f"{name} {value!r}: {message}",
        [Issue("bad-option", message, field=name, value=str(value))],
        code="bad-option",
    )


def parse_tolerance(text: str | float, name: str = "tolerance") -> float | None:
    """``0.1``, ``10%`` or ``auto`` (``None``): the one reading of a tolerance, range checked."""
    if isinstance(text, str) and text.strip().lower() == "auto":
        return None
    try:
        if isinstance(text, str):
            value = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
        else:
            value = float(text)
    except ValueError:
        raise bad_option(
            name, text, "give a fraction like 0.1, a percentage like 10%, or auto"
        ) from None
    if not (math.isfinite(value) and 0 <= value < MAX_TOLERANCE):
        raise bad_option(
            name, text, f"must be a fraction ≥ 0 and below {MAX_TOLERANCE:g} (0.1 = ±10 %), or auto"
        )
    return value


def parse_method(text: object, name: str = "method") -> str:
    """A solve method's name (``auto``, ``cut_loop``, …; case and spaces ignored), or refused."""
    value = str(text).strip().lower().replace("-", "_") if isinstance(text, str) else None
    if value not in METHODS:
        raise bad_option(name, text, f"choose one of {', '.join(METHODS)}")
    return value


def is_balanced(text: str | float) -> bool:
    """``balanced``: the frontier's point where loosening further saves little distance."""
    return isinstance(text, str) and text.strip().lower() == "balanced"


def parse_balance(
    text: str | float, frontier_wanted: bool = False, name: str = "tolerance"
) -> tuple[float | None, FrontierRequest | None]:
    """A tolerance as asked (``0.1``, ``10%``, ``auto`` or ``balanced``) and whether the
    balance–distance frontier is wanted: the solve's tolerance and the frontier to compute.
    ``balanced`` computes the frontier and answers with its balanced point; ``frontier_wanted``
    computes it and answers at the requested tolerance."""
    if is_balanced(text):
        return None, FrontierRequest(choose="balanced")
    return parse_tolerance(text, name), FrontierRequest() if frontier_wanted else None


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise bad_option(name, value, "give a positive number")


@dataclass(frozen=True, kw_only=True)
class LayerOptions:
    """How to read a ward layer and its companion files (the files themselves are apart)."""

    mapping: FieldMapping = field(default_factory=FieldMapping)
    crs: str | None = None
    exclude_ids: tuple[str, ...] = ()
    merge_ids: tuple[str, ...] = ()
    table_key: str | None = None
    unnumbered: UnnumberedRule = field(default_factory=UnnumberedRule)
    poverty_key: str | None = None
    poverty_column: str | None = None
    slum_id_field: str | None = None
    slum_households_field: str | None = None
    slum_population_field: str | None = None
    #: The city's slum households, spread over slum polygons by area when they have no figure.
    slum_households_total: float | None = None
    #: A slum point outside every ward joins the nearest ward within this many metres.
    slum_point_metres: float = POINT_TOLERANCE_M
    #: The columns of the sub-ward layer (default: the aliases of ``gis.subward``).
    subward_id_field: str | None = None
    subward_population_field: str | None = None
    subward_households_field: str | None = None
    #: Persons per household, to turn slum/poor persons into households (as the estimate's).
    household_size: float = DEFAULT_HOUSEHOLD_SIZE
    zones_field: str | None = None
    #: Split every ward with more poor households than this into units of at most this many.
    split_above: float | None = None
    #: Wards to split into a given number of units: (ward id, units).
    split: tuple[tuple[str, int], ...] = ()
    #: The poverty rate the split decision estimates poor households with.
    rate: float = DEFAULT_RATE
    source: str | None = None  # the data's source and licence, as the user states them
    licence: str | None = None

    def __post_init__(self) -> None:
        _positive("slum_households_total", self.slum_households_total)
        _positive("split_above", self.split_above)
        _positive("household_size", self.household_size)
        metres = self.slum_point_metres
        if not (math.isfinite(metres) and 0 <= metres <= MAX_SLUM_POINT_METRES):
            raise bad_option(
                "slum_point_metres", metres, f"give metres from 0 to {MAX_SLUM_POINT_METRES:g}"
            )
        sliver = self.unnumbered.sliver_max_m2
        if sliver is not None and not (math.isfinite(sliver) and sliver >= 0):
            raise bad_option("sliver_max_m2", sliver, "give an area in m², 0 or more")
        for ward, units in self.split:
            if not str(ward).strip() or units < 2:
                raise bad_option("split", f"{ward}={units}", "a ward id and 2 or more units")

    @property
    def credits(self) -> str:
        """The data credit the outputs print ("" when no source is stated)."""
        return data_credit(self.source, self.licence)

    def slum_request(self, path: Path | FileBytes | None) -> SlumRequest | None:
        """How to read the slum layer at ``path`` (``None``: no slum layer)."""
        if path is None:
            return None
        return SlumRequest(
            path,
            self.slum_id_field,
            self.slum_households_field,
            self.slum_population_field,
            self.slum_households_total,
            self.slum_point_metres,
        )

    def subward_request(self, path: Path | FileBytes | None) -> SubwardRequest | None:
        """How to read the sub-ward layer at ``path`` (``None``: no sub-ward layer)."""
        if path is None:
            return None
        return SubwardRequest(
            path,
            self.subward_id_field,
            self.subward_population_field,
            self.subward_households_field,
        )


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """Everything a solve needs besides its data: the estimate, the solve, the solver, snapping."""

    estimate: EstimateParams = field(default_factory=EstimateParams)
    solve: SolveParams = field(default_factory=SolveParams)
    solver: str = DEFAULT_SOLVER
    snap_metres: float = DEFAULT_SNAP_METRES
    #: Compute the balance–distance frontier (and maybe answer with its ``balanced`` point).
    frontier: FrontierRequest | None = None

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise bad_option("solver", self.solver, f"choose {' or '.join(SOLVERS)}")
        if self.solve.method in HIGHS_ONLY_METHODS and self.solver != "highs":
            raise bad_option(
                "method", self.solve.method, f"needs the solver highs, not {self.solver}"
            )
        if not (math.isfinite(self.snap_metres) and 0 <= self.snap_metres <= MAX_SNAP_METRES):
            raise bad_option(
                "snap_metres", self.snap_metres, f"give metres from 0 to {MAX_SNAP_METRES:g}"
            )

    @property
    def tolerance_requested(self) -> float | str:
        """The tolerance as the user asked for it: a fraction, ``auto`` or ``balanced``."""
        if self.frontier is not None and self.frontier.choose == "balanced":
            return "balanced"
        return "auto" if self.solve.tolerance is None else self.solve.tolerance

    def as_dict(self) -> dict[str, Any]:
        """The options as stored with a plan (JSON types)."""
        return {
            "tolerance": self.tolerance_requested,
            "frontier": self.frontier is not None,
            "respect_zones": self.solve.respect_zones,
            "time_limit": self.solve.time_limit,
            "gap": self.solve.gap,
            "seed": self.solve.seed,
            "solver": self.solver,
            "method": self.solve.method,
            "snap_metres": self.snap_metres,
            "poverty_rate": self.estimate.rate,
            "household_size": self.estimate.household_size,
            "households_per_organiser": self.estimate.households_per_organiser,
        }
