"""Which architectures a command works on: a seeded sample, all of them, or a user's list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from nasbench_cli.errors import DataMissingError, InvalidArchError, UsageError
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace


def read_arch_file(space: SearchSpace, path: Path) -> List[int]:
    """Indices from a file of arch strings or indices, one per line ('#' comments, blanks skipped);
    '-' reads standard input."""
    if str(path) == "-":
        text = sys.stdin.read()
    elif not path.exists():
        raise DataMissingError(f"architecture list not found: {path}")
    else:
        text = path.read_text()
    indices: List[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            indices.append(space.parse_ref(text))
        except InvalidArchError as err:
            raise InvalidArchError(f"{path}:{number}: {err}") from None
    if not indices:
        raise UsageError(f"{path} lists no architectures")
    return list(dict.fromkeys(indices))


def select_indices(
    space: SearchSpace, seed: int, n: Optional[int] = None, everything: bool = False, arch_file: Optional[Path] = None
) -> List[int]:
    """Exactly one of: ``n`` sampled without replacement (seeded), all, or the file's list."""
    chosen = [n is not None, everything, arch_file is not None]
    if sum(chosen) > 1:
        raise UsageError("give only one of --n, --all and --archs")
    if arch_file is not None:
        return read_arch_file(space, arch_file)
    if everything:
        return list(range(len(space)))
    if n is not None and n < 1:
        raise UsageError("--n must be at least 1")
    rng = np.random.default_rng(derive_seed(seed, "sample", space.name))
    return space.sample(rng, n if n is not None else 100)
