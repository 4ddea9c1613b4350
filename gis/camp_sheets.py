"""Printable camp papers in Hindi and English: the city's camp schedule (an A3 map of the clusters,
then A4 pages of the calendar) and one A4 notice per camp for the local body to post (date, time,
venue, wards served, a locator map). Drawn with the plan sheets' machinery (:mod:`gis.sheets`): the
same fonts (Devanagari shaped by matplotlib's libraqm), lock, header, footer, scale bar and arrow.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date

import geopandas as gpd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gis.camp_files import Camp, CampHours
from gis.crs import metric_crs
from gis.maps import area_colours
from gis.sheetlayout import Placer
from gis.sheets import (
    _LOCK,
    A3_LANDSCAPE,
    A4_PORTRAIT,
    SheetInfo,
    _footer,
    _header,
    _north_arrow,
    _pdf,
    _scale_bar,
    _style,
    _ward_numbers,
)

HINDI_SCHEDULE_TITLE = "असंगठित कर्मकारों के पंजीयन शिविर — कार्यक्रम"
HINDI_NOTICE_TITLE = "असंगठित कर्मकारों का पंजीयन शिविर"
HINDI_WEEKDAYS = ("सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार")
HINDI_MONTHS = (
    "जनवरी",
    "फ़रवरी",
    "मार्च",
    "अप्रैल",
    "मई",
    "जून",
    "जुलाई",
    "अगस्त",
    "सितंबर",
    "अक्टूबर",
    "नवंबर",
    "दिसंबर",
)
ROWS_PER_PAGE = 32


def hindi_date(day: date) -> str:
    return f"{HINDI_WEEKDAYS[day.weekday()]}, {day.day} {HINDI_MONTHS[day.month - 1]} {day.year}"


def english_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def camp_schedule(
    wards: gpd.GeoDataFrame,
    clusters: gpd.GeoDataFrame,
    camps: Sequence[Camp],
    hours: CampHours,
    info: SheetInfo,
) -> bytes:
    """The city schedule: an A3 map of the clusters, then the calendar on A4 pages by date."""
    with _LOCK, _style():
        colours = area_colours(clusters.rename(columns={"camp_id": "organiser_id"}))
        figures = [_schedule_map(wards, clusters, colours, info)]
        rows = schedule_rows(camps)
        for start in range(0, len(rows), ROWS_PER_PAGE):
            page = start // ROWS_PER_PAGE + 1
            pages = (len(rows) - 1) // ROWS_PER_PAGE + 1
            figures.append(
                _schedule_table(rows[start : start + ROWS_PER_PAGE], hours, info, page, pages)
            )
        return _pdf(figures, info)


def schedule_rows(camps: Sequence[Camp]) -> list[list[str]]:
    """One row per camp day, by date: date, camp, venue, wards, expected registrants."""
    days = sorted(((d, c) for c in camps for d in c.dates), key=lambda dc: (dc[0], dc[1].camp_id))
    return [
        [
            f"{d:%a %d %b}",
            hindi_date(d).split(",")[0],
            c.camp_id + (f" ({c.dates.index(d) + 1}/{len(c.dates)})" if len(c.dates) > 1 else ""),
            c.venue.name,
            c.wards_text(),
            f"{c.registrants:,.0f}",
        ]
        for d, c in days
    ]


def _schedule_map(
    wards: gpd.GeoDataFrame, clusters: gpd.GeoDataFrame, colours: dict[str, str], info: SheetInfo
) -> Figure:
    crs = metric_crs(wards)
    w, cl = wards.to_crs(crs), clusters.to_crs(crs)
    figure = Figure(figsize=A3_LANDSCAPE)
    _header(figure, f"{info.city}: registration camps", HINDI_SCHEDULE_TITLE, info)
    ax = figure.add_axes((0.02, 0.07, 0.66, 0.80))
    cl.plot(ax=ax, color=[colours[str(c)] for c in cl["camp_id"]], edgecolor="none")
    w.boundary.plot(ax=ax, color="#666666", linewidth=0.35)
    cl.boundary.plot(ax=ax, color="#222222", linewidth=1.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _ward_numbers(ax, w, Placer(ax, []), size=5 if len(w) > 80 else 7)
    for cid, geom in zip(cl["camp_id"], cl.geometry, strict=True):
        p = geom.representative_point()
        ax.text(
            p.x,
            p.y,
            str(cid),
            size=8,
            weight="bold",
            ha="center",
            va="bottom",
            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    _scale_bar(ax)
    _north_arrow(ax)
    params = [
        textwrap.fill(f"{k}: {v}", 62, subsequent_indent="    ") for k, v in info.parameters.items()
    ]
    figure.text(0.70, 0.85, "\n".join(params), size=9, va="top", linespacing=1.6)
    _footer(figure, info)
    return figure


def _schedule_table(
    rows: list[list[str]], hours: CampHours, info: SheetInfo, page: int, pages: int
) -> Figure:
    figure = Figure(figsize=A4_PORTRAIT)
    _header(
        figure,
        f"{info.city}: camp calendar ({page}/{pages})",
        f"शिविर कैलेंडर — समय {hours.text()}",
        info,
        size=13,
    )
    ax = figure.add_axes((0.04, 0.06, 0.92, 0.80))
    _table(
        ax,
        rows,
        ["date", "दिन", "camp", "venue / स्थल", "wards / वार्ड", "people"],
        [0.11, 0.11, 0.1, 0.33, 0.25, 0.1],
    )
    _footer(figure, info)
    return figure


def _table(ax: Axes, rows: list[list[str]], labels: list[str], widths: list[float]) -> None:
    ax.set_axis_off()
    if not rows:
        return
    table = ax.table(
        cellText=rows, colLabels=labels, colWidths=widths, loc="upper center", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.25)
    for (r, _c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")


def camp_notices(
    wards: gpd.GeoDataFrame, camps: Sequence[Camp], hours: CampHours, info: SheetInfo
) -> bytes:
    """One A4 notice per camp, in Hindi and English, for the local body to post in its wards."""
    with _LOCK, _style():
        return _pdf([_notice(wards, c, hours, info) for c in camps], info)


def _notice(wards: gpd.GeoDataFrame, camp: Camp, hours: CampHours, info: SheetInfo) -> Figure:
    figure = Figure(figsize=A4_PORTRAIT)
    _header(
        figure, f"{info.city} — registration camp {camp.camp_id}", HINDI_NOTICE_TITLE, info, size=15
    )
    dates_en = "\n".join(english_date(d) for d in camp.dates)
    dates_hi = "\n".join(hindi_date(d) for d in camp.dates)
    lines = [
        ("तिथि / Date", f"{dates_hi}\n{dates_en}"),
        ("समय / Time", hours.text()),
        ("स्थल / Venue", f"{camp.venue.name} (ward / वार्ड {camp.venue.ward_id})"),
        ("वार्ड / Wards served", camp.wards_text()),
        ("अपेक्षित पंजीयन / Expected registrants", f"{camp.registrants:,.0f}"),
    ]
    y = 0.84
    for label, value in lines:
        figure.text(0.06, y, label, size=11, weight="bold", va="top")
        figure.text(0.06, y - 0.025, value, size=13, va="top", linespacing=1.5, wrap=True)
        y -= 0.06 + 0.026 * value.count("\n")
    figure.text(
        0.06,
        y - 0.01,
        "इन वार्डों के असंगठित कर्मकार अपना समग्र क्रमांक लेकर शिविर में पंजीयन कराएँ।\n"
        "Unorganised workers of these wards: come to the camp with your Samagra number to register.",
        size=9.5,
        va="top",
        linespacing=1.6,
    )
    ax = figure.add_axes((0.08, 0.08, 0.84, 0.40 if y > 0.55 else 0.32))
    _locator(ax, wards, camp)
    _footer(figure, info)
    return figure


def _locator(ax: Axes, wards: gpd.GeoDataFrame, camp: Camp) -> None:
    crs = metric_crs(wards)
    all_w = wards.to_crs(crs)
    mine = all_w[all_w["ward_id"].astype(str).isin(camp.ward_ids)]
    all_w.plot(ax=ax, color="#eeeeee", edgecolor="#bbbbbb", linewidth=0.3)
    mine.plot(ax=ax, color="#fdb462", edgecolor="#555555", linewidth=0.6)
    _ward_numbers(ax, mine, Placer(ax, []), size=7)
    venue = gpd.GeoSeries(
        gpd.points_from_xy([camp.venue.lon], [camp.venue.lat]), crs="EPSG:4326"
    ).to_crs(crs)
    ax.scatter(venue.x, venue.y, s=60, marker="*", c="#b2182b", edgecolors="black", zorder=5)
    minx, miny, maxx, maxy = mine.total_bounds
    pad = 0.3 * max(maxx - minx, maxy - miny, 800.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax)
    _north_arrow(ax)
