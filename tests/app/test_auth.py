"""Access: API keys, roles on every route, city scope (404, never 403), exact homes by role, the
audit's actor names, revocation, hashed storage, and the security headers — on the real PostGIS."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.api.allocate import allocation as allocation_request
from app.api.schemas import AllocateRequest, MapLinkOut, OrganiserOut, PlanParameters
from app.core.errors import Conflict
from app.core.settings import MAP_CSP, get_settings
from app.db.models import ApiKey, AuditEvent
from app.db.session import session_scope
from app.main import create_app
from app.services import cities, jobs, keys, layers, links, organisers
from tests.app.apihelp import TEST_PLACE, expect_problem, make_app
from tests.app.plandata import load_small_city

pytestmark = pytest.mark.slow

CITY, OTHER, NOWHERE = "chandigarh", "chandigarh-east", "nowhere"
ROLES = ("anonymous", "gis", "cmmu", "api_client", "admin", "state")
#: The tests' cities' state (TEST_PLACE), and another state.
STATE, OTHER_STATE = "TS", "OT"


@dataclass
class World:
    connection: Connection
    factory: sessionmaker[Session]
    client: TestClient  # sends no key unless told
    headers: dict[str, dict[str, str]]  # key name → headers
    tokens: dict[str, str]  # key name → token
    plan_id: int
    job_id: int
    allocation_id: int

    def as_(self, key: str | None) -> dict[str, str]:
        return {} if key is None else self.headers[key]


#: The role each test key has, and its city.
KEYS: dict[str, tuple[str, str | None]] = {
    "gis-chd": ("gis", CITY),
    "cmmu-chd": ("cmmu", CITY),
    "client-a": ("api_client", None),
    "admin": ("admin", None),
    "gis-east": ("gis", OTHER),
    "cmmu-east": ("cmmu", OTHER),
    "client-b": ("api_client", None),
    "revoked": ("admin", None),
    "state-ts": ("state", STATE),
    "state-ot": ("state", OTHER_STATE),
}
#: The key playing each role in the role table (all reach CITY).
PLAYS = {
    "gis": "gis-chd",
    "cmmu": "cmmu-chd",
    "api_client": "client-a",
    "admin": "admin",
    "state": "state-ts",
}


def _allocation_body(shared_data: Path) -> AllocateRequest:
    wards = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return AllocateRequest.model_validate(
        {
            "wards": wards,
            "organisers": [
                {"organiser_id": "X-1", "name": "X 1", "lat": 30.74, "lon": 76.78},
                {"organiser_id": "X-2", "name": "X 2", "home_ward": "20"},
            ],
            "parameters": {"tolerance": "auto", "time_limit": 20},
        }
    )


@pytest.fixture(scope="module")
def world(migrated_engine: Engine, shared_data: Path) -> Iterator[World]:
    """Chandigarh with a plan and a queued plan job, a second city with a layer, a queued
    stateless allocation of ``client-a``, and every key of KEYS; all rolled back afterwards."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                city = load_small_city(session, shared_data, CITY, approve=False)
                data = (shared_data / "chandigarh" / "wards.geojson").read_bytes()
                layers.upload_layer(
                    session, OTHER, layers.Upload("wards.geojson", data), place=TEST_PLACE
                )
                settings = get_settings()
                allocation = jobs.submit_allocation(
                    session,
                    allocation_request(_allocation_body(shared_data)),
                    settings,
                    actor="client-a",
                )
                params = PlanParameters(tolerance=0.5, time_limit=20)
                job = jobs.submit(  # stays queued
                    session, CITY, params.model_dump(mode="json"), settings, actor="cmmu-chd"
                )
                cities.create_state(session, OTHER_STATE, "Other State", actor="test")
                tokens = {
                    name: keys.issue(
                        session,
                        name,
                        role,
                        None if role == "state" else scope,
                        state=scope if role == "state" else None,
                    ).token
                    for name, (role, scope) in KEYS.items()
                }
                keys.revoke(session, "revoked")
            headers = {name: {"Authorization": f"Bearer {t}"} for name, t in tokens.items()}
            with TestClient(make_app(factory)) as client:
                yield World(
                    connection,
                    factory,
                    client,
                    headers,
                    tokens,
                    city.plan_id,
                    job.id,
                    allocation.id,
                )
        finally:
            outer.rollback()


