"""Domain errors → HTTP statuses, in one table, and the one error shape: RFC 9457 problem+json.

The domain errors themselves live in :mod:`app.core.errors`.

Routes and services raise domain errors (``gis.errors.InputError``, ``solver.poverty.EstimateError``,
:class:`NotFound`, :class:`Unauthorized`, :class:`Forbidden`, :class:`Conflict`,
:class:`RequestTooLarge`); the handlers installed by
:func:`install_handlers` turn each into ``application/problem+json`` with a stable ``type``
(``/problems/<code>``), ``title``, ``status``, ``detail`` and ``errors[]``. FastAPI's request
validation errors, unknown routes and unexpected exceptions get the same shape; nothing of a stack
trace, SQL or a server path reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RequestTooLarge,
    TooManyRequests,
    Unauthorized,
)
from gis.errors import InputError, Issue, shown
from gis.sandbox import ParseStopped
from solver.poverty import EstimateError

log = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
#: Echoed strings (values, messages) are cut to this many characters.
MAX_ECHO: Final = 200
#: At most this many entries in ``errors[]``.
MAX_ERRORS: Final = 100


#: Input-error codes that mean "this is not a file we can read at all" (400, not 422).
STRUCTURAL_CODES: Final = frozenset(
    {
        "bad-archive",
        "bad-file",
        "bad-encoding",
        "missing-file",
        "missing-sidecar",
        "no-layer",
        "several-layers",
        "too-large",
        "unsupported-format",
        "unreadable",
        "bad-kml",
        "bad-geojson",
        "invalid-csv",
    }
)

#: The one table: domain exception class → HTTP status (first match in order wins).
STATUS_BY_EXCEPTION: Final[tuple[tuple[type[Exception], int], ...]] = (
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (RequestTooLarge, 413),
    (TooManyRequests, 429),
    (ParseStopped, 503),
    (InputError, 422),  # 400 for structural codes, see status_for
    (EstimateError, 422),
    (DomainError, 422),
)


def status_for(exc: Exception) -> int:
    if isinstance(exc, InputError) and _is_structural(exc):
        return 400
    for cls, status in STATUS_BY_EXCEPTION:
        if isinstance(exc, cls):
            return status
    return 500


def _is_structural(exc: InputError) -> bool:
    codes = {exc.code, *(i.code for i in exc.issues)}
    return bool(codes & STRUCTURAL_CODES) and not codes - STRUCTURAL_CODES - {"invalid-input"}


def clean(value: object, limit: int = MAX_ECHO) -> str | None:
    """A client-safe echo of ``value`` (``gis.errors.shown``: controls and markup escaped, at
    most ``limit`` characters); every problem+json field goes through it."""
    if value is None:
        return None
    return shown(value, limit)


def issue_dict(issue: Issue) -> dict[str, Any]:
    return {
        "code": clean(issue.code),
        "message": clean(issue.message, 1000),
        "file": clean(issue.file),
        "feature": issue.feature,
        "ward_id": clean(issue.ward_id),
        "field": clean(issue.field),
        "value": clean(issue.value),
    }


def problem_body(
    *,
    code: str,
    title: str,
    status: int,
    detail: str,
    errors: Iterable[Mapping[str, Any]] = (),
    instance: str | None = None,
) -> dict[str, Any]:
    listed = list(errors)
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": clean(title, 1000),
        "status": status,
        "detail": clean(detail, 4000),
        "errors": listed[:MAX_ERRORS],
    }
    if len(listed) > MAX_ERRORS:
        body["errors_omitted"] = len(listed) - MAX_ERRORS
    if instance is not None:
        body["instance"] = clean(instance)
    return body


def problem_response(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM_JSON)


#: OGC API – Features (Part 1, 7.6) answers an invalid query parameter with 400, not 422.
OGC_PREFIX: Final = "/ogc"


def _for_ogc(body: dict[str, Any], path: str) -> dict[str, Any]:
    if body.get("status") == 422 and (path == OGC_PREFIX or path.startswith(OGC_PREFIX + "/")):
        body["status"] = 400
    return body


def body_for(exc: Exception, path: str | None = None) -> dict[str, Any]:
    """The problem body of a domain exception (or a generic 500 for anything else)."""
    status = status_for(exc)
    if isinstance(exc, InputError):
        return problem_body(
            code=input_error_code(exc),
            title=exc.title,
            status=status,
            detail=exc.render(limit=10),
            errors=[issue_dict(i) for i in exc.issues],
            instance=path,
        )
    if isinstance(exc, DomainError):
        return problem_body(
            code=exc.code, title=exc.title, status=status, detail=exc.detail, instance=path
        )
    if isinstance(exc, ParseStopped):
        return problem_body(
            code="server-stopping",
            title="the server is shutting down",
            status=status,
            detail="the file was not read and nothing was stored; send it again",
            instance=path,
        )
    if isinstance(exc, EstimateError):
        return problem_body(
            code="bad-estimate",
            title="estimate parameters refused",
            status=status,
            detail=str(exc),
            errors=[_error("bad-estimate", str(exc))],
            instance=path,
        )
    return problem_body(
        code="internal-error",
        title="internal error",
        status=500,
        detail="the server could not complete the request; it has been logged",
        instance=path,
    )


def input_error_code(exc: InputError) -> str:
    """The problem ``type`` of an input error: the issues' own code when they all share one
    (``duplicate-id``), else the error's (``invalid-layer``)."""
    codes = {i.code for i in exc.issues}
    return codes.pop() if len(codes) == 1 else exc.code


