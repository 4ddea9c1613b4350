"""``wardplan keys issue|list|revoke`` on the real test database (WARDPLAN_DB_URL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import ApiKey, AuditEvent
from app.db.session import default_session_factory, session_scope
from app.services import keys

runner = CliRunner()
NAMES = ("cli-test-gis", "cli-test-client")


@pytest.fixture
def clean_keys(migrated_engine: Engine) -> Iterator[Engine]:
    """The CLI commits for real (the default session factory): its test keys are deleted before
    and after, and that factory's connections closed."""

    def wipe() -> None:
        with migrated_engine.begin() as connection:
            connection.execute(delete(ApiKey).where(ApiKey.name.in_(NAMES)))
            connection.execute(
                delete(AuditEvent).where(
                    AuditEvent.object_type == "api_key",
                    AuditEvent.details["name"].astext.in_(NAMES),
                )
            )

    wipe()
    yield migrated_engine
    wipe()
    default_session_factory().kw["bind"].dispose()  # the pool the CLI's session_scope used


def test_issue_list_revoke(clean_keys: Engine) -> None:
    issued = runner.invoke(
        cli, ["keys", "issue", "cli-test-gis", "--role", "gis", "--city", "agra"]
    )
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith(keys.TOKEN_PREFIX)
    assert "\n" not in token  # stdout is the token alone: `KEY=$(wardplan keys issue …)`
    assert "shown only now" in issued.stderr
    with session_scope() as session:
        principal = keys.authenticate(session, token)
    assert principal == keys.Principal("cli-test-gis", keys.Role.GIS, "agra")
    with clean_keys.connect() as connection:
        stored = connection.execute(
            select(ApiKey.token_sha256).where(ApiKey.name == "cli-test-gis")
        ).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.stdout.splitlines() if x.startswith("cli-test-gis\t"))
    assert line.split("\t")[1:3] == ["gis", "agra"]
    assert line.split("\t")[-1] == "-"  # not revoked
    assert token not in listed.output
    assert stored not in listed.output

    revoked = runner.invoke(cli, ["keys", "revoke", "cli-test-gis"])
    assert revoked.exit_code == 0, revoked.output
    with clean_keys.connect() as connection:
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(
                AuditEvent.object_type == "api_key",
                AuditEvent.details["name"].astext == "cli-test-gis",
            )
            .order_by(AuditEvent.id)
        ).all()
    assert [a for a, _ in events][-2:] == ["key.issue", "key.revoke"]
    assert all(actor.startswith("cli") for _, actor in events)
    with session_scope() as session:
        assert keys.authenticate(session, token) is None
    listed = runner.invoke(cli, ["keys", "list"])
    line = next(x for x in listed.stdout.splitlines() if x.startswith("cli-test-gis\t"))
    assert line.split("\t")[-1] != "-"


def test_refusals_say_why_and_exit_non_zero(clean_keys: Engine) -> None:
    no_city = runner.invoke(cli, ["keys", "issue", "cli-test-gis", "--role", "gis"])
    assert no_city.exit_code == 2
    assert "a gis key belongs to one city" in no_city.stderr
    bad_role = runner.invoke(cli, ["keys", "issue", "cli-test-gis", "--role", "root"])
    assert bad_role.exit_code == 2
    assert "'root' is not one of gis, cmmu, api_client, admin" in bad_role.stderr
    first = runner.invoke(cli, ["keys", "issue", "cli-test-client", "--role", "api_client"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["keys", "issue", "cli-test-client", "--role", "api_client"])
    assert again.exit_code == 2
    assert "already a key named 'cli-test-client'" in again.stderr
    missing = runner.invoke(cli, ["keys", "revoke", "cli-test-nobody"])
    assert missing.exit_code == 2
    assert "no key named 'cli-test-nobody'" in missing.stderr
    with clean_keys.connect() as connection:
        names = set(connection.execute(select(ApiKey.name).where(ApiKey.name.in_(NAMES))).scalars())
    assert names == {"cli-test-client"}  # nothing of the refused issues was stored
