"""Printable sheets of a plan: the city demarcation sheet (A3 landscape) and one sheet per CO (A4).

The CMMU discusses the demarcation on paper, and ward names come in English and Hindi, so the PDFs
must shape Devanagari (conjuncts such as क्ष and श्र, the reordered ि matra, reph in र्ड). Chosen by
testing (``tests/gis/test_sheets.py``): **matplotlib ≥ 3.11** (on PyPI since 3.11.0), which lays
out text with libraqm (HarfBuzz inside; built into its wheels), draws it correctly — the glyphs it
embeds are exactly HarfBuzz's shaping of the string — while matplotlib 3.10.8 puts one glyph per
code point (क्‌षेत्‌र; the same test fails under it). Shaped glyphs alone do not give the text back
(a conjunct stands for several characters, ि is drawn before its consonant), so every text is also
written as ``/ActualText`` (``gis.pdftext``): ``pdftotext`` and copy-and-paste return the string.
WeasyPrint (Pango) would shape too, but needs
Pango/Cairo system libraries and an HTML rendering of the map; matplotlib draws the map itself from
the GeoDataFrames and needs only a font, Debian's ``fonts-lohit-deva`` (installed by
``scripts/system-deps.sh`` and in the Dockerfile).

Frames, as for ``gis.maps.plan_map``: ``plan_wards`` needs ``ward_id``, ``organiser_id`` and
geometry, and may carry ``ward_name`` (or ``name_en``), ``ward_name_hi`` (or ``name_hi``),
``population`` and ``poor_households_est``; ``areas`` needs ``organiser_id`` and geometry, and may
carry ``name``, ``n_wards``, ``home_lon``/``home_lat``, the load column (``poor_households_est``),
``deviation_from_mean_pct`` and ``mean_km_from_home``. A missing figure prints as "—". Optional
``centres`` (points with a ``name``) are the letter's community centres: the CO sheet names the
first one inside the CO's area as its contact point.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle
from matplotlib.table import Table
from pyproj import CRS

from gis import hindi
from gis.crs import metric_crs
from gis.labels import label_candidates
from gis.maps import area_colours
from gis.pdftext import actual_text
from gis.sheetinputs import CENTRE_COLUMNS as CENTRE_COLUMNS
from gis.sheetinputs import WARD_NAME_COLUMNS as WARD_NAME_COLUMNS
from gis.sheetinputs import read_centres as read_centres
from gis.sheetinputs import read_ward_names as read_ward_names
from gis.sheetlayout import Placer, extent, fit_table, fitted_text, margins

#: Paper sizes in inches (ISO 216).
A3_LANDSCAPE = (420 / 25.4, 297 / 25.4)
A4_PORTRAIT = (210 / 25.4, 297 / 25.4)

#: Devanagari fonts tried in order; the first one matplotlib finds is used after DejaVu Sans (Latin).
DEVANAGARI_FONTS = ("Lohit Devanagari", "Noto Sans Devanagari", "Noto Serif Devanagari")
LATIN_FONT = "DejaVu Sans"
FONT_DIR = "/usr/share/fonts"

#: Headings in Hindi (the letter's words, ``gis.hindi``), shown under the English ones.
HINDI_CITY_TITLE = hindi.CITY_SHEET_TITLE
HINDI_CO_TITLE = hindi.CO_SHEET_TITLE


class _NoBoldFallbackNotice(logging.Filter):
    """Drop matplotlib's notice that the Devanagari font has no bold face (regular is right)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage()


logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldFallbackNotice())

#: matplotlib's font cache and rcParams are global: one sheet is drawn at a time.
_LOCK = threading.Lock()


#: What a sheet says where a ward name or a contact point is missing: what to add, and how.
NAMES_HINT = (
    "Ward names: none given. Add them with a CSV ward_id,name_en,name_hi "
    "(wardplan allocate --sheets --ward-names FILE) or a name field in the ward layer."
)
CENTRES_HINT = (
    "none recorded. Add the city's community centres as a CSV name,lat,lon "
    "(wardplan allocate --sheets --community-centres FILE, or POST /cities/<city>/community-centres)."
)


class FontMissing(RuntimeError):
    """No Devanagari font is installed; the message names the Debian package that provides one."""


