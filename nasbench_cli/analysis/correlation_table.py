"""A correlation report of a score table: every (score, target) pair, ensembles and the vote,
as result rows for the CSV, an aligned text table, and the facts its provenance records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from nasbench_cli.analysis.correlation import MIN_ROWS, Correlation, correlate_pair
from nasbench_cli.analysis.derived import (
    VOTE_MEMBERS,
    ensemble_columns,
    group_columns,
    majority_pair_agreement,
    missing_vote_members,
    parse_ensembles,
)
from nasbench_cli.analysis.score_table import ScoreTable
from nasbench_cli.errors import DataCorruptError, UnknownNameError, UsageError
from nasbench_cli.output import format_float

#: the top-of-ranking columns (analysis.top_ranking's keys) -> the Correlation field holding each
TOP_COLUMNS = {"p@1%": "p_at_1", "p@5%": "p_at_5", "p@10%": "p_at_10", "ndcg": "ndcg",
               "top1_acc": "top1_acc", "regret": "regret"}
#: the result CSV's columns: the first eleven as before the top-of-ranking metrics, those appended
RESULT_COLUMNS = (
    "score", "target", "n", "kendall_tau", "kendall_lo", "kendall_hi",
    "spearman_rho", "spearman_lo", "spearman_hi", "pair_agreement", "direction",
    *TOP_COLUMNS,
)
#: the result columns that hold numbers (n and every statistic)
NUMERIC_COLUMNS = tuple(c for c in RESULT_COLUMNS if c not in ("score", "target", "direction"))
METHOD = (
    "Kendall tau-b and Spearman rho on ranks (-inf lowest, NaN dropped per pair); "
    "95% bootstrap percentile intervals over architectures resampled with replacement; "
    "top of the ranking (score oriented by its direction, ties ranked lower-accuracy first): "
    "p@x% = share of the truly best k = ceil(x% n) among the score's best k, nDCG over the score's "
    "first min(1000, n) networks with gain 2^accuracy - 1 (VKDNW, CVPR 2025), top1_acc = accuracy "
    "of the network ranked first, regret = best accuracy - top1_acc"
)
DECIMALS = 6  # fixed decimals in the result CSV: the same bytes for the same inputs and seed
#: below this many networks a rank correlation and its bootstrap interval say little about a
#: space (3 networks give tau 1.000 [1.000, 1.000] a third of the time): a warning, and a note
SMALL_N = 20


@dataclass
class CorrelationReport:
    """The correlations of one score table, and what the run should tell the user."""

    table: ScoreTable
    targets: List[str]
    results: List[Correlation]
    notes: List[str] = field(default_factory=list)

    def provenance(self) -> Dict[str, Any]:
        """The report's entries of the output's provenance record (besides the arguments)."""
        return {
            "inputs": [str(p) for p in self.table.sources],
            "rows": len(self.table.frame),
            "scores": self.table.directions,
            "targets": self.targets,
            "notes": [*self.table.notes, *self.notes],
            "method": METHOD,
        }


def correlate_scores(
    table: ScoreTable,
    targets: Sequence[str],
    ensembles: Sequence[str],
    vote: Optional[bool],
    resamples: int,
    seed: int,
    rule: str = "mean-rank",
) -> CorrelationReport:
    """Correlate ``table``'s scores (and ``ensembles``, e.g. "synflow,snip", and the vote) with
    ``targets`` (all accuracy columns when empty); ``vote`` None: when its members are present."""
    chosen = select_targets(table, targets)
    members = parse_ensembles(ensembles, table.scores)
    results = correlate_table(table, chosen, members, want_vote(vote, table.scores), resamples, seed, rule)
    if all(r.n < MIN_ROWS for r in results):
        raise DataCorruptError(
            f"fewer than {MIN_ROWS} architectures have both a score and an accuracy "
            f"({len(table.frame)} rows read from {', '.join(map(str, table.sources))})"
        )
    notes = [f"{r.score} vs {r.target}: only {r.n} usable rows, left blank" for r in results if r.n < MIN_ROWS]
    small = small_n_note(results)
    notes += ([small] if small else []) + seed_spread_notes(results)
    return CorrelationReport(table, chosen, results, notes)


def small_n_note(results: Sequence[Correlation]) -> str:
    """One line when some correlation rests on fewer than SMALL_N networks ("" otherwise)."""
    small = [r for r in results if MIN_ROWS <= r.n < SMALL_N]
    if not small:
        return ""
    smallest = min(r.n for r in small)
    which = "every correlation" if len(small) == len(results) else f"{len(small)} of {len(results)} correlations"
    return (f"n < {SMALL_N} for {which} (smallest n={smallest}): tau, rho, their 95% intervals and the top-of-ranking "
            f"metrics say little about the space; score more networks")


SEED_COLUMN = re.compile(r"^(?P<base>.+)@seed(?P<seed>\d+)$")


def seed_spread_notes(results: Sequence[Correlation]) -> List[str]:
    """For scores computed under several seeds (``x@seed0``, ``x@seed1``, ... beside their mean
    ``x``): the tau of the mean next to the spread of the per-seed taus, per target."""
    groups: Dict[tuple, List[float]] = {}
    for r in results:
        match = SEED_COLUMN.match(r.score)
        if match and not math.isnan(r.kendall_tau):
            groups.setdefault((match["base"], r.target), []).append(r.kendall_tau)
    mean_tau = {(r.score, r.target): r.kendall_tau for r in results}
    notes = []
    for (base, target), taus in groups.items():
        if len(taus) < 2:
            continue
        spread = np.asarray(taus)
        of_mean = mean_tau.get((base, target), float("nan"))
        notes.append(f"{base} vs {target}: tau of the {len(taus)}-seed mean {of_mean:.3f}; per-seed tau "
                     f"{spread.mean():.3f} +- {spread.std():.3f} (min {spread.min():.3f}, max {spread.max():.3f})")
    return notes


def select_targets(table: ScoreTable, targets: Optional[Sequence[str]]) -> List[str]:
    """The accuracy columns to correlate with: all of them, or the named ones (validated)."""
    if not targets:
        return list(table.accuracies)
    for target in targets:
        if target not in table.accuracies:
            raise UnknownNameError("accuracy column", target, table.accuracies)
    return list(dict.fromkeys(targets))


def want_vote(vote: Optional[bool], scores: Sequence[str]) -> bool:
    """Whether to add the vote: as asked (its members must exist), or when its members exist."""
    missing = missing_vote_members(scores)
    if vote and missing:
        raise UsageError(
            f"--vote needs score columns {', '.join(VOTE_MEMBERS)}; missing: {', '.join(missing)}"
        )
    return not missing if vote is None else vote


def correlate_table(
    table: ScoreTable,
    targets: Sequence[str],
    ensembles: Sequence[Sequence[str]],
    vote: bool,
    resamples: int,
    seed: int,
    rule: str = "mean-rank",
) -> List[Correlation]:
    """Every (score, target) correlation, then the vote's pair agreement for each target.

    Ensembles combine ranks by ``rule``; a registered proxy group whose members are all present
    (e.g. ``az_nas``) gets its own column, combined by the group's rule."""
    columns = {name: table.frame[name].to_numpy(dtype=np.float64) for name in table.scores}
    directions = dict(table.directions)
    derived = ensemble_columns(columns, directions, ensembles, rule)
    derived.update(group_columns(columns, directions, registered_groups(columns)))
    columns.update(derived)
    directions.update({name: "max" for name in derived})
    results = []
    for target in targets:
        accuracy = table.frame[target].to_numpy(dtype=np.float64)
        for name, values in columns.items():
            results.append(correlate_pair(name, target, values, accuracy, directions[name], resamples, seed))
        if vote:
            results.append(vote_correlation(columns, directions, target, accuracy))
    return results


