"""Shared fixtures: where the real (read-only) test data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """$NASBENCH_TEST_DATA, else ../shared/data next to the repository."""
    env = os.environ.get("NASBENCH_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; the test is skipped when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (set NASBENCH_TEST_DATA to its folder)")
    return path
