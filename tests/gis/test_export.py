"""Export: plan wards, dissolved areas without cracks, and the three files."""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from gis.export import (
    assignment_mapping,
    dissolve_areas,
    plan_wards,
    shp_frame,
    valid_polygonal,
    write_gis_files,
    write_plan_files,
)
from gis.layer import WardLayer
from gis.organisers import Organiser
from solver.problem import Problem, Solution, Status

UTM_44N = "EPSG:32644"
X0, Y0 = 500_000.0, 2_970_000.0


def _strip(gap_m: float = 0.0) -> gpd.GeoDataFrame:
    """Four 100 m squares in a row, ``gap_m`` apart, with population 10, 20, 30, 40."""
    geoms = [
        box(X0 + k * (100 + gap_m), Y0, X0 + k * (100 + gap_m) + 100, Y0 + 100) for k in range(4)
    ]
    return gpd.GeoDataFrame(
        {"ward_id": ["1", "2", "3", "4"], "population": [10.0, 20.0, 30.0, 40.0]},
        geometry=geoms,
        crs=UTM_44N,
    ).to_crs("EPSG:4326")


ASSIGNMENT = {"1": "CO-A", "2": "CO-A", "3": "CO-B", "4": "CO-B"}


def test_plan_wards_adds_the_organiser() -> None:
    plan = plan_wards(_strip(), ASSIGNMENT)
    assert list(plan["organiser_id"]) == ["CO-A", "CO-A", "CO-B", "CO-B"]
    assert "organiser_id" not in _strip().columns  # input untouched


def test_plan_wards_refuses_gaps_and_strangers() -> None:
    with pytest.raises(ValueError, match=r"without an organiser: 4.*not in the layer: 9"):
        plan_wards(_strip(), {"1": "A", "2": "A", "3": "B", "9": "B"})


def test_areas_close_sliver_gaps_between_wards() -> None:
    areas = dissolve_areas(_strip(gap_m=2.0), ASSIGNMENT, sum_columns=["population"])
    assert list(areas["organiser_id"]) == ["CO-A", "CO-B"]
    assert list(areas["n_wards"]) == [2, 2]
    assert list(areas["ward_ids"]) == ["1,2", "3,4"]
    assert list(areas["n_parts"]) == [1, 1]
    assert list(areas["population"]) == [30.0, 70.0]
    assert areas.crs == "EPSG:4326"
    assert areas.geometry.geom_type.tolist() == ["Polygon", "Polygon"]
    # the 2 m crack inside each area is filled: area ≈ 202 m × 100 m
    assert areas["area_km2"].tolist() == pytest.approx([0.0202, 0.0202], rel=1e-3)


def test_wide_gap_stays_a_second_part() -> None:
    areas = dissolve_areas(_strip(gap_m=20.0), ASSIGNMENT)
    assert list(areas["n_parts"]) == [2, 2]


def test_organisers_add_homes_and_keep_their_order() -> None:
    organisers = [
        Organiser("CO-B", "Bela", 81.0, 26.8),
        Organiser("CO-A", "Asha", 81.1, 26.9),
        Organiser("CO-C", "Chetan", 81.2, 26.7),
    ]
    areas = dissolve_areas(_strip(), ASSIGNMENT, organisers=organisers)
    assert list(areas["organiser_id"]) == ["CO-B", "CO-A", "CO-C"]
    assert list(areas["name"]) == ["Bela", "Asha", "Chetan"]
    assert list(areas["home_lat"]) == [26.8, 26.9, 26.7]
    assert list(areas["n_wards"]) == [2, 2, 0]
    assert areas.geometry.iloc[2].is_empty


def test_unknown_organiser_in_assignment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown organiser"):
        dissolve_areas(_strip(), ASSIGNMENT, organisers=[Organiser("CO-A", "A", 81.0, 26.8)])


def test_assignment_from_a_solution() -> None:
    problem = Problem.from_lists(
        ["1", "2", "3"], [1, 1, 1], [(0, 1), (1, 2)], ["A", "B"], [[0, 1], [0, 1], [1, 0]]
    )
    solution = Solution(Status.OPTIMAL, (0, 0, 1), 1.0, 1.0, 0.1, "test", "0", 0.0)
    assert assignment_mapping(problem, solution) == {"1": "A", "2": "A", "3": "B"}
    empty = Solution(Status.NO_SOLUTION, None, None, None, 0.1, "test", "0", 1.0, "time limit")
    with pytest.raises(ValueError, match="no plan"):
        assignment_mapping(problem, empty)


