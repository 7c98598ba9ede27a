#!/usr/bin/env python3
"""Score 50 NB201 networks, correlate the scores with CIFAR-10 accuracy, and plot them.

    python examples/score_correlate_plot.py [--data-dir DIR] [--out DIR] [--store FILE]

The proxies are synflow and params (cheap: about 10 s for the 50 networks on one CPU core); swap
in ``("naswot",)`` for the NASWOT paper's score. The numbers are those of

    nasbench score --space nb201 --dataset cifar10 --proxy synflow,params --n 50 --seed 0 --no-timing
    nasbench correlate <that CSV> --target cifar10/ori-test@200

Data: CIFAR-10 in --data-dir, else $NASBENCH_DATA, else ../shared/data next to this repository
(the NB201 accuracies ship with the package). tests/test_api.py runs this script.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import List, Optional

import nasbench_cli.api as nb

TARGET = "cifar10/ori-test@200"  # the accuracy the NASWOT paper correlates with on CIFAR-10
PROXIES = ("synflow", "params")


def default_data_dir() -> Optional[Path]:
    """$NASBENCH_DATA, else the shared data next to the repository when it exists."""
    if os.environ.get("NASBENCH_DATA"):
        return Path(os.environ["NASBENCH_DATA"])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    return shared if shared.is_dir() else None


def main(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("results") / "example")
    parser.add_argument("--store", default=None, help="score store file [default: nasbench's]")
    args = parser.parse_args(argv)

    # 1. the space and 50 architectures sampled as `nasbench score --n 50 --seed 0` samples them
    bench = nb.open_space("nb201", data_dir=args.data_dir)
    archs = bench.sample(50, seed=0)
    print(f"{bench}: scoring {len(archs)} architectures, e.g. {bench.arch(archs[0])}")

    # 2. scores joined with every accuracy column; 50 networks are too few to pay for worker processes
    frame = nb.score(bench, archs=archs, proxies=PROXIES, dataset="cifar10", seed=0, store=args.store,
                     executor="sequential", quiet=True)

    # 3. Kendall tau / Spearman rho with 95% bootstrap intervals, as `nasbench correlate`
    table = nb.correlate(frame, target=TARGET, bootstrap=1000, seed=0)
    print(table[["score", "n", "kendall_tau", "kendall_lo", "kendall_hi", "spearman_rho"]].to_string(index=False))

    # 4. figures: score vs accuracy (synflow on a log axis) and the tau heatmap
    args.out.mkdir(parents=True, exist_ok=True)
    scatter = nb.figures.scatter_figure(frame, target=TARGET, log=True, title="50 NB201 networks, CIFAR-10")
    heatmap = nb.figures.heatmap_figure(table)
    for fig, name in ((scatter, "score_vs_accuracy.png"), (heatmap, "kendall_tau.png")):
        print(f"wrote {nb.figures.save_figure(fig, args.out / name)}")
    return frame, table


if __name__ == "__main__":
    main()
