"""``gp``: scikit-learn's Gaussian-process regressor.

Kernel: constant x Matern(nu=2.5) with one length scale for all inputs, plus a white-noise term
(benchmark accuracies are means over seeds, noisy at the 0.1-1 point level); hyperparameters by
maximum marginal likelihood from the default starting point (no restarts, so it is deterministic),
targets normalised. One length scale rather than one per input: with 10 training nets and 30+
inputs an ARD kernel has more hyperparameters than data.
"""

from __future__ import annotations

from typing import Any

from nasbench_cli.predictors.base import PREDICTORS, PredictorSpec, library_version

SETTINGS = {"kernel": "ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(noise_level=0.1)",
            "normalize_y": True, "n_restarts_optimizer": 0}


def build(seed: int) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(noise_level=0.1)
    return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed)


def backend() -> str:
    return f"{library_version('sklearn')} GaussianProcessRegressor"


PREDICTORS.add("gp", PredictorSpec("gp", "Gaussian process, Matern 5/2 + noise (scikit-learn)", build, backend,
                                   lambda: dict(SETTINGS)))
