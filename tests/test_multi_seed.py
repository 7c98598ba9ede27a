"""`score --seeds`: each architecture under several init/batch seeds, the mean and the spread."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.commands.score import parse_seeds


def _score(tmp_path, data, *extra):
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "naswot,params", "--n", "8",
                                       "--batch-size", "16", "--data-dir", str(data), "--store",
                                       str(tmp_path / "s.sqlite"), "--out", str(out), "--executor", "sequential",
                                       "--quiet", "--no-timing", *extra])
    assert result.exit_code == 0, result.output
    return out


def test_seed_columns_mean_std_and_single_seed_equality(shared_data, tmp_path):
    out = _score(tmp_path, shared_data, "--seeds", "0,1,2")
    frame = pd.read_csv(out)
    per_seed = frame[["naswot@seed0", "naswot@seed1", "naswot@seed2"]].to_numpy()
    finite = np.isfinite(per_seed).all(axis=1)
    np.testing.assert_allclose(frame["naswot"][finite], per_seed[finite].mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(frame["naswot:std"][finite], per_seed[finite].std(axis=1), rtol=1e-9, atol=1e-12)
    assert not np.allclose(per_seed[finite][:, 0], per_seed[finite][:, 1])  # seeds do differ
    assert (frame["params"] == frame["params@seed1"]).all() and (frame["params:std"] == 0).all()
    # the seed-1 column is exactly what a one-seed run with --seed 1 for scores gives: same store keys
    single = CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "naswot", "--archs", "-",
                                       "--seed", "1", "--batch-size", "16", "--data-dir", str(shared_data),
                                       "--no-store", "--out", str(tmp_path / "one.csv"), "--executor",
                                       "sequential", "--quiet", "--no-timing"],
                                input="\n".join(map(str, frame["index"])) + "\n")
    assert single.exit_code == 0, single.output
    one = pd.read_csv(tmp_path / "one.csv")
    assert one["naswot"].tolist() == frame["naswot@seed1"].tolist()
    record = json.loads((tmp_path / "s.csv.provenance.json").read_text())
    assert record["score_seeds"] == [0, 1, 2]
    assert record["columns"]["naswot@seed2"] == {"role": "score", "direction": "max"}
    assert record["columns"]["naswot:std"]["role"] == "metadata"


def test_correlate_reports_the_spread_of_per_seed_taus(shared_data, tmp_path):
    out = _score(tmp_path, shared_data, "--seeds", "0,1")
    result = CliRunner().invoke(main, ["correlate", str(out), "--target", "cifar10/ori-test@200",
                                       "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    assert "naswot vs cifar10/ori-test@200: tau of the 2-seed mean" in result.output
    assert "per-seed tau" in result.output
    rows = pd.read_csv(tmp_path / "s.correlation.csv")
    assert {"naswot", "naswot@seed0", "naswot@seed1"} <= set(rows["score"])
    assert "naswot:std" not in set(rows["score"])


@pytest.mark.parametrize("text", ["0", "0,0", "a,b", "-1,2", "1,,x"])
def test_bad_seed_lists_are_usage_errors(text):
    from nasbench_cli.errors import UsageError

    with pytest.raises(UsageError, match="--seeds"):
        parse_seeds(text)
    assert parse_seeds("3,1") == (3, 1) and parse_seeds(None) == ()
