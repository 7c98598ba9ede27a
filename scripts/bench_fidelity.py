#!/usr/bin/env python3
"""Rank correlations of the reference-protocol proxies on NB201 CIFAR-10, through the CLI.

Runs ``nasbench score`` then ``nasbench correlate`` for each measurement and prints, per run, the
exact commands, Kendall tau / Spearman rho with their 95% bootstrap intervals and the seconds the
scoring took (the engine's seconds from the provenance, and the command's wall time):

- ``linear_regions`` (TE-NAS's single cell, one-channel crops, mean of 3 inits) and the earlier
  whole-network ``linear_regions_net``: published Kendall tau 0.50;
- ``ntk`` with its defaults (3 inits, batch 72, full network), and on TE-NAS's C=3, N=1 network
  (``ntk_tenas``): published tau -0.42;
- ``fisher`` on the official network and with ``--network-variant zc``: the zero-cost paper's
  Spearman rho 0.36 was computed on the zc network.

Also prints the share of NB201 cells in which a convolution reads an all-zero node (the nets whose
zc fisher is inflated). Scores go to one store, so a rerun reuses them (seconds are then those of
the stored scores, summed from the CSV's ``seconds`` column).

    OMP_NUM_THREADS=1 python scripts/bench_fidelity.py --workdir /tmp/fidelity \\
        [--n 300] [--ntk-n 100] [--runs lr,lr_net,fisher,fisher_zc,ntk,ntk_tenas]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

TARGET = "cifar10/ori-test@200"
#: run name -> (proxy, n argument name, extra score options, published value, statistic)
RUNS: Dict[str, Tuple[str, str, Tuple[str, ...], str, str]] = {
    "lr": ("linear_regions", "n", (), "tau 0.50 (TE-NAS)", "kendall"),
    "lr_net": ("linear_regions_net", "n", (), "tau 0.50 (TE-NAS; the earlier counter)", "kendall"),
    "fisher": ("fisher", "n", (), "rho 0.36 (zero-cost, on its zc network)", "spearman"),
    "fisher_zc": ("fisher", "n", ("--network-variant", "zc"), "rho 0.36 (zero-cost)", "spearman"),
    "ntk": ("ntk", "ntk_n", (), "tau -0.42 (TE-NAS)", "kendall"),
    "ntk_tenas": ("ntk", "ntk_n", ("--proxy-option", "ntk.network=tenas"), "tau -0.42 (TE-NAS)", "kendall"),
}


def zero_read_share() -> Tuple[int, int]:
    """NB201 cells in which a nor_conv edge reads an all-zero node, and all cells."""
    from nasbench_cli.models.nb201 import OP_NAMES

    edges = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
    hits = total = 0
    for ops in itertools.product(OP_NAMES, repeat=6):
        zero = {0: False}
        hit = False
        for node in (1, 2, 3):
            into = [(src, ops[edges.index((node, src))]) for src in range(node)]
            hit |= any(zero[src] and op.startswith("nor_conv") for src, op in into)
            zero[node] = all(op == "none" or zero[src] for src, op in into)
        hits += hit
        total += 1
    return hits, total


def nasbench() -> List[str]:
    """The CLI of this interpreter's environment."""
    return [sys.executable, "-m", "nasbench_cli"]


def run(cmd: List[str]) -> float:
    """Run ``cmd`` (its output shown), return its wall seconds; exit on failure."""
    print("$ " + " ".join(shlex.quote(c) for c in ["nasbench", *cmd[3:]]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd)
    if done.returncode != 0:
        sys.exit(f"command failed with exit code {done.returncode}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="CSVs, correlations and the store go here")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--n", type=int, default=300, help="architectures for linear_regions and fisher")
    parser.add_argument("--ntk-n", type=int, default=100, help="architectures for ntk (about 2 min each on one core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated subset of {','.join(RUNS)}")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / "scores.sqlite"
    summary = []
    for name in [r for r in args.runs.split(",") if r]:
        proxy, n_arg, extra, published, stat = RUNS[name]
        n = getattr(args, n_arg)
        out = args.workdir / f"{name}-n{n}.csv"
        corr = args.workdir / f"{name}-n{n}.correlation.csv"
        score_cmd = [*nasbench(), "score", "--space", "nb201", "--dataset", "cifar10", "--proxy", proxy,
                     "--n", str(n), "--seed", str(args.seed), "--data-dir", str(args.data_dir), "--store", str(store),
                     "--device", "cpu", "--executor", "sequential", "--quiet", *extra, "--out", str(out)]
        wall = run(score_cmd)
        run([*nasbench(), "correlate", str(out), "--target", TARGET, "--bootstrap", str(args.bootstrap),
             "--seed", str(args.seed), "--out", str(corr)])
        record = json.loads(Path(f"{out}.provenance.json").read_text())
        with out.open(newline="") as handle:
            seconds = sum(float(row["seconds"]) for row in csv.DictReader(handle))
        with corr.open(newline="") as handle:
            row = next(r for r in csv.DictReader(handle) if r["score"] == proxy)
        summary.append((name, proxy, " ".join(extra), int(row["n"]),
                        f"tau {float(row['kendall_tau']):+.3f} [{float(row['kendall_lo']):+.3f}, "
                        f"{float(row['kendall_hi']):+.3f}]",
                        f"rho {float(row['spearman_rho']):+.3f} [{float(row['spearman_lo']):+.3f}, "
                        f"{float(row['spearman_hi']):+.3f}]",
                        published, seconds, wall, record.get("computed_scores")))

    hits, total = zero_read_share()
    print(f"\nNB201 cells with a convolution reading an all-zero node: {hits}/{total} ({100 * hits / total:.1f}%)")
    print(f"target {TARGET}, seed {args.seed}, bootstrap {args.bootstrap}, data {args.data_dir}\n")
    print("| run | proxy | options | n | Kendall tau [95%] | Spearman rho [95%] | published | score s (sum) | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, proxy, extra, n, tau, rho, published, seconds, wall, _ in summary:
        print(f"| {name} | {proxy} | {extra or '-'} | {n} | {tau} | {rho} | {published} | {seconds:.0f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
