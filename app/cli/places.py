"""``wardplan places``: states, districts and cities in the database of WARDPLAN_DB_URL."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from app.services.batches import BatchView

T = TypeVar("T")

places_cli = typer.Typer(
    name="places",
    help="States, districts and cities (with their LGD codes): add, rename, move, list.",
    no_args_is_help=True,
)

Lgd = Annotated[int | None, typer.Option("--lgd", help="Local Government Directory code.")]
StateArg = Annotated[str, typer.Argument(help="The state's code, e.g. UP.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="The new name.")]


def actor() -> str:
    """The audit's actor for changes made on the server: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (e.g. a container's numeric user)
        return "cli"


def in_db(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; a refusal the service explains exits with status 2."""
    from app.core.errors import DomainError
    from app.db.session import session_scope

    try:
        with session_scope() as session:
            return work(session)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None


@places_cli.command("add-state")
def add_state(
    code: StateArg,
    name: Annotated[str, typer.Argument(help="e.g. Uttar Pradesh.")],
    lgd: Lgd = None,
) -> None:
    """Add a state."""
    from app.services import cities

    made = in_db(lambda s: cities.create_state(s, code, name, lgd, actor=actor()).code)
    typer.echo(f"added state {made} ({name})")


@places_cli.command("rename-state")
def rename_state(code: StateArg, name: NameOpt = None, lgd: Lgd = None) -> None:
    """Rename a state or set its LGD code."""
    from app.services import cities

    done = in_db(
        lambda s: cities.update_state(s, code, name=name, lgd_code=lgd, actor=actor()).name
    )
    typer.echo(f"state {code.upper()}: {done}")


@places_cli.command("add-district")
def add_district(
    state: StateArg,
    name: Annotated[str, typer.Argument(help="e.g. Lucknow.")],
    code: Annotated[str | None, typer.Option("--code", help="Default: from the name.")] = None,
    lgd: Lgd = None,
) -> None:
    """Add a district to a state."""
    from app.services import cities

    made = in_db(lambda s: cities.create_district(s, state, name, code, lgd, actor=actor()).code)
    typer.echo(f"added district {made} ({name}) to {state.upper()}")


@places_cli.command("rename-district")
def rename_district(
    state: StateArg,
    district: Annotated[str, typer.Argument(help="The district's code or name.")],
    name: NameOpt = None,
    lgd: Lgd = None,
) -> None:
    """Rename a district or set its LGD code."""
    from app.services import cities

    done = in_db(
        lambda s: (
            cities.update_district(s, state, district, name=name, lgd_code=lgd, actor=actor()).name
        )
    )
    typer.echo(f"district {district}: {done}")


@places_cli.command("add-city")
def add_city(
    code: Annotated[str, typer.Argument(help="The short city code, e.g. lucknow.")],
    name: Annotated[str, typer.Argument(help="e.g. Lucknow Nagar Nigam.")],
    state: Annotated[str, typer.Option("--state", help="The state's code.")],
    district: Annotated[str, typer.Option("--district", help="District code or name.")],
    lgd: Lgd = None,
    cos: Annotated[int | None, typer.Option("--cos", help="COs in post.")] = None,
    cmms: Annotated[int | None, typer.Option("--cmms", help="CMMs in post.")] = None,
) -> None:
    """Add a city (the district is added to the state when it has none of that name)."""
    from app.services import cities

    fields = cities.CityFields(name, lgd, cos, cmms)
    place = cities.Place(state, district, name)
    in_db(lambda s: cities.create_city(s, code, place, fields, actor=actor()).id)
    typer.echo(f"added city {code} ({name}) in {district}, {state.upper()}")


@places_cli.command("update-city")
def update_city(
    code: Annotated[str, typer.Argument(help="The city's code.")],
    name: NameOpt = None,
    lgd: Lgd = None,
    cos: Annotated[int | None, typer.Option("--cos", help="COs in post.")] = None,
    cmms: Annotated[int | None, typer.Option("--cmms", help="CMMs in post.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Move to this state…")] = None,
    district: Annotated[str | None, typer.Option("--district", help="…and district.")] = None,
) -> None:
    """Rename a city, set its LGD code or posts, or move it to another district."""
    from app.services import cities

    if (state is None) != (district is None):
        typer.echo("error: --state and --district go together", err=True)
        raise typer.Exit(2)
    move = cities.Place(state, district) if state and district else None
    fields = cities.CityFields(name, lgd, cos, cmms)
    in_db(lambda s: cities.update_city(s, code, fields, move_to=move, actor=actor()).id)
    typer.echo(f"updated city {code}")


@places_cli.command("list")
def list_places(
    state: Annotated[str | None, typer.Option("--state", help="Only this state.")] = None,
) -> None:
    """Every city with its district and state (tab-separated), and states with no city yet."""
    from app.services import cities

    def rows(session: Session) -> list[str]:
        lines = [
            f"{s.code}\t{s.name}\t{d.code}\t{d.name}\t{c.code}\t{c.name}\t{c.lgd_code or '-'}\t"
            f"{'-' if c.cos_in_post is None else c.cos_in_post}"
            for c, d, s in cities.list_cities(session, state)
        ]
        placed = {line.split("\t")[0] for line in lines}
        lines += [
            f"{s.code}\t{s.name}\t-\t-\t-\t-\t-\t-"
            for s in cities.list_states(session)
            if s.code not in placed and (state is None or s.code == state.upper())
        ]
        return lines

    typer.echo("state\tstate_name\tdistrict\tdistrict_name\tcity\tcity_name\tlgd\tcos_in_post")
    for line in in_db(rows):
        typer.echo(line)


@places_cli.command("import-state")
def import_state(
    state: StateArg,
    files: Annotated[
        Path, typer.Argument(help="A folder or a zip holding the manifest and the files it names.")
    ],
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="CSV or XLSX (default: manifest.csv in FILES)."),
    ] = None,
    state_name: Annotated[
        str | None, typer.Option("--state-name", help="Create the state with this name.")
    ] = None,
) -> None:
    """Load every city of a state's manifest, each all or nothing; prints what happened to each.
    Exits with status 1 when some city was refused (the others are stored)."""
    from app.services import imports
    from app.services.layers import Upload
    from gis.errors import InputError

    try:
        found = (
            imports.Files.folder(files)
            if files.is_dir()
            else imports.Files.archive(files.read_bytes(), files.name)
        )
        given = Upload(manifest.name, manifest.read_bytes()) if manifest is not None else None
        sheet = imports.manifest_in(found, given)
        result = in_db(
            lambda s: imports.import_state(
                s, state, sheet, found, state_name=state_name, actor=actor()
            )
        )
    except (InputError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for city in result.cities:
        typer.echo(f"row {city.row}\t{city.city or '-'}\t{city.status}")
        for kind, lines in (("stored", city.stored), ("repaired", city.repaired)):
            for line in lines:
                typer.echo(f"\t{kind}: {line}")
        for line in city.refused:
            typer.echo(f"\trefused: {line}")
    refused = sum(c.status == "refused" for c in result.cities)
    typer.echo(f"{len(result.cities) - refused} cities stored, {refused} refused", err=True)
    if refused:
        raise typer.Exit(1)


@places_cli.command("plan-state")
def plan_state(
    state: StateArg,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per city's solve.")
    ] = None,
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="±share of the mean load per CO, or auto.")
    ] = "0.1",
    city: Annotated[
        list[str] | None, typer.Option("--city", help="Only this city; repeatable.")
    ] = None,
) -> None:
    """Queue one plan job per city of the state (run by `wardplan worker`); prints the batch."""
    from app.api.schemas import PlanParameters
    from app.core.settings import get_settings
    from app.services import batches

    params = PlanParameters(
        tolerance="auto" if tolerance == "auto" else float(tolerance), time_limit=time_limit
    )
    request = batches.BatchRequest(params.model_dump(mode="json"), {}, city or None)
    view = in_db(
        lambda s: _batch_lines(
            batches.submit_batch(s, state, request, get_settings(), actor=actor())
        )
    )
    for line in view:
        typer.echo(line)


@places_cli.command("batch")
def batch(
    state: StateArg,
    batch_id: Annotated[int, typer.Argument(help="The batch's number.")],
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel its unfinished jobs.")] = False,
) -> None:
    """A state plan batch: each city's job and status (and cancel it)."""
    from app.services import batches

    def work(session: Session) -> list[str]:
        if cancel:
            return _batch_lines(batches.cancel_batch(session, state, batch_id, actor=actor()))
        return _batch_lines(batches.get_batch(session, state, batch_id))

    for line in in_db(work):
        typer.echo(line)


def _batch_lines(view: BatchView) -> list[str]:
    counts = ", ".join(f"{n} {status}" for status, n in view.counts.items())
    lines = [f"batch {view.batch.id} of {view.state}: {counts}{' (done)' if view.done else ''}"]
    for c in view.cities:
        if c.job is None:
            lines.append(f"{c.city}\trefused\t-\t{c.refused}")
        else:
            plan = "-" if c.job.plan_id is None else f"plan {c.job.plan_id}"
            lines.append(f"{c.city}\t{c.job.status}\tjob {c.job.id}\t{plan}\t{c.job.error or ''}")
    return lines
