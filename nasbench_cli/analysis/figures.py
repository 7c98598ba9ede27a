"""Figures from what the commands compute: score vs accuracy, correlation heatmaps, search results,
NASWOT kernels. Each function returns a ``matplotlib.figure.Figure``; ``save_figure`` writes it.

Figures are made without pyplot (no global state, no GUI backend: PNG is rendered by Agg, PDF and
SVG by matplotlib's vector backends), and matplotlib is imported only when a figure is drawn, so
the CLI does not pay for it. Output is deterministic: no creation date, no software stamp, a fixed
SVG id salt, so the same input gives the same bytes (with the same matplotlib version).

Every kind is meant to be readable as a paper figure at its default size: axes say what they show
in words and units (``axis_label``: ``cifar10/ori-test@200`` -> "CIFAR-10 test accuracy (%), 200
epochs"), titles are wrapped to their panel, and constrained layout keeps every label inside.

Kinds, after the NASWOT paper (Mellor et al., ICML 2021):

Titles say what a figure shows (``figure_titles``: space, dataset, proxies, target, networks, from
the provenance sidecars, else the columns), never a file name; ``title=""`` draws none.

- ``scatter_figure``: score vs accuracy, one panel per proxy, Kendall tau / Spearman rho in the
  title (Fig. 3 style); ``-inf`` scores (a singular NASWOT kernel) drawn at the left edge, NaN
  dropped, both counted; with ``log``, a log axis for synflow-like ranges and a symlog axis where
  such a range also holds zeros or negative scores (synflow is 0 for a disconnected cell).
- ``heatmap_figure``: proxy x target Kendall tau (or Spearman rho) with bootstrap intervals, cells
  of a fixed size (a one-row grid is not a strip).
- ``search_figure``: final accuracy distributions per algorithm (violin + box), a method whose
  spread dwarfs the others' (random) in its own full-range panel so the others are not squeezed,
  and mean +- std accuracy against mean cost (queries or seconds), methods in the NASWOT paper's
  order, training-free methods marked "no training" with their scoring cost, nothing at a negative cost.
- ``kernel_figure``: NASWOT kernel images K / N_A for a few networks, histograms of their
  off-diagonal entries, and the score histogram with those networks marked (Fig. 1/2 style).
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from nasbench_cli.errors import UsageError
from nasbench_cli.groundtruth.table import parse_accuracy_column
from nasbench_cli.output import format_float

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: file suffix -> matplotlib format
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
#: metadata that would change from run to run (dates) or stamp the writer, removed
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
#: the style every figure is drawn and saved in (sizes in points; big numbers get an offset, 1e4)
_RC = {"svg.hashsalt": "nasbench", "svg.fonttype": "path", "pdf.fonttype": 42, "font.size": 9,
       "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
       "legend.fontsize": 7, "figure.titlesize": 10, "axes.formatter.limits": (-3, 4)}
DPI = 120
PANEL = (4.0, 3.4)  # inches per scatter panel
CMAP_CORRELATION = "RdBu"
#: average advance of a character in em (DejaVu Sans digits are 0.64 em): used to wrap titles
_CHAR_EM = 0.62


def require_matplotlib():
    """The matplotlib module; a missing install is a one-line UsageError saying how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("figures need matplotlib: pip install 'nasbench-cli[plot]' (or pip install matplotlib)") \
            from None
    return matplotlib


_Draw = TypeVar("_Draw", bound=Callable[..., Any])


