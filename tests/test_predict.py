"""`nasbench predict`: encodings, predictor registry, the protocol's determinism, the real NB201
table with the committed NASWOT scores, bad input as one line, and the CLI end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.analysis.prediction import mean_interval, rank_fraction
from nasbench_cli.commands.predict import predict
from nasbench_cli.encodings import ENCODINGS, resolve_encoding
from nasbench_cli.encodings.adjacency import encode_spec
from nasbench_cli.encodings.onehot import COLUMNS as ONEHOT_COLUMNS, encode_arch
from nasbench_cli.errors import UnknownNameError, UsageError
from nasbench_cli.nb101.spec import ModelSpec
from nasbench_cli.predictors import INSTALL_HINT, PREDICTORS
from nasbench_cli.options import RunConfig
from nasbench_cli.workflows.predict import PredictJob, result_frames, run_predict

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[1]
NASWOT = ROOT / "results" / "kendall" / "nb201-cifar10-scores.csv"
SMALL = ("--space", "nb201", "--scores", str(NASWOT), "--train-sizes", "5,10", "--trials", "2", "--test-size", "50",
         "--no-timing")


def job(**options) -> PredictJob:
    defaults = dict(features=("naswot",), encoding="onehot", train_sizes=(5, 10), trials=2, test_size=50,
                    scores=(NASWOT,))
    defaults.update(options)
    return PredictJob(RunConfig("nb201", "cifar10", ()), **defaults)


def cli(args, tmp_path: Path):
    """Run the command in-process (as `nasbench predict`): exit code, stdout, stderr."""
    result = CliRunner().invoke(predict, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def nb201():
    from nasbench_cli.spaces import create_space

    return create_space("nb201", None)


# --- encodings ---------------------------------------------------------------------------------------
def test_onehot_sets_one_bit_per_edge_in_arch_string_order(nb201):
    arch = "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    bits = encode_arch(arch)
    assert bits.shape == (30,) and bits.sum() == 6
    on = [ONEHOT_COLUMNS[k] for k in np.flatnonzero(bits)]
    assert on == ["e01:none", "e02:skip_connect", "e12:nor_conv_1x1", "e03:nor_conv_3x3", "e13:avg_pool_3x3",
                  "e23:none"]
    index = nb201.index_of(arch)
    assert np.array_equal(ENCODINGS.get("onehot").encode(nb201, [index, index])[1], bits)


def test_adjacency_pads_nb101_cells_to_seven_vertices_with_no_op():
    # input -> conv3x3 -> maxpool -> output, plus input -> output: 4 vertices, padded to 7
    matrix = np.zeros((4, 4), dtype=int)
    matrix[0, 1] = matrix[1, 2] = matrix[2, 3] = matrix[0, 3] = 1
    vector = encode_spec(ModelSpec(matrix, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]))
    assert vector.shape == (36,)
    columns = ENCODINGS.get("adjacency").columns
    on = {columns[k] for k in np.flatnonzero(vector)}
    # the output is vertex 6 in the embedding: 2->3 becomes 2->6, 0->3 becomes 0->6
    assert on == {"edge01", "edge12", "edge26", "edge06", "v1:conv3x3-bn-relu", "v2:maxpool3x3"}
    assert not vector[21 + 6:].any()  # vertices 3, 4, 5 are padding: no op bit at all


def test_adjacency_encodes_through_the_space_without_its_table(tmp_path):
    from nasbench_cli.spaces import create_space

    space = create_space("nb101", tmp_path)
    arch = ("0111010000000100000010000100000000100000010000000|input,conv1x1-bn-relu,conv3x3-bn-relu,"
            "conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output")
    row = ENCODINGS.get("adjacency").encode(space, [space.index_of(arch)])[0]
    assert row[:21].sum() == 9 and row[21:].reshape(5, 3).sum(axis=1).tolist() == [1, 1, 1, 1, 1]


def test_channels_encoding_of_the_size_space():
    from nasbench_cli.spaces import create_space

    space = create_space("nats-sss", None)
    row = ENCODINGS.get("channels").encode(space, [space.index_of("8:16:24:32:64")])[0]
    assert row.tolist() == [0.125, 0.25, 0.375, 0.5, 1.0]


def test_auto_picks_each_spaces_encoding_and_refuses_the_others():
    assert resolve_encoding("auto", "nb201").name == "onehot"
    assert resolve_encoding("auto", "nats-tss").name == "onehot"
    assert resolve_encoding("auto", "nb101").name == "adjacency"
    assert resolve_encoding("auto", "nats-sss").name == "channels"
    assert resolve_encoding("none", "nds-darts") is None
    with pytest.raises(UsageError, match="--encoding none"):
        resolve_encoding("auto", "nds-darts")
    with pytest.raises(UsageError, match="applies to nb101, not nb201; for nb201 use onehot"):
        resolve_encoding("adjacency", "nb201")
    with pytest.raises(UnknownNameError, match="valid encoding names"):
        resolve_encoding("graph", "nb201")


def test_every_model_is_registered_and_builds_a_seeded_estimator():
    assert PREDICTORS.names() == ["gbt", "gp", "mlp", "rf"]
    for name in PREDICTORS.names():
        spec = PREDICTORS.get(name)
        model = spec.build(3)
        assert hasattr(model, "fit") and hasattr(model, "predict") and model.random_state == 3
        assert spec.backend() and isinstance(spec.hyperparameters(), dict)


# --- protocol ----------------------------------------------------------------------------------------
def test_rank_fraction_uses_the_training_values_only_and_ranks_minus_inf_lowest():
    train = np.array([1.0, 5.0, 3.0, -np.inf])
    assert rank_fraction(train, train).tolist() == [0.375, 0.875, 0.625, 0.125]
    assert rank_fraction(train, np.array([4.0, -np.inf, 100.0, 0.0])).tolist() == [0.75, 0.125, 1.0, 0.25]


def test_mean_interval_is_the_student_t_interval_of_the_mean():
    mean, lo, hi, std, k = mean_interval([0.1, 0.2, 0.3, float("nan")])
    assert k == 3 and mean == pytest.approx(0.2) and std == pytest.approx(0.1)
    assert hi - mean == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-6)


def test_same_seed_same_rows_whatever_sizes_are_asked_and_in_which_order():
    both = run_predict(job(train_sizes=(10, 5)))
    again = run_predict(job(train_sizes=(5, 10)))
    alone = run_predict(job(train_sizes=(10,)))
    assert both.rows == again.rows
    assert [r for r in both.rows if r["train_size"] == "10"] == alone.rows
    other = run_predict(job(train_sizes=(5, 10), seed=1))
    assert [r["kendall_tau"] for r in other.rows] != [r["kendall_tau"] for r in both.rows]


def test_compare_fits_the_three_feature_sets_on_the_same_training_nets():
    result = run_predict(job(compare=True))
    assert [r["feature_set"] for r in result.summary_rows] == ["onehot"] * 2 + ["onehot+naswot"] * 2 + ["naswot"] * 2 \
        + ["naswot (no training)"]  # the score's own ranking of the test set, last
    seeds = {s: [r["train_seed"] for r in result.rows if r["feature_set"] == s] for s in ("onehot", "naswot")}
    assert seeds["onehot"] == seeds["naswot"]
    assert result.provenance["test_set_score_tau"]["naswot"] > 0.4


def test_features_none_and_encoding_none_alone():
    encoding_only = run_predict(job(features=()))
    scores_only = run_predict(job(encoding="none"))
    assert {r["feature_set"] for r in encoding_only.rows} == {"onehot"}
    assert {r["feature_set"] for r in scores_only.rows} == {"naswot"}
    assert encoding_only.provenance["pool"] == 15625  # the file's rows, all labelled
    with pytest.raises(UsageError, match="nothing to learn from"):
        run_predict(job(features=(), encoding="none"))


def test_the_predictor_beats_chance_on_nb201_with_the_committed_naswot_scores():
    result = run_predict(job(train_sizes=(200,), trials=3, test_size=1000, model="gbt"))
    assert all(float(r["kendall_tau"]) > 0.3 for r in result.rows)
    assert result.summary[0]["kendall_tau_mean"] > 0.6


@pytest.mark.parametrize("model", ["rf", "gp", "mlp"])
def test_other_models_learn_too(model):
    result = run_predict(job(model=model, train_sizes=(100,), trials=2, test_size=200))
    assert all(float(r["kendall_tau"]) > 0.3 for r in result.rows)


def test_nan_scores_leave_the_pool_and_minus_inf_stays(tmp_path):
    frame = pd.read_csv(NASWOT).head(300)
    frame.loc[[3, 7], "naswot"] = np.nan
    frame.loc[[11, 12], "naswot"] = -np.inf
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    notes = []
    result = run_predict(job(scores=(path,), test_size=100), notify=notes.append)
    assert result.provenance["pool"] == 298
    assert any("2 architectures without a score (failed: naswot 2)" in n for n in notes)


# --- the CLI -----------------------------------------------------------------------------------------
def test_cli_writes_trials_summary_and_sidecars_byte_identical(tmp_path):
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run / "p.csv"
        code, stdout, _ = cli([*SMALL, "--compare", "--out", out, "-q"], tmp_path)
        assert code == 0 and "onehot+naswot" in stdout
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    summary = outs[0].with_name("p.summary.csv")
    assert summary.read_bytes() == outs[1].with_name("p.summary.csv").read_bytes()
    record = json.loads(outs[0].with_name("p.csv.provenance.json").read_text())
    assert record["test_size"] == 50 and record["feature_sets"] == ["onehot", "onehot+naswot", "naswot"]
    assert record["score_source"]["files"] == {str(NASWOT): record["score_source"]["files"][str(NASWOT)]}
    assert outs[0].with_name("p.summary.csv.provenance.json").is_file()
    trials = pd.read_csv(outs[0])
    assert list(trials.columns[:6]) == ["feature_set", "encoding", "features", "model", "train_size", "trial"]
    assert len(trials) == 3 * 2 * 2
    expected, expected_summary = result_frames(run_predict(job(compare=True)))
    pd.testing.assert_frame_equal(trials, expected)
    pd.testing.assert_frame_equal(pd.read_csv(summary), expected_summary)


def test_cli_computes_missing_scores_through_the_engine(tmp_path, shared_data):
    out = tmp_path / "e.csv"
    args = ["--space", "nb201", "--features", "naswot", "--batch-size", "16", "--pool", "12", "--test-size", "4",
            "--train-sizes", "5", "--trials", "1", "--data-dir", shared_data, "--store", tmp_path / "s.sqlite",
            "--executor", "sequential", "-q"]
    code, _, stderr = cli([*args, "--out", out], tmp_path)
    assert code == 0, stderr
    record = json.loads(out.with_name("e.csv.provenance.json").read_text())
    assert record["pool"] == 12 and record["score_source"]["engine"]["computed_scores"] == 12
    assert cli([*args, "--out", tmp_path / "f.csv"], tmp_path)[0] == 0  # every score now from the store
    again = json.loads((tmp_path / "f.csv.provenance.json").read_text())
    assert again["score_source"]["engine"]["computed_scores"] == 0


def test_the_figure_draws_the_trials_and_refuses_a_summary(tmp_path):
    from nasbench_cli.analysis.figures import figure_bytes
    from nasbench_cli.analysis.predict_figure import predict_figure, read_predict_trials

    pytest.importorskip("matplotlib")
    out = tmp_path / "p.csv"
    assert cli([*SMALL, "--compare", "--out", out, "-q"], tmp_path)[0] == 0
    fig = predict_figure(read_predict_trials([out]))
    assert len(fig.axes) == 2 and figure_bytes(fig, "png").startswith(b"\x89PNG")
    with pytest.raises(UsageError, match="summary"):
        read_predict_trials([out.with_name("p.summary.csv")])


@pytest.mark.parametrize("extra, message", [
    (("--features", "nonsense"), "feature 'nonsense' is not a score column"),
    (("--model", "svm"), "unknown model 'svm'; valid model names: gbt, gp, mlp, rf"),
    (("--encoding", "adjacency"), "encoding 'adjacency' applies to nb101, not nb201"),
    (("--target", "cifar10/x-valid@200"), "target 'cifar10/x-valid@200' is not a column of the ground truth"),
    (("--train-sizes", "5,20000"), "--train-sizes 20000 is larger than the 15575 labelled architectures left"),
    (("--train-sizes", "1"), "is not a training-set size"),
    (("--pool", "10"), "--pool chooses architectures to score"),
    (("--features", "none", "--encoding", "none"), "nothing to learn from"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, extra, message):
    out = tmp_path / "x.csv"
    code, stdout, stderr = cli([*SMALL, *extra, "--out", out], tmp_path)
    assert code == 2 and stderr.strip().splitlines() == [stderr.strip()] and message in stderr, stderr
    assert stderr.startswith("Error: ") and "Traceback" not in stderr and stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_proxy_is_refused_before_anything_is_computed(tmp_path):
    code, _, stderr = cli(["--space", "nb201", "--features", "nasbot", "--out", tmp_path / "x.csv"], tmp_path)
    assert code == 2 and "unknown proxy 'nasbot'" in stderr and list(tmp_path.iterdir()) == []


def test_a_missing_scikit_learn_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now raises ImportError
    code, _, stderr = cli([*SMALL, "--out", tmp_path / "x.csv"], tmp_path)
    assert code == 2 and stderr == f"Error: {INSTALL_HINT}\n"
    assert INSTALL_HINT == "nasbench predict needs scikit-learn: pip install 'nasbench-cli[predict]'"


def test_api_predict_returns_the_trial_frame_when_wired():
    import nasbench_cli.api as nb

    if not hasattr(nb, "predict"):
        pytest.skip("nasbench_cli.api.predict is not wired yet")
    frame = nb.predict("nb201", "naswot", scores=[NASWOT], train_sizes=(5, 10), trials=2, test_size=50,
                       compare=True)
    expected, summary = result_frames(run_predict(job(compare=True)))
    pd.testing.assert_frame_equal(frame, expected)
    pd.testing.assert_frame_equal(frame.attrs["summary"], summary)


# --- predictors beside their baselines (issue 31 item 3) ----------------------------------------------
def test_each_score_alone_is_in_the_summary_the_printed_table_and_the_record(tmp_path):
    from scipy import stats

    out = tmp_path / "p.csv"
    code, stdout, _ = cli([*SMALL, "--compare", "--out", out, "-q"], tmp_path)
    assert code == 0
    summary = pd.read_csv(out.with_name("p.summary.csv"))
    baseline = summary[summary["model"] == "none"].iloc[0]
    assert baseline["feature_set"] == "naswot (no training)" and baseline["train_size"] == 0
    record = json.loads(out.with_name("p.csv.provenance.json").read_text())
    assert baseline["kendall_tau_mean"] == pytest.approx(record["test_set_score_tau"]["naswot"], abs=1e-6)
    # the same number from the test set itself: the committed scores and the embedded table
    from nasbench_cli.analysis.prediction import split_pool
    from nasbench_cli.groundtruth.table import embedded_ground_truth

    scores = pd.read_csv(NASWOT).sort_values("index")
    accuracy = embedded_ground_truth().frame.loc[scores["index"], "cifar10/ori-test@200"].to_numpy()
    test = split_pool(len(scores), 50, 0).test
    tau = stats.kendalltau(scores["naswot"].to_numpy()[test], accuracy[test]).statistic
    assert baseline["kendall_tau_mean"] == pytest.approx(tau, abs=1e-6)
    assert f"naswot tau {baseline['kendall_tau_mean']:.3f}" in stdout
    assert "0 " not in stdout.split("no training")[0].splitlines()[-1][:3]  # no "train size 0" row in the table
    # --compare: the paired differences, as a table under the summary and in the record
    trials = pd.read_csv(out)
    for row in record["paired_differences"]:
        part = trials[trials["train_size"] == row["train_size"]].set_index(["feature_set", "trial"])["kendall_tau"]
        gaps = (part["onehot+naswot"] - part["onehot"]).to_numpy()
        assert row["vs_encoding_mean"] == pytest.approx(gaps.mean(), abs=1e-6)
        assert row["vs_encoding_lo"] == pytest.approx(mean_interval(list(gaps))[1], abs=1e-6)
    assert "both - onehot" in stdout and "both - naswot" in stdout


def test_training_sets_from_a_small_pool_get_a_warning(tmp_path):
    path = tmp_path / "small.csv"
    pd.read_csv(NASWOT).head(60).to_csv(path, index=False)
    notes = []
    run_predict(job(scores=(path,), test_size=30, train_sizes=(5, 20), trials=3), notify=notes.append)
    crowded = [n for n in notes if "not independent" in n]
    assert len(crowded) == 1 and "training sets of 20 drawn from a pool of 30 candidates" in crowded[0]
    notes.clear()
    run_predict(job(scores=(path,), test_size=30, train_sizes=(5, 10), trials=3), notify=notes.append)
    assert not [n for n in notes if "not independent" in n]


def test_the_figure_titles_its_panels_and_draws_each_score_alone(tmp_path):
    from nasbench_cli.analysis.predict_figure import predict_figure, read_predict_trials

    pytest.importorskip("matplotlib")
    out = tmp_path / "p.csv"
    assert cli([*SMALL, "--out", out, "-q"], tmp_path)[0] == 0
    record = json.loads(out.with_name("p.csv.provenance.json").read_text())
    fig = predict_figure(read_predict_trials([out]))
    tau_axis, rho_axis = fig.axes[:2]
    assert tau_axis.get_title() == "nb201 cifar10: predicting cifar10/ori-test@200, model gbt"
    levels = [line.get_ydata()[0] for line in tau_axis.get_lines() if "no training" in str(line.get_label())]
    assert levels == [pytest.approx(record["test_set_score_tau"]["naswot"])]
    assert any("no training" in str(line.get_label()) for line in rho_axis.get_lines())
