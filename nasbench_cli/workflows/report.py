"""The report job: every table of record under a results folder, and the figures that can be drawn
from them, on one markdown page (`nasbench report` writes the page and the figures it returns).

What it recognises, by columns (the sidecars give labels and settings):

- paper tables (``scripts/paper_table.py``): search tables (method, column, mean, std, paper_mean,
  paper_std) and Kendall tables (space/dataset, score, target, kendall_tau, its interval, paper_tau),
  shown with the difference from the published value and a within mark: a search mean within
  one published std of the paper's mean; a published tau inside our 95% bootstrap interval. Every
  row is shown (a dash where the paper has no value), search methods in the paper's order;
- correlate results: a table and a score x target heatmap of tau;
- score tables: a line saying what they hold and a score vs accuracy scatter (log axis for
  synflow-like scores); with ``--kernels``, NASWOT kernel figures recomputed from their settings;
- search per-run tables: grouped by folder, one summary table and one figure per folder;
- anything else is listed as not recognised.

Tables are pandas' ``to_markdown`` (tabulate); the page holds no dates, so the same results give
the same page.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from nasbench_cli.analysis.method_order import paper_order
from nasbench_cli.errors import DataCorruptError, NasbenchError, UsageError
from nasbench_cli.output import read_float
from nasbench_cli.workflows import plot as plots
from nasbench_cli.workflows.plot import sidecar_record

PAPER_SEARCH = ("method", "column", "mean", "std", "paper_mean", "paper_std")
PAPER_KENDALL = ("space/dataset", "score", "target", "kendall_tau", "kendall_lo", "kendall_hi", "paper_tau")
SEARCH_RUNS = ("run", "queries", "simulated_seconds")
SEARCH_SUMMARY = ("column", "runs", "mean", "std", "min", "max")
#: `nasbench predict`: per-trial CSV and its summary
PREDICT_TRIALS = ("feature_set", "train_size", "trial", "kendall_tau")
PREDICT_SUMMARY = ("feature_set", "train_size", "trials", "kendall_tau_mean")


@dataclass
class Found:
    """The CSVs of a results folder, by kind (paths relative to the folder, sorted)."""

    paper_search: List[Path] = field(default_factory=list)
    paper_kendall: List[Path] = field(default_factory=list)
    correlations: List[Path] = field(default_factory=list)
    scores: List[Path] = field(default_factory=list)
    search_runs: List[Path] = field(default_factory=list)
    summaries: List[Path] = field(default_factory=list)
    predict: List[Path] = field(default_factory=list)
    predict_summaries: List[Path] = field(default_factory=list)
    other: List[Tuple[Path, str]] = field(default_factory=list)


# --- finding ----------------------------------------------------------------------------------------
#: a header line longer than this is not one of a results table
_HEADER_BYTES = 1 << 20


def _header(path: Path) -> List[str]:
    """The CSV's column names, read through the checked layer ([] for a special, unreadable or
    damaged file: non-UTF-8, a NUL byte, an endless first line)."""
    import csv

    from nasbench_cli.untrusted import open_regular

    try:
        with open_regular(path, "CSV") as handle:
            line = handle.readline(_HEADER_BYTES + 1)
        if len(line) > _HEADER_BYTES or b"\0" in line:
            return []
        return next(csv.reader([line.decode("utf-8")]), [])
    except (NasbenchError, OSError, UnicodeDecodeError, csv.Error):
        return []


def _shown(name: str, limit: int = 40) -> str:
    """A column name as the page may show it: printable characters only, cut to ``limit``."""
    text = "".join(c if c.isprintable() and c not in "`|" else "?" for c in name[:limit])
    return text + ("..." if len(name) > limit else "")


def classify(path: Path) -> Tuple[str, str]:
    """(kind, reason) of one CSV, from its header."""
    from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS
    from nasbench_cli.analysis.score_table import is_accuracy_column

    header = _header(path)
    columns = set(header)
    if not header:
        return "other", "empty or unreadable"
    if set(PAPER_SEARCH) <= columns:
        return "paper_search", ""
    if set(PAPER_KENDALL) <= columns:
        return "paper_kendall", ""
    if set(RESULT_COLUMNS[:4]) <= columns:
        return "correlations", ""
    if set(SEARCH_RUNS) <= columns:
        return "search_runs", ""
    if list(header) == list(SEARCH_SUMMARY):
        return "summaries", ""
    if set(PREDICT_TRIALS) <= columns:
        return "predict", ""
    if set(PREDICT_SUMMARY) <= columns:
        return "predict_summaries", ""
    if "index" in columns and any(is_accuracy_column(c) for c in header):
        return "scores", ""
    return "other", "columns not of a known table: " + ", ".join(map(_shown, header[:6])) + (
        ", ..." if len(header) > 6 else "")


#: the folder of quick runs inside a results folder (``make`` without FULL=1, ``make demo``): never
#: part of the report of the folder holding it, so that a quick run leaves the committed page as it is
LOCAL_RUNS = "local"


def find_csvs(results_dir: Path) -> Found:
    """Every CSV under ``results_dir`` (hidden files and folders, and its LOCAL_RUNS folder,
    skipped), by kind."""
    found = Found()
    for root, dirs, files in os.walk(results_dir):
        top = Path(root) == Path(results_dir)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (top and d == LOCAL_RUNS))
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(".csv"):
                continue
            path = Path(root) / name
            kind, reason = classify(path) if path.is_file() else ("other", "not a regular file (not read)")
            relative = path.relative_to(results_dir)
            if kind == "other":
                found.other.append((relative, reason))
            else:
                getattr(found, kind).append(relative)
    for kind in ("paper_search", "paper_kendall", "correlations", "scores", "search_runs", "summaries", "predict",
                 "predict_summaries"):
        getattr(found, kind).sort(key=lambda p: p.as_posix())
    found.other.sort(key=lambda item: item[0].as_posix())
    return found


# --- the page ---------------------------------------------------------------------------------------
def _read(path: Path):
    """A CSV with every cell as text, through the checked layer (regular file, bounded, UTF-8
    without NUL, distinct columns, rows as long as the header): its errors become page notes."""
    from nasbench_cli.untrusted import read_csv_frame

    return read_csv_frame(path, "CSV", dtype=str, keep_default_na=False)


def _guarded(relative: Path, make: Callable[[], List[str]], warn: Callable[[str], None]) -> List[str]:
    """One file's part of the page; a damaged file becomes a note on the page (and a warning),
    never the end of the whole report."""
    try:
        return make()
    except NasbenchError as err:
        return _skipped(relative, err, warn)


def _skipped(relative: Path, err: Exception, warn: Callable[[str], None]) -> List[str]:
    warn(f"{relative.as_posix()}: skipped ({err})")
    return [f"*{relative.as_posix()} skipped: {err}*\n"]


def markdown_table(frame) -> str:
    """``frame`` as a markdown table, cells exactly as given (no number re-formatting)."""
    try:
        return frame.to_markdown(index=False, disable_numparse=True)
    except ImportError:  # pandas' to_markdown needs tabulate
        raise UsageError("the report's tables need tabulate: pip install 'nasbench-cli[plot]' "
                         "(or pip install tabulate)") from None


def paper_search_table(frame):
    """A search paper table with ``diff`` (ours - paper) and ``within std`` (|diff| <= paper std)."""
    frame = frame.copy()
    diffs, marks = [], []
    for mean, paper, std in zip(frame["mean"], frame["paper_mean"], frame["paper_std"]):
        ours, theirs, spread = read_float(mean), read_float(paper), read_float(std)
        if math.isnan(ours) or math.isnan(theirs):
            diffs.append("")
            marks.append("")
            continue
        diff = ours - theirs
        diffs.append(f"{diff:+.2f}")
        marks.append("" if math.isnan(spread) else ("yes" if abs(diff) <= spread else "no"))
    frame["diff"] = diffs
    frame["within std"] = marks
    return frame


def _against_paper(ours_col, lo_col, hi_col, paper_col) -> Tuple[List[str], List[str]]:
    """Per row: ours - paper, and whether the paper's value lies in our 95% interval."""
    diffs, marks = [], []
    for value, lo, hi, paper in zip(ours_col, lo_col, hi_col, paper_col):
        ours, theirs = read_float(value), read_float(paper)
        if math.isnan(ours) or math.isnan(theirs):
            diffs.append("")
            marks.append("")
            continue
        diffs.append(f"{ours - theirs:+.3f}")
        low, high = read_float(lo), read_float(hi)
        marks.append("" if math.isnan(low) else ("yes" if low <= theirs <= high else "no"))
    return diffs, marks


