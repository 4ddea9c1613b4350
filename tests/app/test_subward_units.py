"""Mumbai's large wards split into units of its own slum clusters (issue 15, item 6: a sub-ward
layer the city has), planned through the command line and through the API on the real PostGIS;
the sheets and the exports name each unit "… (part 2 of 3)".

The clusters carry no figure: the slum households are an ILLUSTRATIVE city total of 1,000,000
spread by cluster area (as in the other Mumbai tests), the wards' census population is spread over
their units by area."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import LayerOut
from tests.app.apihelp import PLACE_FORM
from tests.app.test_api_intake import plan_city
from tests.app.test_cli_intake import run
from tests.gis.pdfglyphs import pdf_text
from tests.gis.test_slum_points import write_slum_points

pytestmark = pytest.mark.slow

#: One CO's share of poor households for these tests (above it a ward is split).
SHARE = 40_000
#: Units of whole clusters are as equal as whole clusters allow: a unit may pass the share by a
#: little (bisection cuts clusters, and stays within it; see tests/app/test_cli_intake.py).
WHOLE_CLUSTER_ROOM = 1.15


def _args(shared_data: Path) -> list[str | Path]:
    clusters = shared_data / "mumbai_slum_clusters/slum_clusters.geojson"
    return [
        shared_data / "mumbai_admin_wards/wards.geojson",
        "--slum-layer",
        clusters,
        "--slum-households-total",
        "1000000",
        "--split-above",
        str(SHARE),
        "--subward-layer",
        clusters,
    ]


def test_mumbai_split_into_slum_cluster_units_through_the_cli(
    shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    orgs = tmp_path / "organisers.csv"
    code, text = run("example-organisers", wards, "--count", 10, "--out", orgs)
    assert code == 0, text
    out = tmp_path / "plan"
    code, text = run(
        "allocate",
        *_args(shared_data),
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
    assert "into units of whole features of slum_clusters.geojson" in text
    planned = gpd.read_file(out / "plan.geojson")
    assert len(planned) == 39  # the 10 wards above 40,000 as in the bisection test: 24 - 10 + 25
    units = planned[planned["part"] != ""]
    assert units["poor_households_est"].max() <= SHARE * WHOLE_CLUSTER_ROOM
    assert planned["poor_households_est"].sum() == pytest.approx(999_596, abs=1)
    row = planned.loc[planned["ward_id"] == "P/N/2"].iloc[0]
    assert (row["parent"], row["part"], row["ward_name"]) == (
        "P/N",
        "2 of 3",
        "P/North (part 2 of 3)",
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["split_wards"]["P/N/2"] == ["P/N", 2, 3]
    assert any("P/N: " in w and "features" in w for w in report["warnings"])
    assert "(part 2 of 3)" in pdf_text(out / "co-sheets.pdf")
    gpkg = gpd.read_file(out / "plan.gpkg", layer="plan_wards")
    assert "P/North (part 2 of 3)" in set(gpkg["ward_name"])


def test_mumbai_split_into_slum_cluster_units_through_the_api(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    clusters = shared_data / "mumbai_slum_clusters/slum_clusters.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "slum_layer": (clusters.name, clusters.read_bytes()),
        "subward_layer": (clusters.name, clusters.read_bytes()),
    }
    form = {"slum_households_total": "1000000", "split_above": str(SHARE)}
    response = client.post("/cities/units/layers", files=files, data={**PLACE_FORM, **form})
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert layer.ward_count == 39
    assert any("into units of whole features of slum_clusters.geojson" in w for w in layer.warnings)

    plan = plan_city(client, session_factory, "units", tmp_path, count=10)
    features = client.get(f"/cities/units/plans/{plan.id}/wards.geojson").json()["features"]
    props = {f["properties"]["ward_id"]: f["properties"] for f in features}
    assert props["P/N/2"]["ward_name"] == "P/North (part 2 of 3)"
    holder = props["P/N/2"]["organiser_id"]
    sheet = client.get(f"/cities/units/plans/{plan.id}/organisers/{holder}/sheet.pdf")
    assert sheet.status_code == 200, sheet.text
    (tmp_path / "co.pdf").write_bytes(sheet.content)
    assert "(part 2 of 3)" in pdf_text(tmp_path / "co.pdf")
    gpkg = client.get(f"/cities/units/plans/{plan.id}/plan.gpkg")
    assert gpkg.status_code == 200, gpkg.text
    (tmp_path / "plan.gpkg").write_bytes(gpkg.content)
    names = set(gpd.read_file(tmp_path / "plan.gpkg", layer="plan_wards")["ward_name"])
    assert "P/North (part 2 of 3)" in names


def test_slum_point_metres_through_the_cli(shared_data: Path, tmp_path: Path) -> None:
    """The nearest-ward rule's 100 m as an option: 0 m places only the points inside a ward,
    6000 m also the point 5 km out at sea; beyond the range is refused naming the option."""
    points = write_slum_points(shared_data, tmp_path / "slum_points.geojson")
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    code, text = run("requirement", wards, "--slum-layer", points, "--slum-point-metres", "0")
    assert code == 0, text
    assert "2 point(s) lie farther than 0 m from every ward" in text
    code, text = run("requirement", wards, "--slum-layer", points, "--slum-point-metres", "6000")
    assert code == 0, text
    assert "far-sea → ward" in text
    assert "2 outside every ward joined the nearest within 6000 m" in text
    assert "lie farther than" not in text
    code, text = run("requirement", wards, "--slum-layer", points, "--slum-point-metres", "-5")
    assert code == 2
    assert "--slum-point-metres -5.0: give metres from 0 to 10000" in text


def test_slum_point_metres_through_the_upload(
    client: TestClient, shared_data: Path, tmp_path: Path
) -> None:
    wards = shared_data / "mumbai_admin_wards/wards.geojson"
    points = write_slum_points(shared_data, tmp_path / "slum_points.geojson")
    files = {
        "file": (wards.name, wards.read_bytes()),
        "slum_layer": (points.name, points.read_bytes()),
    }
    form = {**PLACE_FORM, "slum_point_metres": "0"}
    response = client.post("/cities/points0/layers", files=files, data=form)
    assert response.status_code == 201, response.text
    warnings = LayerOut.model_validate(response.json()).warnings
    assert any("2 point(s) lie farther than 0 m from every ward" in w for w in warnings)
    refused = client.post(
        "/cities/points0/layers", files=files, data={**form, "slum_point_metres": "20000"}
    )
    assert refused.status_code == 422, refused.text


def test_chandigarh_sectors_as_the_units_of_a_ward_and_an_identical_reupload(
    client: TestClient, shared_data: Path
) -> None:
    """Chandigarh's own sector layer (63 sectors, DataMeet) as the units of ward 13 split in two;
    the same files and options again answer the stored version."""
    wards = shared_data / "chandigarh/wards.geojson"
    sectors = shared_data / "chandigarh/raw/Chandigarh_Sectors.geojson"
    files = {
        "file": (wards.name, wards.read_bytes()),
        "subward_layer": (sectors.name, sectors.read_bytes()),
    }
    form = {**PLACE_FORM, "split_wards": "13=2", "subward_id_field": "Sector_nam"}
    response = client.post("/cities/sectors/layers", files=files, data=form)
    assert response.status_code == 201, response.text
    layer = LayerOut.model_validate(response.json())
    assert layer.ward_count == 27
    note = next(w for w in layer.warnings if "whole features of Chandigarh_Sectors" in w)
    assert "13 into 2" in note
    page = client.get("/cities/sectors/layers/1/wards", params={"limit": 1000}).json()
    names = {f["properties"]["ward_id"]: f["properties"]["ward_name"] for f in page["features"]}
    assert names["13/2"].endswith("(part 2 of 2)")

    again = client.post("/cities/sectors/layers", files=files, data=form)
    assert again.status_code == 200, again.text
    assert again.json()["identical"] is True