@dataclass(frozen=True)
class SheetInfo:
    """What a sheet says besides the plan itself.

    ``parameters`` are printed as "key: value" lines in the given order (poverty rate, tolerance,
    status and gap …). ``approved_on``/``approved_by`` set: the sheet is marked "APPROVED on … by …";
    otherwise "DRAFT — not approved".
    """

    city: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    approved_on: date | None = None
    approved_by: str | None = None
    printed_on: date = field(default_factory=date.today)
    credits: str = ""  # the layer's data credit (gis.credits); none claimed by default
    load_column: str = "poor_households_est"
    names_hint: str = NAMES_HINT
    centres_hint: str = CENTRES_HINT

    @property
    def approval(self) -> str:
        if self.approved_on is None:
            return "DRAFT — not approved"
        by = f" by {self.approved_by}" if self.approved_by else ""
        return f"APPROVED on {self.approved_on.isoformat()}{by}"


def devanagari_font() -> str:
    """The family name of an installed Devanagari font, or ``FontMissing``.

    matplotlib's font list is cached from when it first ran; a font installed later (by
    ``scripts/system-deps.sh``) is added from Debian's font folder.
    """
    for attempt in range(2):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for name in DEVANAGARI_FONTS:
            if name in installed:
                return name
        if attempt == 0:
            for path in sorted(Path(FONT_DIR).glob("**/*Devanagari*.ttf")):
                font_manager.fontManager.addfont(str(path))
    raise FontMissing(
        "no Devanagari font found (tried "
        + ", ".join(DEVANAGARI_FONTS)
        + "): install Debian's fonts-lohit-deva (scripts/system-deps.sh)"
    )


def _style() -> AbstractContextManager[None]:
    """The sheets' fonts (Latin, then Devanagari as fallback) and TrueType embedding."""
    return mpl.rc_context(
        {
            "font.family": [LATIN_FONT, devanagari_font()],
            "pdf.fonttype": 42,  # embed TrueType: real glyphs, text that pdftotext can read back
            "axes.unicode_minus": False,
        }
    )


