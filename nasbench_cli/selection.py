"""Which architectures a command works on: a seeded sample, all of them, or a user's list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from nasbench_cli.errors import InvalidArchError, UsageError
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace


#: architectures sampled when neither --n, --all nor --archs is given
DEFAULT_SAMPLE = 100


def read_arch_file(space: SearchSpace, path: Path) -> List[int]:
    """Indices from a file of arch strings or indices, one per line ('#' comments, blanks skipped);
    '-' reads standard input."""
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        text = _read_list(path)
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


def _read_list(path: Path) -> str:
    """The text of an architecture list; a missing, non-file, binary or non-UTF-8 file is a usage
    error naming it (the list is part of the command line)."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.untrusted import TEXT_BYTES, read_regular_file

    if not path.exists():
        raise UsageError(f"--archs {path}: no such file")
    if path.is_dir():
        raise UsageError(f"--archs {path}: is a directory, not a file of architectures")
    try:  # the checked layer: a FIFO or device is refused without blocking, the size is bounded
        raw = read_regular_file(path, "file of architectures", TEXT_BYTES)
    except NasbenchError as err:
        raise UsageError(f"--archs {str(err)}") from None
    if b"\0" in raw:
        raise UsageError(f"--archs {path}: a binary file, not a text file of architectures (one per line)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"--archs {path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None


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
        return list(space.all_indices())
    if n is not None and n < 1:
        raise UsageError("--n must be at least 1")
    rng = np.random.default_rng(derive_seed(seed, "sample", space.name))
    return space.sample(rng, n if n is not None else DEFAULT_SAMPLE)
