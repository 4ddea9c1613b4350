"""The raw files of issue 15 through the command line, each planned and re-checked: zero-padded
ward ids against an unpadded census table, and an unnumbered sliver beside a duplicated ward."""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from app.cli import cli
from tests.gis.pdfglyphs import pdf_text
from tests.gis.test_slum_points import write_slum_points

runner = CliRunner()


def run(*args: str | Path | int) -> tuple[int, str]:
    result = runner.invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    """``frame`` as a zipped shapefile (with .cpg), as a GIS cell would send it."""
    shp = folder / name
    shp.mkdir()
    frame.to_file(shp / f"{name}.shp", engine="pyogrio", encoding="UTF-8")
    out = folder / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(shp.iterdir()):
            zf.write(file, file.name)
    return out


def plan(tmp_path: Path, wards_args: list[str | Path], count: int = 3) -> dict[str, object]:
    """``example-organisers`` then ``allocate``; the plan must pass its check. Returns the report."""
    orgs = tmp_path / "organisers.csv"
    # example-organisers reads the wards only: the poverty sources are not its options
    poverty = {"--poverty-table", "--slum-layer", "--slum-households-total"}
    skip = {i + k for i, a in enumerate(wards_args) if a in poverty for k in (0, 1)}
    ward_args = [a for i, a in enumerate(wards_args) if i not in skip]
    code, text = run("example-organisers", *ward_args, "--count", count, "--out", orgs)
    assert code == 0, text
    out = tmp_path / "plan"
    code, text = run(
        "allocate",
        *wards_args,
        "--organisers",
        orgs,
        "--out",
        out,
        "--tolerance",
        "0.3",
        "--time-limit",
        "20",
    )
    assert code == 0, text
    assert "check: passed" in text
    report: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


@pytest.mark.slow  # a real city planned end to end through the CLI, every output written
def test_zero_padded_shapefile_plans_with_the_unpadded_census(
    shared_data: Path, tmp_path: Path
) -> None:
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")
    frame["ward_no"] = [f"{int(w):02d}" for w in frame["ward_id"]]
    wards = zipped_shapefile(frame[["ward_no", "geometry"]], tmp_path, "padded")
    census = shared_data / "chandigarh/census2011_wards.csv"
    args: list[str | Path] = [wards, "--population-table", census]

    code, text = run("requirement", *args)
    assert code == 0, text
    assert "population: 961,587" in text
    assert "9 pairing(s) were not exact: ward '01' = table '1'" in text

    report = plan(tmp_path, args)
    assert report["wards"] == 26
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert any("leading zeros in the layer" in w for w in warnings)


def with_unnumbered_piece(raw: gpd.GeoDataFrame, ward: str, metres: float) -> gpd.GeoDataFrame:
    """``raw`` plus a feature with no id and no attributes: a ``metres``-wide square cut out of
    ``ward`` at the middle of its longest boundary edge (so it borders that ward most)."""
    utm = raw.estimate_utm_crs()
    frame = raw.to_crs(utm)
    position = frame.index[frame["Ward_name"] == ward][0]
    polygon = frame.geometry[position]
    ring = max(getattr(polygon, "geoms", [polygon]), key=lambda p: p.area).exterior
    coords = list(ring.coords)
    edges = list(itertools.pairwise(coords))
    (x0, y0), (x1, y1) = max(
        edges, key=lambda e: (e[0][0] - e[1][0]) ** 2 + (e[0][1] - e[1][1]) ** 2
    )
    centre = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)
    piece = polygon.intersection(centre.buffer(metres / 2, cap_style="square"))
    frame.loc[position, "geometry"] = polygon.difference(piece)
    extra = gpd.GeoDataFrame({"Ward_name": [None], "Population": [None]}, geometry=[piece], crs=utm)
    return pd.concat([frame, extra], ignore_index=True).to_crs(raw.crs)


