"""Where a polygon's label may go: a few well-inside points, best first.

A label belongs where the polygon is widest (its pole of inaccessibility: the centre of the largest
circle inside it), not at the centroid or an arbitrary interior point, so that it is crossed by as
few boundaries as possible. When that spot is taken (a CO's home marker, another label), the next
candidates are the widest spots of the polygon's four quarters around it. The web map
(``static/wardplan/map.js``) and the sheets (``gis.sheets``) try the candidates in order and keep the
first whose box overlaps no marker and no label already placed.

Work in a metric CRS: distances and tolerances are in metres.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import polylabel

#: Quarters smaller than this share of the polygon give no candidate (a label there would be
#: crossed by boundaries anyway).
MIN_QUARTER_SHARE = 0.08


def _largest_part(geom: shapely.Geometry) -> Polygon | None:
    parts = [p for p in getattr(geom, "geoms", [geom]) if isinstance(p, Polygon) and not p.is_empty]
    return max(parts, key=lambda p: p.area) if parts else None


def widest_point(polygon: Polygon) -> tuple[Point, float]:
    """The centre of the largest circle inside ``polygon`` and that circle's radius (metres)."""
    tolerance = max(polygon.length / 2000, 0.5)
    centre = polylabel(polygon, tolerance=tolerance)
    return centre, float(polygon.boundary.distance(centre))


def label_candidates(geom: shapely.Geometry | None, count: int = 5) -> list[Point]:
    """Up to ``count`` points inside ``geom`` for its label, the widest spot first."""
    polygon = _largest_part(geom) if geom is not None else None
    if polygon is None:
        return []
    best, _ = widest_point(polygon)
    found: list[tuple[float, Point]] = []
    minx, miny, maxx, maxy = polygon.bounds
    quarters = (
        box(minx, best.y, best.x, maxy),
        box(best.x, best.y, maxx, maxy),
        box(minx, miny, best.x, best.y),
        box(best.x, miny, maxx, best.y),
    )
    for quarter in quarters:
        part = _largest_part(polygon.intersection(quarter))
        if part is None or part.area < MIN_QUARTER_SHARE * polygon.area:
            continue
        point, radius = widest_point(part)
        found.append((radius, point))
    found.sort(key=lambda item: -item[0])
    return [best, *[p for _, p in found]][:count]


def candidates_of(geoms: Sequence[shapely.Geometry | None], count: int = 5) -> list[list[Point]]:
    """``label_candidates`` of each geometry."""
    return [label_candidates(g, count) for g in geoms]
