"""The ward-wise work allocation order ("वार्डवार कार्य आवंटन", the mission letter's deliverable):
the office order a City Mission Management Unit issues for a plan — city, date, plan version and
approval; one row per Community Organiser (CO) with the wards and their names, poor households,
contact point and home ward; the city map; space for the signature. Headings in English and Hindi.

Written as a PDF (A4 portrait, the sheets' fonts: Devanagari shaped by matplotlib with libraqm,
text kept searchable by ``gis.pdftext``) and as an XLSX workbook of the same table (openpyxl).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import matplotlib as mpl
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gis import hindi
from gis.crs import metric_crs
from gis.maps import area_colours
from gis.pdftext import actual_text
from gis.portfolios import COMPONENTS
from gis.sheets import LATIN_FONT, devanagari_font

#: The table's columns: English / Hindi headings.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("S. No.", "क्रम"),
    ("Community Organiser (CO)", hindi.CO),
    ("Wards allocated", f"आवंटित {hindi.WARDS}"),
    ("Poor households", hindi.POOR_HOUSEHOLDS),
    ("Contact point", hindi.CONTACT),
    ("Home ward", hindi.HOME_WARD),
)
#: The XLSX's last column, the CO's own phone and e-mail (in the PDF, under the CO's name).
XLSX_CO_CONTACT = ("CO's phone, e-mail", hindi.CO_PHONE_EMAIL)
TITLE = "Ward-wise work allocation order"
#: Lines of table text per PDF page (a row takes as many lines as its wards need).
LINES_PER_PAGE = 44
WARDS_WIDTH = 48  # characters per line of the wards cell
A4_PORTRAIT = (210 / 25.4, 297 / 25.4)
LINE = 0.0135  # height of a line of 7 pt table text, as a fraction of the A4 page


@dataclass(frozen=True)
class OrderRow:
    organiser_id: str
    name: str
    wards: tuple[str, ...]  # "12 Aliganj", in the plan's order
    poor_households: float
    contact: str
    home_ward: str
    #: The CO's own phone and e-mail ("+91 …, name@…"), when the roster stores them.
    co_contact: str | None = None

    @property
    def co(self) -> str:
        return f"{self.name} ({self.organiser_id})"


@dataclass(frozen=True)
class OrderInfo:
    city: str
    plan: str  # e.g. "plan 12, version 3 (edited from version 2)"
    approval: str  # "APPROVED on … by …" or "DRAFT — not approved"
    approved: bool
    order_date: date = field(default_factory=date.today)
    issued_by: str = "City Mission Management Unit"
    #: Each CMM's components (positions in ``gis.portfolios.COMPONENTS``); empty: no table.
    portfolios: tuple[tuple[int, ...], ...] = ()
    #: Each CMM's name and contact ("name (id)\ncontact"), beside ``portfolios``; missing: blank.
    cmms: tuple[str, ...] = ()

    def cmm(self, k: int) -> str | None:
        """The ``k``-th (from 0) CMM's name and contact, when the city stored them."""
        return self.cmms[k] if k < len(self.cmms) else None


def order_rows(
    wards: gpd.GeoDataFrame,
    names: Mapping[str, str | None],
    contacts: Mapping[str, str],
    home_wards: Mapping[str, str | None],
    organiser_names: Mapping[str, str],
    co_contacts: Mapping[str, str | None] | None = None,
) -> list[OrderRow]:
    """One row per CO from a plan's wards (``ward_id``, ``organiser_id``, ``poor_households_est``);
    ``co_contacts``: each CO's own phone and e-mail, where known."""
    rows = []
    for oid in sorted(organiser_names, key=_natural):
        mine = wards[wards["organiser_id"].astype(str) == oid]
        ids = sorted((str(w) for w in mine["ward_id"]), key=_natural)
        rows.append(
            OrderRow(
                organiser_id=oid,
                name=organiser_names[oid],
                wards=tuple(f"{w} {names[w]}" if names.get(w) else w for w in ids),
                poor_households=float(mine["poor_households_est"].sum()),
                contact=contacts.get(oid) or "—",
                home_ward=home_wards.get(oid) or "—",
                co_contact=(co_contacts or {}).get(oid),
            )
        )
    return rows


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def _cells(number: int, row: OrderRow) -> list[str]:
    wards = textwrap.fill(", ".join(row.wards), WARDS_WIDTH) if row.wards else "—"
    return [
        str(number),
        "\n".join(textwrap.fill(t, 22) for t in (row.co, row.co_contact) if t),
        wards,
        f"{row.poor_households:,.0f}",
        textwrap.fill(row.contact, 16),
        row.home_ward,
    ]