@pytest.mark.slow  # a real city planned end to end through the CLI, every output written
def test_unnumbered_sliver_and_duplicated_ward_plan(shared_data: Path, tmp_path: Path) -> None:
    raw = gpd.read_file(shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip")
    frame = with_unnumbered_piece(raw, "12", metres=20)
    wards = zipped_shapefile(frame[["Ward_name", "Population", "geometry"]], tmp_path, "sliver")
    census = shared_data / "chandigarh/census2011_wards.csv"
    args: list[str | Path] = [wards, "--exclude", "reserve", "--population-table", census]

    code, text = run("requirement", *args)  # the duplicate is refused, the sliver is not
    assert code == 2
    assert "ward id '5' is used by 2 features" in text
    assert "feature 28" not in text

    args += ["--merge", "5"]
    code, text = run("requirement", *args)
    assert code == 0, text
    assert (
        "absorbed feature 28 (no ward id, 200 m², below the sliver limit of 2,216 m²) into " in text
    )
    assert "ward 12, the neighbour with the longest shared boundary (" in text

    report = plan(tmp_path, args)
    assert report["wards"] == 26
    assert any("absorbed feature 28" in w for w in report["warnings"])  # type: ignore[attr-defined]
    unnumbered = report["unnumbered"]  # the counts and areas, apart from the words
    assert isinstance(unnumbered, dict)
    assert unnumbered["sliver_limit_m2"] == pytest.approx(2_216, abs=1)
    assert unnumbered["absorbed"]["count"] == 1
    assert unnumbered["absorbed"]["area_m2"] == pytest.approx(200, abs=1)
    (sliver,) = unnumbered["absorbed"]["features"]
    assert (sliver["feature"], sliver["into_ward"]) == (28, "12")
    assert unnumbered["excluded"] == {"count": 0, "area_m2": 0, "features": []}


@pytest.mark.slow  # four CLI runs, each reading Chandigarh's shapefile in the sandbox
def test_larger_unnumbered_feature_is_refused_with_the_remedies(
    shared_data: Path, tmp_path: Path
) -> None:
    raw = gpd.read_file(shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip")
    frame = with_unnumbered_piece(raw, "12", metres=200)
    wards = zipped_shapefile(frame[["Ward_name", "Population", "geometry"]], tmp_path, "big")
    census = shared_data / "chandigarh/census2011_wards.csv"
    args: list[str | Path] = [wards, "--exclude", "reserve", "--merge", "5"]
    args += ["--population-table", census]

    code, text = run("requirement", *args)
    assert code == 2
    assert "feature 28: has no ward id and covers 20,000 m², more than a sliver" in text
    assert "--feature-id 28=ID" in text
    assert "--exclude-feature 28" in text

    code, text = run("requirement", *args, "--feature-id", "28=12", "--merge", "12")
    assert code == 0, text
    assert "feature 28 (had no id) was given ward id '12' as asked" in text
    assert "merged 2 features of ward 12 (features 10, 28) into one" in text

    code, text = run("requirement", *args, "--exclude-feature", "28")
    assert code == 0, text
    assert "excluded 1 feature(s) by number: 28 (no id)" in text

    code, text = run("requirement", *args, "--sliver-max-m2", "25000")
    assert code == 0, text
    assert (
        "absorbed feature 28 (no ward id, 20,000 m², below the sliver limit of 25,000 m²)" in text
    )


def households_only(shared_data: Path, folder: Path) -> Path:
    """Chandigarh's wards with the census households and no population column at all."""
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")[["ward_id", "geometry"]]
    census = pd.read_csv(shared_data / "chandigarh/census2011_wards.csv", comment="#")
    households = dict(zip(census["census_ward_no"].astype(str), census["households"], strict=True))
    frame["households"] = [households[w] for w in frame["ward_id"]]
    path = folder / "households_only.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


@pytest.mark.slow  # a real city planned end to end through the CLI, every output written
def test_households_only_layer_plans(shared_data: Path, tmp_path: Path) -> None:
    wards = households_only(shared_data, tmp_path)
    code, text = run("requirement", wards)
    assert code == 0, text
    assert "26 wards by households × rate" in text

    report = plan(tmp_path, [wards])
    assert report["wards"] == 26
    sources = report["poverty_sources"]
    assert isinstance(sources, dict)
    assert sources["wards_by_source"] == {"estimate: households × rate": 26}
    plan_wards = gpd.read_file(tmp_path / "plan" / "plan.geojson")
    assert plan_wards["population"].isna().all()
    assert plan_wards["poor_households_est"].sum() == pytest.approx(
        0.275 * gpd.read_file(wards)["households"].sum(), abs=1
    )


@pytest.mark.slow  # a real city planned end to end through the CLI, every output written
def test_poverty_table_plans_and_every_output_names_the_source(
    shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "chandigarh/wards.geojson"
    table = tmp_path / "slum_households.csv"
    rows = "".join(f"{w},{100 * w}\n" for w in range(1, 27) if w != 9)  # ward 9 has no row
    table.write_text("ward_no,slum_households\n" + rows, encoding="utf-8")
    args: list[str | Path] = [wards, "--poverty-table", table]

    code, text = run("requirement", *args)
    assert code == 0, text
    assert (
        "Poverty figures: 25 wards by poverty table slum_households.csv (slum_households), "
        "1 wards by estimate: population × rate ÷ household size"
    ) in text

    report = plan(tmp_path, args)
    sources = report["poverty_sources"]
    assert isinstance(sources, dict)
    assert sources["by_ward"]["9"] == "estimate: population × rate ÷ household size"
    assert sources["by_ward"]["12"] == "poverty table slum_households.csv (slum_households)"
    planned = gpd.read_file(tmp_path / "plan" / "plan.geojson")
    by_ward = dict(zip(planned["ward_id"], planned["poverty_source"], strict=True))
    assert by_ward == sources["by_ward"]
    assert planned.loc[planned["ward_id"] == "12", "poor_households_est"].item() == 1200
    shp = gpd.read_file(f"zip://{tmp_path / 'plan' / 'plan-shp.zip'}!plan_wards.shp")
    assert set(shp["pov_source"]) == set(sources["by_ward"].values())


@pytest.mark.slow
def test_mumbai_slum_layer_plans(shared_data: Path, tmp_path: Path) -> None:
    """The 24 Mumbai wards, poor households from the 2,542 slum polygons (area only: an
    ILLUSTRATIVE city total of 1,000,000 slum households, spread by area)."""
    args: list[str | Path] = [
        shared_data / "mumbai_admin_wards/wards.geojson",
        "--slum-layer",
        shared_data / "mumbai_slum_clusters/slum_clusters.geojson",
        "--slum-households-total",
        "1000000",
    ]
    report = plan(tmp_path, args, count=4)
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert any("fell outside every ward" in w for w in warnings)
    assert any("1 ward(s) hold no slum polygon: 0 poor households (C)" in w for w in warnings)
    counts = report["poverty_sources"]["wards_by_source"]  # type: ignore[index]
    assert list(counts.values()) == [24]
    (source,) = counts
    assert source.startswith("slum layer slum_clusters.geojson (1,000,000 slum households spread")
    planned = gpd.read_file(tmp_path / "plan" / "plan.geojson")
    assert planned["poor_households_est"].sum() == pytest.approx(999_596, abs=1)


@pytest.mark.slow  # a real city planned end to end through the CLI, every output written
def test_mumbai_slum_points_plan(shared_data: Path, tmp_path: Path) -> None:
    """The 24 Mumbai wards, poor households from slum points (the clusters as points, with a
    stated households figure; one point just off the coast, one far out at sea)."""
    points = write_slum_points(shared_data, tmp_path / "slum_points.geojson")
    report = plan(
        tmp_path,
        [shared_data / "mumbai_admin_wards/wards.geojson", "--slum-layer", points],
        count=4,
    )
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert any("far-sea (400 households)" in w for w in warnings)
    assert any("near-coast → ward" in w for w in warnings)
    planned = gpd.read_file(tmp_path / "plan" / "plan.geojson")
    clusters = gpd.read_file(points)
    placed = clusters["households"].sum() - 400
    assert planned["poor_households_est"].sum() == pytest.approx(placed, abs=1)
    assert planned["poverty_source"].str.startswith("slum points slum_points.geojson").all()


def lucknow_without_zones(shared_data: Path, folder: Path) -> Path:
    path = folder / "lucknow_no_zones.geojson"
    frame = gpd.read_file(shared_data / "lucknow/wards.geojson").drop(columns="zone")
    frame.to_file(path, driver="GeoJSON")
    return path


@pytest.mark.slow
def test_lucknow_zones_from_the_zone_layer_respected(shared_data: Path, tmp_path: Path) -> None:
    wards = lucknow_without_zones(shared_data, tmp_path)
    orgs = tmp_path / "organisers.csv"
    code, text = run("example-organisers", wards, "--count", 7, "--out", orgs)
    assert code == 0, text
    out = tmp_path / "plan"
    code, text = run(
        "allocate",
        wards,
        "--zones-layer",
        shared_data / "lucknow/zones.geojson",
        "--respect-zones",
        "--organisers",
        orgs,
        "--out",
        out,
        "--tolerance",
        "0.5",
        "--time-limit",
        "30",
    )
    assert code == 0, text
    assert "check: passed" in text
    assert "1 ward(s) lie in several zones: 96 (2 96 %, 1 4 %)" in text
    planned = gpd.read_file(out / "plan.geojson")
    assert planned.groupby("organiser_id")["zone"].nunique().max() == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert any(
        w.startswith("zones from zones.geojson: each ward in the zone it")
        for w in report["warnings"]
    )
    assert planned["zone"].nunique() == 6


@pytest.mark.slow
def test_mumbai_wards_too_large_for_one_co_are_split_and_planned(
    shared_data: Path, tmp_path: Path
) -> None:
    """Slum households (ILLUSTRATIVE total 1,000,000, spread by slum area) per ward; the wards
    above 40,000 are split into units the solver allocates; sheets say "part 2 of 3"."""
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    orgs = tmp_path / "organisers.csv"  # homes named by ward: also the wards that get split
    code, text = run("example-organisers", wards, "--count", 10, "--out", orgs)
    assert code == 0, text
    out = tmp_path / "plan"
    code, text = run(
        "allocate",
        wards,
        "--slum-layer",
        shared_data / "mumbai_slum_clusters/slum_clusters.geojson",
        "--slum-households-total",
        "1000000",
        "--split-above",
        "40000",
        "--organisers",
        orgs,
        "--out",
        out,
        "--tolerance",
        "0.3",
        "--time-limit",
        "30",
        "--sheets",
        "--city",
        "Mumbai",
    )
    assert code == 0, text
    assert "check: passed" in text
    assert "split 10 ward(s) too large for one CO" in text
    planned = gpd.read_file(out / "plan.geojson")
    assert len(planned) == 39
    units = planned[planned["part"] != ""]
    assert (units["poor_households_est"] <= 40_000).all()
    assert set(units["parent"]) >= {"P/N", "L", "S", "M/E"}
    row = planned.loc[planned["ward_id"] == "P/N/2"].iloc[0]
    assert (row["parent"], row["part"], row["ward_name"]) == (
        "P/N",
        "2 of 3",
        "P/North (part 2 of 3)",
    )
    assert planned["poor_households_est"].sum() == pytest.approx(999_596, abs=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["split_wards"]["P/N/2"] == ["P/N", 2, 3]
    assert "(part 2 of 3)" in pdf_text(out / "co-sheets.pdf")
    page = (out / "map.html").read_text(encoding="utf-8")  # split wards over their units
    assert "ward P/N (3 parts)" in page
    assert "wp-parent" in page