def paper_kendall_table(frame):
    """A Kendall paper table with ``diff`` (ours - paper) and ``paper in CI`` (the published tau
    inside our 95% bootstrap interval); the same for Spearman rho where a ``paper_rho`` column
    (the zero-cost proxies' published statistic) is present."""
    frame = frame.copy()
    frame["diff"], frame["paper in CI"] = _against_paper(frame["kendall_tau"], frame["kendall_lo"],
                                                         frame["kendall_hi"], frame["paper_tau"])
    if "paper_rho" in frame.columns:
        blank = [""] * len(frame)
        lo = frame["spearman_lo"] if "spearman_lo" in frame.columns else blank
        hi = frame["spearman_hi"] if "spearman_hi" in frame.columns else blank
        frame["rho diff"], frame["paper rho in CI"] = _against_paper(frame["spearman_rho"], lo, hi,
                                                                     frame["paper_rho"])
    return frame


#: shown in a paper table's published and comparison columns where the paper gives no value
NO_VALUE = "\u2014"
#: the columns of a paper table that hold or compare with published values
PAPER_DERIVED = ("paper_mean", "paper_std", "paper_tau", "paper_rho", "diff", "within std", "paper in CI",
                 "rho diff", "paper rho in CI")


def _published_rows(frame, paper_columns: Sequence[str], measure: str) -> List[str]:
    """Every row of a paper table, in two tables: the rows of the measures (``measure``: an
    accuracy column or target) the paper publishes for some row, every method with a dash where the
    paper gives it none (AREA's test accuracies); then the other measures' rows (costs, 12-epoch
    accuracies), without the empty published columns."""
    published = False
    for column in paper_columns:
        if column in frame.columns:
            published = published | (frame[column].astype(str).str.strip() != "")
    if published is False or not published.any():
        return [markdown_table(frame), ""]
    measures = set(frame.loc[published, measure])
    compared = frame[measure].isin(measures)
    first = frame[compared].copy()
    for column in [c for c in PAPER_DERIVED if c in first.columns]:
        first[column] = [value if str(value).strip() else NO_VALUE for value in first[column]]
    lines = [markdown_table(first), ""]
    rest = frame[~compared]
    if not rest.empty:
        lines += [f"No published value for {', '.join(map(_shown, dict.fromkeys(rest[measure])))}:\n",
                  markdown_table(rest.drop(columns=[c for c in PAPER_DERIVED if c in rest.columns])), ""]
    return lines


