#!/usr/bin/env python3
"""Put this toolkit's results next to the published ones, as CSV + a readable table.

    paper_table.py [--format text|markdown|latex|csv] search  OUT.csv  LABEL=SUMMARY.csv ...
    paper_table.py [--format text|markdown|latex|csv] kendall OUT.csv  SPACE/DATASET=CORR.csv ...

``search`` takes `nasbench search` summaries, ``kendall`` `nasbench correlate` outputs (any proxies).
OUT.csv is always CSV; ``--format`` chooses how the table is also printed on stdout.
Published values are those listed in ../shared/docs/reproduction.md: NASWOT (ICML 2021) search
tables and Kendall tau, the zero-cost proxies' Spearman rho (ICLR 2021), TE-NAS's Kendall tau
(ICLR 2021).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from nasbench_cli.analysis.tables import TABLE_FORMATS, render_table
from nasbench_cli.output import format_float, write_csv

# NASWOT Table 2 (NB201, searched on CIFAR-10, 500 runs): mean, std per reported column
PUBLISHED_NB201: Dict[str, Dict[str, Tuple[float, float]]] = {
    "NASWOT N=10": {"cifar10/ori-test@200": (92.44, 1.13), "cifar100/x-test@200": (68.62, 2.04),
                    "ImageNet16-120/x-test@200": (41.31, 4.11), "cifar10-valid/x-valid@200": (89.14, 1.14)},
    "NASWOT N=100": {"cifar10/ori-test@200": (92.81, 0.99), "cifar100/x-test@200": (69.48, 1.70),
                     "ImageNet16-120/x-test@200": (43.10, 3.16), "cifar10-valid/x-valid@200": (89.55, 0.89)},
    "NASWOT N=1000": {"cifar10/ori-test@200": (92.96, 0.81), "cifar100/x-test@200": (69.98, 1.22),
                      "ImageNet16-120/x-test@200": (44.44, 2.10), "cifar10-valid/x-valid@200": (89.69, 0.73)},
    "Random": {"cifar10/ori-test@200": (86.61, 13.46), "cifar100/x-test@200": (60.83, 12.58),
               "ImageNet16-120/x-test@200": (33.13, 9.66), "cifar10-valid/x-valid@200": (83.20, 13.28)},
    "REA": {"cifar10/ori-test@200": (93.92, 0.30), "cifar100/x-test@200": (71.84, 0.99),
            "ImageNet16-120/x-test@200": (45.54, 1.03), "cifar10-valid/x-valid@200": (91.19, 0.31)},
    "AREA": {"cifar10-valid/x-valid@200": (91.20, 0.27)},
}
# NASWOT Table 1 (NB101, CIFAR-10 test)
PUBLISHED_NB101: Dict[str, Dict[str, Tuple[float, float]]] = {
    "Random": {"cifar10/test@108": (90.38, 5.51)},
    "NASWOT N=100": {"cifar10/test@108": (91.77, 0.05)},
    "REA": {"cifar10/test@108": (93.87, 0.22)},
    "AREA": {"cifar10/test@108": (93.91, 0.29)},
}
# Kendall tau of the NASWOT score vs accuracy (about 1000 sampled nets)
PUBLISHED_KENDALL: Dict[str, float] = {
    "nb201/cifar10": 0.574, "nb201/cifar100": 0.611, "nb201/ImageNet16-120": 0.549, "nb101/cifar10": 0.285,
    "nds-amoeba/cifar10": 0.223, "nds-darts/cifar10": 0.467, "nds-enas/cifar10": 0.365,
    "nds-nasnet/cifar10": 0.304, "nds-pnas/cifar10": 0.382,
}

# Zero-cost proxies (Abdelfattah et al., ICLR 2021): Spearman rho over all of NB201, per dataset
PUBLISHED_ZERO_COST_RHO: Dict[str, Dict[str, float]] = {
    "grad_norm": {"cifar10": 0.58, "cifar100": 0.64, "ImageNet16-120": 0.58},
    "snip": {"cifar10": 0.58, "cifar100": 0.63, "ImageNet16-120": 0.58},
    "grasp": {"cifar10": 0.48, "cifar100": 0.54, "ImageNet16-120": 0.56},
    "fisher": {"cifar10": 0.36, "cifar100": 0.39, "ImageNet16-120": 0.33},
    "synflow": {"cifar10": 0.74, "cifar100": 0.76, "ImageNet16-120": 0.75},
    "jacob_cov": {"cifar10": 0.73, "cifar100": 0.71, "ImageNet16-120": 0.71},
}
# TE-NAS (Chen et al., ICLR 2021): Kendall tau on NB201 (the CIFAR-10 reproduction target)
PUBLISHED_TENAS_TAU: Dict[str, float] = {"ntk": -0.42, "linear_regions": 0.50}


def published_tau(space: str, dataset: str, score: str) -> Optional[float]:
    """The paper's Kendall tau for ``score`` on ``space``/``dataset``, if one was published."""
    if score == "naswot":
        return PUBLISHED_KENDALL.get(f"{space}/{dataset}")
    if space == "nb201" and dataset == "cifar10":
        return PUBLISHED_TENAS_TAU.get(score)
    return None


