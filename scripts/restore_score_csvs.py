#!/usr/bin/env python3
"""Rebuild the whole-space score CSVs that `make report` draws from, out of what is committed.

    restore_score_csvs.py RESULTS_DIR [--data-dir DIR]

A score CSV of all NB201 nets repeats the benchmark's accuracy table, so results/ commits only its
scores (``<stem>-scores.csv``: index + one column per proxy) and its provenance sidecar
(``<stem>.csv.provenance.json``). For every such pair whose ``<stem>.csv`` is absent, this writes
``<stem>.csv`` again: index, arch, the scores, and the ground truth's accuracy columns joined
by index (the space and dataset named in the sidecar; the embedded NB201 table where the data
directory has none). Existing CSVs are left alone; the rebuilt ones stay git-ignored.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from nasbench_cli.engine.rows import join_accuracies
from nasbench_cli.errors import NasbenchError
from nasbench_cli.output import write_csv
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.spaces import create_space


def pairs(results: Path) -> List[Path]:
    """The absent ``<stem>.csv`` whose sidecar and ``<stem>-scores.csv`` are both there."""
    found = []
    for scores in sorted(results.rglob("*-scores.csv")):
        full = scores.with_name(scores.name[: -len("-scores.csv")] + ".csv")
        if not full.exists() and sidecar_path(full).is_file():
            found.append(full)
    return found


def restore(full: Path, data_dir: Optional[Path]) -> int:
    """Write ``full`` from its scores and the ground truth; returns the rows written."""
    record = json.loads(sidecar_path(full).read_text(encoding="utf-8"))
    arguments = record.get("arguments", {})
    space = create_space(arguments["space"], resolve_data_dir(data_dir) if data_dir else None)
    truth = space.ground_truth()
    scores = full.with_name(full.stem + "-scores.csv")
    with scores.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        names = [c for c in (reader.fieldnames or []) if c != "index"]
        rows: List[Dict[str, str]] = [{"index": r["index"], "arch": space.arch_str(int(r["index"])),
                                       **{n: r[n] for n in names}} for r in reader]
    accuracies, metadata = join_accuracies(rows, truth, arguments.get("dataset", "cifar10"))
    write_csv(full, ["index", "arch", *names, *accuracies, *metadata], rows)
    return len(rows)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        for full in pairs(args.results):
            print(f"restored {full} ({restore(full, args.data_dir)} rows)", file=sys.stderr)
    except (NasbenchError, KeyError, ValueError, OSError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
