"""ASGI middleware of the HTTP service, installed by :func:`app.main.create_app`: body size and
read-time limits, the API key required for writes, and the security headers. (The trusted proxies
and the shared rate limit are :mod:`app.api.proxies` and :mod:`app.api.ratelimit`.)"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_JSON, problem_body
from app.core.errors import Unauthorized


class BodyLimit:
    """Refuse request bodies above ``max_bytes`` with 413, before the route reads them.

    A declared ``Content-Length`` above the limit is refused without reading anything; a body that
    turns out longer while streaming (chunked, or a lying length) is cut off at the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = problem_body(
            code="too-large",
            title="request body too large",
            status=413,
            detail=f"the request body is larger than this server's limit of {self.max_bytes} bytes",
            instance=str(scope.get("path", "")),
        )
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


class _TooLarge(Exception):
    pass


class BodyTimeout:
    """Answer 408 to a client that does not send its request body in time (slow clients,
    slowloris), before anything is stored: the route never sees a whole body.

    A client has ``timeout_s`` from the moment its headers arrived, plus ``1 / min_rate`` s for
    each byte of body it sends (``min_rate`` 0: no extension), as Apache's mod_reqtimeout does, so
    a large upload on a slow but honest line is not cut off while a trickle is. Whatever the app
    makes of the interrupted body (FastAPI turns it into a 400), the client gets the 408. Only
    the body phase is bounded here: uvicorn has no timeout for headers sent slowly, which is the
    reverse proxy's job (see RELIABILITY.md).
    """

    def __init__(self, app: ASGIApp, timeout_s: float, min_rate: int) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False
        timed_out = False
        started = False

        async def timed() -> Message:
            nonlocal body_done, timed_out, deadline
            if body_done:  # later receives only wait for a disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                timed_out = True
                raise _BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            elif self.min_rate:
                deadline += len(message.get("body", b"")) / self.min_rate
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:  # the app's answer to a body it never got whole
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed, guarded_send)
        except Exception:  # FastAPI wraps ours (a 400); anything the interrupted app raised
            if not timed_out or started:
                raise
        if timed_out and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        extra = f", plus 1 s for each {self.min_rate} bytes sent" if self.min_rate else ""
        body = problem_body(
            code="request-timeout",
            title="request body too slow",
            status=408,
            detail=f"the request body did not arrive within {self.timeout_s:g} s{extra}; "
            "nothing was stored",
            instance=str(scope.get("path", "")),
        )
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


class _BodyTimedOut(Exception):
    pass


class KeyRequiredForWrites:
    """Refuse a write (any method but GET, HEAD, OPTIONS) that sends no API key with 401 before
    its body is read: an anonymous upload is never buffered. Keys are checked, and roles and
    cities enforced, by the routes' dependencies (``app.api.deps.require``)."""

    SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in self.SAFE:
            await self.app(scope, receive, send)
            return
        names = {name.lower() for name, _ in scope["headers"]}
        if b"authorization" in names or b"x-api-key" in names:
            await self.app(scope, receive, send)
            return
        body = problem_body(
            code=Unauthorized.code,
            title="API key required",
            status=401,
            detail="send an API key: Authorization: Bearer <key> (or X-API-Key)",
            instance=str(scope.get("path", "")),
        )
        data = json.dumps(body).encode()
        headers = [(k.lower().encode(), v.encode()) for k, v in Unauthorized.headers.items()]
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


class SecurityHeaders:
    """Security headers on every HTTP response (a header the route set itself is kept).

    ``X-Content-Type-Options: nosniff`` (an uploaded name never turns a download into a page),
    ``Referrer-Policy: no-referrer`` (plan and job URLs do not leak to other sites),
    ``X-Frame-Options: DENY`` with CSP ``frame-ancestors 'none'`` (no clickjacking), and a
    Content-Security-Policy: ``map_csp`` for HTML (the plan map; ``WARDPLAN_API_MAP_CSP``),
    ``api_csp`` for everything else. The OpenAPI pages (``/docs``, ``/redoc``) load Swagger UI and
    ReDoc from their CDN with an inline script and show no data: they get no CSP.
    """

    def __init__(self, app: ASGIApp, map_csp: str, api_csp: str, docs: frozenset[str]) -> None:
        self.app = app
        self.map_csp = map_csp.encode()
        self.api_csp = api_csp.encode()
        self.docs = docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope.get("path", "") in self.docs

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                wanted = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not is_docs:
                    csp = self.map_csp if html else self.api_csp
                    wanted.append((b"content-security-policy", csp))
                headers.extend((k, v) for k, v in wanted if k not in have)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
