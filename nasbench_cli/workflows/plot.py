"""The plot job: a figure from the CSVs `score`, `correlate` and `search` write (matplotlib is
imported when a figure is drawn). `nasbench plot`, `nasbench report` and the API's figures use it;
it writes no file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from nasbench_cli.errors import DataCorruptError, NasbenchError, UsageError
from nasbench_cli.options import RunConfig

KINDS = ("scatter", "heatmap", "search", "kernel", "predict")
#: kernel networks drawn when --archs is not given: the lowest, median and highest accuracy
DEFAULT_KERNEL_NETS = 3


def default_output(first: Path, kind: str, fmt: str) -> Path:
    """``runs/x.csv`` -> ``runs/x.<kind>.png``."""
    return first.with_name(f"{first.stem}.{kind}.{fmt}")


def draw(kind: str, csv_paths: Sequence[Path], target: Optional[str] = None, proxies: Sequence[str] = (),
         log: bool = False, statistic: str = "tau", cost: str = "queries", archs: Optional[str] = None,
         data_dir: Optional[Path] = None, dataset: Optional[str] = None, seed: Optional[int] = None,
         batch_size: Optional[int] = None, notify: Optional[Callable[[str], None]] = None,
         space: Optional[str] = None, ground_truth: Optional[Path] = None, title: Optional[str] = None):
    """The figure of ``kind`` from ``csv_paths``; notes on the inputs (duplicate rows, ...) go to
    ``notify``. scatter: ``space`` (with ``dataset``, ``data_dir``) or ``ground_truth`` join a
    CSV of scores keyed by index or arch to that benchmark's accuracies (workflows.correlate_join).
    ``title``: the figure's title; None: what it shows, from the CSVs' provenance (space, dataset,
    proxies, target, networks: ``analysis.figure_titles``), else their columns; "": none."""
    from nasbench_cli.analysis import figures
    from nasbench_cli.analysis.figure_titles import correlation_inputs

    if kind == "scatter":
        from nasbench_cli.workflows.correlate import load_scores
        from nasbench_cli.workflows.correlate_join import AccuracySource

        accuracies = AccuracySource(space, dataset, ground_truth, data_dir)
        table, _ = load_scores(list(csv_paths), accuracies, notify)  # its notes go to notify
        return figures.scatter_figure(table, target, list(proxies) or None, log=log, title=title, space=space,
                                      dataset=dataset)
    if kind == "heatmap":
        # the space and dataset are those of the score CSVs the correlations were computed from
        records = [scored for path in csv_paths for scored in correlation_inputs(path, sidecar_record(path))]
        return figures.heatmap_figure(read_correlations(csv_paths), statistic, title=title, records=records)
    if kind == "search":
        runs, budgets = read_search_inputs(csv_paths)
        return figures.search_figure(runs, target, cost, title=title, notes=budget_notes(budgets),
                                     records=[sidecar_record(path) for path in csv_paths])
    if kind == "predict":
        from nasbench_cli.analysis.predict_figure import predict_figure, read_predict_trials

        return predict_figure(read_predict_trials(csv_paths), title=title)
    return kernel_plot(csv_paths, target, archs, data_dir, dataset, seed, batch_size, title)


# --- inputs -----------------------------------------------------------------------------------------
def read_frame(path: Path):
    """A CSV as a DataFrame; one-line errors for an unreadable or empty file."""
    from nasbench_cli.untrusted import read_csv_frame

    frame = read_csv_frame(Path(path), "CSV")  # the checked layer: regular file, bounded, one-line errors
    if frame.empty:
        raise DataCorruptError(f"{path} has a header but no rows")
    return frame


def numeric_columns(frame, path: Path, columns: Sequence[str]):
    """``frame`` with ``columns`` as float64; a cell that is not a number is a one-line error
    naming the file, column and row (figures never see text where numbers belong)."""
    from nasbench_cli.analysis.score_table import numeric_column

    frame = frame.copy()
    for column in columns:
        frame[column] = numeric_column(frame[column], str(column), path)
    return frame


def read_correlations(paths: Sequence[Path]):
    """Correlate CSVs concatenated, each row with its ``source`` (the file's stem)."""
    import pandas as pd

    from nasbench_cli.analysis.correlation_table import NUMERIC_COLUMNS, RESULT_COLUMNS

    frames = []
    for path in paths:
        frame = read_frame(path)
        missing = [c for c in RESULT_COLUMNS[:4] if c not in frame.columns]
        if missing:
            raise UsageError(f"{path} is not a `nasbench correlate` CSV (no column {', '.join(missing)})")
        # n and the statistics hold numbers (empty: not computed); anything else is a damaged cell
        frame = numeric_columns(frame, path, [c for c in NUMERIC_COLUMNS if c in frame.columns])
        frames.append(frame.assign(source=path.stem.replace(".correlation", "")))
    return pd.concat(frames, ignore_index=True)


def sidecar_record(path: Path) -> Dict[str, object]:
    """The CSV's provenance record, or {} without a readable one (a huge, deep or special-file
    sidecar is "no record", never a hang or a RecursionError)."""
    from nasbench_cli.analysis.figure_titles import read_record

    return read_record(path)


def budget_used(record: Dict[str, object]) -> Tuple[str, str]:
    """The budget a search spent, short and in full, from its provenance: ("120 queries", "120
    queries (12000 s asked; no training times)"); ("", "") for an algorithm without one.

    The full phrase is the record's ``budget_used`` when it has one, else rebuilt from ``budget``
    (what the runs spent) and ``arguments.budget_text`` (what was asked): a 12000 s budget that fell
    back to 120 queries on a table without training times must not read as "12000s".
    """
    from nasbench_cli.search.budget import budget_phrase, parse_budget

    used = record.get("budget")
    if not used:
        return "", ""
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    try:
        spent = parse_budget(str(used))
        short = budget_phrase(spent)
        asked = arguments.get("budget_text")
        full = budget_phrase(spent, parse_budget(str(asked)) if asked else None)
    except UsageError:  # a hand-edited record: show what it says
        return str(used), str(used)
    recorded = record.get("budget_used")
    return short, str(recorded) if isinstance(recorded, str) and recorded else full


def search_label(path: Path, record: Dict[str, object]) -> str:
    """An algorithm's label from its sidecar ("naswot N=10", "rea 120 queries"), else the file stem."""
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    algorithm = record.get("algorithm") if isinstance(record.get("algorithm"), dict) else {}
    name = algorithm.get("name") or arguments.get("algo")
    if not name:
        return path.stem
    shown = _ranked_name(name, record, arguments)  # naswot(synflow): the proxy it ranked by
    # a budget-free algorithm is told apart by its sample count (naswot N=10); the others by budget
    counted = _sample_option(name)
    if counted and arguments.get(counted) is not None:
        return f"{shown} {counted.upper()}={arguments[counted]}"
    short, _ = budget_used(record)
    return f"{shown} {short}" if short else str(shown)


def _ranked_name(name: str, record: Dict[str, object], arguments: Dict[str, object]) -> str:
    """``name(proxy)`` for a search that ranked by another proxy than naswot (from the sidecar's
    store context, else its arguments), else ``name``."""
    from nasbench_cli.search import ALGORITHMS

    context = record.get("store_context")
    found = re.search(r"(?:^|, )proxy=([^,]+)", context) if isinstance(context, str) else None
    proxy = found.group(1) if found else arguments.get("proxy_name") or arguments.get("proxy")
    if name not in ALGORITHMS or not isinstance(proxy, str):
        return name
    return ALGORITHMS.get(name).ranked_name(proxy)


def _sample_option(name: object) -> str:
    """The option counting a budget-free registered algorithm's samples ("" for the others)."""
    from nasbench_cli.search import ALGORITHMS

    if not isinstance(name, str) or name not in ALGORITHMS:
        return ""
    algorithm = ALGORITHMS.get(name)
    return "" if algorithm.uses_budget else algorithm.sample_option


def read_search_inputs(paths: Sequence[Path]):
    """Label -> per-run frame for each search CSV (labels made unique with the file stem), and
    label -> the full phrase of the budget it spent ("" without one)."""
    runs, budgets = {}, {}
    for path in paths:
        frame = read_frame(path)
        if "run" not in frame.columns or "queries" not in frame.columns:
            raise UsageError(f"{path} is not a `nasbench search` per-run CSV (no run/queries columns; "
                             "the .summary.csv is not it)")
        frame = numeric_columns(frame, path, [c for c in frame.columns if c != "arch"])
        record = sidecar_record(path)
        label = search_label(path, record)
        if label in runs:
            label = f"{label} ({path.stem})"
        runs[label] = frame
        budgets[label] = budget_used(record)
    return runs, budgets


def read_search_runs(paths: Sequence[Path]):
    """Label -> per-run frame for each search CSV (see ``read_search_inputs``)."""
    return read_search_inputs(paths)[0]


def budget_notes(budgets: Dict[str, Tuple[str, str]]) -> List[str]:
    """A line under the search figure for each budget that is not what was asked: "rea 120 queries,
    area 120 queries: budget 120 queries (12000 s asked; no training times)"."""
    by_phrase: Dict[str, List[str]] = {}
    for label, (short, full) in budgets.items():
        if full and full != short:
            by_phrase.setdefault(full, []).append(label)
    return [f"{', '.join(labels)}: budget {phrase}" for phrase, labels in by_phrase.items()]


# --- kernels ----------------------------------------------------------------------------------------
def kernel_settings(path: Path, data_dir: Optional[Path], dataset: Optional[str], seed: Optional[int],
                    batch_size: Optional[int]) -> Tuple[str, Dict[str, object]]:
    """The space and naswot_kernels keyword arguments: the options given, else the score CSV's
    provenance (its space, dataset, seed, batch size, head, split, variant, data dir)."""
    record = sidecar_record(path)
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    space = arguments.get("space")
    if not space:
        raise UsageError(f"{path}: no provenance sidecar naming its space; the kernel plot recomputes "
                         "networks with the CSV's settings (write the CSV with `nasbench score`)")
    options: Dict[str, object] = {
        "dataset": dataset or record.get("dataset") or arguments.get("dataset") or "cifar10",
        "seed": seed if seed is not None else int(record.get("seed", arguments.get("score_seed", 0)) or 0),
        "data_dir": data_dir or arguments.get("data_dir") or None,
    }
    naswot = (record.get("proxy_settings") or {}).get("naswot") if isinstance(record.get("proxy_settings"), dict) \
        else None
    size = batch_size or (naswot or {}).get("batch_size") or arguments.get("batch_size")
    if size:
        options["batch_size"] = int(size)
    for key in ("head", "split", "network_variant"):
        if arguments.get(key):
            options[key] = arguments[key]
    return str(space), options


def kernel_config(space: str, options: Dict[str, object]) -> RunConfig:
    """The scoring run whose NASWOT kernels the plot recomputes (``kernel_settings``'s options)."""
    values = {key: options[key] for key in ("batch_size", "head", "split", "network_variant") if key in options}
    data_dir = options.get("data_dir")
    return RunConfig(space=space, dataset=str(options["dataset"]), proxies=("naswot",), score_seed=int(options["seed"]),
                     data_dir=Path(str(data_dir)) if data_dir else None, no_store=True, quiet=True, **values)


def _pick_archs(frame, target: Optional[str], count: int) -> List[int]:
    """The rows of lowest, median and highest ``target`` accuracy (else naswot score), as indices."""
    import numpy as np

    column = target if target in frame.columns else ("naswot" if "naswot" in frame.columns else None)
    if column is None:
        return [int(i) for i in frame["index"].head(count)]
    ordered = frame.dropna(subset=[column]).sort_values([column, "index"])
    if ordered.empty:
        return [int(i) for i in frame["index"].head(count)]
    picks = np.unique(np.linspace(0, len(ordered) - 1, count).round().astype(int))
    return [int(ordered["index"].iloc[p]) for p in picks]


def kernel_plot(csv_paths: Sequence[Path], target: Optional[str], archs: Optional[str], data_dir: Optional[Path],
                dataset: Optional[str], seed: Optional[int], batch_size: Optional[int], title: Optional[str] = None):
    """Kernels of --archs (or three of the CSV's networks), recomputed with the CSV's settings;
    titled with those settings (space, dataset, seed, networks, target) unless ``title`` is given."""
    import math

    from nasbench_cli.analysis import figures
    from nasbench_cli.proxies.naswot import logdet
    from nasbench_cli.workflows.kernels import naswot_kernels

    path = csv_paths[0]
    frame = read_frame(path)
    if "index" not in frame.columns:
        raise UsageError(f"{path} is not a `nasbench score` CSV (no index column)")
    space, options = kernel_settings(path, data_dir, dataset, seed, batch_size)
    accuracy = target or next((c for c in frame.columns if "@" in str(c) and "/" in str(c)), None)
    if target is not None and target not in frame.columns:
        raise UsageError(f"{path} has no column '{target}'")
    refs = [part.strip() for part in archs.split(",") if part.strip()] if archs else \
        _pick_archs(frame, accuracy, DEFAULT_KERNEL_NETS)
    if not refs:
        raise UsageError("--archs lists no architectures")
    kernels = naswot_kernels(kernel_config(space, options), refs)
    by_index = frame.drop_duplicates("index").set_index("index")
    labelled, marked = {}, {}
    for index, kernel in kernels.items():
        row = by_index.loc[index] if index in by_index.index else None
        parts = []
        if row is not None and accuracy is not None and not math.isnan(float(row[accuracy])):
            parts.append(f"acc {float(row[accuracy]):.2f}%")
        value = logdet(kernel)
        parts.append(f"naswot {value:.1f}")
        label = f"#{index}\n" + "  ".join(parts)  # two lines: a kernel panel is 2.7 in wide
        labelled[label] = kernel
        marked[label] = float(value)
    scores = frame["naswot"].to_numpy(dtype=float) if "naswot" in frame.columns else None
    if title is None:
        title = f"NASWOT kernels, {space}/{options['dataset']}, seed {options['seed']}, {len(kernels)} of " \
            f"{len(by_index):,} networks" + (f"; acc = {figures.axis_label(accuracy)}" if accuracy is not None else "")
    return figures.kernel_figure(labelled, scores, marked if scores is not None else None, title=title)
