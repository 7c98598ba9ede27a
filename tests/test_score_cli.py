"""`nasbench score` end to end: CSV, provenance, determinism, resume, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from nasbench_cli import scoring
from nasbench_cli.cli import main

FAST = ["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--quiet"]


def _run(args, **kwargs):
    return CliRunner().invoke(main, args, catch_exceptions=False, **kwargs)


def test_score_writes_rows_and_provenance(tmp_path):
    out = tmp_path / "s.csv"
    result = _run([*FAST, "--n", "3", "--seed", "1", "--out", str(out), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    # the embedded NB201 table supplies the accuracy columns of an empty data dir
    assert list(table.columns[:4]) == ["index", "arch", "naswot", "cifar10/ori-test@200"]
    assert list(table.columns[-2:]) == ["seconds", "naswot:seconds"] and len(table.columns) == 14
    assert len(table) == 3 and table["index"].is_unique
    assert table["naswot"].map(math.isfinite).all()
    record = json.loads((tmp_path / "s.csv.provenance.json").read_text())
    assert record["seed"] == 1 and record["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert record["arguments"]["space"] == "nb201"
    assert record["libraries"]["torch"]
    assert record["proxies"] == {"naswot": "max"}
    assert not (tmp_path / "s.csv.partial.csv").exists()


def test_same_seed_same_bytes_other_seed_other_archs(tmp_path):
    outs = []
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        out = tmp_path / f"{name}.csv"
        assert _run([*FAST, "--n", "2", "--seed", str(seed), "--no-timing", "--out", str(out),
                     "--data-dir", str(tmp_path)]).exit_code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_arch_file_of_strings_and_indices(tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text("# two ways to name an architecture\n"
                     "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n"
                     "\n42\n")
    out = tmp_path / "f.csv"
    assert _run([*FAST, "--archs", str(archs), "--out", str(out), "--data-dir", str(tmp_path)]).exit_code == 0
    table = pd.read_csv(out)
    assert len(table) == 2 and 42 in set(table["index"])


def test_malformed_arch_file_names_the_line(tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text("1\n|nor_conv_3x3~0|+|bogus~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n")
    result = CliRunner().invoke(main, [*FAST, "--archs", str(archs), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "archs.txt:2" in result.output and "bogus" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, names", [
    (["--space", "nope"], ["nb201", "nats-sss"]),
    (["--space", "nb201", "--dataset", "mnist"], ["cifar10", "synthetic"]),
    (["--space", "nb201", "--proxy", "naswot,magic"], ["naswot"]),
])
def test_unknown_names_exit_2_and_list_valid_ones(tmp_path, args, names):
    result = CliRunner().invoke(main, ["score", *args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert all(name in result.output for name in names)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_missing_dataset_names_the_expected_path(tmp_path):
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "cifar10", "--n", "1",
                                       "--data-dir", str(tmp_path), "--quiet"])
    assert result.exit_code != 0
    assert str(tmp_path / "cifar-10-batches-py") in result.output
    assert "Traceback" not in result.output


def test_interrupted_run_resumes_to_the_same_table(tmp_path, monkeypatch):
    from nasbench_cli.store import ScoreStore, default_store_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # this test's own default store
    args = [*FAST, "--n", "4", "--seed", "2", "--no-timing", "--data-dir", str(tmp_path)]
    full = tmp_path / "full.csv"
    assert _run([*args, "--no-store", "--out", str(full)]).exit_code == 0
    assert not default_store_path().exists() and not (tmp_path / "scores.sqlite").exists()  # --no-store keeps nothing

    calls = {"n": 0}
    original = scoring.ArchitectureScorer.score_proxies

    def flaky(self, index, names=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, index, names)

    out = tmp_path / "resumed.csv"
    monkeypatch.setattr(scoring.ArchitectureScorer, "score_proxies", flaky)
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 130
    assert not out.exists()
    with ScoreStore(default_store_path()) as store:
        assert store.count() == 2  # the two finished architectures were kept

    counted = {"n": 0}

    def counting(self, index, names=None):
        counted["n"] += 1
        return original(self, index, names)

    monkeypatch.setattr(scoring.ArchitectureScorer, "score_proxies", counting)
    assert _run([*args, "--out", str(out)]).exit_code == 0
    assert counted["n"] == 2  # only the missing rows were computed
    assert out.read_bytes() == full.read_bytes()
    assert json.loads((tmp_path / "resumed.csv.provenance.json").read_text())["resumed_rows"] == 2

    counted["n"] = 0
    assert _run([*args, "--out", str(out), "--restart"]).exit_code == 0
    assert counted["n"] == 4  # --restart recomputes everything
    assert out.read_bytes() == full.read_bytes()


def test_failed_proxy_is_recorded_and_run_goes_on(tmp_path, monkeypatch):
    from nasbench_cli.proxies import PROXIES

    spec = PROXIES.get("naswot")

    def broken(model, batch, ctx):
        raise RuntimeError("singular matrix in test")

    monkeypatch.setitem(PROXIES._items, "naswot", scoring.ProxySpec(**{**spec.__dict__, "fn": broken}))
    out = tmp_path / "f.csv"
    result = _run([*FAST, "--n", "2", "--out", str(out), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert pd.read_csv(out)["naswot"].isna().all()
    record = json.loads((tmp_path / "f.csv.provenance.json").read_text())
    assert len(record["failures"]["naswot"]) == 2


def test_real_cifar10_scores_join_ground_truth(shared_data, tmp_path):
    out = tmp_path / "r.csv"
    result = _run(["score", "--space", "nb201", "--dataset", "cifar10", "--n", "2", "--batch-size", "16",
                   "--data-dir", str(shared_data), "--store", str(tmp_path / "scores.sqlite"),
                   "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert "cifar10/ori-test@200" in table.columns
    truth = pd.read_csv(shared_data / "nb201" / "ground_truth.csv").set_index("arch_index")
    for _, row in table.iterrows():
        assert row["arch"] == truth.loc[row["index"], "arch"]
        assert row["cifar10/ori-test@200"] == pytest.approx(truth.loc[row["index"], "cifar10/ori-test@200"])
    record = json.loads((tmp_path / "r.csv.provenance.json").read_text())
    assert any("data_batch_1" in f for f in record["data_files"])


@pytest.mark.parametrize("space", ["nats-sss", "nb101"])
def test_proxy_that_cannot_apply_to_a_space_is_a_clear_error(tmp_path, space):
    result = CliRunner().invoke(main, ["score", "--space", space, "--dataset", "synthetic", "--proxy", "linear_regions",
                                       "--n", "1", "--no-store", "--quiet", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "linear_regions" in result.output and space in result.output
    assert "Traceback" not in result.output


def test_default_outputs_say_what_was_computed_and_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = [*FAST, "--data-dir", str(tmp_path), "--no-store", "--no-timing"]
    assert _run([*common, "--n", "2"]).exit_code == 0
    assert _run([*common, "--n", "3", "--proxy", "params"]).exit_code == 0
    assert _run([*common, "--n", "2", "--proxy", "params,synflow,naswot,flops", "--seeds", "0,1"]).exit_code == 0
    written = sorted(p.name for p in (tmp_path / "results").glob("*.csv"))
    assert written == ["score-nb201-synthetic-4proxies-n2-seed0-seeds0-1.csv",
                       "score-nb201-synthetic-naswot-n2-seed0.csv", "score-nb201-synthetic-params-n3-seed0.csv"]
    assert len(pd.read_csv(tmp_path / "results" / "score-nb201-synthetic-naswot-n2-seed0.csv")) == 2


def test_a_default_output_of_another_run_is_never_replaced(tmp_path, monkeypatch):
    """Options left out of the default name (here --batch-size) still never let one run replace
    another's file; the same command again replaces its own; a file nasbench did not write is kept."""
    monkeypatch.chdir(tmp_path)
    common = ["score", "--space", "nb201", "--dataset", "synthetic", "--quiet", "--data-dir", str(tmp_path),
              "--no-store", "--no-timing", "--n", "2", "--proxy", "params"]
    default = tmp_path / "results" / "score-nb201-synthetic-params-n2-seed0.csv"
    assert _run([*common, "--batch-size", "8"]).exit_code == 0
    before = default.read_bytes()
    other = _run([*common, "--batch-size", "16"])
    assert other.exit_code == 2 and "Traceback" not in other.output
    assert "results/score-nb201-synthetic-params-n2-seed0.csv holds the output of another run" in other.output
    assert "batch_size=8 there, 16 now" in other.output and "--out" in other.output
    assert default.read_bytes() == before
    assert _run([*common, "--batch-size", "8", "--executor", "sequential"]).exit_code == 0  # its own: replaced
    default.with_name(default.name + ".provenance.json").unlink()
    assert _run([*common, "--batch-size", "8"]).exit_code == 2  # no record: not known to be ours
    assert _run([*common, "--batch-size", "16", "--out", str(default)]).exit_code == 0  # --out: as told


