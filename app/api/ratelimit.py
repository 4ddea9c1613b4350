"""The request rate limit, shared by every API process through PostgreSQL.

At most ``per_minute`` requests a minute per client (its API key, else its address as
:mod:`app.api.proxies` found it), with bursts up to ``per_minute``; beyond it ``429``
problem+json with ``Retry-After``. The count is one row per client in ``api_rate_limit``, kept
with GCRA (the generic cell rate algorithm: a token bucket as one timestamp, the client's
*theoretical arrival time*), updated by one atomic statement on the database's clock, so any
number of API processes on any machines share one limit and one clock. ``/health`` is never
limited (monitors poll it). When the database cannot be reached the request goes on unlimited
(the route itself then answers 503): the limiter never makes an outage worse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from typing import Final

import anyio.to_thread
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import PROBLEM_JSON, problem_body

log = logging.getLogger("wardplan.ratelimit")

#: Let the request through and move the client's arrival time on, unless that would put it more
#: than a minute (the burst) ahead of now; returns the new arrival time's distance from now, or
#: no row when the client is over its limit.
_TAKE: Final = text(
    """
    INSERT INTO api_rate_limit AS r (client, tat)
    VALUES (:client, clock_timestamp() + make_interval(secs => :step))
    ON CONFLICT (client) DO UPDATE
        SET tat = GREATEST(r.tat, clock_timestamp()) + make_interval(secs => :step)
        WHERE GREATEST(r.tat, clock_timestamp()) + make_interval(secs => :step)
            <= clock_timestamp() + make_interval(secs => :burst)
    RETURNING r.tat
    """
)
#: Seconds until the client may send again (its arrival time less the burst).
_WAIT: Final = text(
    "SELECT EXTRACT(EPOCH FROM tat - clock_timestamp())::float8 - :burst + :step "
    "FROM api_rate_limit WHERE client = :client"
)
#: Rows of clients whose bucket is full again carry nothing: forget them.
_FORGET: Final = text("DELETE FROM api_rate_limit WHERE tat < clock_timestamp()")
#: How often one API process forgets full buckets.
FORGET_EVERY_S: Final = 60.0


def client_of(scope: Scope) -> str:
    """The client a request is counted for: a digest of its API key (the key itself is never
    kept), else its address (after :class:`app.api.proxies.TrustedProxies`)."""
    headers = dict(scope["headers"])
    key = headers.get(b"authorization") or headers.get(b"x-api-key")
    if key:
        return "key:" + hashlib.sha256(key).hexdigest()[:32]
    client = scope.get("client")
    return f"addr:{client[0] if client else '?'}"


class SharedRateLimit:
    """ASGI middleware: the shared limit (see the module's text) on ``engine``'s database."""

    EXEMPT: Final = frozenset({"/health"})

    def __init__(self, app: ASGIApp, engine: Engine, per_minute: int) -> None:
        self.app = app
        self.engine = engine
        self.per_minute = per_minute
        self.step = 60.0 / per_minute  # seconds of the bucket one request uses
        self.burst = 60.0  # a full bucket: per_minute requests at once
        self._forgot_at = float("-inf")

    def take(self, client: str) -> float:
        """0 when the request may go; else the seconds until the client may send again."""
        params = {"client": client, "step": self.step, "burst": self.burst}
        with self.engine.begin() as connection:
            if time.monotonic() - self._forgot_at > FORGET_EVERY_S:
                self._forgot_at = time.monotonic()
                connection.execute(_FORGET)
            if connection.execute(_TAKE, params).first() is not None:
                return 0.0
            wait = connection.execute(_WAIT, params).scalar()
        return max(float(wait or 0.0), 0.001)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        try:
            wait = await anyio.to_thread.run_sync(self.take, client_of(scope))
        except DBAPIError as exc:  # the database is away: do not add a refusal to the outage
            log.warning("rate limit not checked: %s", exc.__class__.__name__)
            wait = 0.0
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, send, str(max(1, math.ceil(wait))))

    async def _refuse(self, scope: Scope, send: Send, retry: str) -> None:
        body = problem_body(
            code="rate-limited",
            title="too many requests",
            status=429,
            detail=f"this client sent more than {self.per_minute} requests a minute; "
            f"try again in {retry} s",
            instance=str(scope.get("path", "")),
        )
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"retry-after", retry.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})
