"""Figures from what the commands compute: score vs accuracy, correlation heatmaps, search results,
NASWOT kernels. Each function returns a ``matplotlib.figure.Figure``; ``save_figure`` writes it.

Figures are made without pyplot (no global state, no GUI backend: PNG is rendered by Agg, PDF and
SVG by matplotlib's vector backends), and matplotlib is imported only when a figure is drawn, so
the CLI does not pay for it. Output is deterministic: no creation date, no software stamp, a fixed
SVG id salt, so the same input gives the same bytes (with the same matplotlib version).

Kinds, after the NASWOT paper (Mellor et al., ICML 2021):

- ``scatter_figure``: score vs accuracy, one panel per proxy, Kendall tau / Spearman rho in the
  title (Fig. 3 style); ``-inf`` scores (a singular NASWOT kernel) drawn at the left edge, NaN
  dropped, both counted; a log axis for synflow-like ranges.
- ``heatmap_figure``: proxy x target Kendall tau (or Spearman rho) with bootstrap intervals.
- ``search_figure``: final accuracy distributions per algorithm (violin + box) and mean +- std
  accuracy against mean cost (queries or seconds).
- ``kernel_figure``: NASWOT kernel images K / N_A for a few networks, histograms of their
  off-diagonal entries, and the score histogram with those networks marked (Fig. 1/2 style).
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from nasbench_cli.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

#: file suffix -> matplotlib format
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
#: metadata that would change from run to run (dates) or stamp the writer, removed
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
_RC = {"svg.hashsalt": "nasbench", "svg.fonttype": "path", "pdf.fonttype": 42, "font.size": 9}
DPI = 120
PANEL = (4.0, 3.3)  # inches per scatter panel
CMAP_CORRELATION = "RdBu"


def require_matplotlib():
    """The matplotlib module; a missing install is a one-line UsageError saying how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("figures need matplotlib: pip install 'nasbench-cli[plot]' (or pip install matplotlib)") \
            from None
    return matplotlib


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


def _edge_positions(finite: np.ndarray, log: bool, count: int, low: bool) -> Tuple[np.ndarray, float]:
    """Where to draw infinite scores: just outside the finite range (in log space for a log axis)."""
    values = np.log10(finite) if log else finite
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    margin = 0.06 * (hi - lo) if hi > lo else 1.0
    edge = lo - margin if low else hi + margin
    return np.full(count, 10**edge if log else edge), edge


#: --log draws a panel on a log axis when its finite scores are positive and span this ratio
LOG_SPAN = 100.0


def _wide_positive(values: np.ndarray) -> bool:
    """Finite scores all positive and spanning at least LOG_SPAN (synflow: 1e5..1e45)."""
    return values.size > 0 and bool((values > 0).all()) and float(values.max()) >= LOG_SPAN * float(values.min())