def _styled(draw: _Draw) -> _Draw:
    """Run a figure function under ``_RC``: text sizes are fixed when an artist is made, so the
    style must be in force while drawing, not only while saving."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with require_matplotlib().rc_context(_RC):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- labels -----------------------------------------------------------------------------------------
#: benchmark dataset keys -> names as papers print them (NB201 calls its train/valid split CIFAR-10-valid)
DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar10-valid": "CIFAR-10-valid", "cifar100": "CIFAR-100",
                 "ImageNet16-120": "ImageNet16-120", "synthetic": "synthetic"}
#: accuracy splits -> what they measure (NB201: ori-test is CIFAR-10's test set, x-test/x-valid halves of it)
SPLIT_NAMES = {"ori-test": "test", "x-test": "test", "test": "test", "x-valid": "validation",
               "valid": "validation", "ori-valid": "validation", "train": "train"}
#: cost columns and proxies in millions (proxies/params.py and proxies/flops.py divide by 1e6, as the tables)
UNIT_LABELS = {"params": "params (M)", "flops": "FLOPs (M)"}


def _epochs(hp: str) -> str:
    return (f"{int(hp)} epoch" + ("" if int(hp) == 1 else "s")) if hp.isdigit() else f"schedule {hp}"


def axis_label(column: str, short: bool = False) -> str:
    """A column key as a reader should see it on an axis, with its unit.

    ``cifar10/ori-test@200`` -> "CIFAR-10 test accuracy (%), 200 epochs" (``short``: "CIFAR-10\ntest,
    200 ep", for ticks); ``params`` -> "params (M)"; ``cifar10-valid/train_time@12`` -> "CIFAR-10-valid
    training time (s), 12 epochs"; any other column is a proxy's score: "naswot score".
    """
    column = str(column)
    parsed = parse_accuracy_column(column)
    if parsed is not None:
        dataset, split, hp = parsed
        name, measure = DATASET_NAMES.get(dataset, dataset), SPLIT_NAMES.get(split, split)
        if short:
            return f"{name}\n{measure}, {int(hp) if hp.isdigit() else hp} ep"
        return f"{name} {measure} accuracy (%), {_epochs(hp)}"
    if column in UNIT_LABELS:
        return UNIT_LABELS[column]
    dataset, _, metric = column.partition("/")
    name = DATASET_NAMES.get(dataset, dataset)
    if metric in UNIT_LABELS:
        return f"{name} {UNIT_LABELS[metric]}"
    if metric.startswith("train_time@"):
        return f"{name} training time (s), {_epochs(metric.partition('@')[2])}"
    return f"{column} score"


def _wrap(text: str, width_in: float, size: float) -> str:
    """``text`` wrapped, line by line, to ``width_in`` inches of ``size``-point characters."""
    chars = max(10, int(width_in * 72.0 / (_CHAR_EM * size)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) if line else line
                     for line in text.split("\n"))


# --- saving -----------------------------------------------------------------------------------------
def figure_format(path: Union[str, Path], fmt: Optional[str] = None) -> str:
    """The format of ``path`` from its suffix (``fmt`` overrides); UsageError for others."""
    if fmt is not None:
        if fmt not in FORMATS.values():
            raise UsageError(f"unknown figure format '{fmt}'; valid: {', '.join(FORMATS.values())}")
        return fmt
    suffix = Path(str(path)).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"{path}: a figure is written as {', '.join(FORMATS)} (the suffix says which)")
    return FORMATS[suffix]


def figure_bytes(fig: "Figure", fmt: str) -> bytes:
    """The figure in ``fmt`` (png, pdf or svg) as bytes, without dates or software stamps."""
    import io

    matplotlib = require_matplotlib()
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buffer.getvalue()


def save_figure(fig: "Figure", path: Union[str, Path], fmt: Optional[str] = None) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, or ``fmt``) atomically; returns the path."""
    path = Path(path)
    data = figure_bytes(fig, figure_format(path, fmt))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _new_figure(width: float, height: float) -> "Figure":
    matplotlib = require_matplotlib()
    with matplotlib.rc_context(_RC):
        from matplotlib.figure import Figure

        return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


# --- score vs accuracy ------------------------------------------------------------------------------
def _as_score_table(table: Any):
    from nasbench_cli.analysis.score_table import as_score_table

    return as_score_table(table)


#: --log draws a panel on a log axis when its finite non-zero scores span this ratio
LOG_SPAN = 100.0
#: at most this many labelled decades on a symlog axis (43 decades of synflow would overlap); two
#: fewer when both signs are drawn, their labels ("\u221210^-21") being wider
SYMLOG_TICKS = 6


def _score_scale(values: np.ndarray, log: bool) -> Tuple[str, Optional[float]]:
    """The x scale of a score panel, and the symlog linear threshold.

    With ``log``: "log" when every finite score is positive and they span LOG_SPAN; "symlog" when
    the non-zero magnitudes span LOG_SPAN but zeros or negative scores are among them (a log axis
    would drop those), linear below the smallest non-zero magnitude; else "linear".
    """
    if not log or values.size == 0:
        return "linear", None
    magnitudes = np.abs(values[values != 0])
    if magnitudes.size == 0 or float(magnitudes.max()) < LOG_SPAN * float(magnitudes.min()):
        return "linear", None
    if bool((values > 0).all()):
        return "log", None
    return "symlog", float(magnitudes.min())


def _forward(values: np.ndarray, scale: str, linthresh: Optional[float]) -> np.ndarray:
    """Values in (roughly) the axis' own coordinates, where a margin of the range is even."""
    if scale == "log":
        return np.log10(values)
    if scale == "symlog":
        return np.sign(values) * np.log10(1.0 + np.abs(values) / linthresh)
    return values


def _inverse(value: float, scale: str, linthresh: Optional[float]) -> float:
    if scale == "log":
        return 10.0**value
    if scale == "symlog":
        return math.copysign(linthresh * (10.0 ** abs(value) - 1.0), value)
    return value


def _edge_positions(finite: np.ndarray, scale: str, linthresh: Optional[float], count: int,
                    low: bool) -> np.ndarray:
    """Where to draw infinite scores: just outside the finite range, in the axis' coordinates."""
    values = _forward(finite, scale, linthresh)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    margin = 0.06 * (hi - lo) if hi > lo else 1.0
    return np.full(count, _inverse(lo - margin if low else hi + margin, scale, linthresh))


def _symlog_ticks(values: np.ndarray, linthresh: float) -> List[float]:
    """0 and a few signed decades (SYMLOG_TICKS) between the threshold and the largest magnitude
    (from the largest down, every k-th)."""
    first = math.ceil(math.log10(linthresh))
    sides = [(sign, range(first, math.floor(math.log10(float(side.max()))) + 1))
             for sign, side in ((1.0, values[values > 0]), (-1.0, -values[values < 0])) if side.size]
    most = SYMLOG_TICKS if len(sides) < 2 else SYMLOG_TICKS - 2
    stride = max(1, math.ceil(sum(len(exps) for _, exps in sides) / most))
    ticks = [0.0]
    for sign, exps in sides:
        ticks += [sign * 10.0**e for e in list(exps)[::-1][::stride]]
    return sorted(ticks)


def _decade_label(value: float, _position: object = None) -> str:
    if value == 0:
        return "0"
    return ("\N{MINUS SIGN}" if value < 0 else "") + f"$10^{{{round(math.log10(abs(value)))}}}$"


def _set_score_scale(ax: "Axes", scale: str, linthresh: Optional[float], values: np.ndarray) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    if scale == "log":
        ax.set_xscale("log")
    elif scale == "symlog":
        # the linear band round 0 gets about an eighth of the decades: 0 and the first decade stay apart
        decades = sum(math.log10(float(side.max()) / linthresh) for side in (values[values > 0], -values[values < 0])
                      if side.size)
        ax.set_xscale("symlog", linthresh=linthresh, linscale=max(1.0, 0.12 * decades))
        ax.xaxis.set_major_locator(FixedLocator(_symlog_ticks(values, linthresh)))
        ax.xaxis.set_major_formatter(FuncFormatter(_decade_label))
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # wide numbers: fewer ticks, not overlapping ones


_SCALE_NOTES = {"log": " (log scale)", "linear": " (linear scale)"}


def _panel_title(name: str, corr: Any, dropped: int) -> str:
    stats = [] if math.isnan(corr.kendall_tau) else [f"\N{GREEK SMALL LETTER TAU} = {corr.kendall_tau:.3f}",
                                                      f"\N{GREEK SMALL LETTER RHO} = {corr.spearman_rho:.3f}"]
    line = ",  ".join([*stats, f"n = {corr.n}"])
    return f"{name}\n{line}" + (f"\n({dropped} NaN dropped)" if dropped else "")


def _scatter_points(ax, xs: np.ndarray, ys: np.ndarray, finite: np.ndarray, scale: str, linthresh: float) -> bool:
    """One scatter panel's points; whether any got a legend entry (zeros, infinite scores)."""
    # on a symlog axis the zeros (synflow's disconnected cells) get their own colour and count
    zeros = finite & (xs == 0) if scale == "symlog" else np.zeros_like(finite)
    ax.scatter(xs[finite & ~zeros], ys[finite & ~zeros], s=9, alpha=0.6, linewidths=0, color="tab:blue")
    marked = False
    if zeros.any():
        ax.scatter(xs[zeros], ys[zeros], s=12, alpha=0.8, linewidths=0, color="tab:orange",
                   label=f"{int(zeros.sum())} at 0")
        marked = True
    for low, marker, text in ((True, "<", "-inf"), (False, ">", "+inf")):
        at_edge = ~finite & ((xs < 0) if low else (xs > 0))
        if at_edge.any():  # drawn at the panel's edge
            pos = _edge_positions(xs[finite], scale, linthresh, int(at_edge.sum()), low)
            ax.scatter(pos, ys[at_edge], s=14, marker=marker, color="tab:red", alpha=0.8,
                       label=f"{int(at_edge.sum())} at {text}")
            marked = True
    return marked


@_styled
def scatter_figure(
    table: Any,
    target: Optional[str] = None,
    scores: Optional[Sequence[str]] = None,
    log: bool = False,
    title: Optional[str] = None,
    space: Optional[str] = None,
    dataset: Optional[str] = None,
) -> "Figure":
    """Score vs ``target`` accuracy, one panel per score column, tau and rho in each title.

    ``table``: a DataFrame from ``nasbench_cli.api.score``, a ScoreTable, or score CSV path(s).
    ``target``: an accuracy column (default: the first). ``scores``: the score columns (default:
    all). ``log``: each panel's axis from ``_score_scale`` (log for synflow-like positive ranges,
    symlog where zeros or negative scores come with such a range, with the zeros marked; linear
    otherwise), every x label saying which. tau/rho are the correlate command's (ranks; -inf
    lowest; NaN dropped); infinite scores are drawn at the panel's edge.

    ``title``: the figure's title; None: what it shows (``figure_titles.scores_title``: scores,
    space, dataset, networks, target) from the CSVs' sidecars or the frame's ``attrs`` (else
    ``space`` and ``dataset``: scores joined to a benchmark by name), "" for none.
    """
    records = _score_records(table)
    table = _as_score_table(table)
    target = target or table.accuracies[0]
    if target not in table.accuracies:
        raise UsageError(f"unknown accuracy column '{target}'; accuracy columns: {', '.join(table.accuracies)}")
    names = list(scores) if scores else table.scores
    for name in names:
        if name not in table.directions:
            raise UsageError(f"unknown score column '{name}'; score columns: {', '.join(table.scores)}")
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    # a title is drawn unless "" is given (None: derived from the data); two lines at most once wrapped
    fig = _new_figure(PANEL[0] * cols, PANEL[1] * rows + (0.0 if title == "" else 0.45))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharey=True)).ravel()
    for position, (ax, name) in enumerate(zip(axes, names)):
        _scatter_panel(ax, table, name, target, log, position % cols == 0)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if title is None:
        from nasbench_cli.analysis.figure_titles import scores_title

        title = scores_title(names, target, len(table.frame), records, space, dataset)
    if title:
        fig.suptitle(_wrap(title, PANEL[0] * cols - 0.3, 10))
    return fig