def _in_paper_order(frame):
    """A search table's rows by method in the NASWOT paper's order (``analysis.method_order``),
    each method's rows as the CSV has them."""
    from nasbench_cli.analysis.method_order import method_sort_key

    first_row = {method: i for i, method in reversed(list(enumerate(frame["method"])))}
    keys = [method_sort_key(method, first_row[method]) + (i,) for i, method in enumerate(frame["method"])]
    return frame.iloc[sorted(range(len(frame)), key=keys.__getitem__)].reset_index(drop=True)


#: correlate CSV column -> the report's header and decimals (accuracies with 2, like the benchmarks)
TOP_RANKING_HEADERS = (("p@1%", "p@1%", 3), ("p@5%", "p@5%", 3), ("p@10%", "p@10%", 3), ("ndcg", "nDCG", 3),
                       ("top1_acc", "top-1 accuracy", 2), ("regret", "regret", 2))


def correlation_table(frame):
    """Correlate results as score, target, n, tau [lo, hi], rho [lo, hi], pair agreement, then the
    top-of-ranking columns where the CSV has them (p@1/5/10%, nDCG, top-1 accuracy, regret)."""
    import pandas as pd

    def column(name: str) -> List[str]:
        return list(frame[name]) if name in frame.columns else [""] * len(frame)

    def estimate(value: str, lo: str, hi: str) -> str:
        v, a, b = read_float(value), read_float(lo), read_float(hi)
        if math.isnan(v):
            return ""
        return f"{v:.3f}" + ("" if math.isnan(a) else f" [{a:.3f}, {b:.3f}]")

    def fixed(name: str, decimals: int = 3) -> List[str]:
        return [("" if math.isnan(read_float(v)) else f"{read_float(v):.{decimals}f}") for v in column(name)]

    table = pd.DataFrame({
        "score": frame["score"], "target": frame["target"], "n": frame["n"],
        "Kendall tau [95% CI]": [estimate(*r) for r in zip(column("kendall_tau"), column("kendall_lo"),
                                                         column("kendall_hi"))],
        "Spearman rho [95% CI]": [estimate(*r) for r in zip(column("spearman_rho"), column("spearman_lo"),
                                                          column("spearman_hi"))],
        "pair agreement": fixed("pair_agreement"),
    })
    # top of the ranking, appended where the CSV has it (CSVs written before it keep their table)
    for name, header, decimals in TOP_RANKING_HEADERS:
        if name in frame.columns:
            table[header] = fixed(name, decimals)
    return table


