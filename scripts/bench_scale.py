#!/usr/bin/env python3
"""Scale of the scoring engine: the same NB201 nets scored by every executor, in one run.

Each configuration scores the same architectures with NASWOT into a fresh in-memory store through
`nasbench_cli.engine.Engine` (what `nasbench score` runs), start-up of workers included. Prints
nets/s, the speed-up over sequential, the parallel efficiency (speed-up / workers), and checks that
every configuration gave the same scores, bit for bit. Then projects whole-benchmark hours from
the measured seconds per net.

    python scripts/bench_scale.py [--n 40] [--data-dir ../shared/data] [--no-ray]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from nasbench_cli.engine import Engine, EngineConfig
from nasbench_cli.proxies import PROXIES
from nasbench_cli.runtime import cpu_cores
from nasbench_cli.scoring import ScoreSettings
from nasbench_cli.spaces import create_space
from nasbench_cli.store import ScoreStore

#: architectures per benchmark, for the projection
SIZES = {"NB201 (15,625)": 15_625, "NB101 (423,624)": 423_624, "NDS (~20 spaces x 5,000)": 100_000}


def run(space, settings: ScoreSettings, data_dir: Optional[Path], indices: List[int],
        config: EngineConfig) -> Tuple[float, Dict[int, float], str]:
    """Seconds, index -> score, and the executor that ran, for one configuration."""
    with ScoreStore(":memory:") as store:
        engine = Engine(space, settings, [PROXIES.get(p) for p in settings.proxies], data_dir, store, config)
        start = time.perf_counter()
        known = engine.score(indices)
        seconds = time.perf_counter() - start
    return seconds, {i: s.value for i, s in known[settings.proxies[0]].items()}, engine.report.executor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray configuration")
    args = parser.parse_args()

    data_dir = args.data_dir if args.data_dir.is_dir() else None
    dataset = "cifar10" if data_dir and (data_dir / "cifar-10-batches-py").is_dir() else "synthetic"
    space = create_space("nb201", data_dir)
    indices = space.sample(np.random.default_rng(args.seed), args.n)
    settings = ScoreSettings("nb201", dataset, ("naswot",), args.seed, None, "auto", "train")
    cores = cpu_cores()
    configs = [("sequential, 1 thread", EngineConfig(executor="sequential", threads=1)),
               ("sequential, all threads", EngineConfig(executor="sequential", threads=cores)),
               ("local, 1 worker", EngineConfig(executor="local", workers=1)),
               ("local, 2 workers", EngineConfig(executor="local", workers=2))]
    try:
        import ray  # noqa: F401
        if not args.no_ray:
            configs.append(("ray, 2 workers", EngineConfig(executor="ray", workers=2)))
    except ImportError:
        print("ray not installed: the Ray configuration is skipped (pip install 'nasbench-cli[ray]')")

    print(f"{args.n} NB201 nets, NASWOT, batch 128 from {dataset}, {cores} cores, torch {torch.__version__}")
    results = []
    for label, config in configs:
        seconds, scores, chosen = run(space, settings, data_dir, indices, config)
        results.append((label, config, seconds, scores))
        print(f"  done: {label} ({chosen}) {seconds:.1f} s", flush=True)

    base_seconds, base_scores = results[0][2], results[0][3]
    print(f"\n{'configuration':<26} {'workers':>7} {'seconds':>8} {'nets/s':>7} {'speed-up':>8} {'efficiency':>10}"
          f"  identical")
    for label, config, seconds, scores in results:
        workers = 1 if config.executor == "sequential" else config.worker_count()
        same = sum(np.float64(scores[i]).tobytes() == np.float64(base_scores[i]).tobytes() for i in indices)
        speedup = base_seconds / seconds
        print(f"{label:<26} {workers:>7} {seconds:8.1f} {args.n / seconds:7.2f} {speedup:7.2f}x "
              f"{speedup / workers:9.0%}  {same}/{len(indices)}")

    per_net = base_seconds / args.n
    best = max(results, key=lambda r: args.n / r[2])
    print(f"\nprojection from {per_net:.3f} s/net on 1 CPU core (NB201 nets; NB101/NDS nets differ in size, "
          f"see README), linear in cores:")
    print(f"{'benchmark':<26} {'1 core':>9} {'16 cores':>9}")
    for name, size in SIZES.items():
        print(f"{name:<26} {size * per_net / 3600:8.1f}h {size * per_net / 16 / 3600:8.2f}h")
    print(f"best here: {best[0]} at {args.n / best[2]:.2f} nets/s")


if __name__ == "__main__":
    main()
