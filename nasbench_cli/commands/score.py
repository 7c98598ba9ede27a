"""`nasbench score`: proxy scores for architectures of a space, joined with benchmark accuracies."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
import torch
from tqdm import tqdm

from nasbench_cli.errors import UsageError
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.provenance import build_provenance, write_provenance
from nasbench_cli.runtime import pick_device
from nasbench_cli.scoring import (
    ScoreSettings,
    format_value,
    make_scorer,
    proxy_batch_size,
    run_scoring,
    score_context,
    write_rows_atomically,
)
from nasbench_cli.selection import select_indices


def parse_proxy_list(text: str) -> List[str]:
    """'naswot,synflow' or 'all' -> registered proxy names (unknown names: exit 2, list valid)."""
    from nasbench_cli.proxies import PROXIES

    if text.strip() == "all":
        return PROXIES.names()
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError("--proxy needs at least one name")
    for name in names:
        PROXIES.get(name)
    return list(dict.fromkeys(names))


def load_accuracies(search_space, truth_path: Optional[Path]):
    """Ground truth for the CSV: --ground-truth PATH, else the space's own table (None if absent)."""
    from nasbench_cli.groundtruth import GroundTruth

    return GroundTruth.read(truth_path) if truth_path is not None else search_space.ground_truth()


#: the benchmark's own cost figures, renamed so they never clash with the `params`/`flops` proxies
BENCHMARK_COSTS = {"params": "benchmark_params", "flops": "benchmark_flops"}


def join_accuracies(rows: Sequence[Dict[str, str]], truth) -> List[str]:
    """Add every accuracy column, and the benchmark's params/flops, to each row in place; return
    the columns added."""
    if truth is None:
        return []
    sources = list(truth.accuracy_columns) + [c for c in BENCHMARK_COSTS if c in truth.columns]
    for row in rows:
        index = int(row["index"])
        found = truth.row(index) if index in truth else None
        for column in sources:
            value = None if found is None else found.get(column)
            row[BENCHMARK_COSTS.get(column, column)] = "" if value is None else format_value(value)
    return [BENCHMARK_COSTS.get(column, column) for column in sources]


@click.command()
@click.option("--space", required=True, help="Search space (see `nasbench spaces`).")
@click.option("--dataset", default="cifar10", show_default=True, help="Dataset (see `nasbench datasets`).")
@click.option("--proxy", "proxy_text", default="naswot", show_default=True, help="Comma-separated proxies, or 'all'.")
@click.option("--n", "n", type=int, default=None, help="Score N architectures sampled with the seed [default: 100].")
@click.option("--all", "everything", is_flag=True, help="Score every architecture of the space.")
@click.option("--archs", "arch_file", type=click.Path(path_type=Path), default=None,
              help="File of architecture strings or indices, one per line (- reads stdin).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling, batch and init.")
@click.option("--batch-size", type=int, default=None, help="Batch size [default: each proxy's reference size].")
@click.option("--split", default="train", show_default=True, help="Dataset split the batch is drawn from.")
@click.option("--head", type=click.Choice(["auto", "one", "dataset"]), default="auto", show_default=True,
              help="Classifier width: each proxy's reference choice, 1 unit, or the dataset's classes.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output CSV [default: results/score-<space>-<dataset>-seed<seed>.csv].")
@click.option("--data-dir", type=click.Path(path_type=Path), envvar="NASBENCH_DATA", default=None,
              help="Data directory [env NASBENCH_DATA; default: user cache].")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="NASBENCH_STORE",
              default=None, help="Score store file [env NASBENCH_STORE; default: <data-dir>/scores.sqlite].")
