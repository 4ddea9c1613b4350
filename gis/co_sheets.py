"""The CO sheets: one A4 page per CO with its area's map, its wards and its contact point.

The shared parts (fonts, header, footer, map furniture) are :mod:`gis.sheets`'; see its doc for the
frames and the Devanagari shaping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pyproj import CRS

from gis.crs import metric_crs
from gis.figures import km_text, percent_text
from gis.maps import area_colours
from gis.sheetinputs import CENTRE_COLUMNS as CENTRE_COLUMNS
from gis.sheetinputs import WARD_NAME_COLUMNS as WARD_NAME_COLUMNS
from gis.sheetinputs import read_centres as read_centres
from gis.sheetinputs import read_ward_names as read_ward_names
from gis.sheetlayout import Placer, extent, fit_table, fitted_text, margins
from gis.sheets import (
    _LOCK,
    A4_PORTRAIT,
    HINDI_CO_TITLE,
    SheetInfo,
    _cell,
    _deviations,
    _fit_height,
    _fmt,
    _footer,
    _header,
    _homes,
    _north_arrow,
    _pdf,
    _scale_bar,
    _style,
    _ward_numbers,
)


def organiser_sheets(
    plan_wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    info: SheetInfo,
    *,
    centres: gpd.GeoDataFrame | None = None,
    organiser_ids: Sequence[str] | None = None,
) -> bytes:
    """One A4 page per CO (all of them, or ``organiser_ids`` in that order) in one PDF.

    Raises ``KeyError`` naming an organiser id that has no area in ``areas``.
    """
    known = [str(o) for o in areas["organiser_id"]]
    wanted = known if organiser_ids is None else [str(o) for o in organiser_ids]
    unknown = [o for o in wanted if o not in known]
    if unknown:
        raise KeyError(f"no area for organiser(s) {', '.join(unknown)} in this plan")
    contacts = contact_points(areas, centres)
    none_inside = "none inside this area (the nearest centre outside it may serve)"
    missing = none_inside if centres is not None and not centres.empty else info.centres_hint
    with _LOCK, _style():
        colours = area_colours(areas)
        figures = [
            _organiser_figure(plan_wards, areas, oid, colours, contacts.get(oid, missing), info)
            for oid in wanted
        ]
        return _pdf(figures, info)


def contact_points(areas: gpd.GeoDataFrame, centres: gpd.GeoDataFrame | None) -> dict[str, str]:
    """Per organiser, the name of the first community centre inside its area (none: absent)."""
    if centres is None or centres.empty:
        return {}
    points = centres.to_crs(areas.crs)
    found: dict[str, str] = {}
    for oid, geom in zip(areas["organiser_id"], areas.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        inside = points[points.geometry.within(geom)]
        if not inside.empty:
            found[str(oid)] = str(inside.iloc[0]["name"])
    return found


def _ward_names(wards: gpd.GeoDataFrame) -> tuple[list[str], list[str]]:
    def column(*names: str) -> list[str]:
        for name in names:
            if name in wards.columns:
                return ["" if not isinstance(v, str) else v for v in wards[name]]
        return [""] * len(wards)

    return column("name_en", "ward_name"), column("name_hi", "ward_name_hi")


def ward_rows(wards: gpd.GeoDataFrame, load_column: str) -> list[list[str]]:
    """The ward list of a CO sheet: number, name (English), name (Hindi), population, poor households."""
    english, hindi = _ward_names(wards)
    rows = []
    for (_, row), en, hi in zip(wards.iterrows(), english, hindi, strict=True):
        rows.append(
            [
                str(row["ward_id"]),
                en,
                hi,
                _fmt(_cell(row, "population"), ",.0f"),
                _fmt(_cell(row, load_column), ",.0f"),
            ]
        )
    return rows


def _organiser_figure(
    plan_wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    organiser_id: str,
    colours: Mapping[str, str],
    contact: str,
    info: SheetInfo,
) -> Figure:
    crs = metric_crs(plan_wards)
    all_wards = plan_wards.to_crs(crs)
    mine = all_wards[all_wards["organiser_id"].astype(str) == organiser_id]
    area_frame = areas.to_crs(crs)
    area = area_frame[area_frame["organiser_id"].astype(str) == organiser_id]
    row = area.iloc[0]
    name = _cell(row, "name")
    label = f"{organiser_id} — {name}" if isinstance(name, str) and name else organiser_id
    figure = Figure(figsize=A4_PORTRAIT)
    mx, _ = margins(figure)
    top = _header(figure, f"{info.city} — {label}", HINDI_CO_TITLE, info, size=14)
    ax = figure.add_axes((mx, 0.50, 1 - 2 * mx, top - 0.01 - 0.50))
    _organiser_map(ax, all_wards, mine, area, colours.get(organiser_id, "#4e9fd6"), crs)
    deviation = _deviations(area_frame, info.load_column)[
        [str(o) for o in area_frame["organiser_id"]].index(organiser_id)
    ]
    facts = [
        f"Wards: {len(mine)}",
        f"Population: {_fmt(mine['population'].sum() if 'population' in mine else None, ',.0f')}",
        f"Poor households (estimate): {_fmt(_cell(row, info.load_column), ',.0f')}",
        f"Deviation from the mean: {percent_text(deviation)}",
        f"Mean distance from home: {km_text(_cell(row, 'mean_km_from_home'))}",
        f"Contact point (community centre): {contact}",
    ]
    left = fitted_text(
        figure, mx, 0.485, facts, width=0.5 - mx - 0.02, size=9.5, va="top", linespacing=1.6
    )
    params = [f"{k}: {v}" for k, v in info.parameters.items()]
    right = fitted_text(
        figure, 0.5, 0.485, params, width=0.5 - mx, size=8, va="top", linespacing=1.6
    )
    low = min(extent(left, figure).y0, extent(right, figure).y0) - 0.012
    rows = ward_rows(mine, info.load_column)
    if not any(r[1] or r[2] for r in rows):
        note = fitted_text(figure, mx, low, [info.names_hint], width=1 - 2 * mx, size=8, va="top")
        low = extent(note, figure).y0 - 0.01
    bottom = _footer(figure, info) + 0.01
    table_ax = figure.add_axes((mx, bottom, 1 - 2 * mx, low - bottom))
    _ward_table(table_ax, rows)
    return figure


def _organiser_map(
    ax: Axes,
    all_wards: gpd.GeoDataFrame,
    mine: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame,
    colour: str,
    crs: CRS,
) -> None:
    all_wards.plot(ax=ax, color="#eeeeee", edgecolor="#bbbbbb", linewidth=0.3)
    mine.plot(ax=ax, color=colour, edgecolor="#555555", linewidth=0.5)
    area.boundary.plot(ax=ax, color="#222222", linewidth=1.5)
    minx, miny, maxx, maxy = area.total_bounds
    pad = 0.15 * max(maxx - minx, maxy - miny, 500.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.apply_aspect()
    placer = Placer(ax, [])
    _homes(ax, area, crs, placer)
    _ward_numbers(ax, mine, placer, size=7.5)
    _scale_bar(ax)
    _north_arrow(ax)


def _ward_table(ax: Axes, rows: list[list[str]]) -> None:
    """The CO's wards; a name column only when some ward has such a name."""
    ax.set_axis_off()
    if not rows:
        return
    figure = ax.get_figure()
    assert isinstance(figure, Figure)
    head = ["ward", "name", "नाम", "population", "poor households"]
    widths = [0.08, 0.3, 0.28, 0.14, 0.2]
    keep = [c for c in range(5) if c not in (1, 2) or any(r[c] for r in rows)]
    table = ax.table(
        cellText=[[r[c] for c in keep] for r in rows],
        colLabels=[head[c] for c in keep],
        colWidths=[widths[c] for c in keep],
        loc="upper center",
        cellLoc="left",
    )
    table.scale(1, 1.3)
    for (r, c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")
        if keep[c] >= 3:
            cell.set_text_props(ha="right")
    fit_table(table, figure, size=8.5 if len(rows) <= 18 else 7.0, min_size=5.0)
    _fit_height(table, ax, figure)
