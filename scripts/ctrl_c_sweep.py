"""Ctrl-C at random moments of a local-worker run: how many print a traceback.

SIGINT goes to the whole process group (as a terminal's Ctrl-C does) after a delay drawn from a
seeded uniform; each run is a 40-network `score` on synthetic data with two local workers. The
tests hit chosen moments deterministically (tests/test_interrupts.py); this sweep finds the moments
nobody chose, which only show under load.

    python scripts/ctrl_c_sweep.py --runs 30 --seed 1
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _terminal_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_run(work: Path, delay: float) -> subprocess.CompletedProcess:
    """One interrupted run; its exit status and stderr."""
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "params", "--n", "40", "--seed", "0",
            "--data-dir", str(work / "data"), "--no-store", "--no-timing", "--out", str(work / "out.csv"),
            "--executor", "local", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "NASBENCH_PROGRESS": "0"}
    process = subprocess.Popen([sys.executable, "-m", "nasbench_cli", *args], preexec_fn=_terminal_sigint, cwd=work,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    time.sleep(delay)
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=7.0)
    options = parser.parse_args()
    draws = random.Random(options.seed)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(options.runs):
            work = Path(tmp) / str(run)
            work.mkdir()
            delay = draws.uniform(0.3, options.max_delay)
            done = one_run(work, delay)
            traceback = "Traceback" in done.stderr or "KeyboardInterrupt" in done.stderr
            bad += traceback
            print(f"run {run}: Ctrl-C at {delay:.2f} s -> exit {done.returncode}, traceback: {traceback}", flush=True)
            if traceback:
                print(done.stderr, flush=True)
    print(f"{bad} of {options.runs} runs printed a traceback")


if __name__ == "__main__":
    main()
