"""The request rate limit is kept in PostgreSQL, so several API processes share it; a client's
address is taken from ``X-Forwarded-For`` only when the request comes from a trusted proxy.

Each app below is built by ``create_app`` with an engine of its own (as two API processes have),
on the real PostGIS test database; the limiter's rows are committed there. Keys and addresses are
random per test, so reruns and other tests never share a bucket.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, pool, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.api.proxies import TrustedProxies
from app.api.ratelimit import SharedRateLimit
from app.core.settings import ProxySettings, Settings, get_settings
from app.main import create_app
from tests.app.apihelp import expect_problem

#: Any route behind the limiter: without a key it is refused (401), with an unknown key too;
#: either way not 429 until the limit is reached.
ROUTE = "/cities/nowhere/jobs"
PROXY = "10.251.0.5"


def _settings(per_minute: int, trusted: str = "") -> Settings:
    base = get_settings()
    return base.model_copy(
        update={
            "api": base.api.model_copy(update={"rate_per_minute": per_minute}),
            "proxy": ProxySettings.model_validate({"trusted": trusted}),
        }
    )


@pytest.fixture
def two_processes(migrated_engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps, each with its own engine (two API processes), limit 5 a minute."""
    settings = _settings(5)
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(settings))) for _ in range(2)]
        assert clients[0].app.state.engine is not clients[1].app.state.engine  # type: ignore[attr-defined]
        yield clients[0], clients[1]


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer wp_{secrets.token_urlsafe(32)}"}


def _address() -> str:
    """A random address in 198.18.0.0/15 (set aside for tests)."""
    return str(ipaddress.ip_address("198.18.0.0") + secrets.randbelow(2**17))


def test_two_api_processes_share_one_limit(two_processes: tuple[TestClient, TestClient]) -> None:
    a, b = two_processes
    key, other = _bearer(), _bearer()
    answered = [(a if i % 2 else b).get(ROUTE, headers=key).status_code for i in range(5)]
    assert 429 not in answered, answered
    # The sixth request is over the limit on either process: the count is shared.
    for client in (a, b):
        limited = client.get(ROUTE, headers=key)
        problem = expect_problem(limited, 429)
        assert problem.type == "/problems/rate-limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Another key has a bucket of its own; the health check is never limited.
    assert b.get(ROUTE, headers=other).status_code != 429
    assert all(a.get("/health").status_code == 200 for _ in range(8))


def test_the_bucket_is_the_rows_in_the_database(
    two_processes: tuple[TestClient, TestClient], migrated_engine: Engine
) -> None:
    """A full bucket is the client's row at or before now: set so, the client is let through
    again (which no process's memory could do)."""
    a, b = two_processes
    key = _bearer()
    for _ in range(5):
        assert a.get(ROUTE, headers=key).status_code != 429
    assert b.get(ROUTE, headers=key).status_code == 429
    with migrated_engine.begin() as connection:
        reset = connection.execute(
            text(
                "UPDATE api_rate_limit SET tat = clock_timestamp() - interval '1 s' "
                "WHERE tat > clock_timestamp() + interval '50 s'"
            )
        ).rowcount
    assert reset >= 1
    assert b.get(ROUTE, headers=key).status_code != 429


def test_a_database_that_is_gone_limits_nothing() -> None:
    """The limiter never adds a refusal to an outage: without its database the request goes on."""

    async def hello(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    nowhere = create_engine(
        "postgresql+psycopg://wardplan@127.0.0.1:1/nowhere",
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": 2},
    )
    app = Starlette(routes=[Route("/", hello)])
    with TestClient(SharedRateLimit(app, engine=nowhere, per_minute=1)) as client:
        assert [client.get("/").status_code for _ in range(3)] == [200] * 3


def test_forwarded_for_counts_only_from_a_trusted_proxy(migrated_engine: Engine) -> None:
    app = create_app(_settings(2, trusted=f"{PROXY},10.252.0.0/16"))
    one, two, spoofed = _address(), _address(), _address()
    with TestClient(app, client=(PROXY, 4711)) as via_proxy:
        # Behind the trusted proxy, each client has its own bucket.
        for _ in range(2):
            assert via_proxy.get(ROUTE, headers={"X-Forwarded-For": one}).status_code != 429
        expect_problem(via_proxy.get(ROUTE, headers={"X-Forwarded-For": one}), 429)
        # A client's own claim (left of what the proxy appended) proves nothing: the right-most
        # address that is not a trusted proxy counts, past a second proxy of the trusted network.
        chain = {"X-Forwarded-For": f"{two}, {one}, 10.252.3.4"}
        expect_problem(via_proxy.get(ROUTE, headers=chain), 429)
        assert via_proxy.get(ROUTE, headers={"X-Forwarded-For": two}).status_code != 429
    peer = _address()
    with TestClient(app, client=(peer, 4711)) as direct:
        # Not a proxy: X-Forwarded-For is ignored, the peer is counted whatever it claims.
        for header in (spoofed, _address()):
            assert direct.get(ROUTE, headers={"X-Forwarded-For": header}).status_code != 429
        expect_problem(direct.get(ROUTE, headers={"X-Forwarded-For": _address()}), 429)


def test_the_client_address_rules() -> None:
    proxies = TrustedProxies(
        lambda scope, receive, send: None,  # type: ignore[arg-type,return-value]
        ProxySettings.model_validate({"trusted": "10.0.0.5, 192.168.0.0/16,::1"}).trusted,
    )
    assert proxies.client_address("10.0.0.5", [b"203.0.113.9"]) == "203.0.113.9"
    assert proxies.client_address("10.0.0.5", [b"1.1.1.1, 203.0.113.9, 192.168.4.4"]) == (
        "203.0.113.9"
    )
    assert proxies.client_address("10.0.0.5", [b"1.1.1.1", b"203.0.113.9"]) == "203.0.113.9"
    assert proxies.client_address("::1", [b"2001:db8::7"]) == "2001:db8::7"
    assert proxies.client_address("10.0.0.6", [b"203.0.113.9"]) == "10.0.0.6"  # not trusted
    assert proxies.client_address("10.0.0.5", []) == "10.0.0.5"  # no header: the proxy itself
    assert proxies.client_address("10.0.0.5", [b"not-an-address"]) == "10.0.0.5"  # junk
    assert proxies.client_address("10.0.0.5", [b"192.168.1.1"]) == "10.0.0.5"  # only proxies


def test_trusted_proxies_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARDPLAN_PROXY_TRUSTED", "10.0.0.5, 172.18.0.0/16")
    assert [str(n) for n in ProxySettings().trusted] == ["10.0.0.5/32", "172.18.0.0/16"]
    monkeypatch.setenv("WARDPLAN_PROXY_TRUSTED", "")
    assert ProxySettings().trusted == []
    monkeypatch.setenv("WARDPLAN_PROXY_TRUSTED", "10.0.0.300")
    with pytest.raises(ValueError, match="trusted"):
        ProxySettings()
