"""The store job: what the score store holds, one proxy's scores as rows, and their removal.

The store is found as every run finds it (``--store``, else $NASBENCH_STORE, else the user cache:
:func:`nasbench_cli.store.store_origin`). Reading never creates a store: where none exists the
job says so. A foreign SQLite file is refused by :class:`ScoreStore` before anything is written.
Removal drops whole keys (a proxy's scores and their contexts) and touches nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from nasbench_cli.errors import DataMissingError, UsageError
from nasbench_cli.output import format_float
from nasbench_cli.store import ScoreContext, ScoreStore, store_origin

#: the key fields an export row carries besides the score (which of several keys a row comes from)
KEY_COLUMNS = ("space", "dataset", "seed", "batch_size", "head", "split", "options", "code_version",
               "proxy_version", "code", "data")


@dataclass(frozen=True)
class StoreFilter:
    """Which keys a command acts on: one proxy (or all), narrowed by space, dataset and seed."""

    proxy: Optional[str] = None
    space: Optional[str] = None
    dataset: Optional[str] = None
    seed: Optional[int] = None

    def matches(self, context: ScoreContext) -> bool:
        return ((self.proxy is None or context.proxy == self.proxy)
                and (self.space is None or context.space == self.space)
                and (self.dataset is None or context.dataset == self.dataset)
                and (self.seed is None or context.seed == self.seed))

    def describe(self) -> str:
        parts = [f"{name}={getattr(self, name)}" for name in ("proxy", "space", "dataset", "seed")
                 if getattr(self, name) is not None]
        return ", ".join(parts) or "everything"


def locate(store: Optional[Path]) -> Tuple[Path, str]:
    """(path, origin) of the store, which must exist; DataMissingError (one line) where it does not."""
    path, origin = store_origin(store)
    if path.is_dir():
        raise UsageError(f"{path} ({origin}) is a folder, not a score store file")
    if not path.is_file():
        raise DataMissingError(f"no score store at {path} ({origin}): nothing has been scored into it yet "
                               "(--store PATH or $NASBENCH_STORE name another)")
    return path, origin


def open_existing(store: Optional[Path]) -> Tuple[ScoreStore, str]:
    """The store, opened (a foreign SQLite file is refused, unchanged), and its origin."""
    path, origin = locate(store)
    return ScoreStore(path), origin


def summary(store: ScoreStore, where: StoreFilter = StoreFilter()) -> List[Dict[str, object]]:
    """One record per (space, dataset, proxy): keys (settings, code versions, batches) and scores,
    sorted by space, dataset, proxy."""
    groups: Dict[Tuple[str, str, str], Dict[str, object]] = {}
    for context, count in store.contexts():
        if not where.matches(context):
            continue
        group = groups.setdefault((context.space, context.dataset, context.proxy),
                                  {"space": context.space, "dataset": context.dataset, "proxy": context.proxy,
                                   "keys": 0, "scores": 0, "seeds": set()})
        group["keys"] = int(group["keys"]) + 1
        group["scores"] = int(group["scores"]) + count
        group["seeds"].add(context.seed)  # type: ignore[union-attr]
    records = []
    for key in sorted(groups):
        record = dict(groups[key])
        record["seeds"] = sorted(record["seeds"])  # type: ignore[arg-type]
        records.append(record)
    return records


def summary_lines(path: Path, origin: str, records: Sequence[Dict[str, object]]) -> List[str]:
    """The aligned text `nasbench store list` prints."""
    total = sum(int(r["scores"]) for r in records)
    lines = [f"Score store: {path} ({origin}; {path.stat().st_size / 2**20:.1f} MiB): "
             f"{total} scores under {sum(int(r['keys']) for r in records)} keys"]
    if not records:
        return lines + ["  (empty)"]
    header = ("space", "dataset", "proxy", "scores", "keys", "seeds")
    rows = [(str(r["space"]), str(r["dataset"]), str(r["proxy"]), str(r["scores"]), str(r["keys"]),
             ",".join(map(str, r["seeds"]))) for r in records]  # type: ignore[arg-type]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        lines.append("  " + "  ".join(cell.rjust(w) if i in (3, 4) else cell.ljust(w)
                                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    lines.append("A key is one set of settings (seed, batch, head, options, data, code version): "
                 "scores of another key are never mixed in.")
    return lines


def matching(store: ScoreStore, where: StoreFilter) -> List[Tuple[ScoreContext, int]]:
    """The keys ``where`` selects, with their score counts; UsageError naming what the store has
    when none match."""
    everything = store.contexts()
    chosen = [(c, n) for c, n in everything if where.matches(c)]
    if not chosen:
        proxies = sorted({c.proxy for c, _ in everything})
        held = ", ".join(proxies) if proxies else "nothing"
        raise UsageError(f"the score store {store.path} has no scores for {where.describe()}; it holds: {held}")
    return chosen


def export_columns(proxy: str) -> List[str]:
    """Header of an export: the key, index, arch, the score under the proxy's name, seconds, error."""
    return [*KEY_COLUMNS, "index", "arch", proxy, "seconds", "error"]


def export_rows(store: ScoreStore, where: StoreFilter) -> Iterator[Dict[str, str]]:
    """Every stored score of the keys ``where`` selects (``where.proxy`` is required), key by key
    in the store's order, architectures by index: the same store gives the same rows."""
    if where.proxy is None:
        raise UsageError("export takes one proxy")
    for context, _ in matching(store, where):
        key = {name: str(getattr(context, name)) for name in KEY_COLUMNS}
        stored = store.get_many(context)
        for index in sorted(stored):
            score = stored[index]
            yield {**key, "index": str(index), "arch": score.arch or "",
                   where.proxy: format_float(score.value, nan=""),
                   "seconds": "" if score.seconds is None or math.isnan(score.seconds) else format_float(score.seconds),
                   "error": score.error or ""}


def remove(store: ScoreStore, where: StoreFilter) -> Tuple[int, int]:
    """Drop the keys ``where`` selects (``where.proxy`` is required): (keys, scores) removed."""
    if where.proxy is None:
        raise UsageError("remove takes one proxy")
    chosen = matching(store, where)
    removed = sum(store.drop_context(context) for context, _ in chosen)
    return len(chosen), removed

