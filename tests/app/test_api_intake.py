"""The raw files of issue 15 through the HTTP API on the real PostGIS: stored, then planned.

Zero-padded ids against the unpadded census table, an unnumbered sliver with a duplicated ward
(and the options that mend a larger unnumbered feature), a households-only layer, and ward names
in Hindi sent with the upload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from matplotlib import font_manager
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import LayerOut
from app.db.models import City, Plan, Ward, WardLayer
from gis.organisers import illustrative_organisers, write_organisers_csv
from gis.sheets import devanagari_font
from tests.app.apihelp import PLACE_FORM, counts, expect_problem, plan_through_job
from tests.app.test_cli_intake import (
    households_only,
    lucknow_without_zones,
    with_unnumbered_piece,
    zipped_shapefile,
)
from tests.gis.pdfglyphs import harfbuzz_glyph_names, pdf_glyph_names
from tests.gis.test_slum_points import write_slum_points

pytestmark = pytest.mark.slow


def upload(client: TestClient, city: str, wards: Path, census: Path | None, **form: str) -> Any:
    files: dict[str, tuple[str, bytes]] = {"file": (wards.name, wards.read_bytes())}
    if census is not None:
        files["population_table"] = (census.name, census.read_bytes())
    return client.post(f"/cities/{city}/layers", files=files, data={**PLACE_FORM, **form})


def plan_city(
    client: TestClient, factory: sessionmaker[Session], city: str, tmp_path: Path, count: int = 3
) -> Any:
    """Import illustrative COs drawn on the stored wards, plan through a job; the plan passes."""
    page = client.get(f"/cities/{city}/layers/1/wards", params={"limit": 1000}).json()
    wards = gpd.GeoDataFrame.from_features(page["features"], crs="EPSG:4326")
    csv = write_organisers_csv(illustrative_organisers(wards, count, seed=7), tmp_path / "co.csv")
    imported = client.post(
        f"/cities/{city}/organisers", files={"file": ("co.csv", csv.read_bytes(), "text/csv")}
    )
    assert imported.status_code == 201, imported.text
    _, plan = plan_through_job(client, factory, city, {"tolerance": 0.3, "time_limit": 20})
    assert plan.check.passed, plan.check.violations
    return plan


def test_zero_padded_ids_upload_and_plan(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")
    frame["ward_no"] = [f"{int(w):02d}" for w in frame["ward_id"]]
    wards = zipped_shapefile(frame[["ward_no", "geometry"]], tmp_path, "padded")
    census = shared_data / "chandigarh/census2011_wards.csv"

    response = upload(client, "padded", wards, census)
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert layer.ward_count == 26
    assert any("ward '01' = table '1'" in w for w in layer.warnings)
    plan_city(client, session_factory, "padded", tmp_path)


def test_sliver_absorbed_duplicate_merged_through_the_api(
    client: TestClient,
    session_factory: sessionmaker[Session],
    shared_data: Path,
    tmp_path: Path,
) -> None:
    raw = gpd.read_file(shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip")
    frame = with_unnumbered_piece(raw, "12", metres=20)
    wards = zipped_shapefile(frame[["Ward_name", "Population", "geometry"]], tmp_path, "sliver")
    census = shared_data / "chandigarh/census2011_wards.csv"

    response = upload(client, "sliver", wards, census, exclude="reserve", merge="5")
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert layer.ward_count == 26
    assert any(w.startswith("absorbed feature 28 (no ward id, 200 m²") for w in layer.warnings)
    plan = plan_city(client, session_factory, "sliver", tmp_path)
    with session_factory() as session:
        stored = session.get(Plan, plan.id)
        assert stored is not None
        absorbed = stored.report["unnumbered"]["absorbed"]
    assert absorbed["count"] == 1
    assert absorbed["area_m2"] == pytest.approx(200, abs=1)
    assert absorbed["features"][0]["into_ward"] == "12"


def test_larger_unnumbered_feature_refused_then_mended_by_the_upload_options(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    raw = gpd.read_file(shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip")
    frame = with_unnumbered_piece(raw, "12", metres=200)
    wards = zipped_shapefile(frame[["Ward_name", "Population", "geometry"]], tmp_path, "big")
    census = shared_data / "chandigarh/census2011_wards.csv"
    form = {"exclude": "reserve", "merge": "5"}

    with session_factory() as session:
        before = counts(session.connection())
    problem = expect_problem(upload(client, "big", wards, census, **form), 422)
    refusal = next(e for e in problem.errors if e.feature == 28)
    assert "more than a sliver" in refusal.message
    assert "`feature_ids`" in refusal.message
    assert "`exclude_features`" in refusal.message
    with session_factory() as session:
        assert counts(session.connection()) == before  # nothing stored

    bad = upload(client, "big", wards, census, **form, feature_ids="28:12")
    assert "write FEATURE=ID" in expect_problem(bad, 422).errors[0].message

    mended = upload(
        client, "big", wards, census, exclude="reserve", merge="5,12", feature_ids="28=12"
    )
    assert mended.status_code == 201, mended.text
    assert any("was given ward id '12'" in w for w in mended.json()["warnings"])

    excluded = upload(client, "big2", wards, census, **form, exclude_features="28")
    assert excluded.status_code == 201, excluded.text
    report = LayerOut.model_validate(excluded.json())
    assert "excluded 1 feature(s) by number: 28 (no id)" in report.warnings
    with session_factory() as session:
        row = session.scalars(
            select(WardLayer)
            .join(City, WardLayer.city_id == City.id)
            .where(City.code == "big2", WardLayer.version == 1)
        ).one()
        excluded = row.validation_report["unnumbered"]["excluded"]
    assert excluded["count"] == 1
    assert excluded["area_m2"] == pytest.approx(20_000, rel=1e-3)
    assert excluded["features"] == [
        {"feature": 28, "ward_id": None, "area_m2": excluded["area_m2"]}
    ]


def test_households_only_layer_stored_and_planned(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = households_only(shared_data, tmp_path)
    response = upload(client, "hh", wards, None)
    assert response.status_code == 201, response.text

    with session_factory() as session:
        stored = session.scalars(select(Ward).order_by(Ward.id)).all()
        assert len(stored) == 26
        assert all(w.population is None and w.households for w in stored)
    plan = plan_city(client, session_factory, "hh", tmp_path)
    geo = client.get(f"/cities/hh/plans/{plan.id}/wards.geojson").json()
    estimates = [f["properties"]["poor_households_est"] for f in geo["features"]]
    total = gpd.read_file(wards)["households"].sum()
    assert sum(estimates) == pytest.approx(0.275 * total, abs=2)
    with session_factory() as session:  # the source of every ward's figure, in the report
        report = session.get(Plan, plan.id).report  # type: ignore[union-attr]
    assert report["poverty_sources"]["wards_by_source"] == {"estimate: households × rate": 26}


HINDI = {"1": "सेक्टर एक", "2": "श्रीनगर", "3": "हज़रतगंज"}


def test_hindi_ward_names_through_the_upload_reach_the_sheets(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "chandigarh/wards.geojson"
    names = "ward_id,name_en,name_hi\n" + "".join(f"{w},Sector {w},{h}\n" for w, h in HINDI.items())
    files = {
        "file": (wards.name, wards.read_bytes()),
        "ward_names": ("नाम.csv", names.encode("utf-8")),
    }
    response = client.post("/cities/named/layers", files=files, data=PLACE_FORM)
    assert response.status_code == 201, response.text

    page = client.get("/cities/named/layers/1/wards", params={"limit": 1000}).json()
    by_id = {f["properties"]["ward_id"]: f["properties"] for f in page["features"]}
    for ward, hindi in HINDI.items():
        assert by_id[ward]["ward_name_hi"] == hindi  # exactly as sent
        assert by_id[ward]["ward_name"] == f"Sector {ward}"
    assert by_id["4"]["ward_name_hi"] is None

    plan = plan_city(client, session_factory, "named", tmp_path)
    assigned = client.get(f"/cities/named/plans/{plan.id}/wards.geojson").json()["features"]
    owner = next(
        f["properties"]["organiser_id"] for f in assigned if f["properties"]["ward_id"] == "3"
    )
    pdf = client.get(f"/cities/named/plans/{plan.id}/organisers/{owner}/sheet.pdf")
    assert pdf.status_code == 200, pdf.text
    font = str(font_manager.findfont(devanagari_font(), fallback_to_default=False))
    glyphs = pdf_glyph_names(pdf.content, page=0)
    shaped = harfbuzz_glyph_names(font, HINDI["3"])
    assert any(glyphs[i : i + len(shaped)] == shaped for i in range(len(glyphs)))


def test_ward_names_for_unknown_wards_are_refused(client: TestClient, shared_data: Path) -> None:
    wards = shared_data / "chandigarh/wards.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "ward_names": ("names.csv", "ward_id,name_en,name_hi\n99,X,कहीं\n".encode()),
    }
    problem = expect_problem(
        client.post("/cities/named2/layers", files=files, data=PLACE_FORM), 422
    )
    assert problem.errors[0].ward_id == "99"
    assert "no such ward in the layer" in problem.errors[0].message


def test_poverty_table_upload_and_plan_name_each_wards_source(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "chandigarh/wards.geojson"
    rows = "".join(f"{w},{100 * w}\n" for w in range(1, 27) if w != 9)
    files = {
        "file": (wards.name, wards.read_bytes()),
        "poverty_table": ("slum_hh.csv", ("ward_no,slum_households\n" + rows).encode()),
    }
    response = client.post("/cities/poor/layers", files=files, data=PLACE_FORM)
    assert response.status_code == 201, response.text
    plan = plan_city(client, session_factory, "poor", tmp_path)

    features = client.get(f"/cities/poor/plans/{plan.id}/wards.geojson").json()["features"]
    source = {f["properties"]["ward_id"]: f["properties"]["poverty_source"] for f in features}
    estimate = {
        f["properties"]["ward_id"]: f["properties"]["poor_households_est"] for f in features
    }
    assert source["12"] == "poverty table slum_hh.csv (slum_households)"
    assert estimate["12"] == 1200
    assert source["9"] == "estimate: population × rate ÷ household size"
    with session_factory() as session:
        stored = session.get(Plan, plan.id)
        assert stored is not None
        assert stored.report["poverty_sources"]["by_ward"] == source


@pytest.mark.slow
def test_mumbai_slum_layer_upload_and_plan(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    slums = shared_data / "mumbai_slum_clusters/slum_clusters.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "slum_layer": (slums.name, slums.read_bytes()),
    }
    refused = client.post("/cities/mumbai/layers", files=files, data=PLACE_FORM)
    assert "slum_households_total" in expect_problem(refused, 422).errors[0].message

    form = {"slum_households_total": "1000000"}  # ILLUSTRATIVE city total
    response = client.post("/cities/mumbai/layers", files=files, data={**PLACE_FORM, **form})
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert any("fell outside every ward" in w for w in layer.warnings)
    plan = plan_city(client, session_factory, "mumbai", tmp_path, count=4)
    features = client.get(f"/cities/mumbai/plans/{plan.id}/wards.geojson").json()["features"]
    assert {f["properties"]["poverty_source"] for f in features} == {
        "slum layer slum_clusters.geojson (1,000,000 slum households spread by area; "
        "slum_clusters.geojson: left out 1 slum polygon(s) with an empty geometry: 917, "
        "area-weighted)"
    }
    total = sum(f["properties"]["poor_households_est"] for f in features)
    assert total == pytest.approx(999_596, abs=2)
    with session_factory() as session:  # the report names the same source for every ward
        report = session.get(Plan, plan.id).report  # type: ignore[union-attr]
    assert set(report["poverty_sources"]["by_ward"].values()) == {
        f["properties"]["poverty_source"] for f in features
    }


@pytest.mark.slow
def test_lucknow_zone_layer_upload_and_plan_respecting_zones(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = lucknow_without_zones(shared_data, tmp_path)
    zones = shared_data / "lucknow/zones.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "zones_layer": (zones.name, zones.read_bytes()),
    }
    response = client.post("/cities/lko/layers", files=files, data=PLACE_FORM)
    assert response.status_code == 201, response.text
    layer_warnings = response.json()["warnings"]  # the layer version's report: the zones' source
    assert "1 ward(s) lie in several zones: 96 (2 96 %, 1 4 %)" in layer_warnings
    assert any(
        w.startswith("zones from zones.geojson: each ward in the zone it") for w in layer_warnings
    )

    page = client.get("/cities/lko/layers/1/wards", params={"limit": 1000}).json()
    frame = gpd.GeoDataFrame.from_features(page["features"], crs="EPSG:4326")
    assert frame["zone"].nunique() == 6
    csv = write_organisers_csv(illustrative_organisers(frame, 7, seed=2017), tmp_path / "co.csv")
    imported = client.post(
        "/cities/lko/organisers", files={"file": ("co.csv", csv.read_bytes(), "text/csv")}
    )
    assert imported.status_code == 201, imported.text
    body = {"tolerance": 0.5, "time_limit": 30, "respect_zones": True}
    _, plan = plan_through_job(client, session_factory, "lko", body)
    assert plan.check.passed, plan.check.violations
    features = client.get(f"/cities/lko/plans/{plan.id}/wards.geojson").json()["features"]
    zones_of: dict[str, set[str]] = {}
    for f in features:
        zones_of.setdefault(f["properties"]["organiser_id"], set()).add(f["properties"]["zone"])
    assert all(len(z) == 1 for z in zones_of.values())


def test_mumbai_slum_points_upload_and_plan(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    points = write_slum_points(shared_data, tmp_path / "slum_points.geojson")
    files = {
        "file": (wards.name, wards.read_bytes()),
        "slum_layer": (points.name, points.read_bytes()),
    }
    response = client.post("/cities/mumbai/layers", files=files, data=PLACE_FORM)
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert any("far-sea (400 households)" in w for w in layer.warnings)
    plan = plan_city(client, session_factory, "mumbai", tmp_path, count=4)
    features = client.get(f"/cities/mumbai/plans/{plan.id}/wards.geojson").json()["features"]
    sources = {f["properties"]["poverty_source"] for f in features}
    assert len(sources) == 1
    assert sources.pop().startswith(
        "slum points slum_points.geojson (households of each slum point"
    )
    total = sum(f["properties"]["poor_households_est"] for f in features)
    placed = gpd.read_file(points)["households"].sum() - 400
    assert total == pytest.approx(placed, abs=2)


@pytest.mark.slow
def test_mumbai_split_through_the_upload_and_planned(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    slums = shared_data / "mumbai_slum_clusters/slum_clusters.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "slum_layer": (slums.name, slums.read_bytes()),
    }
    bad = client.post(
        "/cities/split/layers", files=files, data={**PLACE_FORM, "split_wards": "P/N"}
    )
    assert expect_problem(bad, 422).errors[0].value == "P/N"

    form = {"slum_households_total": "1000000", "split_above": "40000", "split_wards": "A=2"}
    response = client.post("/cities/split/layers", files=files, data={**PLACE_FORM, **form})
    assert response.status_code == 201, response.text
    assert LayerOut.model_validate(response.json()).ward_count == 40  # 39 as in the CLI, A in 2
    page = client.get("/cities/split/layers/1/wards", params={"limit": 1000}).json()
    names = {f["properties"]["ward_id"]: f["properties"]["ward_name"] for f in page["features"]}
    assert names["P/N/2"] == "P/North (part 2 of 3)"
    assert names["A/1"] == "A (part 1 of 2)"
    assert "P/N" not in names

    plan = plan_city(client, session_factory, "split", tmp_path, count=10)
    features = client.get(f"/cities/split/plans/{plan.id}/wards.geojson").json()["features"]
    assert len(features) == 40
    assert max(f["properties"]["poor_households_est"] for f in features) <= 40_000
    # the served map draws each split ward over its units
    page = client.get(f"/cities/split/plans/{plan.id}/map")
    assert page.status_code == 200, page.text
    assert "ward P/N (3 parts)" in page.text
    assert "ward A (2 parts)" in page.text
    assert "wp-parent" in page.text
