"""The figure of `nasbench predict`: rank correlation of a predictor's predictions with accuracy
against the number of trained architectures it was fitted on, one line per feature set.

``predict_figure(trials)`` takes the per-trial rows (a DataFrame of ``nasbench predict``'s CSV,
several concatenated, or ``nb.predict``'s frame) and draws, per statistic (Kendall tau, Spearman
rho), the mean over trials against the training-set size on a log axis, with the 95% Student-t
interval of the mean shaded (the summary CSV's ``_lo``/``_hi``). matplotlib is imported when the
figure is drawn (the ``plot`` extra); no pyplot state; ``figures.save_figure`` writes it with
deterministic bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from nasbench_cli.errors import DataCorruptError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

#: statistic column -> axis label
STATISTICS: Dict[str, str] = {"kendall_tau": "Kendall tau", "spearman_rho": "Spearman rho"}
REQUIRED = ("feature_set", "train_size", "trial")
PANEL = (4.6, 3.4)  # inches per panel
#: feature-set line styles: encoding only dashed, scores only dotted, both solid
STYLES = {"encoding": "--", "scores": ":", "both": "-"}


def read_predict_trials(paths: Sequence[Union[str, Path]]) -> "pd.DataFrame":
    """The per-trial CSVs of `nasbench predict` concatenated, each row with its ``source`` (the
    file's stem): the figure draws one row of panels per file. One-line errors for anything else."""
    import pandas as pd

    from nasbench_cli.errors import DataMissingError
    from nasbench_cli.untrusted import read_csv_frame

    frames, sources = [], {}
    for path in map(Path, paths):
        try:  # the checked layer: regular file (a FIFO never ends), bounded, one-line errors
            frame = read_csv_frame(path, "`nasbench predict` CSV")
        except DataMissingError:
            raise UsageError(f"{path}: no such file") from None
        frame = checked_trials(frame, str(path))
        frames.append(frame.assign(source=path.stem))
        sources[path.stem] = run_facts(_record(path))
    if not frames:
        raise UsageError("give at least one `nasbench predict` CSV")
    trials = pd.concat(frames, ignore_index=True)
    trials.attrs["sources"] = sources
    return trials


def _record(path: Path) -> Dict[str, object]:
    """The CSV's provenance record ({} without a readable one: the figure then says less)."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.provenance import load_sidecar

    try:
        return load_sidecar(path) or {}
    except NasbenchError:
        return {}


def run_facts(record: Dict[str, object]) -> Dict[str, object]:
    """What a panel says of its run, from its provenance: ``title`` (space, dataset, target and
    model) and ``baselines`` (statistic -> {score: its own value on the test set, no training})."""
    parts = [str(record[k]) for k in ("space", "dataset") if record.get(k)]
    title = " ".join(parts)
    if record.get("target"):
        title += (": " if title else "") + f"predicting {record['target']}"
    if record.get("model"):
        title += (", " if title else "") + f"model {record['model']}"
    baselines: Dict[str, Dict[str, float]] = {}
    for statistic, key in (("kendall_tau", "test_set_score_tau"), ("spearman_rho", "test_set_score_rho")):
        values = record.get(key)
        if isinstance(values, dict):
            # a statistic outside [-1, 1] is no run's: a damaged record draws no line
            baselines[statistic] = {str(k)[:80]: float(v) for k, v in values.items()
                                    if isinstance(v, (int, float)) and not isinstance(v, bool) and -1 <= v <= 1}
    return {"title": title, "baselines": baselines}


def check_trials(frame: "pd.DataFrame", where: str = "the frame") -> None:
    """UsageError unless ``frame`` holds `nasbench predict` trial rows (the summary CSV is not);
    DataCorruptError, naming column and row, for a value no run writes (see :func:`checked_trials`)."""
    checked_trials(frame, where)


def checked_trials(frame: "pd.DataFrame", where: str = "the frame") -> "pd.DataFrame":
    """``frame`` with the columns the figure draws checked where they enter: feature sets named,
    training-set sizes whole numbers in 1..MAX_TRAIN_SIZE, trials in 0..MAX_TRIALS, statistics in
    [-1, 1] (blank where a trial had none); errors name the column and row."""
    from nasbench_cli.analysis.value_checks import (
        MAX_TRAIN_SIZE,
        MAX_TRIALS,
        bounded_column,
        integer_column,
        text_column,
    )

    missing = [c for c in (*REQUIRED, *STATISTICS) if c not in frame.columns]
    if missing:
        hint = " (that is the .summary.csv; give the per-trial CSV)" if "kendall_tau_mean" in frame.columns else ""
        raise UsageError(f"{where} is not a `nasbench predict` per-trial CSV (no column {', '.join(missing)}){hint}")
    if frame.empty:
        raise DataCorruptError(f"{where} has no trial rows")
    checked = frame.copy()
    checked["feature_set"] = text_column(frame, "feature_set", where)
    checked["train_size"] = integer_column(frame, "train_size", where, 1, MAX_TRAIN_SIZE)
    checked["trial"] = integer_column(frame, "trial", where, 0, MAX_TRIALS)
    for statistic in STATISTICS:
        checked[statistic] = bounded_column(frame, statistic, where, -1.0, 1.0)
    return checked


def curve(frame: "pd.DataFrame", statistic: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sizes, mean, lo, hi) of one feature set's trials: mean over finite values per size and
    the 95% Student-t interval of the mean (NaN where one trial)."""
    from nasbench_cli.analysis.prediction import mean_interval

    sizes = np.array(sorted(frame["train_size"].unique()), dtype=np.float64)
    stats = [mean_interval(frame.loc[frame["train_size"] == s, statistic].astype(float).tolist()) for s in sizes]
    mean, lo, hi = (np.array([row[k] for row in stats], dtype=np.float64) for k in range(3))
    return sizes, mean, lo, hi


def _style(frame: "pd.DataFrame") -> str:
    encoding, features = _parts(frame)
    if encoding == "none":
        return STYLES["scores"]
    if features == "none":
        return STYLES["encoding"]
    return STYLES["both"]


def _parts(frame: "pd.DataFrame") -> Tuple[str, str]:
    """(encoding, features) of one feature set's rows ("none" where absent)."""
    def first(column: str) -> str:
        if column not in frame.columns:
            return "none"
        value = str(frame[column].iloc[0])
        return "none" if value in ("", "nan") else value

    return first("encoding"), first("features")


def legend_label(frame: "pd.DataFrame", label: str) -> str:
    """The feature set's label, with more than three scores counted ("onehot + 7 scores")."""
    encoding, features = _parts(frame)
    names = [] if features == "none" else features.split("+")
    if len(names) <= 3:
        return label
    counted = f"{len(names)} scores"
    return counted if encoding == "none" else f"{encoding} + {counted}"


def predict_figure(trials: "pd.DataFrame", statistics: Sequence[str] = tuple(STATISTICS),
                   title: Optional[str] = None) -> "Figure":
    """Mean tau (and rho) vs training-set size (log x), one line per feature set, 95% interval
    of the mean shaded; a dashed line is an encoding alone, dotted the scores alone, solid both.
    Rows of ``trials`` with a ``source`` column (several CSVs, ``read_predict_trials``) get one
    row of panels per source."""
    from nasbench_cli.analysis.figures import DPI, require_matplotlib

    trials = checked_trials(trials)
    unknown = [s for s in statistics if s not in STATISTICS]
    if unknown or not statistics:
        raise UsageError(f"unknown statistic {unknown[0] if unknown else ''!r}; valid: {', '.join(STATISTICS)}")
    sources: List[Optional[str]] = (list(dict.fromkeys(trials["source"].astype(str)))
                                    if "source" in trials.columns else [None])
    facts = trials.attrs.get("sources") if isinstance(trials.attrs.get("sources"), dict) else {}
    if not facts and isinstance(trials.attrs.get("provenance"), dict):  # nb.predict's frame
        facts = {None: run_facts(trials.attrs["provenance"])}
    matplotlib = require_matplotlib()
    with matplotlib.rc_context({"font.size": 9}):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(PANEL[0] * len(statistics), PANEL[1] * len(sources)), dpi=DPI, layout="constrained")
        grid = fig.subplots(len(sources), len(statistics), squeeze=False)
        colours = matplotlib.colormaps["tab10"]
        for row, source in enumerate(sources):
            part = trials if source is None else trials[trials["source"].astype(str) == source]
            fact = facts.get(source, {})
            for ax, statistic in zip(grid[row], statistics):
                _draw_panel(ax, part, statistic, colours)
                _draw_baselines(ax, fact.get("baselines", {}).get(statistic, {}))
                label = fact.get("title") or source
                if label:
                    ax.set_title(label, fontsize=9)
            grid[row][0].legend(loc="lower right", fontsize=8, title="features", title_fontsize=8)
        trial_count = int(trials.groupby([c for c in ("source", "feature_set", "train_size")
                                          if c in trials.columns]).size().max())
        model = f"{trials['model'].iloc[0]}: " if "model" in trials.columns else ""
        fig.suptitle(title or f"{model}mean over {trial_count} trials, 95% interval of the mean shaded")
    return fig


