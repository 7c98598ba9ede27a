"""The correlate job: Kendall tau and Spearman rho of every score column of a score table against
its accuracy columns, with bootstrap intervals, ensembles and the zero-cost vote. `nasbench
correlate` and ``nasbench_cli.api.correlate`` are thin faces of it; it writes no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from nasbench_cli.analysis.correlation_table import CorrelationReport, correlate_scores
from nasbench_cli.analysis.score_table import ScoreTable, as_score_table, with_scores
from nasbench_cli.workflows.correlate_join import AccuracySource, joined_table


@dataclass(frozen=True)
class CorrelateJob:
    """What to correlate: targets (default: every accuracy column), ensembles, vote, bootstrap."""

    targets: Tuple[str, ...] = ()
    #: more columns to take as scores than the sidecar (or the column rule) names
    scores: Tuple[str, ...] = ()
    ensembles: Tuple[str, ...] = ()  # comma-separated score columns, one ensemble each
    vote: Optional[bool] = None  # None: when synflow, jacob_cov and snip are all there
    resamples: int = 1000
    seed: int = 0
    rule: str = "mean-rank"


def default_output(first_input: Path) -> Path:
    """``runs/x.csv`` -> ``runs/x.correlation.csv``: where `nasbench correlate` writes by default."""
    return first_input.with_name(first_input.stem + ".correlation.csv")


def load_table(source, notify: Optional[Callable[[str], None]] = None) -> ScoreTable:
    """The score table of ``source`` (CSV paths, a DataFrame or a ScoreTable); its notes (e.g.
    duplicate rows dropped) go to ``notify``."""
    table = as_score_table(source)
    for text in table.notes:
        if notify is not None:
            notify(text)
    return table


def load_scores(source, accuracies: Optional[AccuracySource] = None,
                notify: Optional[Callable[[str], None]] = None) -> Tuple[ScoreTable, Optional[Dict[str, Any]]]:
    """The score table of ``source``, with ``accuracies`` joined when they name a space or a
    ground-truth file (see workflows.correlate_join), and the join's provenance record (None
    without a join)."""
    if accuracies is None or not accuracies.given:
        if accuracies is not None:
            accuracies.check()
        return load_table(source, notify), None
    if not isinstance(source, (str, Path, list, tuple)) and not hasattr(source, "attrs"):
        raise TypeError(f"joining accuracies takes score CSV path(s) or a DataFrame, not {type(source).__name__}")
    result = joined_table(source, accuracies, notify)
    return result.table, result.record


def run_correlate(table: ScoreTable, job: CorrelateJob,
                  notify: Optional[Callable[[str], None]] = None) -> CorrelationReport:
    """The correlation report of ``table`` (with ``job.scores`` added to its score columns); its
    notes (pairs dropped, ...) go to ``notify``."""
    table = with_scores(table, job.scores)
    report = correlate_scores(table, list(job.targets), list(job.ensembles), job.vote, job.resamples, job.seed,
                              job.rule)
    for text in report.notes:
        if notify is not None:
            notify(text)
    return report
