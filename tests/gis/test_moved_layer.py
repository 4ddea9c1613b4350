"""The "Moved from parent" layer of a re-plan's map (gis/moved_layer.py), offline: which wards it
holds, what their tooltips say, and the legend's figures."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import box

from gis.moved_layer import moved_from, moved_key_html, moved_layer


def wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "ward_id": ["1", "2", "3", "4"],
            "ward_name": ["Aminabad", "<b>Chowk</b>", None, " "],
            "ward_name_hi": ["अमीनाबाद", "", "हज़रतगंज", None],
            "organiser_id": ["CO-01", "CO-02", "CO-02", "CO-01"],
            "poor_households_est": [120.0, 80.5, float("nan"), 40.0],
        },
        geometry=[box(i, 0, i + 1, 1) for i in range(4)],
        crs="EPSG:4326",
    )


def test_moves_are_the_wards_whose_co_differs_from_the_parent() -> None:
    parent = {"1": "CO-02", "2": "CO-02", "3": "CO-01", "5": "CO-01"}  # ward 4: new, not a move
    moved = moved_from(wards(), parent, "version 1")
    assert dict(moved.moves) == {"1": ("CO-02", "CO-01"), "3": ("CO-01", "CO-02")}
    assert moved.households == 120.0  # ward 3's households are unknown: counted as 0
    key = moved_key_html(moved)
    assert "<b>2</b> wards" in key
    assert "<b>120</b> poor households" in key


def test_each_tooltip_names_the_ward_as_its_own_tooltip_does_and_is_escaped() -> None:
    frame = wards()
    parent = {"1": "CO-02", "2": "CO-<i>", "3": "CO-01", "4": "CO-01"}
    layer = moved_layer(frame, moved_from(frame, parent, "version 1"))
    tips = {f["properties"]["wp_id"]: f["properties"]["tip"] for f in layer.data["features"]}
    assert tips == {
        "1": "Ward / वार्ड 1 Aminabad अमीनाबाद: CO-02 → CO-01",
        "2": "Ward / वार्ड 2 &lt;b&gt;Chowk&lt;/b&gt;: CO-&lt;i&gt; → CO-02",
        "3": "Ward / वार्ड 3 हज़रतगंज: CO-01 → CO-02",
    }
