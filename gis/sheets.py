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

import csv
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
from pyproj import CRS
from shapely.geometry import Point

from gis import hindi
from gis.crs import metric_crs
from gis.errors import InputError, Issue
from gis.maps import DATA_CREDITS, area_colours
from gis.pdftext import actual_text

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
    credits: str = DATA_CREDITS
    load_column: str = "poor_households_est"

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
    _header(figure, f"{info.city}: Community Organisers' areas", HINDI_CITY_TITLE, info)
    ax = figure.add_axes((0.02, 0.07, 0.56, 0.80))
    _draw_areas(ax, wards, area_frame, colours)
    _ward_numbers(ax, wards, size=5.5 if len(wards) > 80 else 7)
    _area_labels(ax, area_frame)
    _homes(ax, area_frame, crs)
    _scale_bar(ax)
    _north_arrow(ax)
    table = figure.add_axes((0.60, 0.22, 0.39, 0.62))
    _organiser_table(table, area_frame, colours, info)
    notes = figure.add_axes((0.60, 0.07, 0.39, 0.14))
    _notes(notes, info)
    _footer(figure, info)
    return figure


def _header(figure: Figure, title: str, hindi: str, info: SheetInfo, *, size: float = 18) -> None:
    figure.text(0.02, 0.955, title, size=size, weight="bold", va="center")
    figure.text(0.02, 0.915, hindi, size=size * 0.72, va="center")
    approved = info.approved_on is not None
    figure.text(
        0.98,
        0.915,
        info.approval,
        size=size * 0.7,
        weight="bold",
        ha="right",
        va="center",
        color="#1b7837" if approved else "#b2182b",
        bbox={
            "boxstyle": "round,pad=0.4",
            "fc": "white",
            "ec": "#1b7837" if approved else "#b2182b",
        },
    )
    figure.text(0.98, 0.885, f"printed {info.printed_on.isoformat()}", size=9, ha="right", va="top")


def _footer(figure: Figure, info: SheetInfo) -> None:
    figure.text(0.02, 0.025, f"Data: {info.credits}", size=7.5, color="#444444")
    figure.text(0.98, 0.025, "Wardplan", size=7.5, color="#444444", ha="right")


def _draw_areas(
    ax: Axes, wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, colours: Mapping[str, str]
) -> None:
    filled = [colours.get(str(o), "#ffffff") for o in areas["organiser_id"]]
    areas.plot(ax=ax, color=filled, edgecolor="none")
    wards.boundary.plot(ax=ax, color="#666666", linewidth=0.35)
    areas.boundary.plot(ax=ax, color="#222222", linewidth=1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _ward_numbers(ax: Axes, wards: gpd.GeoDataFrame, *, size: float) -> None:
    for ward_id, point in zip(wards["ward_id"], wards.geometry.representative_point(), strict=True):
        ax.text(
            point.x, point.y, str(ward_id), size=size, ha="center", va="center", color="#222222"
        )


def _area_labels(ax: Axes, areas: gpd.GeoDataFrame) -> None:
    for oid, geom in zip(areas["organiser_id"], areas.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        point = geom.representative_point()
        ax.text(
            point.x,
            point.y,
            str(oid),
            size=9,
            weight="bold",
            ha="center",
            va="bottom",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )


def _homes(ax: Axes, areas: gpd.GeoDataFrame, crs: CRS) -> None:
    if not {"home_lon", "home_lat"} <= set(areas.columns):
        return
    known = areas.dropna(subset=["home_lon", "home_lat"])
    if known.empty:
        return
    points = gpd.GeoSeries(
        gpd.points_from_xy(known["home_lon"], known["home_lat"]), crs="EPSG:4326"
    ).to_crs(crs)
    ax.scatter(points.x, points.y, s=22, marker="o", c="white", edgecolors="black", zorder=5)


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
) -> None:
    ax.set_axis_off()
    rows = organiser_rows(areas, info.load_column)
    if not rows:
        return
    table = ax.table(
        cellText=[["", *r] for r in rows],
        colLabels=["", *_TABLE_HEAD],
        colWidths=[0.04, 0.1, 0.3, 0.07, 0.2, 0.15, 0.1],
        loc="upper center",
        cellLoc="right",
    )
    table.auto_set_font_size(False)
    size = 8.5 if len(rows) <= 30 else max(4.5, 8.5 * 30 / len(rows))
    table.set_fontsize(size)
    scale = min(1.4, 0.95 * 1.0 / ((len(rows) + 1) * 0.035))
    table.scale(1, scale)
    for (r, c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if c in (1, 2):
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(weight="bold")
        elif c == 0:
            cell.set_facecolor(colours.get(rows[r - 1][0], "#ffffff"))
    ax.set_title(
        "Poor households per CO (deviation from the mean; mean km from the CO's home)",
        size=9,
        loc="left",
    )


def _notes(ax: Axes, info: SheetInfo) -> None:
    ax.set_axis_off()
    lines = [f"{k}: {v}" for k, v in info.parameters.items()]
    lines.append(
        "Map: CO areas (thick outline, CO id), ward boundaries with ward numbers, ○ CO home."
    )
    ax.text(0, 1, "\n".join(lines), size=8.5, va="top", ha="left", linespacing=1.5)


# -- the CO sheets ---------------------------------------------------------------------------------


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
    with _LOCK, _style():
        colours = area_colours(areas)
        figures = [
            _organiser_figure(plan_wards, areas, oid, colours, contacts.get(oid, "—"), info)
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
    _header(figure, f"{info.city} — {label}", HINDI_CO_TITLE, info, size=14)
    ax = figure.add_axes((0.05, 0.50, 0.90, 0.38))
    all_wards.plot(ax=ax, color="#eeeeee", edgecolor="#bbbbbb", linewidth=0.3)
    mine.plot(ax=ax, color=colours.get(organiser_id, "#8dd3c7"), edgecolor="#555555", linewidth=0.5)
    area.boundary.plot(ax=ax, color="#222222", linewidth=1.5)
    _ward_numbers(ax, mine, size=7)
    _homes(ax, area, crs)
    minx, miny, maxx, maxy = area.total_bounds
    pad = 0.15 * max(maxx - minx, maxy - miny, 500.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax)
    _north_arrow(ax)
    deviation = _deviations(area_frame, info.load_column)[
        [str(o) for o in area_frame["organiser_id"]].index(organiser_id)
    ]
    facts = [
        f"Wards: {len(mine)}",
        f"Population: {_fmt(mine['population'].sum() if 'population' in mine else None, ',.0f')}",
        f"Poor households (estimate): {_fmt(_cell(row, info.load_column), ',.0f')}",
        f"Deviation from the mean: {_fmt(deviation, '+.1f', ' %')}",
        f"Mean distance from home: {_fmt(_cell(row, 'mean_km_from_home'), '.1f', ' km')}",
        f"Contact point (community centre): {contact}",
    ]
    figure.text(0.05, 0.475, "\n".join(facts), size=9.5, va="top", linespacing=1.6)
    params = [f"{k}: {v}" for k, v in info.parameters.items()]
    figure.text(0.55, 0.475, "\n".join(params), size=8, va="top", linespacing=1.6)
    table_ax = figure.add_axes((0.05, 0.06, 0.90, 0.27))
    _ward_table(table_ax, ward_rows(mine, info.load_column))
    _footer(figure, info)
    return figure


def _ward_table(ax: Axes, rows: list[list[str]]) -> None:
    ax.set_axis_off()
    if not rows:
        return
    table = ax.table(
        cellText=rows,
        colLabels=["ward", "name", "नाम", "population", "poor households"],
        colWidths=[0.08, 0.3, 0.28, 0.14, 0.2],
        loc="upper center",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8.5 if len(rows) <= 18 else max(4.0, 8.5 * 18 / len(rows)))
    table.scale(1, min(1.3, 1.0 / ((len(rows) + 1) * 0.045)))
    for (r, c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")
        if c >= 3:
            cell.set_text_props(ha="right")


# -- the optional inputs of the sheets -------------------------------------------------------------

WARD_NAME_COLUMNS = ("ward_id", "name_en", "name_hi")
CENTRE_COLUMNS = ("name", "lat", "lon")


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV (a BOM is allowed) with the ``required`` columns, or ``InputError``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name} is not UTF-8 text",
            [Issue("bad-encoding", f"byte {exc.start} is not UTF-8", file=path.name)],
            code="bad-encoding",
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path.name} lacks column(s) {', '.join(missing)}",
            [
                Issue(
                    "missing-column",
                    f"needs columns {', '.join(required)}; it has {', '.join(header) or 'none'}",
                    file=path.name,
                    field=c,
                )
                for c in missing
            ],
            code="missing-column",
        )
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]


