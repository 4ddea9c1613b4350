"""The command line's shared options, declared once: how to read a ward layer and how to plan.

:func:`layer_options` adds the ward layer's options (field names, CRS, exclusions, features without
an id, population table, poverty sources, zones, splitting) to a command and hands it one
``layer: planning.LayerRequest`` built from them; :func:`plan_options` builds the solve's
:class:`app.core.options.PlanOptions` from the plan options. Every value is validated by the option
models themselves (:mod:`app.core.options`); a bad one ends the command with ``error: --option value:
why`` and exit code 2.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import typer

from app.cli.intake import (
    ExcludeFeatureOpt,
    FeatureIdOpt,
    PovertyColumnOpt,
    PovertyKeyOpt,
    PovertyTableOpt,
    SliverOpt,
    SlumHhOpt,
    SlumIdOpt,
    SlumLayerOpt,
    SlumPointOpt,
    SlumPopOpt,
    SlumTotalOpt,
    SplitAboveOpt,
    SplitOpt,
    SubwardHhOpt,
    SubwardIdOpt,
    SubwardLayerOpt,
    SubwardPopOpt,
    ZonesFieldOpt,
    ZonesOpt,
)
from app.core.options import (
    DEFAULT_GAP,
    DEFAULT_METHOD,
    DEFAULT_SNAP_METRES,
    DEFAULT_SOLVER,
    SOLVERS,
    LayerOptions,
    PlanOptions,
    bad_option,
    parse_balance,
    parse_method,
)
from app.pipeline import planning
from gis.errors import InputError, shown
from gis.fields import FieldMapping
from gis.slum_points import POINT_TOLERANCE_M
from gis.unnumbered import UnnumberedRule, parse_feature_ids
from solver.params import METHODS
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE, EstimateParams
from solver.solve import SolveParams

#: Characters of one error message on the command line at most (20 issues of 1,000 each).
MAX_CLI_ERROR = 24_000

WardsArg = Annotated[
    Path,
    typer.Argument(
        help="Ward layer: zipped shapefile, GeoJSON, KML or GeoPackage.",
        exists=True,
        dir_okay=False,
    ),
]
IdField = Annotated[str | None, typer.Option("--id-field", help="Column with the ward number.")]
NameField = Annotated[str | None, typer.Option("--name-field", help="Column with the ward name.")]
ZoneField = Annotated[str | None, typer.Option("--zone-field", help="Column with the zone.")]
PopField = Annotated[
    str | None, typer.Option("--population-field", help="Column with the population.")
]
HhField = Annotated[
    str | None, typer.Option("--households-field", help="Column with the households.")
]
PoorField = Annotated[
    str | None,
    typer.Option(
        "--poor-households-field",
        help="Column with a ward-level poverty figure (e.g. slum households); overrides the "
        "flat estimate for every ward that has it.",
    ),
]
CrsOpt = Annotated[
    str | None,
    typer.Option("--crs", help="CRS of the file when it has none (e.g. EPSG:32644)."),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Ward id to leave out (non-ward areas); repeatable."),
]
MergeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--merge",
        help="Ward id stored as several features (a ward in detached parts) to merge into one; "
        "repeatable.",
    ),
]
TableOpt = Annotated[
    Path | None,
    typer.Option(
        "--population-table",
        help="CSV with population/households per ward number (census style), joined by ward id.",
        exists=True,
        dir_okay=False,
    ),
]
TableKeyOpt = Annotated[
    str | None, typer.Option("--table-key", help="Ward-number column of the population table.")
]
RateOpt = Annotated[
    float,
    typer.Option(
        "--poverty-rate",
        help="Share of the population (or households) that is urban poor. The mission letter says "
        "0.25–0.30; other values are used with a warning.",
    ),
]
HhSizeOpt = Annotated[
    float,
    typer.Option(
        "--household-size",
        help="Persons per household, used only where no household count is known "
        "(default: Census 2011, urban India).",
    ),
]
PerCoOpt = Annotated[
    int,
    typer.Option("--households-per-organiser", help="Guideline: poor households per CO."),
]
SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="The ward data's source, printed as its credit on the map and sheets "
        "(none given: no credit is claimed).",
    ),
]
LicenceOpt = Annotated[
    str | None, typer.Option("--licence", help="The ward data's licence, e.g. CC BY 4.0.")
]
ToleranceOpt = Annotated[
    str,
    typer.Option(
        "--tolerance",
        help="Allowed deviation of each CO's load from the mean: 0.1, 10%, auto (the "
        "tightest balance a contiguous plan reaches), or balanced (the point of the "
        "balance–distance frontier where loosening further saves under 2 % of distance).",
    ),
]
FrontierOpt = Annotated[
    bool,
    typer.Option(
        "--frontier",
        help="Also compute the balance–distance frontier (tightest, ±5/10/15 %) within the "
        "time limit: frontier.png, and a table in report.json and on the map.",
    ),
]
ZonesRespectOpt = Annotated[
    bool, typer.Option("--respect-zones", help="Keep each CO's area inside one zone.")
]
SnapOpt = Annotated[
    float,
    typer.Option("--snap-metres", help="Wards closer than this are neighbours (metres)."),
]
TimeLimitOpt = Annotated[
    float,
    typer.Option(
        "--time-limit",
        help="Seconds for the whole answer: reading, adjacency, solve, check and outputs.",
    ),
]
GapOpt = Annotated[
    float,
    typer.Option(
        "--gap",
        help="Relative gap accepted as optimal: the plan is proved to be at most this far "
        "above the best possible.",
    ),
]
SolverOpt = Annotated[str, typer.Option("--solver", help=" or ".join(SOLVERS) + ".")]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help=f"Solution method: {', '.join(METHODS)}. auto chooses per problem (set "
        "partitioning when every fitting area can be listed, else the cut loop, or the relaxed "
        "search for very large layers); set_partitioning needs --solver highs; branch_and_cut "
        "uses SCIP. report.json names the method asked for and the one used.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Solver random seed.")]
MaxMovesOpt = Annotated[
    int | None,
    typer.Option(
        "--max-moves",
        help="Re-plans: at most this many wards leave their current CO (those of a CO who "
        "left do not count).",
    ),
]


def _option(name: str, annotation: object, default: object = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


#: The layer options by group; a command takes the groups it needs.
LAYER_GROUPS: Final[Mapping[str, tuple[inspect.Parameter, ...]]] = {
    "fields": (
        _option("id_field", IdField),
        _option("name_field", NameField),
        _option("zone_field", ZoneField),
        _option("population_field", PopField),
        _option("households_field", HhField),
        _option("poor_households_field", PoorField),
    ),
    "read": (
        _option("crs", CrsOpt),
        _option("exclude", ExcludeOpt),
        _option("merge", MergeOpt),
    ),
    "unnumbered": (
        _option("exclude_feature", ExcludeFeatureOpt),
        _option("feature_id", FeatureIdOpt),
        _option("sliver_max_m2", SliverOpt),
    ),
    "table": (_option("population_table", TableOpt), _option("table_key", TableKeyOpt)),
    "poverty": (
        _option("poverty_table", PovertyTableOpt),
        _option("poverty_key", PovertyKeyOpt),
        _option("poverty_column", PovertyColumnOpt),
        _option("slum_layer", SlumLayerOpt),
        _option("slum_id_field", SlumIdOpt),
        _option("slum_households_field", SlumHhOpt),
        _option("slum_population_field", SlumPopOpt),
        _option("slum_households_total", SlumTotalOpt),
        _option("slum_point_metres", SlumPointOpt, POINT_TOLERANCE_M),
        _option("zones_layer", ZonesOpt),
        _option("zones_field", ZonesFieldOpt),
        _option("split_above", SplitAboveOpt),
        _option("split_ward", SplitOpt),
        _option("subward_layer", SubwardLayerOpt),
        _option("subward_id_field", SubwardIdOpt),
        _option("subward_population_field", SubwardPopOpt),
        _option("subward_households_field", SubwardHhOpt),
    ),
    "credit": (_option("source", SourceOpt), _option("licence", LicenceOpt)),
}

#: The plan options (the solve's and the estimate's), with their one default each.
PLAN_PARAMETERS: Final = (
    _option("poverty_rate", RateOpt, DEFAULT_RATE),
    _option("household_size", HhSizeOpt, DEFAULT_HOUSEHOLD_SIZE),
    _option("households_per_organiser", PerCoOpt, EstimateParams().households_per_organiser),
    _option("tolerance", ToleranceOpt, "0.1"),
    _option("frontier", FrontierOpt, False),
    _option("respect_zones", ZonesRespectOpt, False),
    _option("snap_metres", SnapOpt, DEFAULT_SNAP_METRES),
    _option("time_limit", TimeLimitOpt, SolveParams().time_limit),
    _option("gap", GapOpt, DEFAULT_GAP),
    _option("solver", SolverOpt, DEFAULT_SOLVER),
    _option("method", MethodOpt, DEFAULT_METHOD),
    _option("seed", SeedOpt, 0),
)

#: Option model fields whose command-line name is not ``--field-name``.
_CLI_NAMES: Final = {"split": "--split-ward"}


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` (cut to :data:`MAX_CLI_ERROR`) and return the exit to raise."""
    typer.echo(f"error: {shown(message, MAX_CLI_ERROR)}", err=True)
    return typer.Exit(code)


