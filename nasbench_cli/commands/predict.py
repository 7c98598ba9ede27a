"""`nasbench predict`: few-shot accuracy predictors with training-free scores as features.

The job is nasbench_cli.workflows.predict; this command parses its options, runs it, writes the
per-trial and summary CSVs with their provenance, and prints the summary table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from nasbench_cli.analysis.tables import TABLE_FORMATS
from nasbench_cli.commands.error_lines import ReportingCommand
from nasbench_cli.commands.options import (
    OUT_FILE,
    SEED,
    data_options,
    engine_options,
    int_range,
    output_options,
    proxy_settings_options,
    space_option,
    verbosity_options,
)
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger, note
from nasbench_cli.commands.run_outputs import RunOutput
from nasbench_cli.options import TRIALS, RunConfig
from nasbench_cli.workflows.predict import (
    DEFAULT_POOL,
    PredictJob,
    parse_features,
    parse_sizes,
    printed_table,
    run_predict,
)

_log = get_logger("predict")


def parse_pool(text: Optional[str]) -> Tuple[Optional[int], bool]:
    """--pool: N or 'all' -> (n, all); None -> (None, False) (the default pool)."""
    if text is None:
        return None, False
    if text.strip() == "all":
        return None, True
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"--pool '{text}': give a number of architectures (at least 1) or 'all'")
    return int(text), False


@click.command("predict", cls=ReportingCommand)
@space_option
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset the scores are computed on; also picks the default target.")
@click.option("--target", default=None, metavar="COLUMN",
              help="Accuracy column to predict [default: the benchmark's final test accuracy, e.g. "
                   "cifar10/ori-test@200].")
@click.option("--features", "features_text", default="naswot", show_default=True,
              help="Comma-separated scores used as features: proxies (computed through the store where missing) or "
                   "score columns of --scores files; 'none': the encoding alone.")
@click.option("--encoding", default="auto", show_default=True,
              help="Architecture encoding: auto (the space's own), onehot (nb201, nats-tss), adjacency (nb101), "
                   "channels (nats-sss), or none (the scores alone).")
@click.option("--model", default="gbt", show_default=True,
              help="gbt (XGBoost if installed, else scikit-learn's histogram GBT), rf, gp or mlp.")
@click.option("--train-sizes", "sizes_text", default="10,20,50,100,200,500", show_default=True,
              help="Training-set sizes (trained architectures the model is fitted on).")
@click.option("--trials", type=int_range(TRIALS), default=20, show_default=True,
              help="Training sets drawn per size.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the test split, the training draws and the models.")
@click.option("--test-size", type=int, default=None,
              help="Held-out test architectures [default: half the pool, at most 1000].")
@click.option("--pool", "pool_text", default=None, metavar="N|all",
              help=f"Architectures sampled (as `score --n N --seed SCORE_SEED`) and scored for the labelled pool "
                   f"[default: {DEFAULT_POOL}]; not with --scores.")
@click.option("--scores", "score_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Score CSV (index + score columns) to read the features from instead of computing them; repeatable.")
@click.option("--compare", is_flag=True,
              help="Also fit the encoding alone and the scores alone, on the same training nets.")
@proxy_settings_options("--score-seed", "Seed of computed scores (network init and batch), as `nasbench score --seed`.")
@click.option("--out", type=OUT_FILE, default=None,
              help="Per-trial CSV [default: results/predict-<space>-<dataset>-<model>-<features>[-compare]-trials<T>-"
                   "seed<S>.csv; another run's file is never replaced]; the summary goes to <stem>.summary.csv; "
                   "- writes "
                   "the trials to stdout and the table to stderr.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="text", show_default=True,
              help="How the printed summary table is written.")
@data_options
@engine_options
@output_options
@verbosity_options
def predict(features_text, encoding, model, target, sizes_text, trials, seed, test_size, pool_text, score_files,
            compare, out, fmt, timing, **options) -> None:
    """Fit accuracy predictors on a few trained architectures of SPACE, with scores and/or an
    architecture encoding as features; write per-trial and summary CSVs + provenance."""
    pool, pool_all = parse_pool(pool_text)
    features = parse_features(features_text)
    job = PredictJob(RunConfig.from_options(features, **options), features, encoding, model, target,
                     parse_sizes(sizes_text), trials, seed, test_size, pool, pool_all, tuple(score_files), compare,
                     timing)
    target = RunOutput(out, with_summary=True)
    result = run_predict(job, notify=lambda text: note(_log, text), before_compute=target.check)
    target.write(result.columns, result.rows, result.arguments, result.provenance, result.summary_columns,
                 result.summary_rows)
    out, summary = target.path, target.summary
    table = printed_table(result, fmt)
    if summary is None:  # stdout carries the trials CSV: the table is a message
        _log.info(table)
    else:
        click.echo(table)
        _log.info(f"wrote {len(result.rows)} trials to {out} and the summary to {summary}")

