"""Where data lives: --data-dir, then $NASBENCH_DATA, then the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from nasbench_cli.errors import DataDirMissingError

ENV_VAR = "NASBENCH_DATA"


def default_data_dir() -> Path:
    """The per-user cache folder used when neither --data-dir nor $NASBENCH_DATA is given."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nasbench")) / "data"


def resolve_data_dir(data_dir: Optional[Union[str, Path]] = None, *, must_exist: bool = False,
                     given_as: str = "--data-dir") -> Path:
    """The data directory to use, in order of precedence: argument, environment, user cache.

    ``must_exist``: a directory the user named (argument or environment) that does not exist is a
    DataDirMissingError at once (``given_as`` names the argument in the message); the user cache
    is never checked, as it legitimately does not exist before the first download."""
    if data_dir:
        path, source = Path(data_dir).expanduser(), given_as
    elif os.environ.get(ENV_VAR):
        path, source = Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    else:
        return default_data_dir()
    if must_exist and not path.is_dir():
        raise data_dir_missing(path, source)
    return path


def data_dir_missing(data_dir: Path, given_as: str = "", how: str = "") -> DataDirMissingError:
    """The one-line error for a data directory that is absent (or a file): its full path, where it
    came from (``given_as``, else guessed from the environment and the default), and how to fill
    it (``how``; default: download CIFAR-10 or place the files)."""
    path = Path(data_dir).expanduser().absolute()
    how = how or (f"fetch data into it with `nasbench data download cifar10 --data-dir {path}` or place the "
                  f"files there (`nasbench data status --data-dir {path}` lists them)")
    if path.exists():
        state = "is not a directory"
    elif not given_as and path == default_data_dir().absolute():
        # nothing was named: a first run, before any download, rather than a typo
        return DataDirMissingError(f"data directory {path} (the default, in the user cache) does not exist yet: "
                                   f"{how}; or give --data-dir / set ${ENV_VAR}")
    else:
        state = "does not exist"
    if not given_as:
        env = os.environ.get(ENV_VAR)
        given_as = f"${ENV_VAR}" if env and Path(env).expanduser().absolute() == path else "--data-dir / data_dir="
    return DataDirMissingError(f"data directory {path} (from {given_as}) {state}: fix the path, or {how}")