def _figure_name(relative: Path, kind: str) -> str:
    stem = relative.as_posix()[:-len(".csv")] if relative.suffix == ".csv" else relative.as_posix()
    return f"{stem.replace('/', '-')}.{kind}.png"


@dataclass
class PageFigure:
    """A figure of the page: where it goes and the drawn figure (written by the caller)."""

    path: Path
    figure: object


class Figures:
    """Draws the page's figures (the caller saves them); one that cannot be drawn becomes a note."""

    def __init__(self, folder: Optional[Path], base: Path, warn: Callable[[str], None]):
        self.folder, self.base, self.warn = folder, base, warn
        self.drawn: List[PageFigure] = []

    def add(self, name: str, what: str, make: Callable[[], object]) -> str:
        """A markdown image line for the figure ``make`` draws, or a note saying why there is none."""
        if self.folder is None:
            return ""
        try:
            fig = make()
        except NasbenchError as err:
            self.warn(f"{name}: not drawn ({err})")
            return f"*Figure {name} not drawn: {err}*\n"
        path = self.folder / name
        self.drawn.append(PageFigure(path, fig))
        return f"![{what}]({self.link(path)})\n"

    def link(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.base)).as_posix()


@dataclass
class ReportPage:
    """The markdown page and the figures it links to (not yet written)."""

    text: str
    figures: List[PageFigure]


