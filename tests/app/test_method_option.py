"""The solve method as a user option (issue 18): ``--method`` on the command line and ``method``
in the API's plan parameters reach the solver, report.json and the API answer name the method
asked for and the one used, and a bad name is refused naming the option and the value. Chandigarh's
real wards; the API on the real PostGIS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import AllocateOut, JobOut, PlanParameters
from solver.params import METHODS
from tests.app.apihelp import expect_problem, run_job_here
from tests.app.test_cli import organisers, run
from tests.app.test_frontier_cli import chandigarh_args, report_of


@pytest.fixture(scope="module")
def chandigarh_organisers(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return organisers(tmp_path_factory.mktemp("method"), chandigarh_args(shared_data), 3)


@pytest.mark.slow  # Chandigarh planned through the CLI per method (solver: tests/solver)
@pytest.mark.parametrize(("method", "solver"), [("cut_loop", "highs"), ("branch_and_cut", "scip")])
def test_cli_method_reaches_the_solver_and_the_report(
    shared_data: Path, chandigarh_organisers: Path, tmp_path: Path, method: str, solver: str
) -> None:
    out = tmp_path / "plan"
    code, text = run(
        "allocate", *chandigarh_args(shared_data), "--organisers", chandigarh_organisers,
        "--out", out, "--tolerance", "0.1", "--time-limit", "20", "--method", method,
    )  # fmt: skip
    assert code == 0, text
    assert f"method: {method} (asked: {method})" in text
    report = report_of(out)
    assert report["parameters"]["method"] == method
    assert report["method"] == {"asked": method, "used": method}
    assert report["solver"]["name"] == solver  # branch-and-cut runs in SCIP: it did run
    assert report["check"]["passed"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--method", "simplex"], "--method simplex: choose one of auto, set_partitioning"),
        (
            ["--method", "set_partitioning", "--solver", "cbc"],
            "--method set_partitioning: needs the solver highs, not cbc",
        ),
    ],
)
def test_cli_bad_method_is_refused_naming_option_and_value(
    shared_data: Path, chandigarh_organisers: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "plan"
    code, text = run(
        "allocate", *chandigarh_args(shared_data), "--organisers", chandigarh_organisers,
        "--out", out, *args,
    )  # fmt: skip
    assert code == 2, text
    assert expected in text
    assert not out.exists()


def test_api_schema_offers_the_solver_methods() -> None:
    field = PlanParameters.model_json_schema()["properties"]["method"]
    assert tuple(field["enum"]) == METHODS


def _body(shared_data: Path, **parameters: Any) -> dict[str, Any]:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return {
        "wards": fc,
        "organisers": [
            {"organiser_id": f"CO-{k}", "name": f"CO {k}", "home_ward": ward}
            for k, ward in enumerate(("1", "15"), start=1)
        ],
        "parameters": {"tolerance": 0.2, **parameters},
    }


@pytest.mark.parametrize(("method", "solver"), [("cut_loop", "highs"), ("branch_and_cut", "scip")])
def test_api_allocate_method_reaches_the_solver(
    client: TestClient, shared_data: Path, method: str, solver: str
) -> None:
    response = client.post("/allocate", json=_body(shared_data, method=method, time_limit=10))
    assert response.status_code == 200, response.text
    out = AllocateOut.model_validate(response.json())
    assert out.method == {"asked": method, "used": method}
    assert out.solver == solver
    assert out.check.passed


def test_api_allocate_job_keeps_the_method(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    """Above the synchronous limit the request is stored as a job; its method survives the store."""
    body = _body(shared_data, method="cut_loop", time_limit=31)
    made = client.post("/allocate", json=body)
    assert made.status_code == 202, made.text
    job = JobOut.model_validate(made.json())
    assert job.request["parameters"]["method"] == "cut_loop"
    run_job_here(session_factory, job.id)
    done = JobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done
    assert done.result is not None
    assert done.result.method == {"asked": "cut_loop", "used": "cut_loop"}


def test_api_bad_method_is_refused_naming_field_and_value(
    client: TestClient, shared_data: Path
) -> None:
    problem = expect_problem(
        client.post("/allocate", json=_body(shared_data, method="simplex", time_limit=10)), 422
    )
    issue = next(e for e in problem.errors if e.field and e.field.endswith("method"))
    assert issue.field == "body.parameters.method"
    assert issue.value == "simplex"
    assert "parameters.method" in problem.detail
    assert "branch_and_cut" in problem.detail  # the names it accepts


def test_api_set_partitioning_with_cbc_is_refused(client: TestClient, shared_data: Path) -> None:
    body = _body(shared_data, method="set_partitioning", solver="cbc", time_limit=10)
    problem = expect_problem(client.post("/allocate", json=body), 422)
    assert "set_partitioning" in problem.detail
    assert "highs" in problem.detail
    assert any(e.field == "method" and e.value == "set_partitioning" for e in problem.errors)
