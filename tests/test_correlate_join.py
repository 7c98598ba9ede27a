"""Scores meet accuracies anywhere (issue 31 item 2): `correlate`/`plot scatter` --space/--dataset/
--ground-truth join a CSV of scores keyed by index or arch to a benchmark's accuracies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli import api as nb
from nasbench_cli.cli import main
from nasbench_cli.groundtruth.table import embedded_ground_truth

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "kendall" / "nb201-cifar10-scores.csv"  # index,naswot of all of NB201
COMMITTED_TAUS = ROOT / "results" / "kendall" / "nb201-cifar10.correlation.csv"
ACC = "cifar10/ori-test@200"


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(COMMITTED)


def _part(committed, rows: int = 60) -> pd.DataFrame:
    # every 250th network: a spread of accuracies, not only the first cells of the index order
    return committed.iloc[::250].head(rows).reset_index(drop=True)


def test_committed_whole_space_scores_join_to_the_embedded_table(tmp_path):
    out = tmp_path / "k.correlation.csv"
    result = _invoke("correlate", COMMITTED, "--space", "nb201", "--dataset", "cifar10", "--target", ACC,
                     "--bootstrap", 0, "--out", out)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out, dtype=str).iloc[0]
    committed_row = pd.read_csv(COMMITTED_TAUS, dtype=str).set_index("target").loc[ACC]
    # the committed table's tau and rho, from the scores alone
    assert row["n"] == "15625" == committed_row["n"]
    assert row["kendall_tau"] == committed_row["kendall_tau"] and row["spearman_rho"] == committed_row["spearman_rho"]
    record = pd.read_json(out.with_name(out.name + ".provenance.json"), typ="series")
    assert record["accuracies_joined"]["space"] == "nb201"
    assert record["accuracies_joined"]["joined_by"] == ["index"]
    assert "embedded NB201 table" in record["accuracies_joined"]["ground_truth"]


def test_dataset_keeps_its_columns_and_arch_keys_join_like_indices(committed, tmp_path):
    part = _part(committed)
    by_index = tmp_path / "by_index.csv"
    part.to_csv(by_index, index=False)
    truth = embedded_ground_truth()
    by_arch = tmp_path / "by_arch.csv"
    pd.DataFrame({"arch": [truth.arch(int(i)) for i in part["index"]], "naswot": part["naswot"]}).to_csv(
        by_arch, index=False)
    outs = []
    for path in (by_index, by_arch):
        out = path.with_suffix(".out.csv")
        result = _invoke("correlate", path, "--space", "nb201", "--dataset", "cifar100", "--bootstrap", 20,
                         "--out", out)
        assert result.exit_code == 0, result.output
        outs.append(pd.read_csv(out))
    assert outs[0]["target"].tolist() == ["cifar100/x-test@200", "cifar100/x-valid@12", "cifar100/x-test@12"]
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert (outs[0]["n"] == 60).all()


def test_ground_truth_file_and_rows_it_lacks(committed, tmp_path):
    part = _part(committed, 40)
    scores = tmp_path / "s.csv"
    part.to_csv(scores, index=False)
    truth = embedded_ground_truth().frame.reset_index()
    kept = truth[truth["arch_index"].isin(part["index"].iloc[:30])][["arch_index", "arch", ACC]]
    table = tmp_path / "truth.csv"
    kept.to_csv(table, index=False)
    out = tmp_path / "o.csv"
    result = _invoke("correlate", scores, "--ground-truth", table, "--bootstrap", 0, "--out", out)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written["target"].tolist() == [ACC] and written["n"].tolist() == [30]
    assert "10 architectures have no accuracy" in result.stderr
    api = nb.correlate(part, ground_truth=table, bootstrap=0)
    assert api["kendall_tau"].iloc[0] == pytest.approx(written["kendall_tau"].iloc[0], abs=1e-6)
    assert api.attrs["accuracies_joined"]["ground_truth"] == str(table)


def test_api_joins_a_frame_keyed_by_arch(committed):
    part = _part(committed, 30)
    truth = embedded_ground_truth()
    frame = pd.DataFrame({"arch": [truth.arch(int(i)) for i in part["index"]], "naswot": part["naswot"]})
    result = nb.correlate(frame, space="nb201", target=ACC, bootstrap=0)
    expected = nb.correlate(part.assign(**{ACC: [truth.accuracy(int(i), ACC) for i in part["index"]]}),
                            target=ACC, bootstrap=0)
    assert result["kendall_tau"].iloc[0] == pytest.approx(expected["kendall_tau"].iloc[0], abs=1e-12)
    assert result["ndcg"].iloc[0] == pytest.approx(expected["ndcg"].iloc[0], abs=1e-12)


@pytest.mark.parametrize("frame, args, code, words", [
    (pd.DataFrame({"index": [1, 2, 20000], "naswot": [1.0, 2.0, 3.0]}), ["--space", "nb201"], 1,
     ["line 4", "20000", "not an architecture index of nb201", "0..15624"]),
    (pd.DataFrame({"index": [0, 1, 2], "arch": [embedded_ground_truth().arch(i) for i in (0, 5, 2)],
                   "naswot": [1.0, 2.0, 3.0]}), ["--space", "nb201"], 1, ["line 3", "architecture 1", "nb201 lists"]),
    (pd.DataFrame({"arch": ["|conv9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|"] * 3, "naswot": [1.0, 2.0, 3.0]}),
     ["--space", "nb201"], 1, ["line 2", "is not an architecture of nb201"]),
    (pd.DataFrame({"net": [0, 1, 2], "naswot": [1.0, 2.0, 3.0]}), ["--space", "nb201"], 2,
     ["no 'index', 'arch_index' or 'arch' column"]),
    (pd.DataFrame({"index": [0, 1, 2], "naswot": [1.0, 2.0, 3.0]}), ["--dataset", "cifar10"], 2,
     ["--dataset", "--space or --ground-truth"]),
    (pd.DataFrame({"index": [0, 1, 2], "naswot": [1.0, 2.0, 3.0]}), ["--space", "nb201", "--dataset", "mnist"], 2,
     ["--dataset mnist", "cifar10"]),
    (pd.DataFrame({"index": [0, 1, 2], "naswot": [1.0, 2.0, 3.0]}), ["--space", "nb999"], 2, ["nb999", "nb201"]),
])
def test_keys_that_do_not_match_the_space_are_one_line_errors(tmp_path, frame, args, code, words):
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    result = _invoke("correlate", path, *args, "--bootstrap", 0)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_plot_scatter_joins_too(committed, tmp_path):
    path = tmp_path / "s.csv"
    _part(committed).to_csv(path, index=False)
    out = tmp_path / "s.png"
    result = _invoke("plot", "scatter", path, "--space", "nb201", "--dataset", "cifar10", "--target", ACC,
                     "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = _invoke("plot", "heatmap", path, "--space", "nb201", "--out", tmp_path / "h.png")
    assert refused.exit_code == 2 and "--space applies to scatter" in refused.stderr
    without = _invoke("plot", "scatter", path, "--out", tmp_path / "x.png")
    assert without.exit_code == 2 and "no accuracy column" in without.stderr