def test_a_large_run_says_what_it_will_cost_before_it_starts(tmp_path):
    store = str(tmp_path / "s.sqlite")
    loud = [arg for arg in FAST if arg != "--quiet"]
    common = [*loud, "--proxy", "params,naswot", "--data-dir", str(tmp_path), "--store", store, "--no-timing",
              "--executor", "sequential"]
    first = _run([*common, "--n", "8", "--out", str(tmp_path / "a.csv")])
    assert "estimated cost" not in first.output  # small, and nothing timed yet
    second = _run([*common, "--n", "70", "--out", str(tmp_path / "b.csv")])
    assert second.exit_code == 0
    import re

    line = next(text for text in second.output.splitlines() if "estimated cost" in text)
    # what the store lacks, priced by the medians the first run measured
    computed = int(re.search(r"estimated cost: (\d+) architectures x \(params [0-9.]+ s, naswot", line).group(1))
    resumed = int(re.search(r"\((\d+) from the store\)", second.output).group(1))
    assert computed + resumed == 70 and "on 1 worker(s)" in line
    quiet = _run([*common, "--n", "140", "--quiet", "--out", str(tmp_path / "c.csv")])
    assert "estimated cost" not in quiet.output


def test_timing_gives_each_proxy_its_seconds_column_never_taken_as_a_score(tmp_path):
    out = tmp_path / "t.csv"
    result = _run([*FAST, "--proxy", "params,synflow", "--n", "3", "--no-store", "--data-dir", str(tmp_path),
                   "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns[-3:]) == ["seconds", "params:seconds", "synflow:seconds"]
    assert (frame["params:seconds"] > 0).all() and (frame["synflow:seconds"] > 0).all()
    assert np.allclose(frame["params:seconds"] + frame["synflow:seconds"], frame["seconds"], atol=2e-4)
    roles = json.loads(out.with_name(out.name + ".provenance.json").read_text())["columns"]
    assert roles["synflow:seconds"] == {"role": "timing"}
    out.with_name(out.name + ".provenance.json").unlink()  # the column rule alone skips them too
    from nasbench_cli.analysis.score_table import rule_score_columns

    assert rule_score_columns(frame, out) == ["params", "synflow"]


def test_benchmark_costs_are_those_of_the_runs_dataset():
    from nasbench_cli.engine.rows import join_accuracies
    from nasbench_cli.groundtruth.table import GroundTruth

    truth = GroundTruth(pd.DataFrame({"arch_index": [0], "arch": ["a"], "cifar10/ori-test@200": [90.0],
                                      "params": [1.0], "flops": [10.0], "cifar100/params": [1.1],
                                      "cifar100/flops": [10.5]}))
    for dataset, flops, params in (("cifar10", "10.0", "1.0"), ("cifar100", "10.5", "1.1"), ("synthetic", "10.0", "1.0")):
        rows = [{"index": "0", "arch": "a"}]
        _, meta = join_accuracies(rows, truth, dataset)
        assert meta == ["benchmark_params", "benchmark_flops"]
        assert (rows[0]["benchmark_flops"], rows[0]["benchmark_params"]) == (flops, params), dataset
