"""``rf``: scikit-learn's random forest with NASLib's random-forest predictor settings (taken there
from NAS-Bench-301's surrogate): 116 trees, 17% of the features tried per split, leaves of at
least 2 nets, no bootstrap (every tree sees every training net; randomness only from the feature
subsets). One thread, seeded."""

from __future__ import annotations

from typing import Any

from nasbench_cli.predictors.base import PREDICTORS, PredictorSpec, library_version

SETTINGS = {"n_estimators": 116, "max_features": 0.17055852159745608, "min_samples_leaf": 2, "min_samples_split": 2,
            "bootstrap": False, "n_jobs": 1}


def build(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**SETTINGS, random_state=seed)


def backend() -> str:
    return f"{library_version('sklearn')} RandomForestRegressor"


PREDICTORS.add("rf", PredictorSpec("rf", "random forest (scikit-learn)", build, backend, lambda: dict(SETTINGS)))
