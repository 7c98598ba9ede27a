"""Score rows: one per architecture, with its scores, the benchmark's accuracies and the seconds."""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

from nasbench_cli.output import SECONDS_SUFFIX, format_float
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store import StoredScore

#: the benchmark's own cost figures, renamed so they never clash with the `params`/`flops` proxies
BENCHMARK_COSTS = {"params": "benchmark_params", "flops": "benchmark_flops"}


def score_rows(space: SearchSpace, indices: Sequence[int], known: Mapping[str, Mapping[int, StoredScore]],
               timing: bool) -> Tuple[List[Dict[str, str]], Dict[str, Dict[str, str]]]:
    """Rows for ``indices`` in order (index, arch, one column per proxy; with ``timing`` the total
    ``seconds`` and :func:`seconds_column` of each proxy), and proxy -> {index: error} for the
    scores that failed."""
    failures: Dict[str, Dict[str, str]] = {}
    rows = []
    for index in indices:
        row = {"index": str(index), "arch": space.arch_str(index)}
        seconds: Dict[str, float] = {}
        for name, scores in known.items():
            stored = scores[index]
            row[name] = format_float(stored.value)
            seconds[name] = stored.seconds or 0.0
            if stored.error is not None:
                failures.setdefault(name, {})[str(index)] = stored.error
        if timing:
            # the time the scores took when they were computed, resumed or not
            row["seconds"] = format_float(sum(seconds.values()), decimals=4)
            row.update({seconds_column(name): format_float(spent, decimals=4) for name, spent in seconds.items()})
        rows.append(row)
    return rows, failures


def seconds_column(proxy: str) -> str:
    """The column of one proxy's measured seconds: ``naswot:seconds``."""
    return f"{proxy}{SECONDS_SUFFIX}"


def join_accuracies(rows: Sequence[Dict[str, str]], truth, dataset: str = "cifar10") -> Tuple[List[str], List[str]]:
    """Add every accuracy column, and the benchmark's params/flops of ``dataset``'s network
    (``cifar100/flops`` for CIFAR-100: its head and, for ImageNet16-120, its input size differ),
    to each row in place; return the accuracy columns and the metadata columns added."""
    if truth is None:
        return [], []
    from nasbench_cli.groundtruth.table import cost_column

    accuracy = list(truth.accuracy_columns)
    # the run's dataset's own column where the table has one, else the 10-class network's
    costs = {metric: cost_column(metric, dataset) if cost_column(metric, dataset) in truth.columns else metric
             for metric in BENCHMARK_COSTS}
    costs = {metric: column for metric, column in costs.items() if column in truth.columns}
    for row in rows:
        index = int(row["index"])
        found = truth.row(index) if index in truth else None
        for column, name in [*((c, c) for c in accuracy), *((c, BENCHMARK_COSTS[m]) for m, c in costs.items())]:
            value = None if found is None else found.get(column)
            row[name] = "" if value is None else format_float(value)
    return accuracy, [BENCHMARK_COSTS[m] for m in costs]
