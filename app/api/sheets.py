"""Printable sheets of a plan (PDF): the city demarcation sheet and one CO's sheet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import CityCode, HomeReader, SessionDep
from app.api.media import PDF
from app.api.schemas import PROBLEM_RESPONSES
from app.services import sheets as service

router = APIRouter(tags=["sheets"], responses=PROBLEM_RESPONSES)

_PDF_RESPONSE = {200: {"content": {PDF: {}}, "description": "the sheet as PDF"}}


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/cities/{city}/plans/{plan_id}/sheet.pdf",
    response_class=Response,
    responses=_PDF_RESPONSE,  # type: ignore[arg-type]
)
def city_sheet(city: CityCode, plan_id: int, session: SessionDep, _caller: HomeReader) -> Response:
    """The city demarcation sheet (A3 landscape): map, per-CO table, parameters, approval.
    It marks each CO's exact home, so only roles that see homes may print it."""
    return _pdf(service.city_sheet_pdf(session, city, plan_id), f"{city}-plan-{plan_id}.pdf")


@router.get(
    "/cities/{city}/plans/{plan_id}/organisers/{organiser_id}/sheet.pdf",
    response_class=Response,
    responses=_PDF_RESPONSE,  # type: ignore[arg-type]
)
def organiser_sheet(
    city: CityCode, plan_id: int, organiser_id: str, session: SessionDep, _caller: HomeReader
) -> Response:
    """One CO's sheet (A4): the area, its wards, the numbers and the contact point."""
    pdf = service.organiser_sheet_pdf(session, city, plan_id, organiser_id)
    return _pdf(pdf, f"{city}-plan-{plan_id}-co.pdf")
