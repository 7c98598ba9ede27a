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
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional

from nasbench_cli.engine.rows import join_accuracies
from nasbench_cli.errors import DataCorruptError, DataMissingError, NasbenchError
from nasbench_cli.output import write_csv
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.provenance import load_sidecar, sidecar_path
from nasbench_cli.spaces import SPACES, create_space
from nasbench_cli.untrusted import quote, read_csv_frame


def pairs(results: Path) -> List[Path]:
    """The absent ``<stem>.csv`` whose sidecar and ``<stem>-scores.csv`` are both there."""
    if not results.is_dir():
        raise DataMissingError(f"{results}: no such results folder")
    found = []
    for scores in sorted(results.rglob("*-scores.csv")):
        full = scores.with_name(scores.name[: -len("-scores.csv")] + ".csv")
        if not full.exists() and sidecar_path(full).is_file():
            found.append(full)
    return found


def _text_argument(arguments: Dict[str, object], name: str, sidecar: Path, default: Optional[str] = None) -> str:
    value = arguments.get(name, default)
    if not isinstance(value, str) or not value or len(value) > 100:
        raise DataCorruptError(f"{sidecar}: arguments.{name} is {quote(value)}, not a name")
    return value


def _number_cell(cell: str, scores: Path, column: str, row: int) -> str:
    """A score cell as committed: a number (blank or nan where the proxy failed); text is damage."""
    if cell.strip() in ("", "nan", "NaN"):
        return cell
    try:
        float(cell)
    except ValueError:
        raise DataCorruptError(f"{scores}: column {quote(column)}, row {row + 1} (line {row + 2}) holds "
                               f"{quote(cell)}, not a score") from None
    return cell


def restore(full: Path, data_dir: Optional[Path]) -> int:
    """Write ``full`` from its scores and the ground truth; returns the rows written. Every input
    is read through the checked layer and checked where it enters (a known space, indices that are
    whole numbers inside the space, no negative index, numeric scores, rows as long as the header)."""
    sidecar = sidecar_path(full)
    record = load_sidecar(full) or {}
    arguments = record.get("arguments")
    if not isinstance(arguments, dict):
        raise DataCorruptError(f"{sidecar}: no 'arguments' object (not a `nasbench score` record)")
    name = _text_argument(arguments, "space", sidecar)
    if name not in SPACES:
        raise DataCorruptError(f"{sidecar}: arguments.space {quote(name)} is not a known space")
    dataset = _text_argument(arguments, "dataset", sidecar, "cifar10")
    space = create_space(name, resolve_data_dir(data_dir) if data_dir else None)
    truth = space.ground_truth()
    scores = full.with_name(full.stem + "-scores.csv")
    frame = read_csv_frame(scores, "score CSV", dtype=str, keep_default_na=False)
    if "index" not in frame.columns:
        raise DataCorruptError(f"{scores}: no 'index' column")
    if frame.empty:
        raise DataCorruptError(f"{scores} has a header but no rows")
    names = [str(c) for c in frame.columns if c != "index"]
    rows: List[Dict[str, str]] = []
    for row, record_row in enumerate(frame.to_dict("records")):
        cell = record_row["index"]
        try:
            number = float(cell)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number == int(number) and 0 <= number < len(space)):
            raise DataCorruptError(f"{scores}: column 'index', row {row + 1} (line {row + 2}) holds {quote(cell)}, "
                                   f"not an architecture index in 0..{len(space) - 1}")
        index = int(number)
        rows.append({"index": str(index), "arch": space.arch_str(index),
                     **{n: _number_cell(record_row[n], scores, n, row) for n in names}})
    accuracies, metadata = join_accuracies(rows, truth, dataset)
    write_csv(full, ["index", "arch", *names, *accuracies, *metadata], rows)
    return len(rows)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        for full in pairs(args.results):
            try:
                print(f"restored {full} ({restore(full, args.data_dir)} rows)", file=sys.stderr)
            except (KeyError, ValueError, OSError) as err:  # named here: the error itself may not say which file
                raise NasbenchError(f"{full}: cannot restore it ({type(err).__name__}: {quote(str(err))})") from None
    except NasbenchError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted: the CSVs restored so far are complete; run it again for the rest.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
