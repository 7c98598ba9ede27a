"""Shared fixtures: where the real (read-only) test data lives."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def sigint_handler_restored():
    """Each test leaves SIGINT as it found it: a test that runs the CLI in-process through an
    interrupt (entry.main ignores further Ctrl-C while it exits) would otherwise leave SIGINT
    ignored, and every later subprocess would inherit that (an ignored signal survives exec)."""
    before = signal.getsignal(signal.SIGINT)
    yield
    if signal.getsignal(signal.SIGINT) is not before and before is not None:
        signal.signal(signal.SIGINT, before)


def shared_data_dir() -> Path:
    """$NASBENCH_TEST_DATA, else ../shared/data next to the repository."""
    env = os.environ.get("NASBENCH_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def private_user_cache(tmp_path_factory):
    """The suite's own user cache (XDG_CACHE_HOME, inherited by the CLI subprocesses tests start):
    default stores and downloads never touch the real one, and no score stored by an earlier
    suite run (or by the user) is served to a test. $NASBENCH_STORE is cleared for the same reason."""
    cache = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        patch.delenv("NASBENCH_STORE", raising=False)
        yield cache


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; the test is skipped when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (set NASBENCH_TEST_DATA to its folder)")
    return path
