"""Durable solve jobs with real worker processes (``wardplan worker``) on a real PostGIS.

Workers are separate processes, so they only see committed rows: this module has a database of its
own (``wardplan_jobs_test``), created, migrated and dropped here, and every step goes through the
HTTP API as a client would: upload Lucknow's raw ward zip and census table → import COs →
request a plan (202) → follow the job → download the plan. Then the faults: a worker SIGKILLed in
the middle of a CBC solve leaves no solver behind and its job is run again, once; cancellation; the
watchdog's deadline; an API restart with a job queued; PostgreSQL restarted during a solve (the job
still ends with one plan) and during an upload (503, nothing stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, pool, select, text
from sqlalchemy.exc import OperationalError

from app.api.schemas import FeatureCollection, JobOut, PlanOut
from app.core.settings import (
    ApiSettings,
    DatabaseSettings,
    JobSettings,
    Settings,
    SolverSettings,
    get_settings,
)
from app.db.models import Plan, SolveJob
from app.db.session import default_session_factory, make_engine, make_session_factory
from app.jobs.worker import RUNNING_GROUPS, past_deadline, watch
from app.main import create_app
from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv
from tests.app.apihelp import issue_key, upload_lucknow

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
#: Fast failure detection for the tests (production defaults are 10 s and 60 s).
WORKER_ENV = {"WARDPLAN_JOBS_HEARTBEAT_S": "1", "WARDPLAN_JOBS_STALLED_AFTER_S": "3"}


@contextlib.contextmanager
def settings_on(url: str) -> Iterator[None]:
    """``app.core.settings`` (and so the default session factory) on ``url`` for a block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WARDPLAN_DB_URL", url)
        get_settings.cache_clear()
        default_session_factory.cache_clear()
        try:
            yield
        finally:
            default_session_factory().kw["bind"].dispose()
            get_settings.cache_clear()
            default_session_factory.cache_clear()


def settings_for(url: str, **jobs: Any) -> Settings:
    return Settings(
        db=DatabaseSettings(url=url),
        solver=SolverSettings(time_limit=120),
        api=ApiSettings(),
        jobs=JobSettings(**jobs),
    )


