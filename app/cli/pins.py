"""``wardplan pins``: a city's pinned wards ("ward 57 stays with CO-04") in the database of
WARDPLAN_DB_URL: list, set (replace all), add one, remove one. Every fresh plan and re-plan of the
city keeps them, or says which pin makes the plan impossible (``app.services.pins``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from app.cli.places import actor, in_db

if TYPE_CHECKING:
    from app.db.models import WardPin

pins_cli = typer.Typer(
    name="pins",
    help="A city's pinned wards (WARD=CO): list, set all, add one, remove one.",
    no_args_is_help=True,
)

CityArg = Annotated[str, typer.Argument(help="The city's code, e.g. lucknow.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why, for the record.")]


def _parse(text: str) -> tuple[str, str]:
    ward, sep, co = text.partition("=")
    if not (sep and ward.strip() and co.strip()):
        typer.echo(f"error: pin {text!r}: write WARD=CO, e.g. 57=CO-04", err=True)
        raise typer.Exit(2)
    return ward.strip(), co.strip()


def _lines(rows: list[WardPin]) -> list[str]:
    out = ["ward\tco\treason\tset by\tset at"]
    for row in rows:
        when = f"{row.set_at:%Y-%m-%d %H:%M}"
        out.append(f"{row.ward_id}\t{row.organiser_id}\t{row.reason or ''}\t{row.set_by}\t{when}")
    return out


@pins_cli.command("list")
def list_pins(city: CityArg) -> None:
    """The city's pins, by ward (tab-separated)."""
    from app.services import pins

    for line in in_db(lambda s: _lines(list(pins.list_pins(s, city)))):
        typer.echo(line)


@pins_cli.command("set")
def set_pins(
    city: CityArg,
    pin: Annotated[
        list[str] | None, typer.Argument(help="WARD=CO, e.g. 57=CO-04; none: remove every pin.")
    ] = None,
    reason: ReasonOpt = None,
) -> None:
    """Make these the city's pins (checked whole: a refused list stores nothing)."""
    from app.services import pins

    asked = [pins.PinIn(*_parse(p), reason) for p in pin or []]

    def work(session: Session) -> list[str]:
        return _lines(list(pins.replace_pins(session, city, asked, actor=actor())))

    for line in in_db(work):
        typer.echo(line)


@pins_cli.command("add")
def add_pin(
    city: CityArg,
    pin: Annotated[str, typer.Argument(help="WARD=CO, e.g. 57=CO-04.")],
    reason: ReasonOpt = None,
) -> None:
    """Pin one more ward (a ward pinned already is refused, naming its pin)."""
    from app.services import pins

    asked = pins.PinIn(*_parse(pin), reason)
    in_db(lambda s: pins.add_pin(s, city, asked, actor=actor()))
    typer.echo(f"pinned ward {asked.ward_id} to {asked.organiser_id}")


@pins_cli.command("remove")
def remove_pin(
    city: CityArg, ward: Annotated[str, typer.Argument(help="The pinned ward's id.")]
) -> None:
    """Remove one ward's pin."""
    from app.services import pins

    gone = in_db(lambda s: pins.remove_pin(s, city, ward, actor=actor()).organiser_id)
    typer.echo(f"removed the pin of ward {ward} (was {gone})")
