"""A city's pinned wards over HTTP and the CLI on the real PostGIS, with Chandigarh's real wards
uploaded through the API and four COs: pins stored, read back, replaced, added and removed (the
CMMU writes, every reader reads); bad pins refused naming the pin, storing nothing; a fresh plan
and a re-plan keep the stored pins (read back from the plan's assignment.csv); and every kind of
impossible pin refused naming the pin.

Which pins to set is worked out here from the first plan's own wards (their neighbours by
geometry and their poor households), not taken from the service under test.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.schemas import JobOut, PlanOut
from app.api.schemas.plan_edits import EditCheckOut, VersionOut
from app.cli import cli
from app.core.errors import DomainError
from app.db.models import AuditEvent, Plan, SolveJob, WardPin
from app.db.session import session_scope
from tests.app.apihelp import (
    expect_problem,
    issue_key,
    run_job_here,
)
from tests.app.planfix import HOME_WARDS, TOLERANCE, planned_city, roster_csv, ward_graph

CITY = "chandigarh-pins"
URL = f"/cities/{CITY}/pins"


@dataclass
class City:
    client: TestClient
    factory: sessionmaker[Session]
    connection: Connection
    plan: PlanOut
    wards: dict[str, float]  # ward_id → poor households
    graph: nx.Graph  # wards that share a border
    cmmu: dict[str, str]
    gis: dict[str, str]

    def plan_url(self, plan_id: int, tail: str = "") -> str:
        return f"/cities/{CITY}/plans/{plan_id}{tail}"

    def assignment(self, plan_id: int) -> dict[str, str]:
        text = self.client.get(self.plan_url(plan_id, "/assignment.csv")).text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows
        assert list(rows[0])[:2] == ["ward_id", "organiser_id"]
        assert {r["plan_id"] for r in rows} == {str(plan_id)}
        return {r["ward_id"]: r["organiser_id"] for r in rows}

    def stored(self) -> dict[str, str]:
        rows = self.connection.execute(select(WardPin.ward_id, WardPin.organiser_id))
        return {w: o for w, o in rows}

    def put(self, pins: dict[str, str], headers: dict[str, str] | None = None) -> Any:
        body = {"pins": [{"ward_id": w, "organiser_id": o} for w, o in pins.items()]}
        return self.client.put(URL, json=body, headers=headers or self.cmmu)

    def jobs(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(SolveJob)).scalar_one())


@pytest.fixture(scope="module")
def city(migrated_engine: Engine, shared_data: Path) -> Iterator[City]:
    """Chandigarh uploaded through the API, four COs, one plan without pins; rolled back."""
    with planned_city(migrated_engine, shared_data, CITY, keys="pins") as p:
        wards = {
            f["properties"]["ward_id"]: float(f["properties"]["poor_households_est"])
            for f in p.features
        }
        yield City(
            p.client, p.factory, p.connection, p.plan, wards, ward_graph(p.features), p.cmmu, p.gis
        )


def city_plan(plan_id: int, tail: str = "") -> str:
    return f"/cities/{CITY}/plans/{plan_id}{tail}"


def _moved_pin(city: City) -> tuple[str, str]:
    """A ward the first plan gives one CO, next to another CO's area, and not a home ward: pinned
    to that other CO, a plan must differ from the first one to keep it."""
    first = city.assignment(city.plan.id)
    for ward in sorted(first, key=lambda w: (len(w), w)):
        if ward in HOME_WARDS:
            continue
        others = sorted({first[n] for n in city.graph[ward]} - {first[ward]})
        if others:
            return ward, others[0]
    raise AssertionError("no ward borders another CO's area")


def _plan_job(city: City, body: dict[str, Any]) -> tuple[JobOut, Any]:
    made = city.client.post(f"/cities/{CITY}/plans", json=body)
    assert made.status_code == 202, made.text
    job = JobOut.model_validate(made.json())
    run_job_here(city.factory, job.id)
    done = JobOut.model_validate(city.client.get(job.url).json())
    return done, city.connection


def test_pins_are_stored_read_back_replaced_added_and_removed(city: City) -> None:
    listed = city.put({"3": "CO-1", "9": "CO-2"})
    assert listed.status_code == 200, listed.text
    assert [(p["ward_id"], p["organiser_id"]) for p in listed.json()["pins"]] == [
        ("3", "CO-1"),
        ("9", "CO-2"),
    ]
    read = city.client.get(URL, headers=city.gis)  # every reader of the city reads them
    assert read.status_code == 200, read.text
    assert {p["set_by"] for p in read.json()["pins"]} == {"pins-cmmu"}
    assert all(p["set_at"] for p in read.json()["pins"])
    assert city.stored() == {"3": "CO-1", "9": "CO-2"}

    added = city.client.post(
        URL, json={"ward_id": "10", "organiser_id": "CO-3", "reason": "works there"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["reason"] == "works there"
    again = expect_problem(
        city.client.post(URL, json={"ward_id": "10", "organiser_id": "CO-4"}), 409
    )
    assert "ward 10 is pinned to CO-3 (set by pins-cmmu)" in again.detail
    assert city.stored() == {"3": "CO-1", "9": "CO-2", "10": "CO-3"}

    gone = city.client.delete(f"{URL}/9")
    assert gone.status_code == 200, gone.text
    assert gone.json()["organiser_id"] == "CO-2"
    assert (
        "ward 9 of 'chandigarh-pins' is not pinned"
        in expect_problem(city.client.delete(f"{URL}/9"), 404).detail
    )
    replaced = city.put({"10": "CO-3", "4": "CO-2"})
    assert replaced.status_code == 200, replaced.text
    assert city.stored() == {"10": "CO-3", "4": "CO-2"}
    assert city.put({}).json()["pins"] == []
    assert city.stored() == {}
    actions = city.connection.execute(
        select(AuditEvent.action).where(AuditEvent.action.like("pins.%"))
    ).scalars()
    assert sorted(set(actions)) == ["pins.add", "pins.remove", "pins.replace"]


def test_only_the_cmmu_writes_pins(city: City) -> None:
    assert expect_problem(city.put({"3": "CO-1"}, headers=city.gis), 403)
    post = city.client.post(URL, json={"ward_id": "3", "organiser_id": "CO-1"}, headers=city.gis)
    expect_problem(post, 403)
    expect_problem(city.client.delete(f"{URL}/3", headers=city.gis), 403)
    other = issue_key(city.factory, "pins-other-cmmu", "cmmu", "somewhere-else")
    expect_problem(city.put({"3": "CO-1"}, headers=other), 404)  # another city's CMMU
    assert city.stored() == {}


def test_bad_pins_are_refused_naming_the_pin_and_nothing_is_stored(city: City) -> None:
    city.put({"4": "CO-2"})
    for pins, named in (
        ({"3": "CO-1", "999": "CO-1"}, "pin 999=CO-1: ward 999 is not in the current layer"),
        ({"3": "CO-9"}, "pin 3=CO-9: CO-9 is not an active CO of chandigarh-pins"),
    ):
        assert named in expect_problem(city.put(pins), 422).detail
    twice = {"pins": [{"ward_id": "3", "organiser_id": w} for w in ("CO-1", "CO-2")]}
    assert (
        "ward(s) 3 appear more than once"
        in expect_problem(city.client.put(URL, json=twice), 422).detail
    )
    post = city.client.post(URL, json={"ward_id": "77", "organiser_id": "CO-1"})
    assert "ward 77 is not in the current layer" in expect_problem(post, 422).detail
    assert city.stored() == {"4": "CO-2"}
    city.put({})


def test_a_fresh_plan_keeps_the_stored_pins(city: City) -> None:
    ward, co = _moved_pin(city)
    home = next(w for w in HOME_WARDS[1:] if w != ward)  # a home ward of CO-2, 3 or 4 …
    assert city.put({ward: co, home: "CO-1"}).status_code == 200  # … given to CO-1
    done, _ = _plan_job(city, {"tolerance": TOLERANCE, "time_limit": 10})
    assert done.status == "succeeded", done.error
    assert done.plan_id is not None
    plan = PlanOut.model_validate(city.client.get(city.plan_url(done.plan_id)).json())
    assert plan.check.passed
    assert plan.status in ("optimal", "feasible")
    after = city.assignment(done.plan_id)
    assert (after[ward], after[home]) == (co, "CO-1")
    assert city.assignment(city.plan.id)[ward] != co  # the plan without the pin differs there
    pinned = sorted([f"{ward}={co}", f"{home}=CO-1"], key=lambda p: list(city.wards).index(p[:-5]))
    assert f"pins kept: {', '.join(pinned)}" in plan.warnings, plan.warnings
    owner = f"CO-{HOME_WARDS.index(home) + 1}"
    assert f"pin {home}=CO-1: ward {home} is the home ward of {owner}" in " ".join(plan.warnings)
    report = city.connection.execute(select(Plan.report).where(Plan.id == done.plan_id))
    assert report.scalar_one()["pins"]["kept"] == {ward: co, home: "CO-1"}
    city.put({})


@pytest.mark.slow  # a plan and a re-plan with its fresh comparison
def test_a_replan_keeps_the_stored_pins_and_adds_the_asked_ones(city: City) -> None:
    ward, co = _moved_pin(city)
    city.put({ward: co})
    first = city.assignment(city.plan.id)
    asked = next(w for w in sorted(first) if w != ward and w not in HOME_WARDS)
    url = city.plan_url(city.plan.id, "/replan")
    before = city.jobs()
    clash = city.client.post(url, json={"pins": {ward: "CO-4" if co != "CO-4" else "CO-3"}})
    detail = expect_problem(clash, 422).detail
    assert f"ward {ward} is pinned to {co}" in detail  # both pins named
    assert f"pin {ward}=CO-" in detail
    assert city.jobs() == before  # nothing queued

    made = city.client.post(url, json={"pins": {asked: first[asked]}, "time_limit": 20})
    assert made.status_code == 202, made.text
    job = JobOut.model_validate(made.json())
    run_job_here(city.factory, job.id)
    done = JobOut.model_validate(city.client.get(job.url).json())
    assert done.status == "succeeded", done.error
    assert done.plan_id is not None
    after = city.assignment(done.plan_id)
    assert after[ward] == co
    assert after[asked] == first[asked]
    version = VersionOut.model_validate(
        city.client.get(city.plan_url(done.plan_id, "/lineage")).json()[0]
    )
    assert version.details["pins"] == {ward: co, asked: first[asked]}
    assert version.details["pins_stored"] == {ward: co}
    city.put({})


def _chain(city: City, a: str, b: str) -> float:
    """The fewest poor households on any chain of neighbouring wards from a to b (both in)."""
    directed = nx.DiGraph()
    for u, v in city.graph.edges:
        directed.add_edge(u, v, weight=city.wards[v])
        directed.add_edge(v, u, weight=city.wards[u])
    return city.wards[a] + float(nx.dijkstra_path_length(directed, a, b))


def _shut_in(city: City) -> tuple[str, list[str]]:
    """A ward lighter than the smallest share at ±50 % whose neighbours, all pinned to one CO, do
    not exceed the largest: pinned to another CO, it would be shut in alone."""
    mean = sum(city.wards.values()) / 4
    ring = next(
        w
        for w in sorted(city.wards, key=lambda w: (city.graph.degree(w), len(w), w))
        if city.wards[w] < mean * (1 - TOLERANCE)
        and w not in HOME_WARDS
        and sum(city.wards[n] for n in city.graph[w]) <= mean * (1 + TOLERANCE)
    )
    return ring, sorted(city.graph[ring], key=lambda w: list(city.wards).index(w))


def _far_apart(city: City, tolerance: float) -> dict[str, str]:
    """Two wards far apart with CO-1 (the heaviest chain of borders between them, by the test's
    own graph), CO-2 and CO-4 at home."""
    top = sum(city.wards.values()) / 4 * (1 + tolerance)
    a, b = max(
        (
            (a, b)
            for a, b in itertools.combinations(sorted(city.wards), 2)
            if city.wards[a] + city.wards[b] <= top and a not in HOME_WARDS and b not in HOME_WARDS
        ),
        key=lambda p: _chain(city, *p),
    )
    return {a: "CO-1", b: "CO-1", "8": "CO-2", "22": "CO-4"}


def _planned(city: City, tolerance: float) -> PlanOut:
    """A plan job of the city at ``tolerance``, run here; the plan it stored."""
    done, _ = _plan_job(city, {"tolerance": tolerance, "time_limit": 20})
    assert done.status == "succeeded", done.error
    assert done.plan_id is not None
    return PlanOut.model_validate(city.client.get(city.plan_url(done.plan_id)).json())


def test_impossible_pins_are_refused_naming_the_pin(city: City) -> None:
    mean = sum(city.wards.values()) / 4
    hi = mean * (1 + TOLERANCE)
    # 1. One CO's pinned wards that alone exceed the largest share: refused before solving.
    total, pins = 0.0, {}
    for w in sorted(city.wards, key=lambda w: -city.wards[w]):
        pins[w] = "CO-1"
        total += city.wards[w]
        if total > hi:
            break
    assert city.put(pins).status_code == 200
    plan = _planned(city, TOLERANCE)
    assert plan.status == "infeasible"
    listed = ", ".join(f"{w}=CO-1" for w in sorted(pins))
    assert f"pins {listed}: together {total:,.0f} poor households" in plan.explanation

    # 2. A ward with CO-1 and all its neighbours with CO-2: CO-1's connected area could only be
    # that ward, lighter than the smallest share. Refused before solving, naming the pins.
    ring, around = _shut_in(city)
    assert city.put({ring: "CO-1"} | {n: "CO-2" for n in around}).status_code == 200
    plan = _planned(city, TOLERANCE)
    assert plan.status == "infeasible"
    assert f"pin {ring}=CO-1: pins " in plan.explanation
    assert f" shut CO-1 in wards {ring} with {city.wards[ring]:,.0f} poor households" in (
        plan.explanation
    )
    assert all(f"{n}=CO-2" in plan.explanation for n in around)

    # 3. Two wards far apart with CO-1, CO-2 and CO-4 at home (_far_apart): at ±15 % the solver
    # proves that no plan keeps them all. The deletion filter names a set of them, each of which
    # is needed: checked here by plans that keep the set less any one pin, and a plan with just
    # the set refused.
    tight = 0.15
    pins = _far_apart(city, tight)
    city.put(pins)
    plan = _planned(city, tight)
    assert plan.status == "infeasible", plan.explanation
    head, proved, _ = plan.explanation.partition(" at ±15.0 % of the mean (proved)")
    assert proved, plan.explanation
    assert "the time ran out" not in plan.explanation
    named = dict(p.split("=") for p in head.removeprefix("pins ").split(" cannot")[0].split(", "))
    assert 2 <= len(named) < len(pins), plan.explanation
    assert named.items() <= pins.items()
    assert city.client.get(city.plan_url(plan.id, "/assignment.csv")).status_code == 409
    city.put(named)
    assert _planned(city, tight).status == "infeasible"
    for ward in named:
        rest = {w: o for w, o in named.items() if w != ward}
        city.put(rest)
        kept = _planned(city, tight)
        assert kept.status in ("optimal", "feasible"), kept.explanation
        assert kept.check.passed
        assignment = city.assignment(kept.id)
        assert all(assignment[w] == o for w, o in rest.items())

    # 4. A pin gone stale (its CO retired): the plan is refused before anything is queued.
    city.put({ring: "CO-4"})
    assert (
        city.client.delete(f"/cities/{CITY}/organisers/CO-4", headers=city.gis).status_code == 200
    )
    before = city.jobs()
    stale = city.client.post(f"/cities/{CITY}/plans", json={"tolerance": TOLERANCE})
    assert f"pin {ring}=CO-4: CO-4 is not an active CO" in expect_problem(stale, 409).detail
    assert city.jobs() == before
    files = {"file": ("organisers.csv", roster_csv(), "text/csv")}
    back = city.client.post(f"/cities/{CITY}/organisers", files=files, headers=city.gis)
    assert back.status_code == 201, back.text
    city.put({})


def test_the_pins_cli_sets_adds_lists_and_removes(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.db.session as db_session

    monkeypatch.setattr(db_session, "session_scope", lambda: session_scope(city.factory))

    def run(*args: str, code: int = 0) -> Any:
        done = CliRunner().invoke(cli, ["pins", *args])
        assert done.exit_code == code, done.output
        return done

    table = run("set", CITY, "3=CO-1", "9=CO-2", "--reason", "self-help groups").stdout
    assert table.splitlines()[0] == "ward\tco\treason\tset by\tset at"
    assert city.stored() == {"3": "CO-1", "9": "CO-2"}
    assert "pinned ward 10 to CO-3" in run("add", CITY, "10=CO-3").stdout
    lines = run("list", CITY).stdout.splitlines()[1:]
    assert [line.split("\t")[:3] for line in lines] == [
        ["10", "CO-3", ""],
        ["3", "CO-1", "self-help groups"],
        ["9", "CO-2", "self-help groups"],
    ]
    assert all(line.split("\t")[3].startswith("cli") for line in lines)
    assert "removed the pin of ward 9 (was CO-2)" in run("remove", CITY, "9").stdout
    refused = run("add", CITY, "999=CO-1", code=2)
    assert "pin 999=CO-1: ward 999 is not in the current layer" in refused.stderr
    assert "write WARD=CO" in run("add", CITY, "57", code=2).stderr
    assert city.stored() == {"3": "CO-1", "10": "CO-3"}
    run("set", CITY)
    assert city.stored() == {}


@pytest.mark.slow  # re-plans that break pins, and the deletion filter
def test_a_replan_refuses_impossible_stored_pins_naming_them(city: City) -> None:
    url = city.plan_url(city.plan.id, "/replan")

    def refusal(body: dict[str, Any]) -> str:
        made = city.client.post(url, json={"time_limit": 20, **body})
        assert made.status_code == 202, made.text
        job = JobOut.model_validate(made.json())
        with pytest.raises(DomainError) as refused:  # the job process ends the job with it
            run_job_here(city.factory, job.id)
        assert refused.value.title == "no re-plan"
        return refused.value.detail

    ring, around = _shut_in(city)
    city.put({ring: "CO-1"} | {n: "CO-2" for n in around})
    shut = refusal({})
    assert f"the pins cannot be kept: pin {ring}=CO-1: pins " in shut
    assert all(f"{n}=CO-2" in shut for n in around)

    pins = _far_apart(city, 0.15)
    city.put(pins)
    far = refusal({"tolerance": 0.15})
    head, proved, _ = far.partition(" at ±15.0 % of the mean (proved)")
    assert proved, far
    named = dict(p.split("=") for p in head.split("pins ")[-1].split(" cannot")[0].split(", "))
    assert 2 <= len(named) < len(pins), far
    assert named.items() <= pins.items()
    city.put({})


def _free_move(city: City, assignment: dict[str, str]) -> tuple[str, str]:
    """A border ward whose move to a neighbouring CO keeps both areas connected and every load
    within the plan's tolerance: an edit that breaks nothing but a pin."""
    cos = sorted(set(assignment.values()))

    def loads(a: dict[str, str]) -> dict[str, float]:
        return {c: sum(city.wards[w] for w, o in a.items() if o == c) for c in cos}

    mean = sum(city.wards.values()) / len(cos)
    lo, hi = mean * (1 - TOLERANCE), mean * (1 + TOLERANCE)
    for ward in sorted(assignment, key=lambda w: (len(w), w)):
        for co in sorted({assignment[n] for n in city.graph[ward]} - {assignment[ward]}):
            after = {**assignment, ward: co}
            areas = [[w for w, o in after.items() if o == c] for c in cos]
            if all(a and nx.is_connected(city.graph.subgraph(a)) for a in areas) and all(
                lo <= x <= hi for x in loads(after).values()
            ):
                return ward, co
    raise AssertionError("no valid single-ward move")