def test_write_plan_files(tmp_path: Path) -> None:
    plan = plan_wards(_strip(), ASSIGNMENT)
    plan["poor_low"] = [2.5, 5.0, 7.5, 10.0]
    plan["poor_high"] = [3.0, 6.0, 9.0, 12.0]
    areas = dissolve_areas(_strip(), ASSIGNMENT)
    areas["load"] = [7.5, 17.5]
    written = write_plan_files(tmp_path / "out", plan, areas)
    assert [p.name for p in written] == ["plan.geojson", "areas.geojson", "assignment.csv"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)

    features = json.loads(written[0].read_text())["features"]
    assert [f["properties"]["organiser_id"] for f in features] == ["CO-A", "CO-A", "CO-B", "CO-B"]
    assert features[3]["properties"]["poor_high"] == 12.0
    assert "crs" not in json.loads(written[0].read_text())  # RFC 7946: WGS 84, no crs member

    read_back = gpd.read_file(written[1])
    assert list(read_back["load"]) == [7.5, 17.5]
    assert list(read_back["ward_ids"]) == ["1,2", "3,4"]

    with written[2].open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["ward_id", "organiser_id"], *[[w, o] for w, o in ASSIGNMENT.items()]]


def test_write_refuses_frames_without_organisers(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="organiser_id"):
        write_plan_files(tmp_path, _strip(), dissolve_areas(_strip(), ASSIGNMENT))


@pytest.mark.slow
def test_lucknow_zones_dissolve_to_one_piece_each(
    load_clean_layer: Callable[[str], WardLayer],
) -> None:
    wards = load_clean_layer("lucknow").wards
    by_zone = {w: f"Z{z}" for w, z in zip(wards["ward_id"], wards["zone"], strict=True)}
    areas = dissolve_areas(wards, by_zone, sum_columns=["population"])
    assert len(areas) == 6
    assert set(areas["n_parts"]) == {1}
    assert areas["population"].sum() == pytest.approx(wards["population"].sum())
    assert areas["n_wards"].sum() == len(wards)
    # 1,097 gaps in the raw union; the cleaned areas keep only a few real holes
    holes = sum(len(p.interiors) for g in areas.geometry for p in getattr(g, "geoms", [g]))
    assert holes <= 5


# --- the files GIS cells open directly ---------------------------------------------------------------

SHP_PARTS = ("shp", "shx", "dbf", "prj", "cpg")
HINDI = "लखनऊ वार्ड – सामुदायिक संगठक"


def _plan_frames() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    plan = plan_wards(_strip(), ASSIGNMENT)
    plan["ward_name"] = [HINDI, "Aliganj", None, "Chowk"]
    plan["poor_households_est"] = [2.5, 5.0, 7.5, 10.0]
    organisers = [Organiser("CO-A", HINDI, 83.0, 26.8), Organiser("CO-B", "Rita", 83.0, 26.8)]
    areas = dissolve_areas(_strip(), ASSIGNMENT, organisers=organisers)
    areas["deviation_from_mean_pct"] = [-40.0, 40.0]
    return plan, areas


def test_gis_files_hold_both_layers_and_hindi(tmp_path: Path) -> None:
    plan, areas = _plan_frames()
    written = write_gis_files(tmp_path, plan, areas)
    assert [p.name for p in written] == ["plan.gpkg", "plan.kml", "plan-shp.zip"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)

    gpkg, kml, shp = (str(p) for p in written)
    shp_wards, shp_areas = f"zip://{shp}!plan_wards.shp", f"zip://{shp}!plan_areas.shp"
    for path in (gpkg, kml):
        assert [name for name, _ in pyogrio.list_layers(path)] == ["plan_wards", "plan_areas"]
    wards_read = {
        "gpkg": pyogrio.read_dataframe(gpkg, layer="plan_wards"),
        "kml": pyogrio.read_dataframe(kml, layer="plan_wards"),
        "shp": pyogrio.read_dataframe(shp_wards),
    }
    for fmt, frame in wards_read.items():
        org = "org_id" if fmt == "shp" else "organiser_id"
        assert list(frame[org]) == ["CO-A", "CO-A", "CO-B", "CO-B"], fmt
        assert frame["ward_name"].iloc[0] == HINDI, fmt
        assert frame.crs.to_epsg() == 4326, fmt
    assert list(wards_read["shp"]["poor_hh"]) == [2.5, 5.0, 7.5, 10.0]
    assert wards_read["kml"]["Name"].iloc[0] == f"Ward 1: {HINDI}"

    areas_shp = pyogrio.read_dataframe(shp_areas)
    assert list(areas_shp["org_id"]) == ["CO-A", "CO-B"]
    assert areas_shp["name"].iloc[0] == HINDI
    assert list(areas_shp["dev_pct"]) == [-40.0, 40.0]
    areas_kml = pyogrio.read_dataframe(kml, layer="plan_areas")
    assert areas_kml["Name"].iloc[0] == HINDI

    with zipfile.ZipFile(shp) as archive:
        names = sorted(archive.namelist())
        cpg = archive.read("plan_wards.cpg").decode().strip()
    expected = {f"{layer}.{ext}" for layer in ("plan_wards", "plan_areas") for ext in SHP_PARTS}
    assert set(names) == expected
    assert cpg == "UTF-8"
    assert "<Folder" in Path(kml).read_text(encoding="utf-8")


