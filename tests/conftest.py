"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import get_settings
from app.db.session import default_session_factory

# --- Markers: db, browser and slow pick what a run needs (``make check`` leaves all three out) -------

#: Every database fixture depends on this one, so a test that uses any of them needs the cluster.
DB_FIXTURE = "database_url"
#: The browser tests' fixture (tests/browser/conftest.py).
BROWSER_FIXTURE = "browser"
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that uses the database (through any fixture that needs it) and
    ``browser`` every test that drives Chromium or lives under tests/browser, so new tests get the
    right marker without naming it. Runs before ``-m`` selects the tests."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if DB_FIXTURE in names:
            item.add_marker(pytest.mark.db)
        if BROWSER_FIXTURE in names or BROWSER_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data root: ``$WARDPLAN_DATA`` or ``<repo>/../shared/data``.

    Fails (never skips) when the folder is missing: real-data tests must not vanish silently.
    """
    env = os.environ.get("WARDPLAN_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.fail(f"real ward data not found at {root}; set WARDPLAN_DATA to the data folder")
    return root


# --- The real PostGIS database (scripts/postgres.sh), never a mock or SQLite --------------------------

REPO = Path(__file__).resolve().parents[1]
TEST_DATABASE = "wardplan_test"


def _postgis_version(url: str) -> str:
    """``postgis_version()`` on ``url``; raises when the server or the extension is not there."""
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT postgis_version()")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The URL of the ``wardplan_test`` database on the private cluster.

    Starts the cluster with ``scripts/postgres.sh start`` when it does not answer (installing
    PostgreSQL and PostGIS if needed), and FAILS (never skips) when that does not work or PostGIS is
    missing. For the whole session ``WARDPLAN_DB_URL`` names this database, so code that reads
    ``app.core.settings`` (Alembic's env.py, session_scope) uses it.
    """
    script = REPO / "scripts" / "postgres.sh"
    base = subprocess.run(
        [str(script), "url"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    url = make_url(base).set(database=TEST_DATABASE).render_as_string(hide_password=False)
    try:
        _postgis_version(url)
    except Exception:
        started = subprocess.run(
            [str(script), "start"], capture_output=True, text=True, timeout=900, check=False
        )
        if started.returncode != 0:
            pytest.fail(
                f"scripts/postgres.sh start failed ({started.returncode}):\n"
                f"{started.stdout[-2000:]}\n{started.stderr[-2000:]}"
            )
    try:
        version = _postgis_version(url)
    except Exception as exc:
        pytest.fail(f"PostGIS not usable at {url}: {exc}")
    assert version, "postgis_version() returned nothing"

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WARDPLAN_DB_URL", url)
        get_settings.cache_clear()
        default_session_factory.cache_clear()
        yield url
    get_settings.cache_clear()
    default_session_factory.cache_clear()


@pytest.fixture(scope="session")
def alembic_config(database_url: str) -> Config:
    """Alembic's configuration from the repository's alembic.ini (URL from app.core.settings)."""
    config = Config(str(REPO / "alembic.ini"))
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session")
def migrated_engine(database_url: str, alembic_config: Config) -> Iterator[Engine]:
    """An engine on the test database, upgraded to the newest revision."""
    command.upgrade(alembic_config, "head")
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_connection(migrated_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test: nothing persists."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            if outer.is_active:
                outer.rollback()


@pytest.fixture
def session_factory(db_connection: Connection) -> sessionmaker[Session]:
    """Sessions on the test's connection; their commits and rollbacks act on savepoints, so
    ``session_scope`` behaves as in production while the test's outer transaction is rolled back."""
    return sessionmaker(
        bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
