"""A whole state from a fresh database: one manifest import (``wardplan places import-state``: four
real cities and one with a deliberately bad file) and one state plan request, run by two real
worker processes (``wardplan worker``) — plans for every good city, a clear refusal for the bad one,
a city that fails at run time not stopping the others, and a batch cancelled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.schemas import PlanOut
from app.api.schemas.state import BatchOut
from app.cli import cli
from app.main import create_app
from tests.app.apihelp import issue_key
from tests.app.statedata import BAD, GOOD, StateFolder, build
from tests.app.test_worker import Worker, settings_for, settings_on

pytestmark = pytest.mark.slow

CITIES = ["lucknow", "chandigarh", "mumbai", "bangalore"]


@dataclass
class State:
    client: TestClient
    url: str
    folder: StateFolder
    imported: str  # the CLI's output


@pytest.fixture(scope="module")
def state(
    jobs_db: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[State]:
    """A fresh database with the state imported by the CLI from a folder (committed)."""
    folder = build(shared_data, tmp_path_factory.mktemp("state"), CITIES)
    with settings_on(jobs_db):
        done = CliRunner().invoke(
            cli,
            ["places", "import-state", "TS", str(folder.root), "--state-name", "State of Tests"],
        )
    app = create_app(settings_for(jobs_db))
    headers = issue_key(app.state.session_factory, "state-tests-admin", "admin")
    with TestClient(app, headers=headers) as client:
        yield State(client, jobs_db, folder, done.output)
    assert done.exit_code == 1, done.output  # one city refused: the CLI says so by its status


def _batch(state: State, batch_id: int) -> BatchOut:
    got = state.client.get(f"/states/TS/plans/{batch_id}")
    assert got.status_code == 200, got.text
    return BatchOut.model_validate(got.json())


def test_the_import_stores_the_good_cities_and_refuses_the_bad_one(state: State) -> None:
    lines = state.imported.splitlines()
    for code in CITIES:
        assert any(line.endswith(f"\t{code}\tstored") for line in lines), state.imported
    assert f"{BAD}\trefused" in state.imported
    assert "feature 3, ward 4, field 'population'" in state.imported
    assert "4 cities stored, 1 refused" in state.imported
    listed = state.client.get("/cities", params={"state": "TS"}).json()
    assert sorted(c["code"] for c in listed) == sorted(CITIES)
    assert {c["code"]: c["cos_in_post"] for c in listed} == {k: v[3] for k, v in GOOD.items()}


def test_one_request_plans_every_city_on_two_workers(state: State, tmp_path: Path) -> None:
    client = state.client
    made = client.post(
        "/states/TS/plans",
        json={
            "parameters": {"tolerance": 0.5, "time_limit": 5},
            "overrides": {"mumbai": {"tolerance": 0.8}},
        },
    )
    assert made.status_code == 202, made.text
    batch = BatchOut.model_validate(made.json())
    assert batch.counts == {"queued": 4}
    assert next(c for c in batch.cities if c.city == "mumbai").job_id is not None
    # Chandigarh's COs all leave before a worker takes its job: that job fails, the rest go on.
    for co in client.get("/cities/chandigarh/organisers").json():
        assert client.delete(f"/cities/chandigarh/organisers/{co['organiser_id']}").is_success
    workers = [Worker(state.url, tmp_path / f"worker-{k}.log") for k in range(2)]
    try:
        deadline = time.monotonic() + 400
        while not (batch := _batch(state, batch.id)).done:
            assert time.monotonic() < deadline, (batch, [w.output()[-2000:] for w in workers])
            time.sleep(1)
    finally:
        logs = [w.stop() for w in workers]
    by_city = {c.city: c for c in batch.cities}
    assert batch.counts == {"failed": 1, "succeeded": 3}, (batch, logs)
    assert "organiser" in (by_city["chandigarh"].error or "").lower(), by_city["chandigarh"]
    for code in ("lucknow", "mumbai", "bangalore"):
        plan = client.get(f"/cities/{code}/plans/{by_city[code].plan_id}")
        assert plan.status_code == 200, plan.text
        out = PlanOut.model_validate(plan.json())
        assert out.status in ("optimal", "feasible"), out
    mumbai = PlanOut.model_validate(
        client.get(f"/cities/mumbai/plans/{by_city['mumbai'].plan_id}").json()
    )
    assert mumbai.parameters["tolerance"] == 0.8  # the override


def test_a_batch_is_cancelled_and_refuses_cities_it_cannot_plan(state: State) -> None:
    client = state.client
    made = client.post(
        "/states/TS/plans",
        json={
            "parameters": {"tolerance": 0.5, "time_limit": 5},
            "overrides": {"lucknow": {"x": 1}},
        },
    )
    assert made.status_code == 202, made.text
    batch = BatchOut.model_validate(made.json())
    refused = {c.city: c.error for c in batch.cities if c.status == "refused"}
    assert set(refused) == {"chandigarh", "lucknow"}, batch  # no COs left; a bad override
    assert "organisers" in (refused["chandigarh"] or "")
    assert "lucknow" in (refused["lucknow"] or "")
    cancelled = client.post(f"/states/TS/plans/{batch.id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    after = BatchOut.model_validate(cancelled.json())
    assert after.counts == {"cancelled": 2, "refused": 2}
    assert after.done
    assert after.cancelled_at is not None
    unknown = client.post("/states/TS/plans", json={"overrides": {"atlantis": {}}})
    assert unknown.status_code == 422, unknown.text
