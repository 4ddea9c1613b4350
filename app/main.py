"""The HTTP service. ``create_app`` builds it; nothing is read at import time.

Run it with ``uvicorn app.main:create_app --factory --host 127.0.0.1 --port 8000`` (``make serve``).
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

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
from app.api.middleware import BodyLimit, BodyTimeout, KeyRequiredForWrites, SecurityHeaders
from app.api.problems import OGC_PREFIX, install_handlers
from app.api.proxies import TrustedProxies
from app.api.ratelimit import SharedRateLimit
from app.core.settings import Settings, get_settings
from app.db.session import make_engine, make_session_factory
from gis import sandbox
from gis.maps import STATIC_DIR, STATIC_URL


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
