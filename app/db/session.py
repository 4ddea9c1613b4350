"""Engines and sessions. :func:`session_scope` is the one place that commits.

One session per unit of work (a request, a job step): code inside the scope adds and flushes, never
commits; the scope commits when the block ends normally and rolls back when it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import DatabaseSettings, get_settings


def make_engine(settings: DatabaseSettings) -> Engine:
    """A new engine for ``settings.url`` (psycopg 3; connections checked before use)."""
    return create_engine(
        settings.url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": "wardplan"},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after the commit that ends a scope."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@lru_cache(maxsize=1)
def default_session_factory() -> sessionmaker[Session]:
    """The process-wide factory, made from :func:`app.core.settings.get_settings` on first use."""
    return make_session_factory(make_engine(get_settings().db))


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises, always close.

    ``factory`` defaults to :func:`default_session_factory`.
    """
    session = (factory or default_session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