def _scatter_panel(ax: "Axes", table: Any, name: str, target: str, log: bool, first_column: bool) -> None:
    """One score's panel: its points, scale, labels, and tau / rho / n in its title."""
    from nasbench_cli.analysis.correlation import correlate_pair

    accuracy = table.frame[target].to_numpy(dtype=np.float64)
    text_width = PANEL[0] - 0.3
    x = table.frame[name].to_numpy(dtype=np.float64)
    corr = correlate_pair(name, target, x, accuracy, table.directions[name], resamples=0)
    keep = ~(np.isnan(x) | np.isnan(accuracy))
    xs, ys = x[keep], accuracy[keep]
    finite = np.isfinite(xs)
    scale, linthresh = _score_scale(xs[finite], log)
    marked = _scatter_points(ax, xs, ys, finite, scale, linthresh)
    dropped = int((~keep).sum())
    _set_score_scale(ax, scale, linthresh, xs[finite])
    note = f" (symlog, linear within \u00b1{format_float(linthresh, significant=2)})" if scale == "symlog" else \
        (_SCALE_NOTES[scale] if log else "")
    ax.set_xlabel(_wrap(axis_label(name) + note, text_width, 9))
    ax.set_ylabel(_wrap(axis_label(target), PANEL[1] - 0.2, 9) if first_column else "")
    ax.set_title(_wrap(_panel_title(name, corr, dropped), text_width, 9))
    if marked:
        ax.legend(loc="lower right")
    ax.grid(True, alpha=0.3)