def _draw_baselines(ax, values: Dict[str, float]) -> None:
    """A grey horizontal line per score at its own value on the test set (no training): what a
    predictor must beat to add anything to the score alone."""
    styles = ("-.", (0, (1, 1)), (0, (5, 2, 1, 2)))
    for k, (name, value) in enumerate(values.items()):
        if np.isfinite(value):
            ax.axhline(value, color="0.35", linewidth=1.0, linestyle=styles[k % len(styles)],
                       label=f"{name} alone, no training ({value:.3f})")


def _draw_panel(ax, trials: "pd.DataFrame", statistic: str, colours) -> None:
    labels: List[str] = list(dict.fromkeys(trials["feature_set"].astype(str)))
    sizes_all = sorted(trials["train_size"].unique())
    for k, label in enumerate(labels):
        part = trials[trials["feature_set"].astype(str) == label]
        sizes, mean, lo, hi = curve(part, statistic)
        colour = colours(k % 10)
        ax.plot(sizes, mean, _style(part), marker="o", markersize=3.5, color=colour, label=legend_label(part, label))
        shaded = np.isfinite(lo) & np.isfinite(hi)
        if shaded.any():
            ax.fill_between(sizes[shaded], lo[shaded], hi[shaded], color=colour, alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_xticks(sizes_all)
    ax.set_xticklabels([str(int(s)) for s in sizes_all])
    ax.minorticks_off()
    ax.set_xlabel("trained architectures in the training set")
    ax.set_ylabel(f"{STATISTICS[statistic]} on the test set")
    ax.grid(True, alpha=0.3)
