"""The service's domain errors: what routes, services, the worker and the command line raise.

Each has a stable ``code`` (the problem ``type`` the HTTP layer answers with); how they become
HTTP responses (RFC 9457 problem+json) is :mod:`app.api.problems`' business, so a worker or the
command line can raise and catch them without the web framework.
"""

from __future__ import annotations

from typing import Final


class DomainError(Exception):
    """An error the service explains to its client. ``code`` becomes the problem ``type``."""

    code: str = "error"

    def __init__(self, title: str, detail: str | None = None, *, code: str | None = None):
        self.title = title
        self.detail = detail or title
        if code is not None:
            self.code = code
        super().__init__(title)


class NotFound(DomainError):
    code = "not-found"


class Unauthorized(DomainError):
    """No key, or a key that is unknown or revoked (``WWW-Authenticate: Bearer``)."""

    code = "unauthorized"
    headers: Final = {"WWW-Authenticate": 'Bearer realm="wardplan"'}


class Forbidden(DomainError):
    """A valid key whose role may not do this. (Another city's object is ``NotFound``.)"""

    code = "forbidden"


class Conflict(DomainError):
    """The request is valid but the stored state does not allow it (e.g. no ward layer yet)."""

    code = "conflict"


class RequestTooLarge(DomainError):
    code = "too-large"


class TooManyRequests(DomainError):
    """A fair-share limit (e.g. jobs one key may have waiting); the client may try later."""

    code = "too-many-requests"
