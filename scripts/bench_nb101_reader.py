"""Benchmark the NB101 tfrecord reader on a synthetic file the size of nasbench_only108.tfrecord.

Writes 423,624 modules x 3 repeats (1,270,872 records, ~0.5 GB) in the official format to a
temporary directory: random 32-hex hashes, adjacency/operations of valid specs (mostly 7
vertices, as in the benchmark), base64 ModelMetrics protos with three evaluations of 5 doubles. Then reads it in a fresh process (so peak RSS is the
reader's alone) and reports wall time, CPU time and peak RSS. The file is deleted afterwards
unless --keep is given.

    python scripts/bench_nb101_reader.py [--modules 423624] [--repeats 3] [--dir /tmp] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasbench_cli.errors import InvalidArchError
from nasbench_cli.nb101.metrics import EvaluationData, ModelMetrics, encode_model_metrics
from nasbench_cli.nb101.spec import INPUT, MAX_VERTICES, OPS, OUTPUT, ModelSpec
from nasbench_cli.nb101.tfrecord import frame


def spec_pool(rng: np.random.Generator, size: int) -> list:
    """(raw_adjacency, raw_operations) of ``size`` valid pruned specs, ~85% with 7 vertices as in
    the benchmark (most of its modules have 7), the rest drawn like the benchmark's random_spec."""
    pool = []
    upper = [(i, j) for i in range(MAX_VERTICES) for j in range(i + 2, MAX_VERTICES)]
    while len(pool) < size:
        ops = [INPUT] + [OPS[i] for i in rng.integers(0, 3, size=MAX_VERTICES - 2)] + [OUTPUT]
        if len(pool) < 0.85 * size:  # a chain through all 7 vertices plus up to 3 skip edges
            matrix = np.eye(MAX_VERTICES, k=1, dtype=np.int8)
            for k in rng.choice(len(upper), size=int(rng.integers(0, 4)), replace=False):
                matrix[upper[k]] = 1
        else:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), 1)
        try:
            spec = ModelSpec(matrix, ops)
        except InvalidArchError:
            continue
        pool.append(tuple(spec.arch_str.split("|")))
    rng.shuffle(pool)
    return pool


def write_file(path: Path, modules: int, repeats: int, seed: int = 0) -> int:
    """Write the synthetic archive; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    pool = spec_pool(rng, 4096)
    acc = rng.uniform(0.1, 0.95, size=(modules, repeats, 3))
    times = rng.uniform(500, 5000, size=(modules, repeats))
    params = rng.integers(200_000, 50_000_000, size=modules)
    with path.open("wb", buffering=1 << 22) as handle:
        for m in range(modules):
            module_hash = hashlib.md5(struct.pack("<q", m)).hexdigest()
            bits, op_text = pool[m % len(pool)]
            for r in range(repeats):
                a = acc[m, r]
                metrics = ModelMetrics(
                    [
                        EvaluationData(0.0, 0.0, 0.1, 0.1, 0.1),
                        EvaluationData(54.0, times[m, r] / 2, a[0] * 0.9, a[1] * 0.9, a[2] * 0.9),
                        EvaluationData(108.0, times[m, r], a[0], a[1], a[2]),
                    ],
                    int(params[m]),
                    times[m, r] * 1.1,
                )
                raw = base64.b64encode(encode_model_metrics(metrics)).decode("ascii")
                payload = json.dumps([module_hash, 108, bits, op_text, raw]).encode("utf-8")
                handle.write(frame(payload))
    return path.stat().st_size


def read_and_report(path: str) -> None:
    """Child process: read the file, print a JSON line of timings and peak RSS."""
    from nasbench_cli.nb101.reader import read_nb101_tfrecord
    from nasbench_cli.nb101.tfrecord import CRC_BACKEND

    wall, cpu = time.perf_counter(), time.process_time()
    table = read_nb101_tfrecord(path, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"rows": len(table), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "peak_rss_mb": round(rss_mb, 1), "crc_backend": CRC_BACKEND}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=423_624)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the temporary file")
    parser.add_argument("--keep", action="store_true", help="keep the file (its path is printed)")
    parser.add_argument("--read", default=None, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.read:
        read_and_report(args.read)
        return

    workdir = Path(tempfile.mkdtemp(prefix="nb101-bench-", dir=args.dir))
    path = workdir / "synthetic_only108.tfrecord"
    try:
        start = time.perf_counter()
        size = write_file(path, args.modules, args.repeats)
        records = args.modules * args.repeats
        print(f"wrote {records:,} records, {size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s: {path}")
        out = subprocess.run([sys.executable, __file__, "--read", str(path)], check=True,
                             capture_output=True, text=True)
        stats = json.loads(out.stdout.strip().splitlines()[-1])
        stats["records"] = records
        stats["file_mb"] = round(size / 1e6, 1)
        stats["cpus"] = os.cpu_count()
        print(json.dumps(stats))
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            path.unlink(missing_ok=True)
            workdir.rmdir()


if __name__ == "__main__":
    main()