def _pages(rows: Sequence[OrderRow], first: int) -> list[list[tuple[int, list[str]]]]:
    """Rows in pages of at most LINES_PER_PAGE lines (``first`` lines on the first page)."""
    pages: list[list[tuple[int, list[str]]]] = [[]]
    used = LINES_PER_PAGE - first
    for k, row in enumerate(rows, start=1):
        cells = _cells(k, row)
        lines = max(c.count("\n") + 1 for c in cells)
        if pages[-1] and used + lines > LINES_PER_PAGE:
            pages.append([])
            used = 0
        pages[-1].append((lines, cells))
        used += lines
    return pages


def _heading(figure: Figure, info: OrderInfo, number: int, of: int) -> None:
    figure.text(0.06, 0.955, f"{info.city}: {TITLE}", size=14, weight="bold")
    figure.text(0.06, 0.93, f"{info.city}: {hindi.ORDER_TITLE}", size=12)
    colour = "#1b7837" if info.approved else "#b2182b"
    figure.text(0.94, 0.955, info.approval, size=9, ha="right", color=colour, weight="bold")
    figure.text(
        0.06,
        0.905,
        f"Date / {hindi.DATE}: {info.order_date.isoformat()}   ·   "
        f"{info.plan} / {hindi.VERSION}   ·   page {number}/{of}",
        size=8,
    )


def _portfolio_cells(info: OrderInfo) -> list[list[str]]:
    rows = []
    for k, components in enumerate(info.portfolios, start=1):
        names = [textwrap.fill(f"{COMPONENTS[c][0]} / {COMPONENTS[c][1]}", 72) for c in components]
        text = "\n".join(names) if names else "as the CMMU assigns / सी०एम०एम०यू० द्वारा निर्धारित"
        person = info.cmm(k - 1)
        shown = (
            "\n".join(textwrap.fill(p, 28) for p in person.split("\n"))
            if person
            else "Name / नाम:\n\n______________"
        )
        rows.append([f"CMM {k}", shown, text])
    return rows


