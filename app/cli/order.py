"""``wardplan allocation-order``: the ward-wise work allocation order of a written plan folder
(PDF and XLSX, :mod:`gis.allocation_order`); the folder is only read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
import typer

from app.pipeline.plan_folders import PlanFolder, read_plan_folder
from gis import allocation_order
from gis.co_sheets import contact_points
from gis.errors import InputError
from gis.organisers import read_organisers
from gis.portfolios import default_portfolios
from gis.sheets import read_centres
from gis.staff import Cmm, people, portfolios, read_cmms_csv

_HOW = {"edited": "edited by hand from {}", "replanned": "re-planned from {}"}


def _cmms(given: str) -> int | list[Cmm]:
    """``--cmms``: a number of CMMs in post, or a CSV listing them (names, contacts)."""
    if given.strip().isdigit():
        return int(given)
    path = Path(given)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--cmms {given!r}: neither a number nor a readable CSV: {exc}") from None
    return read_cmms_csv(path.name, data)


def co_contacts(folder: PlanFolder, organisers: Path | None) -> dict[str, str | None]:
    """Each CO's phone and e-mail from an organisers CSV (``phone``, ``email`` columns, as
    ``wardplan allocate`` reads it), for the plan's COs; ``{}`` without a file. Raises
    ``InputError`` for a file that cannot be read, or that lists none of the plan's COs."""
    if organisers is None:
        return {}
    roster = {o.organiser_id: o for o in read_organisers(organisers, folder.wards)}
    mine = [o.organiser_id for o in folder.organisers]
    if not any(oid in roster for oid in mine):
        raise InputError(
            f"--organisers {organisers.name}: lists none of the plan's COs ({', '.join(mine)})"
        )
    return {
        oid: ", ".join(c for c in (o.phone, o.email) if c) or None
        for oid in mine
        if (o := roster.get(oid)) is not None
    }


def _info(folder: PlanFolder, city: str, cmms: int | list[Cmm]) -> allocation_order.OrderInfo:
    kind = str(folder.report.get("kind", ""))
    how = _HOW.get(kind, "solved").format(folder.report.get("parent", ""))
    valid = folder.report.get("valid", True) and folder.report.get("status") != "draft-invalid"
    return allocation_order.OrderInfo(
        city=city,
        plan=f"plan folder {folder.path.name} ({how})",
        approval="DRAFT — not approved" if valid else "INVALID DRAFT — cannot be approved",
        approved=False,
        portfolios=tuple(default_portfolios(cmms) if isinstance(cmms, int) else portfolios(cmms)),
        cmms=() if isinstance(cmms, int) else tuple(people(cmms)),
    )


def order_cmd(
    plan_dir: Annotated[
        Path, typer.Argument(help="A plan folder (wardplan allocate, adjust or replan).")
    ],
    city: Annotated[str, typer.Option("--city", help="The city's name for the heading.")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the order as PDF here.")] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write the order as XLSX here.")
    ] = None,
    cmms: Annotated[
        str,
        typer.Option(
            "--cmms",
            help="City Mission Managers: how many are in post, or a CSV of them (cmm_id, name, "
            "phone, email, components) whose names and contacts the portfolio table prints.",
        ),
    ] = "0",
    centres: Annotated[
        Path | None,
        typer.Option(
            "--community-centres", help="CSV name,lat,lon: the contact point of each CO's area."
        ),
    ] = None,
    organisers: Annotated[
        Path | None,
        typer.Option(
            "--organisers",
            help="The organisers CSV (as for allocate): its phone and email columns, when "
            "present, are printed under each CO's name.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """The ward-wise work allocation order (English and Hindi): each CO's wards, poor households,
    contact point and home ward; a printed plan folder is a draft until the CMMU approves it."""
    if pdf is None and xlsx is None:
        typer.echo("error: give --pdf FILE, --xlsx FILE or both", err=True)
        raise typer.Exit(2)
    try:
        folder = read_plan_folder(plan_dir)
        areas = gpd.read_file(plan_dir / "areas.geojson", engine="pyogrio")
        points = None if centres is None else read_centres(centres)
        staff = _cmms(cmms)
        contacts = co_contacts(folder, organisers)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    wards = folder.wards
    names = {
        str(w): (n if isinstance(n, str) and n.strip() else None)
        for w, n in zip(wards["ward_id"], wards.get("ward_name", [None] * len(wards)), strict=True)
    }
    rows = allocation_order.order_rows(
        wards,
        names,
        contact_points(areas, points),
        {o.organiser_id: o.home_ward for o in folder.organisers},
        {o.organiser_id: o.name for o in folder.organisers},
        contacts,
    )
    info = _info(folder, city, staff)
    if pdf is not None:
        pdf.write_bytes(allocation_order.allocation_order_pdf(info, rows, areas))
        typer.echo(f"wrote {pdf}")
    if xlsx is not None:
        xlsx.write_bytes(allocation_order.allocation_order_xlsx(info, rows))
        typer.echo(f"wrote {xlsx}")


def register(cli: typer.Typer) -> None:
    cli.command("allocation-order")(order_cmd)
