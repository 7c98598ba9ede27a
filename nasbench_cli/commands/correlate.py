"""`nasbench correlate`: rank correlation of proxy scores with benchmark accuracy."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
import numpy as np

from nasbench_cli.analysis.correlation import (
    MIN_ROWS,
    Correlation,
    ScoreTable,
    correlate_pair,
    load_score_table,
    select_targets,
)
from nasbench_cli.analysis.derived import (
    VOTE_MEMBERS,
    ensemble_columns,
    majority_pair_agreement,
    missing_vote_members,
    parse_ensembles,
)
from nasbench_cli.commands.reporting import ReportingCommand
from nasbench_cli.errors import UsageError
from nasbench_cli.provenance import build_provenance, write_provenance

COLUMNS = (
    "score", "target", "n", "kendall_tau", "kendall_lo", "kendall_hi",
    "spearman_rho", "spearman_lo", "spearman_hi", "pair_agreement", "direction",
)


@click.command("correlate", cls=ReportingCommand)
@click.argument("csv_paths", metavar="CSV...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--target", "targets", multiple=True, metavar="COLUMN",
              help="Accuracy column to correlate with (repeatable); default: every accuracy column.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output CSV; default: <first input stem>.correlation.csv next to it.")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap resamples for the 95% percentile intervals (0: no intervals).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--vote/--no-vote", default=None,
              help="Majority vote of synflow, jacob_cov, snip (default: when all three columns exist).")
@click.option("--ensemble", "ensembles", multiple=True, metavar="LIST",
              help="Mean-rank ensemble of comma-separated score columns, e.g. synflow,jacob_cov "
                   "(repeatable).")
def correlate(
    csv_paths: Sequence[Path],
    targets: Sequence[str],
    out: Optional[Path],
    resamples: int,
    seed: int,
    vote: Optional[bool],
    ensembles: Sequence[str],
) -> None:
    """Kendall tau and Spearman rho of each score column in CSV... against accuracy.

    CSV files are written by `nasbench score`; several are concatenated (duplicate architecture
    indices keep their first row). Scores are correlated by rank: -inf ranks lowest, NaN rows are
    dropped per pair and the n used is shown. tau/rho are of the raw score; pair_agreement orients
    the score by its direction (higher or lower is better).
    """
    _run(csv_paths, targets, out, resamples, seed, vote, ensembles)


def _run(
    csv_paths: Sequence[Path],
    targets: Sequence[str],
    out: Optional[Path],
    resamples: int,
    seed: int,
    vote: Optional[bool],
    ensembles: Sequence[str],
) -> None:
    table = load_score_table(csv_paths)
    for note in table.notes:
        click.echo(f"Note: {note}", err=True)
    chosen = select_targets(table, targets)
    members = parse_ensembles(ensembles, table.scores)
    use_vote = _want_vote(vote, table.scores)
    results = correlate_table(table, chosen, members, use_vote, resamples, seed)
    if all(r.n < MIN_ROWS for r in results):
        raise UsageError(
            f"fewer than {MIN_ROWS} architectures have both a score and an accuracy "
            f"({len(table.frame)} rows read from {', '.join(map(str, table.sources))})"
        )
    for r in results:
        if r.n < MIN_ROWS:
            click.echo(f"Note: {r.score} vs {r.target}: only {r.n} usable rows, left blank", err=True)
    out = out or default_output(table.sources[0])
    write_results(results, out)
    write_provenance(out, build_provenance(
        {"csv": list(csv_paths), "target": list(targets), "out": out, "bootstrap": resamples,
         "seed": seed, "vote": vote, "ensemble": list(ensembles)},
        inputs=[str(p) for p in table.sources],
        rows=len(table.frame),
        scores=table.directions,
        targets=chosen,
        notes=table.notes,
        method="Kendall tau-b and Spearman rho on ranks (-inf lowest, NaN dropped per pair); "
               "95% bootstrap percentile intervals over architectures resampled with replacement",
    ))
    click.echo(format_table(results))
    click.echo(f"Wrote {out}")


def _want_vote(vote: Optional[bool], scores: Sequence[str]) -> bool:
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
) -> List[Correlation]:
    """Every (score, target) correlation, then the vote's pair agreement for each target."""
    columns = {name: table.frame[name].to_numpy(dtype=np.float64) for name in table.scores}
    directions = dict(table.directions)
    derived = ensemble_columns(columns, directions, ensembles)
    columns.update(derived)
    directions.update({name: "max" for name in derived})
    results = []
    for target in targets:
        accuracy = table.frame[target].to_numpy(dtype=np.float64)
        for name, values in columns.items():
            results.append(correlate_pair(name, target, values, accuracy, directions[name], resamples, seed))
        if vote:
            results.append(_vote(columns, directions, target, accuracy))
    return results


def _vote(
    columns: Dict[str, np.ndarray], directions: Dict[str, str], target: str, accuracy: np.ndarray
) -> Correlation:
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


def default_output(first_input: Path) -> Path:
    """``runs/x.csv`` -> ``runs/x.correlation.csv``."""
    return first_input.with_name(first_input.stem + ".correlation.csv")


def _number(value: float) -> str:
    """Fixed 6-decimal text, blank for NaN: the same bytes for the same inputs and seed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.6f}"
    return "0.000000" if text == "-0.000000" else text


def write_results(results: Sequence[Correlation], path: Path) -> None:
    """The correlation CSV: one row per (score, target), columns COLUMNS."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in results:
            writer.writerow([
                r.score, r.target, r.n,
                *(_number(v) for v in (r.kendall_tau, r.kendall_lo, r.kendall_hi,
                                       r.spearman_rho, r.spearman_lo, r.spearman_hi, r.pair_agreement)),
                r.direction,
            ])


def _estimate(label: str, value: float, lo: float, hi: float) -> str:
    if math.isnan(value):
        return ""
    interval = "" if math.isnan(lo) else f" [{lo:.3f}, {hi:.3f}]"
    return f"{label} {value:6.3f}{interval}"


def format_table(results: Sequence[Correlation]) -> str:
    """Aligned text: score, target, n, tau [lo, hi], rho [lo, hi], pair agreement."""
    rows = [
        [
            r.score,
            r.target,
            f"n={r.n}",
            _estimate("tau", r.kendall_tau, r.kendall_lo, r.kendall_hi),
            _estimate("rho", r.spearman_rho, r.spearman_lo, r.spearman_hi),
            "" if math.isnan(r.pair_agreement) else f"pairs {r.pair_agreement:.3f}",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
