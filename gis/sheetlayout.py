"""Text on the sheets that stays inside the printable margins, at any length, and labels that
leave ward numbers, homes and each other readable.

Every measure is the text's own extent as matplotlib lays it out (the same shaping and font as in
the PDF), through an Agg renderer of the figure: a line too wide is wrapped at spaces, a word too
wide for its line shrinks the text (down to a floor) and is then broken; a table cell shrinks the
whole table's text, then ends in "…" (the full string is in the CSV and the GIS files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.table import Table
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.geometry import Point

#: Printable margin on every edge (most office printers need 5 mm; 12 mm leaves room to spare).
MARGIN_MM = 12.0
ELLIPSIS = "…"


def margins(figure: Figure) -> tuple[float, float]:
    """The margin as figure fractions: (horizontal, vertical)."""
    width, height = figure.get_size_inches()
    inch = MARGIN_MM / 25.4
    return inch / width, inch / height


def renderer(figure: Figure) -> RendererBase:
    """A renderer to measure the figure's text with (Agg: the same layout as the PDF's)."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    found: RendererBase = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return found


def _width(text: Text, figure: Figure, render: RendererBase) -> float:
    """The text's width as a fraction of the figure's."""
    return float(text.get_window_extent(render).width / figure.bbox.width)


def _wrap_line(text: Text, line: str, width: float, figure: Figure, r: RendererBase) -> list[str]:
    """``line`` broken at spaces into lines no wider than ``width`` (a word wider than that alone
    is broken between characters)."""
    text.set_text(line)
    if _width(text, figure, r) <= width:
        return [line]
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        trial = f"{current} {word}" if current else word
        text.set_text(trial)
        if _width(text, figure, r) <= width:
            current = trial
            continue
        if current:
            out.append(current)
        current = word
        text.set_text(current)
        while _width(text, figure, r) > width and len(current) > 1:
            cut = len(current) - 1
            text.set_text(current[:cut])
            while cut > 1 and _width(text, figure, r) > width:
                cut -= 1
                text.set_text(current[:cut])
            out.append(current[:cut])
            current = current[cut:]
            text.set_text(current)
    out.append(current)
    return out


def fitted_text(
    figure: Figure,
    x: float,
    y: float,
    lines: Sequence[str],
    *,
    width: float,
    size: float,
    min_size: float | None = None,
    **kwargs: object,
) -> Text:
    """``lines`` drawn at (x, y) (figure fractions), no line wider than ``width``: shrunk towards
    ``min_size`` (default: 70 % of ``size``) while its longest word does not fit, then wrapped."""
    floor = size * 0.7 if min_size is None else min_size
    text = figure.text(x, y, "", size=size, **kwargs)  # type: ignore[arg-type]
    r = renderer(figure)
    longest = max((w for line in lines for w in line.split(" ")), key=len, default="")
    text.set_text(longest)
    too_wide = _width(text, figure, r) / width if longest else 0.0
    if too_wide > 1:
        text.set_fontsize(max(floor, size / too_wide))
    wrapped = [part for line in lines for part in _wrap_line(text, line, width, figure, r)]
    text.set_text("\n".join(wrapped))
    return text


def extent(artist: Text | Axes | Table, figure: Figure) -> Bbox:
    """An artist's extent in figure fractions."""
    box = artist.get_window_extent(renderer(figure))
    return Bbox(box.get_points() / [figure.bbox.width, figure.bbox.height])


def fit_table(table: Table, figure: Figure, *, size: float, min_size: float) -> float:
    """Shrink the table's text until every cell's text fits its cell (not below ``min_size``),
    then end a still too long cell in "…". Returns the font size used."""
    r = renderer(figure)
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    cells = table.get_celld().values()
    ratio = 1.0
    for cell in cells:
        room = cell.get_window_extent(r).width * 0.92
        need = cell.get_text().get_window_extent(r).width
        if need > room > 0:
            ratio = min(ratio, room / need)
    used = max(min_size, size * ratio)
    table.set_fontsize(used)
    for cell in cells:
        room = cell.get_window_extent(r).width * 0.92
        text = cell.get_text()
        full = text.get_text()
        keep = len(full)
        while keep > 0 and text.get_window_extent(r).width > room:
            keep -= 1
            text.set_text(full[:keep].rstrip() + ELLIPSIS)
    return used


@dataclass
class Placer:
    """Boxes already taken on a map (display coordinates); labels go where they overlap none."""

    ax: Axes
    taken: list[Bbox]

    def reserve_points(self, points: Sequence[Point], radius_pt: float) -> None:
        """Keep a square of ``radius_pt`` points around each point (map coordinates) free."""
        r = radius_pt * self.ax.figure.dpi / 72
        for p in points:
            x, y = self.ax.transData.transform((p.x, p.y))
            self.taken.append(Bbox([[x - r, y - r], [x + r, y + r]]))

    def place(self, text: Text, candidates: Sequence[Point], *, pad_pt: float = 0.5) -> bool:
        """Move ``text`` to the first candidate spot (map coordinates), or a small shift of it,
        where its box overlaps nothing taken; it stays at the first spot when none is free.
        Returns whether a free spot was found; the box is taken either way."""
        r = renderer(self.ax.figure)  # type: ignore[arg-type]
        pad = pad_pt * self.ax.figure.dpi / 72
        for spot in candidates or [Point(*text.get_position())]:
            text.set_position((spot.x, spot.y))
            box = text.get_window_extent(r).padded(pad)
            for dx, dy in (
                (0, 0),
                (0, box.height),
                (0, -box.height),
                (box.width, 0),
                (-box.width, 0),
            ):
                moved = box.translated(dx, dy)
                if not any(moved.overlaps(t) for t in self.taken):
                    sx, sy = self.ax.transData.transform((spot.x, spot.y))
                    x, y = self.ax.transData.inverted().transform((sx + dx, sy + dy))
                    text.set_position((x, y))
                    self.taken.append(moved)
                    return True
        first = candidates[0] if candidates else Point(*text.get_position())
        text.set_position((first.x, first.y))
        self.taken.append(text.get_window_extent(r).padded(pad))
        return False
