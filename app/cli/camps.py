"""``wardplan camps`` and ``wardplan example-venues``: thin wiring over :mod:`app.pipeline.camps`.

Registered on the main command line by :func:`register` (called at the end of :mod:`app.cli`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from app.cli.options import (
    HhSizeOpt,
    RateOpt,
    WardsArg,
    fail,
    layer_options,
)
from app.core.options import DEFAULT_GAP, DEFAULT_SNAP_METRES, DEFAULT_SOLVER, SOLVERS
from app.pipeline import camps as camp_job
from app.pipeline import planning
from gis.camp_files import CampHours
from gis.camps import illustrative_venues, write_venues_csv
from gis.errors import InputError
from gis.fields import FieldMapping
from gis.io import read_ward_layer
from solver.camps import Campaign, CampParams
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE, EstimateError, EstimateParams

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

StartOpt = Annotated[str, typer.Option("--start", help="First day of the campaign (YYYY-MM-DD).")]
EndOpt = Annotated[str, typer.Option("--end", help="Last day of the campaign (YYYY-MM-DD).")]
VenuesOpt = Annotated[
    Path,
    typer.Option(
        "--venues",
        help="Candidate venues: CSV name,lat,lon[,venue_id][,capacity_per_day][,unavailable "
        "(dates separated by ;)] or a GIS point file with those attributes.",
        exists=True,
        dir_okay=False,
    ),
]
TeamsOpt = Annotated[int, typer.Option("--teams", help="Camps that can run on one day.")]
PerCampOpt = Annotated[
    float, typer.Option("--per-camp-per-day", help="Registrations one camp handles in a day.")
]
ShareOpt = Annotated[
    float,
    typer.Option(
        "--registrant-share", help="Expected registrants per ward as a share of --registrant-basis."
    ),
]
BasisOpt = Annotated[
    str,
    typer.Option(
        "--registrant-basis", help="poor-households (the mission letter's estimate) or population."
    ),
]
RegistrantTableOpt = Annotated[
    Path | None,
    typer.Option(
        "--registrant-table",
        help="CSV of expected registrants per ward (a ward number or name column and a "
        "registrants/workers column), instead of --registrant-share.",
        exists=True,
        dir_okay=False,
    ),
]
RegistrantColumnOpt = Annotated[
    str | None, typer.Option("--registrant-column", help="The table's registrants column.")
]
NoCampOpt = Annotated[
    list[str] | None,
    typer.Option("--no-camp-weekday", help="Weekday without camps (sun); repeatable."),
]
HolidayOpt = Annotated[
    list[str] | None, typer.Option("--holiday", help="Date without camps; repeatable.")
]
MaxDaysOpt = Annotated[int, typer.Option("--max-camp-days", help="The most days one camp may run.")]
CampsCountOpt = Annotated[
    int | None, typer.Option("--camps", help="Number of camps (default: the fewest that fit).")
]
HoursOpt = Annotated[str, typer.Option("--hours", help="Camp hours, e.g. 10:00-17:00.")]
CityOpt = Annotated[str | None, typer.Option("--city", help="City name on the papers.")]
SheetsOpt = Annotated[bool, typer.Option("--sheets/--no-sheets", help="Write the PDFs.")]
SnapOpt = Annotated[float, typer.Option("--snap-metres")]
TimeOpt = Annotated[float, typer.Option("--time-limit", help="Seconds in all.")]
GapOpt = Annotated[float, typer.Option("--gap", help="Relative gap accepted as optimal.")]
SolverOpt = Annotated[str, typer.Option("--solver", help=" or ".join(SOLVERS) + ".")]
SeedOpt = Annotated[int, typer.Option("--seed")]

_fail = fail


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} {text!r}: give a date like 2027-04-01") from None


def _weekday(text: str) -> int:
    key = text.strip().lower()[:3]
    if key not in WEEKDAYS:
        raise _fail(f"--no-camp-weekday {text!r}: give mon, tue, wed, thu, fri, sat or sun")
    return WEEKDAYS.index(key)


@layer_options("fields", "read", "table")
def camps(  # noqa: PLR0913 - the campaign's own options (the layer's are decorated on)
    wards: WardsArg,
    venues: VenuesOpt,
    start: StartOpt,
    end: EndOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder for the camp files.")],
    layer: planning.LayerRequest,
    teams: TeamsOpt = 1,
    per_camp_per_day: PerCampOpt = 300.0,
    registrant_share: ShareOpt = 0.1,
    registrant_basis: BasisOpt = "poor-households",
    registrant_table: RegistrantTableOpt = None,
    registrant_column: RegistrantColumnOpt = None,
    no_camp_weekday: NoCampOpt = None,
    holiday: HolidayOpt = None,
    max_camp_days: MaxDaysOpt = 3,
    camps_count: CampsCountOpt = None,
    hours: HoursOpt = "10:00-17:00",
    city: CityOpt = None,
    sheets: SheetsOpt = True,
    poverty_rate: RateOpt = DEFAULT_RATE,
    household_size: HhSizeOpt = DEFAULT_HOUSEHOLD_SIZE,
    snap_metres: SnapOpt = DEFAULT_SNAP_METRES,
    time_limit: TimeOpt = 60.0,
    gap: GapOpt = DEFAULT_GAP,
    solver: SolverOpt = DEFAULT_SOLVER,
    seed: SeedOpt = 0,
) -> None:
    """Plan registration camps: contiguous ward clusters, a venue each, dates in the window."""
    if solver not in SOLVERS:
        raise _fail(f"--solver {solver!r}: choose {' or '.join(SOLVERS)}")
    weekdays = [_weekday(w) for w in (no_camp_weekday if no_camp_weekday is not None else ["sun"])]
    try:
        campaign = Campaign(
            start=_date("--start", start),
            end=_date("--end", end),
            teams=teams,
            per_camp_per_day=per_camp_per_day,
            no_camp_weekdays=frozenset(weekdays),
            holidays=frozenset(_date("--holiday", h) for h in holiday or ()),
            max_camp_days=max_camp_days,
        )
        req = camp_job.CampRequest(
            layer=layer,
            venues=venues,
            campaign=campaign,
            share=registrant_share,
            basis=registrant_basis,
            estimate=EstimateParams(poverty_rate, household_size),
            params=CampParams(camps_count, time_limit, gap, seed),
            hours=CampHours.parse(hours),
            solver=solver,
            snap_metres=snap_metres,
            registrant_table=registrant_table,
            registrant_column=registrant_column,
        )
        result = camp_job.plan_camps(req)
    except (InputError, EstimateError, ValueError) as exc:
        raise _fail(str(exc)) from None
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    written = camp_job.write_camp_outputs(result, out, city=city or wards.stem, sheets=sheets)
    _report(result, written, out)


def _report(result: camp_job.CampResult, written: list[Path], out: Path) -> None:
    sol, c = result.solution, result.request.campaign
    total = sum(result.problem.registrants)
    typer.echo(
        f"{result.problem.n_units} wards, {len(result.venues)} candidate venues, "
        f"{total:,.0f} expected registrants, {len(c.camp_days())} camp days × {c.teams} team(s): "
        f"{sol.describe()}"
    )
    typer.echo(
        f"solver {sol.solver_version}, {sol.seconds:.1f} s, {sol.iterations} rounds, {sol.cuts} contiguity cuts"
    )
    if result.schedule is not None:
        typer.echo(result.schedule.describe())
    typer.echo(f"wrote {', '.join(p.name for p in written)} to {out}")
    if not sol.has_plan:
        raise typer.Exit(1)
    if result.schedule is None or result.schedule.dates is None:
        raise typer.Exit(1)
    if result.violations:
        for v in result.violations:
            typer.echo(f"check failed: {v.message}", err=True)
        raise typer.Exit(3)
    typer.echo("check: passed (coverage, connected clusters with their venue, capacity, calendar)")


@layer_options("read")
def example_venues(
    wards: WardsArg,
    start: StartOpt,
    end: EndOpt,
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    layer: planning.LayerRequest,
    seed: Annotated[int, typer.Option("--seed")] = 2018,
    limited_share: Annotated[float, typer.Option("--limited-share")] = 0.2,
    limited_capacity: Annotated[float, typer.Option("--limited-capacity")] = 150.0,
    closed_share: Annotated[float, typer.Option("--closed-share")] = 0.2,
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="Column with the ward number.")
    ] = None,
) -> None:
    """Write ILLUSTRATIVE candidate venues: one per ward at a random point inside it (fixed seed),
    some with a limited capacity per day, some closed on a few dates. No public list exists."""
    opts = layer.options
    try:
        read = read_ward_layer(
            wards,
            mapping=FieldMapping(ward_id=id_field),
            crs=opts.crs,
            exclude_ids=opts.exclude_ids,
            merge_ids=opts.merge_ids,
        )
        venues = illustrative_venues(
            read.wards,
            start=_date("--start", start),
            end=_date("--end", end),
            seed=seed,
            limited_share=limited_share,
            limited_capacity=limited_capacity,
            closed_share=closed_share,
        )
    except (InputError, ValueError) as exc:
        raise _fail(str(exc)) from None
    write_venues_csv(venues, out)
    limited = sum(v.capacity_per_day is not None for v in venues)
    closed = sum(bool(v.unavailable) for v in venues)
    typer.echo(
        f"wrote {len(venues)} illustrative venues (seed {seed}; {limited} with a limited capacity, "
        f"{closed} closed on some dates) to {out}"
    )


def register(cli: typer.Typer) -> None:
    cli.command("camps")(camps)
    cli.command("example-venues")(example_venues)