def _score_records(source: Any) -> List[Dict[str, Any]]:
    """What is known of where scores came from: the sidecars of score CSV paths (also a
    ScoreTable's sources), or a DataFrame's ``attrs`` (``nasbench_cli.api.score`` sets space,
    dataset), as records of ``figure_titles``."""
    import pandas as pd

    from nasbench_cli.analysis.figure_titles import read_record
    from nasbench_cli.analysis.score_table import ScoreTable

    if isinstance(source, pd.DataFrame):
        known = {key: source.attrs[key] for key in ("space", "dataset") if isinstance(source.attrs.get(key), str)}
        return [{"arguments": known, "dataset": known.get("dataset")}] if known else []
    paths = source.sources if isinstance(source, ScoreTable) else \
        ([source] if isinstance(source, (str, Path)) else source)
    if not isinstance(paths, (list, tuple)):
        return []
    return [record for record in (read_record(Path(p)) for p in paths if isinstance(p, (str, Path))) if record]


# --- correlation heatmap ----------------------------------------------------------------------------
STATISTICS = {"tau": ("kendall_tau", "kendall_lo", "kendall_hi", "Kendall tau"),
              "rho": ("spearman_rho", "spearman_lo", "spearman_hi", "Spearman rho")}


@_styled
def heatmap_figure(results: "pd.DataFrame", statistic: str = "tau", title: Optional[str] = None,
                   records: Sequence[Mapping[str, Any]] = ()) -> "Figure":
    """Score x target grid of Kendall tau (or Spearman rho) from correlate results, each cell with
    its 95% bootstrap interval.

    ``title``: None gives what the grid shows (``figure_titles.correlation_title``: statistic,
    scores, the space and dataset of ``records``, the provenance of the scored CSVs, and the
    networks), "" for none.

    ``results``: the rows `nasbench correlate` writes (``nasbench_cli.api.correlate`` returns
    them); a ``source`` column, when several result files are combined, names rows whose (score,
    target) pair occurs in more than one. Rows without the statistic (the vote has only a pair
    agreement) are left out.
    """
    if statistic not in STATISTICS:
        raise UsageError(f"unknown statistic '{statistic}'; valid: {', '.join(STATISTICS)}")
    value_col, lo_col, hi_col, label = STATISTICS[statistic]
    missing = [c for c in ("score", "target", value_col) if c not in results.columns]
    if missing:
        raise UsageError(f"not correlate results: no column {', '.join(missing)}")
    frame = results.copy()
    for column in (value_col, lo_col, hi_col):
        frame[column] = (frame[column].astype("float64") if column in frame.columns
                         else np.full(len(frame), np.nan))
    frame = frame[frame[value_col].notna()]
    if frame.empty:
        raise UsageError(f"no {label} values to draw")
    frame["row"] = frame["score"].astype(str)
    if "source" in frame.columns and frame.duplicated(["score", "target"]).any():
        repeated = frame.duplicated(["score", "target"], keep=False)
        frame.loc[repeated, "row"] = frame.loc[repeated, "score"].astype(str) + " (" + \
            frame.loc[repeated, "source"].astype(str) + ")"
    frame = frame.drop_duplicates(["row", "target"])
    rows = list(dict.fromkeys(frame["row"]))
    cols = list(dict.fromkeys(frame["target"].astype(str)))
    grid = np.full((len(rows), len(cols)), np.nan)
    texts = [["" for _ in cols] for _ in rows]
    for rec in frame.itertuples(index=False):
        r, c = rows.index(getattr(rec, "row")), cols.index(str(getattr(rec, "target")))
        value, lo, hi = (float(getattr(rec, k)) for k in (value_col, lo_col, hi_col))
        grid[r, c] = value
        texts[r][c] = f"{value:.3f}" + ("" if math.isnan(lo) else f"\n[{lo:.2f}, {hi:.2f}]")
    if title is None:
        from nasbench_cli.analysis.figure_titles import correlation_title

        title = correlation_title(label, list(dict.fromkeys(frame["score"].astype(str))), _most_networks(frame),
                                  records)
    return _draw_heatmap(grid, texts, rows, cols, label, title)


def _most_networks(frame: "pd.DataFrame") -> Optional[int]:
    """The most networks any row was computed on (the ``n`` column; None without one)."""
    if "n" not in frame.columns:
        return None
    counts = frame["n"].astype("float64")
    return int(counts.max()) if counts.notna().any() else None


#: inches per heatmap cell: "0.611" over "[0.60, 0.62]" at 7 pt, and a stacked target label at 8 pt
CELL = (1.1, 0.6)
#: the smallest side of the grid in inches: one row or one column is a readable block, not a strip
HEAT_MIN = 1.6


