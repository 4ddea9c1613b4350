"""A worker's database goes away under it: real ``wardplan worker`` processes on the real PostGIS.

- SIGTERM while its database is stopped and a CBC solve runs: the worker ends (it used to wait on
  the database for minutes, until SIGKILL), leaves no solver and no solve folder behind; a worker
  started while the database is still down waits for it, and once it is back runs the job again,
  which ends with exactly one plan.
- The database restarted at the instant a worker claims its job: the claim is retried until the
  database is back, and the job runs once.
- An idle worker outlives an outage and takes new jobs after it.
- A job's deadline passes while the database is down: the watchdog kills its solver, retries the
  job's ``failed`` note until the database is back (even once procrastinate, which lost the
  database, asks the job to stop), and the job ends ``failed`` with the deadline named, after
  one attempt; its folder is removed and the worker goes on.

The fixtures (the API on ``wardplan_jobs_test``, Lucknow uploaded with 20 COs, worker processes)
are those of ``tests/app/test_worker.py``.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, pool, text

from app.core.settings import JobSettings
from app.jobs.worker import EXIT_FORCED, past_deadline
from tests.app import test_worker
from tests.app.test_worker import (
    Service,
    Worker,
    _children,
    _cmdline,
    _group,
    _postgres,
    _queue_status,
    _wait_for,
)

pytestmark = pytest.mark.slow

service = test_worker.service  # the fixtures, used here under their own names
worker_factory = test_worker.worker_factory

#: Generous, never a measured duration. The old worker, stopped with its database gone, waited
#: for its running job (a 60 s solve, 600 s grace), whose storing then failed and was retried for
#: about three minutes: it ended long after this.
EXIT_TIMEOUT_S = 150


def _ended(w: Worker) -> bool:
    return w.process.poll() is not None


def _says(w: Worker, text: str) -> bool:
    return text in w.output()


def test_sigterm_ends_a_worker_whose_database_is_gone_and_its_job_runs_once(
    service: Service,
    worker_factory: Callable[..., Worker],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    before = service.plans()
    first = worker_factory(TMPDIR=str(scratch), WARDPLAN_JOBS_GRACE_S="600")
    job = service.request_plan(tolerance=0.3, time_limit=60, solver="cbc")
    service.wait(job, lambda j: j.status == "running", timeout=300)
    runner = _wait_for(lambda: _children(first.process.pid), 120, "the job process")[0]
    _wait_for(
        lambda: any(name.lower().startswith("cbc") for _, name in _group(runner)),
        300,
        "CBC to start in the job's process group",
    )
    second: Worker | None = None
    try:
        _postgres("stop")
        first.process.send_signal(signal.SIGTERM)
        _wait_for(lambda: _ended(first), EXIT_TIMEOUT_S, "the worker to end after SIGTERM")
        log = first.output()
        # Ended by itself: handed back gracefully (0) or, past its shutdown time, forced (1);
        # never by a signal.
        assert first.process.returncode in (0, EXIT_FORCED), log[-3000:]
        assert "SIGTERM: stopping" in log
        _wait_for(lambda: not _group(runner), 60, "the job process and CBC to end")
        assert not list(scratch.glob("wardplan-solve-*")), "the solve's folder was left"

        # A worker started while the database is still down waits for it.
        second = worker_factory()
        _wait_for(
            lambda: "restarting the worker" in second.output(),
            180,
            "the new worker to find the database down",
        )
    finally:
        _postgres("start")
        migrated_engine.dispose()
    assert second is not None
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=900)[-1]
    assert done.status == "succeeded", (
        f"{done.status} after {done.attempts} attempts: {done.error}\n{second.output()[-3000:]}"
    )
    assert done.attempts == 2
    assert service.plans() == before + 1
    assert second.process.poll() is None  # still serving
    second.process.send_signal(signal.SIGINT)
    _wait_for(lambda: _ended(second), EXIT_TIMEOUT_S, "the second worker to end after SIGINT")
    assert second.process.returncode == 0, second.output()[-3000:]
    assert "worker stopped" in second.output()


def test_database_restart_at_the_claim(
    service: Service,
    worker_factory: Callable[..., Worker],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    """The worker holds (``WARDPLAN_JOBS_TEST_HOLD``) just before it claims a job it was given;
    PostgreSQL stops, the worker is let go, its claim meets the dead database and is retried
    (seen in its log) until PostgreSQL is back; the job then runs once, with one plan."""
    holds = tmp_path / "holds"
    holds.mkdir()
    (holds / "before-claim").touch()
    before = service.plans()
    w = worker_factory(WARDPLAN_JOBS_TEST_HOLD=str(holds))
    job = service.request_plan(tolerance=0.3, time_limit=5)
    held = holds / "before-claim.held"
    _wait_for(held.exists, 300, "the worker to hold before its claim")
    assert service.job(job).status == "queued"
    try:
        _postgres("stop")
        held.unlink()
        _wait_for(
            lambda: f"job {job.id}: database unreachable" in w.output(),
            120,
            "the claim to meet the stopped database",
        )
    finally:
        _postgres("start")
        migrated_engine.dispose()
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=600)[-1]
    assert done.status == "succeeded", (done, w.output()[-3000:])
    assert done.attempts == 1
    assert service.plans() == before + 1
    assert list(holds.iterdir()) == []


def test_an_idle_worker_outlives_an_outage(
    service: Service, worker_factory: Callable[..., Worker], migrated_engine: Engine
) -> None:
    before = service.plans()
    w = worker_factory()
    _wait_for(lambda: "Starting worker" in w.output(), 180, "the worker to start")
    try:
        _postgres("stop")
        _wait_for(
            lambda: "restarting the worker" in w.output(), 180, "the worker to notice the outage"
        )
    finally:
        _postgres("start")
        migrated_engine.dispose()
    job = service.request_plan(tolerance=0.3, time_limit=5)
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=600)[-1]
    assert done.status == "succeeded", (done, w.output()[-3000:])
    assert done.attempts == 1
    assert service.plans() == before + 1
    assert w.process.poll() is None


def _leads_the_job(pid: int) -> bool:
    """Whether ``pid`` runs ``app.jobs.runner`` and leads its own process group (so it can be
    frozen as a group)."""
    return "app.jobs.runner" in _cmdline(pid) and any(p == pid for p, _ in _group(pid))


def _running_for(url: str, job_id: int, seconds: float) -> bool:
    """Whether the job was claimed more than ``seconds`` ago, by the database's clock."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT clock_timestamp() > started_at + make_interval(secs => :s) "
                        "FROM solve_job WHERE id = :id"
                    ),
                    {"id": job_id, "s": seconds},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_deadline_passing_while_the_database_is_down(
    service: Service,
    worker_factory: Callable[..., Worker],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    """A job (time limit 1 s, no room, 60 s grace: its deadline 61 s after the claim) whose
    process is frozen as soon as it runs (SIGSTOP on its process group: it cannot end first
    however loaded the machine). PostgreSQL stops once the claim is 11 s old: the database is
    down well before the deadline, and procrastinate, which asks its jobs to stop the grace
    after it lost the database, does so 10 s or more after the deadline. The watchdog kills the
    job's process while the database is down, retries the job's ``failed`` note (in its log),
    keeps at it when procrastinate stops the job, and writes it once PostgreSQL is back:
    ``failed`` with the deadline named, one attempt, no plan, no process or folder left, the
    worker still serving."""
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    limits = JobSettings(room_s=0, grace_s=60)
    before = service.plans()
    w = worker_factory(TMPDIR=str(scratch), WARDPLAN_JOBS_ROOM_S="0", WARDPLAN_JOBS_GRACE_S="60")
    job = service.request_plan(tolerance=0.3, time_limit=1, solver="cbc")
    runner = _wait_for(
        lambda: [p for p in _children(w.process.pid) if _leads_the_job(p)], 300, "the job process"
    )[0]
    os.killpg(runner, signal.SIGSTOP)  # the job cannot end now; only the watchdog ends it
    assert service.job(job).status == "running"
    _wait_for(lambda: _running_for(service.url, job.id, 11), 120, "the claim to be 11 s old")
    try:
        _postgres("stop")
        _wait_for(lambda: not _group(runner), 120, "the watchdog to kill the frozen solve")
        _wait_for(
            lambda: f"job {job.id}: database unreachable" in w.output(),
            120,
            "the watchdog to retry the job's note while the database is down",
        )
        # procrastinate (pinned in uv.lock) says so when it stops the jobs of a worker that lost
        # its database, once the grace has passed.
        _wait_for(
            lambda: "jobs still running after graceful timeout. Aborting them" in w.output(),
            120,
            "procrastinate to ask the job to stop (it lost the database)",
        )
        assert w.process.poll() is None, w.output()[-3000:]
    finally:
        _postgres("start")
        migrated_engine.dispose()
    done = service.wait(job, lambda j: j.status not in ("queued", "running"), timeout=300)[-1]
    assert done.status == "failed", (done, w.output()[-3000:])
    assert done.error == past_deadline(1, limits), done.error
    assert done.attempts == 1
    assert done.plan_id is None
    assert service.plans() == before
    assert not list(scratch.glob("wardplan-solve-*")), "the solve's folder was left"
    assert f"job {job.id}: stopping once its outcome is recorded" in w.output()
    final = ("succeeded", "failed", "cancelled", "aborted")
    _wait_for(
        lambda: _queue_status(service.url, job.id) in final,
        300,
        "procrastinate to close the job's queue entry",
    )
    again = service.job(job)  # the entry closed: no attempt can follow
    assert (again.status, again.attempts, again.error) == ("failed", 1, done.error)
    _wait_for(lambda: "restarting the worker" in w.output(), 120, "the worker to start again")
    assert w.process.poll() is None, w.output()[-3000:]


def test_a_worker_stuck_on_a_silent_database_still_ends(tmp_path: Path) -> None:
    """The database accepts connections and never answers (a listener that reads nothing), and
    the worker may wait 300 s for it: SIGTERM still ends it, gracefully or, past its shutdown
    time, by the timer (exit 1, said in its log); never by a signal. A second worker, signalled
    twice, ends at once (exit 1)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql+psycopg://wardplan@127.0.0.1:{silent.getsockname()[1]}/wardplan"
        env = {"WARDPLAN_JOBS_DB_WAIT_S": "300", "WARDPLAN_JOBS_SHUTDOWN_S": "2"}
        first = Worker(url, tmp_path / "first.log", **env)
        second = Worker(url, tmp_path / "second.log", WARDPLAN_JOBS_SHUTDOWN_S="3600")
        try:
            for w in (first, second):
                _wait_for(functools.partial(_says, w, "Adding tasks"), 180, "the worker to start")
            first.process.send_signal(signal.SIGTERM)
            second.process.send_signal(signal.SIGTERM)
            _wait_for(lambda: "SIGTERM: stopping" in second.output(), 60, "the first signal")
            signalled_twice = second.process.poll() is None
            if signalled_twice:
                second.process.send_signal(signal.SIGTERM)
            for w in (first, second):
                _wait_for(functools.partial(_ended, w), EXIT_TIMEOUT_S, "the worker to end")
        finally:
            for w in (first, second):
                if w.process.poll() is None:
                    w.process.kill()
                    w.process.wait(10)
    assert first.process.returncode in (0, EXIT_FORCED), first.output()[-3000:]
    if first.process.returncode == EXIT_FORCED:
        assert "not stopped 2 s after the signal" in first.output()
    assert second.process.returncode in (0, EXIT_FORCED), second.output()[-3000:]
    if signalled_twice:  # still stopping (its pool waits for the silent database): at once
        assert second.process.returncode == EXIT_FORCED, second.output()[-3000:]
        assert "SIGTERM again while stopping" in second.output()
