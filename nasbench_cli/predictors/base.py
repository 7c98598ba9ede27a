"""Accuracy predictors: thin, seeded factories around scikit-learn / XGBoost regressors.

Each model module registers a ``PredictorSpec``: its documented hyperparameters and a ``build(seed)``
returning an unfitted estimator with ``fit(X, y)`` / ``predict(X)``. Nothing here is hand-written
learning code. scikit-learn is an optional extra (``pip install 'nasbench-cli[predict]'``),
imported only when a model is built: :func:`require_sklearn` turns its absence into one line.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator

from nasbench_cli.errors import UsageError
from nasbench_cli.registry import Registry

INSTALL_HINT = "nasbench predict needs scikit-learn: pip install 'nasbench-cli[predict]'"


@dataclass(frozen=True)
class PredictorSpec:
    """A registered model: name, one-line summary, hyperparameters (as recorded in provenance),
    a factory ``build(seed) -> estimator`` and ``backend() -> str`` naming the library and class."""

    name: str
    summary: str
    build: Callable[[int], Any]
    backend: Callable[[], str]
    hyperparameters: Callable[[], Dict[str, Any]] = field(default=lambda: {})


PREDICTORS: "Registry[PredictorSpec]" = Registry("model")


def require_sklearn() -> None:
    """UsageError (exit 2) with the install line when scikit-learn cannot be imported."""
    try:
        importlib.import_module("sklearn")
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def library_version(module: str) -> str:
    """``'<module> <version>'`` of an importable library."""
    return f"{module} {getattr(importlib.import_module(module), '__version__', '?')}"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Fit and predict on one thread (BLAS and OpenMP): histogram GBT sums gradients in threads,
    and one thread gives the same model on every machine, so outputs are byte-identical."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), warnings.catch_warnings():
        # a GP's optimiser hitting a bound or an MLP stopped at max_iter is part of the protocol
        warnings.simplefilter("ignore")
        yield
