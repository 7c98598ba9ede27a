"""Every `nasbench plot` kind readable as a paper figure (issue 24 item 3): zero-aware log axes,
readable labels with units, titles and tick labels that fit, heatmaps of one row or column sized to
hold their text, integer histogram counts, a legend off the bars, a search figure that keeps random's
wide range from squeezing the others, and a search budget that says what was actually spent."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from nasbench_cli.analysis import figures
from nasbench_cli.workflows import plot as plots

TARGET = "cifar10/ori-test@200"
TARGETS = [TARGET, "cifar100/x-test@200", "ImageNet16-120/x-test@200", "cifar10-valid/x-valid@12",
           "cifar10/ori-test@12", "cifar100/x-valid@12", "cifar100/x-test@12", "ImageNet16-120/x-valid@12",
           "ImageNet16-120/x-test@12"]


# --- helpers ------------------------------------------------------------------------------------------
def _drawn(fig):
    """The figure laid out and rendered by Agg (constrained layout runs at draw time)."""
    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def _inside(box, outer, slack: float = 1.0) -> bool:
    return (box.x0 >= outer.x0 - slack and box.y0 >= outer.y0 - slack and box.x1 <= outer.x1 + slack
            and box.y1 <= outer.y1 + slack)


def _overlap(a, b, slack: float = 1.0) -> bool:
    return a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack


def _titles(fig):
    return [ax.title for ax in fig.axes if ax.get_visible() and ax.get_title()]


def _tick_labels(axis):
    """The tick labels drawn: those of ticks inside the view (the others keep stale positions)."""
    lo, hi = sorted(axis.get_view_interval())
    return [label for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
            if lo - 1e-9 * max(1.0, abs(lo)) <= loc <= hi + 1e-9 * max(1.0, abs(hi)) and label.get_visible()]


def _visible_texts(fig):
    """Every non-empty text the figure shows: titles, axis labels, tick labels, legends, notes."""
    texts = [t for t in fig.texts if t.get_text()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
    return [t for t in texts if t.get_text() and t.get_visible()]


def _assert_text_fits(fig):
    """No text outside the figure, no two axes titles overlapping."""
    renderer = _drawn(fig)
    outer = fig.bbox
    for text in _visible_texts(fig):
        box = text.get_window_extent(renderer)
        assert _inside(box, outer), f"{text.get_text()!r} extends outside the figure: {box} vs {outer}"
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _titles(fig)]
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        assert not _overlap(box_a, box_b), f"titles overlap: {a!r} and {b!r}"
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis) if ax.get_visible() else ():
            ticks = [(t.get_text(), t.get_window_extent(renderer)) for t in _tick_labels(axis) if t.get_text()]
            for (a, box_a), (b, box_b) in combinations(ticks, 2):
                assert not _overlap(box_a, box_b), f"tick labels overlap: {a!r} and {b!r}"
    return renderer


# --- labels -------------------------------------------------------------------------------------------
def test_column_keys_become_readable_labels_with_units():
    assert figures.axis_label(TARGET) == "CIFAR-10 test accuracy (%), 200 epochs"
    assert figures.axis_label("cifar100/x-test@200") == "CIFAR-100 test accuracy (%), 200 epochs"
    assert figures.axis_label("cifar10-valid/x-valid@12") == "CIFAR-10-valid validation accuracy (%), 12 epochs"
    assert figures.axis_label("ImageNet16-120/x-valid@90") == "ImageNet16-120 validation accuracy (%), 90 epochs"
    assert figures.axis_label("params") == "params (M)"  # proxies/params.py: millions of parameters
    assert figures.axis_label("flops") == "FLOPs (M)"  # proxies/flops.py: millions of multiply-adds
    assert figures.axis_label("cifar100/params") == "CIFAR-100 params (M)"
    assert figures.axis_label("cifar10-valid/train_time@12") == "CIFAR-10-valid training time (s), 12 epochs"
    assert figures.axis_label("naswot") == "naswot score"
    assert "\n" in figures.axis_label(TARGET, short=True)  # heatmap ticks: stacked, no rotation


def _scores(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Synflow-like scores (zeros for disconnected cells, the rest 1e5..1e44), a both-signs grasp,
    params in millions, an accuracy."""
    rng = np.random.default_rng(seed)
    synflow = 10.0 ** rng.uniform(5, 44, n)
    synflow[:6] = 0.0
    grasp = rng.normal(0, 1, n) * 10.0 ** rng.uniform(-38, 4, n)  # the zc network's grasp: 1e-38..1e4, both signs
    return pd.DataFrame({"index": range(n), "synflow": synflow, "grasp": grasp,
                         "params": rng.uniform(0.07, 1.5, n), TARGET: rng.uniform(10, 94, n)})


