"""One scoring engine for every command and script: plan -> chunks -> executor -> store -> rows.

``Engine`` (driver.py) plans what the store lacks and writes what executors compute;
``executors/`` holds one module per executor (sequential, local processes, Ray), registered by
name; ``config.py`` the engine options resolved for this machine; ``work.py`` the plain data
that crosses process boundaries; ``rows.py`` the score rows.
"""

from nasbench_cli.engine.config import EngineConfig
from nasbench_cli.engine.driver import Engine
from nasbench_cli.engine.executors import EXECUTORS, WorkerFailedError
from nasbench_cli.engine.rows import score_rows

__all__ = ["EXECUTORS", "Engine", "EngineConfig", "WorkerFailedError", "score_rows"]
