"""The printable state summary (PDF, English and Hindi): the shortfall report a city sends upward,
rolled up by district and state — one table per page, in the sheets' fonts (``gis.sheets``)."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib as mpl
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gis import hindi
from gis.sheets import devanagari_font

#: Column headings, English / Hindi.
HEADINGS: tuple[tuple[str, str], ...] = (
    ("City / District", "शहर / ज़िला"),
    ("Population", "जनसंख्या"),
    ("Poor HH 25 %", "गरीब परिवार 25 %"),
    ("Poor HH chosen", "गरीब परिवार (चुनी दर)"),
    ("Poor HH 30 %", "गरीब परिवार 30 %"),
    ("COs req. 25 %", "आवश्यक CO 25 %"),
    ("COs req. chosen", "आवश्यक CO"),
    ("COs req. 30 %", "आवश्यक CO 30 %"),
    ("COs in post", "कार्यरत CO"),
    ("Shortfall", "कमी"),
    ("Plan", "योजना"),
)
ROWS_PER_PAGE = 18
#: rcParams are global: one summary is drawn at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SummaryLine:
    """One line of the table: a city, or a district's or the state's total (``total``)."""

    cells: tuple[str, ...]  # as HEADINGS, already formatted
    total: bool = False


def state_summary_pdf(
    state: str, lines: Sequence[SummaryLine], *, printed_on: date | None = None
) -> bytes:
    """An A4 landscape PDF: title in English and Hindi, then the lines, ROWS_PER_PAGE a page."""
    printed = (printed_on or date.today()).isoformat()
    pages = [lines[k : k + ROWS_PER_PAGE] for k in range(0, max(len(lines), 1), ROWS_PER_PAGE)]
    buffer = io.BytesIO()
    fonts = ["DejaVu Sans", devanagari_font()]
    style = mpl.rc_context({"font.family": fonts, "pdf.fonttype": 42, "axes.unicode_minus": False})
    metadata = {"Title": f"Wardplan — {state}", "Creator": "Wardplan"}
    with _LOCK, style, PdfPages(buffer, metadata=metadata) as pdf:
        for number, page in enumerate(pages, start=1):
            figure = Figure(figsize=(11.69, 8.27))
            figure.text(0.03, 0.95, f"{state}: Community Organisers required and in post", size=15)
            figure.text(0.03, 0.91, f"{state}: आवश्यक और कार्यरत {hindi.CO} (CO)", size=12)
            figure.text(
                0.97, 0.95, f"printed {printed} · page {number}/{len(pages)}", size=8, ha="right"
            )
            _table(figure, page)
            figure.text(
                0.03,
                0.03,
                "Poor households (HH) at 25 % and 30 % of the population (DAY-NULM letter); "
                "one CO per 3,000 poor households. Shortfall: COs required at the chosen rate "
                "less COs in post.",
                size=7,
                color="#444444",
            )
            pdf.savefig(figure)
    return buffer.getvalue()


def _table(figure: Figure, page: Sequence[SummaryLine]) -> None:
    ax = figure.add_axes((0.03, 0.08, 0.94, 0.8))
    ax.axis("off")
    header = [f"{en}\n{hi}" for en, hi in HEADINGS]
    cells = [list(line.cells) for line in page] or [["—"] * len(HEADINGS)]
    table = ax.table(cellText=cells, colLabels=header, loc="upper center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.55)
    for (row, _col), cell in table.get_celld().items():
        if row == 0:
            cell.set_height(cell.get_height() * 1.6)
            cell.set_facecolor("#e8e8e8")
        elif page and page[row - 1].total:
            cell.set_facecolor("#f3f0e0")
            cell.set_text_props(weight="bold")
