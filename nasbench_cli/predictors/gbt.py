"""``gbt``: gradient-boosted trees. XGBoost where installed (as NAS-Bench-Suite-Zero used), else
scikit-learn's histogram GBT with the same tree shape.

Hyperparameters: NASLib's XGBoost defaults, which Suite-Zero's predictor experiments used
(``naslib/predictors/trees/xgb.py``): squared error, depth 6, min_child_weight 1, learning rate
0.3, no column subsampling, 500 boosting rounds; XGBoost's own L2 of 1 on leaf weights.
The scikit-learn fallback mirrors them: ``max_depth=6``, no leaf cap, ``min_samples_leaf=1`` (a
leaf of one net, as min_child_weight 1 allows under squared error), ``l2_regularization=1``,
learning rate 0.3, **100** rounds: at 0.3 the training residuals vanish long before, and on NB201
(one-hot + NASWOT, training sizes 20/100/500, 5 trials each) 200 and 500 rounds gave the same mean
test tau to 4 decimals while taking 2x and 4.7x as long. No early stopping (it would hold out part
of a 10-net training set). Both backends run on one thread, seeded.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict

from nasbench_cli.predictors.base import PREDICTORS, PredictorSpec, library_version

XGBOOST = {"objective": "reg:squarederror", "max_depth": 6, "min_child_weight": 1, "learning_rate": 0.3,
           "colsample_bytree": 1.0, "colsample_bylevel": 1.0, "n_estimators": 500, "n_jobs": 1}
SKLEARN = {"learning_rate": 0.3, "max_iter": 100, "max_depth": 6, "max_leaf_nodes": None, "min_samples_leaf": 1,
           "l2_regularization": 1.0, "early_stopping": False}


def has_xgboost() -> bool:
    return importlib.util.find_spec("xgboost") is not None


def build(seed: int) -> Any:
    if has_xgboost():
        from xgboost import XGBRegressor

        return XGBRegressor(**XGBOOST, random_state=seed)
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**SKLEARN, random_state=seed)


def backend() -> str:
    if has_xgboost():
        return f"{library_version('xgboost')} XGBRegressor"
    return f"{library_version('sklearn')} HistGradientBoostingRegressor"


def hyperparameters() -> Dict[str, Any]:
    return dict(XGBOOST if has_xgboost() else SKLEARN)


PREDICTORS.add("gbt", PredictorSpec("gbt", "gradient-boosted trees (XGBoost if installed, else scikit-learn's "
                                    "histogram GBT)", build, backend, hyperparameters))
