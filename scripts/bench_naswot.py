#!/usr/bin/env python3
"""Seconds per architecture of NASWOT scoring on NB201: this toolkit vs the authors' two-pass loop.

Both run in the same process on the same architectures, weights and batch. Prints both timings,
their ratio and the largest score difference.

    python scripts/bench_naswot.py --n 30 --batch-size 128 [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.reference.naswot import two_pass_score
from nasbench_cli.runtime import pick_device
from nasbench_cli.spaces import create_space


def load_batch(data_dir: Path | None, size: int, device: torch.device) -> tuple[torch.Tensor, str]:
    """A CIFAR-10 training batch when the data is there, else a synthetic one."""
    from nasbench_cli.datasets import get_dataset, make_batch

    name = "cifar10" if data_dir and (data_dir / "cifar-10-batches-py").exists() else "synthetic"
    batch = make_batch(get_dataset(name), data_dir or Path("."), size, seed=0, device=device)
    return batch.inputs, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    device = pick_device(args.device)
    data_dir = args.data_dir if args.data_dir.exists() else None
    space = create_space("nb201", data_dir)
    indices = space.sample(np.random.default_rng(args.seed), args.n)
    inputs, source = load_batch(data_dir, args.batch_size, device)
    spec = PROXIES.get("naswot")
    ctx = ProxyContext(num_classes=1, device=device)
    batch = Batch(inputs, torch.zeros(len(inputs), dtype=torch.long, device=device))

    ours_s, ref_s, max_diff, equal = 0.0, 0.0, 0.0, 0
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for index in indices:
        torch.manual_seed(index)
        net = space.build(index, num_classes=1).to(device)
        # alternate which runs first so cache warmth does not favour one side
        for which in ((0, 1) if index % 2 else (1, 0)):
            sync()
            t0 = time.perf_counter()
            if which == 0:
                ours = spec.fn(net, batch, ctx)
            else:
                ref = two_pass_score(net, inputs)
            sync()
            if which == 0:
                ours_s += time.perf_counter() - t0
            else:
                ref_s += time.perf_counter() - t0
        equal += ours == ref
        if np.isfinite(ours) and np.isfinite(ref):
            max_diff = max(max_diff, abs(ours - ref))
        elif ours != ref:
            max_diff = float("inf")

    n = len(indices)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch_size} ({source}), "
          f"{n} NB201 architectures")
    print(f"nasbench one-pass : {ours_s / n:.3f} s/arch")
    print(f"authors' two-pass : {ref_s / n:.3f} s/arch")
    print(f"speed-up          : {ref_s / ours_s:.2f}x")
    print(f"identical scores  : {equal}/{n}; largest |difference| {max_diff:.3g}")


if __name__ == "__main__":
    main()
