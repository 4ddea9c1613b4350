"""Strings from a client that used to end in a 500 or in a misleading answer, on the real PostGIS.

A non-ASCII map signature, JSON bodies with unpaired surrogate escapes (as a value and as a key),
a NUL in a text id, values the database refuses under ``/ogc`` (400 there, as OGC API – Features
wants), organiser ids and names holding U+202E, U+FFFD (bytes that were not UTF-8) or a NUL, and
the wording of a refused JSON organiser (no CSV file name or line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.apihelp import PLACE_FORM

CITY = "inputs"


@pytest.fixture
def city(client: TestClient, shared_data: Path) -> str:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    small = json.dumps({**doc, "features": doc["features"][:6]}).encode()
    response = client.post(
        f"/cities/{CITY}/layers", files={"file": ("wards.geojson", small)}, data=PLACE_FORM
    )
    assert response.status_code == 201, response.text
    return CITY


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_a_non_ascii_signature_is_refused_not_a_500(client: TestClient, city: str) -> None:
    params = {"expires": 9_999_999_999, "homes": "coarse", "sig": "é" * 64}
    response = TestClient(client.app).get(f"/cities/{city}/plans/1/map", params=params)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    "body", [b'{"tolerance": "\\ud800"}', b'{"\\udc00": 1}', b'{"time_limit": "\\ud800\\u0000"}']
)
def test_unpaired_surrogates_in_a_json_body_are_a_422(
    client: TestClient, city: str, body: bytes
) -> None:
    response = client.post(
        f"/cities/{city}/plans", content=body, headers={"content-type": "application/json"}
    )
    found = problem(response, 422)
    assert found["type"] == "/problems/invalid-request"
    assert "\ud800" not in response.text


def test_a_nul_in_a_text_id_is_named_as_such(client: TestClient, city: str) -> None:
    found = problem(client.delete(f"/cities/{city}/organisers/a%00b"), 422)
    assert found["type"] == "/problems/bad-text"
    assert "NUL" in found["detail"]
    assert "64 bits" not in found["detail"]


def test_ogc_answers_400_for_a_value_the_database_refuses(client: TestClient, city: str) -> None:
    response = client.get(
        f"/ogc/collections/{city}-wards/items", params={"offset": 10**20, "limit": 5}
    )
    found = problem(response, 400)
    assert found["type"] == "/problems/out-of-range"


@pytest.mark.parametrize(
    ("organiser_id", "name", "field", "says"),
    [
        ("co\u202e1", "Sunita", "organiser_id", "U+202E"),
        ("co%FF1", "Sunita", "organiser_id", "U+FFFD"),
        ("co1", "Sun\u202eita", "name", "U+202E"),
        ("co1", "Sun\x00ita", "name", "NUL"),
    ],
    ids=["rlo-in-id", "invalid-utf8-in-id", "rlo-in-name", "nul-in-name"],
)
def test_organiser_text_is_checked_as_uploads_are(
    client: TestClient, city: str, organiser_id: str, name: str, field: str, says: str
) -> None:
    body = {"name": name, "home_ward": "1"}
    response = client.put(f"/cities/{city}/organisers/{organiser_id}", json=body)
    found = problem(response, 422)
    assert found["type"] == "/problems/bad-text", found
    assert [e["field"] for e in found["errors"]] == [field]
    assert says in found["errors"][0]["message"]
    assert client.get(f"/cities/{city}/organisers").json() == []


def test_organisers_csv_with_a_bidi_override_is_refused(client: TestClient, city: str) -> None:
    csv = "organiser_id,name,home_ward\nco\u202e1,Sunita,1\n".encode()
    response = client.post(f"/cities/{city}/organisers", files={"file": ("cos.csv", csv)})
    found = problem(response, 422)
    assert found["errors"][0]["code"] == "bad-text"
    assert "line 2" in found["errors"][0]["message"]


def test_a_refused_json_organiser_is_told_in_json_terms(client: TestClient, city: str) -> None:
    response = client.put(
        f"/cities/{city}/organisers/co9", json={"name": "Asha", "home_ward": "999"}
    )
    found = problem(response, 422)
    text = json.dumps(found)
    assert "organiser 'co9' was refused" in found["title"]
    assert "999" in text
    assert "organiser.csv" not in text
    assert "line 2" not in text


def test_the_schema_gives_download_media_types_and_public_ogc(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    def content(path: str) -> list[str]:
        return list(paths[path]["get"]["responses"]["200"]["content"])

    assert content("/cities/{city}/plans/{plan_id}/wards.geojson") == ["application/geo+json"]
    assert content("/cities/{city}/plans/{plan_id}/areas.geojson") == ["application/geo+json"]
    assert content("/cities/{city}/plans/{plan_id}/assignment.csv") == ["text/csv"]
    assert content("/ogc/collections/{collection_id}/items") == ["application/geo+json"]
    for path, item in paths.items():
        if path.startswith("/ogc"):
            assert item["get"]["security"][0] == {}, path
    assert {} not in paths["/cities/{city}/plans/{plan_id}/wards.geojson"]["get"]["security"]
    public = TestClient(client.app).get("/ogc/collections")
    assert public.status_code == 200
