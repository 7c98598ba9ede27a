"""No command writes over one of its own inputs, and an unwritable --out fails before any work."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import toy_space
from nasbench_cli.cli import main


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def scored(tmp_path):
    """A toy data dir with a ground-truth table, a store and a score CSV."""
    truth = toy_space.write_ground_truth(tmp_path)
    store = tmp_path / "s.sqlite"
    out = tmp_path / "scores.csv"
    result = _run(["score", "--space", "toy", "--dataset", "synthetic", "--n", 3, "--batch-size", 8, "--quiet",
                   "--data-dir", tmp_path, "--store", store, "--out", out, "--executor", "sequential"])
    assert result.exit_code == 0, result.output
    return tmp_path, truth, store, out


SCORE = ["score", "--space", "toy", "--dataset", "synthetic", "--n", 3, "--batch-size", 8, "--quiet",
         "--executor", "sequential"]


@pytest.mark.parametrize("victim", ["store", "truth", "archs"])
def test_score_refuses_to_write_over_its_inputs(scored, victim):
    tmp, truth, store, _ = scored
    archs = tmp / "archs.txt"
    archs.write_text("0\n1\n")
    target = {"store": store, "truth": truth, "archs": archs}[victim]
    before = _digest(target)
    extra = ["--archs", archs] if victim == "archs" else ["--n", 3]
    args = [a for a in SCORE if a not in ("--n", 3)] + extra
    result = _run([*args, "--data-dir", tmp, "--store", store, "--out", target])
    assert result.exit_code == 2 and "input of this run" in result.output and "Traceback" not in result.output
    assert _digest(target) == before


def test_search_refuses_its_store_and_table(scored):
    tmp, truth, store, _ = scored
    for target in (store, truth):
        before = _digest(target)
        result = _run(["search", "--algo", "rea", "--space", "toy", "--dataset", "synthetic", "--runs", 2,
                       "--budget", "20q", "--quiet", "--data-dir", tmp, "--store", store, "--out", target])
        assert result.exit_code == 2 and "input of this run" in result.output
        assert _digest(target) == before


def test_correlate_refuses_its_own_input(scored):
    _, _, _, out = scored
    before = _digest(out)
    result = _run(["correlate", out, "--out", out])
    assert result.exit_code == 2 and "input of this run" in result.output
    assert _digest(out) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_out_fails_before_scoring(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    result = _run([*SCORE, "--no-store", "--out", folder / "x.csv"])
    assert result.exit_code == 2 and "cannot write" in result.output


def test_out_under_a_file_or_onto_a_directory_is_a_one_line_error(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    for out, words in ((plain / "x.csv", "is a file"), (tmp_path, "is a directory")):
        result = _run([*SCORE, "--no-store", "--out", out])
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_score_refuses_to_write_over_a_cifar_batch(tmp_path):
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar-10-batches-py"
    if not shared.is_dir():
        pytest.skip(f"needs the shared CIFAR-10 subset at {shared}")
    (tmp_path / "cifar-10-batches-py").symlink_to(shared)
    batch = shared / "data_batch_1"
    before = _digest(batch)
    result = _run(["score", "--space", "nb201", "--n", 1, "--batch-size", 8, "--no-store", "--quiet",
                   "--data-dir", tmp_path, "--out", tmp_path / "cifar-10-batches-py" / "data_batch_1"])
    assert result.exit_code == 2 and "input of this run" in result.output
    assert _digest(batch) == before


@pytest.mark.parametrize("args", [
    ["score", "--space", "nb201", "--seed", str(2**63), "--no-store"],
    ["score", "--space", "nb201", "--seed", "-1", "--no-store"],
    ["search", "--algo", "random", "--space", "nb201", "--seed", str(2**64), "--no-store"],
    ["correlate", "x.csv", "--seed", "-1"],
])
def test_seeds_outside_what_the_store_and_numpy_hold_are_usage_errors(args):
    result = _run(args)
    assert result.exit_code == 2 and "--seed" in result.output and "Traceback" not in result.output


def test_score_refuses_a_ground_truth_table_of_another_space(tmp_path):
    truth = toy_space.write_ground_truth(tmp_path)  # toy arch strings, indices 0..35
    result = _run(["score", "--space", "nb201", "--dataset", "synthetic", "--n", 2, "--batch-size", 8, "--no-store",
                   "--quiet", "--ground-truth", truth, "--out", tmp_path / "x.csv"])
    assert result.exit_code == 1 and "disagree" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()  # nothing written