def _draw_heatmap(grid: np.ndarray, texts: List[List[str]], rows: List[str], cols: List[str], label: str,
                  title: str) -> "Figure":
    """The grid at a fixed cell size, the figure sized around it (tick labels, title, colour bar)."""
    width, height = max(HEAT_MIN, CELL[0] * len(cols)), max(HEAT_MIN, CELL[1] * len(rows))
    left = 0.6 + 0.06 * max(len(r) for r in rows)  # y tick labels at 8 pt and the axis label
    fig_width = left + width + 1.1  # colour bar, its ticks and label
    title = _wrap(title, fig_width - 0.3, 9)
    fig = _new_figure(fig_width, height + 1.35 + 0.18 * title.count("\n"))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=CMAP_CORRELATION, vmin=-1.0, vmax=1.0, aspect="auto")
    for r in range(len(rows)):
        for c in range(len(cols)):
            if texts[r][c]:
                ax.text(c, r, texts[r][c], ha="center", va="center", fontsize=7,
                        color="white" if abs(grid[r, c]) > 0.6 else "black")
    # stacked ("CIFAR-10" over "test, 200 ep"), not rotated: each label stays under its own column
    ax.set_xticks(range(len(cols)), labels=[axis_label(c, short=True) if parse_accuracy_column(c) else c
                                            for c in cols], fontsize=8)
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("target accuracy (dataset, split, training epochs)")
    ax.set_ylabel("proxy score")
    ax.set_title(title)
    # a fixed bar width: matplotlib's default (1/20 of the height) is a hairline beside one row
    fig.colorbar(image, ax=ax, label=label, aspect=max(5.0, height / 0.16), ticks=[-1.0, -0.5, 0.0, 0.5, 1.0])
    return fig


# --- search results ---------------------------------------------------------------------------------
#: the cost axes: a query is a look-up of a trained network's accuracy (what training would have cost)
COSTS = {"queries": "benchmark queries per run (trained networks looked up)",
         "seconds": "search seconds per run (simulated training + scoring)"}
#: a method whose accuracy range is this many times the others' median range (random: 10..94% against
#: 2..8 points) is drawn in its own full-range panel, so the others' distributions are not squeezed
WIDE_FACTOR = 4.0
#: inches per method in a distribution panel; points between methods drawn at one cost
SLOT = 0.95
DODGE_POINTS = 9.0
#: mean costs spanning this ratio are drawn on a symlog axis
COST_SPAN = 20.0


def _cost(frame: "pd.DataFrame", cost: str) -> Optional[np.ndarray]:
    """Each run's cost; None when a method has no seconds cost: it queried the benchmark, but no
    query recorded a training time (the table has none), so its seconds would be a fake 0."""
    queries = frame["queries"].to_numpy(dtype=np.float64)
    if cost == "queries":
        return queries
    simulated = frame["simulated_seconds"].to_numpy(dtype=np.float64)
    if bool((queries > 0).any()) and not bool((simulated > 0).any()):
        return None
    if "score_seconds" in frame.columns:
        simulated = simulated + np.nan_to_num(frame["score_seconds"].to_numpy(dtype=np.float64))
    return simulated


def _wide_methods(values: Mapping[str, np.ndarray]) -> List[str]:
    """Methods whose accuracy range exceeds WIDE_FACTOR times the median range of the others."""
    spans = {label: float(v.max() - v.min()) for label, v in values.items() if v.size}
    wide = [label for label, span in spans.items()
            if len(spans) > 1 and span > WIDE_FACTOR * float(np.median([s for other, s in spans.items()
                                                                        if other != label]))]
    return wide if len(wide) < len(spans) else []


def _distributions(ax: "Axes", labels: Sequence[str], values: Mapping[str, np.ndarray],
                   runs: Mapping[str, int]) -> None:
    """Violin (where the values vary) with a box plot inside, one per method."""
    positions = list(range(1, len(labels) + 1))
    drawn = [(p, values[label]) for p, label in zip(positions, labels) if values[label].size]
    varied = [(p, v) for p, v in drawn if np.unique(v).size > 1]  # a KDE of one value is singular
    if varied:
        parts = ax.violinplot([v for _, v in varied], positions=[p for p, _ in varied], showextrema=False)
        for body in parts["bodies"]:
            body.set_alpha(0.35)
    if drawn:
        ax.boxplot([v for _, v in drawn], positions=[p for p, _ in drawn], widths=0.18, showfliers=True,
                   flierprops={"markersize": 3})
    ax.set_xticks(positions, labels=[f"{_wrap(label, SLOT - 0.05, 7)}\n({runs[label]} runs)" for label in labels],
                  fontsize=7)
    ax.set_xlim(0.4, len(labels) + 0.6)
    ax.grid(True, axis="y", alpha=0.3)


def _zoom(ax: "Axes", values: Sequence[np.ndarray], pad: float = 0.06) -> Tuple[float, float]:
    """Set the y range to ``values``' own, a little padded; returns it."""
    every = np.concatenate([v for v in values if v.size]) if any(v.size for v in values) else np.zeros(1)
    lo, hi = float(every.min()), float(every.max())
    margin = pad * (hi - lo) if hi > lo else 0.5
    ax.set_ylim(lo - margin, hi + margin)
    return lo - margin, hi + margin


