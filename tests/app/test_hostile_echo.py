"""Every refusal that echoes user text escapes its markup and cuts its size, on the CLI and over HTTP.

A hostile name — markup (``<script>``, ``<img onerror=…>``), a bidi override and 200,000
characters — is put where each refusal path echoes it: duplicate ids (both features' names), a
count that is text, a name with a control character, a column name when no id column is found, a
field named in the request, a CRS, the file's name. The reply must carry no markup and no bidi
control, and stay small; the escaped text shows the echo is there (or the part of it cut short).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from typer.testing import CliRunner

from app.cli import cli
from tests.app.apihelp import PLACE_FORM, counts

MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)>"
#: Short enough for a form field (200 characters) and a file name.
SHORT = MARKUP + "\u202e"
#: The hostile text a file may carry.
LONG = SHORT + "x" * 200_000
#: Echoed markup, escaped: proof that the text is shown, not dropped.
ESCAPED = "&lt;script&gt;"
#: The most any reply may hold (the 200,000-character name must not be echoed whole).
MAX_REPLY = 30_000


@dataclass
class Case:
    id: str
    edit: Callable[[list[dict[str, Any]]], None]
    options: dict[str, str] = field(default_factory=dict)
    filename: str = "wards.geojson"
    echoes: bool = True  # whether the reply shows (part of) the hostile text


def _set(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def edit(features: list[dict[str, Any]]) -> None:
        features[index]["properties"][key] = value

    return edit


def _duplicate(features: list[dict[str, Any]]) -> None:
    for feature in features[:2]:
        feature["properties"]["ward_id"] = "7"
        feature["properties"]["ward_name"] = LONG


def _hostile_columns(features: list[dict[str, Any]]) -> None:
    for feature in features:
        feature["properties"] = {f"{SHORT}{k}": v for k, v in feature["properties"].items()}


CASES = [
    Case("duplicate-id-names", _duplicate),
    Case("count-is-text", _set(1, "population", LONG)),
    Case("name-with-controls", _set(2, "ward_name", LONG)),
    Case("column-names-listed", _hostile_columns),
    Case("named-field-absent", lambda _: None, {"id_field": SHORT}),
    Case("crs-refused", lambda _: None, {"crs": SHORT}),
    Case("file-name", _duplicate, filename="<img src=x onerror=alert(2)><b>.geojson"),
]

CLI_OPTION = {"id_field": "--id-field", "crs": "--crs"}


@pytest.fixture(scope="module")
def features(shared_data: Path) -> list[dict[str, Any]]:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return list(doc["features"][:5])


def geojson(features: list[dict[str, Any]], case: Case) -> bytes:
    copied = json.loads(json.dumps(features))
    case.edit(copied)
    return json.dumps({"type": "FeatureCollection", "features": copied}).encode()


def assert_safe(text: str, case: Case) -> None:
    assert len(text) < MAX_REPLY, len(text)
    for raw in ("<script", "<img", "onerror=alert(2)>", "\u202e"):
        assert raw not in text, text[:2000]
    if case.echoes:
        assert ESCAPED in text or "\\u202e" in text, text[:2000]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_api_escapes_and_cuts_echoed_text(
    case: Case, features: list[dict[str, Any]], client: TestClient, db_connection: Connection
) -> None:
    before = counts(db_connection)
    response = client.post(
        "/cities/echo/layers",
        files={"file": (case.filename, geojson(features, case))},
        data={**PLACE_FORM, **case.options},
    )
    assert response.status_code in (400, 422), response.text[:2000]
    assert response.headers["content-type"] == "application/problem+json"
    assert_safe(response.text, case)
    body = response.json()
    assert len(body["detail"]) <= 4000
    for error in body["errors"]:
        assert len(error["message"]) <= 1000
        assert error["value"] is None or len(error["value"]) <= 200
    assert counts(db_connection) == before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_cli_escapes_and_cuts_echoed_text(
    case: Case, features: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / case.filename
    path.write_bytes(geojson(features, case))
    args = [str(path)]
    for key, value in case.options.items():
        args += [CLI_OPTION[key], value]
    result = CliRunner().invoke(cli, ["requirement", *args])
    assert result.exit_code == 2, result.output[:2000]
    assert result.output.startswith("error: "), result.output[:2000]
    assert_safe(result.output, case)
