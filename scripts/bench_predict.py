#!/usr/bin/env python3
"""Time one `nasbench predict` trial per model: fit on N training nets + rank the test set, one core.

    OMP_NUM_THREADS=1 python scripts/bench_predict.py [--size 500] [--trials 5] [--test-size 1000]
                                                      [--format text|markdown]

Features: the one-hot NB201 encoding + NASWOT from the committed scores of all 15,625 nets
(results/kendall/nb201-cifar10-scores.csv); target cifar10/ori-test@200. Prints per model the
median and max seconds of fit + predict over the trials (model build included, data loading not)
and the mean Kendall tau, so speed is never read without the quality it bought.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / scikit-learn start their pools

from nasbench_cli.analysis.tables import TABLE_FORMATS, render_table  # noqa: E402
from nasbench_cli.predictors import PREDICTORS  # noqa: E402
from nasbench_cli.options import RunConfig  # noqa: E402
from nasbench_cli.workflows.predict import PredictJob, run_predict  # noqa: E402

SCORES = Path(__file__).resolve().parents[1] / "results" / "kendall" / "nb201-cifar10-scores.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text")
    args = parser.parse_args()
    rows = []
    for model in PREDICTORS.names():
        started = time.perf_counter()
        result = run_predict(PredictJob(RunConfig("nb201", "cifar10", ()), features=("naswot",), encoding="onehot",
                                        model=model, train_sizes=(args.size,), trials=args.trials,
                                        test_size=args.test_size, scores=(SCORES,), timing=True))
        seconds = [float(r["seconds"]) for r in result.records]
        rows.append([model, PREDICTORS.get(model).backend(), f"{statistics.median(seconds):.3f}", f"{max(seconds):.3f}",
                     f"{result.summary[0]['kendall_tau_mean']:.3f}", f"{time.perf_counter() - started:.1f}"])
    print(f"one trial: fit on {args.size} NB201 nets (one-hot + NASWOT) and rank {args.test_size}, "
          f"{args.trials} trials, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(render_table(["model", "backend", "median s", "max s", "tau", "run s (with data)"], rows, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