# --- the role table ------------------------------------------------------------------------------

PUBLIC, READ, HOME, GIS, CMMU, CLIENT = "public", "read", "home", "gis", "cmmu", "client"
STATE_VIEW, ADMIN = "state_view", "admin_only"
#: Which roles each kind of route admits (admin is always admitted).
ADMITS = {
    PUBLIC: set(ROLES),
    READ: {"gis", "cmmu", "api_client", "admin", "state"},
    HOME: {"gis", "cmmu", "admin"},
    GIS: {"gis", "admin"},
    CMMU: {"cmmu", "admin"},
    CLIENT: {"api_client", "admin"},
    STATE_VIEW: {"state", "admin"},
    ADMIN: {"admin"},
}
P, J, A = "{plan}", "{job}", "{allocation}"
C = f"/cities/{CITY}"
#: method, path, kind, and the statuses an admitted caller gets. Writes are sent without a
#: body (422: the request passed the gate and was then refused) unless they change nothing that
#: other rows of the table need.
ROUTES: list[tuple[str, str, str, set[int]]] = [
    ("GET", "/health", PUBLIC, {200}),
    ("GET", "/docs", PUBLIC, {200}),
    ("GET", "/openapi.json", PUBLIC, {200}),
    ("GET", "/ogc", PUBLIC, {200}),
    ("GET", "/ogc/collections", PUBLIC, {200}),
    ("GET", f"/ogc/collections/{CITY}-wards/items?limit=2", PUBLIC, {200}),
    ("GET", f"{C}/layers", READ, {200}),
    ("GET", f"{C}/layers/1", READ, {200}),
    ("GET", f"{C}/layers/1/wards?limit=2", READ, {200}),
    ("POST", f"{C}/layers", GIS, {422}),
    ("GET", f"{C}/organisers", READ, {200}),
    ("POST", f"{C}/organisers", GIS, {422}),
    ("PUT", f"{C}/organisers/CO-9", GIS, {422}),
    ("DELETE", f"{C}/organisers/CO-404", GIS, {404}),
    ("GET", f"{C}/cmms", READ, {200}),
    ("PUT", f"{C}/cmms", CMMU, {422}),
    ("PUT", f"{C}/cmms/CMM-9", CMMU, {422}),
    ("POST", f"{C}/cmms", CMMU, {422}),
    ("GET", f"{C}/pins", READ, {200}),
    ("PUT", f"{C}/pins", CMMU, {422}),
    ("POST", f"{C}/pins", CMMU, {422}),
    ("DELETE", f"{C}/pins/{{ward_id}}", CMMU, {404}),  # ward "{ward_id}" is not pinned
    ("POST", f"{C}/community-centres", GIS, {422}),
    ("GET", f"{C}/community-centres", READ, {200}),
    ("GET", f"{C}/requirement", READ, {200}),
    ("POST", f"{C}/plans", CMMU, {422}),
    ("GET", f"{C}/plans/{P}", READ, {200}),
    ("GET", f"{C}/plans/{P}/wards.geojson", READ, {200}),
    ("GET", f"{C}/plans/{P}/areas.geojson", READ, {200}),
    ("GET", f"{C}/plans/{P}/assignment.csv", READ, {200}),
    ("GET", f"{C}/plans/{P}/plan.kml", READ, {200}),
    ("GET", f"{C}/plans/{P}/map", READ, {200}),
    ("POST", f"{C}/plans/{P}/map-link", READ, {200}),
    ("GET", f"{C}/plans/{P}/sheet.pdf", HOME, {200}),
    ("GET", f"{C}/plans/{P}/organisers/CO-1/sheet.pdf", HOME, {200}),
    ("GET", f"{C}/plans/{P}/compare/{P}", CMMU, {200}),
    ("GET", f"{C}/plans/{P}/compare/{P}/map", CMMU, {200}),
    ("POST", f"{C}/plans/{P}/approve", CMMU, {200}),
    ("POST", f"{C}/plans/{P}/edits", CMMU, {422}),
    ("POST", f"{C}/plans/{P}/edit-link", CMMU, {200}),
    ("GET", f"{C}/plans/{P}/edit-map", CMMU, {200}),  # or a signed edit link
    ("POST", f"{C}/plans/{P}/edit-map/edits", CMMU, {422}),  # or a signed edit link
    ("POST", f"{C}/plans/{P}/replan", CMMU, {422}),
    ("POST", f"{C}/plans/{P}/withdraw-approval", CMMU, {422}),
    ("GET", f"{C}/versions", READ, {200}),
    ("GET", f"{C}/plans/{P}/lineage", READ, {200}),
    ("GET", f"{C}/plans/{P}/diff/{P}", READ, {200}),
    ("GET", f"{C}/plans/{P}/allocation-order.pdf", READ, {200}),
    ("GET", f"{C}/plans/{P}/allocation-order.xlsx", READ, {200}),
    ("GET", f"{C}/jobs", READ, {200}),
    ("GET", f"{C}/jobs/{J}", READ, {200}),
    ("POST", f"{C}/jobs/{J}/cancel", CMMU, {200, 409}),  # the second cancel: already cancelled
    ("POST", "/allocate", CLIENT, {422}),
    ("GET", f"/jobs/{A}", CLIENT, {200}),
    ("POST", f"/jobs/{A}/cancel", CLIENT, {200, 409}),
    ("GET", "/states", STATE_VIEW, {200}),
    ("POST", "/states", ADMIN, {422}),
    ("GET", f"/states/{STATE}", STATE_VIEW, {200}),
    ("PATCH", f"/states/{STATE}", ADMIN, {422}),
    ("GET", f"/states/{STATE}/districts", STATE_VIEW, {200}),
    ("POST", f"/states/{STATE}/districts", ADMIN, {422}),
    ("PATCH", f"/states/{STATE}/districts/test-district", ADMIN, {422}),
    ("GET", "/cities", STATE_VIEW, {200}),
    ("POST", "/cities", ADMIN, {422}),
    ("GET", C, READ, {200}),
    ("PATCH", C, ADMIN, {422}),
    ("POST", f"/states/{STATE}/import", ADMIN, {422}),
    ("POST", f"/states/{STATE}/plans", ADMIN, {422}),
    ("GET", f"/states/{STATE}/plans", STATE_VIEW, {200}),
    ("GET", f"/states/{STATE}/plans/999999", STATE_VIEW, {404}),
    ("POST", f"/states/{STATE}/plans/999999/cancel", ADMIN, {404}),
    ("GET", f"/states/{STATE}/figures", STATE_VIEW, {200}),
    ("GET", f"/states/{STATE}/figures.csv", STATE_VIEW, {200}),
    ("GET", f"/states/{STATE}/figures.xlsx", STATE_VIEW, {200}),
    ("GET", f"/states/{STATE}/summary.pdf", STATE_VIEW, {200}),
    ("GET", f"/states/{STATE}/dashboard", STATE_VIEW, {200}),
    ("POST", f"/states/{STATE}/dashboard-link", STATE_VIEW, {200}),
    ("GET", "/national/figures", ADMIN, {200}),
    ("GET", "/national/figures.csv", ADMIN, {200}),
    ("POST", f"{C}/camps", HOME, {422}),  # the GIS cell and the CMMU request camp plans
    ("GET", f"{C}/camps", READ, {200}),
    ("GET", f"{C}/camps/999999", READ, {404}),
    ("POST", f"{C}/camps/999999/approve", CMMU, {404}),
    ("GET", f"{C}/camps/999999/camps.csv", READ, {404}),
    ("GET", f"{C}/camp-jobs/999999", READ, {404}),
]


