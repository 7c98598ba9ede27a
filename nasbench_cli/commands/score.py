"""`nasbench score`: proxy scores for architectures of a space, joined with benchmark accuracies."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from nasbench_cli.commands.options import (
    data_options,
    engine_options,
    output_options,
    proxy_settings_options,
    space_option,
)
from nasbench_cli.engine.rows import join_accuracies, score_rows
from nasbench_cli.output import check_output, score_csv_roles, write_csv
from nasbench_cli.provenance import build_provenance, write_provenance
from nasbench_cli.search.base import check_alignment
from nasbench_cli.selection import select_indices
from nasbench_cli.session import RunConfig, ScoringSession, parse_proxy_list


def load_accuracies(search_space, truth_path: Optional[Path]):
    """Ground truth for the CSV: --ground-truth PATH, else the space's own table (None if absent)."""
    from nasbench_cli.groundtruth import GroundTruth

    return GroundTruth.read(truth_path) if truth_path is not None else search_space.ground_truth()


@click.command()
@space_option
@click.option("--dataset", default="cifar10", show_default=True, help="Dataset (see `nasbench datasets`).")
@click.option("--proxy", "proxy_text", default="naswot", show_default=True, help="Comma-separated proxies, or 'all'.")
@click.option("--n", "n", type=int, default=None, help="Score N architectures sampled with the seed [default: 100].")
@click.option("--all", "everything", is_flag=True, help="Score every architecture of the space.")
@click.option("--archs", "arch_file", type=click.Path(path_type=Path), default=None,
              help="File of architecture strings or indices, one per line (- reads stdin).")
@proxy_settings_options("--seed", "Seed for sampling, batch and init.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output CSV [default: results/score-<space>-<dataset>-seed<seed>.csv].")
@click.option("--ground-truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Compact accuracy table to join [default: the space's table in the data dir].")
@click.option("--restart", is_flag=True, help="Recompute every score of the selection (overwriting stored ones).")
@data_options
@engine_options
@output_options
def score(proxy_text, n, everything, arch_file, out, truth_path, restart, timing, **options) -> None:
    """Score architectures of SPACE with proxies on a DATASET batch; write a CSV + provenance."""
    config = RunConfig.from_options(parse_proxy_list(proxy_text), **options)
    session = ScoringSession(config)
    indices = select_indices(session.space, config.score_seed, n, everything, arch_file)
    truth = load_accuracies(session.space, truth_path)  # a damaged table fails before any scoring
    if truth is not None:
        check_alignment(session.space, truth)  # another space's table must not be joined by index
    out = out or Path("results") / f"score-{config.space}-{session.dataset.name}-seed{config.score_seed}.csv"
    with session:
        engine = session.engine
        _, images = engine.local_scorer()  # loads the batch: missing data fails before any worker starts
        check_output(out, [session.store_name, truth.source if truth is not None else None, arch_file,
                           *(session.data_dir / name for name in images.files)])
        known, todo = engine.plan(indices, restart)
        resumed = len(dict.fromkeys(indices)) - len(todo)
        engine.compute(todo, known, restart, initial=resumed)
    rows, failures = score_rows(session.space, indices, known, timing)
    accuracy_columns, metadata_columns = join_accuracies(rows, truth)
    names = list(config.proxies)
    columns = ["index", "arch", *names, *accuracy_columns, *metadata_columns] + (["seconds"] if timing else [])
    write_csv(out, columns, rows)
    record = build_provenance(
        {**click.get_current_context().params, "data_dir": session.data_dir, "dataset": session.dataset.name,
         "proxies": names},
        seed=config.score_seed,
        **session.device_record(),
        **session.proxy_record(),
        computed_scores=engine.report.computed_scores,
        data_files=list(images.files),
        data_note=images.note,
        index_order=session.space.index_order,
        ground_truth=str(truth.source) if truth is not None else None,
        columns=score_csv_roles({s.name: s.direction for s in session.specs}, accuracy_columns, metadata_columns,
                                timing),
        rows=len(rows),
        resumed_rows=resumed,
        failures=failures,
        seconds=round(engine.report.seconds, 3),
    )
    write_provenance(out, record)
    click.echo(f"wrote {len(rows)} rows to {out} ({resumed} from the store)"
               + ("" if truth is not None else "; no ground truth found, no accuracy columns"), err=True)
