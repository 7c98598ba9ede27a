"""Committed results are never replaced by a smaller run (issue 31 item 1).

Every `make` target that writes under results/ writes a quick (default-scale) run under
results/local/ (git-ignored, and skipped by `nasbench report`) and the tables of record only with
FULL=1. Checked on a clone of the working tree: the targets' dry runs (`make -n`) for the paths
they write, and real runs of the one table target that needs no scoring (`paper-kendall`), after
which `git status` must stay clean. Every committed sidecar records a clean commit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from nasbench_cli.workflows.report import find_csvs

ROOT = Path(__file__).resolve().parents[1]

#: every target that runs something and writes its tables under results/
RUN_TARGETS = ("demo", "kendall", "zerocost", "zerocost-augment", "paper-kendall", "table-nb201", "table-nb101",
               "table-predict")

# how the recipes name what they write: --out FILE, > FILE, mkdir -p DIR, a table script's output,
# and the zero-cost loops' stem (their files are $stem.csv, $stem.correlation.csv, $stem-scores.csv)
_WRITES = (r"--out\s+(\S+)", r"\s>\s*([^\s&]\S*)", r"mkdir -p\s+(\S+)",
           r"paper_table\.py\s+(?:search|kendall)\s+(\S+)", r"predict_readme\.py\s+(\S+)", r"stem=(\S+?)(?:\s|$)")


def _tracked() -> List[str]:
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return [name for name in listed.stdout.decode().split("\0") if name]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The working tree's tracked files, committed in a fresh repository, with a stand-in .venv
    (this interpreter, this checkout's package) so that `make` installs nothing."""
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("make and git are needed to run the Makefile's targets")
    files = _tracked()
    if not files:
        pytest.skip("not a git checkout: no tracked files to clone")
    repo = tmp_path_factory.mktemp("clone")
    for name in files:
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree but not yet in the index
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "clone")
    venv = repo / ".venv" / "bin"  # .venv is git-ignored
    venv.mkdir(parents=True)
    (venv / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "nasbench").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nasbench_cli "$@"\n')
    for script in venv.iterdir():
        script.chmod(0o755)
    (repo / ".venv" / ".installed").touch()  # newer than pyproject.toml: `install` has nothing to do
    assert _git(repo, "status", "--porcelain") == ""
    return repo


def _make(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    env.pop("NASBENCH_DATA", None)
    done = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "DATA_DIR=", *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _written(dry_run: str) -> List[str]:
    text = dry_run.replace("\\\n", " ")  # a recipe's continued lines are one command
    found = []
    for pattern in _WRITES:
        found.extend(match.strip("\"'") for match in re.findall(pattern, text, flags=re.MULTILINE))
    return found


@pytest.mark.parametrize("target", RUN_TARGETS)
def test_a_quick_run_writes_only_under_results_local(clone, target):
    written = _written(_make(clone, "-n", target).stdout)
    assert written, f"make -n {target} names no output"
    committed = [path for path in written if path.startswith("results/") and not path.startswith("results/local/")]
    assert committed == [], f"make {target} (quick) would write the tables of record: {committed}"


@pytest.mark.parametrize("target, expected", [
    ("kendall", "results/kendall/nb201-$d.csv"),
    ("zerocost", "results/zerocost/nb201-$d$(["),  # the stem, up to the shell's test
    ("table-nb201", "results/table-nb201.csv"),
    ("table-predict", "results/predict/nb201-cifar10-zc.csv"),
    ("paper-kendall", "results/kendall.csv"),
])
def test_full_scale_writes_the_tables_of_record(clone, target, expected):
    dry_run = _make(clone, "-n", target, "FULL=1").stdout
    assert expected in _written(dry_run)
    if target == "table-nb201":
        assert "--n $n --runs 500" in dry_run and "for n in 10 100 1000;" in dry_run  # the paper's scale


def test_table_predict_reads_the_committed_scores_at_every_scale(clone):
    dry_run = _make(clone, "-n", "table-predict").stdout
    assert "--scores results/kendall/nb201-cifar10-scores.csv" in dry_run
    assert "--trials 3" in dry_run  # quick: seconds, not the committed 20 trials


def test_the_committed_kendall_table_regenerates_byte_identically(clone):
    committed = (clone / "results" / "kendall.csv").read_bytes()
    (clone / "results" / "kendall.csv").write_bytes(b"stale\n")  # so that an unwritten file shows
    done = _make(clone, "paper-kendall", "FULL=1")
    assert "wrote results/kendall.csv" in done.stderr
    assert (clone / "results" / "kendall.csv").read_bytes() == committed
    assert _git(clone, "status", "--porcelain") == ""


def test_a_quick_table_run_leaves_git_status_clean(clone):
    local = clone / "results" / "local" / "kendall"
    local.mkdir(parents=True, exist_ok=True)  # what a quick `make kendall` leaves before its table
    shutil.copy(clone / "results" / "kendall" / "nb201-cifar10.correlation.csv", local)
    try:
        done = _make(clone, "paper-kendall")
        assert "wrote results/local/kendall.csv" in done.stderr
        assert (clone / "results" / "local" / "kendall.csv").is_file()
        assert _git(clone, "status", "--porcelain") == ""
    finally:
        shutil.rmtree(clone / "results" / "local")


def test_a_quick_table_without_inputs_says_what_to_run(clone):
    done = _make(clone, "paper-kendall", check=False)
    assert done.returncode != 0
    assert "no correlation CSV under results/local/" in done.stderr and "FULL=1" in done.stderr
    assert _git(clone, "status", "--porcelain") == ""


def test_the_report_leaves_out_quick_runs(tmp_path):
    committed = tmp_path / "results" / "kendall"
    committed.mkdir(parents=True)
    (committed / "scores.csv").write_text("index,naswot,cifar10/ori-test@200\n0,1.0,90.0\n")
    demo = tmp_path / "results" / "local" / "demo"
    demo.mkdir(parents=True)
    (demo / "nb201-cifar10-naswot-n300-seed0.csv").write_text("index,naswot,cifar10/ori-test@200\n0,1.0,90.0\n")
    found = find_csvs(tmp_path / "results")
    assert found.scores == [Path("kendall/scores.csv")]
    assert find_csvs(tmp_path / "results" / "local").scores == [Path("demo/nb201-cifar10-naswot-n300-seed0.csv")]


def test_no_committed_sidecar_records_a_dirty_commit():
    sidecars = [name for name in _tracked() if name.startswith("results/") and name.endswith(".provenance.json")]
    if not sidecars:
        pytest.skip("not a git checkout: no committed results to check")
    dirty = []
    for name in sidecars:
        commit = json.loads((ROOT / name).read_text(encoding="utf-8")).get("git_commit") or ""
        if commit.endswith("+dirty"):
            dirty.append(f"{name} ({commit})")
    assert dirty == [], "results computed from code no commit holds; regenerate them from a clean commit: " + \
        ", ".join(dirty)


def test_rewritten_results_do_not_make_the_commit_dirty_but_changed_code_does(tmp_path):
    from nasbench_cli.provenance import commit_of

    if shutil.which("git") is None:
        pytest.skip("git is needed")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.csv").write_text("a\n1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "c")
    head = _git(tmp_path, "rev-parse", "HEAD").strip()
    assert commit_of(tmp_path) == head
    (tmp_path / "results" / "table.csv").write_text("a\n2\n")  # a table regenerated in place
    assert commit_of(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert commit_of(tmp_path) == head + "+dirty"