def _path(world: World, template: str) -> str:
    return (
        template.replace(P, str(world.plan_id))
        .replace(J, str(world.job_id))
        .replace(A, str(world.allocation_id))
    )


def _call(world: World, method: str, path: str, key: str | None) -> Any:
    return world.client.request(method, _path(world, path), headers=world.as_(key))


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, also inside included routers (FastAPI ≥ 0.16x keeps an included router as
    one entry of ``app.routes`` and resolves its routes lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(inner.routes)


def test_every_route_is_in_the_role_table() -> None:
    """A new route must be added to ROUTES (and so get a decision about who may call it)."""
    app = create_app(get_settings())
    routes = {(method, route.path) for route in _api_routes(app.routes) for method in route.methods}
    assert len(routes) > 60, f"only {len(routes)} routes found: the walk below missed the routers"
    tabled = {(m, p.split("?")[0]) for m, p, _, _ in ROUTES}
    ids = {"{plan}": "{plan_id}", "{job}": "{job_id}", "{allocation}": "{job_id}"}

    def generic(path: str) -> str:
        path = path.replace(f"/cities/{CITY}", "/cities/{city}")
        path = path.replace(f"/states/{STATE}", "/states/{state}")
        path = path.replace("/test-district", "/{district}")
        path = path.replace("/states/{state}/plans/999999", "/states/{state}/plans/{batch_id}")
        for k, v in ids.items():
            path = path.replace(k, v)
        if path.startswith("/cities/{city}/organisers/CO-"):  # one CO of the roster
            path = "/cities/{city}/organisers/{organiser_id}"
        if path.startswith("/cities/{city}/cmms/CMM-"):  # one CMM of the city
            path = "/cities/{city}/cmms/{cmm_id}"
        return path.replace(f"{CITY}-wards", "{collection_id}")

    tabled_generic = {(m, generic(p)) for m, p in tabled}
    tabled_generic |= {("GET", "/cities/{city}/plans/{plan_id}/compare/{other_id}")}
    tabled_generic |= {("GET", "/cities/{city}/plans/{plan_id}/compare/{other_id}/map")}
    tabled_generic |= {("GET", "/cities/{city}/plans/{plan_id}/diff/{other_id}")}
    tabled_generic |= {
        ("GET", "/cities/{city}/plans/{plan_id}/organisers/{organiser_id}/sheet.pdf")
    }
    tabled_generic |= {("GET", "/cities/{city}/plans/{plan_id}/plan.gpkg")}
    tabled_generic |= {("GET", "/cities/{city}/plans/{plan_id}/plan-shp.zip")}
    tabled_generic |= {("GET", "/cities/{city}/layers/{version}")}
    tabled_generic |= {("GET", "/cities/{city}/layers/{version}/wards")}
    tabled_generic |= {
        ("GET", "/cities/{city}/camps/{camp_plan_id}"),
        ("POST", "/cities/{city}/camps/{camp_plan_id}/approve"),
        ("GET", "/cities/{city}/camps/{camp_plan_id}/{name}"),
        ("GET", "/cities/{city}/camp-jobs/{job_id}"),
    }
    tabled_generic |= {("GET", "/ogc/conformance"), ("GET", "/ogc/collections/{collection_id}")}
    tabled_generic |= {("GET", "/ogc/collections/{collection_id}/items/{feature_id:path}")}
    missing = sorted(r for r in routes if r not in tabled_generic)
    assert missing == [], f"routes without a decision in ROUTES: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_role_table(world: World, role: str) -> None:
    """Every route × this role: 401 without a key, 403 for a role not admitted, else through."""
    key = None if role == "anonymous" else PLAYS[role]
    wrong = []
    for method, path, kind, passed in ROUTES:
        response = _call(world, method, path, key)
        if role in ADMITS[kind]:
            expected = passed
        elif role == "anonymous":
            expected = {401}
        else:
            expected = {403}
        if response.status_code not in expected:
            wrong.append((method, path, response.status_code, sorted(expected)))
        if response.status_code == 401:
            problem = expect_problem(response, 401)
            assert problem.type == "/problems/unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
        if response.status_code == 403:
            assert expect_problem(response, 403).type == "/problems/forbidden"
    assert wrong == [], f"{role}: {wrong}"


#: The pages the OpenAPI schema leaves out: the schema itself and its viewers.
UNDOCUMENTED = {"/openapi.json", "/docs"}


def _template(schema: dict[str, Any], path: str) -> str | None:
    """The OpenAPI path template ``path`` (a concrete path, without its query) is an instance of:
    the one with the fewest parameters when several match (``/plans/latest`` over ``/{id}``);
    ``None`` for a page outside the schema."""
    found = []
    for template in schema["paths"]:
        pattern = re.sub(r"\\\{[^}:]+:path\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            found.append((template.count("{"), template))
    return min(found)[1] if found else None


def test_every_answer_is_sent_as_the_schema_documents_it(world: World) -> None:
    """Every route of the table, called by the admin: each answer's media type is one the OpenAPI
    schema documents for that route and status, so a client generated from the schema reads what
    is sent (CSV as text/csv, GeoJSON as application/geo+json, problems as problem+json)."""
    schema = world.client.get("/openapi.json").json()
    wrong, checked, outside = [], 0, set()
    for method, path, _kind, _passed in ROUTES:
        response = _call(world, method, path, "admin")
        sent = response.headers.get("content-type", "").split(";")[0].strip()
        if response.status_code in (204, 304) or not sent:
            continue
        template = _template(schema, _path(world, path).split("?")[0])
        if template is None:
            outside.add(path)
            continue
        responses = schema["paths"][template][method.lower()]["responses"]
        answer = responses.get(str(response.status_code)) or responses.get("default") or {}
        documented = set(answer.get("content", {}))
        if sent not in documented:
            wrong.append((method, template, response.status_code, sent, sorted(documented)))
        checked += 1
    assert outside == UNDOCUMENTED
    assert checked > 60
    assert wrong == [], "\n".join(map(str, wrong))


# --- city scope ----------------------------------------------------------------------------------


def _without_instance(response: Any) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("instance", None)
    return body


def _no_city(code: str) -> dict[str, Any]:
    return {
        "type": "/problems/not-found",
        "title": "city not found",
        "status": 404,
        "detail": f"there is no city {code!r}",
        "errors": [],
    }


@pytest.mark.parametrize("key", ["gis-east", "cmmu-east"])
def test_another_citys_objects_answer_404_as_missing_ones(world: World, key: str) -> None:
    """A key of city B asking for city A's objects gets exactly what a missing city gets."""
    role = KEYS[key][0]
    checked = 0
    for method, path, kind, _passed in ROUTES:
        if not path.startswith(C) or role not in ADMITS[kind]:
            continue
        mine = _call(world, method, path, key)
        expect_problem(mine, 404)
        assert _without_instance(mine) == _no_city(CITY), path
        # The same key asking for a city that does not exist: the same answer, so a key cannot
        # tell which other cities exist.
        missing = _call(world, method, path.replace(C, f"/cities/{NOWHERE}"), key)
        assert _without_instance(missing) == _no_city(NOWHERE), path
        checked += 1
    assert checked >= 10
    # …and its own city answers.
    own = world.client.get(f"/cities/{OTHER}/layers", headers=world.as_(key))
    assert own.status_code == 200, own.text


def test_a_state_key_reaches_its_states_cities_only(world: World) -> None:
    """Another state's key gets, for every city route it may read, what a missing city gets; its
    state's lists hold none of this state's cities; and the right state's key reads them all."""
    checked = 0
    for method, path, kind, passed in ROUTES:
        if "state" not in ADMITS[kind]:
            continue
        theirs = _call(world, method, path, "state-ot")
        if path.startswith(C):
            expect_problem(theirs, 404)
            assert _without_instance(theirs) == _no_city(CITY), path
            missing = _call(world, method, path.replace(C, f"/cities/{NOWHERE}"), "state-ot")
            assert _without_instance(missing) == _no_city(NOWHERE), path
            checked += 1
        elif f"/states/{STATE}" in path:
            expect_problem(theirs, 404)
            assert _without_instance(theirs)["detail"] == f"there is no state {STATE!r}"
        mine = _call(world, method, path, "state-ts")
        assert mine.status_code in passed, (path, mine.text)
    assert checked >= 10
    ot = world.client.get("/cities", headers=world.as_("state-ot"))
    assert ot.json() == []
    assert [
        s["code"] for s in world.client.get("/states", headers=world.as_("state-ot")).json()
    ] == [OTHER_STATE]
    ts = world.client.get("/cities", headers=world.as_("state-ts")).json()
    assert {c["code"] for c in ts} == {CITY, OTHER}
    expect_problem(
        world.client.get("/cities", params={"state": STATE}, headers=world.as_("state-ot")), 404
    )


def test_a_state_key_cannot_change_plans(world: World) -> None:
    for method, path in (
        ("POST", f"{C}/plans"),
        ("POST", f"{C}/plans/{P}/approve"),
        ("POST", f"{C}/jobs/{J}/cancel"),
        ("POST", f"{C}/layers"),
        ("POST", f"{C}/organisers"),
        ("PATCH", C),
    ):
        response = _call(world, method, path, "state-ts")
        assert expect_problem(response, 403).type == "/problems/forbidden", path
    with session_scope(world.factory) as session:
        acted = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "state-ts")
        )
    assert acted == 0


def test_a_stateless_job_is_seen_only_by_the_key_that_asked(world: World) -> None:
    url = f"/jobs/{world.allocation_id}"
    assert world.client.get(url, headers=world.as_("client-a")).status_code == 200
    assert world.client.get(url, headers=world.as_("admin")).status_code == 200
    theirs = world.client.get(url, headers=world.as_("client-b"))
    missing = world.client.get("/jobs/999999999", headers=world.as_("client-b"))
    expect_problem(theirs, 404)
    assert _without_instance(theirs)["title"] == _without_instance(missing)["title"]
    assert str(world.allocation_id) in theirs.json()["detail"]  # "there is no job N", as missing
    expect_problem(world.client.post(f"{url}/cancel", headers=world.as_("client-b")), 404)


# --- keys ----------------------------------------------------------------------------------------


def test_a_revoked_or_unknown_key_is_refused(world: World) -> None:
    for headers in (
        world.as_("revoked"),
        {"Authorization": "Bearer wp_not-a-key"},
        {"X-API-Key": world.tokens["revoked"]},
        {"Authorization": f"Basic {world.tokens['admin']}"},
        {"Authorization": "Bearer "},
    ):
        for method, path in (("GET", f"{C}/layers"), ("POST", f"{C}/plans/1/approve")):
            response = world.client.request(method, path, headers=headers)
            assert expect_problem(response, 401).type == "/problems/unauthorized", headers
    # Public routes ignore no key: a bad one sent to OGC is refused too; /health always answers.
    expect_problem(world.client.get("/ogc", headers=world.as_("revoked")), 401)
    assert world.client.get("/health", headers=world.as_("revoked")).status_code == 200


def test_openapi_declares_the_keys(world: World) -> None:
    """Clients, fuzzers and the "Authorize" button of /docs learn how to send a key."""
    spec = world.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key (`wardplan keys issue`)",
    }
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"
    assert {"HTTPBearer": []} in spec["paths"]["/cities/{city}/layers"]["post"]["security"]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_x_api_key_header_works_as_bearer(world: World) -> None:
    response = world.client.get(f"{C}/organisers", headers={"X-API-Key": world.tokens["client-a"]})
    assert response.status_code == 200, response.text


