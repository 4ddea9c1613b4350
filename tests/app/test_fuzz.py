"""Fuzzing: byte-mutated real uploads, and schemathesis against the app's own OpenAPI schema.

Both are bounded (fixed example counts, ``derandomize=True``: the same examples on every run, in
CI too) so the suite stays fast. Upload mutations must answer 2xx or 4xx, never 5xx; a 4xx stores
nothing, a 2xx stores exactly one layer with the wards it reports; no temp file is left.
Schemathesis checks every operation for 5xx and for responses outside the schema.

Auth: the uploads go out with an admin key; schemathesis runs every operation as each caller
(no key, GIS cell, CMMU, API client, admin).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import LayerOut
from tests.app.apihelp import PLACE_FORM, counts, expect_problem, issue_key, make_app
from tests.app.hostile import Base, load_base

pytestmark = pytest.mark.slow

#: Examples per input format (each is one upload through the route and PostGIS).
UPLOAD_EXAMPLES = 60
#: Examples per API operation for schemathesis.
API_EXAMPLES = 12  # per operation and caller: 33 operations × 5 callers

FUZZ = settings(
    max_examples=UPLOAD_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def api_headers(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """An admin key: the fuzzed uploads must get past the gate to reach the readers."""
    return issue_key(session_factory, "fuzz-admin", "admin")


#: Who calls in the schema test: no key, and each role (GIS cell and CMMU keys of one city).
ROLES: dict[str, tuple[str, str | None] | None] = {
    "anonymous": None,
    "gis": ("gis", "chandigarh"),
    "cmmu": ("cmmu", "chandigarh"),
    "api_client": ("api_client", None),
    "admin": ("admin", None),
}


@pytest.fixture(params=sorted(ROLES))
def role_headers(request: pytest.FixtureRequest, session_factory: sessionmaker[Session]) -> Any:
    """Headers of one caller of ROLES (schemathesis runs every operation as each of them)."""
    found = ROLES[request.param]
    if found is None:
        return {}
    role, city = found
    return issue_key(session_factory, f"fuzz-{request.param}", role, city)


@pytest.fixture(scope="module")
def base(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    return load_base(shared_data, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def chandigarh(shared_data: Path) -> dict[str, Any]:
    """Chandigarh's zipped shapefile exactly as published, with the census table and the options
    it needs (a "reserve" feature left out, ward 5's two parts merged)."""
    folder = shared_data / "chandigarh"
    table = (folder / "census2011_wards.csv").read_bytes()
    return {
        "zip": (folder / "raw" / "Chandigarh_Wards-SHP.zip").read_bytes(),
        "form": {
            "exclude": "reserve",
            "merge": "5",
            "files": {"population_table": ("census2011_wards.csv", table)},
        },
    }


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with 1–4 edits: a flipped byte, a deleted or duplicated run, junk inserted, a
    run overwritten with a "magic" value, or the tail cut off."""
    out = bytearray(data)
    magic = [b"\x00", b"\xff" * 4, b'"', b"{", b"<", b"NaN", b"-1", b"1e400", b"\\u0000", b"PK"]
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "delete", "duplicate", "insert", "magic", "cut"]))
        size = draw(st.integers(1, 64))
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del out[at : at + size]
        elif kind == "duplicate":
            out[at:at] = out[at : at + size]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=size))
        elif kind == "magic":
            value = draw(st.sampled_from(magic))
            out[at : at + len(value)] = value
        else:
            del out[at:]
    return bytes(out)


def post_and_check(
    client: TestClient,
    connection: Connection,
    scratch: Path,
    headers: dict[str, str],
    name: str,
    data: bytes,
    form: dict[str, Any],
) -> int:
    """Upload once; assert the no-5xx, all-or-nothing and no-leftover rules; return the status.

    ``form["files"]``, when there, holds more file parts (the census table).
    """
    before = counts(connection)
    fields = {**PLACE_FORM, **{k: v for k, v in form.items() if k != "files"}}
    files = {"file": (name, data), **form.get("files", {})}
    response = client.post("/cities/fuzz/layers", files=files, data=fields, headers=headers)
    assert response.status_code < 500, response.text
    after = counts(connection)
    if response.status_code == 200:  # the same bytes as the current version: nothing new stored
        assert LayerOut.model_validate(response.json()).identical
        assert after == before
    elif response.status_code == 201:
        layer = LayerOut.model_validate(response.json())
        assert after["ward_layer"] == before["ward_layer"] + 1
        assert after["ward"] == before["ward"] + layer.ward_count
    else:
        expect_problem(response, response.status_code)
        assert 400 <= response.status_code < 500
        assert after == before
    assert list(scratch.iterdir()) == []
    return response.status_code


@pytest.mark.parametrize("kind", ["geojson", "kml", "zip"])
def test_mutated_real_uploads_never_fail_the_server(
    kind: str,
    base: Base,
    chandigarh: dict[str, Any],
    client: TestClient,
    db_connection: Connection,
    scratch: Path,
    api_headers: dict[str, str],
) -> None:
    original, name, form = {
        "geojson": (base.geojson_bytes(), "wards.geojson", {}),
        "kml": (base.kml, "wards.kml", {}),
        "zip": (chandigarh["zip"], "wards.zip", chandigarh["form"]),
    }[kind]
    # The unmutated file is accepted: the mutations start from a good upload.
    assert post_and_check(client, db_connection, scratch, api_headers, name, original, form) == 201
    statuses: list[int] = []

    @FUZZ
    @given(data=mutated(original))
    def upload(data: bytes) -> None:
        statuses.append(
            post_and_check(client, db_connection, scratch, api_headers, name, data, form)
        )

    upload()
    assert len(statuses) >= UPLOAD_EXAMPLES // 2
    assert client.get("/health").status_code == 200


# --- schemathesis ----------------------------------------------------------------------------------


#: What must hold for every generated request: no 5xx, and responses as the schema documents them.
API_CHECKS = (
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
)


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the app's schema (built without a database)."""
    spec = make_app(sessionmaker()).openapi()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


@pytest.mark.parametrize(("method", "path"), api_operations())
def test_api_conforms_to_its_schema(
    method: str,
    path: str,
    session_factory: sessionmaker[Session],
    role_headers: dict[str, str],
) -> None:
    """Schemathesis cases for one operation and one caller (no 5xx; statuses, including 401/403,
    and bodies as documented), served in-process (ASGI) on the rolled-back
    transaction of this test. (``schemathesis.pytest.from_fixture`` needs a pytest internal
    that pytest 9 removed, hence the loop over operations here.)"""
    api = schemathesis.openapi.from_asgi("/openapi.json", make_app(session_factory))
    operation = api[path][method]

    @settings(
        max_examples=API_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        case.call_and_validate(headers=role_headers, checks=API_CHECKS)

    call()


def test_ids_beyond_bigint_are_refused_not_a_crash(
    client: TestClient, db_connection: Connection
) -> None:
    """Found by schemathesis: a plan id above 2**63 - 1 reached PostgreSQL and came back a 500."""
    before = counts(db_connection)
    for url in ("/cities/lucknow/plans/9223372036854775808", "/cities/0/jobs/99999999999999999999"):
        problem = expect_problem(client.get(url), 422)
        assert problem.type == "/problems/out-of-range"
        assert "bigint" not in (problem.detail or "")
        assert "SELECT" not in (problem.detail or "")
    assert counts(db_connection) == before
    assert client.get("/health").status_code == 200
