"""Test spaces whose workers die: the toy space, but building a network can SIGKILL the process.

``NASBENCH_TEST_CRASH`` names a folder. Building architecture i kills the building process with
SIGKILL (kill -9, mid-chunk) when ``<folder>/crash-<i>`` exists and ``<folder>/crashed-<i>`` does
not: ``toy-crash-once`` leaves the second marker first (one death, then normal), ``toy-crash-always``
never does (every worker that meets i dies). Outside worker processes nothing is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import replace
from pathlib import Path

from nasbench_cli.spaces import SPACES
from toy_space import ToySpace


def _maybe_die(index: int, once: bool) -> None:
    folder = os.environ.get("NASBENCH_TEST_CRASH")
    if not folder or multiprocessing.parent_process() is None:
        return
    trigger, done = Path(folder) / f"crash-{index}", Path(folder) / f"crashed-{index}"
    if trigger.exists() and not done.exists():
        if once:
            done.touch()
        os.kill(os.getpid(), signal.SIGKILL)


def _crashing_space(name: str, once: bool) -> type:
    """The toy space under ``name``; building a marked architecture kills the worker (see above)."""

    def build(self, index, num_classes, bn=True, **options):
        _maybe_die(index, once=once)
        return ToySpace.build(self, index, num_classes, bn=bn, **options)

    doc = f"The toy space; {'a worker' if once else 'every worker'} building a marked architecture dies."
    return type(name.title().replace("-", ""), (ToySpace,), {
        "__doc__": doc, "__module__": __name__, "name": name, "build": build,
        "benchmark": replace(ToySpace.benchmark, ground_truth_file=f"{name}/ground_truth.csv")})


for _name, _once in (("toy-crash-once", True), ("toy-crash-always", False)):
    if _name not in SPACES:
        SPACES.add(_name, _crashing_space(_name, _once))