def test_tokens_are_stored_only_as_their_hash(world: World) -> None:
    rows = world.connection.execute(text("SELECT to_jsonb(k)::text FROM api_key k")).scalars()
    dump = "\n".join(rows)
    for name, token in world.tokens.items():
        assert token not in dump, name
        assert token.removeprefix(keys.TOKEN_PREFIX) not in dump, name
        digest = hashlib.sha256(token.encode()).hexdigest()
        stored = world.connection.execute(
            select(ApiKey.token_sha256).where(ApiKey.name == name)
        ).scalar_one()
        assert stored == digest
    assert len({*world.tokens.values()}) == len(world.tokens)  # every token is new


def test_last_used_is_recorded(world: World) -> None:
    before = world.connection.execute(
        select(ApiKey.last_used_at).where(ApiKey.name == "gis-east")
    ).scalar_one()
    assert world.client.get(f"/cities/{OTHER}/layers", headers=world.as_("gis-east")).is_success
    after = world.connection.execute(
        select(ApiKey.last_used_at).where(ApiKey.name == "gis-east")
    ).scalar_one()
    assert after is not None
    assert before is None or after >= before


def test_a_city_role_key_needs_a_city(world: World) -> None:
    with session_scope(world.factory) as session:
        for role in ("gis", "cmmu"):
            with pytest.raises(keys.InvalidKeyRequest) as refused:
                keys.issue(session, f"no-city-{role}", role)
            assert "belongs to one city" in refused.value.detail
        with pytest.raises(keys.InvalidKeyRequest) as refused:
            keys.issue(session, "bad-role", "superuser")
        assert "'superuser' is not one of gis, cmmu, api_client, admin" in refused.value.detail
        with pytest.raises(keys.InvalidKeyRequest) as refused:
            keys.issue(session, "<script>", "admin")
        assert "key name '<script>'" in refused.value.detail
        with pytest.raises(Conflict):
            keys.issue(session, "admin", "admin")  # names are unique: they are the audit's actors