def registered_groups(columns: Sequence[str]) -> List[Tuple[str, Tuple[str, ...], str]]:
    """(name, members, rule) of each registered proxy group whose members are all score columns and
    whose name is not a column already."""
    if not columns:
        return []
    from nasbench_cli.proxies import PROXY_GROUPS  # the registry imports torch: only when needed

    groups = (PROXY_GROUPS.get(name) for name in PROXY_GROUPS.names())
    return [(g.name, g.members, g.aggregate) for g in groups
            if g.name not in columns and all(m in columns for m in g.members)]


def vote_correlation(
    columns: Dict[str, np.ndarray], directions: Dict[str, str], target: str, accuracy: np.ndarray
) -> Correlation:
    """The vote's pair agreement with ``accuracy`` over the rows where every member is defined."""
    stacked = np.column_stack([columns[m] for m in VOTE_MEMBERS] + [accuracy])
    stacked = stacked[~np.isnan(stacked).any(axis=1)]
    n = len(stacked)
    if n < MIN_ROWS:
        return Correlation("vote", target, n, direction="max")
    agreement = majority_pair_agreement(
        [stacked[:, i] for i in range(len(VOTE_MEMBERS))],
        [directions[m] for m in VOTE_MEMBERS],
        stacked[:, -1],
    )
    return Correlation("vote", target, n, pair_agreement=agreement, direction="max")


