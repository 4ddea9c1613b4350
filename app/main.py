"""The HTTP service. ``create_app`` builds it; nothing is read at import time.

Run it with ``uvicorn app.main:create_app --factory --host 127.0.0.1 --port 8000`` (``make serve``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import (
    allocate,
    downloads,
    features,
    health,
    jobs,
    layers,
    organisers,
    plans,
    sheets,
)
from app.db.session import make_engine, make_session_factory
from app.errors import PROBLEM_JSON, install_handlers, problem_body
from app.settings import Settings, get_settings
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
        yield
        engine.dispose()

    app.router.lifespan_context = lifespan
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_handlers(app)
    for module in (health, layers, organisers, plans, jobs, downloads, sheets, allocate, features):
        app.include_router(module.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")  # the map's assets
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_upload_bytes)
    return app