# --- personal data: exact homes ------------------------------------------------------------------


def test_exact_homes_only_for_roles_that_need_them(world: World) -> None:
    seen: dict[str, list[OrganiserOut]] = {}
    for key in ("gis-chd", "cmmu-chd", "admin", "client-a"):
        response = world.client.get(f"{C}/organisers", headers=world.as_(key))
        assert response.status_code == 200, response.text
        seen[key] = [OrganiserOut.model_validate(o) for o in response.json()]
    for key in ("gis-chd", "cmmu-chd", "admin"):
        assert len(seen[key]) == 4
        assert all(o.home is not None and o.home_precision == "exact" for o in seen[key]), key
    coarse = seen["client-a"]
    assert [o.organiser_id for o in coarse] == [o.organiser_id for o in seen["admin"]]
    assert all(o.home is None and o.home_precision == "ward" for o in coarse)
    assert [o.home_ward for o in coarse] == ["1", "8", "15", "22"]
    listed = world.client.get(f"{C}/organisers", headers=world.as_("client-a")).text
    assert '"lat"' not in listed
    assert '"lon"' not in listed


def test_map_pages_by_key_and_by_signed_link(world: World) -> None:
    """A browser opens the map through a signed link; homes are exact only where the key that
    asked for the link (or reads the page) may see them, and a link opens nothing else."""
    # CO-1 tells the GIS cell its exact home: a point of its own, not a ward's label position.
    before = world.client.get(f"{C}/organisers", headers=world.as_("admin")).json()
    co1 = next(o for o in before if o["organiser_id"] == "CO-1")
    lat, lon = co1["home"]["lat"] + 0.00123457, co1["home"]["lon"] - 0.00098765
    with session_scope(world.factory) as session:
        organisers.save_organiser(
            session, CITY, organisers.OrganiserEdit("CO-1", co1["name"], lat=lat, lon=lon)
        )
    after = world.client.get(f"{C}/organisers", headers=world.as_("admin")).json()
    stored = next(o for o in after if o["organiser_id"] == "CO-1")["home"]
    exact = [str(stored["lat"]), str(stored["lon"])]
    url = f"{C}/plans/{world.plan_id}/map"

    by_cmmu = world.client.get(url, headers=world.as_("cmmu-chd")).text
    assert all(lat in by_cmmu for lat in exact)
    by_client = world.client.get(url, headers=world.as_("client-a")).text
    assert not any(lat in by_client for lat in exact)
    assert f"[{round(lat, 2)}, {round(lon, 2)}]" in by_client  # the home, rounded
    expect_problem(world.client.get(url), 401)

    for key, shows_exact in (("cmmu-chd", True), ("client-a", False)):
        made = world.client.post(f"{url}-link", headers=world.as_(key))
        assert made.status_code == 200, made.text
        link = MapLinkOut.model_validate(made.json())
        assert link.exact_homes is shows_exact
        page = world.client.get(link.url)  # no key: the link alone
        assert page.status_code == 200, page.text
        assert all(lat in page.text for lat in exact) is shows_exact

    tampered = link.url.replace("homes=coarse", "homes=exact")
    expect_problem(world.client.get(tampered), 401)
    other_plan = link.url.replace(f"/plans/{world.plan_id}/", f"/plans/{world.plan_id + 1}/")
    expect_problem(world.client.get(other_plan), 401)
    expired = links.sign(
        world.client.app.state.link_secret,  # type: ignore[attr-defined]
        CITY,
        world.plan_id,
        ttl_s=60,
        exact_homes=False,
        now=time.time() - 3600,
    )
    expect_problem(world.client.get(expired.url), 401)
    # Another city's key gets no link to this city's plan.
    expect_problem(world.client.post(f"{url}-link", headers=world.as_("cmmu-east")), 404)


