"""What the mission letter's estimate asks of a city: poor households and COs at both band ends."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import WardLayer
from app.pipeline import planning
from app.services.cities import get_city, require_current_layer
from app.services.frames import stored_layer
from app.services.organisers import count_active
from solver.poverty import EstimateParams, Requirement


@dataclass(frozen=True)
class CityRequirement:
    layer_version: int
    requirement: Requirement
    warnings: list[str]


def city_requirement(session: Session, city_code: str, estimate: EstimateParams) -> CityRequirement:
    city = get_city(session, city_code)
    layer = session.get_one(WardLayer, require_current_layer(city))
    warnings = estimate.check()
    result = planning.estimate_requirement(
        stored_layer(session, layer), estimate, count_active(session, city.id)
    )
    return CityRequirement(layer.version, result, warnings)
