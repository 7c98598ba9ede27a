#!/usr/bin/env python3
"""Seconds per architecture of every proxy on N random NB201 architectures (CPU by default).

Scores go through the library's scorer (`nasbench_cli.engine.work.build_scorer`, what every
executor of `nasbench score` runs), so networks, seeds and batches are exactly those of
`nasbench score --seed SEED`. Each proxy is scored on its own, so its seconds include building its
network (as when it is the only proxy of a run). The first architecture is run once untimed
(warm-up). Prints one table row per proxy.

    python scripts/bench_proxies.py --n 10 [--proxies grad_norm,snip] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Dict, List

import numpy as np

from nasbench_cli.engine.work import ScorerSpec, build_scorer
from nasbench_cli.proxies import PROXIES
from nasbench_cli.runtime import pick_device
from nasbench_cli.scoring import ScoreSettings, proxy_batch_size
from nasbench_cli.selection import select_indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="architectures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxies", default="", help="comma-separated names (default: all)")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the engine's default is 1)")
    parser.add_argument("--no-warmup", action="store_true", help="time the very first calls too")
    parser.add_argument("--csv", type=Path, help="also write proxy,seconds (median) for `proxy_leaderboard.py --timing`")
    args = parser.parse_args()

    device = pick_device(args.device)
    data_dir = args.data_dir if args.data_dir.is_dir() else None
    dataset = "cifar10" if data_dir and (data_dir / "cifar-10-batches-py").is_dir() else "synthetic"
    names = tuple(n for n in args.proxies.split(",") if n) or tuple(PROXIES.names())
    settings = ScoreSettings("nb201", dataset, names, args.seed, None, "auto", "train")
    spec = ScorerSpec(settings, None if data_dir is None else str(data_dir), str(device), args.threads)
    scorer, _ = build_scorer(spec)
    indices = select_indices(scorer.space, args.seed, args.n)

    times: Dict[str, List[float]] = {name: [] for name in names}
    values: Dict[str, List[float]] = {name: [] for name in names}
    runs = ([] if args.no_warmup else [(indices[0], False)]) + [(i, True) for i in indices]
    for index, timed in runs:
        for name in names:
            result = scorer.score_proxies(index, [name])[name]
            if timed:
                times[name].append(result.seconds)
                values[name].append(result.value)

    print(f"device {device}, torch threads {args.threads}, {len(indices)} NB201 architectures "
          f"(nasbench score --seed {args.seed} --n {args.n}), batch from {dataset}")
    header = f"{'proxy':<15} {'batch':>5} {'mean s':>8} {'median s':>9} {'max s':>8}  {'median value':>14}"
    print(header)
    print("-" * len(header))
    for name in names:
        proxy = PROXIES.get(name)
        t = times[name]
        batch_text = str(proxy_batch_size(proxy, settings)) if proxy.needs_data else "-"
        finite = [v for v in values[name] if np.isfinite(v)]
        median_value = f"{statistics.median(finite):.4g}" if finite else "nan"
        print(f"{name:<15} {batch_text:>5} {statistics.mean(t):8.3f} {statistics.median(t):9.3f} "
              f"{max(t):8.3f}  {median_value:>14}")
    total = sum(statistics.mean(t) for t in times.values())
    print(f"{'all':<15} {'':>5} {total:8.3f}")
    if args.csv is not None:
        from nasbench_cli.output import write_csv

        write_csv(args.csv, ["proxy", "seconds"],
                  ({"proxy": name, "seconds": f"{statistics.median(times[name]):.4f}"} for name in names))


if __name__ == "__main__":
    main()
