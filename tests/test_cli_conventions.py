"""CLI conventions: `--out -` puts data on stdout, messages go to stderr, -q/-v on every command,
`data status --json`, and `--format` tables (correlate, search, scripts/paper_table.py)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import logging
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS
from nasbench_cli.analysis.tables import render_table
from nasbench_cli.cli import main
from nasbench_cli.logs import configure_cli_logging, get_logger

FAST = ["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--no-timing"]
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paper_table.py"


def _run(args, cwd: Path):
    """Invoke `nasbench` in ``cwd`` with stdout and stderr kept apart."""
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=cwd):
        result = runner.invoke(main, args, catch_exceptions=False)
        leftovers = sorted(p.name for p in Path.cwd().iterdir())
    return result, leftovers


def _leaf_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


@pytest.fixture(scope="module")
def score_csv(tmp_path_factory) -> Path:
    """Six synthetic-batch NASWOT + synflow scores of NB201 nets with the embedded accuracies."""
    folder = tmp_path_factory.mktemp("conventions")
    out = folder / "scores.csv"
    result = CliRunner().invoke(main, [*FAST, "--proxy", "naswot,synflow", "--n", "6", "--quiet", "--no-store",
                                       "--data-dir", str(folder), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_every_command_has_verbose_and_quiet():
    commands = dict(_leaf_commands(main))
    assert {"score", "search", "correlate", "data status", "data convert", "plot", "report"} <= set(commands)
    for name, command in commands.items():
        flags = {opt for param in command.params for opt in param.opts}
        assert {"-v", "--verbose", "-q", "--quiet"} <= flags, name


def test_score_out_dash_writes_the_csv_to_stdout_only(tmp_path):
    args = [*FAST, "--n", "3", "--seed", "2", "--no-store", "--data-dir", str(tmp_path)]
    to_file = tmp_path / "file.csv"
    assert CliRunner().invoke(main, [*args, "--out", str(to_file), "-q"]).exit_code == 0
    result, leftovers = _run([*args, "--out", "-"], tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == to_file.read_text()  # the same bytes as the file, nothing else
    assert "wrote 3 rows to stdout" in result.stderr
    assert leftovers == []  # no file named '-', no sidecar


def test_quiet_silences_messages_and_verbose_shows_the_provenance(tmp_path):
    args = [*FAST, "--n", "2", "--no-store", "--data-dir", str(tmp_path), "--out", "-"]
    quiet, _ = _run([*args, "-q"], tmp_path)
    assert quiet.exit_code == 0 and quiet.stderr == ""
    verbose, _ = _run([*args, "-v"], tmp_path)
    debug = [line for line in verbose.stderr.splitlines() if line.startswith("debug: provenance")]
    assert len(debug) == 1
    record = json.loads(debug[0].split(": ", 2)[2])
    assert record["arguments"]["out"] == "-" and record["rows"] == 2 and "libraries" in record


def test_correlate_out_dash_keeps_stdout_parseable(score_csv, tmp_path):
    result, leftovers = _run(["correlate", str(score_csv), "--target", "cifar10/ori-test@200", "--bootstrap", "20",
                              "--out", "-"], tmp_path)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == RESULT_COLUMNS and {r[0] for r in rows[1:]} == {"naswot", "synflow"}
    assert "tau" in result.stderr and "naswot" in result.stderr  # the human table went to stderr
    assert leftovers == []


@pytest.mark.parametrize("fmt, marker", [("markdown", "| score"), ("latex", "\\toprule"),
                                         ("csv", "score,target,n,kendall_tau")])
def test_correlate_format(score_csv, tmp_path, fmt, marker):
    out = tmp_path / f"{fmt}.csv"
    result = CliRunner().invoke(main, ["correlate", str(score_csv), "--target", "cifar10/ori-test@200",
                                       "--bootstrap", "0", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "naswot" in result.stdout and "synflow" in result.stdout
    assert out.read_text().splitlines()[0] == ",".join(RESULT_COLUMNS)  # the file stays CSV


def test_search_out_dash_writes_runs_to_stdout_and_no_summary_file(tmp_path):
    result, leftovers = _run(["search", "--algo", "random", "--space", "nb201", "--runs", "4", "--no-timing",
                              "--data-dir", str(tmp_path), "--out", "-"], tmp_path)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4 and [r["run"] for r in rows] == ["0", "1", "2", "3"]
    assert "random on nb201" in result.stderr and "wrote 4 runs to stdout" in result.stderr
    assert leftovers == []


@pytest.mark.parametrize("fmt, header", [("markdown", "| column"), ("csv", "column,runs,mean,std,min,max")])
def test_search_format_prints_the_summary_in_that_format(tmp_path, fmt, header):
    out = tmp_path / "runs.csv"
    result, _ = _run(["search", "--algo", "random", "--space", "nb201", "--runs", "3", "--no-timing",
                      "--data-dir", str(tmp_path), "--format", fmt, "--out", str(out), "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(header)  # no text title above a table meant to be pasted
    assert any("cifar10/ori-test@200" in line for line in lines)
    assert (tmp_path / "runs.summary.csv").read_text().startswith("column,runs,mean,std")  # the file keeps its form


def test_data_status_json(tmp_path):
    result = CliRunner().invoke(main, ["data", "status", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["data_dir"] == str(tmp_path) and status["exists"] is True
    files = status["files"]
    assert {f["kind"] for f in files} == {"dataset", "benchmark", "ground-truth"}
    cifar = [f for f in files if f["kind"] == "dataset" and f["name"] == "cifar10"]
    assert cifar and all(f["state"] == "missing" and f["source"] for f in cifar)
    assert [f["state"] for f in files if f["kind"] == "ground-truth"] == ["ok"]
    assert any(f["state"] == "embedded" and "nb201" in f["name"].lower() for f in files)


def test_data_status_json_sees_a_placed_file(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"x" * 10)
    result = CliRunner().invoke(main, ["data", "status", "--json", "--data-dir", str(tmp_path)])
    found = [f for f in json.loads(result.stdout)["files"] if f["state"] == "found"]
    assert any(f["path"] == str(folder / "data_batch_1") for f in found)


def test_render_table_formats():
    rows = [["a", "1"], ["b", "22"]]
    assert render_table(["k", "v"], rows, "csv") == "k,v\na,1\nb,22"
    assert render_table(["k", "v"], rows, "markdown").splitlines()[1].startswith("|-")
    assert "\\bottomrule" in render_table(["k", "v"], rows, "latex")
    with pytest.raises(ValueError, match="unknown table format"):
        render_table(["k"], [["a"]], "html")


def test_logger_writes_to_the_current_stderr(capsys):
    configure_cli_logging(0)
    configure_cli_logging(0)  # idempotent: one handler, one line per message
    get_logger("x").info("hello")
    get_logger("x").debug("hidden")
    assert capsys.readouterr().err == "hello\n"
    configure_cli_logging(-1)
    get_logger("x").info("hidden")
    get_logger("x").warning("careful")
    assert capsys.readouterr().err == "warning: careful\n"
    assert get_logger().level == logging.WARNING


def _paper_table():
    spec = importlib.util.spec_from_file_location("paper_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paper_table_puts_published_rho_and_tau_beside_ours(tmp_path, capsys):
    corr = tmp_path / "c.csv"
    corr.write_text("score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi\n"
                    "synflow,cifar10/ori-test@200,1000,0.55,0.52,0.58,0.76,0.73,0.78\n"
                    "linear_regions,cifar10/ori-test@200,300,0.51,0.44,0.57,0.68,0.6,0.75\n"
                    "fisher,cifar10-valid/x-valid@12,1000,0.2,0.1,0.3,0.3,0.2,0.4\n")
    out = tmp_path / "k.csv"
    assert _paper_table().main(["--format", "markdown", "kendall", str(out), f"nb201/cifar10={corr}"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert (rows[0]["paper_rho"], rows[0]["paper_tau"]) == ("0.74", "")
    assert (rows[1]["paper_tau"], rows[1]["paper_rho"]) == ("0.500", "")
    assert rows[2]["paper_rho"] == ""  # not the benchmark's final epoch
    printed = capsys.readouterr().out
    assert printed.splitlines()[1].startswith("|-") and "0.74" in printed
    assert _paper_table().main(["--format", "html", "kendall", str(out), f"nb201/cifar10={corr}"]) == 2
