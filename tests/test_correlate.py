"""Correlation analysis and `nasbench correlate`: statistics against direct counts, CLI, errors."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from nasbench_cli.analysis import correlation as corr
from nasbench_cli.analysis import derived
from nasbench_cli.analysis.score_table import load_score_table
from nasbench_cli.output import score_csv_roles
from nasbench_cli.commands.correlate import correlate
from nasbench_cli.errors import DataCorruptError

ACC = "cifar10/ori-test@200"
ACC12 = "cifar10-valid/x-valid@12"


def _data_dir() -> Path:
    return Path(os.environ.get("NASBENCH_TEST_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def _cmp(a, b):
    """-1, 0, +1 without the NaN that -inf - -inf would give."""
    return np.greater(a, b).astype(int) - np.less(a, b).astype(int)


def _direct_tau_b(x, y) -> float:
    """Tau-b from an explicit O(n^2) count of concordant, discordant and tied pairs."""
    concordant = discordant = tied_x = tied_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = _cmp(x[i], x[j]), _cmp(y[i], y[j])
        if dx == 0:
            tied_x += 1
        if dy == 0:
            tied_y += 1
        if dx * dy > 0:
            concordant += 1
        elif dx * dy < 0:
            discordant += 1
    pairs = len(x) * (len(x) - 1) / 2
    return (concordant - discordant) / np.sqrt((pairs - tied_x) * (pairs - tied_y))


def _direct_pair_agreement(scores, directions, acc) -> float:
    """Majority-vote pair agreement by an explicit loop over pairs (score ties and 1:1 votes count 1/2)."""
    credit = counted = 0.0
    for i, j in itertools.combinations(range(len(acc)), 2):
        truth = _cmp(acc[i], acc[j])
        if truth == 0:
            continue
        votes = [_cmp(s[i], s[j]) * (1 if d == "max" else -1) * truth for s, d in zip(scores, directions)]
        agree, disagree = sum(v > 0 for v in votes), sum(v < 0 for v in votes)
        credit += 1.0 if agree > len(votes) / 2 else 0.0 if disagree > len(votes) / 2 else 0.5
        counted += 1
    return credit / counted


def _write(path: Path, frame: pd.DataFrame, proxies=None) -> Path:
    frame.to_csv(path, index=False)
    if proxies is not None:
        path.with_name(path.name + ".provenance.json").write_text(json.dumps({"proxies": proxies}))
    return path


def _noisy_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    acc = np.round(rng.uniform(80, 95, n), 1)  # rounded: accuracy ties, as in the benchmarks
    frame = pd.DataFrame({"index": np.arange(n), "arch": [f"a{i}" for i in range(n)]})
    frame["naswot"] = acc + rng.normal(0, 3, n)
    frame["synflow"] = np.exp(acc + rng.normal(0, 4, n)) * 1e20  # values up to ~1e60
    frame["jacob_cov"] = acc + rng.normal(0, 5, n)
    frame["snip"] = acc + rng.normal(0, 4, n)
    frame["params"] = rng.uniform(0.1, 1.5, n)
    frame["train_time@12"] = rng.uniform(100, 200, n)
    frame[ACC] = acc
    frame[ACC12] = np.round(acc - 20 + rng.normal(0, 2, n), 2)
    frame["seconds"] = 0.5
    return frame


# ----------------------------------------------------------------------------- statistics


def test_monotone_and_reversed_give_plus_and_minus_one():
    x = np.array([-np.inf, -3.0, 0.5, 2.0, 1e40, 1e60, np.inf])
    y = np.arange(7.0)
    assert corr.kendall_tau(x, y) == pytest.approx(1.0)
    assert corr.spearman_rho(x, y) == pytest.approx(1.0)
    assert corr.kendall_tau(x, -y) == pytest.approx(-1.0)
    assert corr.spearman_rho(x, y[::-1]) == pytest.approx(-1.0)


def test_tau_b_matches_direct_pair_count_with_ties():
    x = np.array([1, 2, 2, 3, 5, 4, 4, 0, 7, 6], dtype=float)
    y = np.array([2, 1, 3, 3, 4, 6, 5, 0, 5, 9], dtype=float)
    direct = _direct_tau_b(x, y)
    assert corr.kendall_tau(x, y) == pytest.approx(direct, abs=1e-12)
    assert 0.5 < direct < 0.9  # a real, non-trivial value
    weights = np.ones((1, len(x)))
    assert corr.weighted_kendall_tau_b(x, y, weights)[0] == pytest.approx(direct, abs=1e-12)


def test_neg_inf_is_treated_as_lowest_and_pos_inf_as_highest():
    rng = np.random.default_rng(3)
    y = rng.normal(size=40)
    x = y + rng.normal(0, 1, 40)
    x_inf = x.copy()
    x_inf[[1, 5, 9]] = -np.inf
    x_inf[20] = np.inf
    x_low = x.copy()
    x_low[[1, 5, 9]] = x.min() - 10.0  # tied among themselves, below everything
    x_low[20] = x.max() + 10.0
    a = corr.correlate_pair("s", "t", x_inf, y, resamples=200, seed=1)
    b = corr.correlate_pair("s", "t", x_low, y, resamples=200, seed=1)
    assert a == b
    assert a.n == 40


def test_nan_rows_dropped_per_pair_and_n_reported():
    rng = np.random.default_rng(4)
    y = rng.normal(size=30)
    x = y + rng.normal(0, 1, 30)
    x[[0, 3]] = np.nan
    y[7] = np.nan
    result = corr.correlate_pair("s", "t", x, y, resamples=50, seed=0)
    keep = ~(np.isnan(x) | np.isnan(y))
    assert result.n == 27
    assert result.kendall_tau == pytest.approx(stats.kendalltau(x[keep], y[keep]).statistic)
    assert result.spearman_rho == pytest.approx(stats.spearmanr(x[keep], y[keep]).statistic)


def test_vectorised_bootstrap_equals_scipy_on_explicit_resamples():
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=80), 1)  # ties inside the data as well as from resampling
    y = np.round(x + rng.normal(size=80), 1)
    indices = next(corr.bootstrap_indices(80, 25, seed=2))
    counts = corr.multiplicities(indices, 80)
    assert (counts.sum(axis=1) == 80).all()
    taus = corr.weighted_kendall_tau_b(x, y, counts)
    rhos = corr.weighted_spearman_rho(x, y, counts)
    for row, tau, rho in zip(indices, taus, rhos):
        assert tau == pytest.approx(stats.kendalltau(x[row], y[row]).statistic, abs=1e-12)
        assert rho == pytest.approx(stats.spearmanr(x[row], y[row]).statistic, abs=1e-12)


def test_bootstrap_interval_contains_estimate_and_is_deterministic(monkeypatch):
    rng = np.random.default_rng(6)
    y = rng.normal(size=150)
    x = y + rng.normal(0, 1.0, 150)
    a = corr.correlate_pair("s", "t", x, y, resamples=300, seed=7)
    assert a.kendall_lo < a.kendall_tau < a.kendall_hi
    assert a.spearman_lo < a.spearman_rho < a.spearman_hi
    assert a.kendall_hi - a.kendall_lo < 0.3
    assert corr.correlate_pair("s", "t", x, y, resamples=300, seed=7) == a
    other = corr.correlate_pair("s", "t", x, y, resamples=300, seed=8)
    assert (other.kendall_lo, other.kendall_hi) != (a.kendall_lo, a.kendall_hi)
    assert other.kendall_tau == a.kendall_tau
    # the large-n path (scipy per resample) must give the same replicates as the matrix product
    taus, rhos = corr.bootstrap_replicates(x, y, 200, seed=7)
    monkeypatch.setattr(corr, "MATMUL_MAX_N", 10)
    taus_loop, rhos_loop = corr.bootstrap_replicates(x, y, 200, seed=7)
    np.testing.assert_allclose(taus_loop, taus, atol=1e-12)
    np.testing.assert_allclose(rhos_loop, rhos, atol=1e-12)


def test_pair_agreement_formula_equals_direct_count():
    rng = np.random.default_rng(8)
    acc = np.round(rng.uniform(0, 5, 50))  # many accuracy ties
    score = np.round(acc + rng.normal(0, 2, 50))  # many score ties
    score[:3] = -np.inf
    for direction in ("max", "min"):
        direct = _direct_pair_agreement([score], [direction], acc)
        assert derived.pair_agreement(score, acc, direction) == pytest.approx(direct, abs=1e-12)
        assert derived.majority_pair_agreement([score], [direction], acc) == pytest.approx(direct, abs=1e-12)
    assert derived.pair_agreement(score, acc, "max") > 0.6
    assert derived.pair_agreement(np.ones(10), np.arange(10.0)) == 0.5


# 5 architectures A..E; acc of D and E tie, so 9 of the 10 pairs count.
VOTE_TABLE = {
    "synflow": [1, 2, 3, 4, 5],
    "jacob_cov": [4, 3, 2, 1, 0],
    "snip": [1, 2, 2, 4, 3],
    ACC: [1, 2, 3, 4, 4],
}


def test_vote_pair_agreement_by_hand():
    # synflow always right, jacob_cov always wrong, snip right except B~C (tie) -> that pair is
    # 1 right, 1 wrong, 1 tie = no majority = 1/2; all other 8 pairs have 2 of 3 right.
    scores = [np.array(VOTE_TABLE[m], dtype=float) for m in derived.VOTE_MEMBERS]
    acc = np.array(VOTE_TABLE[ACC], dtype=float)
    assert derived.majority_pair_agreement(scores, ["max"] * 3, acc) == pytest.approx(8.5 / 9)
    # jacob_cov declared lower-is-better: now it is always right as well
    assert derived.majority_pair_agreement(scores, ["max", "min", "max"], acc) == pytest.approx(1.0)
    assert derived.pair_agreement(scores[2], acc) == pytest.approx(8.5 / 9)
    assert derived.pair_agreement(scores[1], acc) == pytest.approx(0.0)


def test_blocked_vote_equals_direct_loop(monkeypatch):
    rng = np.random.default_rng(9)
    acc = np.round(rng.uniform(0, 10, 70))
    scores = [np.round(acc + rng.normal(0, s, 70)) for s in (2, 3, 4)]
    scores[0][:4] = -np.inf
    directions = ["max", "max", "min"]
    scores[2] = -scores[2]
    direct = _direct_pair_agreement(scores, directions, acc)
    monkeypatch.setattr(derived, "PAIR_BLOCK_ELEMENTS", 150)  # several blocks of rows
    assert derived.majority_pair_agreement(scores, directions, acc) == pytest.approx(direct, abs=1e-12)


def test_ensemble_is_mean_of_oriented_ranks():
    columns = {"a": np.array([-np.inf, 0.0, 1e60, 5.0]), "b": np.array([3.0, 1.0, 2.0, np.nan])}
    result = derived.ensemble_score(columns, {"a": "max", "b": "min"})
    # rows 0..2: ranks of a = 1, 2, 3; ranks of -b = 1, 3, 2; row 3 has no b
    np.testing.assert_allclose(result[:3], [1.0, 2.5, 2.5])
    assert np.isnan(result[3])
    assert derived.parse_ensembles(["a,b", "b+a"], ["a", "b"]) == [["a", "b"], ["b", "a"]]
    assert derived.ensemble_name(["a", "b"]) == "ensemble:a+b"


# ----------------------------------------------------------------------------- loading


def test_load_without_sidecar_keeps_every_numeric_non_accuracy_column(tmp_path):
    frame = _noisy_table(40)
    frame["benchmark_flops"] = np.arange(40.0)
    frame["ntk"] = np.linspace(0, 1, 40)
    frame["note"] = "text"  # no number at all: not a score
    frame["failed"] = False  # booleans: not a score
    first = _write(tmp_path / "part1.csv", frame.iloc[:25])
    second = _write(tmp_path / "part2.csv", frame.iloc[20:])  # rows 20..24 again
    table = load_score_table([first, second])
    # the rule: ids (index, arch), seconds and accuracies aside, every numeric column is a score
    assert table.scores == ["naswot", "synflow", "jacob_cov", "snip", "params", "train_time@12",
                            "benchmark_flops", "ntk"]
    assert table.accuracies == [ACC, ACC12]
    # registered proxies take the registry's direction (ntk: lower is better), others "max"
    assert table.directions["ntk"] == "min" and table.directions["params"] == "max"
    assert len(table.frame) == 40
    assert any("5 duplicate" in note for note in table.notes)


def test_load_uses_older_sidecar_proxies_and_directions(tmp_path):
    frame = _noisy_table(20)
    frame["extra"] = 1.0
    path = _write(tmp_path / "s.csv", frame, {"naswot": "max", "params": "max", "jacob_cov": "min"})
    table = load_score_table([path])
    assert table.directions == {"naswot": "max", "jacob_cov": "min", "params": "max"}
    assert table.accuracies == [ACC, ACC12]


def test_load_uses_sidecar_column_roles(tmp_path):
    frame = _noisy_table(20)
    frame["benchmark_params"] = np.arange(20.0)
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    roles = score_csv_roles({"naswot": "max", "snip": "min", "params": "max"}, [ACC12],
                            ["benchmark_params", "train_time@12"], timing=True)
    roles["absent"] = {"role": "score", "direction": "max"}  # declared but not in the CSV: ignored
    # the older "proxies" entry is ignored when the roles are there
    (tmp_path / "s.csv.provenance.json").write_text(json.dumps({"columns": roles, "proxies": ["synflow"]}))
    table = load_score_table([path])
    assert table.directions == {"naswot": "max", "snip": "min", "params": "max"}
    assert table.accuracies == [ACC12]  # ACC has no accuracy role in this sidecar


@pytest.mark.parametrize("sidecar", [None, {"proxies": {"naswot": "max"}},
                                     {"columns": score_csv_roles({"naswot": "max"}, [ACC])}])
def test_non_numeric_score_cell_is_an_error_naming_column_and_row(tmp_path, sidecar):
    frame = _noisy_table(10)[["index", "arch", "naswot", ACC]].astype({"naswot": object})
    frame.loc[6, "naswot"] = "oops"
    path = _write(tmp_path / "s.csv", frame)
    if sidecar is not None:
        path.with_name(path.name + ".provenance.json").write_text(json.dumps(sidecar))
    with pytest.raises(DataCorruptError) as err:
        load_score_table([path])
    assert "column 'naswot', row 7 (line 8)" in str(err.value) and "'oops'" in str(err.value)
    result = _invoke(path, "--bootstrap", 5)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "'naswot', row 7" in result.stderr


@pytest.mark.parametrize("columns, words", [
    ([1, 2], ["'columns' must map"]),
    ({"naswot": {"role": "proxy"}}, ["role of column 'naswot'", "'proxy'"]),
    ({"naswot": {"role": "score", "direction": "up"}}, ["direction of 'naswot'", "'up'"]),
])
def test_bad_sidecar_roles_are_one_line_errors(tmp_path, columns, words):
    path = _write(tmp_path / "s.csv", _noisy_table(10))
    (tmp_path / "s.csv.provenance.json").write_text(json.dumps({"columns": columns}))
    with pytest.raises(DataCorruptError) as err:
        load_score_table([path])
    for word in words:
        assert word in str(err.value)


# ----------------------------------------------------------------------------- command line


def _invoke(*args):
    return CliRunner().invoke(correlate, [str(a) for a in args])


def test_cli_writes_csv_table_and_provenance(tmp_path):
    path = _write(tmp_path / "scores.csv", _noisy_table(60), {"naswot": "max", "synflow": "max",
                                                              "jacob_cov": "max", "snip": "max"})
    result = _invoke(path, "--target", ACC, "--bootstrap", 200, "--ensemble", "synflow,snip")
    assert result.exit_code == 0, result.output
    out = tmp_path / "scores.correlation.csv"
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns)[:9] == ["score", "target", "n", "kendall_tau", "kendall_lo", "kendall_hi",
                                         "spearman_rho", "spearman_lo", "spearman_hi"]
    assert "pair_agreement" in written.columns
    assert written["score"].tolist() == ["naswot", "synflow", "jacob_cov", "snip", "ensemble:synflow+snip", "vote"]
    assert set(written["target"]) == {ACC}
    frame = _noisy_table(60)
    naswot = written.iloc[0]
    assert float(naswot["kendall_tau"]) == pytest.approx(stats.kendalltau(frame["naswot"], frame[ACC]).statistic, abs=1e-6)
    assert float(naswot["kendall_lo"]) <= float(naswot["kendall_tau"]) <= float(naswot["kendall_hi"])
    vote = written.iloc[-1]
    assert vote["kendall_tau"] == "" and 0.5 < float(vote["pair_agreement"]) <= 1.0
    assert any(line.split()[:3] == ["naswot", ACC, "n=60"] for line in result.stdout.splitlines())
    record = json.loads((tmp_path / "scores.correlation.csv.provenance.json").read_text())
    assert record["arguments"]["bootstrap"] == 200 and record["targets"] == [ACC]


def test_cli_output_is_byte_identical_for_same_seed(tmp_path):
    path = _write(tmp_path / "s.csv", _noisy_table(50))
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / f"{name}.csv"
        assert _invoke(path, "--out", out, "--bootstrap", 100, "--seed", seed).exit_code == 0
        runs.append(out.read_bytes())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_cli_vote_on_hand_table_and_no_vote(tmp_path):
    frame = pd.DataFrame({"index": range(5), **VOTE_TABLE})
    path = _write(tmp_path / "v.csv", frame, {"synflow": "max", "jacob_cov": "min", "snip": "max"})
    result = _invoke(path, "--bootstrap", 20)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "v.correlation.csv").set_index("score")
    assert rows.loc["vote", "pair_agreement"] == pytest.approx(1.0)
    assert rows.loc["snip", "pair_agreement"] == pytest.approx(8.5 / 9, abs=1e-6)
    assert rows.loc["jacob_cov", "pair_agreement"] == pytest.approx(1.0)  # direction "min"
    assert rows.loc["jacob_cov", "kendall_tau"] < -0.9  # tau is of the raw score
    # another run: its default output is guarded, so the same file is named with --out
    assert _invoke(path, "--no-vote", "--bootstrap", 0, "--out", tmp_path / "v.correlation.csv").exit_code == 0
    assert "vote" not in pd.read_csv(tmp_path / "v.correlation.csv")["score"].tolist()


def test_cli_same_bytes_with_column_roles_as_with_older_sidecar(tmp_path):
    frame = _noisy_table(40)
    directions = {"naswot": "max", "synflow": "max", "jacob_cov": "min", "snip": "max"}
    old = _write(tmp_path / "old.csv", frame, directions)
    new = _write(tmp_path / "new.csv", frame)
    roles = score_csv_roles(directions, [ACC, ACC12], ["params", "train_time@12"], timing=True)
    (tmp_path / "new.csv.provenance.json").write_text(json.dumps({"columns": roles}))
    for path in (old, new):
        assert _invoke(path, "--out", path.with_suffix(".out"), "--bootstrap", 30).exit_code == 0
    assert old.with_suffix(".out").read_bytes() == new.with_suffix(".out").read_bytes()
    assert b"\nparams," not in new.with_suffix(".out").read_bytes()  # metadata: not correlated


def test_analysis_imports_neither_torch_nor_proxies():
    code = ("import sys, nasbench_cli.analysis.correlation_table, nasbench_cli.analysis.score_table\n"
            "assert 'torch' not in sys.modules and 'nasbench_cli.proxies' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "make, args, code, words",
    [
        (None, [], 2, ["does not exist", "missing.csv"]),
        (lambda p: _noisy_table(10).drop(columns=[ACC, ACC12]), [], 2, ["no accuracy column", "naswot"]),
        (lambda p: _noisy_table(10), ["--target", "cifar10/x-valid@200"], 2, ["accuracy column", ACC12]),
        (lambda p: _noisy_table(2), [], 1, ["fewer than 3"]),
        (lambda p: _noisy_table(10).drop(columns=["snip"]), ["--vote"], 2, ["snip"]),
        (lambda p: _noisy_table(10), ["--ensemble", "naswot,grasp"], 2, ["grasp", "synflow"]),
    ],
)
def test_cli_errors_are_one_line_with_exit_code(tmp_path, make, args, code, words):
    path = tmp_path / "missing.csv"
    if make is not None:
        path = _write(tmp_path / "s.csv", make(path))
    result = _invoke(path, *args, "--bootstrap", 10)
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


# ----------------------------------------------------------------------------- real ground truth


def test_real_ground_truth_table(tmp_path):
    source = _data_dir() / "nb201" / "ground_truth.csv"
    if not source.is_file():
        pytest.skip(f"real NB201 ground truth not found at {source} (set NASBENCH_TEST_DATA)")
    truth = pd.read_csv(source).iloc[:2600]  # above MATMUL_MAX_N: exercises the scipy bootstrap path
    frame = truth[["arch_index", "arch", ACC]].copy()
    # stand-in "proxies": accuracies of other (cheap) benchmark settings, one with -inf holes
    frame["synflow"] = truth[ACC12]
    frame["jacob_cov"] = truth["cifar100/x-valid@12"]
    frame["snip"] = truth["ImageNet16-120/x-valid@12"].where(truth.index % 50 != 0, -np.inf)
    path = _write(tmp_path / "gt.csv", frame)
    result = _invoke(path, "--bootstrap", 5)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "gt.correlation.csv").set_index("score")
    assert rows.loc["synflow", "kendall_tau"] == pytest.approx(stats.kendalltau(frame["synflow"], frame[ACC]).statistic, abs=1e-6)
    acc = frame[ACC].to_numpy()
    vote = derived.majority_pair_agreement([frame[m].to_numpy() for m in derived.VOTE_MEMBERS], ["max"] * 3, acc)
    # direct check on all pairs at once (n = 2600 fits in memory), independent of the blocking
    truth_sign = _cmp(acc[:, None], acc[None, :])
    votes = [_cmp(frame[m].to_numpy()[:, None], frame[m].to_numpy()[None, :]) * truth_sign for m in derived.VOTE_MEMBERS]
    agree, disagree = sum((v > 0).astype(int) for v in votes), sum((v < 0).astype(int) for v in votes)
    valid = np.triu(truth_sign != 0, k=1)
    credit = np.where(agree >= 2, 1.0, np.where(disagree >= 2, 0.0, 0.5))[valid]
    assert vote == pytest.approx(credit.mean(), abs=1e-12)
    assert rows.loc["vote", "pair_agreement"] == pytest.approx(vote, abs=1e-6)
    assert 0.6 < vote < 1.0


def test_a_column_added_after_scoring_is_correlated_with_score(tmp_path):
    """With a sidecar naming the proxies, a column added later is no score until --score says so."""
    frame = _noisy_table()
    frame["combo"] = frame["naswot"] - frame["snip"]  # the user's own combination
    path = _write(tmp_path / "s.csv", frame, proxies={"naswot": "max", "snip": "max"})
    runner = CliRunner()
    plain = runner.invoke(correlate, [str(path), "--bootstrap", "0", "--out", str(tmp_path / "a.csv")])
    assert plain.exit_code == 0, plain.output
    assert "combo" not in set(pd.read_csv(tmp_path / "a.csv")["score"])
    added = runner.invoke(correlate, [str(path), "--bootstrap", "0", "--score", "combo", "--out", str(tmp_path / "b.csv")])
    assert added.exit_code == 0, added.output
    rows = pd.read_csv(tmp_path / "b.csv")
    assert {"naswot", "snip", "combo"} == set(rows["score"])
    combo = rows[(rows["score"] == "combo") & (rows["target"] == ACC)]
    expected = stats.kendalltau(frame["combo"], frame[ACC]).statistic
    assert combo["kendall_tau"].iloc[0] == pytest.approx(expected, abs=1e-6)
    import nasbench_cli.api as nb

    table = nb.correlate(frame, bootstrap=0, scores=["combo"])  # the API: no sidecar, rule + combo
    assert "combo" in table.attrs["scores"]
    for bad, words in ((["--score", "nope"], "no such column"), (["--score", ACC], "accuracy column"),
                       (["--score", "arch"], "id or timing column")):
        result = runner.invoke(correlate, [str(path), "--bootstrap", "0", *bad, "--out", str(tmp_path / "c.csv")])
        assert result.exit_code != 0 and words in result.output, result.output


# ----------------------------------------------------------------------------- top of the ranking


def test_top_ranking_columns_in_csv_table_and_api(tmp_path):
    from nasbench_cli import api as nb
    from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS
    from nasbench_cli.analysis.top_ranking import top_ranking_metrics

    frame = _noisy_table(60)
    path = _write(tmp_path / "s.csv", frame, {"naswot": "max", "synflow": "max", "jacob_cov": "min", "snip": "max"})
    result = _invoke(path, "--target", ACC, "--bootstrap", 0)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "s.correlation.csv", keep_default_na=False)
    # the old columns keep their order; the new ones are appended
    assert list(written.columns) == [
        "score", "target", "n", "kendall_tau", "kendall_lo", "kendall_hi", "spearman_rho", "spearman_lo",
        "spearman_hi", "pair_agreement", "direction", "p@1%", "p@5%", "p@10%", "ndcg", "top1_acc", "regret"]
    rows = written.set_index("score")
    for name, sign in (("naswot", 1.0), ("jacob_cov", -1.0)):  # jacob_cov is "min" here: flipped
        expected = top_ranking_metrics(sign * frame[name].to_numpy(), frame[ACC].to_numpy())
        for key, value in expected.items():
            assert float(rows.loc[name, key]) == pytest.approx(value, abs=1e-6), (name, key)
    assert rows.loc["vote", "ndcg"] == "" and rows.loc["vote", "top1_acc"] == ""  # the vote ranks no network
    best = frame[ACC].max()
    assert float(rows.loc["naswot", "regret"]) == pytest.approx(best - float(rows.loc["naswot", "top1_acc"]))
    line = next(row for row in result.stdout.splitlines() if row.startswith("naswot"))
    assert "p@1/5/10%" in line and "ndcg" in line and "regret" in line
    api = nb.correlate(path, target=ACC, bootstrap=0)
    assert list(api.columns) == list(RESULT_COLUMNS)
    assert api.set_index("score").loc["naswot", "ndcg"] == pytest.approx(float(rows.loc["naswot", "ndcg"]), abs=1e-6)
    latex = _invoke(path, "--target", ACC, "--bootstrap", 0, "--format", "latex", "--out", tmp_path / "l.csv")
    assert latex.exit_code == 0 and "p@1\\%" in latex.stdout  # % is LaTeX's comment sign: escaped


def test_report_table_appends_top_ranking_columns_only_where_the_csv_has_them(tmp_path):
    from nasbench_cli.workflows.report import correlation_table

    path = _write(tmp_path / "s.csv", _noisy_table(40))
    assert _invoke(path, "--target", ACC, "--bootstrap", 0).exit_code == 0
    written = pd.read_csv(tmp_path / "s.correlation.csv", dtype=str, keep_default_na=False)
    table = correlation_table(written)
    old_headers = ["score", "target", "n", "Kendall tau [95% CI]", "Spearman rho [95% CI]", "pair agreement"]
    assert list(table.columns) == [*old_headers, "p@1%", "p@5%", "p@10%", "nDCG", "top-1 accuracy", "regret"]
    naswot = table.set_index("score").loc["naswot"]
    assert naswot["top-1 accuracy"] == f"{float(written.set_index('score').loc['naswot', 'top1_acc']):.2f}"
    older = written.drop(columns=["p@1%", "p@5%", "p@10%", "ndcg", "top1_acc", "regret"])
    assert list(correlation_table(older).columns) == old_headers  # a CSV written before: its table unchanged


def test_default_output_of_another_run_is_not_replaced(tmp_path):
    path = _write(tmp_path / "s.csv", _noisy_table(30))
    default = tmp_path / "s.correlation.csv"
    assert _invoke(path, "--target", ACC, "--bootstrap", 20).exit_code == 0
    first = default.read_bytes()
    assert _invoke(path, "--target", ACC, "--bootstrap", 20).exit_code == 0  # the same run replaces its own
    assert default.read_bytes() == first
    for other in (["--target", ACC12, "--bootstrap", 20], ["--target", ACC, "--bootstrap", 20, "--seed", 5],
                  ["--target", ACC, "--bootstrap", 20, "--ensemble", "naswot,snip"]):
        result = _invoke(path, *other)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "holds the output of another run" in lines[0] and "--out" in lines[0]
        assert default.read_bytes() == first
    elsewhere = tmp_path / "other.csv"
    assert _invoke(path, "--target", ACC12, "--bootstrap", 20, "--out", elsewhere).exit_code == 0
    assert _invoke(path, "--target", ACC12, "--bootstrap", 20, "--out", default).exit_code == 0  # asked for: replaced
    assert default.read_bytes() != first
    (tmp_path / "s.correlation.csv.provenance.json").unlink()
    orphan = _invoke(path, "--target", ACC, "--bootstrap", 20)
    assert orphan.exit_code == 2 and "no nasbench provenance record" in orphan.stderr


# ----------------------------------------------------------------------------- honest statistics


def test_small_n_is_a_warning_and_a_note_under_the_table_and_in_the_record(tmp_path):
    path = _write(tmp_path / "s.csv", _noisy_table(8))
    result = _invoke(path, "--target", ACC, "--bootstrap", 20)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "n < 20" in line]
    assert len(warnings) == 1 and "smallest n=8" in warnings[0]  # one line, whatever the number of pairs
    assert result.stdout.rstrip().splitlines()[-1].startswith("note: n < 20 for every correlation")
    record = json.loads((tmp_path / "s.correlation.csv.provenance.json").read_text())
    assert any("n < 20" in text for text in record["notes"])
    latex = _invoke(path, "--target", ACC, "--bootstrap", 0, "--format", "latex", "--out", tmp_path / "l.csv")
    assert latex.stdout.rstrip().splitlines()[-1].startswith("% note: n < 20")  # a LaTeX comment
    as_csv = _invoke(path, "--target", ACC, "--bootstrap", 0, "--format", "csv", "--out", tmp_path / "c.csv")
    assert "n < 20" not in as_csv.stdout  # the printed CSV stays the file's schema
    big = _write(tmp_path / "b.csv", _noisy_table(20))
    assert "n < 20" not in _invoke(big, "--target", ACC, "--bootstrap", 0).output


def test_seed_rank_aggregation_is_not_decided_by_one_seed():
    from types import SimpleNamespace

    from nasbench_cli.workflows.score import add_seed_columns

    # synflow-like: seed 1 spans 1e19..1e49 and would decide the mean of raw values alone
    values = {0: [3.0e20, 2.0e20, 1.0e20], 1: [1.0e19, 1.0e30, 1.0e49]}
    per_seed = {seed: {"synflow": {i: SimpleNamespace(value=v) for i, v in enumerate(vals)}}
                for seed, vals in values.items()}
    specs = [SimpleNamespace(name="synflow", direction="max")]
    mean_rows = [{"index": str(i)} for i in range(3)]
    rank_rows = [{"index": str(i)} for i in range(3)]
    add_seed_columns(mean_rows, per_seed, specs)  # the default
    add_seed_columns(rank_rows, per_seed, specs, "rank")
    means = [float(r["synflow"]) for r in mean_rows]
    assert np.argsort(means).tolist() == [0, 1, 2]  # seed 1's order alone
    # ranks: seed 0 gives 3, 2, 1; seed 1 gives 1, 2, 3: every network ties at 2
    assert [float(r["synflow"]) for r in rank_rows] == [2.0, 2.0, 2.0]
    assert rank_rows[2]["synflow@seed1"] == mean_rows[2]["synflow@seed1"]  # per-seed values as before
    per_seed[1]["synflow"][0] = SimpleNamespace(value=float("nan"))  # a failed seed: NaN, not a rank
    rows = [{"index": str(i)} for i in range(3)]
    add_seed_columns(rows, per_seed, specs, "rank")
    assert rows[0]["synflow"] == "nan" and float(rows[1]["synflow"]) == 1.5  # seed 1 ranks the other two 1, 2
    with pytest.raises(Exception, match="not one of mean, rank"):
        add_seed_columns(rows, per_seed, specs, "median")


def test_seed_aggregate_needs_seeds_and_is_checked_before_scoring(tmp_path):
    from nasbench_cli.cli import main

    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "params", "--n", "3",
                                       "--seed-aggregate", "rank", "--no-store", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "give --seeds too" in result.stderr
    assert not (tmp_path / "x.csv").exists()
    bad = CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "params", "--seeds", "0,1",
                                    "--seed-aggregate", "median", "--no-store"])
    assert bad.exit_code == 2 and "median" in bad.stderr