def build_page(results_dir: Path, found: Found, figures_dir: Optional[Path], base: Path, kernels: bool = False,
               warn: Callable[[str], None] = lambda text: None) -> ReportPage:
    """The markdown page for the CSVs ``found`` under ``results_dir``, its figures drawn into
    ``figures_dir`` (None: tables only), links relative to ``base``."""
    figures = Figures(figures_dir, base, warn)
    out = _overview(results_dir, found)
    out += _paper_section(results_dir, found, warn)
    out += _correlation_section(results_dir, found, figures)
    out += _score_section(results_dir, found, figures, kernels)
    out += _search_section(results_dir, found, figures)
    out += _predict_section(results_dir, found, figures)
    if found.other:
        out.append("## Not recognised\n")
        out += [f"- `{relative.as_posix()}`: {reason}" for relative, reason in found.other]
        out.append("")
    if figures.drawn:
        out.append("## Figures\n")
        out += [f"- `{figures.link(figure.path)}`" for figure in figures.drawn]
        out.append("")
    return ReportPage("\n".join(out).rstrip("\n") + "\n", figures.drawn)


def _overview(results_dir: Path, found: Found) -> List[str]:
    total = (len(found.paper_search) + len(found.paper_kendall) + len(found.correlations) + len(found.scores)
             + len(found.search_runs) + len(found.summaries) + len(found.predict) + len(found.predict_summaries)
             + len(found.other))
    out: List[str] = [f"# nasbench report: {results_dir.as_posix()}\n",
                      f"{total} CSV files: {len(found.paper_search) + len(found.paper_kendall)} paper tables, "
                      f"{len(found.correlations)} correlation tables, {len(found.scores)} score tables, "
                      f"{len(found.search_runs)} search run tables ({len(found.summaries)} summaries), "
                      f"{len(found.predict)} predictor tables ({len(found.predict_summaries)} summaries), "
                      f"{len(found.other)} not recognised.\n"]
    if not total:
        out.append("Nothing to report: write results with `nasbench score|correlate|search` or the "
                   "`make kendall` / `make table-nb201` targets.\n")
    return out


def _paper_section(results_dir: Path, found: Found, warn: Callable[[str], None]) -> List[str]:
    if not (found.paper_search or found.paper_kendall):
        return []
    out = ["## Paper tables\n",
           "Ours beside the published values. Search tables: `diff` = our mean - the paper's, "
           "`within std` = |diff| <= the paper's std. Kendall tables: `diff` = our tau - the paper's, "
           f"`paper in CI` = the published tau inside our 95% bootstrap interval. {NO_VALUE}: the paper "
           "gives no value. Every row of a table is shown: the columns the paper publishes first, then the "
           "others. Search methods are in the order of the NASWOT paper's table.\n"]
    for relative in found.paper_search:
        out += [f"### {relative.as_posix()}\n", *_guarded(relative, lambda r=relative: _published_rows(
            _in_paper_order(paper_search_table(_read(results_dir / r))), ("paper_mean",), "column"), warn)]
    for relative in found.paper_kendall:
        out += [f"### {relative.as_posix()}\n", *_guarded(relative, lambda r=relative: _published_rows(
            paper_kendall_table(_read(results_dir / r)), ("paper_tau", "paper_rho"), "target"), warn)]
    return out


def _correlation_section(results_dir: Path, found: Found, figures: Figures) -> List[str]:
    if not found.correlations:
        return []
    out = ["## Correlations\n"]
    for relative in found.correlations:
        path = results_dir / relative
        out += [f"### {relative.as_posix()}\n",
                *_guarded(relative, lambda p=path: [markdown_table(correlation_table(_read(p)))], figures.warn), ""]
        out.append(figures.add(_figure_name(relative, "heatmap"), f"Kendall tau heatmap of {relative.as_posix()}",
                               lambda p=path: plots.draw("heatmap", [p])))
    return out


def _score_section(results_dir: Path, found: Found, figures: Figures, kernels: bool) -> List[str]:
    if not found.scores:
        return []
    out = ["## Score tables\n"]
    for relative in found.scores:
        path = results_dir / relative
        try:
            table, target = _score_summary(path)
        except NasbenchError as err:
            out += [f"### {relative.as_posix()}\n", *_skipped(relative, err, figures.warn)]
            continue
        out += [f"### {relative.as_posix()}\n", table + "\n"]
        if target is not None:
            out.append(figures.add(_figure_name(relative, "scatter"), f"score vs {target} for {relative.as_posix()}",
                                   lambda p=path, t=target: _scatter(p, t)))
        if kernels and "naswot" in _header(path):
            out.append(figures.add(_figure_name(relative, "kernel"), f"NASWOT kernels of {relative.as_posix()}",
                                   lambda p=path, t=target: plots.draw("kernel", [p], target=t)))
    return out


