"""The scoring loop: architectures -> networks -> proxy scores -> rows, resumable.

Each architecture's networks are built from a seed derived from (run seed, architecture index),
so a row does not depend on which rows came before it: a resumed, reordered or partial run gives
the same values as an uninterrupted one.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from nasbench_cli.errors import NasbenchError, UsageError
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxySpec
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class ScoreSettings:
    """Everything that decides a row's values (a partial run resumes only with equal settings)."""

    space: str
    dataset: str
    proxies: Tuple[str, ...]
    seed: int
    batch_size: Optional[int]  # None: each proxy's reference batch size
    head: str  # "auto" (each proxy's reference head), "one" or "dataset"
    split: str

    def key(self) -> Dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def proxy_batch_size(spec: ProxySpec, settings: ScoreSettings) -> int:
    """The batch size a proxy runs with: --batch-size, else the proxy's reference size."""
    return settings.batch_size or spec.batch_size or 64


def head_classes(spec: ProxySpec, settings: ScoreSettings, num_classes: int) -> int:
    """Width of the classifier head for a proxy (NASWOT's authors use a single unit)."""
    head = spec.head if settings.head == "auto" else settings.head
    return 1 if head == "one" else num_classes


def format_value(value: float) -> str:
    """Shortest round-trip text of a float ('-inf', 'nan' kept), identical across runs."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(float(value))


class ArchitectureScorer:
    """Scores one architecture with several proxies, sharing construction and the data batch."""

    def __init__(
        self,
        space: SearchSpace,
        specs: Sequence[ProxySpec],
        batch: Batch,
        num_classes: int,
        settings: ScoreSettings,
        device: torch.device,
    ):
        self.space, self.specs, self.batch = space, list(specs), batch
        self.num_classes, self.settings, self.device = num_classes, settings, device

    def _network(self, index: int, spec: ProxySpec, built: Dict[Tuple[bool, int], nn.Module]) -> nn.Module:
        key = (spec.bn, head_classes(spec, self.settings, self.num_classes))
        if key not in built:
            # same seed for every variant: BN and head differences leave the other weights equal
            torch.manual_seed(derive_seed(self.settings.seed, "arch", index))
            built[key] = self.space.build(index, key[1], bn=key[0])
        # each proxy gets its own copy: one proxy cannot change what another sees
        return copy.deepcopy(built[key]).to(self.device, DTYPES[spec.dtype])

    def _batch_for(self, spec: ProxySpec) -> Batch:
        size = proxy_batch_size(spec, self.settings)
        dtype = DTYPES[spec.dtype]
        return Batch(self.batch.inputs[:size].to(dtype), self.batch.targets[:size])

    def score(self, index: int) -> Tuple[Dict[str, float], Dict[str, str]]:
        """Proxy name -> value, and proxy name -> error message for those that failed (NaN)."""
        built: Dict[Tuple[bool, int], nn.Module] = {}
        values: Dict[str, float] = {}
        failures: Dict[str, str] = {}
        for spec in self.specs:
            ctx = ProxyContext(
                num_classes=head_classes(spec, self.settings, self.num_classes),
                device=self.device,
                seed=derive_seed(self.settings.seed, "proxy", spec.name, index),
            )
            try:
                model = self._network(index, spec, built)
                model.train()
                values[spec.name] = float(spec.fn(model, self._batch_for(spec), ctx))
            except (RuntimeError, ValueError, ArithmeticError) as err:
                values[spec.name] = float("nan")
                failures[spec.name] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        return values, failures


class PartialRun:
    """Rows already computed by an interrupted run, kept beside the output until it completes.

    Rows are appended and flushed one at a time, so a run killed at any moment loses at most the
    row it was computing; a torn last line is discarded on resume.
    """

    def __init__(self, out: Path, settings: ScoreSettings, columns: Sequence[str]):
        self.rows_path = out.with_name(out.name + ".partial.csv")
        self.meta_path = out.with_name(out.name + ".partial.json")
        self.settings, self.columns = settings, list(columns)

    def load(self) -> Dict[int, Dict[str, str]]:
        """Completed rows of a previous run with the same settings ({} when none)."""
        if not self.rows_path.exists() or not self.meta_path.exists():
            return {}
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {}
        if meta.get("settings") != self.settings.key() or meta.get("columns") != self.columns:
            raise UsageError(
                f"{self.rows_path} holds a partial run with other settings; delete it, "
                f"or rerun with --restart to discard it"
            )
        rows: Dict[int, Dict[str, str]] = {}
        with self.rows_path.open(newline="") as handle:
            text = handle.read()
        lines = text.split("\n")
        complete = lines[:-1]  # a line without its newline was torn by the interruption
        for row in csv.DictReader(complete, fieldnames=self.columns):
            try:
                rows[int(row["index"])] = row
            except (TypeError, ValueError):
                continue
        return rows

    def start(self, resumed: bool) -> None:
        """Create the partial files (truncate unless resuming)."""
        self.rows_path.parent.mkdir(parents=True, exist_ok=True)
        self.meta_path.write_text(json.dumps({"settings": self.settings.key(), "columns": self.columns}))
        if not resumed or not self.rows_path.exists():
            self.rows_path.write_text("")
        else:
            # drop a torn last line so appends start on a fresh line
            text = self.rows_path.read_text()
            if text and not text.endswith("\n"):
                self.rows_path.write_text(text[: text.rfind("\n") + 1])

    def append(self, row: Dict[str, str]) -> None:
        with self.rows_path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.columns, lineterminator="\n").writerow(row)
            handle.flush()
            os.fsync(handle.fileno())

    def discard(self) -> None:
        for path in (self.rows_path, self.meta_path):
            if path.exists():
                path.unlink()


def write_rows_atomically(out: Path, columns: Sequence[str], rows: Iterable[Dict[str, str]]) -> None:
    """Write a CSV via a temporary file and rename, so readers never see half a table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    os.replace(tmp, out)


@dataclass
class RunSummary:
    """What a scoring run did, for the provenance record."""

    rows: int = 0
    resumed_rows: int = 0
    failures: Dict[str, Dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0


def run_scoring(
    scorer: ArchitectureScorer,
    indices: Sequence[int],
    partial: PartialRun,
    restart: bool,
    timing: bool,
    progress: Callable[..., Iterable],
    on_failure: Callable[[str], None],
) -> Tuple[List[Dict[str, str]], RunSummary]:
    """Score ``indices`` in order, skipping rows a previous interrupted run completed."""
    if restart:
        partial.discard()
    done = partial.load()
    partial.start(resumed=bool(done))
    summary = RunSummary(resumed_rows=sum(1 for i in indices if i in done))
    start = time.perf_counter()
    todo = [i for i in dict.fromkeys(indices) if i not in done]
    for index in progress(todo, initial=len(done)):
        t0 = time.perf_counter()
        values, failures = scorer.score(index)
        row = {"index": str(index), "arch": scorer.space.arch_str(index)}
        row.update({name: format_value(v) for name, v in values.items()})
        if timing:
            row["seconds"] = f"{time.perf_counter() - t0:.4f}"
        partial.append(row)
        done[index] = row
        for name, message in failures.items():
            summary.failures.setdefault(name, {})[str(index)] = message
            on_failure(f"{scorer.space.name} {index} {name}: {message} (recorded as nan)")
    summary.seconds = time.perf_counter() - start
    summary.rows = len(indices)
    return [done[i] for i in indices], summary
