"""The ``wardplan`` command line: thin wiring over :mod:`app.pipeline.planning`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app.cli.options import (  # the shared options, also imported from here by other commands
    MAX_CLI_ERROR,
    CrsOpt,
    ExcludeOpt,
    HhField,
    HhSizeOpt,
    IdField,
    MergeOpt,
    NameField,
    PerCoOpt,
    PoorField,
    PopField,
    RateOpt,
    TableKeyOpt,
    TableOpt,
    WardsArg,
    ZoneField,
    fail,
    layer_options,
    plan_options,
)
from app.cli.order import register as _register_order
from app.cli.replan import register as _register_replan
from app.core.options import PlanOptions
from app.core.settings import MapSettings
from app.pipeline import answer_time, planning, printing
from app.pipeline.checking import check_plan_dir
from gis.errors import InputError, shown
from gis.maps import tile_template_problem
from solver.poverty import (
    DEFAULT_HOUSEHOLD_SIZE,
    DEFAULT_RATE,
    HOUSEHOLDS_PER_ORGANISER,
    EstimateError,
    EstimateParams,
)
from solver.problem import Progress

__all__ = [
    "MAX_CLI_ERROR",
    "CrsOpt",
    "ExcludeOpt",
    "HhField",
    "HhSizeOpt",
    "IdField",
    "MergeOpt",
    "NameField",
    "PerCoOpt",
    "PoorField",
    "PopField",
    "RateOpt",
    "TableKeyOpt",
    "TableOpt",
    "WardsArg",
    "ZoneField",
    "cli",
    "main",
]

cli = typer.Typer(
    name="wardplan",
    help="Divide a city's wards among its Community Organisers (DAY-NULM): one contiguous, "
    "balanced area per CO, near the CO's home.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    return fail(message, code)


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
@layer_options("fields", "read", "unnumbered", "table", "poverty")
def requirement(
    wards: WardsArg,
    layer: planning.LayerRequest,
    organisers_in_post: Annotated[
        int | None, typer.Option("--organisers-in-post", help="COs the city has.")
    ] = None,
    poverty_rate: RateOpt = DEFAULT_RATE,
    household_size: HhSizeOpt = DEFAULT_HOUSEHOLD_SIZE,
    households_per_organiser: PerCoOpt = HOUSEHOLDS_PER_ORGANISER,
) -> None:
    """Estimated poor households and the COs they require, at both ends of the 25–30 % band."""
    params = EstimateParams(poverty_rate, household_size, households_per_organiser)
    try:
        warnings = params.check()
        loaded = planning.load_layer(layer)
        r = planning.estimate_requirement(loaded, params, organisers_in_post)
    except (InputError, EstimateError) as exc:
        raise _fail(str(exc)) from None
    for w in loaded.warnings + warnings:
        typer.echo(f"warning: {shown(w)}", err=True)
    per = params.households_per_organiser
    typer.echo(f"Wards: {len(loaded)}   population: {r.population:,.0f}")
    typer.echo(
        f"Basis: {', '.join(f'{n} wards by {b}' for b, n in r.bases.items())}; "
        f"household size {params.household_size} where needed"
    )
    sources = planning.poverty_sources(loaded)
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


def _tiles(tiles: str | None, attribution: str | None) -> tuple[str | None, str | None]:
    """The map's tile template and attribution: the options', else WARDPLAN_MAP_*."""
    if tiles is None:
        try:
            map_settings = MapSettings()
        except ValidationError as exc:
            raise _fail(f"WARDPLAN_MAP_*: {exc.errors()[0]['msg']}") from None
        return map_settings.tiles, attribution or map_settings.tiles_attribution
    if problem := tile_template_problem(tiles):
        raise _fail(f"--tiles: {problem}")
    return tiles, attribution


OrganisersOpt = Annotated[
    Path,
    typer.Option(
        "--organisers",
        help="CSV: organiser_id, name, and lat,lon (WGS 84) or home_ward.",
        exists=True,
        dir_okay=False,
    ),
]
SheetsOpt = Annotated[
    bool,
    typer.Option(
        "--sheets",
        help="Also write the printable sheets: city-sheet.pdf (A3) and co-sheets.pdf (A4, "
        "one page per CO).",
    ),
]
CityOpt = Annotated[
    str | None,
    typer.Option(
        "--city", help="City name for the map's and the sheets' titles (default: the file name)."
    ),
]
WardNamesOpt = Annotated[
    Path | None,
    typer.Option(
        "--ward-names",
        help="With --sheets: CSV ward_id,name_en,name_hi of bilingual ward names (UTF-8).",
        exists=True,
        dir_okay=False,
    ),
]
CentresOpt = Annotated[
    Path | None,
    typer.Option(
        "--community-centres",
        help="With --sheets: CSV name,lat,lon of community centres, the COs' contact points.",
        exists=True,
        dir_okay=False,
    ),
]
TilesOpt = Annotated[
    str | None,
    typer.Option(
        "--tiles",
        help="Tile URL template for the map's base layer (http://host/{z}/{x}/{y}.png); "
        "default WARDPLAN_MAP_TILES, else none (the map works offline).",
    ),
]
TilesAttributionOpt = Annotated[
    str | None, typer.Option("--tiles-attribution", help="Attribution for --tiles.")
]


@cli.command()
@layer_options("fields", "read", "unnumbered", "table", "poverty", "credit")
@plan_options
def allocate(  # noqa: PLR0913 - its own options (the shared ones are decorated on)
    wards: WardsArg,
    organisers: OrganisersOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder for the plan files.")],
    layer: planning.LayerRequest,
    config: PlanOptions,
    sheets: SheetsOpt = False,
    city: CityOpt = None,
    ward_names: WardNamesOpt = None,
    community_centres: CentresOpt = None,
    tiles: TilesOpt = None,
    tiles_attribution: TilesAttributionOpt = None,
) -> None:
    """Divide the wards among the COs and write the plan, its checks and its map to --out."""
    deadline = answer_time.cli_deadline(config.solve.time_limit, sheets=sheets)
    tiles, tiles_attribution = _tiles(tiles, tiles_attribution)
    req = planning.PlanRequest(layer=layer, organisers=organisers, config=config)
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
    _report(result, written, out)


def _report(result: planning.PlanResult, written: list[Path], out: Path) -> None:
    """What ``allocate`` found, on the terminal; the exit code says whether there is a checked
    plan (0), no plan (1), or a plan that failed its check (3)."""
    sol = result.solution
    typer.echo(
        f"{len(result.problem.unit_ids)} wards, {result.problem.n_organisers} COs: {sol.describe()}"
    )
    if sol.method:
        typer.echo(f"method: {sol.method} (asked: {result.config.solve.method})")
    if sol.tightest_tolerance is not None:
        proof = (
            f"no plan exists below ±{sol.balance_floor * 100:.2f} % (proved)"
            if sol.balance_floor is not None
            else "not proved to be the tightest"
        )
        typer.echo(f"tightest balance found: ±{sol.tightest_tolerance * 100:.2f} %; {proof}")
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
@layer_options("fields", "read", "unnumbered", "table")
def example_organisers(
    wards: WardsArg,
    count: Annotated[int, typer.Option("--count", help="How many COs.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    layer: planning.LayerRequest,
    seed: Annotated[int, typer.Option("--seed")] = 2017,
) -> None:
    """Write an ILLUSTRATIVE organisers file: fictional COs whose homes are drawn, with a fixed
    seed, in proportion to ward population. No real CO list is public (homes are personal data)."""
    from gis.organisers import illustrative_organisers, write_organisers_csv

    try:
        loaded = planning.load_layer(layer)
        orgs = illustrative_organisers(loaded.wards, count, seed=seed)
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

    from app.jobs.worker import run_worker

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
    from app.core.errors import DomainError
    from app.db.session import session_scope
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
    from app.core.errors import DomainError
    from app.db.session import session_scope
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


from app.cli.pins import pins_cli  # noqa: E402  (a city's pinned wards)
from app.cli.places import places_cli  # noqa: E402  (states, districts, cities)
from app.cli.versions import versions_cli  # noqa: E402  (a city's plan versions)

cli.add_typer(places_cli)
cli.add_typer(versions_cli)
cli.add_typer(pins_cli)
_register_replan(cli)
_register_order(cli)


def main() -> None:
    answer_time.mark_process_start()  # the console script: the wait began when Python started
    signal.signal(signal.SIGTERM, _terminate)
    cli()


from app.cli.camps import register as _register_camps  # noqa: E402 - needs the options above

_register_camps(cli)
