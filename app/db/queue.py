"""The job queue: procrastinate on the application's own PostgreSQL.

Two ways in. The API defers a job *inside the request's transaction* through
:class:`SessionConnector`, so a plan request and its queue entry are committed together or not at
all (no request acknowledged and then lost). Workers (``app.jobs.worker``) use procrastinate's own
psycopg connector, with LISTEN/NOTIFY and heartbeats.
"""

from __future__ import annotations

from typing import Any, Final, LiteralString

import psycopg
import psycopg.rows
import psycopg.types.json
import psycopg_pool
from procrastinate import App, BaseConnector, PsycopgConnector
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

#: The queue solve jobs go to, and the task that runs them (``app.jobs.worker.solve_plan``).
SOLVE_QUEUE: Final = "solve"
SOLVE_TASK: Final = "wardplan.solve_plan"


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy) as the ``postgresql://…`` libpq understands."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _jsonb(value: Any) -> Any:
    """Wrap dicts (job arguments) as JSONB, as procrastinate's own psycopg connector does."""
    if isinstance(value, dict):
        return psycopg.types.json.Jsonb(value)
    if isinstance(value, list):
        return [_jsonb(v) for v in value]
    if isinstance(value, tuple):  # composite rows (named tuples) go as plain tuples
        return tuple(_jsonb(v) for v in value)
    return value


class SessionConnector(BaseConnector):
    """A synchronous procrastinate connector on a SQLAlchemy session's current connection.

    Queries run in the session's transaction; the session scope commits or rolls them back with
    everything else. Only deferring, cancelling and reading jobs go through it; workers never do.
    """

    def __init__(self, session: Session):
        self._session = session

    def get_sync_connector(self) -> BaseConnector:
        return self

    def open(self, pool: Any = None) -> None:
        """Nothing to open: the session owns the connection."""

    def close(self) -> None:
        """Nothing to close: the session owns the connection."""

    def _cursor(self) -> psycopg.Cursor[dict[str, Any]]:
        raw = self._session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection), "the database driver must be psycopg 3"
        return raw.cursor(row_factory=psycopg.rows.dict_row)

    def _run(self, query: LiteralString, arguments: dict[str, Any]) -> psycopg.Cursor[Any]:
        cursor = self._cursor()
        cursor.execute(query, {k: _jsonb(v) for k, v in arguments.items()})
        return cursor

    def execute_query(self, query: LiteralString, **arguments: Any) -> None:
        with self._run(query, arguments):
            pass

    def execute_query_one(self, query: LiteralString, **arguments: Any) -> dict[str, Any]:
        with self._run(query, arguments) as cursor:
            row = cursor.fetchone()
        assert row is not None, "procrastinate expected a row"
        return dict(row)

    def execute_query_all(self, query: LiteralString, **arguments: Any) -> list[dict[str, Any]]:
        with self._run(query, arguments) as cursor:
            return [dict(r) for r in cursor.fetchall()]


def session_queue(session: Session) -> App:
    """A procrastinate app that defers and cancels jobs in ``session``'s transaction."""
    return App(connector=SessionConnector(session))


def worker_queue(database_url: str) -> App:
    """A procrastinate app for a worker process (its own connection pool on ``database_url``)."""
    return App(connector=PsycopgConnector(conninfo=libpq_url(database_url)))


def worker_pool(database_url: str, wait_s: float) -> psycopg_pool.AsyncConnectionPool:
    """A worker's connection pool (not open yet): a connection is waited for at most ``wait_s``
    (and a connection attempt takes at most that long), so a worker whose database is gone
    finds out in seconds instead of hanging on it; the pool reconnects by itself when it is
    back. Open it with ``open(wait=False)``: opening does not wait for the database."""
    return psycopg_pool.AsyncConnectionPool(
        libpq_url(database_url),
        open=False,
        timeout=wait_s,
        kwargs={"connect_timeout": max(1, round(wait_s))},
        check=psycopg_pool.AsyncConnectionPool.check_connection,
        name="wardplan-worker",
    )


def defer_solve(session: Session, job_id: int) -> int:
    """Queue ``solve_job`` ``job_id`` in the session's transaction; returns the queue's job id."""
    deferrer = session_queue(session).configure_task(SOLVE_TASK, queue=SOLVE_QUEUE)
    return deferrer.defer(job_id=job_id)


def cancel_queued(session: Session, queue_job_id: int) -> bool:
    """Withdraw a job no worker has taken yet; False when a worker already has it."""
    return session_queue(session).job_manager.cancel_job_by_id(queue_job_id)