@click.option("--no-store", is_flag=True, help="Throwaway run: neither reuse nor keep scores.")
@click.option("--ground-truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Compact accuracy table to join [default: the space's table in the data dir].")
@click.option("--restart", is_flag=True, help="Recompute every score of the selection (overwriting stored ones).")
@click.option("--timing/--no-timing", default=True, show_default=True,
              help="Add a seconds column (--no-timing: byte-identical outputs across runs).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def score(space, dataset, proxy_text, n, everything, arch_file, seed, batch_size, split, head, out, data_dir,
          device, store_path, no_store, truth_path, restart, timing, quiet) -> None:
    """Score architectures of SPACE with proxies on a DATASET batch; write a CSV + provenance."""
    from nasbench_cli.datasets import get_dataset
    from nasbench_cli.store import open_store
    from nasbench_cli.proxies import PROXIES
    from nasbench_cli.spaces import SPACES, create_space

    SPACES.get(space)  # unknown space: exit 2 before anything is loaded
    data = get_dataset(dataset)
    names = parse_proxy_list(proxy_text)
    if batch_size is not None and batch_size < 2:
        raise UsageError("--batch-size must be at least 2")
    data_root = resolve_data_dir(data_dir)
    search_space = create_space(space, data_root)
    if data.name not in getattr(search_space, "datasets", (data.name,)) and data.name != "synthetic":
        raise UsageError(f"space {space} has no networks for dataset {dataset}")
    indices = select_indices(search_space, seed, n, everything, arch_file)
    truth = load_accuracies(search_space, truth_path)  # a damaged table fails before any scoring
    specs = [PROXIES.get(name) for name in names]
    settings = ScoreSettings(space, data.name, tuple(names), seed, batch_size, head, split)
    torch_device = pick_device(device)
    if torch_device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    scorer, images = make_scorer(search_space, data, specs, settings, data_root, torch_device)
    out = out or Path("results") / f"score-{space}-{data.name}-seed{seed}.csv"
    store, store_name, store_note = open_store(store_path, data_root, enabled=not no_store)
    if store_note and not quiet:
        click.echo(f"note: {store_note}", err=True)

    def progress(items, initial):
        return tqdm(items, total=len(items) + initial, initial=initial, desc=f"{space}/{data.name}",
                    unit="arch", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    with store:
        rows, summary = run_scoring(scorer, indices, store, restart, timing, progress,
                                    on_failure=lambda msg: tqdm.write(f"warning: {msg}", file=sys.stderr),
                                    device=str(torch_device))
    accuracy_columns = join_accuracies(rows, truth)
    final_columns = ["index", "arch", *names, *accuracy_columns] + (["seconds"] if timing else [])
    write_rows_atomically(out, final_columns, rows)
    record = build_provenance(
        {"space": space, "dataset": data.name, "proxies": names, "n": n, "all": everything,
         "archs": arch_file, "seed": seed, "batch_size": batch_size, "split": split, "head": head,
         "data_dir": data_root, "timing": timing},
        seed=seed,
        device=str(torch_device),
        device_name=torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else "cpu",
        torch_threads=torch.get_num_threads(),
        proxies={s.name: s.direction for s in specs},
        proxy_settings={s.name: {"batch_size": proxy_batch_size(s, settings), "bn": s.bn, "loss": s.loss,
                                 "dtype": s.dtype, "head": s.head if head == "auto" else head,
                                 "version": s.version} for s in specs},
        store=store_name,
        store_contexts={s.name: score_context(s, settings).describe() for s in specs},
        computed_scores=summary.computed_scores,
        data_files=list(images.files),
        data_note=images.note,
        index_order=getattr(search_space, "index_order", "benchmark"),
        ground_truth=str(truth.source) if truth is not None else None,
        rows=summary.rows,
        resumed_rows=summary.resumed_rows,
        failures=summary.failures,
        seconds=round(summary.seconds, 3),
    )
    write_provenance(out, record)
    click.echo(f"wrote {len(rows)} rows to {out} ({summary.resumed_rows} from the store)"
               + ("" if truth is not None else "; no ground truth found, no accuracy columns"), err=True)