@dataclass
class Service:
    client: TestClient
    url: str
    settings: Settings
    ward_count: int
    headers: dict[str, str]  # an admin key

    def request_plan(self, **body: Any) -> JobOut:
        made = self.client.post("/cities/lucknow/plans", json=body)
        assert made.status_code == 202, made.text
        return JobOut.model_validate(made.json())

    def job(self, job: JobOut) -> JobOut:
        got = self.client.get(job.url)
        assert got.status_code == 200, got.text
        return JobOut.model_validate(got.json())

    def wait(
        self, job: JobOut, until: Callable[[JobOut], bool], timeout: float = 240
    ) -> list[JobOut]:
        """Poll the job until ``until`` holds; returns every state seen (fails on timeout)."""
        seen = [self.job(job)]
        deadline = time.monotonic() + timeout
        while not until(seen[-1]):
            assert time.monotonic() < deadline, f"job never got there: {seen[-1]}"
            time.sleep(0.3)
            seen.append(self.job(job))
        return seen

    def plans(self) -> int:
        engine = create_engine(self.url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                return int(connection.execute(select(func.count()).select_from(Plan)).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def service(
    jobs_db: str, lucknow_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The API on the jobs database with Lucknow's raw zip and census table uploaded and 20
    illustrative COs imported (committed)."""
    settings = settings_for(jobs_db)
    wards = read_ward_layer(lucknow_files["raw"], exclude_ids=["0"]).wards
    roster = write_organisers_csv(
        illustrative_organisers(wards, 20, seed=2017),
        tmp_path_factory.mktemp("cos20") / "organisers.csv",
    )
    app = create_app(settings)
    headers = issue_key(app.state.session_factory, "worker-tests-admin", "admin")
    with TestClient(app, headers=headers) as client:
        uploaded = upload_lucknow(client, "lucknow", lucknow_files, exclude="0")
        assert uploaded.status_code == 201, uploaded.text
        with roster.open("rb") as fh:
            imported = client.post(
                "/cities/lucknow/organisers", files={"file": ("organisers.csv", fh, "text/csv")}
            )
        assert imported.status_code == 201, imported.text
        yield Service(client, jobs_db, settings, int(uploaded.json()["ward_count"]), headers)


class Worker:
    """``wardplan worker`` as a real process (its own session, so the test can kill it); its
    stderr goes to ``log`` (a file: a pipe nobody reads could fill and stop the worker)."""

    def __init__(self, url: str, log: Path, **env: str):
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "wardplan"), "worker"],
                cwd=REPO,
                env={**os.environ, **WORKER_ENV, "WARDPLAN_DB_URL": url, **env},
                stdout=subprocess.DEVNULL,
                stderr=sink,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.output()[-3000:]


@pytest.fixture
def worker_factory(service: Service, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        started.append(Worker(service.url, tmp_path / f"worker-{len(started)}.log", **env))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _group(pgid: int) -> list[tuple[int, str]]:
    """Live (non-zombie) processes of process group ``pgid``, with their command names."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append((int(entry.name), name))
    return members


def _wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_upload_plan_follow_download(
    service: Service, worker_factory: Callable[[], Worker]
) -> None:
    """The client's whole path: the job is queued, runs with progress, and its plan is served."""
    worker_factory()
    job = service.request_plan(tolerance=0.3, time_limit=20)
    assert job.status == "queued"
    seen = service.wait(job, lambda j: j.status not in ("queued", "running"))
    done = seen[-1]
    assert done.status == "succeeded", f"{done.status} after {done.attempts} attempts: {done.error}"
    assert done.attempts == 1
    assert any(s.status == "running" and s.progress.phase for s in seen), "no progress seen"
    assert done.plan_url is not None
    plan = PlanOut.model_validate(service.client.get(done.plan_url).json())
    assert plan.status in ("optimal", "feasible")
    assert plan.check.passed
    assert len(plan.areas) == 20
    wards = FeatureCollection.model_validate(
        service.client.get(f"{done.plan_url}/wards.geojson").json()
    )
    assert len(wards.features) == service.ward_count == 110  # ward 0 (2 features) excluded
    assert {f["properties"]["organiser_id"] for f in wards.features} == {
        a.organiser_id for a in plan.areas
    }
    assert service.client.get(f"{done.plan_url}/map").status_code == 200


def test_worker_killed_mid_solve_leaves_no_solver_and_the_job_runs_once(
    service: Service, worker_factory: Callable[[], Worker]
) -> None:
    before = service.plans()
    first = worker_factory()
    job = service.request_plan(tolerance=0.3, time_limit=40, solver="cbc")
    service.wait(job, lambda j: j.status == "running")
    runner = _wait_for(lambda: _children(first.process.pid), 120, "the job process")[0]
    group = _wait_for(
        lambda: [m for m in _group(runner) if m[1].lower().startswith("cbc")] and _group(runner),
        300,
        "CBC to start in the job's process group",
    )
    assert any(pid != runner for pid, _ in group)
    # Deterministic: the job's whole group is frozen, so the solve cannot end (however loaded
    # the machine) before the worker dies; CBC is alive when the worker is killed.
    os.killpg(runner, signal.SIGSTOP)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(30)
    assert {pid for pid, _ in _group(runner)} >= {pid for pid, _ in group}  # all still there
    os.killpg(runner, signal.SIGCONT)  # the job process now gets the worker's death signal
    _wait_for(lambda: not _group(runner), 120, "the job process and CBC to die with the worker")
    assert service.job(job).status == "running"  # nobody has finished it

    second = worker_factory()  # another worker finds the stalled job and runs it again
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=600)[-1]
    assert done.status == "succeeded", (
        f"{done.status} after {done.attempts} attempts: {done.error}\n{second.output()[-3000:]}"
    )
    assert done.attempts == 2
    assert service.plans() == before + 1

    # Delivered once more (as a queue may do): nothing runs, nothing is stored.
    with settings_on(service.url):
        assert asyncio.run(watch(job.id, service.settings.jobs)).startswith("nothing to do")
    assert service.job(job).attempts == 2
    assert service.plans() == before + 1


def test_cancel_a_running_job(service: Service, worker_factory: Callable[[], Worker]) -> None:
    before = service.plans()
    w = worker_factory()
    job = service.request_plan(tolerance=0.3, time_limit=60, solver="cbc")
    service.wait(job, lambda j: j.status == "running")
    runner = _wait_for(lambda: _children(w.process.pid), 60, "the job process")[0]
    cancelled = service.client.post(f"{job.url}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert JobOut.model_validate(cancelled.json()).cancel_requested
    done = service.wait(job, lambda j: j.status != "running", timeout=30)[-1]
    assert done.status == "cancelled"
    assert done.plan_id is None
    _wait_for(lambda: not _group(runner), 15, "the job's processes to end")
    assert service.plans() == before
    again = service.client.post(f"{job.url}/cancel")
    assert again.status_code == 409


def test_each_solve_has_its_own_temp_folder_removed_however_it_ends(
    service: Service, worker_factory: Callable[..., Worker], tmp_path: Path
) -> None:
    """PuLP's model files and CBC's log go to the solve's own folder (``wardplan-solve-…``),
    removed when the job is cancelled and when it succeeds; a worker starting removes the folder
    a dead worker left."""
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    stale = scratch / "wardplan-solve-4194305-1-left"  # above any pid: its worker is gone
    stale.mkdir()
    (stale / "abc-pulp.mps").write_bytes(b"NAME left behind\n")
    w = worker_factory(TMPDIR=str(scratch))
    job = service.request_plan(tolerance=0.3, time_limit=60, solver="cbc")
    service.wait(job, lambda j: j.status == "running")
    prefix = f"wardplan-solve-{w.process.pid}-{job.id}-"
    [folder] = _wait_for(lambda: list(scratch.glob(prefix + "*")), 60, "the solve's folder")
    assert not stale.exists()
    files = _wait_for(lambda: sorted(p.name for p in folder.iterdir()), 90, "the solve's files")
    assert any(name.startswith("wardplan-cbc-") for name in files), files
    assert service.client.post(f"{job.url}/cancel").status_code == 200
    assert service.wait(job, lambda j: j.status != "running", timeout=30)[-1].status == "cancelled"
    _wait_for(lambda: not folder.exists(), 30, "the cancelled solve's folder to go")

    job = service.request_plan(tolerance=0.3, time_limit=3, solver="cbc")
    done = service.wait(job, lambda j: j.status not in ("queued", "running"))[-1]
    assert done.status == "succeeded", done.error
    _wait_for(lambda: not list(scratch.iterdir()), 30, "the solve's folder to go")


def test_cancel_a_queued_job(service: Service) -> None:
    """No worker runs here: the job is withdrawn from the queue before anyone takes it."""
    job = service.request_plan(tolerance=0.3, time_limit=10)
    cancelled = JobOut.model_validate(service.client.post(f"{job.url}/cancel").json())
    assert cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    engine = make_engine(service.settings.db)
    try:
        with make_session_factory(engine)() as session:
            queue_id = session.scalar(select(SolveJob.queue_job_id).where(SolveJob.id == job.id))
            status = session.execute(
                text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": queue_id}
            ).scalar_one()
        assert status == "cancelled"
    finally:
        engine.dispose()


def test_watchdog_kills_a_job_past_its_deadline(service: Service) -> None:
    """With no room and no grace, a 1 s limit cannot cover even the job process's start: the
    watchdog fails the job with its deadline named, and no process of the job is left."""
    job = service.request_plan(tolerance=0.3, time_limit=1)
    strict = JobSettings(grace_s=0, room_s=0, poll_s=0.2)
    # The watchdog as the worker runs it, here; the job process is real.
    with settings_on(service.url):
        outcome = asyncio.run(watch(job.id, strict))
    assert outcome == "killed past its deadline"
    assert not RUNNING_GROUPS
    assert not [p for p in _children(os.getpid()) if "jobrunner" in _cmdline(p)]
    assert not list(Path(tempfile.gettempdir()).glob(f"wardplan-solve-{os.getpid()}-{job.id}-*"))
    done = service.job(job)
    assert done.status == "failed"
    assert done.error == past_deadline(1, strict), done.error
    assert "past its deadline of 1 s" in done.error
    # The killed attempt stored nothing and the job is not claimable again.
    engine = make_engine(service.settings.db)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(SolveJob.plan_id).where(SolveJob.id == job.id)) is None
    finally:
        engine.dispose()


def test_the_deadline_leaves_room_for_the_work_around_the_solve(service: Service) -> None:
    """A 5 s time limit with 5 s grace: the job's start, reading and storing do not count
    against them (the watchdog used to kill such jobs); it succeeds with its plan."""
    before = service.plans()
    job = service.request_plan(tolerance=0.3, time_limit=5)
    with settings_on(service.url):
        outcome = asyncio.run(watch(job.id, JobSettings(grace_s=5, poll_s=0.5)))
    done = service.job(job)
    assert outcome == "done", (outcome, done.error)
    assert done.status == "succeeded", done.error
    assert service.plans() == before + 1


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- Faults: an API restart with jobs queued; PostgreSQL restarted during a solve and an upload ---


def _restart_postgres(migrated_engine: Engine) -> None:
    """Stop and start the private cluster (fast shutdown: every connection is cut)."""
    script = REPO / "scripts" / "postgres.sh"
    for step in ("stop", "start"):
        done = subprocess.run(
            [str(script), step], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
    migrated_engine.dispose()  # the suite's own pooled connections died with the server


def test_queued_jobs_survive_an_api_restart(
    service: Service, worker_factory: Callable[[], Worker]
) -> None:
    before = service.plans()
    job = service.request_plan(tolerance=0.3, time_limit=10)
    # The API process goes away with the job queued; a new one knows it, and a worker runs it.
    with TestClient(create_app(service.settings), headers=service.headers) as restarted:
        again = JobOut.model_validate(restarted.get(job.url).json())
        assert again.status == "queued"
        assert again.queue_position is not None
        worker_factory()
        deadline = time.monotonic() + 240
        while again.status in ("queued", "running"):
            assert time.monotonic() < deadline, again
            time.sleep(0.3)
            again = JobOut.model_validate(restarted.get(job.url).json())
    assert again.status == "succeeded", again
    assert service.plans() == before + 1


def test_database_restart_during_a_solve(
    service: Service, worker_factory: Callable[[], Worker], migrated_engine: Engine
) -> None:
    """Nothing acknowledged is lost: the job ends with exactly one plan after the restart."""
    before = service.plans()
    w = worker_factory()
    job = service.request_plan(tolerance=0.3, time_limit=20)
    service.wait(job, lambda j: j.status == "running" and j.progress.phase is not None)
    runner = _wait_for(lambda: _children(w.process.pid), 60, "the job process")[0]
    _restart_postgres(migrated_engine)
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=300)[-1]
    assert done.status == "succeeded", f"{done.status} after {done.attempts} attempts: {done.error}"
    assert service.plans() == before + 1
    _wait_for(lambda: not _group(runner), 30, "the first attempt's processes to end")


def _postgres(step: str) -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "postgres.sh"), step],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _queue_status(url: str, job_id: int) -> str | None:
    """procrastinate's status of the job's latest queue entry (None while the database is away)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT q.status FROM procrastinate_jobs q JOIN solve_job j "
                    "ON q.id = j.queue_job_id WHERE j.id = :id"
                ),
                {"id": job_id},
            ).scalar_one_or_none()
    except OperationalError:
        return None
    finally:
        engine.dispose()


def test_database_restart_while_the_job_stores_its_plan(
    service: Service,
    worker_factory: Callable[..., Worker],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    """The solve is over and its plan written, the job marked succeeded, not yet committed: the
    job process is held there (``WARDPLAN_JOBS_TEST_HOLD``) while PostgreSQL stops. Let go, its
    commit fails (exit 4), and the worker's own bookkeeping (queueing the job again) meets a
    database that is down, and retries; PostgreSQL starts again. The job runs once more and ends
    ``succeeded`` with exactly one plan: the first attempt's plan was never committed."""
    holds = tmp_path / "holds"
    holds.mkdir()
    (holds / "before-commit").touch()
    before = service.plans()
    w = worker_factory(WARDPLAN_JOBS_TEST_HOLD=str(holds))
    job = service.request_plan(tolerance=0.3, time_limit=20)
    held = holds / "before-commit.held"
    _wait_for(held.exists, 300, "the job to hold before its commit")
    runner = _children(w.process.pid)[0]
    assert service.plans() == before  # written in its transaction, not committed
    try:
        _postgres("stop")
        held.unlink()  # the commit meets a closed connection
        _wait_for(lambda: not _group(runner), 60, "the job process to exit")
        _wait_for(
            lambda: f"job {job.id}: database unreachable" in w.output(),
            60,
            "the worker to find the database down while it queues the job again",
        )
    finally:
        _postgres("start")
        migrated_engine.dispose()
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=300)[-1]
    assert done.status == "succeeded", (done, w.output()[-3000:])
    assert done.attempts == 2
    assert service.plans() == before + 1
    assert done.plan_id is not None
    assert list(holds.iterdir()) == []  # the second attempt was not held


