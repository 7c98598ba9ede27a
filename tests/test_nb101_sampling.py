"""NB101 without its converted table says which networks it samples and that they differ from
the table's (issue 31 item 8): one line when it samples, and in every sidecar's index order."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from nasbench_cli import logs
from nasbench_cli.cli import main
from nasbench_cli.spaces.nb101 import SAMPLING_WITHOUT_TABLE, SPEC_BASE, NB101Space
from test_nb101_reader import _table_dir

KEY = "nb101-sampling-without-table"


def test_a_sample_without_the_table_says_what_it_draws(tmp_path):
    logs._warned.discard(KEY)  # said once a process: another test may have sampled already
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "nb101.csv"
    result = CliRunner().invoke(main, ["score", "--space", "nb101", "--dataset", "synthetic", "--proxy", "params",
                                       "--n", "2", "--seed", "0", "--data-dir", str(data), "--no-store",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "random_spec" in line]
    assert len(said) == 1 and "not the uniform draw over the table's 423624 modules" in said[0]
    assert "other networks once the table is converted" in said[0]
    record = json.loads(out.with_name(out.name + ".provenance.json").read_text())
    assert SAMPLING_WITHOUT_TABLE in record["index_order"]
    indices = [int(line.split(",")[0]) for line in out.read_text().splitlines()[1:]]
    assert len(indices) == 2 and all(i >= SPEC_BASE for i in indices)  # spec indices, not table rows


def test_with_the_table_rows_are_drawn_and_nothing_is_said(tmp_path, caplog):
    logs._warned.discard(KEY)
    space = NB101Space(_table_dir(tmp_path))
    drawn = space.sample(np.random.default_rng(0), 3)
    assert all(0 <= i < len(space) for i in drawn)
    assert "random_spec" not in space.index_order
    assert KEY not in logs._warned
    without = NB101Space(None)
    assert SAMPLING_WITHOUT_TABLE in without.index_order
    without.sample(np.random.default_rng(0), 1)
    assert KEY in logs._warned
