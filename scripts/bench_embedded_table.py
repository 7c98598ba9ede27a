"""Cost of loading the embedded NB201 table: seconds, peak RSS growth and Python allocations.

Each measurement runs in a fresh interpreter (the table is cached per process), after the imports a
command has already paid for (pandas, the toolkit), so the numbers are what the table itself adds:

* ``load``: sha256 check, gunzip, parse and validate (``embedded_ground_truth()``);
* ``space``: then creating the ``nb201`` space on an empty data dir (index order from the cached table);
* ``cached``: a second ``embedded_ground_truth()`` in the same process.

Goal (issue 16): load < 0.3 s and < 50 MB extra memory.

    python scripts/bench_embedded_table.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Dict, List, Optional


def _rss_mib() -> float:
    """Peak resident memory so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure(traced: bool) -> Dict[str, float]:
    """One cold load in this process; with ``traced``, tracemalloc's peak instead of timings."""
    import nasbench_cli.groundtruth as groundtruth  # noqa: F401 (imports paid before the clock)
    from nasbench_cli.groundtruth import embedded_ground_truth
    from nasbench_cli.spaces import create_space

    if traced:
        tracemalloc.start()
        embedded_ground_truth()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"tracemalloc_peak_mib": peak / 2**20}
    rss_before = _rss_mib()
    start = time.perf_counter()
    table = embedded_ground_truth()
    load = time.perf_counter() - start
    rss_after = _rss_mib()
    start = time.perf_counter()
    embedded_ground_truth()
    cached = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as empty:
        start = time.perf_counter()
        space = create_space("nb201", empty)
        space_seconds = time.perf_counter() - start
    assert len(table) == len(space) == 15625
    return {"load_s": load, "cached_s": cached, "space_s": space_seconds,
            "rss_delta_mib": rss_after - rss_before}


def _child(traced: bool) -> Dict[str, float]:
    args = [sys.executable, __file__, "--child"] + (["--traced"] if traced else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per measurement")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.traced)))
        return
    runs = [_child(False) for _ in range(args.repeat)]
    traced = _child(True)
    from nasbench_cli.groundtruth import embedded_table_path

    path = embedded_table_path()
    print(f"embedded table: {path} ({path.stat().st_size / 2**10:.1f} KiB)")
    labels = (("load_s", "load (sha256 + gunzip + parse)"), ("space_s", "nb201 space, empty dir (cached)"),
              ("cached_s", "second load (cached)"))
    for key, label in labels:
        values = [run[key] for run in runs]
        print(f"{label:32s} median {statistics.median(values):.4f} s  max {max(values):.4f} s  "
              f"(n={len(values)})")
    rss = [run["rss_delta_mib"] for run in runs]
    print(f"{'peak RSS growth during load':32s} median {statistics.median(rss):.1f} MiB  "
          f"max {max(rss):.1f} MiB")
    print(f"{'tracemalloc peak during load':32s} {traced['tracemalloc_peak_mib']:.1f} MiB")
    ok = max(run["load_s"] for run in runs) < 0.3 and max(max(rss), traced["tracemalloc_peak_mib"]) < 50
    print(f"goal (< 0.3 s, < 50 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
