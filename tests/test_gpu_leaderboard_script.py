"""scripts/gpu_leaderboard.sh (the leaderboard's GPU run in one command) and
scripts/leaderboard_cost.py, exercised on the CPU with two cheap proxies: the device time of a
session that gets a GPU is too short to find a broken script there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_leaderboard_script_times_projects_and_scores_the_costly_proxy_with_seeds(tmp_path):
    out = tmp_path / "gpu"
    env = {**os.environ, "DEVICE": "cpu", "N": "1", "PROXIES": "naswot,synflow", "COSTLY": "synflow",
           "SEEDS": "0,1", "SUBSET_N": "3", "OUT_DIR": str(out), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_leaderboard.sh"), str(shared_data_dir())],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    timing = pd.read_csv(out / "timing-cpu.csv")
    assert sorted(timing["proxy"]) == ["naswot", "synflow"] and (timing["seconds"] > 0).all()
    cost = (out / "cost.md").read_text()
    synflow = next(line for line in cost.splitlines() if line.startswith("| synflow"))
    assert synflow.split("|")[2].strip() == "200"  # the costly proxy is planned on the subset
    assert "the goal (under 2 h)" in cost
    seeds = pd.read_csv(out / "costly-seeds.csv")
    assert len(seeds) == 3 and {"synflow@seed0", "synflow@seed1"} <= set(seeds.columns)
    stored = pd.read_csv(out / "synflow-store.csv")
    assert len(stored) == 6 and sorted(stored["seed"].unique()) == [0, 1]


def test_leaderboard_cost_plans_the_subset_and_refuses_a_bad_csv(tmp_path):
    timing = tmp_path / "t.csv"
    timing.write_text("proxy,seconds\nntk,36.0\nnaswot,0.36\n")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "leaderboard_cost.py"), str(timing),
                           "--processes", "2"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # ntk: 36 s x 200 = 2 h; naswot: 0.36 s x 1,000 = 0.1 h; 2.1 process-hours on 2 processes
    assert "| ntk " in done.stdout and "2.00" in done.stdout and "0.10" in done.stdout
    assert "2.10 process-hours, about 1.05 h on 2" in done.stdout and "**met**" in done.stdout
    timing.write_text("proxy,secs\nntk,1\n")
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "leaderboard_cost.py"), str(timing)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("Error:") and "proxy,seconds" in bad.stderr
    assert "Traceback" not in bad.stderr