def _error(code: str, message: str, **where: object) -> dict[str, Any]:
    return {
        "code": clean(code),
        "message": clean(message, 1000),
        "file": clean(where.get("file")),
        "feature": where.get("feature"),
        "ward_id": clean(where.get("ward_id")),
        "field": clean(where.get("field")),
        "value": clean(where.get("value")),
    }


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic validation errors as ``errors[]`` entries (``field``: dotted location)."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        out.append(
            _error(
                str(e.get("type", "invalid")),
                str(e.get("msg", "invalid value")),
                field=".".join(loc) or None,
                value=_short_input(e.get("input")),
            )
        )
    return out


def _short_input(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None  # whole bodies are not echoed
    return clean(value)


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    response = problem_response(_for_ogc(body_for(exc, request.url.path), request.url.path))
    if isinstance(exc, Unauthorized):
        response.headers.update(exc.headers)
    return response


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    body = problem_body(
        code="invalid-request",
        title="the request is not valid",
        status=422,
        detail=detail or "the request is not valid",
        errors=errors,
        instance=request.url.path,
    )
    return problem_response(_for_ogc(body, request.url.path))


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
        exc.status_code, "http-error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = problem_response(
        problem_body(
            code=code,
            title=detail,
            status=exc.status_code,
            detail=detail,
            instance=request.url.path,
        )
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


#: Seconds a client is asked to wait when the database is away (restart, failover).
RETRY_AFTER_S = 5


async def _database_handler(request: Request, exc: Exception) -> JSONResponse:
    """The database is unreachable: 503 with Retry-After. The request's transaction is gone with
    its connection, so nothing of it was stored; the client may simply send it again."""
    assert isinstance(exc, DBAPIError)
    if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
        return await _unexpected_handler(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
    response = problem_response(
        problem_body(
            code="database-unavailable",
            title="the database is unavailable",
            status=503,
            detail=f"nothing was stored; try again in {RETRY_AFTER_S} s",
            instance=request.url.path,
        )
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _data_handler(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the request carried (an id above PostgreSQL's bigint, found
    by schemathesis): the client's mistake, answered 422 without the SQL or the driver's text."""
    log.warning(
        "database refused a request value on %s %s: %s",
        request.method,
        request.url.path,
        type(getattr(exc, "orig", exc)).__name__,
    )
    code, title, detail = _refused_value(getattr(exc, "orig", exc))
    body = problem_body(
        code=code,
        title=title,
        status=422,
        detail=detail,
        errors=[_error(code, detail)],
        instance=request.url.path,
    )
    return problem_response(_for_ogc(body, request.url.path))


def _refused_value(orig: object) -> tuple[str, str, str]:
    """The problem's code, title and detail for a value the database refused, in the client's
    terms: a NUL in a text (PostgreSQL text cannot hold one), else a number out of range."""
    if "NUL" in str(orig):
        return (
            "bad-text",
            "a text in the request contains a NUL character",
            "a text value in the request (an id or a name) contains a NUL character (U+0000), "
            "which is not accepted",
        )
    return (
        "out-of-range",
        "a value in the request is out of range",
        "a value in the request is out of the range this server stores (ids and numbers must fit "
        "in 64 bits)",
    )


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(body_for(exc, request.url.path))


def install_handlers(app: FastAPI) -> None:
    for cls, _status in STATUS_BY_EXCEPTION:
        app.add_exception_handler(cls, _domain_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(DataError, _data_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(DBAPIError, _database_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
