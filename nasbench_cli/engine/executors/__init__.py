"""Executors, registered by name: sequential, local (worker processes), ray."""

from nasbench_cli.engine.executors.base import (
    EXECUTORS,
    Executor,
    ExecutorOptions,
    ExecutorReport,
    WorkerFailedError,
    create_executor,
)
from nasbench_cli.engine.executors import local, ray, sequential  # noqa: F401  (register)

__all__ = ["EXECUTORS", "Executor", "ExecutorOptions", "ExecutorReport", "WorkerFailedError", "create_executor"]