def _edit(city: City, moves: dict[str, str], **flags: Any) -> Any:
    body = {"moves": [{"ward_id": w, "organiser_id": o} for w, o in moves.items()], **flags}
    return city.client.post(city.plan_url(city.plan.id, "/edits"), json=body)


def _plans(city: City) -> int:
    return int(city.connection.execute(select(func.count()).select_from(Plan)).scalar_one())


def test_a_hand_edit_moving_a_pinned_ward_is_refused_naming_the_pin(city: City) -> None:
    first = city.assignment(city.plan.id)
    ward, co = _free_move(city, first)
    pinned = first[ward]
    assert _edit(city, {ward: co}).json()["valid"]  # without the pin the move breaks nothing
    assert city.put({ward: pinned}).status_code == 200
    why = f"ward {ward} is pinned to {pinned}: it cannot move to {co} (remove the pin first)"

    checked = EditCheckOut.model_validate(_edit(city, {ward: co}).json())
    assert (checked.valid, checked.breaks) == (False, [why])
    before = _plans(city)
    refused = expect_problem(_edit(city, {ward: co}, save=True), 409)
    assert refused.type == "/problems/edit-breaks-rules"
    assert why in refused.detail
    assert _plans(city) == before  # nothing stored

    drafted = EditCheckOut.model_validate(_edit(city, {ward: co}, save=True, draft=True).json())
    assert drafted.saved is not None
    assert not drafted.saved.check.passed
    assert why in drafted.saved.check.violations
    assert city.assignment(drafted.saved.id)[ward] == co  # the draft keeps the move …
    approve = city.client.post(city.plan_url(drafted.saved.id, "/approve"))
    assert expect_problem(approve, 409).type == "/problems/plan-not-checked"  # … never approved

    assert city.client.delete(f"{URL}/{ward}").status_code == 200  # the pin removed first
    after = EditCheckOut.model_validate(_edit(city, {ward: co}).json())
    assert (after.valid, after.breaks) == (True, [])
    city.put({})


