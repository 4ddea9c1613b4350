"""The ``wardplan`` command line: thin wiring over :mod:`app.planning`."""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app import answer_time, planning, printing
from app.checking import check_plan_dir
from app.cli_intake import (
    ExcludeFeatureOpt,
    FeatureIdOpt,
    PovertyColumnOpt,
    PovertyKeyOpt,
    PovertyTableOpt,
    SliverOpt,
    SlumHhOpt,
    SlumIdOpt,
    SlumLayerOpt,
    SlumPopOpt,
    SlumTotalOpt,
    SplitAboveOpt,
    SplitOpt,
    ZonesFieldOpt,
    ZonesOpt,
    split_request,
    unnumbered_rule,
    with_poverty,
)
from app.cli_order import register as _register_order
from app.cli_replan import register as _register_replan
from app.settings import MapSettings
from gis.errors import InputError, shown
from gis.fields import FieldMapping
from gis.maps import tile_template_problem
from gis.unnumbered import UnnumberedRule
from solver.poverty import (
    DEFAULT_HOUSEHOLD_SIZE,
    DEFAULT_RATE,
    HOUSEHOLDS_PER_ORGANISER,
    EstimateError,
    EstimateParams,
)
from solver.problem import Progress
from solver.solve import SolveParams

cli = typer.Typer(
    name="wardplan",
    help="Divide a city's wards among its Community Organisers (DAY-NULM): one contiguous, "
    "balanced area per CO, near the CO's home.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# -- shared options --------------------------------------------------------------------------------

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


def _layer_request(
    wards: Path,
    id_field: str | None,
    name_field: str | None,
    zone_field: str | None,
    population_field: str | None,
    households_field: str | None,
    poor_field: str | None,
    crs: str | None,
    exclude: list[str] | None,
    table: Path | None,
    table_key: str | None,
    merge: list[str] | None = None,
    unnumbered: UnnumberedRule = UnnumberedRule(),  # noqa: B008 - frozen dataclass
) -> planning.LayerRequest:
    return planning.LayerRequest(
        wards=wards,
        mapping=FieldMapping(
            ward_id=id_field,
            ward_name=name_field,
            zone=zone_field,
            population=population_field,
            households=households_field,
            poor_households=poor_field,
        ),
        crs=crs,
        exclude_ids=tuple(exclude or ()),
        merge_ids=tuple(merge or ()),
        population_table=table,
        table_key=table_key,
        unnumbered=unnumbered,
    )


#: Characters of one error message on the command line at most (20 issues of 1,000 each).
MAX_CLI_ERROR = 24_000


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {shown(message, MAX_CLI_ERROR)}", err=True)
    return typer.Exit(code)


def _parse_tolerance(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise _fail(
            f"--tolerance {text!r}: give a fraction like 0.1, a percentage like 10%, or auto"
        ) from None
    if not 0 <= value < 1:
        raise _fail(f"--tolerance {text!r}: must be between 0 and 1 (0.1 = ±10 %), or auto")
    return value


class _ProgressLine:
    """One updating line on stderr while the solver runs."""

    def __init__(self, every_s: float = 2.0) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.every_s = every_s
        self.shown_at = -1e9

    def __call__(self, p: Progress) -> None:
        inc = "—" if p.incumbent is None else f"{p.incumbent:,.4g}"
        bnd = "—" if p.bound is None else f"{p.bound:,.4g}"
        gap = "—" if p.gap is None else f"{p.gap * 100:.2f} %"
        line = f"[{p.elapsed_s:6.1f} s] {p.phase:<8} best {inc:>10}  bound {bnd:>10}  gap {gap:>8}  {p.message}"
        if line == self.last or (not self.tty and p.elapsed_s - self.shown_at < self.every_s):
            return
        self.last, self.shown_at = line, p.elapsed_s
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")


# -- commands --------------------------------------------------------------------------------------


@cli.command()
def requirement(
    wards: WardsArg,
    organisers_in_post: Annotated[
        int | None, typer.Option("--organisers-in-post", help="COs the city has.")
    ] = None,
    id_field: IdField = None,
    name_field: NameField = None,
    zone_field: ZoneField = None,
    population_field: PopField = None,
    households_field: HhField = None,
    poor_households_field: PoorField = None,
    crs: CrsOpt = None,
    exclude: ExcludeOpt = None,
    merge: MergeOpt = None,
    exclude_feature: ExcludeFeatureOpt = None,
    feature_id: FeatureIdOpt = None,
    sliver_max_m2: SliverOpt = None,
    population_table: TableOpt = None,
    table_key: TableKeyOpt = None,
    poverty_table: PovertyTableOpt = None,
    poverty_key: PovertyKeyOpt = None,
    poverty_column: PovertyColumnOpt = None,
    slum_layer: SlumLayerOpt = None,
    slum_id_field: SlumIdOpt = None,
    slum_households_field: SlumHhOpt = None,
    slum_population_field: SlumPopOpt = None,
    slum_households_total: SlumTotalOpt = None,
    zones_layer: ZonesOpt = None,
    zones_field: ZonesFieldOpt = None,
    split_above: SplitAboveOpt = None,
    split_ward: SplitOpt = None,
    poverty_rate: RateOpt = DEFAULT_RATE,
    household_size: HhSizeOpt = DEFAULT_HOUSEHOLD_SIZE,
    households_per_organiser: PerCoOpt = HOUSEHOLDS_PER_ORGANISER,
) -> None:
    """Estimated poor households and the COs they require, at both ends of the 25–30 % band."""
    req = with_poverty(
        _layer_request(
            wards,
            id_field,
            name_field,
            zone_field,
            population_field,
            households_field,
            poor_households_field,
            crs,
            exclude,
            population_table,
            table_key,
            merge,
            unnumbered_rule(exclude_feature, feature_id, sliver_max_m2),
        ),
        household_size,
        poverty_table,
        poverty_key,
        poverty_column,
        slum_layer,
        (slum_id_field, slum_households_field, slum_population_field),
        slum_households_total,
        zones_layer,
        zones_field,
        split_request(split_above, split_ward, poverty_rate),
    )
    params = EstimateParams(poverty_rate, household_size, households_per_organiser)
    try:
        warnings = params.check()
        layer = planning.load_layer(req)
        r = planning.estimate_requirement(layer, params, organisers_in_post)
    except (InputError, EstimateError) as exc:
        raise _fail(str(exc)) from None
    for w in layer.warnings + warnings:
        typer.echo(f"warning: {shown(w)}", err=True)
    per = params.households_per_organiser
    typer.echo(f"Wards: {len(layer)}   population: {r.population:,.0f}")
    typer.echo(
        f"Basis: {', '.join(f'{n} wards by {b}' for b, n in r.bases.items())}; "
        f"household size {params.household_size} where needed"
    )
    sources = planning.poverty_sources(layer)
    if any(not s.startswith("estimate: ") for s in sources):
        counted = ", ".join(f"{sources.count(s)} wards by {s}" for s in dict.fromkeys(sources))
        typer.echo(f"Poverty figures: {counted}")
    typer.echo(f"{'rate':>8} {'poor households':>16} {'COs required':>13}  (1 CO per {per:,})")
    typer.echo(f"{'25 %':>8} {r.poor_households_low:>16,.0f} {r.organisers_required_low:>13}")
    typer.echo(f"{'30 %':>8} {r.poor_households_high:>16,.0f} {r.organisers_required_high:>13}")
    typer.echo(
        f"{params.rate * 100:>6.1f} % {r.poor_households:>16,.0f} {r.organisers_required:>13}  (chosen rate)"
    )
    if organisers_in_post is not None:
        typer.echo(
            f"COs in post: {organisers_in_post}; shortfall at the chosen rate: {r.shortfall} "
            f"(at 25 %: {max(0, r.organisers_required_low - organisers_in_post)}, "
            f"at 30 %: {max(0, r.organisers_required_high - organisers_in_post)}); "
            f"each CO in post serves {r.households_per_organiser_in_post:,.0f} poor households"
        )


@cli.command()
def allocate(
    wards: WardsArg,
    organisers: Annotated[
        Path,
        typer.Option(
            "--organisers",
            help="CSV: organiser_id, name, and lat,lon (WGS 84) or home_ward.",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the plan files.")],
    id_field: IdField = None,
    name_field: NameField = None,
    zone_field: ZoneField = None,
    population_field: PopField = None,
    households_field: HhField = None,
    poor_households_field: PoorField = None,
    crs: CrsOpt = None,
    exclude: ExcludeOpt = None,
    merge: MergeOpt = None,
    exclude_feature: ExcludeFeatureOpt = None,
    feature_id: FeatureIdOpt = None,
    sliver_max_m2: SliverOpt = None,
    population_table: TableOpt = None,
    table_key: TableKeyOpt = None,
    poverty_table: PovertyTableOpt = None,
    poverty_key: PovertyKeyOpt = None,
    poverty_column: PovertyColumnOpt = None,
    slum_layer: SlumLayerOpt = None,
    slum_id_field: SlumIdOpt = None,
    slum_households_field: SlumHhOpt = None,
    slum_population_field: SlumPopOpt = None,
    slum_households_total: SlumTotalOpt = None,
    zones_layer: ZonesOpt = None,
    zones_field: ZonesFieldOpt = None,
    split_above: SplitAboveOpt = None,
    split_ward: SplitOpt = None,
    poverty_rate: RateOpt = DEFAULT_RATE,
    household_size: HhSizeOpt = DEFAULT_HOUSEHOLD_SIZE,
    households_per_organiser: PerCoOpt = HOUSEHOLDS_PER_ORGANISER,
    tolerance: Annotated[
        str,
        typer.Option(
            "--tolerance",
            help="Allowed deviation of each CO's load from the mean: 0.1, 10%, auto (the "
            "tightest balance a contiguous plan reaches), or balanced (the point of the "
            "balance–distance frontier where loosening further saves under 2 % of distance).",
        ),
    ] = "0.1",
    frontier: Annotated[
        bool,
        typer.Option(
            "--frontier",
            help="Also compute the balance–distance frontier (tightest, ±5/10/15 %) within the "
            "time limit: frontier.png, and a table in report.json and on the map.",
        ),
    ] = False,
    respect_zones: Annotated[
        bool, typer.Option("--respect-zones", help="Keep each CO's area inside one zone.")
    ] = False,
    snap_metres: Annotated[
        float,
        typer.Option("--snap-metres", help="Wards closer than this are neighbours (metres)."),
    ] = 5.0,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            help="Seconds for the whole answer: reading, adjacency, solve, check and outputs.",
        ),
    ] = 60.0,
    gap: Annotated[
        float,
        typer.Option(
            "--gap",
            help="Relative gap accepted as optimal: the plan is proved to be at most this far "
            "above the best possible.",
        ),
    ] = 0.001,
    solver: Annotated[str, typer.Option("--solver", help="highs or cbc.")] = "highs",
    seed: Annotated[int, typer.Option("--seed", help="Solver random seed.")] = 0,
    sheets: Annotated[
        bool,
        typer.Option(
            "--sheets",
            help="Also write the printable sheets: city-sheet.pdf (A3) and co-sheets.pdf (A4, "
            "one page per CO).",
        ),
    ] = False,
    city: Annotated[
        str | None,
        typer.Option(
            "--city",
            help="City name for the map's and the sheets' titles (default: the file name).",
        ),
    ] = None,
    ward_names: Annotated[
        Path | None,
        typer.Option(
            "--ward-names",
            help="With --sheets: CSV ward_id,name_en,name_hi of bilingual ward names (UTF-8).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    community_centres: Annotated[
        Path | None,
        typer.Option(
            "--community-centres",
            help="With --sheets: CSV name,lat,lon of community centres, the COs' contact points.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Tile URL template for the map's base layer (http://host/{z}/{x}/{y}.png); "
            "default WARDPLAN_MAP_TILES, else none (the map works offline).",
        ),
    ] = None,
    tiles_attribution: Annotated[
        str | None, typer.Option("--tiles-attribution", help="Attribution for --tiles.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="The ward data's source, printed as its credit on the map and sheets "
            "(none given: no credit is claimed).",
        ),
    ] = None,
    licence: Annotated[
        str | None, typer.Option("--licence", help="The ward data's licence, e.g. CC BY 4.0.")
    ] = None,
) -> None:
    """Divide the wards among the COs and write the plan, its checks and its map to --out."""
    deadline = answer_time.cli_deadline(time_limit, sheets=sheets)
    if solver not in ("highs", "cbc"):
        raise _fail(f"--solver {solver!r}: choose highs or cbc")
    if tiles is None:
        try:
            map_settings = MapSettings()
        except ValidationError as exc:
            raise _fail(f"WARDPLAN_MAP_*: {exc.errors()[0]['msg']}") from None
        tiles = map_settings.tiles
        tiles_attribution = tiles_attribution or map_settings.tiles_attribution
    elif problem := tile_template_problem(tiles):
        raise _fail(f"--tiles: {problem}")
    req = planning.PlanRequest(
        layer=with_poverty(
            replace(
                _layer_request(
                    wards,
                    id_field,
                    name_field,
                    zone_field,
                    population_field,
                    households_field,
                    poor_households_field,
                    crs,
                    exclude,
                    population_table,
                    table_key,
                    merge,
                    unnumbered_rule(exclude_feature, feature_id, sliver_max_m2),
                ),
                source=source,
                licence=licence,
            ),
            household_size,
            poverty_table,
            poverty_key,
            poverty_column,
            slum_layer,
            (slum_id_field, slum_households_field, slum_population_field),
            slum_households_total,
            zones_layer,
            zones_field,
            split_request(split_above, split_ward, poverty_rate),
        ),
        organisers=organisers,
        estimate=EstimateParams(poverty_rate, household_size, households_per_organiser),
        solve=SolveParams(
            tolerance=None if answer_time.is_balanced(tolerance) else _parse_tolerance(tolerance),
            respect_zones=respect_zones,
            time_limit=time_limit,
            gap=gap,
            seed=seed,
        ),
        solver=solver,
        snap_metres=snap_metres,
        frontier=answer_time.frontier_request(tolerance, frontier),
    )
    if sheets:
        try:
            printing.check_sheet_inputs(ward_names, community_centres)
        except InputError as exc:
            raise _fail(str(exc)) from None
    progress = _ProgressLine()
    try:
        result = planning.plan(req, on_progress=progress, deadline=deadline)
    except (InputError, EstimateError, ValueError) as exc:
        progress.close()
        raise _fail(str(exc)) from None
    progress.close()
    for w in result.warnings + list(result.solution.warnings):
        typer.echo(f"warning: {shown(w)}", err=True)
    with deadline.phase("outputs"):
        written = planning.write_outputs(
            result, out, tiles=tiles, tiles_attribution=tiles_attribution, city=city
        )
    if sheets:
        try:
            with deadline.phase("sheets"):
                written += printing.write_sheets(
                    result,
                    out,
                    city=city or wards.stem,
                    ward_names=ward_names,
                    centres=community_centres,
                )
        except InputError as exc:
            raise _fail(str(exc)) from None
    answer_time.finish_report(out / "report.json", deadline)
    for line in answer_time.summary_lines(result.frontier, deadline):
        typer.echo(line)
    sol = result.solution
    typer.echo(
        f"{len(result.problem.unit_ids)} wards, {result.problem.n_organisers} COs: {sol.describe()}"
    )
    if sol.tightest_tolerance is not None:
        typer.echo(f"tightest balance found: ±{sol.tightest_tolerance * 100:.2f} %")
    if sol.tolerance is not None and sol.has_plan:
        typer.echo(
            f"balance: every CO within ±{sol.tolerance * 100:.2f} % of the mean "
            f"{result.problem.mean_load:,.0f} poor households"
        )
    typer.echo(
        f"solver {sol.solver_version}, {sol.seconds:.1f} s, {sol.iterations} rounds, {sol.cuts} contiguity cuts"
    )
    typer.echo(f"wrote {', '.join(p.name for p in written)} to {out}")
    if not sol.has_plan:
        raise typer.Exit(1)
    if not result.verified:
        for v in result.violations:
            typer.echo(f"check failed: {v.message}", err=True)
        raise typer.Exit(3)
    typer.echo("check: passed (coverage, one connected area per CO, balance)")


@cli.command()
def check(
    plan_dir: Annotated[
        Path, typer.Argument(help="A folder written by 'wardplan allocate'.", file_okay=False)
    ],
    tolerance: Annotated[
        float | None,
        typer.Option("--tolerance", help="Check against this tolerance instead of the plan's."),
    ] = None,
    snap_metres: Annotated[
        float | None, typer.Option("--snap-metres", help="Adjacency snapping (metres).")
    ] = None,
) -> None:
    """Re-verify a plan from its files: coverage, one connected area per CO, balance."""
    try:
        result = check_plan_dir(plan_dir, tolerance=tolerance, snap_metres=snap_metres)
    except InputError as exc:
        raise _fail(str(exc)) from None
    tol = "none" if result.tolerance is None else f"±{result.tolerance * 100:.2f} %"
    typer.echo(
        f"{result.wards} wards, {result.organisers} COs, tolerance {tol}, "
        f"largest deviation ±{result.max_deviation * 100:.2f} %"
    )
    if result.passed:
        typer.echo("check: passed (coverage, one connected area per CO, balance)")
        return
    for v in result.violations:
        typer.echo(f"check failed: {v.message}", err=True)
    raise typer.Exit(1)


@cli.command("example-organisers")
def example_organisers(
    wards: WardsArg,
    count: Annotated[int, typer.Option("--count", help="How many COs.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    seed: Annotated[int, typer.Option("--seed")] = 2017,
    id_field: IdField = None,
    population_field: PopField = None,
    crs: CrsOpt = None,
    exclude: ExcludeOpt = None,
    merge: MergeOpt = None,
    exclude_feature: ExcludeFeatureOpt = None,
    feature_id: FeatureIdOpt = None,
    sliver_max_m2: SliverOpt = None,
    population_table: TableOpt = None,
    table_key: TableKeyOpt = None,
) -> None:
    """Write an ILLUSTRATIVE organisers file: fictional COs whose homes are drawn, with a fixed
    seed, in proportion to ward population. No real CO list is public (homes are personal data)."""
    from gis.organisers import illustrative_organisers, write_organisers_csv

    req = _layer_request(
        wards,
        id_field,
        None,
        None,
        population_field,
        None,
        None,
        crs,
        exclude,
        population_table,
        table_key,
        merge,
        unnumbered_rule(exclude_feature, feature_id, sliver_max_m2),
    )
    try:
        layer = planning.load_layer(req)
        orgs = illustrative_organisers(layer.wards, count, seed=seed)
    except (InputError, ValueError) as exc:
        raise _fail(str(exc)) from None
    write_organisers_csv(orgs, out)
    typer.echo(f"wrote {len(orgs)} illustrative organisers (seed {seed}) to {out}")


@cli.command()
def worker() -> None:
    """Run a solve worker: take plan jobs from the database's queue until stopped (Ctrl-C).

    Settings come from the environment (WARDPLAN_DB_URL, WARDPLAN_JOBS_*); run one per core you
    want to give to solving, on any machine that reaches the database.
    """
    import asyncio
    import logging

    from app.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run_worker())


# -- API keys ----------------------------------------------------------------------------------------

keys_cli = typer.Typer(
    name="keys",
    help="API keys of the HTTP service (database of WARDPLAN_DB_URL): issue, list, revoke.",
    no_args_is_help=True,
)
cli.add_typer(keys_cli)


def _cli_actor() -> str:
    """The audit's actor for key changes made on the server: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (e.g. a container's numeric user)
        return "cli"


@keys_cli.command("issue")
def keys_issue(
    name: Annotated[str, typer.Argument(help="Who the key is for; the audit records this name.")],
    role: Annotated[str, typer.Option("--role", help="gis, cmmu, api_client, state or admin.")],
    city: Annotated[
        str | None,
        typer.Option("--city", help="The one city the key reaches (required for gis and cmmu)."),
    ] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="A state key's state code (e.g. UP).")
    ] = None,
) -> None:
    """Issue a key and print its token once: only its hash is stored, it cannot be shown again."""
    from app.db.session import session_scope
    from app.errors import DomainError
    from app.services import keys

    try:
        with session_scope() as session:
            issued = keys.issue(session, name, role, city, state=state, actor=_cli_actor())
    except DomainError as exc:
        raise _fail(exc.detail) from None
    scope = issued.key.city_code or issued.key.state_code or "all cities"
    typer.echo(
        f"issued key {name!r} ({issued.key.role}, {scope}); its token, shown only now:", err=True
    )
    typer.echo(issued.token)


@keys_cli.command("list")
def keys_list() -> None:
    """Every key: name, role, city, created, last used, revoked (never the tokens)."""
    from app.db.session import session_scope
    from app.services import keys

    def when(value: object) -> str:
        return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"

    with session_scope() as session:
        rows = keys.list_keys(session)
    typer.echo("name\trole\tcity\tcreated\tlast_used\trevoked")
    for k in rows:
        typer.echo(
            f"{k.name}\t{k.role}\t{k.city_code or '*'}\t{when(k.created_at)}\t"
            f"{when(k.last_used_at)}\t{when(k.revoked_at)}"
        )


@keys_cli.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key at once (the row is kept: the audit trail still names it)."""
    from app.db.session import session_scope
    from app.errors import DomainError
    from app.services import keys

    try:
        with session_scope() as session:
            keys.revoke(session, name, actor=_cli_actor())
    except DomainError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"revoked key {name!r}")


def _terminate(sig: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so an upload's parse child and temp folder are removed."""
    raise SystemExit(128 + sig)


from app.cli_places import places_cli  # noqa: E402  (states, districts, cities)
from app.cli_versions import versions_cli  # noqa: E402  (a city's plan versions)

cli.add_typer(places_cli)
cli.add_typer(versions_cli)
_register_replan(cli)
_register_order(cli)


def main() -> None:
    answer_time.mark_process_start()  # the console script: the wait began when Python started
    signal.signal(signal.SIGTERM, _terminate)
    cli()


from app.camps_cli import register as _register_camps  # noqa: E402 - needs the options above

_register_camps(cli)