def result_values(result: Correlation) -> List[object]:
    """One result's values in RESULT_COLUMNS order, unrounded (the API's DataFrame rows)."""
    return [
        result.score, result.target, result.n,
        result.kendall_tau, result.kendall_lo, result.kendall_hi,
        result.spearman_rho, result.spearman_lo, result.spearman_hi, result.pair_agreement,
        result.direction,
        *(getattr(result, field_name) for field_name in TOP_COLUMNS.values()),
    ]


def result_rows(results: Sequence[Correlation]) -> List[List[object]]:
    """The result CSV's rows (columns RESULT_COLUMNS); NaN statistics are blank cells."""
    return [
        [value if column in ("score", "target", "n", "direction")
         else format_float(value, decimals=DECIMALS, nan="")
         for column, value in zip(RESULT_COLUMNS, result_values(r))]
        for r in results
    ]


def _estimate(label: str, value: float, lo: float, hi: float) -> str:
    if math.isnan(value):
        return ""
    interval = "" if math.isnan(lo) else f" [{lo:.3f}, {hi:.3f}]"
    return f"{label} {value:6.3f}{interval}"


def _interval(lo: float, hi: float) -> str:
    return "" if math.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]"


def _fixed(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"


def format_results(results: Sequence[Correlation], fmt: str = "text") -> str:
    """The results as a table: the aligned text of ``format_table``, markdown or LaTeX with one
    column per statistic (3 decimals), or CSV: the result CSV itself (RESULT_COLUMNS, 6 decimals),
    so that a CSV printed and a CSV written by --out are one schema, byte for byte."""
    if fmt == "text":
        return format_table(results)
    from nasbench_cli.analysis.tables import render_table

    if fmt == "csv":
        return render_table(RESULT_COLUMNS, result_rows(results), "csv")
    headers = ["score", "target", "n", "kendall_tau", "tau_95ci", "spearman_rho", "rho_95ci", "pair_agreement",
               *TOP_COLUMNS]
    rows = [[r.score, r.target, r.n, _fixed(r.kendall_tau), _interval(r.kendall_lo, r.kendall_hi),
             _fixed(r.spearman_rho), _interval(r.spearman_lo, r.spearman_hi), _fixed(r.pair_agreement),
             *(_fixed(getattr(r, name)) for name in TOP_COLUMNS.values())]
            for r in results]
    return render_table(headers, rows, fmt)


def _top_text(r: Correlation) -> List[str]:
    """The top-of-ranking cells of the text table: precision at 1/5/10%, nDCG, top-1 and regret."""
    if math.isnan(r.p_at_1):
        return ["", "", ""]
    return [f"p@1/5/10% {r.p_at_1:.2f}/{r.p_at_5:.2f}/{r.p_at_10:.2f}",
            "" if math.isnan(r.ndcg) else f"ndcg {r.ndcg:.3f}",
            f"top1 {r.top1_acc:.2f} (regret {r.regret:.2f})"]


def format_table(results: Sequence[Correlation]) -> str:
    """Aligned text: score, target, n, tau [lo, hi], rho [lo, hi], pair agreement, then the top of
    the ranking: precision at 1/5/10%, nDCG, top-1 accuracy and its regret."""
    rows = [
        [
            r.score,
            r.target,
            f"n={r.n}",
            _estimate("tau", r.kendall_tau, r.kendall_lo, r.kendall_hi),
            _estimate("rho", r.spearman_rho, r.spearman_lo, r.spearman_hi),
            "" if math.isnan(r.pair_agreement) else f"pairs {r.pair_agreement:.3f}",
            *_top_text(r),
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
