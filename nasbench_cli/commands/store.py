"""`nasbench store list|export|remove`: what the score store holds, one proxy's scores as a CSV,
and the removal of one proxy's scores (nothing else in the store is touched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from nasbench_cli.commands.error_lines import ReportingGroup
from nasbench_cli.commands.options import OUT_FILE, SEED, verbosity_options
from nasbench_cli.logs import get_logger, note
from nasbench_cli.output import STDOUT, check_output, is_stdout, write_csv
from nasbench_cli.workflows.store import (StoreFilter, export_columns, export_rows, locate, matching,
                                          open_existing, remove, summary, summary_lines)

_log = get_logger("store")

store_option = click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="Score store file [default: $NASBENCH_STORE, else the user cache].")


def _narrowing(fn):
    """--space, --dataset and --seed: which of a proxy's keys a command acts on."""
    fn = click.option("--seed", type=SEED, default=None, help="Only scores computed with this seed.")(fn)
    fn = click.option("--dataset", default=None, help="Only scores of this dataset.")(fn)
    return click.option("--space", default=None, help="Only scores of this space.")(fn)


@click.group(cls=ReportingGroup)
def store() -> None:
    """Show what the score store holds, export or remove one proxy's scores.

    The store is the one runs use: --store, else $NASBENCH_STORE, else the user cache."""


@store.command("list")
@store_option
@click.option("--proxy", default=None, help="Only this proxy.")
@_narrowing
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object (path, origin, groups: space, dataset, proxy, scores, keys, seeds).")
@verbosity_options
def list_store(store_path: Optional[Path], proxy: Optional[str], space: Optional[str], dataset: Optional[str],
               seed: Optional[int], as_json: bool) -> None:
    """Spaces, datasets and proxies in the store, with how many scores and keys each has."""
    path, origin = locate(store_path)
    opened, _ = open_existing(store_path)
    with opened:
        records = summary(opened, StoreFilter(proxy, space, dataset, seed))
    if as_json:
        click.echo(json.dumps({"path": str(path), "origin": origin, "groups": records}, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(summary_lines(path, origin, records)))


@store.command("export")
@click.argument("proxy")
@store_option
@_narrowing
@click.option("--out", type=OUT_FILE, default=STDOUT, show_default=True,
              help="Output CSV (- for stdout): the key's columns, index, arch, the score under the proxy's "
                   "name, seconds, error.")
@verbosity_options
def export(proxy: str, store_path: Optional[Path], space: Optional[str], dataset: Optional[str],
           seed: Optional[int], out: Path) -> None:
    """Write PROXY's stored scores as a CSV (every key of the proxy, or those --space, --dataset and
    --seed select)."""
    where = StoreFilter(proxy, space, dataset, seed)
    path, _ = locate(store_path)
    if not is_stdout(out):
        check_output(out, inputs=[path])
    opened, _ = open_existing(store_path)
    with opened:
        keys = matching(opened, where)
        if len(keys) > 1:
            note(_log, f"{len(keys)} keys of {proxy} (other seeds, datasets, settings or code versions): an index can "
                 "repeat; the key columns tell the rows apart (--space, --dataset, --seed narrow)")
        written = write_csv(out, export_columns(proxy), export_rows(opened, where))
    if not is_stdout(written):
        _log.info(f"wrote {written}: {sum(n for _, n in keys)} scores of {proxy}")


@store.command("remove")
@click.argument("proxy")
@store_option
@_narrowing
@click.option("--yes", is_flag=True, help="Remove without asking.")
@verbosity_options
def remove_proxy(proxy: str, store_path: Optional[Path], space: Optional[str], dataset: Optional[str],
                 seed: Optional[int], yes: bool) -> None:
    """Remove PROXY's scores (all its keys, or those --space, --dataset and --seed select); every
    other score stays."""
    where = StoreFilter(proxy, space, dataset, seed)
    opened, _ = open_existing(store_path)
    with opened:
        keys = matching(opened, where)
        count = sum(n for _, n in keys)
        if not yes:
            click.confirm(f"Remove {count} scores of {where.describe()} ({len(keys)} keys) from {opened.path}?",
                          abort=True, err=True)
        dropped, removed = remove(opened, where)
    _log.info(f"removed {removed} scores ({dropped} keys) of {where.describe()} from {opened.path}")