def test_shapefile_names_are_short_and_long_texts_cut() -> None:
    plan, _areas = _plan_frames()
    plan["ward_ids"] = ",".join(str(k) for k in range(200))
    out = shp_frame(plan)
    assert all(len(c) <= 10 for c in out.columns)
    assert out["ward_ids"].iloc[0].endswith("…")
    assert len(out["ward_ids"].iloc[0].encode()) <= 254
    plan["a_very_long_column"] = 1
    with pytest.raises(ValueError, match="a_very_long_column"):
        shp_frame(plan)
    with pytest.raises(ValueError, match="dev_pct"):
        shp_frame(
            plan.drop(columns="a_very_long_column").assign(dev_pct=1, deviation_from_mean_pct=2)
        )


def test_gis_files_refuse_frames_without_organisers(tmp_path: Path) -> None:
    _plan, areas = _plan_frames()
    with pytest.raises(ValueError, match="plan_wards has no 'organiser_id'"):
        write_gis_files(tmp_path, _strip(), areas)
    assert list(tmp_path.iterdir()) == []


def test_invalid_area_becomes_its_valid_polygons() -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    assert not bowtie.is_valid
    fixed = valid_polygonal(bowtie)
    assert fixed.is_valid
    assert fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(2.0)
    square = box(0, 0, 1, 1)
    assert valid_polygonal(square) is square


def test_wards_within_the_snap_distance_dissolve_into_one_polygon() -> None:
    """Two wards whose corners are 1.24 m apart (neighbours within the 5 m snapping distance)
    make one area in one piece, as the plan counts it connected; 20 m apart, two pieces."""
    from shapely.geometry import box as square

    step = 1.24 / 2**0.5
    for gap, parts in ((step, 1), (20.0, 2)):
        wards = gpd.GeoDataFrame(
            {"ward_id": ["1", "2"]},
            geometry=[square(0, 0, 500, 500), square(500 + gap, 500 + gap, 1000, 1000)],
            crs="EPSG:32644",
        )
        areas = dissolve_areas(wards, {"1": "CO-1", "2": "CO-1"}, close_gaps_m=5.0)
        assert int(areas["n_parts"].iloc[0]) == parts, gap
        assert areas.geometry.iloc[0].is_valid


def test_every_format_is_written_with_one_schema(tmp_path: Path) -> None:
    """Integers are integers in the GeoPackage, the GeoJSON and the KML (not KML strings), and a
    column with no value is text in each (not Real in one, String in another)."""
    import re

    from shapely.geometry import box as square

    from gis.export import write_gpkg, write_kml, write_plan_files

    frame = gpd.GeoDataFrame(
        {
            "ward_id": ["1", "2"],
            "organiser_id": ["CO-1", "CO-2"],
            "n_wards": [3, 4],
            "population": [1200.5, 2000.0],
            "households": [float("nan"), float("nan")],
        },
        geometry=[square(80.0, 26.0, 80.01, 26.01), square(80.01, 26.0, 80.02, 26.01)],
        crs="EPSG:4326",
    )
    write_gpkg(tmp_path / "plan.gpkg", frame, frame)
    write_kml(tmp_path / "plan.kml", frame, frame)
    write_plan_files(tmp_path, frame, frame)
    kinds = {}
    for path, layer in (
        (tmp_path / "plan.gpkg", "plan_wards"),
        (tmp_path / "plan.kml", "plan_wards"),
        (tmp_path / "plan.geojson", None),
    ):
        info = pyogrio.read_info(path, layer=layer)
        types = dict(zip(info["fields"], info["dtypes"], strict=True))
        kinds[path.suffix] = {c: types[c] for c in ("n_wards", "population", "households")}
    assert kinds[".gpkg"] == kinds[".kml"] == kinds[".geojson"], kinds
    assert kinds[".gpkg"]["n_wards"] == "int32"
    assert kinds[".gpkg"]["households"] == "object"
    fields = dict(
        re.findall(r'<SimpleField name="(\w+)" type="(\w+)"', (tmp_path / "plan.kml").read_text())
    )
    assert fields["n_wards"] == "int"
