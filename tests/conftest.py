"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data root: ``$WARDPLAN_DATA`` or ``<repo>/../shared/data``.

    Fails (never skips) when the folder is missing: real-data tests must not vanish silently.
    """
    env = os.environ.get("WARDPLAN_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.fail(f"real ward data not found at {root}; set WARDPLAN_DATA to the data folder")
    return root