def test_database_restart_after_the_job_committed_its_plan(
    service: Service,
    worker_factory: Callable[..., Worker],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    """The plan and ``succeeded`` are committed; the job process is held before it exits while
    PostgreSQL restarts, so the worker and procrastinate do their bookkeeping on a database that
    came back. The job stays ``succeeded`` after one attempt with one plan, and is not run again
    (checked once procrastinate has closed its queue entry, when no further attempt can come)."""
    holds = tmp_path / "holds"
    holds.mkdir()
    (holds / "after-commit").touch()
    before = service.plans()
    w = worker_factory(WARDPLAN_JOBS_TEST_HOLD=str(holds))
    job = service.request_plan(tolerance=0.3, time_limit=20)
    held = holds / "after-commit.held"
    _wait_for(held.exists, 300, "the job to hold after its commit")
    assert service.job(job).status == "succeeded"
    assert service.plans() == before + 1
    try:
        _postgres("stop")
        held.unlink()
        _wait_for(lambda: not _children(w.process.pid), 60, "the job process to exit")
    finally:
        _postgres("start")
        migrated_engine.dispose()
    final = ("succeeded", "failed", "cancelled", "aborted")
    _wait_for(
        lambda: _queue_status(service.url, job.id) in final,
        300,
        "procrastinate to close the job's queue entry",
    )
    done = service.job(job)
    assert done.status == "succeeded", (done, w.output()[-3000:])
    assert done.attempts == 1
    assert service.plans() == before + 1


def test_database_restart_during_an_upload(
    service: Service, lucknow_files: dict[str, Path], migrated_engine: Engine
) -> None:
    """An upload cut off by a restart answers 503 with Retry-After, and stores nothing."""
    counts_before = _layer_count(service.url)
    holder = create_engine(service.url, poolclass=pool.NullPool)
    result: dict[str, Any] = {}

    def upload() -> None:
        with TestClient(create_app(service.settings), headers=service.headers) as other:
            # force: the same files as the current version would be answered as identical
            result["response"] = upload_lucknow(
                other, "lucknow", lucknow_files, exclude="0", force="true"
            )

    connection = holder.connect()
    try:
        # Hold the city's row: the upload parses, then waits for it inside its transaction.
        connection.execute(text("SELECT id FROM city WHERE code = 'lucknow' FOR UPDATE"))
        thread = threading.Thread(target=upload)
        thread.start()
        _wait_for(lambda: _waiting_on_a_lock(service.url), 120, "the upload to reach the lock")
        _restart_postgres(migrated_engine)
    finally:
        with contextlib.suppress(OperationalError):  # the connection died with the server
            connection.close()
        holder.dispose()
    thread.join(120)
    assert not thread.is_alive()
    response = result["response"]
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert response.json()["type"] == "/problems/database-unavailable"
    assert _layer_count(service.url) == counts_before
    assert service.client.get("/health").status_code == 200


def _layer_count(url: str) -> int:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM ward_layer")).scalar_one())
    finally:
        engine.dispose()


def _waiting_on_a_lock(url: str) -> bool:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        "'wardplan' AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_api_killed_mid_upload_stores_nothing(
    service: Service, lucknow_files: dict[str, Path]
) -> None:
    """uvicorn SIGKILLed while an upload is inside its transaction: nothing of it is stored."""
    before = _layer_count(service.url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "WARDPLAN_DB_URL": service.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    holder = create_engine(service.url, poolclass=pool.NullPool)
    connection = holder.connect()
    outcome: dict[str, Any] = {}

    def upload() -> None:
        boundary = "wardplanboundary"
        parts = []
        for field, path, ctype in (
            ("file", lucknow_files["raw"], "application/zip"),
            ("population_table", lucknow_files["census"], "text/csv"),
        ):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{path.name}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                + path.read_bytes()
                + b"\r\n"
            )
        for field, value in (("exclude", "0"), ("force", "true")):  # force: not "identical"
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/cities/lucknow/layers",
            data=body,
            method="POST",
            headers={
                **service.headers,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                outcome["status"] = response.status
        except (OSError, http.client.HTTPException) as exc:  # the server died under it
            outcome["error"] = exc

    try:
        _wait_for(lambda: _health(port), 60, "uvicorn to answer")
        connection.execute(text("SELECT id FROM city WHERE code = 'lucknow' FOR UPDATE"))
        thread = threading.Thread(target=upload)
        thread.start()
        _wait_for(lambda: _waiting_on_a_lock(service.url), 120, "the upload to reach the lock")
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        thread.join(30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        connection.close()  # lets the dead request's backend go on, and fail
        holder.dispose()
    assert "error" in outcome, outcome  # the client never got an answer
    _wait_for(lambda: not _waiting_on_a_lock(service.url), 30, "the orphaned backend to end")
    assert _layer_count(service.url) == before
    assert service.client.get("/health").status_code == 200


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
