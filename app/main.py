"""The HTTP service. ``create_app`` builds it; nothing is read at import time.

Run it with ``uvicorn app.main:create_app --factory --host 127.0.0.1 --port 8000`` (``make serve``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any, Final

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import (
    allocate,
    centres,
    dashboard,
    downloads,
    features,
    health,
    jobs,
    layers,
    organisers,
    places,
    plan_edits,
    plans,
    sheets,
    states,
)
from app.api import camps as camps_api
from app.api import pins as pins_api
from app.api import plan_edit_map as plan_edit_map_api
from app.api import staff as staff_api
from app.api.problems import OGC_PREFIX, PROBLEM_JSON, install_handlers, problem_body
from app.api.proxies import TrustedProxies
from app.api.ratelimit import SharedRateLimit
from app.db.session import make_engine, make_session_factory
from app.errors import Unauthorized
from app.settings import Settings, get_settings
from gis import sandbox
from gis.maps import STATIC_DIR, STATIC_URL


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


@contextmanager
def stop_parses_on_signals() -> Iterator[None]:
    """While the app runs, SIGTERM/SIGINT first stop every upload parse (``gis.sandbox``: their
    children are killed, the requests answered 503), then reach uvicorn's own handler, so a
    shutdown does not wait for a file that never finishes. Only where the app runs in the main
    thread (uvicorn); elsewhere (a test client's thread) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(sig: int, frame: FrameType | None) -> None:
        sandbox.stop_all()
        earlier = previous[signal.Signals(sig)]
        if callable(earlier):
            earlier(sig, frame)
        elif earlier == signal.SIG_DFL:
            raise SystemExit(128 + sig)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, earlier in previous.items():
            signal.signal(sig, earlier)


def document_public_operations(app: FastAPI) -> None:
    """``/ogc`` answers without a key (a key, when sent, is still checked): its operations list
    the empty security requirement first, so schema-driven clients need not send one."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, item in schema.get("paths", {}).items():
                if path != OGC_PREFIX and not path.startswith(OGC_PREFIX + "/"):
                    continue
                for operation in item.values():
                    security = operation.get("security") if isinstance(operation, dict) else None
                    if security and {} not in security:
                        operation["security"] = [{}, *security]
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Wardplan API with its own engine and session factory (``app.state``)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Wardplan",
        version="0.1.0",
        description="Divide a city's wards among its Community Organisers (DAY-NULM): one "
        "contiguous, balanced area per CO, near the CO's home. Errors are RFC 9457 "
        "application/problem+json.",
    )
    engine = make_engine(settings.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with stop_parses_on_signals():
            yield
        engine.dispose()

    app.router.lifespan_context = lifespan
    app.state.settings = settings
    secret = settings.api.link_secret
    app.state.link_secret = (
        secrets.token_bytes(32) if secret is None else secret.get_secret_value().encode()
    )
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_handlers(app)
    document_public_operations(app)
    for module in (
        health,
        places,
        states,
        dashboard,
        layers,
        organisers,
        centres,
        plans,
        jobs,
        downloads,
        sheets,
        allocate,
        features,
        plan_edits,
    ):
        app.include_router(module.router)
    app.include_router(camps_api.router)  # registration camps (issue 17)
    app.include_router(plan_edit_map_api.router)  # the map's edit mode (issue 13)
    app.include_router(staff_api.router)  # the city's CMMs (issue 13)
    app.include_router(pins_api.router)  # the city's pinned wards (issue 13)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")  # the map's assets
    app.add_middleware(KeyRequiredForWrites)
    app.add_middleware(SharedRateLimit, engine=engine, per_minute=settings.api.rate_per_minute)
    app.add_middleware(TrustedProxies, trusted=settings.proxy.trusted)
    app.add_middleware(
        BodyTimeout, timeout_s=settings.api.body_timeout_s, min_rate=settings.api.body_min_rate
    )
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_upload_bytes)
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(
        SecurityHeaders,
        map_csp=settings.api.map_csp,
        api_csp=settings.api.api_csp,
        docs=frozenset(p for p in docs if p),
    )
    return app
