#!/usr/bin/env python3
"""Seconds per architecture of NASWOT on NDS networks (a cell space and an AnyNet space), on CPU.

No NDS file is needed: the script writes test-style NDS files of random architectures at NDS's
sizes (DARTS cells: width in {16, 24, 32}, depth in {4, 8, 12, 16, 20}; ResNeXt-A: 3 stages after
the 16-wide stem, depths {1, 2, 4, 8, 16}, widths {16, ..., 256}, bottleneck multipliers
{1, 1/2, 1/4}, groups {1, 2, 4}), loads them through the NDS spaces and times building each
network and scoring it on one batch (CIFAR-10 when ../shared/data has it, else synthetic). Process
CPU seconds are printed too: on a shared machine they say more than wall-clock seconds.

    python scripts/bench_nds.py --n 20 --batch-size 128 --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch

from nasbench_cli.datasets import get_dataset, make_batch
from nasbench_cli.proxies import PROXIES, ProxyContext
from nasbench_cli.spaces import create_space
from nasbench_cli.spaces import nds as _nds  # noqa: F401  (registers the NDS spaces)

DARTS_OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5"]


def darts_net(rng: np.random.Generator) -> dict:
    genotype: Dict[str, list] = {}
    for cell in ("normal", "reduce"):
        genotype[cell] = [[str(rng.choice(DARTS_OPS)), int(rng.integers(node + 2))]
                          for node in range(4) for _ in range(2)]
        genotype[f"{cell}_concat"] = [2, 3, 4, 5]
    return {"genotype": genotype, "width": int(rng.choice([16, 24, 32])), "depth": int(rng.choice([4, 8, 12, 16, 20])),
            "aux": False, "drop_prob": 0.0}


def resnext_net(rng: np.random.Generator) -> dict:
    while True:
        ws = [16] + [int(rng.choice([16, 32, 64, 128, 256])) for _ in range(3)]
        bms = [0.0] + [float(rng.choice([1.0, 0.5, 0.25])) for _ in range(3)]
        gs = [1] + [int(rng.choice([1, 2, 4])) for _ in range(3)]
        if all(round(w * b) % g == 0 for w, b, g in zip(ws[1:], bms[1:], gs[1:])):
            break
    return {"block_type": "res_bottleneck_block", "ds": [1] + [int(rng.choice([1, 2, 4, 8, 16])) for _ in range(3)],
            "ws": ws, "ss": [1, 1, 2, 2], "bot_muls": bms, "num_gs": gs}


def write_space(root: Path, stem: str, make: Callable[[np.random.Generator], dict], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    jobs = [{"net": make(rng), "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": 100}, "test_ep_top1": [10.0],
             "train_ep_top1": [5.0], "train_ep_loss": [0.1], "min_test_top1": 10.0, "params": 0, "flops": 0,
             "rng_seed": 1} for _ in range(n)]
    (root / "nds").mkdir(parents=True, exist_ok=True)
    (root / "nds" / f"{stem}.json").write_text(json.dumps(jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    has_cifar = (args.data_dir / "cifar-10-batches-py").is_dir()
    dataset = get_dataset("cifar10" if has_cifar else "synthetic")
    batch = make_batch(dataset, args.data_dir, args.batch_size, seed=args.seed, device=torch.device("cpu"))
    naswot = PROXIES.get("naswot")
    ctx = ProxyContext(num_classes=1, device=torch.device("cpu"))
    print(f"NASWOT, batch {args.batch_size} of {dataset.name}, CPU, {torch.get_num_threads()} thread(s)")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_space(root, "DARTS", darts_net, args.n, args.seed)
        write_space(root, "ResNeXt-A", resnext_net, args.n, args.seed)
        for name in ("nds-darts", "nds-resnext-a"):
            space = create_space(name, root)
            builds: List[float] = []
            scores: List[float] = []
            params: List[int] = []
            cpu0 = time.process_time()
            for index in range(len(space)):
                torch.manual_seed(index)
                t0 = time.perf_counter()
                net = space.build(index, num_classes=1)
                t1 = time.perf_counter()
                naswot.fn(net, batch, ctx)
                t2 = time.perf_counter()
                builds.append(t1 - t0)
                scores.append(t2 - t1)
                params.append(sum(p.numel() for p in net.parameters()))
            cpu = (time.process_time() - cpu0) / len(space)
            total = [b + s for b, s in zip(builds, scores)]
            print(f"{name:<14} {len(space)} nets, params {min(params) / 1e6:.2f}-{max(params) / 1e6:.2f} M: "
                  f"{statistics.mean(total):.3f} s/arch (median {statistics.median(total):.3f}, max {max(total):.3f}; "
                  f"build {statistics.mean(builds):.3f}, score {statistics.mean(scores):.3f}; "
                  f"process CPU {cpu:.3f} s/arch)")


if __name__ == "__main__":
    main()
