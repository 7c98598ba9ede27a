#!/usr/bin/env python3
"""Seconds per architecture of NASWOT scoring on NB201: this toolkit vs the authors' two-pass loop.

Both run in the same process on the same architectures, weights and batch, in a rotating order
so machine load and cache warmth do not favour one side. Prints both timings, their ratio, the
largest score difference, the bare forward pass of the same nets and where the time goes.

The ratio compares the proxy call alone on an already built network, for both sides: the
scoring engine still builds each net and hands each proxy a deep copy, which would add the same
construction and deepcopy times (shown in the breakdown) to both.

    python scripts/bench_naswot.py --n 30 --batch-size 128 [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies.naswot import binary_codes, code_gram, is_relu, kernel_from_gram, logdet
from nasbench_cli.reference.naswot import two_pass_score
from nasbench_cli.runtime import pick_device
from nasbench_cli.spaces import create_space


def load_batch(data_dir: Path | None, size: int, device: torch.device) -> tuple[torch.Tensor, str]:
    """A CIFAR-10 training batch when the data is there, else a synthetic one."""
    from nasbench_cli.datasets import get_dataset, make_batch

    name = "cifar10" if data_dir and (data_dir / "cifar-10-batches-py").exists() else "synthetic"
    batch = make_batch(get_dataset(name), data_dir or Path("."), size, seed=0, device=device)
    return batch.inputs, name


def bare_forward(net: nn.Module, inputs: torch.Tensor) -> None:
    """``model(x)`` in train mode without autograd: the floor any scoring pays."""
    net.train()
    with torch.no_grad():
        net(inputs)


def recording_forward(net: nn.Module, inputs: torch.Tensor, relu_inputs: List[torch.Tensor]) -> None:
    """The forward with an autograd graph (input requires grad, as the authors do), keeping
    each ReLU call's input for the GEMM timing (the graph keeps them alive anyway)."""
    net.train()
    handles = [m.register_forward_hook(lambda _m, args, _o: relu_inputs.append(args[0]))
               for m in net.modules() if is_relu(m)]
    try:
        net(inputs.clone().requires_grad_(True))
    finally:
        for handle in handles:
            handle.remove()


def float32_gram(codes: torch.Tensor) -> torch.Tensor:
    """c c^T in float32, the previous kernel GEMM, for comparison."""
    as_float = codes.float()
    return as_float @ as_float.T


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> tuple[float, object]:
    sync()
    start = time.perf_counter()
    value = fn()
    sync()
    return time.perf_counter() - start, value


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
    fast_ctx = ProxyContext(num_classes=1, device=device, relus_on_path=space.relus_on_path)
    walk_ctx = ProxyContext(num_classes=1, device=device, relus_on_path=False)
    batch = Batch(inputs, torch.zeros(len(inputs), dtype=torch.long, device=device))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    load_before = os.getloadavg()

    seconds: Dict[str, float] = defaultdict(float)
    calls: Dict[str, int] = defaultdict(int)
    equal, walk_equal, max_diff = 0, 0, 0.0
    for position, index in enumerate(indices):
        torch.manual_seed(index)
        t, net = timed(lambda: space.build(index, num_classes=1).to(device), sync)
        seconds["build"] += t
        seconds["deepcopy"] += timed(lambda: copy.deepcopy(net), sync)[0]
        relu_inputs: List[torch.Tensor] = []
        runs = {
            "ours": lambda: spec.fn(net, batch, fast_ctx),
            "walk": lambda: spec.fn(net, batch, walk_ctx),
            "ref": lambda: two_pass_score(net, inputs),
            "bare": lambda: bare_forward(net, inputs),
            "graph": lambda: recording_forward(net, inputs, relu_inputs),
        }
        # rotate the order so each run takes each position equally often
        names = list(runs)
        shift = position % len(names)
        values = {}
        for name in names[shift:] + names[:shift]:
            t, values[name] = timed(runs[name], sync)
            seconds[name] += t
        ours, walk, ref = values["ours"], values["walk"], values["ref"]
        equal += ours == ref
        walk_equal += walk == ref
        if np.isfinite(ours) and np.isfinite(ref):
            max_diff = max(max_diff, abs(ours - ref))
        elif ours != ref:
            max_diff = float("inf")

        # ReLUs reading the same tensor share one Gram matrix, as in the proxy
        distinct = list({id(x): x for x in relu_inputs}.values())
        calls["relu"] += len(relu_inputs)
        calls["distinct"] += len(distinct)
        t, codes = timed(lambda: [binary_codes(x) for x in distinct], sync)
        seconds["codes"] += t
        t, grams = timed(lambda: [code_gram(c) for c in codes], sync)
        seconds["gemm"] += t
        seconds["gemm_f32"] += timed(lambda: [float32_gram(c) for c in codes], sync)[0]
        kernel = kernel_from_gram(sum(grams), sum(c.shape[1] for c in codes)).cpu().numpy()
        seconds["slogdet"] += timed(lambda: logdet(kernel), sync)[0]
        del relu_inputs, distinct, codes, grams

    report(seconds, calls, len(indices), equal, walk_equal, max_diff,
           f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch_size} ({source})",
           load_before, space.relus_on_path)


def report(seconds: Dict[str, float], calls: Dict[str, int], n: int, equal: int, walk_equal: int, max_diff: float,
           setup: str, load_before: tuple, relus_on_path: bool) -> None:
    """Print the timings per architecture, the ratios and where the time goes."""
    per = {name: total / n for name, total in seconds.items()}
    load_after = os.getloadavg()
    print(f"{setup}, {n} NB201 architectures; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores)")
    print(f"nasbench one-pass : {per['ours']:.3f} s/arch (relus_on_path={relus_on_path}: no autograd graph)")
    print(f"  with graph walk : {per['walk']:.3f} s/arch (spaces without relus_on_path)")
    print(f"authors' two-pass : {per['ref']:.3f} s/arch")
    print(f"speed-up          : {per['ref'] / per['ours']:.2f}x (graph walk {per['ref'] / per['walk']:.2f}x)")
    print(f"identical scores  : {equal}/{n}; largest |difference| {max_diff:.3g} (graph walk {walk_equal}/{n})")
    print(f"bare forward pass : {per['bare']:.3f} s/arch")
    print(f"scoring / forward : {per['ours'] / per['bare']:.2f} x")
    print("where the time goes (s/arch; the ratios above time the proxy call on a built net):")
    print(f"  forward pass (no autograd)   : {per['bare']:.3f}")
    print(f"  autograd graph recording     : {per['graph'] - per['bare']:+.3f} (forward with graph {per['graph']:.3f})")
    print(f"  ReLU codes (x > 0)           : {per['codes']:.3f} ({calls['distinct'] / n:.0f} distinct inputs "
          f"of {calls['relu'] / n:.0f} ReLU calls per arch)")
    print(f"  kernel GEMMs c c^T           : {per['gemm']:.3f} (int8; float32 GEMMs: {per['gemm_f32']:.3f})")
    print(f"  slogdet                      : {per['slogdet']:.4f}")
    print(f"  network construction         : {per['build']:.3f}")
    print(f"  deepcopy                     : {per['deepcopy']:.3f}")


if __name__ == "__main__":
    main()
