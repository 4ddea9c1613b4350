"""The balance–distance frontier drawn: a chart (PNG), a panel on the map page, a box on the sheet.

Input is the frontier's table as ``report.json`` stores it (:meth:`solver.frontier.Frontier.table`):
points tightest first, each with its tolerance, objective, bound and gap, plus the ``balanced`` and
``chosen`` labels. Each point is drawn at its plan's objective with a bar down to its proved
bound (the best any plan at that balance can do), so a gap is visible as a bar, never hidden.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
from branca.element import Figure as Page
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gis.maplabels import escape

FILE_NAME = "frontier.png"

Table = Mapping[str, Any]


def _points(table: Table) -> list[Mapping[str, Any]]:
    return [p for p in table.get("points", []) if p.get("objective") is not None]


def draw(ax: Axes, table: Table, *, small: bool = False) -> None:
    """The frontier on ``ax``: objective per balance, bound bars, the balanced and chosen points."""
    points = _points(table)
    xs = [100 * float(p["max_deviation"] or p["tolerance"]) for p in points]
    ys = [float(p["objective"]) for p in points]
    lows = [
        float(p["bound"]) if p.get("bound") is not None else y
        for p, y in zip(points, ys, strict=True)
    ]
    ax.plot(xs, ys, "-o", color="#1f4e79", markersize=4 if small else 6, zorder=3)
    ax.vlines(xs, lows, ys, color="#7f9fbf", linewidth=3, alpha=0.6, zorder=2)
    size = 7 if small else 9
    for p, x, y in zip(points, xs, ys, strict=True):
        mark = []
        if p["label"] == table.get("balanced"):
            ax.plot([x], [y], "o", markersize=12 if small else 16, mfc="none", mec="#c0392b")
            mark.append("balanced")
        if p["label"] == table.get("chosen"):
            mark.append("plan")
        gap = p.get("gap")
        text = p["label"] + (f", gap {100 * gap:.1f} %" if gap is not None else "")
        text += "".join(f"\n[{m}]" for m in mark)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=size)
    ax.set_xlabel("largest deviation from the mean load (±%)", fontsize=size)
    ax.set_ylabel("poor households × km from home", fontsize=size)
    ax.tick_params(labelsize=size - 1)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.grid(alpha=0.3)
    ax.margins(y=0.15)
    if xs:
        ax.set_xlim(min(xs) - 1.5, max(xs) + 4)


def chart_png(table: Table) -> bytes:
    """The chart as PNG bytes."""
    figure = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = figure.add_subplot()
    draw(ax, table)
    ax.set_title("What balance costs in distance (bars: proved bound)", fontsize=10)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def frontier_files(out_dir: Path, table: Table | None) -> list[Path]:
    """``frontier.png`` when there is a frontier with a plan (else nothing)."""
    if not table or not _points(table):
        return []
    path = out_dir / FILE_NAME
    path.write_bytes(chart_png(table))
    return [path]


def rows(table: Table) -> list[list[str]]:
    """The table's rows as text: balance, objective, bound, gap, status. The balance names the
    point and its largest deviation, marked ``(balanced)`` and ``(plan)`` (the chosen point)."""

    def num(v: object) -> str:
        return "—" if v is None else f"{float(v):,.0f}"  # type: ignore[arg-type]

    out = []
    for p in table.get("points", []):
        gap = p.get("gap")
        mark = " (balanced)" if p["label"] == table.get("balanced") else ""
        mark += " (plan)" if p["label"] == table.get("chosen") else ""
        dev = p.get("max_deviation")
        balance = p["label"] + ("" if dev is None else f" (±{100 * dev:.2f} %)")
        balance += tightest_proof(p)
        out.append(
            [
                balance + mark,
                num(p.get("objective")),
                num(p.get("bound")),
                "—" if gap is None else f"{100 * gap:.2f} %",
                str(p["status"]),
            ]
        )
    return out


def tightest_proof(point: Mapping[str, Any]) -> str:
    """For the ``tightest`` point with a plan: whether its balance is proved the tightest possible.
    The search for it shares the time with the other points, so it may stop at a balance some
    plan beats; the distance at that balance is proved (or not) separately, by its gap."""
    if point.get("label") != "tightest" or point.get("objective") is None:
        return ""
    floor = point.get("balance_floor")
    if floor is None:
        return ", not proved the tightest"
    return f", none below ±{100 * float(floor):.2f} % (proved)"


def panel_html(table: Table) -> str:
    """The map page's panel: the chart and the table (every string escaped)."""
    img = base64.b64encode(chart_png(table)).decode("ascii") if _points(table) else ""
    head = "".join(f"<th>{h}</th>" for h in ("balance", "distance", "bound", "gap", "status"))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows(table)
    )
    chart = (
        f'<img alt="balance–distance frontier" src="data:image/png;base64,{img}" '
        'style="display:block;max-width:100%;height:auto">'
        if img
        else ""
    )
    # Above Leaflet's scale bar (bottom left, about 40 px), scrolled when taller than the window.
    return (
        '<details class="wp-frontier" style="position:fixed;bottom:48px;left:12px;z-index:1000;'
        "background:#fff;padding:6px;border:1px solid #999;max-width:460px;"
        'max-height:calc(100vh - 180px);overflow:auto;font:12px sans-serif">'
        "<summary>Balance and distance (frontier)</summary>"
        f'{chart}<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
        f"<p>{escape(str(table.get('rule', '')))}</p></details>"
    )


def add_frontier_chart(fmap: folium.Map, table: Table | None) -> None:
    """Add the frontier panel to a plan map (nothing without a frontier)."""
    if table:
        root = fmap.get_root()
        assert isinstance(root, Page)
        root.html.add_child(folium.Element(panel_html(table)))


def frontier_line(table: Table | None) -> str:
    """The frontier in one line for the printed sheets ("" without one): each point's largest
    deviation and objective (household-km), the balanced one marked, the tightest one's proof."""
    parts = []
    for p in (table or {}).get("points", []):
        if p.get("objective") is None:
            continue
        dev = p.get("max_deviation") or p["tolerance"]
        mark = " (balanced)" if p["label"] == (table or {}).get("balanced") else ""
        gap = p.get("gap")
        proved = "" if gap is None else f", gap {100 * gap:.1f} %"
        proof = tightest_proof(p)
        mark += f" [{proof.removeprefix(', ')}]" if proof else ""
        parts.append(f"±{100 * dev:.1f} %: {float(p['objective']):,.0f}{proved}{mark}")
    return " · ".join(parts) + (" household-km" if parts else "")
