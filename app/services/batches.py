"""Plan a whole state: one durable plan job per city on the existing worker queue.

A batch is one request: the common parameters, per-city overrides and (optionally) which cities.
Each city's job is submitted through :func:`app.services.jobs.submit` in a savepoint of its own, so a
city that cannot be planned (no layer, no COs, bad override) is recorded as refused with the reason
and the others are queued; at run time each job succeeds or fails on its own. The jobs run on
however many workers (``wardplan worker``) reach the database, on any number of machines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import DomainError, NotFound
from app.core.settings import Settings
from app.db.models import JOB_FINAL, City, PlanBatch, SolveJob
from app.services import audit, cities, jobs


class BadBatch(DomainError):
    code = "invalid-batch"


@dataclass(frozen=True)
class BatchRequest:
    """The plan parameters for every city as asked (JSON), the per-city overrides as asked, and
    which cities (``None``: all). ``per_city``: each overridden city's parameters (the common
    ones with its override), or why they are refused, as the caller checked them."""

    parameters: Mapping[str, Any]
    overrides: dict[str, dict[str, Any]]
    cities: list[str] | None = None
    per_city: Mapping[str, Mapping[str, Any] | str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchCity:
    city: str
    job: SolveJob | None  # None: refused at submission
    refused: str | None


@dataclass(frozen=True)
class BatchView:
    batch: PlanBatch
    state: str
    cities: list[BatchCity]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter("refused" if c.job is None else c.job.status for c in self.cities)
        return dict(sorted(found.items()))

    @property
    def done(self) -> bool:
        return all(c.job is None or c.job.status in JOB_FINAL for c in self.cities)


def submit_batch(
    session: Session, state_code: str, request: BatchRequest, settings: Settings, *, actor: str
) -> BatchView:
    """Queue one plan job per city of the state (or of ``request.cities``)."""
    state = cities.get_state(session, state_code)
    known = [c.code for c, _d, _s in cities.list_cities(session, state.code)]
    named = set(request.overrides) | set(request.cities or [])
    strangers = sorted(named - set(known))
    if strangers:
        raise BadBatch(
            "unknown cities", f"state {state.code} has no cities {', '.join(map(repr, strangers))}"
        )
    wanted = [c for c in known if request.cities is None or c in request.cities]
    if not wanted:
        raise BadBatch("no cities to plan", f"state {state.code} has no cities yet")
    batch = PlanBatch(
        state_id=state.id,
        request={
            "parameters": dict(request.parameters),
            "overrides": request.overrides,
            "cities": request.cities,
        },
        created_by=actor,
    )
    session.add(batch)
    session.flush()
    refused: dict[str, str] = {}
    for code in wanted:
        params = request.per_city.get(code, request.parameters)
        if isinstance(params, str):
            refused[code] = f"bad parameters for {code}: {params}"
            continue
        try:
            with session.begin_nested():
                jobs.submit(session, code, params, settings, actor=actor, batch_id=batch.id)
        except DomainError as exc:
            refused[code] = exc.detail or exc.title
    batch.refused = refused
    audit.record(
        session, actor, "state.plan", "plan_batch", batch.id, state=state.code, refused=refused
    )
    session.flush()
    return get_batch(session, state.code, batch.id)


def get_batch(session: Session, state_code: str, batch_id: int) -> BatchView:
    state = cities.get_state(session, state_code)
    batch = session.scalars(
        select(PlanBatch).where(PlanBatch.id == batch_id, PlanBatch.state_id == state.id)
    ).one_or_none()
    if batch is None:
        raise NotFound("batch not found", f"state {state.code} has no plan batch {batch_id}")
    rows = session.execute(
        select(SolveJob, City.code)
        .join(City, SolveJob.city_id == City.id)
        .where(SolveJob.batch_id == batch.id)
        .order_by(City.code)
    ).all()
    found = [BatchCity(code, job, None) for job, code in rows]
    found += [BatchCity(code, None, why) for code, why in sorted(batch.refused.items())]
    return BatchView(batch, state.code, sorted(found, key=lambda c: c.city))


def list_batches(session: Session, state_code: str, *, limit: int = 20) -> list[BatchView]:
    state = cities.get_state(session, state_code)
    ids = session.scalars(
        select(PlanBatch.id)
        .where(PlanBatch.state_id == state.id)
        .order_by(PlanBatch.id.desc())
        .limit(limit)
    )
    return [get_batch(session, state.code, i) for i in ids]


def cancel_batch(session: Session, state_code: str, batch_id: int, *, actor: str) -> BatchView:
    """Cancel every job of the batch that has not finished (queued at once, running ones through
    their worker's watchdog); finished cities keep their plans."""
    view = get_batch(session, state_code, batch_id)
    for entry in view.cities:
        if entry.job is not None and entry.job.status not in JOB_FINAL:
            jobs.cancel(session, entry.city, entry.job.id, actor=actor)
    if view.batch.cancelled_at is None:
        view.batch.cancelled_at = func.now()
    audit.record(session, actor, "state.plan.cancel", "plan_batch", batch_id, state=view.state)
    session.flush()
    session.expire_all()
    return get_batch(session, state_code, batch_id)
