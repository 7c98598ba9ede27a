"""`nasbench plot` and nasbench_cli.analysis.figures: each kind on a small CSV, labelled, deterministic."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from nasbench_cli.analysis import figures
from nasbench_cli.cli import main
from nasbench_cli.commands import plot as plot_command

TARGET = "cifar10/ori-test@200"
PNG = b"\x89PNG\r\n\x1a\n"


def _run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture
def score_csv(tmp_path) -> Path:
    """Eight architectures, no sidecar (roles by the column rule): naswot with one -inf and one NaN,
    synflow over 40 decades."""
    path = tmp_path / "scores.csv"
    frame = pd.DataFrame({
        "index": range(8),
        "arch": [f"a{i}" for i in range(8)],
        "naswot": [310.0, -np.inf, 322.5, 318.0, np.nan, 330.1, 325.0, 301.2],
        "synflow": [1e5, 1e12, 3e20, 1e25, 5e30, 1e38, 2e44, 7e8],
        TARGET: [88.0, 10.0, 91.5, 90.2, 85.0, 94.1, 93.0, 80.3],
    })
    frame.to_csv(path, index=False)
    return path


def _titles(fig):
    return [labels["title"] for labels in figures.figure_axes_labels(fig)]


def test_scatter_titles_carry_the_correlations_and_handle_inf_and_nan(score_csv):
    fig = figures.scatter_figure([score_csv], log=True)
    labels = figures.figure_axes_labels(fig)
    # --log: every panel says its scale (naswot's narrow range stays linear, and says so)
    assert [l["xlabel"] for l in labels] == ["naswot score (linear scale)", "synflow score (log scale)"]
    # one accuracy axis, shared, labelled in words on the left panel
    assert [l["ylabel"] for l in labels] == ["CIFAR-10 test accuracy (%), 200 epochs", ""]
    frame = pd.read_csv(score_csv)
    for title, name in zip(_titles(fig), ("naswot", "synflow")):
        x, y = frame[name].to_numpy(), frame[TARGET].to_numpy()
        keep = ~np.isnan(x)
        tau = stats.kendalltau(x[keep], y[keep]).statistic  # -inf compares lowest
        rho = stats.spearmanr(x[keep], y[keep]).statistic
        assert title.startswith(f"{name}\n")
        assert f"\N{GREEK SMALL LETTER TAU} = {tau:.3f}" in title and \
            f"\N{GREEK SMALL LETTER RHO} = {rho:.3f}" in title and f"n = {keep.sum()}" in title
    assert "(1 NaN dropped)" in _titles(fig)[0]
    naswot_axes, synflow_axes = (ax for ax in fig.axes if ax.get_visible())
    assert naswot_axes.get_xscale() == "linear" and synflow_axes.get_xscale() == "log"
    assert [t.get_text() for t in naswot_axes.get_legend().get_texts()] == ["1 at -inf"]
    # the -inf architecture is drawn left of every finite score, at its accuracy
    edge = naswot_axes.collections[1].get_offsets()
    assert edge.shape == (1, 2) and edge[0, 0] < 301.2 and edge[0, 1] == 10.0


def test_scatter_command_writes_the_same_bytes_twice(score_csv, tmp_path):
    for suffix, magic in ((".png", PNG), (".pdf", b"%PDF-"), (".svg", b"<?xml")):
        outs = [tmp_path / f"s{i}{suffix}" for i in range(2)]
        for out in outs:
            result = _run(["plot", "scatter", str(score_csv), "--log", "--proxy", "synflow", "--out", str(out)])
            assert result.exit_code == 0, result.output
        data = outs[0].read_bytes()
        assert data.startswith(magic) and len(data) > 1000
        assert data == outs[1].read_bytes(), suffix


def test_out_dash_writes_the_figure_to_stdout(score_csv, tmp_path):
    result = CliRunner().invoke(main, ["plot", "scatter", str(score_csv), "--out", "-"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(PNG)
    result = CliRunner().invoke(main, ["plot", "scatter", str(score_csv), "--out", "-", "--format", "pdf"])
    assert result.stdout_bytes.startswith(b"%PDF-")
    assert not Path("-").exists()
    # default output: next to the CSV
    assert _run(["plot", "scatter", str(score_csv)]).exit_code == 0
    assert (tmp_path / "scores.scatter.png").read_bytes().startswith(PNG)


@pytest.fixture
def correlation_csv(tmp_path) -> Path:
    path = tmp_path / "run.correlation.csv"
    path.write_text(
        "score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi,pair_agreement,direction\n"
        f"naswot,{TARGET},300,0.574000,0.531000,0.612000,0.760000,0.720000,0.800000,0.787000,max\n"
        "naswot,cifar100/x-test@200,300,0.611000,0.570000,0.650000,0.790000,0.750000,0.820000,0.805000,max\n"
        f"synflow,{TARGET},300,-0.100000,-0.200000,0.010000,-0.150000,-0.250000,-0.050000,0.450000,max\n"
        "synflow,cifar100/x-test@200,300,0.300000,,,0.400000,,,0.650000,max\n"
        f"vote,{TARGET},300,,,,,,,0.700000,max\n")
    return path


def test_heatmap_cells_hold_the_values_and_intervals(correlation_csv, tmp_path):
    fig = plot_command.draw("heatmap", [correlation_csv])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "target accuracy (dataset, split, training epochs)" and ax.get_ylabel() == "proxy score"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["naswot", "synflow"]  # the vote has no tau
    assert [t.get_text() for t in ax.get_xticklabels()] == ["CIFAR-10\ntest, 200 ep", "CIFAR-100\ntest, 200 ep"]
    cells = {t.get_text() for t in ax.texts}
    assert cells == {"0.574\n[0.53, 0.61]", "0.611\n[0.57, 0.65]", "-0.100\n[-0.20, 0.01]", "0.300"}
    image = ax.images[0].get_array()
    assert image[1, 0] == pytest.approx(-0.1) and image[0, 1] == pytest.approx(0.611)
    rho = plot_command.draw("heatmap", [correlation_csv], statistic="rho")
    assert "0.760\n[0.72, 0.80]" in {t.get_text() for t in rho.axes[0].texts}
    out = tmp_path / "heat.pdf"
    assert _run(["plot", "heatmap", str(correlation_csv), "--out", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"%PDF-")


def _search_csv(folder: Path, name: str, algo: str, accuracies, queries, n=None):
    path = folder / f"{name}.csv"
    pd.DataFrame({"run": range(len(accuracies)), "seed": range(len(accuracies)), "index": range(len(accuracies)),
                  "arch": ["a"] * len(accuracies), "score": [""] * len(accuracies), TARGET: accuracies,
                  "queries": queries, "simulated_seconds": [q * 100.0 for q in queries],
                  "scored": [0] * len(accuracies)}).to_csv(path, index=False)
    arguments = {"algo": algo, **({"n": n} if n is not None else {})}
    (folder / f"{name}.csv.provenance.json").write_text(json.dumps({"arguments": arguments,
                                                                     "algorithm": {"name": algo}}))
    return path


def test_search_figure_shows_distributions_and_mean_cost(tmp_path):
    paths = [_search_csv(tmp_path, "random", "random", [85.0, 90.0, 70.0, 93.0], [0, 0, 0, 0]),
             _search_csv(tmp_path, "naswot-n10", "naswot", [92.0, 93.0, 91.0], [0, 0, 0], n=10),
             _search_csv(tmp_path, "rea", "rea", [94.0, 93.5], [150, 250])]
    fig = plot_command.draw("search", paths)
    # random's 70..93 spread gets its own full-range panel; the others a zoomed one
    full, zoomed, cost = fig.axes[:3]
    assert full.get_title() == "random: full range" and zoomed.get_title() == "the other methods, zoomed"
    assert [t.get_text().split("\n")[0] for t in full.get_xticklabels()] == ["random"]
    # the NASWOT paper's order (analysis/method_order.py), not the order of the files
    assert [t.get_text().split("\n")[0] for t in zoomed.get_xticklabels()] == ["naswot N=10", "rea"]
    accuracy = "CIFAR-10 test accuracy (%), 200 epochs"
    assert full.get_ylabel() == accuracy and zoomed.get_ylabel() == accuracy
    assert cost.get_xlabel().startswith("benchmark queries") and cost.get_ylabel().startswith("CIFAR-10 test")
    points = [container.lines[0].get_xydata()[0] for container in cost.containers]  # errorbar centres
    assert np.allclose(points, [[0.0, 92.0], [200.0, 93.75]])
    # random's mean is below the zoomed range: marked at its edge, with its value in the legend
    assert "random: 84.5 \u00b1 8.8 (below this range)" in [t.get_text() for t in cost.get_legend().get_texts()]
    seconds = plot_command.draw("search", paths, cost="seconds")
    assert seconds.axes[2].get_xlabel().startswith("search seconds")
    out = tmp_path / "search.png"
    assert _run(["plot", "search", *map(str, paths), "--out", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(PNG)
    summary = tmp_path / "random.summary.csv"
    summary.write_text("column,runs,mean,std,min,max\nqueries,4,0,0,0,0\n")
    result = CliRunner().invoke(main, ["plot", "search", str(summary), "--out", str(out)])
    assert result.exit_code == 2 and "per-run CSV" in result.output


def test_kernel_plot_recomputes_the_scored_kernels(tmp_path):
    csv = tmp_path / "naswot.csv"
    result = _run(["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--n", "4",
                   "--seed", "2", "--no-store", "--no-timing", "--quiet", "--executor", "sequential",
                   "--data-dir", str(tmp_path), "--out", str(csv)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(csv)
    picked = [int(i) for i in frame["index"][:2]]
    fig = plot_command.draw("kernel", [csv], archs=",".join(map(str, picked)))
    labels = figures.figure_axes_labels(fig)
    images = [l for l in labels if l["xlabel"] == "example"]
    assert len(images) == 2 and all(l["ylabel"] == "example" for l in images)
    for label, index, value in zip(images, picked, frame["naswot"][:2]):
        assert label["title"].startswith(f"#{index}") and f"naswot {value:.1f}" in label["title"]
    histograms = [l for l in labels if l["xlabel"] == "K / N_A (off-diagonal)"]
    assert len(histograms) == 2 and all(l["ylabel"] == "example pairs" for l in histograms)
    assert labels[-1]["xlabel"] == "naswot score" and labels[-1]["title"].startswith("naswot scores (n=4")
    kernel_axes = [ax for ax in fig.axes if ax.get_xlabel() == "example"]
    assert kernel_axes[0].images[0].get_array().shape == (8, 8)
    out = tmp_path / "kernel.png"
    assert _run(["plot", "kernel", str(csv), "--out", str(out)]).exit_code == 0  # 3 picked by accuracy
    assert out.read_bytes().startswith(PNG)


def test_options_of_another_kind_and_bad_inputs_are_one_line_errors(score_csv, correlation_csv, tmp_path):
    cases = [
        (["plot", "scatter", str(score_csv), "--statistic", "rho"], "--statistic applies to heatmap"),
        (["plot", "heatmap", str(correlation_csv), "--log"], "--log applies to scatter"),
        (["plot", "scatter", str(score_csv), "--out", str(tmp_path / "x.jpg")], ".png, .pdf, .svg"),
        (["plot", "heatmap", str(score_csv), "--out", str(tmp_path / "x.png")], "not a `nasbench correlate` CSV"),
        (["plot", "scatter", str(score_csv), "--target", "cifar10/nope@200"], "unknown accuracy column"),
        (["plot", "scatter", str(score_csv), "--out", str(score_csv)], "would write over"),
        (["plot", "kernel", str(score_csv), "--out", str(tmp_path / "k.png")], "no provenance sidecar"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output


def test_matplotlib_is_imported_only_when_a_figure_is_drawn():
    # statically: no module the CLI or the package imports pulls matplotlib in at import time
    # (a subprocess check would cost a full torch import)
    root = Path(plot_command.__file__).resolve().parents[1]
    for relative in ("cli.py", "__init__.py", "api.py", "commands/plot.py", "commands/report.py",
                     "workflows/plot.py", "workflows/kernels.py", "workflows/report.py", "analysis/figures.py"):
        tree = ast.parse((root / relative).read_text())
        top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        names = [alias.name for node in top for alias in node.names] + \
            [node.module or "" for node in top if isinstance(node, ast.ImportFrom)]
        assert not any(name.startswith(("matplotlib", "nasbench_cli.analysis.figures")) for name in names), relative
        assert not any(alias.name == "figures" for node in top if isinstance(node, ast.ImportFrom)
                       for alias in node.names), relative


def test_without_matplotlib_the_command_says_how_to_install_it(score_csv, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    result = CliRunner().invoke(main, ["plot", "scatter", str(score_csv), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "pip install 'nasbench-cli[plot]'" in result.output
    assert not (tmp_path / "x.png").exists()


def test_plot_inputs_with_text_where_numbers_belong_are_one_line(tmp_path):
    from click.testing import CliRunner

    from nasbench_cli.cli import main

    corr = tmp_path / "c.correlation.csv"
    corr.write_text("score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi,"
                    "pair_agreement,direction\nnaswot,cifar10/ori-test@200,10,abc,0.1,0.2,0.3,0.1,0.2,0.5,max\n")
    runs = tmp_path / "s.csv"
    runs.write_text("run,seed,index,arch,score,cifar10/ori-test@200,queries,simulated_seconds,scored\n"
                    "0,1,2,x,0.5,xyz,1,0,0\n")
    for args, fragment in ((["heatmap", str(corr)], "column 'kendall_tau', row 1 (line 2) holds a non-number: 'abc'"),
                           (["search", str(runs)], "holds a non-number: 'xyz'"),
                           (["kernel", str(runs), "--batch-size", "0"], "--batch-size"),
                           (["heatmap", str(corr), "--out", ""], "is not a file name")):
        result = CliRunner().invoke(main, ["plot", *args])
        assert result.exit_code in (1, 2) and fragment in result.output and "Traceback" not in result.output, args


# --- issue 31 item 9: titles say what a figure shows -------------------------------------------------
def _suptitle(fig) -> str:
    return fig._suptitle.get_text().replace("\n", " ") if fig._suptitle is not None else ""


SCORED = {"arguments": {"space": "nb201", "dataset": "cifar10", "network_variant": "zc", "augment": "train"}}


def test_scatter_title_comes_from_the_provenance_else_the_columns(score_csv, tmp_path):
    # without a sidecar: the columns (proxies, target, networks) and a plain word that the rest is unknown
    bare = _suptitle(figures.scatter_figure([score_csv], log=True))
    assert bare == ("naswot, synflow on space and dataset unknown: no provenance sidecar: 8 networks vs "
                    "CIFAR-10 test accuracy (%), 200 epochs"), bare
    # with one: space, dataset and the settings that tell runs apart; never the file's name
    (tmp_path / "scores.csv.provenance.json").write_text(json.dumps(SCORED))
    title = _suptitle(figures.scatter_figure([score_csv], log=True))
    assert title.startswith("naswot, synflow on nb201, CIFAR-10, zc network, train-augmented batch: 8 networks"), title
    assert "scores" not in title
    from_command = _suptitle(plot_command.draw("scatter", [score_csv], proxies=["naswot"]))
    assert from_command.startswith("naswot on nb201, CIFAR-10") and "8 networks vs CIFAR-10 test" in from_command
    # a DataFrame from the API carries its space and dataset in attrs
    frame = pd.read_csv(score_csv).assign(naswot=lambda f: f["naswot"].fillna(0.0))
    frame.attrs.update(space="nats_tss", dataset="cifar100")
    assert _suptitle(figures.scatter_figure(frame, TARGET, ["naswot"])).startswith("naswot on nats_tss, CIFAR-100: 8")
    # --title overrides, '' draws none
    out = tmp_path / "s.png"
    assert _run(["plot", "scatter", str(score_csv), "--title", "Figure 3", "--out", str(out)]).exit_code == 0
    assert _suptitle(plot_command.draw("scatter", [score_csv], title="Figure 3")) == "Figure 3"
    assert _suptitle(plot_command.draw("scatter", [score_csv], title="")) == ""


def test_heatmap_title_names_the_scored_runs(correlation_csv, tmp_path):
    bare = _suptitle_or_axes(plot_command.draw("heatmap", [correlation_csv]))
    assert bare == ("Kendall tau with 95% bootstrap intervals: naswot, synflow on space and dataset unknown: no "
                    "provenance sidecar, 300 networks"), bare
    # the correlate sidecar names its input; that score CSV's sidecar names space and dataset (found
    # beside the correlate CSV when the recorded path does not exist here)
    (tmp_path / "run.correlation.csv.provenance.json").write_text(json.dumps({"inputs": ["elsewhere/run.csv"]}))
    (tmp_path / "run.csv.provenance.json").write_text(json.dumps(SCORED))
    title = _suptitle_or_axes(plot_command.draw("heatmap", [correlation_csv], statistic="rho"))
    assert title == ("Spearman rho with 95% bootstrap intervals: naswot, synflow on nb201, CIFAR-10, zc network, "
                     "train-augmented batch, 300 networks"), title


def _suptitle_or_axes(fig) -> str:
    """The heatmap's title (on its axes)."""
    return fig.axes[0].get_title().replace("\n", " ")