def option_failure(exc: InputError) -> typer.Exit:
    """An option model's refusal in the command line's words (``--split-above 0: …``)."""
    if exc.code == "bad-option" and exc.issues and exc.issues[0].field:
        issue = exc.issues[0]
        name = _CLI_NAMES.get(str(issue.field), "--" + str(issue.field).replace("_", "-"))
        return fail(f"{name} {issue.value}: {issue.message}")
    return fail(str(exc))


F = TypeVar("F", bound=Callable[..., Any])


def _extend(fn: Callable[..., Any], name: str, added: tuple[inspect.Parameter, ...]) -> Any:
    """A wrapper of ``fn`` whose signature (as Typer reads it) has ``added`` instead of ``name``."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != name]
    signature = inspect.Signature([*own, *added])

    def wrap(build: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            try:
                kwargs[name] = build(kwargs)
            except InputError as exc:
                raise option_failure(exc) from None
            return fn(**kwargs)

        wrapper.__signature__ = signature  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        return wrapper

    return wrap


def layer_options(*groups: str) -> Callable[[F], F]:
    """Give a command the layer options of ``groups`` and, instead of them, ``layer``: the
    :class:`planning.LayerRequest` of its ``wards`` argument (``poverty_rate`` and
    ``household_size``, when the command has them, are the layer's too)."""
    added = tuple(p for g in groups for p in LAYER_GROUPS[g])
    names = [p.name for p in added]

    def decorate(fn: F) -> F:
        def build(kwargs: dict[str, Any]) -> planning.LayerRequest:
            values = {n: kwargs.pop(n) for n in names}
            return layer_request(kwargs["wards"], values, kwargs)

        return _extend(fn, "layer", added)(build)  # type: ignore[no-any-return]

    return decorate


def plan_options(fn: F) -> F:
    """Give a command the plan options and, instead of them, ``config``: its
    :class:`PlanOptions`. (Put it under :func:`layer_options`, which reads the poverty rate and
    household size of the layer from them.)"""

    def build(kwargs: dict[str, Any]) -> PlanOptions:
        return build_plan_options({p.name: kwargs.pop(p.name) for p in PLAN_PARAMETERS})

    return _extend(fn, "config", PLAN_PARAMETERS)(build)  # type: ignore[no-any-return]


def _ids(values: list[str] | None) -> tuple[str, ...]:
    return tuple(values or ())


def _split_wards(items: list[str] | None) -> tuple[tuple[str, int], ...]:
    pairs = []
    for item in items or ():
        ward, _, units = item.rpartition("=")
        if not ward.strip() or not units.strip().isdigit() or int(units) < 2:
            raise bad_option("split", item, "write WARD=UNITS, e.g. 57=3 (2 or more units)")
        pairs.append((ward.strip(), int(units)))
    return tuple(pairs)


def layer_request(
    wards: Path, values: Mapping[str, Any], command: Mapping[str, Any]
) -> planning.LayerRequest:
    """The layer request of ``wards`` from the layer options' ``values`` (absent ones: default)."""
    get = values.get
    unnumbered = UnnumberedRule(
        get("sliver_max_m2"),
        tuple(get("exclude_feature") or ()),
        parse_feature_ids(get("feature_id") or (), "--feature-id"),
    )
    options = LayerOptions(
        mapping=FieldMapping(
            ward_id=get("id_field"),
            ward_name=get("name_field"),
            zone=get("zone_field"),
            population=get("population_field"),
            households=get("households_field"),
            poor_households=get("poor_households_field"),
        ),
        crs=get("crs"),
        exclude_ids=_ids(get("exclude")),
        merge_ids=_ids(get("merge")),
        table_key=get("table_key"),
        unnumbered=unnumbered,
        poverty_key=get("poverty_key"),
        poverty_column=get("poverty_column"),
        slum_id_field=get("slum_id_field"),
        slum_households_field=get("slum_households_field"),
        slum_population_field=get("slum_population_field"),
        slum_households_total=get("slum_households_total"),
        slum_point_metres=get("slum_point_metres", POINT_TOLERANCE_M),
        subward_id_field=get("subward_id_field"),
        subward_population_field=get("subward_population_field"),
        subward_households_field=get("subward_households_field"),
        household_size=command.get("household_size", DEFAULT_HOUSEHOLD_SIZE),
        zones_field=get("zones_field"),
        split_above=get("split_above"),
        split=_split_wards(get("split_ward")),
        rate=command.get("poverty_rate", DEFAULT_RATE),
        source=get("source"),
        licence=get("licence"),
    )
    return planning.LayerRequest(
        wards,
        options,
        population_table=get("population_table"),
        poverty_table=get("poverty_table"),
        slum_layer=get("slum_layer"),
        zones=get("zones_layer"),
        subward_layer=get("subward_layer"),
    )


def build_plan_options(values: Mapping[str, Any]) -> PlanOptions:
    """The plan's options from the command line's values (``InputError`` when one is refused)."""
    tolerance, frontier = parse_balance(values["tolerance"], values["frontier"])
    method = parse_method(values.get("method", DEFAULT_METHOD))
    try:
        solve = SolveParams(
            tolerance=tolerance,
            respect_zones=values["respect_zones"],
            time_limit=values["time_limit"],
            gap=values["gap"],
            seed=values["seed"],
            method=method,
        )
    except ValueError as exc:
        raise InputError(str(exc), code="bad-option") from None
    return PlanOptions(
        estimate=EstimateParams(
            values["poverty_rate"], values["household_size"], values["households_per_organiser"]
        ),
        solve=solve,
        solver=values["solver"],
        snap_metres=values["snap_metres"],
        frontier=frontier,
    )
