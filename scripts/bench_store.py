#!/usr/bin/env python
"""Seconds for 500 NASWOT(N=100) runs on NB201 over a score store pre-filled with fake scores.

The store gets a random score for each of the 15,625 architectures (one transaction), then
`nasbench search --algo naswot` runs in-process on the NB201 ground truth; no network is built.
Usage: python scripts/bench_store.py [--data-dir ../shared/data] [--runs 500] [--n 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import nasbench_cli
from nasbench_cli.commands.search import search
from nasbench_cli.proxies import PROXIES
from nasbench_cli.scoring import ScoreSettings, score_context
from nasbench_cli.spaces import create_space
from nasbench_cli.store import ScoreStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data-dir", type=Path, default=default_data)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    if not (args.data_dir / "nb201" / "ground_truth.csv").is_file():
        print(f"no NB201 ground truth under {args.data_dir}", file=sys.stderr)
        return 1

    space = create_space("nb201", args.data_dir)
    spec = PROXIES.get("naswot")
    context = score_context(spec, ScoreSettings("nb201", "cifar10", ("naswot",), 0, None, "auto", "train"))
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "scores.sqlite"
        rng = np.random.default_rng(0)
        values = rng.normal(1500.0, 50.0, size=len(space))
        start = time.perf_counter()
        with ScoreStore(store_path) as store:
            store.put_many(context, [(i, float(values[i]), 0.5, None, space.arch_str(i))
                                     for i in range(len(space))])
        fill = time.perf_counter() - start
        out = Path(tmp) / "runs.csv"
        start = time.perf_counter()
        result = CliRunner().invoke(search, [
            "--algo", "naswot", "--space", "nb201", "--dataset", "cifar10", "--runs", str(args.runs),
            "--n", str(args.n), "--data-dir", str(args.data_dir), "--store", str(store_path),
            "--out", str(out), "--quiet"], catch_exceptions=False)
        seconds = time.perf_counter() - start
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        rows = len(out.read_text().splitlines()) - 1
    print(f"nasbench {nasbench_cli.__version__}: filled {len(space)} fake scores in {fill:.2f} s; "
          f"{rows} NASWOT(N={args.n}) runs over the store took {seconds:.2f} s "
          f"(whole command: ground truth, store read, runs, CSVs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
