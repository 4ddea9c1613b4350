"""Command-line options of the intake (issue 15): features without an id, poverty table, slum
layer, zone layer and ward splitting; shared by ``wardplan requirement`` and ``allocate``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from app import planning
from gis.errors import InputError
from gis.slums import SlumRequest
from gis.unnumbered import UnnumberedRule, parse_feature_ids


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` and the exit to raise (as the rest of the command line does)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


ExcludeFeatureOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--exclude-feature",
        help="Feature number (as messages show it) to leave out, e.g. a feature with no ward id; "
        "repeatable.",
    ),
]
FeatureIdOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--feature-id",
        help="FEATURE=ID: give a feature (e.g. one with no ward id) this ward id; with --merge ID "
        "it joins that ward. Repeatable.",
    ),
]
SliverOpt = Annotated[
    float | None,
    typer.Option(
        "--sliver-max-m2",
        help="Features with no ward id smaller than this (m²) are absorbed into the neighbour "
        "with the longest shared boundary (default: the larger of 1,000 m² and 1 % of the "
        "smallest ward; 0 absorbs none).",
    ),
]
PovertyTableOpt = Annotated[
    Path | None,
    typer.Option(
        "--poverty-table",
        help="CSV of a ward-level poverty figure (poor/slum households, or slum persons ÷ household "
        "size), joined by ward number or name like the census table; replaces the flat estimate.",
        exists=True,
        dir_okay=False,
    ),
]
PovertyKeyOpt = Annotated[
    str | None, typer.Option("--poverty-key", help="Ward-number column of the poverty table.")
]
PovertyColumnOpt = Annotated[
    str | None, typer.Option("--poverty-column", help="Poverty figure column of the table.")
]
SlumLayerOpt = Annotated[
    Path | None,
    typer.Option(
        "--slum-layer",
        help="Slum polygons or points (any ward-layer format); their households become each "
        "ward's poor households by area share (a point: the ward containing it).",
        exists=True,
        dir_okay=False,
    ),
]
SlumIdOpt = Annotated[
    str | None, typer.Option("--slum-id-field", help="Slum id column (default: cluster_id, …).")
]
SlumHhOpt = Annotated[
    str | None, typer.Option("--slum-households-field", help="Households column of slums.")
]
SlumPopOpt = Annotated[
    str | None, typer.Option("--slum-population-field", help="Persons column of slums.")
]
SlumTotalOpt = Annotated[
    float | None,
    typer.Option(
        "--slum-households-total",
        help="The city's slum households, spread over slum polygons by area when they carry no "
        "figure of their own.",
    ),
]
ZonesOpt = Annotated[
    Path | None,
    typer.Option(
        "--zones-layer",
        help="Zone polygons (any ward-layer format): each ward goes to the zone it overlaps "
        "most; wards split between zones are reported.",
        exists=True,
        dir_okay=False,
    ),
]
ZonesFieldOpt = Annotated[
    str | None, typer.Option("--zones-field", help="Zone name column of --zones-layer.")
]
SplitAboveOpt = Annotated[
    float | None,
    typer.Option(
        "--split-above",
        help="Split every ward with more poor households than this (e.g. one CO's 3000) into "
        "compact units of at most this many (ids '57/2', names '… (part 2 of 3)').",
    ),
]
SplitOpt = Annotated[
    list[str] | None,
    typer.Option("--split-ward", help="WARD=UNITS: split this ward into UNITS pieces; repeatable."),
]


def unnumbered_rule(
    exclude_features: list[int] | None, feature_ids: list[str] | None, sliver_max_m2: float | None
) -> UnnumberedRule:
    """The rule for features without a ward id, from the command line's options."""
    if sliver_max_m2 is not None and not 0 <= sliver_max_m2 < float("inf"):
        raise fail(f"--sliver-max-m2 {sliver_max_m2}: give an area in m², 0 or more")
    try:
        pairs = parse_feature_ids(feature_ids or (), "--feature-id")
    except InputError as exc:
        raise fail(str(exc)) from None
    return UnnumberedRule(sliver_max_m2, tuple(exclude_features or ()), pairs)


def with_poverty(
    req: planning.LayerRequest,
    household_size: float,
    table: Path | None,
    key: str | None,
    column: str | None,
    slums: Path | None,
    slum_fields: tuple[str | None, str | None, str | None],
    slum_total: float | None,
    zones: Path | None = None,
    zones_field: str | None = None,
    split: dict[str, object] | None = None,
) -> planning.LayerRequest:
    """``req`` with the poverty table, slum layer and zone layer options."""
    if slum_total is not None and not 0 < slum_total < float("inf"):
        raise fail(f"--slum-households-total {slum_total}: give a positive number")
    slum_req = None
    if slums is not None:
        id_field, households, population = slum_fields
        slum_req = SlumRequest(slums, id_field, households, population, slum_total)
    return dataclasses.replace(
        req,
        poverty_table=table,
        poverty_key=key,
        poverty_column=column,
        slums=slum_req,
        household_size=household_size,
        zones=zones,
        zones_field=zones_field,
        **(split or {}),  # type: ignore[arg-type]
    )


def split_request(above: float | None, wards: list[str] | None, rate: float) -> dict[str, object]:
    """``split_above``, ``split`` and ``rate`` of the layer request, from the options."""
    if above is not None and not 0 < above < float("inf"):
        raise fail(f"--split-above {above}: give a positive number of poor households")
    pairs = []
    for item in wards or ():
        ward, _, units = item.rpartition("=")
        if not ward.strip() or not units.strip().isdigit() or int(units) < 2:
            raise fail(f"--split-ward {item!r}: write WARD=UNITS, e.g. 57=3 (2 or more units)")
        pairs.append((ward.strip(), int(units)))
    return {"split_above": above, "split": tuple(pairs), "rate": rate}