def published_rho(space: str, dataset: str, score: str) -> Optional[float]:
    """The paper's Spearman rho for ``score`` on ``space``/``dataset``, if one was published."""
    return PUBLISHED_ZERO_COST_RHO.get(score, {}).get(dataset) if space == "nb201" else None


def read_rows(path: Path) -> List[Dict[str, str]]:
    """The rows of a committed CSV, read through the checked layer (regular file, bounded, UTF-8)."""
    from nasbench_cli.untrusted import read_text

    return list(csv.DictReader(io.StringIO(read_text(path, "CSV table", 1 << 30))))


def budget_used(summary: Path) -> str:
    """The budget a search summary's runs spent, as its provenance records it ("" for an algorithm
    without one): ``120 queries (12000 s asked; no training times)`` when the asked seconds became
    queries, so the table never hides that REA/AREA ran on queries."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.provenance import load_sidecar
    from nasbench_cli.search.budget import budget_phrase, parse_budget

    try:
        record = load_sidecar(summary)
        if record is None:
            return "(no provenance)"
        used = record.get("budget")
        if not used:
            return ""
        arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
        return budget_phrase(parse_budget(used), parse_budget(arguments.get("budget_text") or used))
    except NasbenchError:
        return "(no provenance)"


def search_table(pairs: List[Tuple[str, Path]]) -> List[Dict[str, str]]:
    """One row per (method, accuracy column): ours (runs, budget used, mean, std) and the paper's;
    methods in the NASWOT paper's order (analysis/method_order.py), whatever the order given."""
    from nasbench_cli.analysis.method_order import method_sort_key

    published = {**PUBLISHED_NB201, **{f"{k} (NB101)": v for k, v in PUBLISHED_NB101.items()}}
    rows = []
    ordered = sorted(enumerate(pairs), key=lambda item: method_sort_key(item[1][0], item[0]))
    for label, path in (pair for _, pair in ordered):
        paper = published.get(label, {})
        budget = budget_used(path)
        for row in read_rows(path):
            ref = paper.get(row["column"])
            rows.append({
                "method": label, "column": row["column"], "runs": row["runs"], "budget": budget,
                "mean": format_float(float(row["mean"]), decimals=2),
                "std": format_float(float(row["std"]), decimals=2),
                "paper_mean": format_float(ref[0], decimals=2) if ref else "",
                "paper_std": format_float(ref[1], decimals=2) if ref else "",
                "source": str(path),
            })
    return rows


def is_final_column(space: str, column: str) -> bool:
    """Whether ``column`` is an accuracy after ``space``'s full training schedule (the
    benchmark's own fact, from the space registry); False for an unregistered space."""
    from nasbench_cli.spaces import SPACES

    return space in SPACES and SPACES.get(space).benchmark.is_final_column(column)


def kendall_table(pairs: List[Tuple[str, Path]]) -> List[Dict[str, str]]:
    """One row per (space/dataset, score, target): our tau with its interval and the paper's."""
    rows = []
    for label, path in pairs:
        for row in read_rows(path):
            if not row.get("kendall_tau"):
                continue
            # the paper's tau for the target's own dataset, at the benchmark's final epoch
            space = label.split("/")[0]
            target_dataset = row["target"].split("/")[0].replace("-valid", "")
            final = is_final_column(space, row["target"])
            tau = published_tau(space, target_dataset, row["score"]) if final else None
            rho = published_rho(space, target_dataset, row["score"]) if final else None
            rows.append({
                "space/dataset": label, "score": row["score"], "target": row["target"], "n": row["n"],
                "kendall_tau": row["kendall_tau"], "kendall_lo": row["kendall_lo"],
                "kendall_hi": row["kendall_hi"], "spearman_rho": row["spearman_rho"],
                "spearman_lo": row.get("spearman_lo", ""), "spearman_hi": row.get("spearman_hi", ""),
                "paper_tau": format_float(tau, decimals=3) if tau is not None else "",
                "paper_rho": format_float(rho, decimals=2) if rho is not None else "", "source": str(path),
            })
    return rows


def print_table(rows: List[Dict[str, str]], fmt: str = "text") -> None:
    if not rows:
        return
    columns = [c for c in rows[0] if c != "source"]
    print(render_table(columns, [[row[c] for c in columns] for row in rows], fmt))


def main(argv: List[str]) -> int:
    fmt = "text"
    if len(argv) >= 2 and argv[0] == "--format":
        fmt, argv = argv[1], argv[2:]
    if fmt not in TABLE_FORMATS or len(argv) < 3 or argv[0] not in ("search", "kendall"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, out, specs = argv[0], Path(argv[1]), argv[2:]
    pairs = []
    for spec in specs:
        label, sep, path = spec.rpartition("=")
        if not sep or not Path(path).is_file():
            print(f"Error: expected LABEL=EXISTING_FILE, got '{spec}'", file=sys.stderr)
            return 2
        pairs.append((label, Path(path)))
    rows = search_table(pairs) if kind == "search" else kendall_table(pairs)
    write_csv(out, list(rows[0]) if rows else ["empty"], rows)
    print_table(rows, fmt)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
