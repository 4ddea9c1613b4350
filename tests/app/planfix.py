"""One planned city for the tests of a plan's life (pins, edits, staff, the edit and re-plan map
pages): Chandigarh's real wards uploaded through the API by a GIS key, four COs with their home
wards, one plan solved by a job (a CMMU key), all in one transaction rolled back at the end.

Each test module opens it once in its own module-scoped fixture (the modules change the city's
pins, roster and plans, so they do not share one), e.g.::

    @pytest.fixture(scope="module")
    def city(migrated_engine, shared_data):
        with planned_city(migrated_engine, shared_data, CITY, keys="pins") as planned:
            yield planned
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import PlanOut
from tests.app.apihelp import PLACE_FORM, issue_key, make_app, plan_through_job

#: The four COs' home wards (CO-1 … CO-4).
HOME_WARDS = ("1", "8", "15", "22")
#: The first plan's balance tolerance (±50 %: room for single-ward moves).
TOLERANCE = 0.5


@dataclass
class PlannedCity:
    code: str
    app: FastAPI
    client: TestClient  # as the CMMU
    factory: sessionmaker[Session]
    connection: Connection
    plan: PlanOut
    features: list[dict[str, Any]]  # the plan's wards.geojson
    cmmu: dict[str, str]  # request headers of the CMMU's and the GIS key
    gis: dict[str, str]

    def plan_url(self, plan_id: int, tail: str = "") -> str:
        return f"/cities/{self.code}/plans/{plan_id}{tail}"


def roster_csv(home_wards: tuple[str, ...] = HOME_WARDS) -> bytes:
    """The roster CO-1 … CO-n with their home wards."""
    rows = "".join(f"CO-{k},CO {k},{w}\n" for k, w in enumerate(home_wards, start=1))
    return ("organiser_id,name,home_ward\n" + rows).encode()


def ward_graph(features: list[dict[str, Any]]) -> nx.Graph:
    """Wards that share a border (not just a corner), from their geometry."""
    shapes = {f["properties"]["ward_id"]: shapely.geometry.shape(f["geometry"]) for f in features}
    graph = nx.Graph()
    graph.add_nodes_from(shapes)
    ids = sorted(shapes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            shared = shapes[a].boundary.intersection(shapes[b].boundary)
            if shared.length > 1e-5:  # a border, not a corner (degrees, about 1 m)
                graph.add_edge(a, b)
    return graph


@contextmanager
def planned_city(
    engine: Engine,
    shared_data: Path,
    code: str,
    *,
    keys: str,
    lifespan: bool = True,
) -> Iterator[PlannedCity]:
    """The city ``code`` planned as above; keys named ``{keys}-cmmu`` and ``{keys}-gis``.

    ``lifespan`` False: the test client is not entered (a test serving the app itself with
    uvicorn runs its lifespan there)."""
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            cmmu = issue_key(factory, f"{keys}-cmmu", "cmmu", code)
            gis = issue_key(factory, f"{keys}-gis", "gis", code)
            app = make_app(factory)
            with ExitStack() as stack:
                client = TestClient(app, headers=cmmu)
                if lifespan:
                    stack.enter_context(client)
                yield _plan(code, app, client, factory, connection, cmmu, gis, shared_data)
        finally:
            outer.rollback()


def _plan(
    code: str,
    app: FastAPI,
    client: TestClient,
    factory: sessionmaker[Session],
    connection: Connection,
    cmmu: dict[str, str],
    gis: dict[str, str],
    shared_data: Path,
) -> PlannedCity:
    with (shared_data / "chandigarh" / "wards.geojson").open("rb") as fh:
        files = {"file": ("wards.geojson", fh, "application/geo+json")}
        up = client.post(f"/cities/{code}/layers", files=files, data=PLACE_FORM, headers=gis)
    assert up.status_code == 201, up.text
    files = {"file": ("organisers.csv", roster_csv(), "text/csv")}
    imported = client.post(f"/cities/{code}/organisers", files=files, headers=gis)
    assert imported.status_code == 201, imported.text
    _, plan = plan_through_job(client, factory, code, {"tolerance": TOLERANCE, "time_limit": 10})
    assert plan.check.passed
    features = client.get(f"/cities/{code}/plans/{plan.id}/wards.geojson").json()["features"]
    return PlannedCity(code, app, client, factory, connection, plan, features, cmmu, gis)