def _predict_section(results_dir: Path, found: Found, figures: Figures) -> List[str]:
    """Each `nasbench predict` run: Kendall tau per training-set size and feature set (mean [95%
    interval] from its summary CSV) and the tau/rho-vs-size figure."""
    if not found.predict:
        return []
    out = ["## Accuracy predictors\n"]
    for relative in found.predict:
        path = results_dir / relative
        summary = relative.with_name(relative.stem + ".summary.csv")
        out += [f"### {relative.as_posix()}\n",
                *_guarded(summary, lambda s=results_dir / summary: [markdown_table(_tau_by_size(_read(s), str(s)))],
                          figures.warn), ""]
        out.append(figures.add(_figure_name(relative, "predict"), f"predictor tau vs training-set size, "
                               f"{relative.as_posix()}", lambda p=path: plots.draw("predict", [p])))
    return out


#: the summary columns the predictor table draws
PREDICT_SUMMARY_DRAWN = ("feature_set", "train_size", "kendall_tau_mean", "kendall_tau_lo", "kendall_tau_hi")


def _tau_by_size(frame, where: str = "the summary"):
    """train size x feature set: ``mean [lo, hi]`` of Kendall tau. Every drawn value is checked
    first (sizes whole numbers >= 1, taus in [-1, 1] or blank, one row per size and feature set):
    a damaged summary is a note on the page, never a table of nonsense."""
    from nasbench_cli.analysis.value_checks import MAX_TRAIN_SIZE, bounded_column, integer_column, text_column

    missing = [c for c in PREDICT_SUMMARY_DRAWN if c not in frame.columns]
    if missing:
        raise DataCorruptError(f"{where}: no column {', '.join(missing)} (not a `nasbench predict` summary)")
    if "model" in frame.columns:  # the scores' own no-training rows (model "none", size 0) are no fits
        frame = frame[frame["model"].astype(str) != "none"]
    if frame.empty:
        raise DataCorruptError(f"{where} has no rows")
    checked = frame.copy()
    checked["feature_set"] = text_column(frame, "feature_set", where)
    checked["train_size"] = integer_column(frame, "train_size", where, 1, MAX_TRAIN_SIZE)
    for name in PREDICT_SUMMARY_DRAWN[2:]:
        checked[name] = bounded_column(frame, name, where, -1.0, 1.0)
    repeated = checked.duplicated(["train_size", "feature_set"])
    if repeated.any():
        row = int(repeated.to_numpy().nonzero()[0][0])
        raise DataCorruptError(f"{where}: row {row + 1} (line {row + 2}) repeats train size "
                               f"{checked['train_size'].iloc[row]} of feature set {_shown(checked['feature_set'].iloc[row])}")
    cells = checked.assign(cell=checked["kendall_tau_mean"].map(_fixed3) + " [" + checked["kendall_tau_lo"].map(_fixed3)
                           + ", " + checked["kendall_tau_hi"].map(_fixed3) + "]")
    order = list(dict.fromkeys(checked["feature_set"]))
    table = cells.pivot(index="train_size", columns="feature_set", values="cell")[order]
    table = table.loc[sorted(table.index)]
    table.columns = [_shown(str(c), 80) for c in table.columns]
    table.index = [str(i) for i in table.index]
    return table.rename_axis("train size").reset_index()