@_styled
def search_figure(runs: Mapping[str, "pd.DataFrame"], target: Optional[str] = None, cost: str = "queries",
                  title: Optional[str] = None, notes: Sequence[str] = (),
                  records: Sequence[Mapping[str, Any]] = ()) -> "Figure":
    """Search results per algorithm from `nasbench search` per-run CSVs (label -> frame).

    The per-run CSV holds each run's final choice, not a per-step trace, so there are no
    accuracy-vs-time curves. Methods are shown in the NASWOT paper's order (``method_order``),
    whatever the mapping's order. Top: each algorithm's distribution of final ``target`` accuracy
    over its runs (violin with a box plot inside); a method whose range dwarfs the others' (random)
    gets a full-range panel of its own and the others a zoomed one with its median as a reference
    line. Bottom: mean +- std accuracy against mean +- std cost (``queries``: benchmark queries, or
    ``seconds``: simulated training seconds plus scoring seconds). A training-free method (no
    query, no training) is at 0 queries with "no training" and its scoring cost (networks scored,
    seconds, from the CSV's ``scored`` and ``score_seconds``) in its legend entry; on the seconds
    axis at its scoring seconds. Methods at one cost are set side by side right of it, no error bar
    reaches below 0. A method without a seconds cost (a benchmark without training times) is left
    off that axis, with a note. ``title``: None gives one from ``records`` (the runs' provenance)
    and the columns (``figure_titles.search_title``), "" none. ``notes``: lines under the figure.
    """
    from nasbench_cli.analysis.figure_titles import search_title
    from nasbench_cli.analysis.method_order import paper_order

    if not runs:
        raise UsageError("no search runs to draw")
    if cost not in COSTS:
        raise UsageError(f"unknown cost '{cost}'; valid: {', '.join(COSTS)}")
    labels = paper_order(runs)
    first = runs[labels[0]]
    target = target or next((c for c in first.columns if "@" in str(c) and "/" in str(c)), None)
    if target is None:
        raise UsageError("no accuracy column in the search CSV; give --target")
    _check_search_tables(runs, target)
    values = {label: runs[label][target].to_numpy(dtype=np.float64) for label in labels}
    values = {label: v[~np.isnan(v)] for label, v in values.items()}
    counts = {label: len(runs[label]) for label in labels}
    if title is None:
        title = search_title(target, records, [counts[label] for label in labels])
    costs = {label: _cost(runs[label], cost) for label in labels}
    no_cost = [label for label in labels if costs[label] is None]
    notes = list(notes) + ([f"not on the seconds axis: {', '.join(no_cost)} (they queried the benchmark, which "
                            "records no training times: no seconds cost)"] if no_cost else [])
    wide = _wide_methods(values)
    narrow = [label for label in labels if label not in wide]
    widths = ([1.2 + SLOT * len(wide)] if wide else []) + [0.9 + SLOT * len(narrow)]
    fig_width = max(7.0, sum(widths) + 0.3)
    note_text = "\n".join(_wrap(note, fig_width - 0.4, 7) for note in notes)
    legend_rows = math.ceil(len(labels) / 2)
    fig = _new_figure(fig_width, 7.0 + 0.18 * legend_rows + (0.14 * (note_text.count("\n") + 1) if notes else 0)
                      + (0.45 if title else 0))
    grid = fig.add_gridspec(2, len(widths), width_ratios=widths, height_ratios=[1.0, 0.9])
    accuracy = axis_label(target)
    _distribution_panels(fig, grid, widths, wide, narrow, values, counts, accuracy)
    free = {label: _scoring_cost(runs[label]) for label in labels if _training_free(runs[label])}
    _cost_panel(fig, fig.add_subplot(grid[1, :]), labels, costs, values, wide, cost, accuracy, free)
    if notes:
        fig.supxlabel(note_text, fontsize=7)
    if title:
        fig.suptitle(_wrap(title, fig_width - 0.3, 10))
    return fig


def _distribution_panels(fig: "Figure", grid: Any, widths: Sequence[float], wide: Sequence[str],
                         narrow: Sequence[str], values: Mapping[str, np.ndarray], counts: Mapping[str, int],
                         accuracy: str) -> None:
    """The top row: the wide methods' full range (where there are any) and the others, zoomed."""
    if wide:
        full = fig.add_subplot(grid[0, 0])
        _distributions(full, wide, values, counts)
        full.set_title(_wrap(f"{', '.join(wide)}: full range", widths[0] - 0.5, 9))
        full.set_ylabel(_wrap(accuracy, 3.0, 9))
    main = fig.add_subplot(grid[0, len(widths) - 1])
    _distributions(main, narrow, values, counts)
    main.set_ylabel(_wrap(accuracy, 3.0, 9))
    if wide:
        _zoomed_with_medians(main, narrow, wide, values)
    else:
        main.set_title("accuracy of the chosen architecture")


def _check_search_tables(runs: Mapping[str, Any], target: str) -> None:
    for label, frame in runs.items():
        missing = [c for c in (target, "queries", "simulated_seconds") if c not in frame.columns]
        if missing:
            raise UsageError(f"{label}: not a search per-run table (no column {', '.join(missing)})")


def _zoomed_with_medians(main: "Axes", narrow: Sequence[str], wide: Sequence[str],
                         values: Mapping[str, np.ndarray]) -> None:
    """Zoom ``main`` on the narrow methods; the wide methods' medians as reference lines, where
    the zoomed range reaches them."""
    lo, hi = _zoom(main, [values[label] for label in narrow])
    medians = {label: float(np.median(values[label])) for label in wide if values[label].size}
    for index, (label, median) in enumerate(medians.items()):
        if lo <= median <= hi:
            main.axhline(median, color="0.4", linestyle=(0, (4, 2 + 2 * index)), linewidth=1.0,
                         label=f"{label} median")
    if main.get_legend_handles_labels()[0]:
        main.legend(loc="lower left")
    main.set_title("the other methods, zoomed")


def _training_free(frame: "pd.DataFrame") -> bool:
    """Whether no run of a method queried a trained network or spent simulated training time."""
    queries = np.nan_to_num(frame["queries"].to_numpy(dtype=np.float64))
    simulated = np.nan_to_num(frame["simulated_seconds"].to_numpy(dtype=np.float64))
    return not bool((queries > 0).any() or (simulated > 0).any())


