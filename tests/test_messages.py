"""Messages and console manners (issue 24 item 7): a wrong data directory is named, a partial
CIFAR-10 is announced, progress bars stay out of logs, a closed pipe is not an error, bare
`nasbench` shows its help, shell completion knows the registered names, numbers are right-aligned
in markdown/LaTeX tables, and `correlate --format csv` prints the schema of its --out CSV."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from nasbench_cli.analysis.tables import render_table
from nasbench_cli.cli import main
from nasbench_cli.datasets import get_dataset
from nasbench_cli.errors import DataMissingError, NasbenchError

ROOT = Path(__file__).resolve().parents[1]
ACC = "cifar10/ori-test@200"


def _errors(output: str):
    return [line for line in output.splitlines() if "Error" in line]


def _write_cifar(path: Path, n: int, seed: int = 0) -> None:
    """An official-style CIFAR-10 batch of ``n`` images (bytes keys, protocol 2)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {b"batch_label": b"batch", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": [int(x) for x in rng.integers(0, 10, n)]}
    path.write_bytes(pickle.dumps(entry, protocol=2))


def _score_csv(path: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(0)
    acc = np.round(rng.uniform(80, 95, n), 2)
    frame = pd.DataFrame({"index": np.arange(n), "arch": [f"a{i}" for i in range(n)],
                          "naswot": acc + rng.normal(0, 2, n), "synflow": rng.normal(0, 1, n), ACC: acc})
    frame.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ a wrong data directory
def test_a_data_dir_that_does_not_exist_is_named_with_the_fix(tmp_path):
    missing = tmp_path / "no-such-dir"
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "cifar10", "--proxy", "params",
                                       "--n", "2", "--no-store", "--quiet", "--executor", "sequential",
                                       "--data-dir", str(missing), "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 1, result.output
    errors = _errors(result.output)
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert str(missing) in errors[0] and "does not exist" in errors[0]
    assert f"nasbench data download cifar10 --data-dir {missing}" in errors[0]


def test_a_data_dir_without_the_cifar_folder_names_the_full_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataMissingError) as err:
        get_dataset("cifar10").load(Path("."), "train")
    message = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in message
    assert f"--data-dir {tmp_path}" in message and "into ." not in message
    assert "\n" not in message


def test_open_space_fails_at_once_on_a_missing_data_dir(tmp_path, monkeypatch):
    from nasbench_cli.api import open_space

    missing = tmp_path / "typo"
    with pytest.raises(DataMissingError, match="does not exist") as err:
        open_space("nb201", data_dir=missing)
    assert isinstance(err.value, NasbenchError) and str(missing) in str(err.value)
    assert "data_dir=" in str(err.value)
    monkeypatch.setenv("NASBENCH_DATA", str(missing))
    with pytest.raises(DataMissingError, match=r"\$NASBENCH_DATA"):
        open_space("nb201")
    assert open_space("nb201", data_dir=tmp_path).data_dir == tmp_path  # an existing one is fine


# ------------------------------------------------------------------ a partial CIFAR-10
def test_a_partial_cifar10_is_announced_once_and_recorded(tmp_path):
    data = tmp_path / "partial"
    _write_cifar(data / "cifar-10-batches-py" / "data_batch_1", 20)
    _write_cifar(data / "cifar-10-batches-py" / "test_batch", 10, seed=1)
    result = CliRunner().invoke(main, ["data", "download", "cifar10", "--if-missing", "--quiet",
                                       "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "official" in line]
    assert len(lines) == 1, result.stderr  # shown even with -q: a warning, as the project's others
    assert lines[0].startswith("warning: cifar10:") and "20 of the official 50000 training images" in lines[0]
    assert str(data / "cifar-10-batches-py") in lines[0]
    dataset = get_dataset("cifar10")
    full = dataset.load(data, "train-full")  # announced once per folder, not at every load
    assert "20 of the official 50000" in full.note  # the provenance record (data_note) says it too
    assert "10 of the official 10000" in dataset.load(data, "test").note
    assert "official" not in dataset.load(data, "test").note.split("10 of the official 10000")[1]


# ------------------------------------------------------------------ progress bars
def test_progress_bars_stay_out_of_a_non_tty_stderr(monkeypatch):
    from nasbench_cli.logs import progress_bar

    monkeypatch.delenv("NASBENCH_PROGRESS", raising=False)
    log = io.StringIO()  # a CI log or a file: not a terminal
    with progress_bar(range(3), file=log, desc="x") as bar:
        list(bar)
    assert log.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with progress_bar(range(3), file=screen, desc="x") as bar:
        list(bar)
    assert "3/3" in screen.getvalue()
    monkeypatch.setenv("NASBENCH_PROGRESS", "1")  # asked for: shown in a log too
    with progress_bar(range(3), file=log, desc="x") as bar:
        list(bar)
    assert "3/3" in log.getvalue()
    screen = Terminal()
    with progress_bar(range(3), file=screen, enabled=False) as bar:  # -q
        list(bar)
    assert screen.getvalue() == ""


def test_search_writes_no_progress_bar_into_a_log(tmp_path, monkeypatch):
    monkeypatch.delenv("NASBENCH_PROGRESS", raising=False)
    result = CliRunner().invoke(main, ["search", "--algo", "random", "--space", "nb201", "--runs", "3",
                                       "--no-timing", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr and "run/s" not in result.stderr and "runs:" not in result.stderr


# ------------------------------------------------------------------ a closed pipe
def test_a_reader_closing_the_pipe_is_not_an_error(tmp_path):
    csv_path = _score_csv(tmp_path / "x.csv", n=2000)  # more than a pipe buffer holds
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as `| head -1` soon is
    try:
        done = subprocess.run([sys.executable, "-m", "nasbench_cli", "correlate", str(csv_path), "--out", "-",
                               "-q", "--bootstrap", "0"], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              cwd=tmp_path, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# ------------------------------------------------------------------ bare nasbench
@pytest.mark.parametrize("args", [[], ["data"]], ids=["nasbench", "nasbench-data"])
def test_a_bare_group_shows_its_help_and_exits_0(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:") and "Commands:" in result.stdout
    assert "Error" not in result.output


# ------------------------------------------------------------------ shell completion
def _complete(args, incomplete):
    completion = ShellComplete(main, {}, "nasbench", "_NASBENCH_COMPLETE")
    return [item.value for item in completion.get_completions(args, incomplete)]


@pytest.mark.parametrize("args, incomplete, expected", [
    (["score", "--space"], "nb2", {"nb201"}),
    (["search", "--space"], "nats", {"nats-tss", "nats-sss"}),
    (["score", "--dataset"], "cifar", {"cifar10", "cifar100"}),
    (["search", "--algo"], "r", {"random", "rea"}),
    (["search", "--proxy"], "syn", {"synflow"}),
    (["score", "--proxy"], "naswot,syn", {"naswot,synflow"}),
    (["data", "download"], "cifar1", {"cifar10", "cifar100"}),
])
def test_shell_completion_offers_registered_names(args, incomplete, expected):
    assert set(_complete(args, incomplete)) == expected


def test_shell_completion_through_the_environment():
    env = {**os.environ, "_NASBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "nasbench score --proxy syn",
           "COMP_CWORD": "3", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "nasbench_cli"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "plain,synflow" in done.stdout.replace("\n", ",")


# ------------------------------------------------------------------ tables
def test_numbers_are_right_aligned_in_markdown_and_latex():
    headers, rows = ["score", "n", "tau", "ci"], [["naswot", "10", "0.512", "[0.1, 0.2]"], ["x", "200", "", "n/a"]]
    markdown = render_table(headers, rows, "markdown").splitlines()
    cells = [cell.strip() for cell in markdown[1].strip("|").split("|")]
    assert not cells[0].endswith(":") and all(cell.endswith(":") for cell in cells[1:]), markdown[1]
    assert markdown[1].startswith("|-")
    assert "\\begin{tabular}{lrrr}" in render_table(headers, rows, "latex")


def test_correlate_format_csv_prints_the_schema_of_its_out_file(tmp_path):
    csv_path = _score_csv(tmp_path / "x.csv")
    out = tmp_path / "c.csv"
    result = CliRunner().invoke(main, ["correlate", str(csv_path), "--bootstrap", "20", "--format", "csv",
                                       "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == out.read_text()