def _pdf(figures: Sequence[Figure], info: SheetInfo) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Title": f"Wardplan — {info.city}", "Creator": "Wardplan"}
    with actual_text(), PdfPages(buffer, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    return buffer.getvalue()


def text_pdf(text: str, *, size: float = 20.0) -> bytes:
    """A one-line PDF of ``text`` in the sheets' fonts (used to prove shaping in the tests)."""
    with _LOCK, _style():
        figure = Figure(figsize=(8, 1))
        figure.text(0.02, 0.35, text, size=size)
        return _pdf([figure], SheetInfo(city="text"))


# -- the city sheet --------------------------------------------------------------------------------


def city_sheet(plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, info: SheetInfo) -> bytes:
    """The city demarcation sheet: one A3 landscape PDF page."""
    with _LOCK, _style():
        return _pdf([_city_figure(plan_wards, areas, info)], info)


def _city_figure(plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, info: SheetInfo) -> Figure:
    crs = metric_crs(plan_wards)
    wards, area_frame = plan_wards.to_crs(crs), areas.to_crs(crs)
    colours = area_colours(areas)
    figure = Figure(figsize=A3_LANDSCAPE)
    mx, _ = margins(figure)
    top = _header(figure, f"{info.city}: Community Organisers' areas", HINDI_CITY_TITLE, info)
    bottom = _footer(figure, info) + 0.01
    ax = figure.add_axes((mx, bottom, 0.58 - mx, top - 0.01 - bottom))
    _draw_areas(ax, wards, area_frame, colours)
    ax.apply_aspect()
    placer = Placer(ax, [])
    _homes(ax, area_frame, crs, placer)
    _ward_numbers(ax, wards, placer, size=6.5 if len(wards) > 80 else 8)
    _area_labels(ax, area_frame, placer)
    _scale_bar(ax)
    _north_arrow(ax)
    table_ax = figure.add_axes((0.60, 0.30, 0.40 - mx, top - 0.035 - 0.30))
    low = _organiser_table(table_ax, area_frame, colours, info)
    _notes(figure, info, x=0.60, y=low - 0.015, width=0.40 - mx)
    return figure


def _header(figure: Figure, title: str, hindi: str, info: SheetInfo, *, size: float = 18) -> float:
    """Title, Hindi title, approval and print date inside the top margin; returns the header's
    lowest point (figure fraction)."""
    mx, my = margins(figure)
    approved = info.approved_on is not None
    colour = "#1b7837" if approved else "#b2182b"
    mark = figure.text(
        1 - mx,
        1 - my,
        info.approval,
        size=size * 0.7,
        weight="bold",
        ha="right",
        va="top",
        color=colour,
        bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": colour},
    )
    mark_box = extent(mark, figure).expanded(1.0, 1.0)
    printed = figure.text(
        1 - mx,
        mark_box.y0 - 0.01,
        f"printed {info.printed_on.isoformat()}",
        size=9,
        ha="right",
        va="top",
    )
    width = mark_box.x0 - 0.015 - mx
    heading = fitted_text(
        figure, mx, 1 - my, [title], width=width, size=size, weight="bold", va="top"
    )
    below = extent(heading, figure).y0 - 0.006
    second = fitted_text(figure, mx, below, [hindi], width=width, size=size * 0.72, va="top")
    return float(min(extent(second, figure).y0, extent(printed, figure).y0))


def _footer(figure: Figure, info: SheetInfo) -> float:
    """The data credit (only when the layer's source is known) and the program's name, inside the
    bottom margin; returns the footer's highest point (figure fraction)."""
    mx, my = margins(figure)
    mark = figure.text(1 - mx, my, "Wardplan", size=7.5, color="#444444", ha="right", va="bottom")
    if not info.credits:
        return float(extent(mark, figure).y1)
    credit = fitted_text(
        figure,
        mx,
        my,
        [f"Data: {info.credits}"],
        width=extent(mark, figure).x0 - 0.02 - mx,
        size=7.5,
        color="#444444",
        va="bottom",
    )
    return float(max(extent(credit, figure).y1, extent(mark, figure).y1))


def _draw_areas(
    ax: Axes, wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, colours: Mapping[str, str]
) -> None:
    filled = [colours.get(str(o), "#ffffff") for o in areas["organiser_id"]]
    areas.plot(ax=ax, color=filled, edgecolor="none")
    wards.boundary.plot(ax=ax, color="#666666", linewidth=0.35)
    areas.boundary.plot(ax=ax, color="#222222", linewidth=1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _ward_numbers(ax: Axes, wards: gpd.GeoDataFrame, placer: Placer, *, size: float) -> None:
    """Each ward's number at its widest spot, or the next candidate clear of homes and numbers."""
    for ward_id, geom in zip(wards["ward_id"], wards.geometry, strict=True):
        spots = label_candidates(geom)
        if not spots:
            continue
        text = ax.text(
            spots[0].x,
            spots[0].y,
            str(ward_id),
            size=size,
            ha="center",
            va="center",
            color="#222222",
        )
        placer.place(text, spots)


def _area_labels(ax: Axes, areas: gpd.GeoDataFrame, placer: Placer) -> None:
    """Each CO's id in a white box, where it covers no ward number, home or other label."""
    for oid, geom in zip(areas["organiser_id"], areas.geometry, strict=True):
        spots = label_candidates(geom)
        if not spots:
            continue
        text = ax.text(
            spots[0].x,
            spots[0].y,
            str(oid),
            size=9,
            weight="bold",
            ha="center",
            va="center",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
        placer.place(text, spots, pad_pt=2.0)


def _homes(ax: Axes, areas: gpd.GeoDataFrame, crs: CRS, placer: Placer | None = None) -> None:
    if not {"home_lon", "home_lat"} <= set(areas.columns):
        return
    known = areas.dropna(subset=["home_lon", "home_lat"])
    if known.empty:
        return
    points = gpd.GeoSeries(
        gpd.points_from_xy(known["home_lon"], known["home_lat"]), crs="EPSG:4326"
    ).to_crs(crs)
    ax.scatter(points.x, points.y, s=22, marker="o", c="white", edgecolors="black", zorder=5)
    if placer is not None:
        placer.reserve_points(list(points), radius_pt=3.5)


def nice_length(span: float) -> float:
    """A round length (1, 2 or 5 × 10ⁿ) of about a fifth of ``span``; the scale bar's length."""
    target = span / 5
    power = 10.0 ** math.floor(math.log10(target))
    return max(float(m) * power for m in (1, 2, 5) if m * power <= target)


def _scale_bar(ax: Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = nice_length(x1 - x0)
    left, bottom, height = x0 + 0.03 * (x1 - x0), y0 + 0.03 * (y1 - y0), 0.008 * (y1 - y0)
    for k in range(4):
        ax.add_patch(
            Rectangle(
                (left + k * length / 4, bottom),
                length / 4,
                height,
                facecolor="black" if k % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left, bottom + 1.8 * height, "0", size=7, ha="center")
    ax.text(left + length, bottom + 1.8 * height, label, size=7, ha="center")


def _north_arrow(ax: Axes) -> None:
    """An arrow to grid north of the metric CRS (UTM: within a degree or two of true north)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    x, y, h = x1 - 0.05 * (x1 - x0), y1 - 0.13 * (y1 - y0), 0.07 * (y1 - y0)
    ax.add_patch(
        FancyArrow(
            x,
            y,
            0,
            h,
            width=h / 8,
            head_width=h / 3,
            head_length=h / 3,
            length_includes_head=True,
            color="black",
        )
    )
    ax.text(x, y + h * 1.08, "N", size=12, weight="bold", ha="center", va="bottom")


def _figure_or_none(value: object) -> float | None:
    if not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _fmt(value: object, spec: str, suffix: str = "") -> str:
    number = _figure_or_none(value)
    return "—" if number is None else f"{number:{spec}}{suffix}"


def _cell(row: pd.Series, column: str) -> object:
    return row[column] if column in row.index else None


def organiser_rows(areas: gpd.GeoDataFrame, load_column: str) -> list[list[str]]:
    """The per-CO table: CO, name, wards, poor households, deviation from the mean, mean km."""
    deviations = _deviations(areas, load_column)
    rows = []
    for (_, row), deviation in zip(areas.iterrows(), deviations, strict=True):
        name = _cell(row, "name")
        rows.append(
            [
                str(row["organiser_id"]),
                name if isinstance(name, str) else "",
                _fmt(_cell(row, "n_wards"), ".0f"),
                _fmt(_cell(row, load_column), ",.0f"),
                _fmt(deviation, "+.1f", " %"),
                _fmt(_cell(row, "mean_km_from_home"), ".1f"),
            ]
        )
    return rows


def _deviations(areas: gpd.GeoDataFrame, load_column: str) -> list[float | None]:
    if "deviation_from_mean_pct" in areas.columns:
        return [_figure_or_none(v) for v in areas["deviation_from_mean_pct"]]
    if load_column not in areas.columns:
        return [None] * len(areas)
    loads = [_figure_or_none(v) for v in areas[load_column]]
    known = [v for v in loads if v is not None]
    mean = math.fsum(known) / len(known) if known else 0.0
    return [None if v is None or mean <= 0 else 100 * (v - mean) / mean for v in loads]


_TABLE_HEAD = ["CO", "name", "wards", "poor households", "deviation", "mean km"]


def _organiser_table(
    ax: Axes, areas: gpd.GeoDataFrame, colours: Mapping[str, str], info: SheetInfo
) -> float:
    """The per-CO table at the top of ``ax``, its text fitted to its cells; returns the table's
    lowest point (figure fraction), where the notes start."""
    ax.set_axis_off()
    figure = ax.get_figure()
    assert isinstance(figure, Figure)
    rows = organiser_rows(areas, info.load_column)
    if not rows:
        return float(ax.get_position().y1)
    head, widths = list(_TABLE_HEAD), [0.1, 0.3, 0.07, 0.2, 0.15, 0.1]
    if not any(r[1] for r in rows):  # no CO has a name: no empty column
        rows = [[r[0], *r[2:]] for r in rows]
        del head[1], widths[1]
    table = ax.table(
        cellText=[["", *r] for r in rows],
        colLabels=["", *head],
        colWidths=[0.04, *widths],
        loc="upper center",
        cellLoc="right",
    )
    size = 8.5 if len(rows) <= 30 else max(5.0, 8.5 * 30 / len(rows))
    table.scale(1, 1.4)
    for (r, c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if c in (1, 2) and head[c - 1] in ("CO", "name"):
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(weight="bold")
        elif c == 0:
            cell.set_facecolor(colours.get(rows[r - 1][0], "#ffffff"))
    fit_table(table, figure, size=size, min_size=5.0)
    _fit_height(table, ax, figure)
    ax.set_title(
        "Poor households per CO (deviation from the mean; mean km from the CO's home)",
        size=9,
        loc="left",
    )
    return float(extent(table, figure).y0)


def _fit_height(table: Table, ax: Axes, figure: Figure) -> None:
    """Squeeze the table's rows when it is taller than its axes."""
    room = ax.get_position().height
    height = extent(table, figure).height
    if height > room:
        table.scale(1, room / height)


def _notes(figure: Figure, info: SheetInfo, *, x: float, y: float, width: float) -> None:
    lines = [f"{k}: {v}" for k, v in info.parameters.items()]
    lines.append(
        "Map: CO areas (thick outline, CO id in a white box), ward boundaries with ward numbers, "
        "○ CO home."
    )
    fitted_text(figure, x, y, lines, width=width, size=8.5, va="top", ha="left", linespacing=1.5)
