"""The solve worker (``wardplan worker``): takes solve jobs from procrastinate's queue.

Each job runs in a child process (``app.jobs.runner``) that leads its own process group, watched from
here: the watchdog kills the group when the job is cancelled or runs past its time limit plus
``WARDPLAN_JOBS_GRACE_S``, and the child's group dies with the worker even when the worker is
SIGKILLed (``PR_SET_PDEATHSIG``; see ``app.jobs.runner``). So no CBC process outlives its job.

A worker that stops answering (no heartbeat for ``WARDPLAN_JOBS_STALLED_AFTER_S``) leaves its
jobs in procrastinate's ``doing`` state; every worker looks for such jobs and queues them again.
The job then runs once more from the start, and ``app.services.jobs`` makes sure only one attempt
stores a plan. Run as many workers, on as many machines, as the state needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from procrastinate import App, JobContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app.core.settings import JobSettings, get_settings
from app.db import queue
from app.db.session import session_scope
from app.jobs.runner import EXIT_RETRY, EXIT_SUPERSEDED, hold
from app.services import jobs
from gis.sandbox import sweep_stale_folders

log = logging.getLogger("wardplan.worker")

T = TypeVar("T")

#: Name prefix of a solve's temp folder: ``wardplan-solve-<worker pid>-<job id>-…``.
SOLVE_FOLDER_PREFIX = "wardplan-solve-"
#: prctl(2) option: the signal this process gets when its parent thread dies.
PR_SET_PDEATHSIG = 1
#: Bytes of a crashed job's stderr kept as its error.
STDERR_TAIL = 4000
#: Seconds before a worker that lost the database tries again.
RESTART_S = 5.0
#: Exit status of a worker that had to stop without handing its jobs back (a second signal, or
#: ``shutdown_s`` passed): their jobs are recovered as stalled by another worker.
EXIT_FORCED = 1
#: Process groups of the solves this worker runs now (killed when it has to exit at once).
RUNNING_GROUPS: set[int] = set()
#: The tasks watching those solves (cancelled at once when a signal stops the worker).
WATCHES: set[asyncio.Task[None]] = set()


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the worker dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _in_db(work: Callable[[Session], T]) -> T:
    """Run a short unit of work on the database off the event loop."""

    def run() -> T:
        with session_scope() as session:
            return work(session)

    return await asyncio.to_thread(run)


async def _in_db_until_done(work: Callable[[Session], T], what: str) -> T:
    """``_in_db``, retried while the database is unreachable (restarting, failing over), for as
    long as it takes: each failed attempt is logged, the wait between them grows to 15 s."""
    delay = 1.0
    while True:
        try:
            return await _in_db(work)
        except DBAPIError as exc:
            if not _connection_lost(exc):
                raise
            log.warning("%s: database unreachable (%s); retrying in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)


async def _settle(work: Callable[[Session], T], what: str) -> T:
    """Record a job's outcome the watchdog decided (failed past its deadline, cancelled,
    crashed, queued again): retried until the database takes it, and not abandoned when the
    watch is cancelled meanwhile (procrastinate stops its jobs once it has lost the database
    for the grace; a signal stops the worker): the record is written first, then the
    cancellation goes on. A worker that must exit before the database is back is ended by its
    shutdown timer (:class:`Shutdown`); its job is then recovered as stalled."""
    task = asyncio.ensure_future(_in_db_until_done(work, what))
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            if not cancelled:
                log.warning("%s: stopping once its outcome is recorded", what)
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def _connection_lost(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)


async def _drain(stream: asyncio.StreamReader, keep: bytearray) -> None:
    while chunk := await stream.read(65536):
        keep.extend(chunk)
        del keep[:-STDERR_TAIL]


async def _start_child(job_id: int, folder: Path) -> asyncio.subprocess.Process:
    """The job's solve process (``app.jobs.runner``) in its own process group, with ``folder`` as
    its temp folder; ``folder`` is removed if the process cannot be started."""
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.jobs.runner",
            str(job_id),
            str(os.getpid()),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            env={**os.environ, "TMPDIR": str(folder), "TMP": str(folder), "TEMP": str(folder)},
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


async def watch(job_id: int, settings: JobSettings, queue_job_id: int | None = None) -> str:
    """Run one job in its own process group and watch it; returns how it ended (for the log).
    ``queue_job_id``: the queue entry that delivered it (see :func:`app.services.jobs.claim`)."""
    await asyncio.to_thread(hold, "before-claim")  # tests only: a fault lands at the claim
    claim = await _in_db_until_done(lambda s: jobs.claim(s, job_id, queue_job_id), f"job {job_id}")
    if claim is None:
        return "nothing to do (finished or cancelled)"
    # The deadline leaves room for the work around the solve (starting the process, reading the
    # wards, storing the plan and its outputs) beside the solver's own limit and its grace.
    deadline = time.monotonic() + claim.time_limit + settings.room_s + settings.grace_s
    # The solve's own temp folder: PuLP's model files and CBC's log go there (TMPDIR), and it is
    # removed however the job ends; a worker removes those of dead workers when it starts.
    folder = Path(tempfile.mkdtemp(prefix=f"{SOLVE_FOLDER_PREFIX}{os.getpid()}-{job_id}-"))
    child = await _start_child(job_id, folder)
    RUNNING_GROUPS.add(child.pid)
    stderr = bytearray()
    assert child.stderr is not None
    drain = asyncio.create_task(_drain(child.stderr, stderr))
    try:
        ended = await _supervise(child, job_id, deadline, settings)
    except asyncio.CancelledError:
        # The worker is stopping: end the solve and hand the job back to the queue. If the
        # database cannot take it now, the job stays running and is recovered as stalled.
        _kill_group(child.pid)
        with contextlib.suppress(DBAPIError):
            await asyncio.shield(_in_db(lambda s: jobs.requeue(s, job_id)))
        raise
    finally:
        _kill_group(child.pid)  # the group may hold a solver even after the leader exited
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(child.wait()), 10)  # reaped: no zombie
            await asyncio.wait_for(drain, 5)
        RUNNING_GROUPS.discard(child.pid)
        shutil.rmtree(folder, ignore_errors=True)
    return await _record(job_id, ended, child.returncode, stderr, claim.time_limit, settings)


async def _supervise(
    child: asyncio.subprocess.Process, job_id: int, deadline: float, settings: JobSettings
) -> str:
    """Wait for the job process to exit (``"exited"``), its deadline to pass (``"deadline"``)
    or its cancellation (``"cancelled"``); the solve goes on while the database is away."""
    unreachable = False
    while True:
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), settings.poll_s)
            return "exited"
        except TimeoutError:
            pass
        if time.monotonic() > deadline:
            return "deadline"
        try:
            cancelled = await _in_db(lambda s: jobs.cancel_requested(s, job_id))
        except DBAPIError as exc:  # the database is restarting: keep watching the solve
            if not _connection_lost(exc):
                raise
            if not unreachable:
                log.warning("job %s: cannot read its cancel flag (%s)", job_id, exc)
            unreachable = True
            continue
        if unreachable:
            log.info("job %s: the database answers again", job_id)
            unreachable = False
        if cancelled:
            return "cancelled"


async def _record(
    job_id: int,
    ended: str,
    code: int | None,
    stderr: bytearray,
    time_limit: float,
    settings: JobSettings,
) -> str:
    """Record how the job ended (its process already gone) and say it for the log."""
    what = f"job {job_id}"
    if ended == "deadline":
        why = past_deadline(time_limit, settings)
        await _settle(
            functools.partial(jobs.finish, job_id=job_id, status="failed", error=why), what
        )
        return "killed past its deadline"
    if ended == "cancelled":
        await _settle(lambda s: jobs.finish(s, job_id, "cancelled"), what)
        return "cancelled"
    if code in (0, EXIT_SUPERSEDED):
        return "done" if code == 0 else "superseded"
    if code == EXIT_RETRY:  # lost the database while solving or storing: run it again
        await _settle(lambda s: jobs.requeue(s, job_id), what)
        return "queued again (the database went away)"
    tail = stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
    why = f"the solve process ended with status {code}: {tail or 'no message'}"
    await _settle(functools.partial(jobs.finish, job_id=job_id, status="failed", error=why), what)
    return f"crashed ({code})"


def past_deadline(time_limit: float, settings: JobSettings) -> str:
    """The error of a job the watchdog stopped at its deadline."""
    total = time_limit + settings.room_s + settings.grace_s
    return (
        f"stopped by the watchdog: past its deadline of {total:g} s (its time limit of "
        f"{time_limit:g} s, {settings.room_s:g} s for reading the wards and storing the plan, "
        f"{settings.grace_s:g} s grace); its solver was killed and nothing was stored"
    )


def make_worker_queue(database_url: str, settings: JobSettings) -> App:
    """procrastinate's app for a worker, with the solve task registered."""
    app = queue.worker_queue(database_url)

    @app.task(name=queue.SOLVE_TASK, queue=queue.SOLVE_QUEUE, pass_context=True)
    async def solve_plan(context: JobContext, job_id: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        WATCHES.add(task)
        try:
            outcome = await watch(job_id, settings, context.job.id)
        finally:
            WATCHES.discard(task)
        log.info("job %s: %s", job_id, outcome)

    return app


async def recover_stalled(app: App, settings: JobSettings) -> None:
    """Queue again the jobs of workers that stopped sending heartbeats, now and periodically."""
    while True:
        stalled = await app.job_manager.get_stalled_jobs(
            queue=queue.SOLVE_QUEUE, seconds_since_heartbeat=settings.stalled_after_s
        )
        for job in stalled:
            log.warning("job %s: its worker stopped answering; queued again", job.id)
            await app.job_manager.retry_job(job)
        await asyncio.sleep(settings.heartbeat_s)


class Shutdown:
    """How a worker stops. The first SIGINT/SIGTERM asks it to stop gracefully (running jobs
    handed back to the queue) and starts a timer: if the worker has not ended ``shutdown_s``
    later (e.g. its database is gone and every write waits on it), it kills its solves and
    exits with :data:`EXIT_FORCED`; a second signal does that at once. The timer is a thread, so
    it fires even while the event loop or the interpreter's exit is stuck."""

    def __init__(self, shutdown_s: float) -> None:
        self.shutdown_s = shutdown_s
        self.stopping = asyncio.Event()
        self._timer: threading.Timer | None = None

    def signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            exit_now(f"{sig.name} again while stopping")
        log.info("%s: stopping (running jobs go back to the queue)", sig.name)
        self.stopping.set()
        self._timer = threading.Timer(
            self.shutdown_s, exit_now, (f"not stopped {self.shutdown_s:g} s after the signal",)
        )
        self._timer.daemon = True
        self._timer.start()


def exit_now(why: str) -> None:
    """End the worker at once: its solves killed, no bookkeeping (another worker recovers their
    jobs as stalled once this one's heartbeat is missing)."""
    for pid in list(RUNNING_GROUPS):
        _kill_group(pid)
    log.error("worker exiting at once: %s; its running jobs will be recovered as stalled", why)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(EXIT_FORCED)


async def run_worker() -> None:
    """Run a worker until SIGINT or SIGTERM, which stop it promptly (a running job goes back to
    the queue; see :class:`Shutdown`), whether or not its database answers. A worker that loses
    the database (restart, failover) starts again when it is back.
    """
    settings = get_settings()
    sweep_stale_folders(SOLVE_FOLDER_PREFIX)
    shutdown = Shutdown(settings.jobs.shutdown_s)
    stopping = shutdown.stopping
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.signal, sig)
    try:
        while not stopping.is_set():
            try:
                await _run_once(settings.db.url, settings.jobs, stopping)
            except Exception as exc:  # logged; the loop decides whether to go on
                log.error("worker stopped: %s", exc)
            if not stopping.is_set():
                log.warning("restarting the worker in %.0f s", RESTART_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), RESTART_S)
        log.info("worker stopped")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _run_once(database_url: str, settings: JobSettings, stopping: asyncio.Event) -> None:
    """One life of a procrastinate worker: until ``stopping`` is set or it loses the database.

    The pool is the worker's own (:func:`app.db.queue.worker_pool`): opening it does not wait for
    the database, and no query waits longer than ``db_wait_s`` for a connection, so a stop is
    never held up by a database that is gone."""
    app = make_worker_queue(database_url, settings)
    pool = queue.worker_pool(database_url, settings.db_wait_s)
    await pool.open(wait=False)
    try:
        async with app.open_async(pool=pool):
            await _serve(app, settings, stopping)
    finally:
        await pool.close(timeout=5)


async def _serve(app: App, settings: JobSettings, stopping: asyncio.Event) -> None:
    worker = asyncio.create_task(
        app.run_worker_async(
            queues=[queue.SOLVE_QUEUE],
            concurrency=settings.concurrency,
            update_heartbeat_interval=settings.heartbeat_s,
            stalled_worker_timeout=settings.stalled_after_s,
            # When procrastinate stops by itself (it lost the database), running solves go on
            # for up to the grace; a signal hands them back at once (``_serve``).
            shutdown_graceful_timeout=settings.grace_s,
            install_signal_handlers=False,
        )
    )
    recovery = asyncio.create_task(recover_stalled(app, settings))
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({worker, recovery, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stop.done():  # a signal: ``watch`` kills each solve and queues its job again
            for watching in list(WATCHES):
                watching.cancel()
    finally:
        for task in (worker, recovery, stop):
            task.cancel()
        results = await asyncio.gather(worker, recovery, stop, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result
