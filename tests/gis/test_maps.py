"""Maps: rendered to an HTML string and inspected; user strings must arrive escaped."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import folium
import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from gis.adjacency import build_adjacency
from gis.export import dissolve_areas, plan_wards
from gis.layer import WardLayer
from gis.maps import (
    DATA_CREDITS,
    LABELS,
    PALETTE,
    STATIC_DIR,
    STATIC_URL,
    area_colours,
    escape,
    plan_map,
    tile_template_problem,
)
from gis.organisers import Organiser, illustrative_organisers, organiser_distances_km

UTM_44N = "EPSG:32644"
X0, Y0 = 500_000.0, 2_970_000.0
EVIL = "<script>alert(1)</script>"
ASSET_FILES = (
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
    "wardplan/map.js",
    "wardplan/map.css",
)


def _grid() -> gpd.GeoDataFrame:
    """A 3×3 grid of 1 km wards; ward 5 (the centre) carries a hostile name."""
    geoms, ids, names = [], [], []
    for row in range(3):
        for col in range(3):
            x, y = X0 + col * 1000, Y0 + row * 1000
            geoms.append(box(x, y, x + 1000, y + 1000))
            ids.append(str(row * 3 + col + 1))
            names.append(EVIL if row * 3 + col + 1 == 5 else f"Ward {row * 3 + col + 1}")
    frame = gpd.GeoDataFrame({"ward_id": ids, "ward_name": names}, geometry=geoms, crs=UTM_44N)
    return frame.to_crs("EPSG:4326")


def _column_plan() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[Organiser]]:
    """Three column-shaped areas, west to east: CO-1 | CO-2 | CO-3."""
    wards = _grid()
    assignment = {w: f"CO-{(int(w) - 1) % 3 + 1}" for w in wards["ward_id"]}
    homes = [
        Organiser("CO-1", "Asha", 81.0, 26.84),
        Organiser("CO-2", "Bina `${document.cookie}` \\u0041", 81.01, 26.84),
        Organiser("CO-3", EVIL, 81.02, 26.84),
    ]
    areas = dissolve_areas(wards, assignment, organisers=homes)
    areas["load"] = [900.0, 1000.0, 1100.0]
    return plan_wards(wards, assignment), areas, homes


def _render(fmap: folium.Map) -> str:
    return fmap.get_root().render()


def test_escape_covers_html_and_template_literals() -> None:
    assert escape(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape("a`b${c}\\d\"e'") == "a&#96;b&#36;{c}&#92;d&quot;e&#x27;"


def test_map_shows_every_area_and_ward() -> None:
    plan, areas, homes = _column_plan()
    fmap = plan_map(plan, areas, homes, title="Test city", credits=DATA_CREDITS)
    assert isinstance(fmap, folium.Map)
    page = _render(fmap)
    for ward_id in plan["ward_id"]:
        label = re.search(
            r'wp-ward-label\\" data-at=\\"([^"\\\\]*)\\"\\u003e' + ward_id + r"\\u003c", page
        )
        assert label, ward_id
        spots = json.loads(html.unescape(label.group(1)))
        ward = plan.loc[plan["ward_id"] == ward_id].geometry.iloc[0]
        assert 1 <= len(spots) <= 5
        assert all(ward.contains(Point(lon, lat)) for lat, lon in spots)  # every spot inside
        assert f'"wp_id": "{ward_id}"' in page
    for oid in areas["organiser_id"]:
        assert f'"wp_org": "{oid}"' in page
    assert "Test city" in page
    assert "<title>Test city</title>" in page  # the browser tab's and the bookmark's name
    for oid in areas["organiser_id"]:  # each area carries its CO's id
        assert re.search(r'wp-co-label\\" data-at=\\"[^"\\\\]*\\"\\u003e' + oid + r"\\u003c", page)
    assert "DataMeet Municipal_Spatial_Data" in page
    assert "Census of India 2011" in page
    for key in ("areas", "boundaries", "numbers", "homes"):
        assert json.dumps(LABELS[key]) in page  # the layer control's names, English / Hindi
    assert "L.control.layers" in page
    assert "wardplan.init(map_" in page
    assert "L.tileLayer" not in page
    assert "Zones" not in page  # the grid has no zone column


def _asset_urls(page: str) -> list[str]:
    urls = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]*)"', page)
    return [u for u in urls if u != "data:,"]  # the empty icon, so that none is requested


def test_served_page_loads_its_assets_from_the_app_only() -> None:
    plan, areas, homes = _column_plan()
    page = _render(plan_map(plan, areas, homes, title="t", credits="c"))
    urls = _asset_urls(page)
    assert sorted(urls) == sorted(f"{STATIC_URL}/{p}" for p in ASSET_FILES)
    for path in ASSET_FILES:
        assert (STATIC_DIR / path).is_file()
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrap", "fontawesome", "awesome"):
        assert cdn not in page
    other = _render(plan_map(plan, areas, homes, title="t", credits="c", asset_base="/x/"))
    assert sorted(_asset_urls(other)) == sorted(f"/x/{p}" for p in ASSET_FILES)


def test_standalone_page_inlines_its_assets() -> None:
    plan, areas, homes = _column_plan()
    page = _render(plan_map(plan, areas, homes, title="t", credits="c", asset_base=None))
    assert _asset_urls(page) == []
    assert 't.version="1.9.4"' in page  # Leaflet itself
    assert "window.wardplan" in page
    assert ".wp-legend{" in page
    assert "url(images/" not in page  # the control icons became data URIs
    assert "url(data:image/png;base64," in page
    assert "sourceMappingURL" not in page


def test_tiles_are_optional_and_must_be_a_template() -> None:
    plan, areas, homes = _column_plan()
    url = "http://tiles.local/osm/{z}/{x}/{y}.png"
    page = _render(
        plan_map(plan, areas, homes, title="t", credits="c", tiles=url, tiles_attribution="OSM")
    )
    assert "L.tileLayer" in page
    assert json.dumps(url) in page
    bare = _render(plan_map(plan, areas, homes, title="t", credits="c", tiles=url))
    assert json.dumps("Tiles: tiles.local") in bare  # no attribution given: the server is named
    evil = _render(
        plan_map(plan, areas, homes, title="t", credits="c", tiles=url, tiles_attribution=EVIL)
    )
    assert EVIL not in evil
    for bad in ("OpenStreetMap", "http://tiles.local/{z}/{x}.png", "ftp://h/{z}/{x}/{y}"):
        with pytest.raises(ValueError, match="tile URL"):
            plan_map(plan, areas, homes, title="t", credits="c", tiles=bad)
    assert tile_template_problem("/tiles/{z}/{x}/{y}.png") is None


def test_user_strings_never_reach_the_page_raw() -> None:
    plan, areas, homes = _column_plan()
    page = _render(plan_map(plan, areas, homes, title=EVIL, credits=EVIL))
    assert EVIL not in page
    assert "alert(1)" in page  # the name is shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # title, credits, legend, tooltip
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page  # ward name inside the details HTML
    assert '"wp_name": "\\u003cscript\\u003ealert(1)' in page  # raw, for search: JSON-escaped
    assert "${document.cookie}" not in page
    assert "`${" not in page


def test_zones_hindi_names_and_distances() -> None:
    plan, areas, homes = _column_plan()
    plan["zone"] = ["West" if int(w) % 3 == 1 else "East" for w in plan["ward_id"]]
    plan["ward_name_hi"] = [f"वार्ड {w}" for w in plan["ward_id"]]
    plan["poor_households_est"] = 100.0
    page = _render(plan_map(plan, areas, homes, title="t", credits="c"))
    assert json.dumps(LABELS["zones"]) in page
    assert page.count('"wp_zone": ') == 2
    assert '"className": "wp-zone"' in page
    assert json.dumps("वार्ड 7") in page  # the Hindi name, searchable
    # Mean km from home in the legend: independent geodesic distances from each ward's
    # representative point (equal weights) agree with the map's to the shown 0.1 km.
    geod = Geod(ellps="WGS84")
    rows = re.findall(r'<tr class="wp-legend-row"[^>]*>(.*?)</tr>', page)
    for home, row in zip(homes, rows, strict=True):
        mine = plan[plan["organiser_id"] == home.organiser_id]
        points = mine.to_crs(UTM_44N).geometry.representative_point().to_crs("EPSG:4326")
        km = [geod.inv(home.lon, home.lat, p.x, p.y)[2] / 1000 for p in points]
        expected = sum(km) / len(km)
        shown = float(re.findall(r"<td>([\d.]+) km</td>", row)[0])
        assert abs(shown - expected) <= 0.05 + 0.005 * expected, (
            home.organiser_id,
            shown,
            expected,
        )


def test_legend_has_one_row_per_organiser() -> None:
    plan, areas, homes = _column_plan()
    page = _render(plan_map(plan, areas, homes, title="t", credits="c"))
    rows = re.findall(r'<tr class="wp-legend-row"[^>]*>(.*?)</tr>', page)
    assert len(rows) == 3
    assert "CO-1 — Asha" in rows[0]
    assert "<td>3</td>" in rows[0]
    assert "<td>900</td>" in rows[0]
    assert "-10.0 %" in rows[0]
    assert "+0.0 %" in rows[1]
    assert "+10.0 %" in rows[2]


def test_legend_prefers_the_callers_deviation_and_tolerates_missing_load() -> None:
    plan, areas, homes = _column_plan()
    areas["deviation_pct"] = [1.5, -2.0, 0.5]
    page = _render(plan_map(plan, areas, homes, title="t", credits="c"))
    assert "+1.5 %" in page
    assert "-2.0 %" in page
    page = _render(
        plan_map(plan, areas.drop(columns=["load", "deviation_pct"]), [], title="t", credits="c")
    )
    assert len(re.findall(r'<tr class="wp-legend-row"', page)) == 3


def test_neighbouring_areas_get_different_colours() -> None:
    _, areas, _ = _column_plan()
    colours = area_colours(areas)
    assert colours["CO-2"] == PALETTE[0]  # the most neighbours: coloured first
    assert colours["CO-1"] != colours["CO-2"] != colours["CO-3"]
    assert colours["CO-1"] != colours["CO-3"]  # enough colours: each area its own
    assert area_colours(areas, palette=PALETTE[:2]) == {
        "CO-1": PALETTE[1],
        "CO-2": PALETTE[0],
        "CO-3": PALETTE[1],
    }


def test_legend_columns_can_be_named() -> None:
    plan, areas, homes = _column_plan()
    areas = areas.rename(columns={"load": "poor_est"})
    areas["dev"] = [-7.0, 0.0, 7.0]
    fmap = plan_map(
        plan, areas, homes, title="t", credits="c", load_column="poor_est", deviation_column="dev"
    )
    rows = re.findall(r'<tr class="wp-legend-row"[^>]*>(.*?)</tr>', _render(fmap))
    assert "<td>1,100</td>" in rows[2]
    assert "+7.0 %" in rows[2]


@pytest.mark.slow
def test_lucknow_plan_map(load_clean_layer: Callable[[str], WardLayer]) -> None:
    wards = load_clean_layer("lucknow").wards
    assignment = {w: f"Z{z}" for w, z in zip(wards["ward_id"], wards["zone"], strict=True)}
    areas = dissolve_areas(wards, assignment)
    colours = area_colours(areas)
    plan = plan_wards(wards, assignment)
    adjacency = build_adjacency(wards)
    zone_of = list(plan["organiser_id"])
    touching = {(zone_of[a], zone_of[b]) for a, b in adjacency.edges if zone_of[a] != zone_of[b]}
    assert touching
    assert all(colours[a] != colours[b] for a, b in touching)

    homes = illustrative_organisers(wards, 6, seed=1)
    page = _render(plan_map(plan, areas, homes, title="Lucknow", credits=DATA_CREDITS))
    assert len(re.findall(r"wp-ward-label", page)) == len(wards)
    assert page.count('"wp_zone": ') == 6  # Lucknow's six zones, outlined
    assert len(re.findall(r'<tr class="wp-legend-row"', page)) == 6


@pytest.mark.slow
@pytest.mark.parametrize(("city", "count"), [("lucknow", 20), ("bangalore", 30)])
def test_more_areas_than_colours_still_never_share_a_border_colour(
    load_clean_layer: Callable[[str], WardLayer], city: str, count: int
) -> None:
    """Real cities split among many COs (each ward to the nearest home): up to the palette's size
    every CO has its own colour; beyond it colours are reused, never by two areas whose wards
    touch, and every area is labelled with its CO's id."""
    wards = load_clean_layer(city).wards
    homes = illustrative_organisers(wards, count, seed=7)
    km = organiser_distances_km(wards, homes)
    assignment = {
        w: homes[min(range(count), key=row.__getitem__)].organiser_id
        for w, row in zip(wards["ward_id"], km, strict=True)
    }
    areas = dissolve_areas(wards, assignment)
    colours = area_colours(areas)
    owner = [assignment[w] for w in wards["ward_id"]]
    touching = {
        (owner[a], owner[b]) for a, b in build_adjacency(wards).edges if owner[a] != owner[b]
    }
    assert len(touching) >= len(areas) - 1
    assert all(colours[a] != colours[b] for a, b in touching)
    if len(areas) <= len(PALETTE):
        assert len(set(colours.values())) == len(areas)  # every CO its own colour
    else:
        assert len(set(colours.values())) == len(PALETTE)  # the whole palette is used
    page = _render(plan_map(plan_wards(wards, assignment), areas, homes, title="t", credits="c"))
    assert len(re.findall(r"wp-co-label", page)) == len(areas)