def test_log_scatter_with_zero_scores_is_symlog_and_shows_the_zeros():
    frame = _scores()
    fig = figures.scatter_figure(frame, TARGET, ["synflow", "grasp", "params"], log=True)
    _assert_text_fits(fig)  # "0" and the first decade of 39 do not collide
    synflow, grasp, params = (ax for ax in fig.axes if ax.get_visible())
    for ax in (synflow, grasp):
        assert ax.get_xscale() == "symlog", ax.get_xlabel()
        assert "(symlog, linear within" in ax.get_xlabel()
    # the six zero scores are drawn, inside the view and apart from the smallest positive score
    _drawn(fig)
    xs = np.concatenate([c.get_offsets()[:, 0] for c in synflow.collections])
    assert (xs == 0).sum() == 6
    lo, hi = synflow.get_xlim()
    assert lo < 0 < hi or lo <= 0 <= hi
    to_screen = synflow.transData.transform
    gap = to_screen((frame["synflow"][frame["synflow"] > 0].min(), 0))[0] - to_screen((0, 0))[0]
    assert gap > 5  # pixels: zero is not stacked on the smallest positive score
    # linear where the range is narrow, and the label says so instead of silently staying linear
    assert params.get_xscale() == "linear" and params.get_xlabel() == "params (M) (linear scale)"
    for ax in (synflow, grasp, params):
        assert ax.get_ylabel() in ("", "CIFAR-10 test accuracy (%), 200 epochs")
    assert synflow.get_ylabel() == "CIFAR-10 test accuracy (%), 200 epochs"


def test_six_panel_scatter_titles_fit_without_overlapping():
    rng = np.random.default_rng(1)
    n = 1000
    columns = {name: rng.normal(size=n) * 10 ** rng.uniform(0, 4, n)
               for name in ("grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov")}
    columns["jacob_cov"][:26] = np.nan  # "(26 NaN dropped)" lengthens its title
    frame = pd.DataFrame({"index": range(n), **columns, TARGET: rng.uniform(10, 94, n)})
    fig = figures.scatter_figure(frame, TARGET, log=True, title="nb201-cifar10.csv")
    _assert_text_fits(fig)
    assert any("26 NaN dropped" in t.get_text() for t in _titles(fig))


# --- heatmaps -----------------------------------------------------------------------------------------
def _correlations(scores, targets) -> pd.DataFrame:
    return pd.DataFrame([dict(score=s, target=t, n=1000, kendall_tau=0.5, kendall_lo=0.45, kendall_hi=0.55,
                              spearman_rho=0.6, spearman_lo=0.55, spearman_hi=0.65) for s in scores for t in targets])


@pytest.mark.parametrize("shape", ["1x9", "9x1", "1x1"])
def test_heatmaps_of_one_row_or_column_are_sized_to_hold_their_text(shape):
    rows, cols = map(int, shape.split("x"))
    scores = ["naswot", "synflow", "grasp", "snip", "fisher", "jacob_cov", "grad_norm", "params", "flops"][:rows]
    fig = figures.heatmap_figure(_correlations(scores, TARGETS[:cols]))
    renderer = _assert_text_fits(fig)
    heat, bar = fig.axes[0], fig.axes[1]
    box = heat.get_window_extent(renderer)
    assert box.height / fig.dpi >= 1.4 and box.width / fig.dpi >= 1.4, (box.width / fig.dpi, box.height / fig.dpi)
    assert bar.get_window_extent(renderer).width / fig.dpi >= 0.1  # a colour bar, not a hairline
    ticks = [t.get_window_extent(renderer) for t in heat.get_xticklabels() if t.get_text()]
    assert not any(_overlap(a, b) for a, b in combinations(ticks, 2))
    assert [t.get_text() for t in heat.get_xticklabels()][0] == figures.axis_label(TARGET, short=True)


# --- kernels ------------------------------------------------------------------------------------------
def test_kernel_histograms_count_in_integers_and_the_legend_keeps_off_the_bars():
    rng = np.random.default_rng(2)
    kernels = {}
    for label in ("#1\nacc 10.00  naswot 1.0", "#2\nacc 90.00  naswot 2.0"):
        codes = rng.integers(0, 2, size=(5, 40))
        kernels[label] = (codes @ codes.T + (1 - codes) @ (1 - codes).T).astype(float)
    scores = [1.0, 2.0, 1.5, 1.7]
    fig = figures.kernel_figure(kernels, scores, {label: i + 1.0 for i, label in enumerate(kernels)})
    renderer = _assert_text_fits(fig)
    histograms = [ax for ax in fig.axes if ax.get_ylabel() in ("example pairs", "architectures")]
    assert len(histograms) == 3
    for ax in histograms:
        lo, hi = ax.get_ylim()
        ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), (ax.get_ylabel(), ticks)
    score_axes = histograms[-1]
    legend = score_axes.get_legend()
    assert legend is not None
    assert not _overlap(legend.get_window_extent(renderer), score_axes.get_window_extent(renderer))