@pytest.mark.slow  # Chandigarh planned through the CLI, then adjust runs
def test_wardplan_adjust_keeps_the_city_s_stored_pins(
    city: City, monkeypatch: pytest.MonkeyPatch, shared_data: Path, tmp_path: Path
) -> None:
    import app.db.session as db_session

    monkeypatch.setattr(db_session, "session_scope", lambda: session_scope(city.factory))
    roster = tmp_path / "organisers.csv"
    roster.write_bytes(roster_csv())
    folder = tmp_path / "plan"
    wards = shared_data / "chandigarh" / "wards.geojson"
    args = ["allocate", str(wards), "--organisers", str(roster), "--out", str(folder)]
    made = CliRunner().invoke(cli, [*args, "--tolerance", str(TOLERANCE), "--time-limit", "10"])
    assert made.exit_code == 0, made.output
    rows = list(csv.DictReader(io.StringIO((folder / "summary.csv").read_text("utf-8"))))
    first = {w: r["organiser_id"] for r in rows for w in r["ward_ids"].split()}
    assert set(first) == set(city.wards)
    ward, co = _free_move(city, first)
    city.put({ward: first[ward]})

    def adjust(out: str, *extra: str) -> Any:
        move = ["adjust", str(folder), "--move", f"{ward}={co}", "--out", str(tmp_path / out)]
        return CliRunner().invoke(cli, [*move, *extra])

    refused = adjust("refused", "--city", CITY)
    assert refused.exit_code == 1, refused.output
    assert f"breaks: ward {ward} is pinned to {first[ward]}: it cannot move to {co}" in (
        refused.stderr
    )
    assert not (tmp_path / "refused").exists()
    drafted = adjust("draft", "--city", CITY, "--draft")
    assert drafted.exit_code == 0, drafted.output
    report = json.loads((tmp_path / "draft" / "report.json").read_text("utf-8"))
    assert (report["valid"], report["pins"]) == (False, {ward: first[ward]})
    back = ["--move", f"{ward}={first[ward]}", "--out", str(tmp_path / "back")]
    # the draft's folder carries the pin: moving the ward back to its CO is fine
    again = CliRunner().invoke(cli, ["adjust", str(tmp_path / "draft"), *back])
    assert again.exit_code == 0, again.output
    city.put({})
    assert adjust("free", "--city", CITY).exit_code == 0  # the pin removed: the move is valid