# --- the audit names the key ---------------------------------------------------------------------


def test_the_audit_records_the_keys_name(world: World) -> None:
    before = world.connection.execute(select(func.max(AuditEvent.id))).scalar_one()
    approved = world.client.post(
        f"{C}/plans/{world.plan_id}/approve", headers=world.as_("cmmu-chd")
    )
    assert approved.status_code == 200, approved.text
    csv_rows = "organiser_id,name,home_ward\nCO-1,CO 1,1\nCO-2,CO 2,8\nCO-3,CO 3,15\nCO-4,CO 4,22"
    imported = world.client.post(
        f"{C}/organisers",
        files={"file": ("organisers.csv", csv_rows.encode(), "text/csv")},
        headers=world.as_("gis-chd"),
    )
    assert imported.status_code == 201, imported.text
    imports = world.connection.execute(
        select(AuditEvent.actor).where(
            AuditEvent.action == "organisers.import", AuditEvent.id > before
        )
    ).scalars()
    assert list(imports) == ["gis-chd"]
    approvals = world.connection.execute(
        select(AuditEvent.actor).where(
            AuditEvent.action == "plan.approve", AuditEvent.object_id == str(world.plan_id)
        )
    ).scalars()
    assert set(approvals) == {"cmmu-chd"}  # approving again (admin, in the role table) is a no-op
    stored = world.client.get(f"{C}/plans/{world.plan_id}", headers=world.as_("cmmu-chd"))
    assert stored.json()["approved_by"] == "cmmu-chd"