# --- search -------------------------------------------------------------------------------------------
def _search_csv(folder: Path, name: str, algo: str, accuracies, queries, simulated=None, scoring=None,
                extra=None, n=None, scored=0) -> Path:
    runs = len(accuracies)
    path = folder / f"{name}.csv"
    pd.DataFrame({"run": range(runs), "seed": range(runs), "index": range(runs), "arch": ["a"] * runs,
                  "score": [""] * runs, TARGET: accuracies, "queries": [queries] * runs,
                  "simulated_seconds": [0.0] * runs if simulated is None else simulated,
                  "scored": [scored] * runs, "score_seconds": [0.0] * runs if scoring is None else scoring}
                 ).to_csv(path, index=False)
    record = {"arguments": {"algo": algo, **({"n": n} if n else {})}, "algorithm": {"name": algo}, **(extra or {})}
    (folder / f"{name}.csv.provenance.json").write_text(json.dumps(record))
    return path


QUERY_FALLBACK = {"budget": "120q", "budget_unit": "queries",
                  "notes": ["the ground truth has no training times (column cifar10-valid/train_time@12): the "
                            "12000s budget falls back to 120 queries (100 s per query assumed)"]}


@pytest.fixture
def searches(tmp_path):
    """Random over 10..94%, NASWOT N=10/N=100 at 0 queries, REA and AREA on 120 queries (12000 s asked,
    no training times), as results/nb201 holds."""
    rng = np.random.default_rng(3)
    random = np.clip(rng.normal(88, 8, 200), 10, 94.0)
    random[:5] = 10.0
    rea_record = {**QUERY_FALLBACK, "arguments": {"algo": "rea", "budget_text": "12000s"}}
    area_record = {**QUERY_FALLBACK, "arguments": {"algo": "area", "budget_text": "12000s"}}
    return [_search_csv(tmp_path, "random", "random", random, 0),
            _search_csv(tmp_path, "naswot-n10", "naswot", rng.uniform(91.5, 94.0, 200), 0, scoring=[10.0] * 200,
                        n=10, scored=10),
            _search_csv(tmp_path, "naswot-n100", "naswot", rng.uniform(92.0, 94.2, 200), 0, scoring=[100.0] * 200,
                        n=100, scored=100),
            _search_csv(tmp_path, "rea", "rea", rng.uniform(93.0, 94.4, 200), 120, extra=rea_record),
            _search_csv(tmp_path, "area", "area", rng.uniform(93.1, 94.4, 200), 120, scoring=[20.0] * 200,
                        extra=area_record)]


def _figure_text(fig) -> str:
    return "\n".join(t.get_text() for t in _visible_texts(fig))


