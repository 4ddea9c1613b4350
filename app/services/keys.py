"""API keys: issue, list, revoke, and find the key a request presents.

A token is ``wp_`` + 32 random bytes (``secrets.token_urlsafe``); only its SHA-256 is stored. A
plain, unsalted, fast hash is right here because the token is not a password: 256 random bits
cannot be guessed or looked up in a dictionary, so a slow salted hash (bcrypt, argon2) would add
latency to every request without making a stolen table any more useful to an attacker. The token
is found by its hash (a unique index) and the stored hash compared again with
:func:`hmac.compare_digest`, so no step of the check depends on how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.codes import CITY_CODE_PATTERN
from app.core.errors import Conflict, DomainError, NotFound
from app.db.models import ApiKey
from app.services import audit
from app.services.cities import get_state

TOKEN_PREFIX: Final = "wp_"
NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
#: ``last_used_at`` is written at most this often per key (a read must not write every time).
LAST_USED_EVERY: Final = timedelta(minutes=1)


class Role(StrEnum):
    """What a key may do. The routes name the roles they admit (``app.api.deps.require``)."""

    GIS = "gis"  # a city's GIS cell: uploads ward layers, manages the COs, reads
    CMMU = "cmmu"  # a city mission management unit: plans, cancels, approves, compares, reads
    API_CLIENT = "api_client"  # another system: stateless /allocate and its jobs, reads
    ADMIN = "admin"  # everything, every city, and the national roll-up of states
    STATE = "state"  # a state mission's officers: read-only on the cities of one state


#: Roles that belong to one city: their keys must name it.
CITY_ROLES: Final = frozenset({Role.GIS, Role.CMMU})
#: Roles that see organisers' exact homes (personal data); others get the home ward only.
HOME_ROLES: Final = frozenset({Role.GIS, Role.CMMU, Role.ADMIN})


class InvalidKeyRequest(DomainError):
    code = "invalid-key"


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's name (the audit actor), role and city scope."""

    name: str
    role: Role
    city: str | None
    state: str | None = None  # a state key's state code

    def sees_exact_homes(self) -> bool:
        return self.role in HOME_ROLES

    def reaches(self, city: str) -> bool:
        return self.city is None or self.city == city


@dataclass(frozen=True)
class Issued:
    key: ApiKey
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(
    session: Session,
    name: str,
    role: Role | str,
    city: str | None = None,
    *,
    state: str | None = None,
    actor: str = "cli",
) -> Issued:
    """A new key; its token is in the answer and nowhere else (only the hash is stored).

    A ``state`` key names its state (which must exist) and no city."""
    try:
        role = Role(role)
    except ValueError as exc:
        known = ", ".join(r.value for r in Role)
        raise InvalidKeyRequest("unknown role", f"role {role!r} is not one of {known}") from exc
    if not re.fullmatch(NAME_PATTERN, name):
        raise InvalidKeyRequest(
            "bad key name",
            f"key name {name!r}: 1–100 of A–Z a–z 0–9 . _ @ -, starting with a letter or digit",
        )
    if city is not None and not re.fullmatch(CITY_CODE_PATTERN, city):
        raise InvalidKeyRequest(
            "bad city code", f"city {city!r} does not match {CITY_CODE_PATTERN}"
        )
    if role in CITY_ROLES and city is None:
        raise InvalidKeyRequest(
            "the key needs a city", f"a {role.value} key belongs to one city: name it"
        )
    state = _state_scope(session, role, city, state)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        role=role.value,
        city_code=city,
        state_code=state,
        token_sha256=token_hash(token),
    )
    try:
        with session.begin_nested():
            session.add(key)
    except IntegrityError as exc:
        raise Conflict("key name taken", f"there is already a key named {name!r}") from exc
    session.refresh(key)
    audit.record(
        session,
        actor,
        "key.issue",
        "api_key",
        key.id,
        name=name,
        role=role.value,
        city=city,
        state=state,
    )
    return Issued(key, token)


def _state_scope(session: Session, role: Role, city: str | None, state: str | None) -> str | None:
    """The state code a key is scoped to: required for a ``state`` key, refused for others."""
    if role is not Role.STATE:
        if state is not None:
            raise InvalidKeyRequest("only state keys name a state", f"a {role.value} key has none")
        return None
    if state is None or city is not None:
        raise InvalidKeyRequest(
            "a state key names its state", "give the state's code (and no city) for a state key"
        )
    return get_state(session, state).code


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(session: Session, name: str, *, actor: str = "cli") -> ApiKey:
    """Revoke the key named ``name`` (kept, so the audit's actor names stay explained)."""
    key = session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()
    if key is None:
        raise NotFound("key not found", f"there is no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "key.revoke", "api_key", key.id, name=name)
        session.flush()
    return key


def authenticate(session: Session, token: str) -> Principal | None:
    """The live key whose token this is, or None (unknown or revoked: the caller says 401)."""
    digest = token_hash(token)
    key = session.scalars(select(ApiKey).where(ApiKey.token_sha256 == digest)).one_or_none()
    if key is None or not hmac.compare_digest(key.token_sha256, digest):
        return None
    if key.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        key.last_used_at = now
        session.flush()
    return Principal(key.name, Role(key.role), key.city_code, key.state_code)
