"""Figure titles that say what a figure shows, from the data's provenance (the CSVs' sidecars: space,
dataset, proxies, network variant, batch augmentation, networks) and else from its columns, never
from a file name: two figures of different runs never share a title, and a figure copied out of
its folder still says what it is.

Each function returns one line (the figures wrap it to their width); a part the records do not
give is left out, and without any record the title says so ("no provenance sidecar").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from nasbench_cli.errors import NasbenchError

#: said where no CSV of a figure has a sidecar naming its space and dataset
NO_PROVENANCE = "space and dataset unknown: no provenance sidecar"


def read_record(path: Path) -> Dict[str, Any]:
    """The provenance record beside ``path``, {} without a readable one (a title is never worth an error)."""
    from nasbench_cli.provenance import load_sidecar

    try:
        return load_sidecar(Path(path)) or {}
    except NasbenchError:
        return {}


def _arguments(record: Mapping[str, Any]) -> Mapping[str, Any]:
    arguments = record.get("arguments")
    return arguments if isinstance(arguments, Mapping) else {}


def _dataset_name(dataset: str) -> str:
    from nasbench_cli.analysis.figures import DATASET_NAMES

    return DATASET_NAMES.get(dataset, dataset)


def _distinct(values: Iterable[Any]) -> List[str]:
    return list(dict.fromkeys(str(v) for v in values if v not in (None, "")))


def run_context(records: Sequence[Mapping[str, Any]], space: Optional[str] = None,
                dataset: Optional[str] = None) -> str:
    """"nb201, CIFAR-10" (with "zc network", "train-augmented batch" where the runs used them) from
    the records; ``space``/``dataset`` (a join named on the command line) where they say none; "" without."""
    spaces = _distinct(_arguments(r).get("space") for r in records) or _distinct([space])
    datasets = _distinct(r.get("dataset") or _arguments(r).get("dataset") for r in records) or _distinct([dataset])
    parts = ["/".join(spaces)] if spaces else []
    if datasets:
        parts.append("/".join(_dataset_name(d) for d in datasets))
    variants = _distinct(_arguments(r).get("network_variant") for r in records)
    parts += [f"{v} network" for v in variants if v != "official"]
    parts += [f"{a}-augmented batch" for a in _distinct(_arguments(r).get("augment") for r in records)]
    return ", ".join(parts)


def _networks(count: int) -> str:
    return f"{count:,} network" + ("" if count == 1 else "s")


def scores_title(scores: Sequence[str], target: str, networks: int, records: Sequence[Mapping[str, Any]],
                 space: Optional[str] = None, dataset: Optional[str] = None) -> str:
    """Scatter: "naswot on nb201, CIFAR-10: 15,625 networks vs CIFAR-10 test accuracy (%), 200 epochs"."""
    from nasbench_cli.analysis.figures import axis_label

    context = run_context(records, space, dataset) or NO_PROVENANCE
    return f"{', '.join(scores)} on {context}: {_networks(networks)} vs {axis_label(target)}"


def correlation_title(statistic: str, scores: Sequence[str], networks: Optional[int],
                      records: Sequence[Mapping[str, Any]]) -> str:
    """Heatmap: "Kendall tau with 95% bootstrap intervals: naswot on nb201, CIFAR-10, 15,625 networks"."""
    context = run_context(records) or NO_PROVENANCE
    counted = f", {_networks(networks)}" if networks else ""
    return f"{statistic} with 95% bootstrap intervals: {', '.join(scores)} on {context}{counted}"


def correlation_inputs(path: Path, record: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The records of the score CSVs a correlate CSV was computed from (its ``inputs``), looked up
    as recorded and beside the correlate CSV (a results folder moved or cloned elsewhere)."""
    inputs = record.get("inputs") if isinstance(record.get("inputs"), list) else []
    found = []
    for name in (str(i) for i in inputs if isinstance(i, str)):
        for candidate in (Path(name), Path(path).parent / Path(name).name):
            scored = read_record(candidate)
            if scored:
                found.append(scored)
                break
    return found


def search_title(target: str, records: Sequence[Mapping[str, Any]], runs: Sequence[int]) -> str:
    """Search: "Search on nb201, CIFAR-10: CIFAR-10 test accuracy (%), 200 epochs of the architecture
    each run chose, 500 runs per method"."""
    from nasbench_cli.analysis.figures import axis_label

    context = run_context(records)
    counted = f", {runs[0]:,} runs per method" if runs and len(set(runs)) == 1 else ""
    where = f"on {context}" if context else f"({NO_PROVENANCE})"
    return f"Search {where}: {axis_label(target)} of the architecture each run chose{counted}"
