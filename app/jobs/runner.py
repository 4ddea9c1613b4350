"""One solve job in a process of its own: ``python -m app.jobs.runner JOB_ID WORKER_PID``.

The worker's watchdog (``app.jobs.worker``) starts this process as the leader of a new process group,
so the MIP solver it may start (CBC is a separate program) is in the same group, and one
``killpg`` ends both. If the worker dies, even by SIGKILL, the kernel sends this process SIGTERM
(``PR_SET_PDEATHSIG``, set by the worker before ``exec``), and the handler below kills the whole
group: no solver outlives its worker.

Exit status: 0 when the job ended (succeeded, or failed with an explanation stored); 3 when it
was superseded (cancelled, or finished by another attempt); 4 when the database went away (the
worker queues the job again); anything else is a crash, which the watchdog records with the tail
of stderr.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import InterfaceError, OperationalError

from app.core.errors import DomainError
from app.core.settings import get_settings
from app.db.session import default_session_factory, make_engine, session_scope
from app.services import jobs
from gis.errors import InputError
from solver.poverty import EstimateError

EXIT_SUPERSEDED = 3
#: The database went away (restart, failover): nothing was stored; the worker queues the job again.
EXIT_RETRY = 4
#: Tests only (unset in production): a folder where a test asks a job process to stop at a point
#: of its bookkeeping (see :func:`hold`), so that a fault lands exactly there.
HOLD_ENV = "WARDPLAN_JOBS_TEST_HOLD"


def _kill_group(signum: int, frame: FrameType | None) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def hold(point: str) -> None:
    """If a test asked for it (a file ``point`` in ``$WARDPLAN_JOBS_TEST_HOLD``), wait here until
    the test lets go: the request is renamed ``point.held`` (so only one attempt stops) and the
    process waits until that file is removed. Without the variable this does nothing."""
    folder = os.environ.get(HOLD_ENV)
    if not folder:
        return
    asked, held = Path(folder) / point, Path(folder) / f"{point}.held"
    try:
        asked.rename(held)
    except FileNotFoundError:
        return
    while held.exists():
        time.sleep(0.1)


def _fail(job_id: int, why: str) -> None:
    with session_scope(default_session_factory()) as session:
        jobs.finish(session, job_id, "failed", why)


def main(argv: list[str]) -> int:
    job_id, worker_pid = int(argv[1]), int(argv[2])
    signal.signal(signal.SIGTERM, _kill_group)
    if os.getppid() != worker_pid:  # the worker died before PR_SET_PDEATHSIG took hold
        return 1
    settings = get_settings()
    factory = default_session_factory()
    engine = make_engine(settings.db)
    try:
        jobs.run_claimed(
            factory,
            job_id,
            jobs.ProgressWriter(engine, job_id, settings.jobs.poll_s),
            before_commit=lambda: hold("before-commit"),
        )
        hold("after-commit")
    except jobs.JobSuperseded:
        return EXIT_SUPERSEDED
    except (OperationalError, InterfaceError) as exc:
        sys.stderr.write(f"job {job_id}: lost the database: {exc}\n")
        return EXIT_RETRY
    except DomainError as exc:
        _fail(job_id, f"{exc.title}: {exc.detail}")
    except (InputError, EstimateError) as exc:
        _fail(job_id, str(exc))
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