def scatter_figure(
    table: Any,
    target: Optional[str] = None,
    scores: Optional[Sequence[str]] = None,
    log: bool = False,
    title: Optional[str] = None,
) -> "Figure":
    """Score vs ``target`` accuracy, one panel per score column, tau and rho in each title.

    ``table``: a DataFrame from ``nasbench_cli.api.score``, a ScoreTable, or score CSV path(s).
    ``target``: an accuracy column (default: the first). ``scores``: the score columns (default:
    all). ``log``: log x axis for panels whose finite scores are all positive and span at least
    LOG_SPAN (synflow: 1e5..1e45); other panels stay linear; the axis label says which. tau/rho are the correlate
    command's (ranks; -inf lowest; NaN dropped); infinite scores are drawn at the panel's edge.
    """
    from nasbench_cli.analysis.correlation import correlate_pair

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
    fig = _new_figure(PANEL[0] * cols, PANEL[1] * rows + (0.3 if title else 0))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    accuracy = table.frame[target].to_numpy(dtype=np.float64)
    for ax, name in zip(axes, names):
        x = table.frame[name].to_numpy(dtype=np.float64)
        corr = correlate_pair(name, target, x, accuracy, table.directions[name], resamples=0)
        keep = ~(np.isnan(x) | np.isnan(accuracy))
        xs, ys = x[keep], accuracy[keep]
        finite = np.isfinite(xs)
        use_log = log and _wide_positive(xs[finite])
        ax.scatter(xs[finite], ys[finite], s=9, alpha=0.6, linewidths=0, color="tab:blue")
        notes = []
        for low, marker, text in ((True, "<", "-inf"), (False, ">", "+inf")):
            at_edge = ~finite & ((xs < 0) if low else (xs > 0))
            if at_edge.any():
                pos, _ = _edge_positions(xs[finite], use_log, int(at_edge.sum()), low)
                ax.scatter(pos, ys[at_edge], s=14, marker=marker, color="tab:red", alpha=0.8,
                           label=f"{int(at_edge.sum())} at {text}")
                notes.append(text)
        dropped = int((~keep).sum())
        if use_log:
            ax.set_xscale("log")
        xlabel = f"{name} score" + (" (log scale)" if use_log else "")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(target)
        stats = "" if math.isnan(corr.kendall_tau) else f"tau={corr.kendall_tau:.3f}  rho={corr.spearman_rho:.3f}  "
        ax.set_title(f"{name}: {stats}n={corr.n}" + (f" ({dropped} NaN dropped)" if dropped else ""))
        if notes:
            ax.legend(loc="lower right", fontsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


# --- correlation heatmap ----------------------------------------------------------------------------
STATISTICS = {"tau": ("kendall_tau", "kendall_lo", "kendall_hi", "Kendall tau"),
              "rho": ("spearman_rho", "spearman_lo", "spearman_hi", "Spearman rho")}


def heatmap_figure(results: "pd.DataFrame", statistic: str = "tau", title: Optional[str] = None) -> "Figure":
    """Score x target grid of Kendall tau (or Spearman rho) from correlate results, each cell with
    its 95% bootstrap interval.

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
    fig = _new_figure(max(4.0, 1.3 * len(cols) + 2.6), max(3.0, 0.7 * len(rows) + 1.9))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=CMAP_CORRELATION, vmin=-1.0, vmax=1.0, aspect="auto")
    for r in range(len(rows)):
        for c in range(len(cols)):
            if texts[r][c]:
                ax.text(c, r, texts[r][c], ha="center", va="center", fontsize=7,
                        color="white" if abs(grid[r, c]) > 0.6 else "black")
    ax.set_xticks(range(len(cols)), labels=cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("target (accuracy column)")
    ax.set_ylabel("score")
    ax.set_title(title or f"{label} with 95% bootstrap intervals")
    fig.colorbar(image, ax=ax, label=label)
    return fig


# --- search results ---------------------------------------------------------------------------------
COSTS = {"queries": "benchmark queries", "seconds": "search seconds (simulated training + scoring)"}


def _cost(frame: "pd.DataFrame", cost: str) -> np.ndarray:
    if cost == "queries":
        return frame["queries"].to_numpy(dtype=np.float64)
    total = frame["simulated_seconds"].to_numpy(dtype=np.float64)
    if "score_seconds" in frame.columns:
        total = total + np.nan_to_num(frame["score_seconds"].to_numpy(dtype=np.float64))
    return total


def search_figure(runs: Mapping[str, "pd.DataFrame"], target: Optional[str] = None, cost: str = "queries",
                  title: Optional[str] = None) -> "Figure":
    """Search results per algorithm from `nasbench search` per-run CSVs (label -> frame).

    The per-run CSV holds each run's final choice, not a per-step trace, so there are no
    accuracy-vs-time curves: the left panel shows each algorithm's distribution of final
    ``target`` accuracy over its runs (violin with a box plot inside), the right panel its mean
    +- std accuracy against its mean +- std cost (``queries`` or ``seconds``: simulated training
    seconds plus scoring seconds where recorded), one point per algorithm.
    """
    if not runs:
        raise UsageError("no search runs to draw")
    if cost not in COSTS:
        raise UsageError(f"unknown cost '{cost}'; valid: {', '.join(COSTS)}")
    labels = list(runs)
    first = runs[labels[0]]
    target = target or next((c for c in first.columns if "@" in str(c) and "/" in str(c)), None)
    if target is None:
        raise UsageError("no accuracy column in the search CSV; give --target")
    for label in labels:
        needed = [target, "queries", "simulated_seconds"]
        missing = [c for c in needed if c not in runs[label].columns]
        if missing:
            raise UsageError(f"{label}: not a search per-run table (no column {', '.join(missing)})")
    values = [runs[label][target].to_numpy(dtype=np.float64) for label in labels]
    values = [v[~np.isnan(v)] for v in values]
    fig = _new_figure(max(7.5, 1.1 * len(labels) + 4.5), 3.6)
    left, right = fig.subplots(1, 2, width_ratios=[max(1.0, 0.35 * len(labels)), 1.0])
    positions = list(range(1, len(labels) + 1))
    drawn = [(p, v) for p, v in zip(positions, values) if v.size]
    if drawn:
        parts = left.violinplot([v for _, v in drawn], positions=[p for p, _ in drawn], showextrema=False)
        for body in parts["bodies"]:
            body.set_alpha(0.35)
        left.boxplot([v for _, v in drawn], positions=[p for p, _ in drawn], widths=0.18, showfliers=True,
                     flierprops={"markersize": 3})
    left.set_xticks(positions, labels=[f"{label}\n({len(v)} runs)" for label, v in zip(labels, values)],
                    fontsize=7)
    left.set_xlim(0.4, len(labels) + 0.6)
    left.set_xlabel("algorithm")
    left.set_ylabel(f"final {target}")
    left.set_title("accuracy of the chosen architecture")
    left.grid(True, axis="y", alpha=0.3)
    spans = []
    for index, label in enumerate(labels):
        frame = runs[label]
        acc = frame[target].to_numpy(dtype=np.float64)
        cost_values = _cost(frame, cost)
        keep = ~np.isnan(acc) & ~np.isnan(cost_values)
        if not keep.any():
            continue
        x, y = cost_values[keep], acc[keep]
        spans.append(x)
        right.errorbar(x.mean(), y.mean(), xerr=x.std(), yerr=y.std(), fmt="o", capsize=3,
                       color=f"C{index % 10}", label=label)
    every = np.concatenate(spans) if spans else np.zeros(1)
    positive = every[every > 0]
    if positive.size and every.max() > 100 * max(positive.min(), 1.0):
        right.set_xscale("symlog", linthresh=1.0)
    right.set_xlabel(f"{COSTS[cost]}, mean \u00b1 std")
    right.set_ylabel(f"{target}, mean \u00b1 std")
    right.set_title("accuracy vs search cost")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    return fig


# --- NASWOT kernels ---------------------------------------------------------------------------------
def normalised_kernel(kernel: np.ndarray) -> np.ndarray:
    """K / N_A: the fraction of ReLU units whose binary codes agree (the diagonal holds N_A)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    length = float(np.max(np.diag(kernel)))
    return kernel / length if length > 0 else kernel


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
    their histogram with the networks of ``marked`` (label -> score) as vertical lines.
    """
    if not kernels:
        raise UsageError("no kernels to draw")
    labels = list(kernels)
    extra = 1 if scores is not None else 0
    fig = _new_figure(2.7 * (len(labels) + extra) + 0.6, 5.4)
    grid = fig.add_gridspec(2, len(labels) + extra, width_ratios=[1.0] * len(labels) + [1.4] * extra)
    image = None
    for column, label in enumerate(labels):
        normalised = normalised_kernel(kernels[label])
        top = fig.add_subplot(grid[0, column])
        image = top.imshow(normalised, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        top.set_title(label, fontsize=8)
        top.set_xlabel("example")
        top.set_ylabel("example")
        bottom = fig.add_subplot(grid[1, column])
        off = normalised[~np.eye(len(normalised), dtype=bool)]
        bottom.hist(off, bins=40, range=(0.0, 1.0), color="tab:blue", alpha=0.8)
        bottom.set_xlabel("K / N_A (off-diagonal)")
        bottom.set_ylabel("example pairs")
    if image is not None:
        fig.colorbar(image, ax=fig.axes[0::2], label="K / N_A", shrink=0.8)
    if scores is not None:
        ax = fig.add_subplot(grid[:, len(labels)])
        values = np.asarray(scores, dtype=np.float64)
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=30, color="tab:gray", alpha=0.7)
        for index, (label, value) in enumerate((marked or {}).items()):
            if math.isfinite(value):
                ax.axvline(value, color=f"C{(index + 1) % 10}", linewidth=1.5, label=label)
        infinite = int((~np.isfinite(values) & ~np.isnan(values)).sum())
        ax.set_xlabel(f"{score_name} score")
        ax.set_ylabel("architectures")
        ax.set_title(f"{score_name} scores (n={finite.size}" + (f", {infinite} infinite)" if infinite else ")"),
                     fontsize=8)
        if marked:
            ax.legend(fontsize=6, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


def figure_axes_labels(fig: "Figure") -> List[Dict[str, str]]:
    """Each visible axes' title and labels (for checks: a figure says what it shows)."""
    return [{"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel()}
            for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
