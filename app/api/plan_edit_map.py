"""The plan map's edit mode: a CMMU key asks for a signed edit link (a browser sends no key), the
page it opens draws the plan with edit controls, and its clicks are checked (and saved as new
versions) through the same service as ``POST …/edits``.

The link is signed for one plan and one key's name (the author of every version saved through it)
and expires like a map link; it stops working as soon as that key is revoked or loses the right
to edit. A CMMU key may also fetch the page itself (it then carries a link signed for that key).
Pages opened by ordinary map links, for any role, have no edit controls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.deps import CityCode, Cmmu, SessionDep, get_principal, presented_token, require
from app.api.plan_edits import edit_answer
from app.api.schemas import PROBLEM_RESPONSES, MapLinkOut
from app.api.schemas.plan_edits import EditIn, MapEditOut
from app.core.errors import Unauthorized
from app.core.settings import Settings
from app.db.models import ApiKey
from app.services import links, plan_edits, plan_versions
from app.services import plans as service
from app.services.keys import Role
from gis.mappage import add_edit_mode

router = APIRouter(tags=["plan versions"], responses=PROBLEM_RESPONSES)

Expires = Annotated[int | None, Query(description="from a signed edit link")]
By = Annotated[
    str | None, Query(min_length=1, max_length=100, description="from a signed edit link")
]
_MAY_EDIT = require(Role.CMMU)


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.link_secret
    return secret


def _sign(request: Request, city: str, plan_id: int, actor: str) -> links.EditLink:
    settings: Settings = request.app.state.settings
    return links.sign_edit(
        _secret(request), city, plan_id, actor=actor, ttl_s=settings.api.link_ttl_s
    )


def _may_still_edit(session: Session, city: str, actor: str) -> bool:
    """The key that asked for the link is live and may still edit this city's plans."""
    key = session.scalars(select(ApiKey).where(ApiKey.name == actor)).one_or_none()
    if key is None or key.revoked_at is not None:
        return False
    if key.role == Role.ADMIN.value:
        return True
    return key.role == Role.CMMU.value and key.city_code == city


def _editor(
    request: Request,
    session: Session,
    city: str,
    plan_id: int,
    expires: int | None,
    by: str | None,
    sig: str | None,
) -> links.EditLink:
    """The edit link the request presents (its parts in the query, ``sig`` there or as the
    bearer token); without one, the request's key, which must be a CMMU's (or an admin's), and a
    link signed for it now. 401 for a link that is not the server's, has expired, or whose key was
    revoked or may no longer edit."""
    if expires is None and by is None:
        factory = request.app.state.session_factory
        principal = _MAY_EDIT(request, get_principal(request, factory, None, None), factory)
        assert principal is not None  # require() admits no anonymous caller here
        return _sign(request, city, plan_id, principal.name)
    if (
        expires is not None
        and by is not None
        and sig is not None
        and links.verify_edit(_secret(request), city, plan_id, expires=expires, actor=by, sig=sig)
        and _may_still_edit(session, city, by)
    ):
        return links.EditLink(city, plan_id, expires, by, sig)
    raise Unauthorized(
        "edit link required",
        "open a link from POST "
        f"/cities/{city}/plans/{plan_id}/edit-link with a CMMU key (it may have expired, "
        "or its key been revoked)",
    )


@router.post("/cities/{city}/plans/{plan_id}/edit-link", response_model=MapLinkOut)
def plan_edit_link(
    request: Request, city: CityCode, plan_id: int, session: SessionDep, caller: Cmmu
) -> MapLinkOut:
    """A link to the plan's map page in **edit mode** (click a ward, pick a CO, see the check and
    the deltas at once, undo, save as a new version), which opens in a browser without a key
    until it expires. CMMU keys only; versions saved through it are recorded as this key's."""
    service.get_plan(session, city, plan_id)  # 404 for another city's or a missing plan
    link = _sign(request, city, plan_id, caller.name)
    return MapLinkOut(
        url=link.url, expires_at=datetime.fromtimestamp(link.expires, UTC), exact_homes=True
    )


@router.get("/cities/{city}/plans/{plan_id}/edit-map", response_class=HTMLResponse)
def plan_edit_map(
    request: Request,
    city: CityCode,
    plan_id: int,
    session: SessionDep,
    expires: Expires = None,
    by: By = None,
    sig: Annotated[str | None, Query(max_length=128, description="from a signed edit link")] = None,
) -> HTMLResponse:
    """The plan map with its edit controls, for a signed edit link (``POST …/edit-link``) or a
    CMMU key."""
    link = _editor(request, session, city, plan_id, expires, by, sig)
    stored = service.get_plan(session, city, plan_id)
    page = service.plan_map_html(session, stored, exact_homes=True)
    entry = plan_versions.lineage(session, stored.city, plan_id)[0]
    config = {
        "checkUrl": link.check_url,
        "sig": link.sig,
        "planId": plan_id,
        "version": entry.version.version,
        "organisers": [
            [o.organiser_id, o.name] for o in plan_edits.plan_organisers(session, plan_id)
        ],
    }
    return HTMLResponse(add_edit_mode(page, config))


def _page_editor(
    request: Request,
    city: CityCode,
    plan_id: int,
    session: SessionDep,
    expires: Expires = None,
    by: By = None,
) -> links.EditLink:
    """The edit-mode page's credentials (see :func:`_editor`), checked before its body is read."""
    token = presented_token(request) if expires is not None else None
    return _editor(request, session, city, plan_id, expires, by, token)


@router.post("/cities/{city}/plans/{plan_id}/edit-map/edits", response_model=MapEditOut)
def plan_edit_map_edits(
    request: Request,
    city: CityCode,
    plan_id: int,
    body: EditIn,
    session: SessionDep,
    link: Annotated[links.EditLink, Depends(_page_editor)],
) -> MapEditOut:
    """``POST …/edits`` for the edit-mode page: the link's ``expires`` and ``by`` as query
    parameters, its signature as the bearer token (``Authorization: Bearer <sig>``); or, with
    neither, a CMMU key. The answer adds the saved version's edit-mode page (``map_url``)."""
    answer = edit_answer(session, city, plan_id, body, actor=link.actor)
    url = None
    if answer.saved is not None:
        url = _sign(request, city, answer.saved.id, link.actor).url
    return MapEditOut(**answer.model_dump(), map_url=url)
