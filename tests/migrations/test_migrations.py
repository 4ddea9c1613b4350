"""Alembic against the real PostGIS: upgrade, downgrade, upgrade again, and no drift from the models."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Text, inspect, text

from app.db.compare import include_object
from app.db.models import Base
from tests.conftest import REPO

TABLES = {
    "state",
    "district",
    "city",
    "zone",
    "ward_layer",
    "ward",
    "organiser",
    "plan",
    "plan_assignment",
    "plan_area",
    "audit_event",
    "solve_job",
    "api_key",
    "community_centre",
    "city_mission_manager",
    "ward_pin",
    "procrastinate_jobs",
    "procrastinate_workers",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _gist_indexes(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' AND indexdef LIKE '%USING gist%'"
            )
        )
        return {name: definition for name, definition in rows}


def _diffs(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": include_object, "compare_type": True},
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_downgrade_upgrade(migrated_engine: Engine, alembic_config: Config) -> None:
    engine = migrated_engine
    try:
        assert _tables(engine) >= TABLES
        gist = _gist_indexes(engine)
        assert "idx_ward_geom" in gist
        assert "(geom)" in gist["idx_ward_geom"]
        assert "idx_plan_area_geom" in gist

        command.downgrade(alembic_config, "base")
        left = _tables(engine)
        assert not (TABLES & left), f"tables left after downgrade: {TABLES & left}"
        assert not {"idx_ward_geom", "idx_plan_area_geom"} & set(_gist_indexes(engine))
        with engine.connect() as connection:  # nothing of the job queue is left either
            queue_objects = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%')"
                    " + (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%')"
                    " + (SELECT count(*) FROM pg_class WHERE relname LIKE 'procrastinate%')"
                )
            ).scalar_one()
        assert queue_objects == 0
        with engine.connect() as connection:  # the extension is not the migration's to drop
            assert connection.execute(text("SELECT postgis_version()")).scalar_one()
    finally:
        command.upgrade(alembic_config, "head")  # the other tests need the schema back

    assert _tables(engine) >= TABLES
    assert "idx_ward_geom" in _gist_indexes(engine)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == "0014_ward_pins"


def test_models_and_migrations_agree(migrated_engine: Engine) -> None:
    assert _diffs(migrated_engine, Base.metadata) == []

    # The comparison is live: a column the migrations lack is reported.
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["ward"].append_column(Column("remark", Text))
    diffs = _diffs(migrated_engine, changed)
    # ("add_column", schema, table name, Column)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "ward", "remark")]


def test_alembic_check_command_is_clean(migrated_engine: Engine, database_url: str) -> None:
    """``alembic check`` as a user runs it: the URL comes from WARDPLAN_DB_URL, not alembic.ini."""
    env = {**os.environ, "WARDPLAN_DB_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
