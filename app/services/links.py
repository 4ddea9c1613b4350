"""Signed links: a browser cannot send an API key, so a key holder asks for a link to one plan's
map page (or a state officer for the state's dashboard), which works without a key until it
expires.

The link carries its expiry and whether it may show exact homes (only when the key that asked for
it may see them); an HMAC-SHA256 over the city, plan, expiry and that flag, under the server's
``WARDPLAN_API_LINK_SECRET``, makes it unforgeable and unchangeable.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class MapLink:
    path: str
    expires: int
    exact_homes: bool

    @property
    def url(self) -> str:
        return self.path


def _signature(secret: bytes, city: str, plan_id: int, expires: int, exact: bool) -> str:
    message = f"map|{city}|{plan_id}|{expires}|{int(exact)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(
    secret: bytes,
    city: str,
    plan_id: int,
    *,
    ttl_s: int,
    exact_homes: bool,
    now: float | None = None,
) -> MapLink:
    expires = int((time.time() if now is None else now) + ttl_s)
    query = urlencode(
        {
            "expires": expires,
            "homes": "exact" if exact_homes else "coarse",
            "sig": _signature(secret, city, plan_id, expires, exact_homes),
        }
    )
    return MapLink(f"/cities/{city}/plans/{plan_id}/map?{query}", expires, exact_homes)


def verify(
    secret: bytes,
    city: str,
    plan_id: int,
    *,
    expires: int,
    homes: str,
    sig: str,
    now: float | None = None,
) -> bool:
    """True when the link is the server's own and has not expired (a signature that is not
    ASCII is not the server's: ``hmac.compare_digest`` refuses to compare it)."""
    if homes not in ("exact", "coarse") or not sig.isascii():
        return False
    if expires < (time.time() if now is None else now):
        return False
    expected = _signature(secret, city, plan_id, expires, homes == "exact")
    return hmac.compare_digest(expected, sig)


def _state_signature(secret: bytes, state: str, expires: int) -> str:
    message = f"state|{state}|{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StateLink:
    """A signed link to a state's dashboard; ``query`` also opens its downloads (figures CSV and
    XLSX, the printable summary) until ``expires``."""

    state: str
    expires: int
    query: str

    @property
    def url(self) -> str:
        return f"/states/{self.state}/dashboard?{self.query}"


def sign_state(secret: bytes, state: str, *, ttl_s: int, now: float | None = None) -> StateLink:
    expires = int((time.time() if now is None else now) + ttl_s)
    query = urlencode({"expires": expires, "sig": _state_signature(secret, state, expires)})
    return StateLink(state, expires, query)


def verify_state(
    secret: bytes, state: str, *, expires: int, sig: str, now: float | None = None
) -> bool:
    """True when the state link is the server's own and has not expired."""
    if not sig.isascii() or expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_state_signature(secret, state, expires), sig)


# -- edit links: the map page's edit mode ----------------------------------------------------------


def _edit_signature(secret: bytes, city: str, plan_id: int, expires: int, actor: str) -> str:
    message = f"edit|{city}|{plan_id}|{expires}|{actor}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class EditLink:
    """A signed link to a plan's map page in edit mode, for ``actor`` (the CMMU key that asked
    for it, recorded as the author of every version saved through it). The page sends the
    link's ``expires`` and ``by`` back as query parameters and ``sig`` as its bearer token."""

    city: str
    plan_id: int
    expires: int
    actor: str
    sig: str

    @property
    def query(self) -> str:
        return urlencode({"expires": self.expires, "by": self.actor, "sig": self.sig})

    @property
    def url(self) -> str:
        return f"/cities/{self.city}/plans/{self.plan_id}/edit-map?{self.query}"

    @property
    def check_url(self) -> str:
        """Where the page checks and saves edits (the signature goes in ``Authorization``)."""
        query = urlencode({"expires": self.expires, "by": self.actor})
        return f"/cities/{self.city}/plans/{self.plan_id}/edit-map/edits?{query}"


def sign_edit(
    secret: bytes,
    city: str,
    plan_id: int,
    *,
    actor: str,
    ttl_s: int,
    now: float | None = None,
) -> EditLink:
    expires = int((time.time() if now is None else now) + ttl_s)
    sig = _edit_signature(secret, city, plan_id, expires, actor)
    return EditLink(city, plan_id, expires, actor, sig)


def verify_edit(
    secret: bytes,
    city: str,
    plan_id: int,
    *,
    expires: int,
    actor: str,
    sig: str,
    now: float | None = None,
) -> bool:
    """True when the edit link is the server's own, for this plan and actor, and not expired."""
    if not sig.isascii() or expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_edit_signature(secret, city, plan_id, expires, actor), sig)
