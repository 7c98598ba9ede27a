"""Where data lives: --data-dir, then $NASBENCH_DATA, then the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

ENV_VAR = "NASBENCH_DATA"


def default_data_dir() -> Path:
    """The per-user cache folder used when neither --data-dir nor $NASBENCH_DATA is given."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nasbench")) / "data"


def resolve_data_dir(data_dir: Optional[Union[str, Path]] = None) -> Path:
    """The data directory to use, in order of precedence: argument, environment, user cache."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_data_dir()
