"""The CO fills: distinct from each other and from the page, and readable under ward numbers."""

from __future__ import annotations

import itertools

import pytest

from gis import hindi, maps
from gis.figures import count_text, km_text, km_value, percent_text, percent_value
from gis.palette import (
    MAP_BACKGROUND,
    MIN_BACKGROUND_DELTA_E,
    MIN_PAIR_DELTA_E,
    PALETTE,
    PAPER,
    background_difference,
    delta_e,
    fill_difference,
    palette_problems,
)


def test_ciede2000_matches_the_published_test_pairs() -> None:
    # Sharma, Wu and Dalal (2005), table 1, pairs 1, 7 and 17.
    assert delta_e((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-4)
    assert delta_e((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-4)


@pytest.mark.parametrize("colour", PALETTE)
@pytest.mark.parametrize("background", [MAP_BACKGROUND, PAPER])
def test_every_fill_stands_out_from_the_background(colour: str, background: str) -> None:
    assert background_difference(colour, background) >= MIN_BACKGROUND_DELTA_E


def test_every_pair_of_fills_differs_and_the_palette_is_large() -> None:
    assert len(PALETTE) >= 24
    assert len(set(PALETTE)) == len(PALETTE)
    closest = min(fill_difference(a, b) for a, b in itertools.combinations(PALETTE, 2))
    assert closest >= MIN_PAIR_DELTA_E
    assert palette_problems() == []


def test_the_old_grey_fill_would_be_refused() -> None:
    """CO-11's #d9d9d9 looked unassigned: it is ΔE < 1 from the map's background."""
    assert background_difference("#d9d9d9", MAP_BACKGROUND) < 1
    assert any("#d9d9d9" in p for p in palette_problems([*PALETTE, "#d9d9d9"]))
    assert any("too dark" in p for p in palette_problems(["#202060"]))
    assert any("apart" in p for p in palette_problems(["#4e9fd6", "#4f9fd6"]))


def test_the_difference_maps_fills_stand_out_too() -> None:
    from gis.diffmap import CHANGED_FILL, KEPT_FILL

    for fill in (CHANGED_FILL, KEPT_FILL):
        assert background_difference(fill, MAP_BACKGROUND) >= MIN_BACKGROUND_DELTA_E


def test_one_rounding_for_every_output() -> None:
    # Half away from zero on the decimal text: 1.55 → 1.6 and 1.45 → 1.5 (the float 1.45 is
    # just below 1.45, so Python's round() and format give 1.4).
    assert km_value(1.55) == 1.6
    assert km_value(1.45) == 1.5
    assert f"{1.45:.1f}" == "1.4"
    assert km_text(1.45) == "1.5 km"
    assert km_text(km_value(1.549)) == km_text(1.549) == "1.5 km"  # rounding twice changes nothing
    assert percent_value(-2.25) == -2.3
    assert percent_text(-0.04) == "+0.0 %"
    assert percent_text(10) == "+10.0 %"
    assert count_text(1234.5) == "1,235"
    for missing in (None, float("nan"), float("inf"), "7", True):
        assert km_text(missing) == percent_text(missing) == count_text(missing) == "—"


def test_page_labels_use_the_letters_words() -> None:
    text = " ".join(maps.LABELS.values())
    assert hindi.CO in text
    for word in hindi.NOT_THE_LETTERS:
        assert word not in text


def test_no_source_stated_no_credit_claimed() -> None:
    from gis.credits import data_credit
    from tests.gis.test_maps import _column_plan, _render

    assert data_credit(None, "CC BY 4.0") == ""
    assert data_credit("  ", None) == ""
    assert (
        data_credit("City GIS cell", None) == "Ward boundaries: City GIS cell (licence not stated)"
    )
    assert data_credit("City GIS cell", "CC BY 4.0") == "Ward boundaries: City GIS cell (CC BY 4.0)"
    plan, areas, homes = _column_plan()
    page = _render(maps.plan_map(plan, areas, homes, title="t", credits=""))
    assert "wp-credits" not in page.split("</style>")[-1]
    assert "DataMeet" not in page
