"""`nasbench score`: proxy scores for architectures of a space, joined with benchmark accuracies."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from nasbench_cli.commands.options import (
    OUT_FILE,
    data_options,
    engine_options,
    output_options,
    proxy_settings_options,
    space_option,
    verbosity_options,
)
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger
from nasbench_cli.commands.run_outputs import RunOutput
from nasbench_cli.output import is_stdout
from nasbench_cli.options import RunConfig
from nasbench_cli.workflows.score import SEED_AGGREGATES, ScoreJob, check_seeds, parse_proxy_list, run_score


_log = get_logger("score")


@click.command()
@space_option
@click.option("--dataset", default="cifar10", show_default=True, help="Dataset (see `nasbench datasets`).")
@click.option("--proxy", "proxy_text", default="naswot", show_default=True, help="Comma-separated proxies, or 'all'.")
@click.option("--n", "n", type=int, default=None, help="Score N architectures sampled with the seed [default: 100].")
@click.option("--all", "everything", is_flag=True, help="Score every architecture of the space.")
@click.option("--archs", "arch_file", type=click.Path(path_type=Path), default=None,
              help="File of architecture strings or indices, one per line (- reads stdin).")
@proxy_settings_options("--seed", "Seed for sampling, batch and init.")
@click.option("--out", type=OUT_FILE, default=None,
              help="Output CSV, - for stdout (its provenance then goes to the -v log) "
                   "[default: results/score-<space>-<dataset>-<proxies>-<n|all|archs>-seed<seed>.csv, "
                   "e.g. score-nb201-cifar10-naswot-n100-seed0.csv; another run's file is never replaced].")
@click.option("--ground-truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Compact accuracy table to join [default: the space's table in the data dir].")
@click.option("--restart", is_flag=True, help="Recompute every score of the selection (overwriting stored ones).")
@click.option("--seeds", "seeds_text", default=None, metavar="LIST",
              help="Score under several init/batch seeds, e.g. 0,1,2: each proxy column is the mean, with "
                   "<proxy>:std and one <proxy>@seed<k> column per seed (--seed still picks the sample).")
@click.option("--seed-aggregate", "seed_aggregate", type=click.Choice(["mean", "rank"]), default="mean",
              show_default=True,
              help="With --seeds: each proxy column is the mean of the per-seed values, or the mean of the "
                   "per-seed ranks among the run's networks (multiplicative proxies such as synflow are then "
                   "not decided by one seed; ranks compare within the CSV only).")
@data_options
@engine_options
@output_options
@verbosity_options
def score(proxy_text, n, everything, arch_file, out, truth_path, restart, seeds_text, seed_aggregate, timing,
          **options) -> None:
    """Score architectures of SPACE with proxies on a DATASET batch; write a CSV + provenance."""
    seeds = parse_seeds(seeds_text)
    if seed_aggregate != "mean" and not seeds:
        raise UsageError("--seed-aggregate combines the scores of --seeds; give --seeds too")
    job = ScoreJob(RunConfig.from_options(parse_proxy_list(proxy_text), **options), n=n, everything=everything,
                   arch_file=arch_file, ground_truth=truth_path, restart=restart, seeds=seeds,
                   seed_aggregate=seed_aggregate, timing=timing)
    target = RunOutput(out)
    result = run_score(job, before_compute=target.check)
    target.write(result.columns, result.rows, result.arguments, result.provenance)
    if seeds:  # say what the proxy columns hold
        _log.info(f"seeds {','.join(map(str, seeds))}: each proxy column is the {SEED_AGGREGATES[seed_aggregate]}")
    _log.info(f"wrote {len(result.rows)} rows to {'stdout' if is_stdout(target.path) else target.path} "
              f"({result.resumed} from the store)"
              + ("" if result.has_truth else "; no ground truth found, no accuracy columns"))


def parse_seeds(text: Optional[str]) -> Tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); None -> () (one seed, --seed); bad or repeated entries: exit 2."""
    if text is None:
        return ()
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--seeds '{text}': give comma-separated integers, e.g. 0,1,2") from None
    if len(seeds) < 2:
        raise UsageError(f"--seeds '{text}': give two or more distinct seeds in 0..2**63-1")
    return check_seeds(seeds)
