"""OGC API – Features on the real PostGIS, through FastAPI's TestClient (GDAL's client: see
``test_features_gdal.py``).

One module fixture stores Chandigarh (26 wards, an approved plan of 4 COs) and the same wards as a
second city without a plan, inside a transaction rolled back at the end of the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.api.features import CONFORMANCE, MAX_LIMIT
from app.db.session import session_scope
from app.services import layers
from tests.app.apihelp import TEST_PLACE, expect_problem, issue_key, make_app, ward_to_co
from tests.app.plandata import ORGANISER_NAME_HI, WARD_NAME_HI, SmallCity, load_small_city

pytestmark = pytest.mark.slow

CITY, OTHER = "chandigarh", "chandigarh-east"
SLASHED_ID = "1/A"  # the other city's first ward: ids may hold a slash
MINE = (f"{CITY}-wards", f"{CITY}-plan-areas", f"{CITY}-plan-wards", f"{OTHER}-wards")


@pytest.fixture(scope="module")
def ogc(migrated_engine: Engine, shared_data: Path) -> Iterator[tuple[TestClient, SmallCity]]:
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                city = load_small_city(session, shared_data, CITY, approve=True)
                fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text())
                fc["features"][0]["properties"]["ward_id"] = SLASHED_ID
                data = json.dumps(fc).encode()
                layers.upload_layer(
                    session, OTHER, layers.Upload("wards.geojson", data), place=TEST_PLACE
                )
            headers = issue_key(factory, "tests-admin", "admin")
            with TestClient(make_app(factory), headers=headers) as client:
                yield client, city
        finally:
            outer.rollback()


@pytest.fixture(scope="module")
def file_wards(shared_data: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(shared_data / "chandigarh" / "wards.geojson")


def _get(client: TestClient, url: str, **params: Any) -> Any:
    """GET an absolute link of the API (the TestClient's host is http://testserver)."""
    path = url.removeprefix("http://testserver")
    response = client.get(path, params=params) if params else client.get(path)
    assert response.status_code == 200, response.text
    return response


def _links(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in body["links"]}


def test_landing_page_links_resolve(ogc: tuple[TestClient, SmallCity]) -> None:
    client, _ = ogc
    landing = _get(client, "/ogc").json()
    links = _links(landing)
    assert set(links) >= {"self", "service-desc", "service-doc", "conformance", "data"}
    assert all(link["href"].startswith("http://testserver/") for link in landing["links"])
    api = _get(client, links["service-desc"]["href"]).json()
    assert "/ogc/collections/{collection_id}/items" in api["paths"]
    conformance = _get(client, links["conformance"]["href"]).json()
    assert conformance["conformsTo"] == list(CONFORMANCE)
    assert any(c.endswith("/conf/core") for c in conformance["conformsTo"])
    assert any(c.endswith("/conf/geojson") for c in conformance["conformsTo"])
    assert _get(client, links["data"]["href"]).json()["collections"]


def test_collections_and_extents(
    ogc: tuple[TestClient, SmallCity], file_wards: gpd.GeoDataFrame
) -> None:
    client, _ = ogc
    body = _get(client, "/ogc/collections").json()
    listed = {c["id"]: c for c in body["collections"]}
    assert [i for i in listed if i in MINE] == list(MINE)
    assert f"{OTHER}-plan-areas" not in listed  # no approved plan, no plan collections
    bounds = file_wards.total_bounds
    for cid in (f"{CITY}-wards", f"{CITY}-plan-wards", f"{OTHER}-wards"):
        (bbox,) = listed[cid]["extent"]["spatial"]["bbox"]
        assert bbox == pytest.approx(list(bounds), abs=1e-6), cid
    (areas_bbox,) = listed[f"{CITY}-plan-areas"]["extent"]["spatial"]["bbox"]
    assert areas_bbox == pytest.approx(list(bounds), abs=0.01)  # areas are closed by buffering
    one = _get(client, f"/ogc/collections/{CITY}-wards").json()
    assert one == listed[f"{CITY}-wards"]
    assert one["itemType"] == "feature"
    items_link = _links(one)["items"]
    assert items_link["type"] == "application/geo+json"
    assert items_link["href"] == f"http://testserver/ogc/collections/{CITY}-wards/items"


def test_items_page_through_every_ward(
    ogc: tuple[TestClient, SmallCity], file_wards: gpd.GeoDataFrame
) -> None:
    client, _ = ogc
    response = _get(client, f"/ogc/collections/{CITY}-wards/items", limit=10)
    assert response.headers["content-type"] == "application/geo+json"
    seen: list[str] = []
    pages = 0
    while True:
        page = response.json()
        assert page["numberMatched"] == 26
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        links = _links(page)
        assert ("prev" in links) == (pages > 0)
        pages += 1
        if "next" not in links:
            break
        response = _get(client, links["next"]["href"])
    assert pages == 3
    assert seen == [str(w) for w in file_wards["ward_id"]]  # file order, each ward once
    capped = _get(client, f"/ogc/collections/{CITY}-wards/items", limit=MAX_LIMIT + 5).json()
    assert capped["numberReturned"] == 26
    assert "next" not in _links(capped)


def test_items_bbox_matches_the_geometry(
    ogc: tuple[TestClient, SmallCity], file_wards: gpd.GeoDataFrame
) -> None:
    client, _ = ogc
    x, y = file_wards.geometry.iloc[0].representative_point().coords[0]
    box = (x - 0.01, y - 0.01, x + 0.01, y + 0.01)
    expected = sorted(
        str(w)
        for w, g in zip(file_wards["ward_id"], file_wards.geometry, strict=True)
        if g.intersects(shapely.box(*box))
    )
    bbox = ",".join(f"{v:.6f}" for v in box)
    page = _get(client, f"/ogc/collections/{CITY}-wards/items", bbox=bbox, limit=2).json()
    assert page["numberMatched"] == len(expected)
    assert 1 <= len(expected) < 26
    if len(expected) > 2:
        assert f"bbox={bbox.replace(',', '%2C')}" in _links(page)["next"]["href"]
    every = _get(client, f"/ogc/collections/{CITY}-wards/items", bbox=bbox).json()
    assert sorted(f["id"] for f in every["features"]) == expected
    problem = expect_problem(client.get(f"/ogc/collections/{CITY}-wards/items?bbox=1,2,x"), 400)
    assert problem.type == "/problems/bad-bbox"


def test_one_ward_with_its_hindi_name(ogc: tuple[TestClient, SmallCity]) -> None:
    client, _ = ogc
    response = _get(client, f"/ogc/collections/{CITY}-wards/items/1")
    assert response.headers["content-type"] == "application/geo+json"
    ward = response.json()
    assert ward["id"] == "1"
    assert ward["properties"]["ward_name"] == WARD_NAME_HI
    assert ward["properties"]["population"] == 24686
    assert ward["geometry"]["type"] == "MultiPolygon"
    assert _links(ward)["self"]["href"] == f"http://testserver/ogc/collections/{CITY}-wards/items/1"


def test_approved_plan_collections(ogc: tuple[TestClient, SmallCity]) -> None:
    client, city = ogc
    csv_text = client.get(f"/cities/{CITY}/plans/{city.plan_id}/assignment.csv").text
    assignment = ward_to_co(csv_text)
    wards = _get(client, f"/ogc/collections/{CITY}-plan-wards/items", limit=100).json()
    assert {f["id"]: f["properties"]["organiser_id"] for f in wards["features"]} == assignment
    areas_fc = client.get(f"/cities/{CITY}/plans/{city.plan_id}/areas.geojson").json()
    expected = {f["properties"]["organiser_id"]: f["properties"] for f in areas_fc["features"]}
    areas = _get(client, f"/ogc/collections/{CITY}-plan-areas/items").json()
    assert [f["id"] for f in areas["features"]] == ["CO-1", "CO-2", "CO-3", "CO-4"]
    for area in areas["features"]:
        props = area["properties"]
        want = expected[area["id"]]
        # the plan's areas (the CLI's schema) name the same figures n_wards, poor_households_est
        assert (props["name"], props["wards"]) == (want["name"], want["n_wards"])
        assert props["load"] == pytest.approx(want["poor_households_est"], abs=0.05)
        assert props["deviation_from_mean_pct"] == pytest.approx(
            want["deviation_from_mean_pct"], abs=0.01
        )
    one = _get(client, f"/ogc/collections/{CITY}-plan-areas/items/CO-1").json()
    assert one["properties"]["name"] == ORGANISER_NAME_HI
    assert sum(a["properties"]["wards"] for a in areas["features"]) == 26
    assert json.dumps(one["geometry"]).startswith('{"type": "MultiPolygon"')


def test_unknown_collections_and_features_are_problems(ogc: tuple[TestClient, SmallCity]) -> None:
    client, _ = ogc
    for cid in ("kanpur-wards", f"{OTHER}-plan-areas", f"{CITY}-rivers", "-wards", "wards"):
        problem = expect_problem(client.get(f"/ogc/collections/{cid}"), 404)
        assert problem.type == "/problems/not-found"
        expect_problem(client.get(f"/ogc/collections/{cid}/items"), 404)
    expect_problem(client.get(f"/ogc/collections/{CITY}-wards/items/999"), 404)
    expect_problem(client.get(f"/ogc/collections/{CITY}-plan-areas/items/CO-9"), 404)


def test_feature_id_with_a_slash(ogc: tuple[TestClient, SmallCity]) -> None:
    client, _ = ogc
    ward = _get(client, f"/ogc/collections/{OTHER}-wards/items/{SLASHED_ID}").json()
    assert ward["id"] == SLASHED_ID
    assert ward["properties"]["population"] == 24686


def test_invalid_query_values_are_400_here_and_422_elsewhere(
    ogc: tuple[TestClient, SmallCity],
) -> None:
    """OGC API – Features asks for 400 on an invalid parameter; the rest of the API keeps 422."""
    client, _ = ogc
    for query in ("limit=0", "limit=abc", "offset=-1"):
        problem = expect_problem(client.get(f"/ogc/collections/{CITY}-wards/items?{query}"), 400)
        assert problem.type == "/problems/invalid-request"
        assert problem.status == 400
    problem = expect_problem(client.get(f"/cities/{CITY}/layers/1/wards?limit=0"), 422)
    assert problem.type == "/problems/invalid-request"


def test_openapi_states_the_limit_maximum() -> None:
    from app.api.features import MAX_LIMIT
    from app.main import create_app

    spec = create_app().openapi()
    parameters = [
        p
        for path, item in spec["paths"].items()
        if path.endswith("/items")
        for p in item["get"]["parameters"]
        if p["name"] == "limit"
    ]
    assert parameters
    for parameter in parameters:
        assert parameter["schema"]["maximum"] == MAX_LIMIT
        assert parameter["schema"]["minimum"] == 1