def test_search_figure_gives_random_its_own_panel_and_zooms_the_others(searches):
    fig = plots.draw("search", searches)
    _assert_text_fits(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    random_axes = [ax for ax in visible if "random" in ax.get_title()]
    assert random_axes, [ax.get_title() for ax in visible]
    frames = {path.stem: pd.read_csv(path) for path in searches}
    others = np.concatenate([frames[k][TARGET].to_numpy() for k in ("naswot-n10", "naswot-n100", "rea", "area")])
    # the panel with the other methods' distributions: its y range is theirs, not random's 10..94
    zoomed = [ax for ax in visible if ax not in random_axes and ax.get_ylim()[0] > 50]
    assert zoomed, [(ax.get_title(), ax.get_ylim()) for ax in visible]
    for ax in zoomed:
        lo, hi = ax.get_ylim()
        assert (others.max() - others.min()) / (hi - lo) >= 0.3, (ax.get_title(), lo, hi)


def test_search_methods_at_the_same_cost_are_all_visible(searches):
    fig = plots.draw("search", searches)
    _drawn(fig)
    cost_axes = next(ax for ax in fig.axes if ax.get_xlabel().startswith("benchmark queries"))
    centres = {}
    for container in cost_axes.containers:
        line = container.lines[0]
        centres[container.get_label()] = line.get_transform().transform(line.get_xydata())[0]
    at_zero = [label for label in centres if label.startswith("naswot")]
    assert len(at_zero) == 2
    xs = sorted(centres[label][0] for label in at_zero)
    assert xs[1] - xs[0] >= 4, centres  # pixels apart: neither hides the other


def test_search_seconds_axis_leaves_out_methods_without_a_seconds_cost(searches):
    fig = plots.draw("search", searches, cost="seconds")
    _assert_text_fits(fig)
    cost_axes = next(ax for ax in fig.axes if ax.get_xlabel().startswith("search seconds"))
    labels = [container.get_label() for container in cost_axes.containers]
    assert labels and not any(label.startswith(("rea", "area")) for label in labels), labels
    text = _figure_text(fig)
    assert "no seconds cost" in text and "rea" in text and "area" in text


def test_search_figure_says_the_budget_actually_used(searches):
    fig = plots.draw("search", searches)
    text = _figure_text(fig)
    assert "120 queries (12000 s asked; no training times)" in text, text
    assert "rea 120q" not in text


# --- issue 31 item 9: methods in the paper's order, an honest cost axis ---------------------------------
def _tick_methods(fig):
    """The methods of the distribution panels, left to right (wide panel first)."""
    return [" ".join(t.get_text().split("\n")[:-1]) for ax in fig.axes[:2] for t in ax.get_xticklabels()]


def test_search_methods_follow_the_declared_paper_order(searches, monkeypatch):
    from nasbench_cli.analysis import method_order

    # the files in another order than the paper's: the figure still reads NASWOT by N, Random, REA, AREA
    shuffled = [searches[i] for i in (4, 2, 0, 3, 1)]
    fig = plots.draw("search", shuffled)
    assert _tick_methods(fig) == ["random", "naswot N=10", "naswot N=100", "rea 120 queries", "area 120 queries"]
    cost_axes = next(ax for ax in fig.axes if ax.get_xlabel().startswith("benchmark queries"))
    legend = [t.get_text().split(":")[0] for t in cost_axes.get_legend().get_texts()]
    assert legend == ["random", "naswot N=10", "naswot N=100", "rea 120 queries", "area 120 queries"]
    # methods the list does not name come last, in the order given
    assert method_order.paper_order(["zeta", "REA", "alpha", "Random"]) == ["Random", "REA", "zeta", "alpha"]
    # the order comes from the one declared list: reversing it reverses the figure's methods
    monkeypatch.setattr(method_order, "PAPER_METHODS", tuple(reversed(method_order.PAPER_METHODS)))
    fig = plots.draw("search", shuffled)
    assert _tick_methods(fig) == ["random", "area 120 queries", "rea 120 queries", "naswot N=10", "naswot N=100"]


def _artist_xs(ax):
    """The data x of everything drawn in ``ax`` (points, error bars, caps, edge markers), read back
    from the screen: an offset transform that pushes a point left of 0 shows here."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    back = ax.transData.inverted()
    xs = []
    for artist in [*ax.lines, *ax.collections]:
        if isinstance(artist, Line2D):
            screen = artist.get_transform().transform(artist.get_xydata())
        elif isinstance(artist, LineCollection):
            segments = [s for s in artist.get_segments() if len(s)]
            if not segments:
                continue
            screen = artist.get_transform().transform(np.concatenate(segments))
        else:
            continue
        xs.append(back.transform(screen)[:, 0])
    return np.concatenate(xs)


@pytest.mark.parametrize("cost", ["queries", "seconds"])
def test_the_cost_axis_has_no_negative_cost_and_says_what_training_free_methods_cost(searches, cost):
    fig = plots.draw("search", searches, cost=cost)
    _assert_text_fits(fig)
    ax = next(ax for ax in fig.axes if ax.get_title() == "accuracy vs search cost")
    xs = _artist_xs(ax)
    assert xs.size >= 5 and xs.min() >= -1e-6, xs.min()  # nothing left of 0, side-by-side points included
    assert ax.get_xlim()[0] >= 0.0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    if cost == "queries":
        assert ax.get_xlabel().startswith("benchmark queries per run (trained networks looked up)")
        # NASWOT at 0 queries says what it spent instead: no training, its networks scored and seconds
        assert "naswot N=10: no training, 10 nets scored in 10.0 s" in labels, labels
        assert "naswot N=100: no training, 100 nets scored in 100 s" in labels, labels
        assert "0 queries: no training" in [t.get_text() for t in ax.texts]
    else:
        assert ax.get_xlabel().startswith("search seconds per run (simulated training + scoring)")
        # on the seconds axis NASWOT sits at its scoring seconds, not at 0
        centres = {c.get_label().split(":")[0]: c.lines[0].get_xydata()[0][0] for c in ax.containers}
        assert centres["naswot N=10"] == pytest.approx(10.0) and centres["naswot N=100"] == pytest.approx(100.0)


def test_the_search_title_says_space_dataset_target_and_runs(searches):
    for path in searches:  # the runs' provenance names their space and dataset
        sidecar = path.with_name(path.name + ".provenance.json")
        record = json.loads(sidecar.read_text())
        record["arguments"].update(space="nb201", dataset="cifar10")
        sidecar.write_text(json.dumps(record))
    title = plots.draw("search", searches)._suptitle.get_text().replace("\n", " ")
    assert title.startswith("Search on nb201, CIFAR-10: CIFAR-10 test accuracy (%), 200 epochs") and \
        "200 runs per method" in title, title
    assert plots.draw("search", searches, title="Figure 4")._suptitle.get_text() == "Figure 4"