def _portfolio_table(figure: Figure, info: OrderInfo) -> float:
    """The CMMs' portfolios at the top of the first page; returns the figure height it takes."""
    cells = _portfolio_cells(info)
    lines = [max(c.count("\n") + 1 for c in row) for row in cells]
    height = (sum(n + 0.6 for n in lines) + 2.6 + 1) * LINE
    line = LINE / (height - 0.01)  # in the axes' units
    figure.text(0.06, 0.885, f"City Mission Managers' portfolios / {hindi.CMM} के दायित्व", size=9)
    ax = figure.add_axes((0.06, 0.875 - height, 0.88, height - 0.01))
    ax.axis("off")
    header = [
        f"CMM\n{hindi.CMM}",
        f"Name\n{hindi.NAME}",
        "Components (DAY-NULM)\nघटक",
    ]
    table = ax.table(
        cellText=cells,
        colLabels=header,
        colWidths=[0.2, 0.2, 0.6],
        loc="upper center",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (row, _col), cell in table.get_celld().items():
        cell.set_height((2.6 if row == 0 else lines[row - 1] + 0.6) * line)
        if row == 0:
            cell.set_facecolor("#e8e8e8")
    return height + 0.02


def _table_page(figure: Figure, page: list[tuple[int, list[str]]], top: float = 0.89) -> None:
    ax = figure.add_axes((0.06, 0.16, 0.88, top - 0.16))
    ax.axis("off")
    header = [f"{textwrap.fill(en, 13)}\n{hi}" for en, hi in COLUMNS]
    table = ax.table(
        cellText=[cells for _, cells in page],
        colLabels=header,
        colWidths=[0.05, 0.19, 0.42, 0.1, 0.14, 0.1],
        loc="upper center",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    line = LINE / (top - 0.16)  # in the axes' units
    for (row, _col), cell in table.get_celld().items():
        if row == 0:
            cell.set_height(3.4 * line)
            cell.set_facecolor("#e8e8e8")
        else:
            cell.set_height((page[row - 1][0] + 0.6) * line)


def _signature(figure: Figure, info: OrderInfo) -> None:
    figure.text(
        0.06,
        0.1,
        "Each CO works in the wards above from the date of this order. / "
        f"प्रत्येक {hindi.CO} इस आदेश की तिथि से उपरोक्त {hindi.WARDS} में कार्य करेंगे।",
        size=7.5,
    )
    figure.text(0.62, 0.06, f"Signature / {hindi.SIGNATURE}: ____________________", size=9)
    figure.text(0.62, 0.04, f"{info.issued_by}, {info.city}", size=8)


def _map_page(figure: Figure, areas: gpd.GeoDataFrame) -> None:
    crs = metric_crs(areas)
    frame = areas.to_crs(crs)
    colours = area_colours(areas)
    ax = figure.add_axes((0.06, 0.12, 0.88, 0.76))
    ax.set_axis_off()
    frame.plot(ax=ax, color=[colours[str(o)] for o in frame["organiser_id"]], edgecolor="#333333")
    for oid, point in zip(frame["organiser_id"], frame.representative_point(), strict=True):
        ax.annotate(str(oid), (point.x, point.y), ha="center", size=8, weight="bold")
    figure.text(0.06, 0.9, f"Map of the COs' areas / {hindi.MAP_LEGEND}", size=11)


def allocation_order_pdf(
    info: OrderInfo, rows: Sequence[OrderRow], areas: gpd.GeoDataFrame | None = None
) -> bytes:
    """The order as an A4 portrait PDF: the table (paged), the signature, then the city map."""
    portfolio_lines = sum(max(c.count("\n") + 1 for c in r) + 0.6 for r in _portfolio_cells(info))
    first = LINES_PER_PAGE - int(portfolio_lines + 7) if info.portfolios else LINES_PER_PAGE
    pages = _pages(rows, first)
    total = len(pages) + (1 if areas is not None and not areas.empty else 0)
    buffer = io.BytesIO()
    style = mpl.rc_context(
        {
            "font.family": [LATIN_FONT, devanagari_font()],
            "pdf.fonttype": 42,
            "axes.unicode_minus": False,
        }
    )
    metadata = {"Title": f"{TITLE} — {info.city}", "Creator": "Wardplan"}
    with style, actual_text(), PdfPages(buffer, metadata=metadata) as pdf:
        for number, page in enumerate(pages, start=1):
            figure = Figure(figsize=A4_PORTRAIT)
            _heading(figure, info, number, total)
            top = 0.89
            if number == 1 and info.portfolios:
                top -= _portfolio_table(figure, info)
            _table_page(figure, page, top)
            if number == len(pages):
                _signature(figure, info)
            pdf.savefig(figure)
        if total > len(pages) and areas is not None:
            figure = Figure(figsize=A4_PORTRAIT)
            _heading(figure, info, total, total)
            _map_page(figure, areas)
            pdf.savefig(figure)
    return buffer.getvalue()


def allocation_order_xlsx(info: OrderInfo, rows: Sequence[OrderRow]) -> bytes:
    """The same order as an XLSX workbook: the heading lines, then one row per CO (wards as one
    cell, comma-separated), with English and Hindi headings."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Allocation order"
    sheet.append([f"{info.city}: {TITLE}"])
    sheet.append([f"{info.city}: {hindi.ORDER_TITLE}"])
    sheet.append([f"Date / {hindi.DATE}", info.order_date.isoformat()])
    sheet.append([f"Plan / {hindi.VERSION}", info.plan])
    sheet.append(["Approval", info.approval])
    sheet.append([])
    for k, components in enumerate(info.portfolios, start=1):
        names = "; ".join(f"{COMPONENTS[c][0]} / {COMPONENTS[c][1]}" for c in components)
        person = info.cmm(k - 1)
        contact = person.split("\n") if person else []
        sheet.append([f"CMM {k}", f"{hindi.CMM} {k}", names or "as the CMMU assigns", *contact])
    if info.portfolios:
        sheet.append([])
    head = sheet.max_row + 1
    sheet.append([*(en for en, _ in COLUMNS), XLSX_CO_CONTACT[0]])
    sheet.append([*(hi for _, hi in COLUMNS), XLSX_CO_CONTACT[1]])
    for k, row in enumerate(rows, start=1):
        sheet.append(
            [
                k,
                row.co,
                ", ".join(row.wards),
                round(row.poor_households),
                row.contact,
                row.home_ward,
                row.co_contact,
            ]
        )
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in (*sheet[head], *sheet[head + 1]):
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (7, 28, 70, 14, 24, 12, 36), strict=True):
        sheet.column_dimensions[letter].width = width
    for line in sheet.iter_rows(min_row=head + 2, min_col=3, max_col=3):
        line[0].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