def _fixed3(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _search_section(results_dir: Path, found: Found, figures: Figures) -> List[str]:
    if not found.search_runs:
        return []
    out = ["## Searches\n"]
    groups: Dict[Path, List[Path]] = {}
    for relative in found.search_runs:
        groups.setdefault(relative.parent, []).append(relative)
    for folder, members in groups.items():
        paths = [results_dir / m for m in members]
        name = folder.as_posix() if folder.as_posix() != "." else results_dir.name
        try:
            runs = plots.read_search_runs(paths)
        except NasbenchError as err:
            out.append(f"### {name}\n\n*Not read: {err}*\n")
            continue
        target = next((c for c in next(iter(runs.values())).columns if "@" in str(c) and "/" in str(c)), None)
        out += [f"### {name}\n", markdown_table(_search_summary(runs, members, target)), ""]
        stem = "search" if folder == Path(".") else folder.as_posix().replace("/", "-")
        out.append(figures.add(f"{stem}.search.png", f"search results in {name}",
                               lambda p=paths, t=target: plots.draw("search", p, target=t)))
    return out


def _score_summary(path: Path) -> Tuple[str, Optional[str]]:
    """A one-row table saying what a score CSV holds, and the accuracy column to plot against."""
    import pandas as pd

    from nasbench_cli.analysis.score_table import load_score_table

    try:
        table = load_score_table([path])
    except NasbenchError as err:
        return f"*Not read as a score table: {err}*", None
    record = sidecar_record(path)
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    space, dataset = arguments.get("space"), record.get("dataset") or arguments.get("dataset")
    target = _final_column(space, dataset, table.accuracies) or table.accuracies[0]
    summary = pd.DataFrame([{
        "architectures": str(len(table.frame)),
        "space": str(space or ""), "dataset": str(dataset or ""),
        "seed": str(record.get("seed", "")),
        "scores": ", ".join(table.scores),
        "plotted against": target,
    }])
    return markdown_table(summary), target


def _final_column(space: Optional[str], dataset: Optional[str], accuracies: Sequence[str]) -> Optional[str]:
    """The benchmark's final test column of ``dataset`` when the table has it."""
    if not space or not dataset:
        return None
    from nasbench_cli.spaces import SPACES

    if space not in SPACES:
        return None
    try:
        column = SPACES.get(space).benchmark.final_test_column(dataset)
    except (KeyError, ValueError, NasbenchError):
        return None
    return column if column in accuracies else None


def _scatter(path: Path, target: str):
    from nasbench_cli.analysis import figures

    return figures.scatter_figure([path], target, log=True)  # titled from its sidecar, never the file name


def _search_summary(runs, members: Sequence[Path], target: Optional[str]):
    """Per algorithm, in the NASWOT paper's order (as the figure): runs, mean +- std of ``target``
    (population std, as the summaries), mean queries, and what training-free methods spend
    instead (mean networks scored and scoring seconds, where the CSVs have them)."""
    import numpy as np
    import pandas as pd

    rows = []
    by_label = dict(zip(runs, members))
    for label in paper_order(runs):  # the NASWOT paper's order
        frame, member = runs[label], by_label[label]
        values = frame[target].to_numpy(dtype=float) if target in frame.columns else np.array([np.nan])
        values = values[~np.isnan(values)]
        queries = frame["queries"].to_numpy(dtype=float)
        rows.append({
            "algorithm": label, "file": member.name, "runs": str(len(frame)),
            f"{target} mean": f"{values.mean():.2f}" if values.size else "",
            f"{target} std": f"{values.std():.2f}" if values.size else "",
            "queries (mean)": f"{queries.mean():.1f}",
        })
        for column, header in (("scored", "nets scored (mean)"), ("score_seconds", "scoring s (mean)")):
            spent = frame[column].to_numpy(dtype=float) if column in frame.columns else np.array([np.nan])
            rows[-1][header] = f"{np.nanmean(spent):.1f}" if (~np.isnan(spent)).any() else ""
    return pd.DataFrame(rows)