def _scoring_cost(frame: "pd.DataFrame") -> Tuple[Optional[float], Optional[float]]:
    """A method's mean networks scored and mean scoring seconds per run (None: no such column)."""
    def mean(column: str) -> Optional[float]:
        if column not in frame.columns:
            return None
        data = frame[column].to_numpy(dtype=np.float64)
        return float(np.nanmean(data)) if bool((~np.isnan(data)).any()) else None

    return mean("scored"), mean("score_seconds")


def _free_label(label: str, scoring: Tuple[Optional[float], Optional[float]], cost: str) -> str:
    """A training-free method's legend entry: what it spent instead of training (networks scored,
    and on the queries axis the scoring seconds: on the seconds axis they are its x)."""
    scored, seconds = scoring
    spent = [f"{format_float(scored, significant=4)} nets scored"] if scored else []
    if seconds and cost == "queries":
        took = f"{seconds:,.1f} s" if seconds < 100 else f"{seconds:,.0f} s"
        spent.append(f"in {took}" if spent else f"{took} of scoring")
    return f"{label}: no training, " + (" ".join(spent) if spent else "nothing scored")


#: what the cost axis says at 0, where the training-free methods are
_AT_ZERO = {"queries": "0 queries: no training", "seconds": "0 s: nothing trained or scored"}


def _cost_panel(fig: "Figure", ax: "Axes", labels: Sequence[str], costs: Mapping[str, Optional[np.ndarray]],
                values_by_label: Mapping[str, np.ndarray], wide: Sequence[str], cost: str, accuracy: str,
                free: Mapping[str, Tuple[Optional[float], Optional[float]]]) -> None:
    """Mean +- std accuracy against mean +- std cost per method; methods at one cost side by side,
    shifted right of it in points (the x value stays exact and never goes below 0); wide methods
    off the zoomed range marked at its edge; training-free methods say so in the legend."""
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    points = _cost_points(labels, costs, values_by_label)
    if not points:
        ax.text(0.5, 0.5, "no method has this cost", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(f"{COSTS[cost]}, mean \u00b1 std")
        return
    xs = np.array([p[2] for p in points])
    positive = xs[xs > 0]
    # costs over more than COST_SPAN (NASWOT N=10/100/1000: 10 s .. 1000 s): symlog, 0 still drawn
    symlog = bool(positive.size) and float(xs.max()) > COST_SPAN * max(float(positive.min()), 1.0)
    if symlog:
        ax.set_xscale("symlog", linthresh=1.0)
    # methods at the same mean cost (e.g. every 0-query method) are set side by side, rightwards
    # from it: a shift to the left would draw a method at a negative cost
    same: Dict[float, List[str]] = {}
    for point in points:
        same.setdefault(round(point[2], 9), []).append(point[1])
    narrow_points = [p for p in points if p[1] not in wide] or points
    lows = [p[4] - p[5] for p in narrow_points]
    highs = [p[4] + p[5] for p in narrow_points]
    span = max(max(highs) - min(lows), 0.5)
    ylim = (min(lows) - 0.1 * span, max(highs) + 0.1 * span)
    ax.set_ylim(*ylim)
    for index, label, x, xerr, y, yerr in points:
        shift = same[round(x, 9)].index(label) * DODGE_POINTS / 72.0
        offset = ScaledTranslation(shift, 0.0, fig.dpi_scale_trans)
        color = f"C{index % 10}"
        name = _free_label(label, free[label], cost) if label in free else label
        if ylim[0] <= y <= ylim[1]:
            # the error bar stops at 0 on the left: a cost is never negative
            ax.errorbar(x, y, xerr=[[min(xerr, x)], [xerr]], yerr=yerr, fmt="o", capsize=3, color=color,
                        label=name, transform=ax.transData + offset, clip_on=False)
        else:  # a wide method whose mean is off the zoomed range: a marker at the edge saying where
            below = y < ylim[0]
            edge = blended_transform_factory(ax.transData, ax.transAxes) + offset
            ax.plot([x], [0.03 if below else 0.97], marker="v" if below else "^", linestyle="none", color=color,
                    transform=edge, clip_on=False,
                    label=f"{label}: {y:.1f} \u00b1 {yerr:.1f} ({'below' if below else 'above'} this range)")
    if any(p[2] == 0.0 for p in points):
        ax.annotate(_AT_ZERO[cost], xy=(0.0, 1.0), xycoords=blended_transform_factory(ax.transData, ax.transAxes),
                    xytext=(3, -3), textcoords="offset points", ha="left", va="top", fontsize=7, color="0.3")
    _cost_xlim(ax, np.array([p[2] + p[3] for p in points]), max(len(g) for g in same.values()), symlog)
    dodged = any(len(group) > 1 for group in same.values())
    ax.set_xlabel(_wrap(f"{COSTS[cost]}, mean \u00b1 std" + (" (methods at one cost side by side, to its right)"
                                                             if dodged else ""), fig.get_figwidth() - 1.2, 9))
    ax.set_ylabel(_wrap(f"{accuracy}, mean \u00b1 std", 2.6, 9))
    ax.set_title("accuracy vs search cost")
    ax.grid(True, alpha=0.3)
    # under the panel: on its right the legend would take width from the distribution panels above
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(2, len(points)))


