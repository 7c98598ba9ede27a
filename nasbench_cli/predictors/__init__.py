"""Accuracy predictors for `nasbench predict`, registered by name. Importing this package registers
every model (it imports no learning library: scikit-learn / XGBoost load when a model is built).

| name | model |
| --- | --- |
| ``gbt`` | gradient-boosted trees: XGBoost where installed, else scikit-learn's HistGradientBoostingRegressor |
| ``rf`` | scikit-learn RandomForestRegressor |
| ``gp`` | scikit-learn GaussianProcessRegressor |
| ``mlp`` | scikit-learn MLPRegressor |
"""

from nasbench_cli.predictors.base import INSTALL_HINT, PREDICTORS, PredictorSpec, one_thread, require_sklearn
from nasbench_cli.predictors import gbt, gp, mlp, random_forest  # noqa: F401  (register)

__all__ = ["INSTALL_HINT", "PREDICTORS", "PredictorSpec", "one_thread", "require_sklearn"]
