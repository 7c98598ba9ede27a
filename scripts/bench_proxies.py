#!/usr/bin/env python3
"""Seconds per architecture of every proxy on N random NB201 architectures (CPU by default).

Each proxy gets its own freshly built network, as the scoring loop builds it for that proxy (BN or
not, head width, ``build_options``, dtype) and its reference batch size; only the proxy call is
timed, network construction is not. Prints one table row per proxy. The first architecture is run once untimed (warm-up).

    python scripts/bench_proxies.py --n 10 [--proxies grad_norm,snip] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.runtime import pick_device
from nasbench_cli.spaces import create_space

DTYPES = {"float32": torch.float32, "float64": torch.float64}
NUM_CLASSES = 10  # CIFAR-10


def load_batch(data_dir: Optional[Path], size: int, device: torch.device) -> tuple:
    """A CIFAR-10 training batch when the data is there, else a synthetic one."""
    from nasbench_cli.datasets import get_dataset, make_batch

    name = "cifar10" if data_dir and (data_dir / "cifar-10-batches-py").exists() else "synthetic"
    batch = make_batch(get_dataset(name), data_dir or Path("."), size, seed=0, device=device)
    return batch, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="architectures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxies", default="", help="comma-separated names (default: all)")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-warmup", action="store_true", help="time the very first calls too")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    data_dir = args.data_dir if args.data_dir.exists() else None
    space = create_space("nb201", data_dir)
    indices = space.sample(np.random.default_rng(args.seed), args.n)
    names = [n for n in args.proxies.split(",") if n] or PROXIES.names()
    specs = [PROXIES.get(n) for n in names]
    largest = max((s.batch_size or 64) for s in specs)
    full, source = load_batch(data_dir, largest, device)

    times: Dict[str, List[float]] = {s.name: [] for s in specs}
    values: Dict[str, List[float]] = {s.name: [] for s in specs}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    # one untimed pass over the first architecture first: lazy initialisation is not a proxy's cost
    runs = ([] if args.no_warmup else [(indices[0], False)]) + [(i, True) for i in indices]
    for index, timed in runs:
        for spec in specs:
            classes = 1 if spec.head == "one" else NUM_CLASSES
            torch.manual_seed(args.seed * 100_003 + index)
            net = space.build(index, classes, bn=spec.bn, **dict(spec.build_options))
            dtype = DTYPES[spec.dtype]
            net = net.to(device, dtype).train()
            size = spec.batch_size or 64
            batch = Batch(full.inputs[:size].to(dtype), full.targets[:size])
            ctx = ProxyContext(num_classes=classes, device=device, seed=args.seed,
                               input_shape=tuple(full.inputs.shape[1:]))
            sync()
            t0 = time.perf_counter()
            value = spec.fn(net, batch, ctx)
            sync()
            if timed:
                times[spec.name].append(time.perf_counter() - t0)
                values[spec.name].append(value)

    print(f"device {device}, torch threads {torch.get_num_threads()}, {len(indices)} NB201 architectures, "
          f"batch from {source}")
    header = f"{'proxy':<15} {'batch':>5} {'mean s':>8} {'median s':>9} {'max s':>8}  {'median value':>14}"
    print(header)
    print("-" * len(header))
    for spec in specs:
        t = times[spec.name]
        batch_text = str(spec.batch_size) if spec.needs_data else "-"
        finite = [v for v in values[spec.name] if np.isfinite(v)]
        median_value = f"{statistics.median(finite):.4g}" if finite else "nan"
        print(f"{spec.name:<15} {batch_text:>5} {statistics.mean(t):8.3f} {statistics.median(t):9.3f} "
              f"{max(t):8.3f}  {median_value:>14}")
    total = sum(statistics.mean(t) for t in times.values())
    print(f"{'all':<15} {'':>5} {total:8.3f}")


if __name__ == "__main__":
    main()