def _cost_points(labels: Sequence[str], costs: Mapping[str, Optional[np.ndarray]],
                 values_by_label: Mapping[str, np.ndarray]) -> List[Tuple[int, str, float, float, float, float]]:
    """(colour index, label, mean cost, its std, mean accuracy, its std) of each method with a cost."""
    points = []
    for index, label in enumerate(labels):
        frame_cost = costs[label]
        if frame_cost is None:
            continue
        accuracy_values = values_by_label[label]
        keep = ~np.isnan(frame_cost)
        if not keep.any() or not accuracy_values.size:
            continue
        x = frame_cost[keep]
        points.append((index, label, float(x.mean()), float(x.std()), float(accuracy_values.mean()),
                       float(accuracy_values.std())))
    return points


def _cost_xlim(ax: "Axes", highs: np.ndarray, side_by_side: int, symlog: bool) -> None:
    """x limits from 0 (no cost is negative) to past every point and its error bar, padded in the
    axis' own coordinates on the right, where side-by-side points are shifted (points drawn with an
    offset transform do not autoscale)."""
    scale, thresh = ("symlog", 1.0) if symlog else ("linear", None)
    hi = float(_forward(np.array([max(float(highs.max()), 0.0)]), scale, thresh)[0])
    margin = (0.08 + 0.02 * side_by_side) * hi if hi > 0 else 1.0
    ax.set_xlim(0.0, _inverse(hi + margin, scale, thresh))


# --- NASWOT kernels ---------------------------------------------------------------------------------
def normalised_kernel(kernel: np.ndarray) -> np.ndarray:
    """K / N_A: the fraction of ReLU units whose binary codes agree (the diagonal holds N_A)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    length = float(np.max(np.diag(kernel)))
    return kernel / length if length > 0 else kernel


@_styled
def kernel_figure(
    kernels: Mapping[str, np.ndarray],
    scores: Optional[Sequence[float]] = None,
    marked: Optional[Mapping[str, float]] = None,
    score_name: str = "naswot",
    title: Optional[str] = None,
) -> "Figure":
    """NASWOT kernels of a few networks (label -> K, e.g. from ``nasbench_cli.api.naswot_kernels``).

    Top row: K / N_A as an image (examples x examples; 1 on the diagonal, an off-diagonal entry
    is the fraction of units two examples' binary codes share); bottom row: histogram of the
    off-diagonal entries. With ``scores`` (e.g. a score CSV's naswot column), a last panel shows
    their histogram with the networks of ``marked`` (label -> score) as vertical lines, named in a
    legend under it (off the bars). Histogram counts are whole numbers, and so are their ticks.
    """
    from matplotlib.ticker import MaxNLocator

    if not kernels:
        raise UsageError("no kernels to draw")
    labels = list(kernels)
    extra = 1 if scores is not None else 0
    column = 2.7
    fig = _new_figure(column * len(labels) + 0.8 + (column * 1.4 + 0.3) * extra, 5.6 + (0.4 if title else 0))
    # two subfigures, each laid out on its own: the legend under the score histogram does not
    # shorten the kernel panels beside it
    kernel_part, score_part = fig.subfigures(1, 2, width_ratios=[column * len(labels) + 0.8, column * 1.4 + 0.3]) \
        if extra else (fig, None)
    grid = kernel_part.add_gridspec(2, len(labels))
    image = None
    tops = []
    for index, label in enumerate(labels):
        normalised = normalised_kernel(kernels[label])
        top = kernel_part.add_subplot(grid[0, index])
        tops.append(top)
        image = top.imshow(normalised, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        top.set_title(_wrap(label, column - 0.4, 8), fontsize=8)
        top.set_xlabel("example")
        top.set_ylabel("example")
        bottom = kernel_part.add_subplot(grid[1, index])
        off = normalised[~np.eye(len(normalised), dtype=bool)]
        bottom.hist(off, bins=40, range=(0.0, 1.0), color="tab:blue", alpha=0.8)
        bottom.set_xlabel("K / N_A (off-diagonal)")
        bottom.set_ylabel("example pairs")
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks on a small batch
    if image is not None:
        kernel_part.colorbar(image, ax=tops, label="K / N_A", shrink=0.8)
    if score_part is not None:
        _score_histogram(score_part.add_subplot(), scores, marked, score_name, column * 1.4 - 0.4)
    if title:
        fig.suptitle(_wrap(title, fig.get_figwidth() - 0.4, 10))
    return fig


def _score_histogram(ax: "Axes", scores: Sequence[float], marked: Optional[Mapping[str, float]], score_name: str,
                     title_width: float) -> None:
    """The kernel figure's last panel: the scores' histogram, ``marked`` networks as vertical lines."""
    from matplotlib.ticker import MaxNLocator

    values = np.asarray(scores, dtype=np.float64)
    finite = values[np.isfinite(values)]
    ax.hist(finite, bins=30, color="tab:gray", alpha=0.7)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for index, (label, value) in enumerate((marked or {}).items()):
        if math.isfinite(value):
            ax.axvline(value, color=f"C{(index + 1) % 10}", linewidth=1.5, label=label.replace("\n", "  "))
    infinite = int((~np.isfinite(values) & ~np.isnan(values)).sum())
    ax.set_xlabel(f"{score_name} score")
    ax.set_ylabel("architectures")
    ax.set_title(_wrap(f"{score_name} scores (n={finite.size}" + (f", {infinite} infinite)" if infinite else ")"),
                       title_width, 8), fontsize=8)
    if marked:
        # under the axes: inside, a legend hides the tallest bars (they sit where the marked scores are)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=7)


def figure_axes_labels(fig: "Figure") -> List[Dict[str, str]]:
    """Each visible axes' title and labels (for checks: a figure says what it shows)."""
    return [{"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel()}
            for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