def read_ward_names(path: Path, ward_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Bilingual ward names from a CSV ``ward_id,name_en,name_hi`` (as municipal templates carry
    them), indexed by ``ward_id``. A ward missing from the file keeps its layer name; a ward named
    twice is refused, and so is a row for a ward not in ``ward_ids`` (when given)."""
    rows = _read_csv(path, WARD_NAME_COLUMNS)
    known = None if ward_ids is None else set(ward_ids)
    issues: list[Issue] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        ward = row["ward_id"]
        problem = (
            ("duplicate-id", "ward named twice")
            if ward in seen
            else ("unknown-ward", "no such ward in the layer")
            if known is not None and ward not in known
            else None
        )
        if problem is not None:
            code, message = problem
            issues.append(
                Issue(code, f"line {line}: {message}", path.name, None, ward, "ward_id", ward)
            )
        seen.add(ward)
    if issues:
        raise InputError(f"{path.name}: {len(issues)} bad ward name row(s)", issues)
    records = [{k: row[k] or None for k in WARD_NAME_COLUMNS} for row in rows]
    return pd.DataFrame(records, columns=list(WARD_NAME_COLUMNS), dtype=object).set_index("ward_id")


def read_centres(path: Path) -> gpd.GeoDataFrame:
    """Community centres (the letter's contact points) from a CSV ``name,lat,lon`` (WGS 84)."""
    rows = _read_csv(path, CENTRE_COLUMNS)
    issues: list[Issue] = []
    points = []
    for line, row in enumerate(rows, start=2):
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except ValueError:
            issues.append(
                Issue(
                    "bad-number",
                    f"line {line}: lat/lon must be numbers, got {row['lat']!r}, {row['lon']!r}",
                    path.name,
                    field="lat/lon",
                    value=f"{row['lat']},{row['lon']}",
                )
            )
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            issues.append(
                Issue(
                    "out-of-range",
                    f"line {line}: {row['lat']}, {row['lon']} is not a WGS 84 position",
                    path.name,
                    field="lat/lon",
                    value=f"{row['lat']},{row['lon']}",
                )
            )
            continue
        points.append({"name": row["name"], "geometry": Point(lon, lat)})
    if issues:
        raise InputError(f"{path.name}: {len(issues)} bad community centre row(s)", issues)
    return gpd.GeoDataFrame(
        points, columns=["name", "geometry"], geometry="geometry", crs="EPSG:4326"
    )
