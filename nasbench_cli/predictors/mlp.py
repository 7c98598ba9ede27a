"""``mlp``: scikit-learn's multi-layer perceptron regressor, a small stand-in for the neural
predictors of Wen et al. (ECCV 2020) and NASLib's MLP predictor (which feed an encoding to a
few fully connected layers).

Two hidden layers of 64 ReLU units, Adam (lr 1e-3), mini-batches of 32, L2 1e-4, at most 200
epochs with the library's own stop when the training loss stops improving (10 epochs, tol 1e-4);
no validation split (it would take nets from a 10-net training set). Targets are standardised
by the workflow. One thread, seeded (weights and batch order).
"""

from __future__ import annotations

from typing import Any

from nasbench_cli.predictors.base import PREDICTORS, PredictorSpec, library_version

SETTINGS = {"hidden_layer_sizes": (64, 64), "activation": "relu", "solver": "adam", "learning_rate_init": 1e-3,
            "batch_size": 32, "alpha": 1e-4, "max_iter": 200, "early_stopping": False, "n_iter_no_change": 10,
            "tol": 1e-4}


def build(seed: int) -> Any:
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(**SETTINGS, random_state=seed)


def backend() -> str:
    return f"{library_version('sklearn')} MLPRegressor"


PREDICTORS.add("mlp", PredictorSpec("mlp", "multi-layer perceptron, 2 x 64 ReLU (scikit-learn)", build, backend,
                                    lambda: dict(SETTINGS)))
