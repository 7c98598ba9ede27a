"""A space registered from outside the package works through the whole CLI.

``tests/toy_space.py`` is the toy's only file and its last line the only registration: no module of
``nasbench_cli`` names it, yet `nasbench spaces`, `data status`, `data convert`, `score` and
`search` all serve it (they read its ``benchmark`` from the registry). No shared data is needed.
"""

from __future__ import annotations

import re

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import toy_space
from nasbench_cli.cli import main
from nasbench_cli.errors import InvalidArchError
from nasbench_cli.groundtruth import GroundTruth
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.spaces import SPACES, create_space
from toy_space import FINAL, FITNESS, TIME, ToySpace, write_archive, write_ground_truth


def _invoke(args, **kwargs):
    result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    assert result.exit_code == 0, result.output
    return result


def _rows(path: Path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- the space itself ------------------------------------------------------------------------------
def test_registered_once_from_a_file_outside_the_package():
    import importlib.util

    assert SPACES.get("toy") is ToySpace
    assert Path(toy_space.__file__).parent.name == "tests"  # not a module of nasbench_cli
    # a second import under another module name registers nothing (and does not fail)
    spec = importlib.util.spec_from_file_location("toy_space_again", toy_space.__file__)
    again = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(again)
    assert SPACES.get("toy") is ToySpace and again.ToySpace is not ToySpace


def test_strings_indices_and_mutation():
    space = create_space("toy")
    assert len(space) == 36 and space.arch_str(0) == "d1-w2-k1-plain"
    assert [space.index_of(space.arch_str(i)) for i in range(len(space))] == list(range(36))
    assert space.parse_ref("35") == 35 and space.parse_ref(" d3-w8-k3-skip ") == 35
    for bad, part in [("d4-w2-k1-plain", "4 is not one of"), ("d1-w2", "malformed"), ("dx-w2-k1-skip", "integers")]:
        with pytest.raises(InvalidArchError, match=part):
            space.index_of(bad)
    rng = np.random.default_rng(0)
    for index in range(len(space)):
        child = space.mutate(index, rng)
        changed = [a != b for a, b in zip(space.arch_str(index).split("-"), space.arch_str(child).split("-"))]
        assert sum(changed) == 1  # exactly one choice differs


def test_build_is_deterministic_with_relus():
    space = create_space("toy")
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(3)
    first = space.build(35, 10)
    torch.manual_seed(3)
    second = space.build(35, 10, bn=True)
    assert torch.equal(first(x), second(x))
    assert sum(isinstance(m, torch.nn.ReLU) for m in first.modules()) == 3
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in space.build(0, 1, bn=False).modules())
    assert space.build(0, 1)(x).shape == (4, 1)


def test_ground_truth_is_found_where_the_benchmark_says(tmp_path):
    space = create_space("toy", tmp_path)
    assert space.ground_truth() is None
    path = write_ground_truth(tmp_path)
    assert path == tmp_path / ToySpace.benchmark.ground_truth_file
    truth = create_space("toy", tmp_path).ground_truth()
    assert truth.source == path and len(truth) == 36
    assert truth.accuracy_columns == [FINAL, FITNESS]
    assert [truth.arch(i) for i in truth.indices] == [space.arch_str(i) for i in range(36)]
    assert space.benchmark.final_test_column("cifar10") == FINAL
    fitness = space.benchmark.fitness_column("synthetic")
    assert fitness == FITNESS and space.benchmark.time_column(fitness) == TIME and TIME in truth.columns


# --- through the CLI -------------------------------------------------------------------------------
def test_spaces_lists_it():
    out = _invoke(["spaces"]).output
    assert re.search(r"^toy +Toy space: 36 tiny conv nets", out, re.M)


def test_data_status_and_convert(tmp_path):
    out = _invoke(["data", "status", "--data-dir", tmp_path]).output
    assert f"missing  toy ground-truth table: {tmp_path / 'toy' / 'ground_truth.csv'}" in out
    assert "`nasbench data convert <toy archive> --space toy`" in out
    assert f"missing  toy results archive: {tmp_path / 'toy' / 'toy_results.json'}" in out
    assert "--space [" in _invoke(["data", "convert", "--help"]).output
    assert "toy" in _invoke(["data", "convert", "--help"]).output

    archive = write_archive(tmp_path)
    out = _invoke(["data", "convert", archive, "--space", "toy", "--data-dir", tmp_path]).output
    table_path = tmp_path / "toy" / "ground_truth.csv"
    assert f"Read toy results archive: {archive}" in out
    assert f"Wrote 36 rows x 6 columns (toy) to {table_path}" in out
    written = GroundTruth.read(table_path)
    assert written.to_csv_text() == GroundTruth.from_rows(toy_space.ground_truth_rows()).to_csv_text()

    out = _invoke(["data", "status", "--data-dir", tmp_path]).output
    assert f"found    toy ground-truth table: {table_path}" in out
    assert f"found    toy results archive: {archive}" in out


def test_convert_refuses_a_damaged_toy_archive(tmp_path):
    archive = tmp_path / "broken.json"
    archive.write_text(json.dumps({"d9-w2-k1-plain": [1, 2, 3, 4]}))
    result = CliRunner().invoke(main, ["data", "convert", str(archive), "--space", "toy", "--data-dir",
                                       str(tmp_path)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
    assert "not a toy results archive" in result.output and not (tmp_path / "toy").exists()


def test_score_four_architectures(tmp_path):
    write_ground_truth(tmp_path)
    out = tmp_path / "score.csv"
    _invoke(["score", "--space", "toy", "--dataset", "synthetic", "--n", 4, "--no-store", "--no-timing",
             "--data-dir", tmp_path, "--out", out, "--quiet"])
    rows = _rows(out)
    assert len(rows) == 4 and list(rows[0]) == ["index", "arch", "naswot", FINAL, FITNESS, "benchmark_params"]
    space = create_space("toy")
    for row in rows:
        assert row["arch"] == space.arch_str(int(row["index"])) and float(row["naswot"]) > 0
    provenance = json.loads(sidecar_path(out).read_text())
    assert provenance["index_order"] == "benchmark"  # SearchSpace's default


@pytest.mark.parametrize("algo", ["random", "rea"])
def test_search(tmp_path, algo):
    write_ground_truth(tmp_path)
    out = tmp_path / f"{algo}.csv"
    # no --fitness: search takes the default from the toy's benchmark description
    _invoke(["search", "--algo", algo, "--space", "toy", "--dataset", "synthetic", "--runs", 3,
             *(["--budget", "1000s"] if algo == "rea" else []), "--no-store", "--no-timing", "--quiet",
             "--data-dir", tmp_path, "--out", out])
    rows = _rows(out)
    assert [r["run"] for r in rows] == ["0", "1", "2"]
    assert all(r["arch"] == ToySpace().arch_str(int(r["index"])) for r in rows)
    assert list(rows[0])[5:7] == [FINAL, FITNESS]
    if algo == "rea":
        # the budget is spent in the toy's training times (its time column exists)
        assert json.loads(sidecar_path(out).read_text())["time_column"] == TIME
        assert all(float(r["simulated_seconds"]) > 0 and int(r["queries"]) >= 10 for r in rows)
    summary = _rows(out.with_name(out.stem + ".summary.csv"))
    assert summary[0]["column"] == FINAL and summary[0]["runs"] == "3"
