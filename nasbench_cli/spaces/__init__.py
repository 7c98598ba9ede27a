"""Search spaces, registered by name. Importing this package registers every space.

A space is a ``SearchSpace`` subclass carrying its benchmark's facts as ``benchmark`` (a
``BenchmarkInfo``), registered once with ``SPACES.register(name)`` or ``SPACES.add(name, cls)``;
code outside the package registers the same way (see ``tests/toy_space.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from nasbench_cli.spaces.base import SPACES, SearchSpace
from nasbench_cli.spaces.benchmark import BenchmarkFile, BenchmarkInfo
from nasbench_cli.spaces import nats_sss, nats_tss, nb101, nb201, nds  # noqa: F401  (registers)


def create_space(name: str, data_dir: Optional[Path] = None) -> SearchSpace:
    """The space registered as ``name``, given the data directory for its archive files."""
    return SPACES.get(name)(data_dir=data_dir)


__all__ = ["SPACES", "BenchmarkFile", "BenchmarkInfo", "SearchSpace", "create_space"]