# --- security headers ----------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(world: World) -> None:
    admin = world.as_("admin")
    responses = {
        "health": world.client.get("/health"),
        "json": world.client.get(f"{C}/plans/{world.plan_id}", headers=admin),
        "problem": world.client.get(f"{C}/layers"),
        "pdf": world.client.get(f"{C}/plans/{world.plan_id}/sheet.pdf", headers=admin),
        "map": world.client.get(f"{C}/plans/{world.plan_id}/map", headers=admin),
        "docs": world.client.get("/docs"),
    }
    for kind, response in responses.items():
        assert response.headers["x-content-type-options"] == "nosniff", kind
        assert response.headers["referrer-policy"] == "no-referrer", kind
        assert response.headers["x-frame-options"] == "DENY", kind
    settings = get_settings()
    for kind in ("health", "json", "problem", "pdf"):
        csp = responses[kind].headers["content-security-policy"]
        assert csp == settings.api.api_csp, kind
        assert "default-src 'none'" in csp
    assert responses["map"].headers["content-type"].startswith("text/html")
    map_csp = responses["map"].headers["content-security-policy"]
    assert map_csp == MAP_CSP
    assert "script-src 'self' 'unsafe-inline'" in map_csp
    assert "frame-ancestors 'none'" in map_csp
    assert "content-security-policy" not in responses["docs"].headers  # Swagger UI's CDN


