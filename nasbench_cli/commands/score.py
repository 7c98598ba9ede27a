"""`nasbench score`: proxy scores for architectures of a space, joined with benchmark accuracies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click
import numpy as np

from nasbench_cli.commands.options import (
    data_options,
    engine_options,
    output_options,
    proxy_settings_options,
    space_option,
    verbosity_options,
)
from nasbench_cli.engine.rows import join_accuracies, score_rows
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger
from nasbench_cli.output import check_output, format_float, is_stdout, score_csv_roles, write_csv
from nasbench_cli.provenance import build_provenance, file_digests, write_provenance
from nasbench_cli.search.base import check_alignment
from nasbench_cli.selection import select_indices
from nasbench_cli.session import RunConfig, ScoringSession, parse_proxy_list


_log = get_logger("score")


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
              help="Output CSV, - for stdout (its provenance then goes to the -v log) "
                   "[default: results/score-<space>-<dataset>-seed<seed>.csv].")
@click.option("--ground-truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Compact accuracy table to join [default: the space's table in the data dir].")
@click.option("--restart", is_flag=True, help="Recompute every score of the selection (overwriting stored ones).")
@click.option("--seeds", "seeds_text", default=None, metavar="LIST",
              help="Score under several init/batch seeds, e.g. 0,1,2: each proxy column is the mean, with "
                   "<proxy>:std and one <proxy>@seed<k> column per seed (--seed still picks the sample).")
@data_options
@engine_options
@output_options
@verbosity_options
def score(proxy_text, n, everything, arch_file, out, truth_path, restart, seeds_text, timing, **options) -> None:
    """Score architectures of SPACE with proxies on a DATASET batch; write a CSV + provenance."""
    config = RunConfig.from_options(parse_proxy_list(proxy_text), **options)
    seeds = parse_seeds(seeds_text)
    session = ScoringSession(config)
    indices = select_indices(session.space, config.score_seed, n, everything, arch_file)
    truth = load_accuracies(session.space, truth_path)  # a damaged table fails before any scoring
    if truth is not None:
        check_alignment(session.space, truth)  # another space's table must not be joined by index
    out = out or Path("results") / f"score-{config.space}-{session.dataset.name}-seed{config.score_seed}.csv"
    with session:
        engine = session.engine
        _, images = engine.data_scorer()  # loads the batch: missing data fails before any worker starts
        check_output(out, [session.store_name, truth.source if truth is not None else None, arch_file,
                           *(session.data_dir / name for name in images.files)])
        known, todo = engine.plan(indices, restart)
        resumed = len(dict.fromkeys(indices)) - len(todo)
        engine.compute(todo, known, restart, initial=resumed)
    rows, failures = score_rows(session.space, indices, known, timing)
    names = list(config.proxies)
    score_columns = {s.name: s.direction for s in session.specs}
    metadata = []
    if seeds:
        per_seed = {seed: _known_under_seed(config, seed, indices, restart) for seed in seeds}
        score_columns, metadata = add_seed_columns(rows, per_seed, session.specs)
        names = list(score_columns) + metadata
    accuracy_columns, metadata_columns = join_accuracies(rows, truth)
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
        data_sha256=file_digests(session.data_dir / name for name in images.files),
        data_note=images.note,
        index_order=session.space.index_order,
        ground_truth=str(truth.source) if truth is not None else None,
        columns=score_csv_roles(score_columns, accuracy_columns, [*metadata, *metadata_columns], timing),
        score_seeds=list(seeds) if seeds else [config.score_seed],
        rows=len(rows),
        resumed_rows=resumed,
        failures=failures,
        seconds=round(engine.report.seconds, 3),
    )
    write_provenance(out, record)
    _log.info(f"wrote {len(rows)} rows to {'stdout' if is_stdout(out) else out} ({resumed} from the store)"
              + ("" if truth is not None else "; no ground truth found, no accuracy columns"))


def parse_seeds(text: Optional[str]) -> Tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); None -> () (one seed, --seed); bad or repeated entries: exit 2."""
    if text is None:
        return ()
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--seeds '{text}': give comma-separated integers, e.g. 0,1,2") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**63 for s in seeds):
        raise UsageError(f"--seeds '{text}': give two or more distinct seeds in 0..2**63-1")
    return seeds


def _known_under_seed(config: RunConfig, seed: int, indices, restart: bool):
    """Every proxy's stored-or-computed scores of ``indices`` with init/batch seed ``seed``."""
    with ScoringSession(replace(config, score_seed=seed)) as session:
        engine = session.engine
        known, todo = engine.plan(indices, restart)
        engine.compute(todo, known, restart, initial=len(dict.fromkeys(indices)) - len(todo))
    return known


def add_seed_columns(rows, per_seed, specs) -> Tuple[Dict[str, str], List[str]]:
    """Replace each proxy's value in ``rows`` by its mean over seeds and add ``<proxy>@seed<k>``
    (scores) and ``<proxy>:std`` (population std); returns the score columns with directions and
    the std columns. A proxy failing under one seed gives a NaN mean."""
    score_columns: Dict[str, str] = {}
    std_columns = []
    for spec in specs:
        score_columns[spec.name] = spec.direction
        for seed in per_seed:
            score_columns[f"{spec.name}@seed{seed}"] = spec.direction
        std_columns.append(f"{spec.name}:std")
    for row in rows:
        index = int(row["index"])
        for spec in specs:
            values = np.array([per_seed[seed][spec.name][index].value for seed in per_seed], dtype=np.float64)
            for seed, value in zip(per_seed, values):
                row[f"{spec.name}@seed{seed}"] = format_float(value)
            row[spec.name] = format_float(float(values.mean()))  # NaN if a seed failed; -inf kept
            row[f"{spec.name}:std"] = format_float(float(values.std()) if np.isfinite(values).all() else float("nan"))
    return score_columns, std_columns
