from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ACTOR, SessionDep, SettingsDep
from app.schemas import PROBLEM_RESPONSES, AllocateOut, AllocateRequest, CheckOut, FeatureCollection
from app.services import solving
from app.services.allocate import allocate as allocate_service
from gis.export import assignment_mapping

router = APIRouter(tags=["allocate"], responses=PROBLEM_RESPONSES)


@router.post("/allocate", response_model=AllocateOut)
def allocate(body: AllocateRequest, session: SessionDep, settings: SettingsDep) -> AllocateOut:
    """Divide the wards in the body among its organisers; nothing is stored but an audit event."""
    result, areas = allocate_service(
        session, body, solving.server_config(body.parameters, settings), actor=ACTOR
    )
    sol = result.solution
    outcome = solving.outcome(result)
    return AllocateOut(
        status=sol.status.value,
        summary=sol.describe(),
        explanation=sol.explanation,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        tolerance_used=sol.tolerance,
        seconds=round(sol.seconds, 3),
        solver=sol.solver,
        check=CheckOut.model_validate(outcome["check"]),
        warnings=solving.all_warnings(result),
        assignment=assignment_mapping(result.problem, sol) if sol.has_plan else {},
        areas=None if areas is None else FeatureCollection.model_validate(areas),
    )