def test_the_map_csp_is_configurable(world: World) -> None:
    """``WARDPLAN_API_MAP_CSP`` (e.g. to allow a tile server's images) reaches the map page."""
    settings = get_settings()
    custom = "default-src 'self'; img-src 'self' https://tiles.example.org; frame-ancestors 'none'"
    app = create_app(
        settings.model_copy(update={"api": settings.api.model_copy(update={"map_csp": custom})})
    )
    app.state.session_factory = world.factory
    with TestClient(app, headers=world.as_("admin")) as client:
        page = client.get(f"{C}/plans/{world.plan_id}/map")
        assert page.status_code == 200, page.text
        assert page.headers["content-security-policy"] == custom
        assert client.get("/health").headers["content-security-policy"] == settings.api.api_csp


def test_an_anonymous_write_is_refused_before_its_body_is_read(world: World) -> None:
    """The 401 comes without one ``receive()``: an anonymous upload is never buffered."""
    app = make_app(world.factory)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{C}/layers",
        "raw_path": f"{C}/layers".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", b"9"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start, body = sent[0], sent[1]
    assert start["status"] == 401
    headers = dict(start["headers"])
    assert headers[b"www-authenticate"].startswith(b"Bearer")
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert json.loads(body["body"])["type"] == "/problems/unauthorized"
