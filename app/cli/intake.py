"""Command-line options of the intake (issue 15): features without an id, poverty table, slum
layer, zone layer and ward splitting; shared by the commands through :mod:`app.cli.options`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
SlumPointOpt = Annotated[
    float,
    typer.Option(
        "--slum-point-metres",
        help="A slum point outside every ward joins the nearest ward within this many metres "
        "(a point on the coastline's wrong side); farther points are left out and listed.",
    ),
]
SubwardLayerOpt = Annotated[
    Path | None,
    typer.Option(
        "--subward-layer",
        help="The city's own sub-ward layer (blocks, slum clusters, mohallas; any ward-layer "
        "format): wards split by --split-above/--split-ward become units of its whole features.",
        exists=True,
        dir_okay=False,
    ),
]
SubwardIdOpt = Annotated[
    str | None,
    typer.Option("--subward-id-field", help="Sub-ward id column (default: block_id, …)."),
]
SubwardPopOpt = Annotated[
    str | None,
    typer.Option(
        "--subward-population-field",
        help="Persons column of the sub-ward layer: the split spreads the ward's figures by it.",
    ),
]
SubwardHhOpt = Annotated[
    str | None,
    typer.Option(
        "--subward-households-field",
        help="Households column of the sub-ward layer: the split spreads the ward's figures by it.",
    ),
]
