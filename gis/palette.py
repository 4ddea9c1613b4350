"""Colours of CO areas: a palette whose every fill is distinct from the others and from the page.

The fills are drawn at ``FILL_OPACITY`` over the map's background (Leaflet's ``#dddddd`` grey
with no base tiles; white paper on the sheets), so what the reader sees is the blend. Distances
between colours are CIEDE2000 ΔE (about 2.3 is the just-noticeable difference; ≥ 10 reads as a
different colour at a glance). ``palette_problems`` states what fails, for the tests and for a
palette given by a caller.

A plan with more COs than colours reuses some, never between neighbours (``gis.maps.area_colours``),
and every area carries its CO's id on the map, so a legend row is never ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: 24 fills, none grey (a grey fill reads as "not assigned"). Chosen from an HSV grid (saturation
#: 0.3–0.68, value 0.7–1) by farthest-point selection in ΔE2000 among the colours that pass
#: ``palette_problems`` alone, so each prefix is as spread as it can be: a plan of k COs uses the
#: first k, at least ΔE 11 apart.
PALETTE = (
    "#4e9fd6",
    "#ffff52",
    "#ff5263",
    "#52ffdc",
    "#a749e6",
    "#e69749",
    "#ffb2f0",
    "#51b239",
    "#8f8fcc",
    "#b2a950",
    "#c9ffb2",
    "#b26895",
    "#50b2b2",
    "#b25e39",
    "#5263ff",
    "#ffa994",
    "#52ff52",
    "#ff52dc",
    "#7db288",
    "#ffcb52",
    "#b2827d",
    "#73f1ff",
    "#ff94a9",
    "#c985e6",
)

#: How the web map and the sheets draw a fill: its opacity and the backgrounds it lies on.
FILL_OPACITY = 0.75
MAP_BACKGROUND = "#dddddd"  # Leaflet's container, seen where there are no tiles
PAPER = "#ffffff"

#: Least ΔE2000 between a blended fill and a background, and between two blended fills.
MIN_BACKGROUND_DELTA_E = 20.0
MIN_PAIR_DELTA_E = 10.0
#: Least CIE L* of a blended fill: ward numbers (#222 with a white halo) stay readable on it.
MIN_LIGHTNESS = 55.0

RGB = tuple[float, float, float]
LAB = tuple[float, float, float]


def rgb(colour: str) -> RGB:
    """``#rrggbb`` as three floats in 0–1."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour {colour!r} is not #rrggbb")
    return (int(text[0:2], 16) / 255, int(text[2:4], 16) / 255, int(text[4:6], 16) / 255)


def blend(colour: str, background: str, opacity: float = FILL_OPACITY) -> RGB:
    """The colour seen when ``colour`` is painted at ``opacity`` over ``background``."""
    fg, bg = rgb(colour), rgb(background)
    return (
        opacity * fg[0] + (1 - opacity) * bg[0],
        opacity * fg[1] + (1 - opacity) * bg[1],
        opacity * fg[2] + (1 - opacity) * bg[2],
    )


def lab(colour: RGB) -> LAB:
    """sRGB (0–1, D65) to CIE L*a*b*."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x), f(y), f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def delta_e(first: LAB, second: LAB) -> float:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005)."""
    l1, a1, b1 = first
    l2, a2, b2 = second
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    dh = h2p - h1p
    if c1p * c2p == 0:
        dh = 0.0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    dhp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hbp - 30))
        + 0.24 * math.cos(math.radians(2 * hbp))
        + 0.32 * math.cos(math.radians(3 * hbp + 6))
        - 0.20 * math.cos(math.radians(4 * hbp - 63))
    )
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = (
        -2
        * math.sqrt(cbp**7 / (cbp**7 + 25.0**7))
        * math.sin(math.radians(60 * math.exp(-(((hbp - 275) / 25) ** 2))))
    )
    return math.sqrt(
        (dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh)
    )


def fill_difference(first: str, second: str, background: str = MAP_BACKGROUND) -> float:
    """ΔE2000 between two fills as drawn over ``background``."""
    return delta_e(lab(blend(first, background)), lab(blend(second, background)))


def background_difference(colour: str, background: str) -> float:
    """ΔE2000 between a fill as drawn over ``background`` and the background itself."""
    return delta_e(lab(blend(colour, background)), lab(rgb(background)))


def palette_problems(palette: Sequence[str] = PALETTE) -> list[str]:
    """Why ``palette`` is not fit for CO areas (empty: it is): a fill too close to the map's
    background or the paper, too dark for ward numbers, or too close to another fill."""
    problems = []
    for colour in palette:
        for background in (MAP_BACKGROUND, PAPER):
            diff = background_difference(colour, background)
            if diff < MIN_BACKGROUND_DELTA_E:
                problems.append(f"{colour} is ΔE {diff:.1f} from the background {background}")
        lightness = lab(blend(colour, MAP_BACKGROUND))[0]
        if lightness < MIN_LIGHTNESS:
            problems.append(f"{colour} is too dark for ward numbers (L* {lightness:.0f})")
    for i, first in enumerate(palette):
        for second in palette[i + 1 :]:
            diff = fill_difference(first, second)
            if diff < MIN_PAIR_DELTA_E:
                problems.append(f"{first} and {second} are only ΔE {diff:.1f} apart")
    return problems
