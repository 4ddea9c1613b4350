"""One time limit for the whole answer: a :class:`Deadline` made when the request starts and passed
down to every phase (reading, adjacency, model build, solve, check, outputs).

Each phase is timed (:meth:`Deadline.phase`) and the seconds go into the report, so the phases add
up to the user's wait. The solver gets what is left after the phases before it, minus a
:class:`Reserve` for the phases after it (:meth:`Deadline.solver_budget`). The clock is
``time.monotonic`` unless a test passes another one.

Model builds inside the solver check the time too (:func:`check_build`): a build that the time
limit overtakes stops with :class:`BuildStopped`, and the method answers with what it has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

#: The solver is never given less than this many seconds, nor less than this share of the limit,
#: even when the phases before it used up the limit (a machine so loaded that starting Python
#: took most of it): it must at least look for a plan. The answer is then late, and the report's
#: phases say where the time went.
MIN_SOLVER_SECONDS = 1.0
MIN_SOLVER_SHARE = 0.1


class Remaining(Protocol):
    """Anything that knows the seconds left (a method's clock, a :class:`Deadline`)."""

    def remaining(self) -> float: ...


class BuildStopped(Exception):
    """The time ran out while a model was being built (or its columns listed): ``what`` was
    being built, and how far it got (``done`` of ``total`` ``unit``)."""

    def __init__(self, what: str, done: int, total: int, unit: str) -> None:
        self.what, self.done, self.total, self.unit = what, done, total, unit
        super().__init__(
            f"the time limit ran out while building {what} ({done:,} of {total:,} {unit} done)"
        )


def check_build(clock: Remaining | None, what: str, done: int, total: int, unit: str) -> None:
    """Raise :class:`BuildStopped` when ``clock`` has no time left (never without a clock)."""
    if clock is not None and clock.remaining() <= 0:
        raise BuildStopped(what, done, total, unit)


@dataclass(frozen=True)
class Reserve:
    """Seconds kept back from the solver for the phases after it (check, outputs): ``base`` plus
    ``ratio`` times the seconds the geometric phases before the solve took (the ``basis`` phases:
    reading and adjacency scale with the layer's size and the machine's load, as writing the
    outputs does), at most ``max_share`` of the limit. ``benchmarks/timelimit.py`` measures it."""

    base: float = 0.5
    ratio: float = 1.0
    max_share: float = 0.3
    basis: tuple[str, ...] = ("reading", "adjacency")

    def seconds(self, before_s: float, limit: float) -> float:
        return min(self.base + self.ratio * before_s, self.max_share * limit)


@dataclass
class Deadline:
    """A time limit of ``limit`` seconds for the whole answer, from ``start`` on ``clock``."""

    limit: float
    clock: Callable[[], float] = time.monotonic
    start: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    #: Kept back from the solver for the phases after it.
    reserve: Reserve = field(default_factory=Reserve)
    #: The solver's time limit, once :meth:`solver_budget` has been asked (0 before).
    solver_budget_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.limit > 0:
            raise ValueError(f"time limit {self.limit!r} must be a positive number of seconds")
        if self.start is None:
            self.start = self.clock()

    def elapsed(self) -> float:
        assert self.start is not None
        return self.clock() - self.start

    def remaining(self) -> float:
        return self.limit - self.elapsed()

    def expired(self) -> bool:
        return self.remaining() <= 0

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name`` (a phase run twice adds up)."""
        t0 = self.clock()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + (self.clock() - t0)

    def solver_budget(self, reserve: Reserve | None = None, after: float | None = None) -> float:
        """The solver's seconds: what remains minus the reserve (default: the deadline's own) for
        the phases after it; recorded in ``solver_budget_s``. ``after``: the reserve's input
        (default: the seconds of the reserve's basis phases, else all so far)."""
        reserve = reserve or self.reserve
        timed = [self.phases[p] for p in reserve.basis if p in self.phases]
        before = after if after is not None else (sum(timed) if timed else self.elapsed())
        least = max(MIN_SOLVER_SECONDS, MIN_SOLVER_SHARE * self.limit)
        budget = max(least, self.remaining() - reserve.seconds(before, self.limit))
        self.solver_budget_s = budget
        return budget

    def report(self) -> dict[str, float]:
        """Seconds per phase, the total and the limit, rounded to milliseconds; ``other`` is the
        time between the timed phases (argument checks, glue)."""
        total = self.elapsed()
        timed = sum(self.phases.values())
        out = {name: round(s, 3) for name, s in self.phases.items()}
        out["other"] = round(max(0.0, total - timed), 3)
        out["total"] = round(total, 3)
        out["limit"] = round(self.limit, 3)
        return out
