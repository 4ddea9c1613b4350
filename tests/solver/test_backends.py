"""The CBC backend when the CBC command itself fails (a real CBC behind a failing wrapper), and the
files it writes: none is left behind, whether CBC succeeds or fails."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from solver import backends, heuristic
from solver.model import AssignmentModel
from tests.solver.grids import grid


def _wrapper(tmp_path: Path, script: str) -> str:
    path = tmp_path / "cbc"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def _model_and_start() -> tuple[AssignmentModel, dict[str, float]]:
    p = grid(3, 4, [(0, 0), (2, 3)])
    lo, hi = p.load_bounds(0.2)
    plan = heuristic.grow(p, p.neighbours(), lo, hi)
    assert plan is not None
    model = AssignmentModel(p, lo=lo, hi=hi)
    return model, model.start_values(plan)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temp folder of this test (where PuLP and ``tempfile`` write): checked empty at
    the end, however CBC ended."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert sorted(p.name for p in folder.iterdir()) == []


def test_cbc_leaves_no_file_behind(temp_dir: Path) -> None:
    model, start = _model_and_start()
    res = backends.make_backend("cbc").solve(model.lp, time_limit=20, gap=1e-6, warm_start=start)
    assert res.status == "optimal"


def test_cbc_failing_with_a_warm_start_runs_again_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temp_dir: Path
) -> None:
    real = backends._cbc_path()
    # exit 1 whenever a MIP start is passed (the failure seen under load), else the real CBC
    fake = _wrapper(tmp_path, f'case " $* " in *" -mips "*) exit 1;; esac\nexec "{real}" "$@"\n')
    monkeypatch.setattr(backends, "_cbc_path", lambda: fake)
    model, start = _model_and_start()
    res = backends.make_backend("cbc").solve(model.lp, time_limit=20, gap=1e-6, warm_start=start)
    assert res.status == "optimal"
    assert res.objective is not None
    assert res.values


def test_cbc_failing_every_time_gives_no_solution_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temp_dir: Path
) -> None:
    fake = _wrapper(tmp_path, "exit 1\n")
    monkeypatch.setattr(backends, "_cbc_path", lambda: fake)
    model, start = _model_and_start()
    res = backends.make_backend("cbc").solve(model.lp, time_limit=5, gap=1e-6, warm_start=start)
    assert res.status == "no_solution"
    assert res.values == {}
