#!/usr/bin/env python3
"""Where NB201 scoring time goes on a GPU, how fast the engine scores, and how far GPU and CPU agree.

    python scripts/bench_gpu.py split --n 200 --data-dir DIR          # one process: per-net split
    python scripts/bench_gpu.py run NAME -- score --space nb201 ...   # time a `nasbench` command,
                                                                      # sampling GPU utilisation
    python scripts/bench_gpu.py tolerance GPU.csv CPU.csv             # per proxy: GPU vs CPU
    python scripts/bench_gpu.py table RESULTS.jsonl                   # every result as one table

``split`` builds each network on the CPU exactly as the scorer does (seeded), moves it in one
copy, then times a bare forward and the NASWOT score on it; the forward's kernel time alone is
read by replaying it as a CUDA graph, and the GPU's idle share is what is left of the score's wall
time. ``run`` writes one JSON line (wall seconds, networks, networks/s, mean GPU utilisation as
nvidia-smi samples it, idle GPU seconds) to ``--results``. ``scripts/gpu_check.sh`` runs them all.
It runs on CPU too (``--device cpu``; no GPU columns), which is how it is tested.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from nasbench_cli.datasets import get_dataset, make_batch
from nasbench_cli.device_network import DeviceNetwork
from nasbench_cli.proxies import PROXIES
from nasbench_cli.proxies.base import ProxyContext
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.runtime import configure_determinism, derive_seed
from nasbench_cli.spaces import create_space
from nasbench_cli.untrusted import parse_json, read_csv_frame, read_text


# --- split ------------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def forward_kernel_ms(model: torch.nn.Module, inputs: torch.Tensor) -> float:
    """GPU time of one forward's kernels alone: the forward captured as a CUDA graph, replayed."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(stream):
        model(inputs)  # warm-up outside the capture (cuDNN plans, allocator)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        model(inputs)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(3):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 3


def split(args: argparse.Namespace) -> Dict[str, float]:
    """Per-net milliseconds of each stage of an NB201 NASWOT score in one process."""
    device = torch.device(args.device)
    configure_determinism(device, 1)
    space = create_space("nb201", args.data_dir)
    naswot = PROXIES.get("naswot")
    dataset = get_dataset("cifar10" if (args.data_dir / "cifar-10-batches-py").is_dir() else "synthetic")
    batch = make_batch(dataset, args.data_dir, 128, derive_seed(0, "batch"), device=device)
    ctx = ProxyContext(num_classes=1, device=device, relus_on_path=True)
    indices = space.sample(np.random.default_rng(0), args.n)
    stages: Dict[str, List[float]] = {"build": [], "to_device": [], "forward": [], "proxy_work": [], "score": []}
    kernels: List[float] = []
    for k, index in enumerate(indices):
        t0 = time.perf_counter()
        torch.manual_seed(derive_seed(0, "arch", int(index)))
        module = space.build(int(index), 1, bn=True)
        t1 = time.perf_counter()
        net = DeviceNetwork(module, device, torch.float32, shared=False).fresh(torch.float32)
        _sync(device)
        t2 = time.perf_counter()
        net.train()
        with torch.no_grad():
            net(batch.inputs)
        _sync(device)
        t3 = time.perf_counter()
        naswot.fn(net, batch, ctx)
        _sync(device)
        t4 = time.perf_counter()
        if k >= 3:  # the first nets warm cuDNN and the allocator up
            stages["build"].append(t1 - t0)
            stages["to_device"].append(t2 - t1)
            stages["forward"].append(t3 - t2)
            stages["score"].append(t4 - t3)
            stages["proxy_work"].append((t4 - t3) - (t3 - t2))
        if device.type == "cuda" and k < args.graph_n:
            kernels.append(forward_kernel_ms(net, batch.inputs))
    result = {f"{name}_ms": 1e3 * statistics.mean(values) for name, values in stages.items()}
    if kernels:
        busy = statistics.mean(kernels)
        result["forward_kernels_ms"] = busy
        result["gpu_idle_share_in_score"] = max(0.0, 1.0 - busy / result["score_ms"])
    print(json.dumps({"name": "split", "nets": len(indices), **{k: round(v, 4) for k, v in result.items()}}))
    return result


# --- run ----------------------------------------------------------------------------------------------
class UtilisationSampler:
    """nvidia-smi's utilization.gpu (share of time a kernel ran), sampled every 200 ms."""

    def __init__(self):
        self.samples: List[float] = []
        self._process: Optional[subprocess.Popen] = None
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "UtilisationSampler":
        smi = shutil.which("nvidia-smi")
        if smi is not None:
            self._process = subprocess.Popen([smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                              "-lms", "200"], stdout=subprocess.PIPE, text=True,
                                             stderr=subprocess.DEVNULL)
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()
        return self

    def _read(self) -> None:
        for line in self._process.stdout:
            try:
                self.samples.append(float(line.split(",")[0]))
            except ValueError:
                pass

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait()

    def mean(self) -> Optional[float]:
        return statistics.mean(self.samples) if self.samples else None


def run(args: argparse.Namespace) -> Dict[str, object]:
    """Time one `nasbench` command; count the rows of its CSV (--out) as networks."""
    command = [sys.executable, "-m", "nasbench_cli", *args.command]
    start = time.perf_counter()
    with UtilisationSampler() as sampler:
        status = subprocess.run(command).returncode
    wall = time.perf_counter() - start
    out = Path(args.command[args.command.index("--out") + 1]) if "--out" in args.command else None
    nets = len(pd.read_csv(out)) if out is not None and out.is_file() and status == 0 else 0
    util = sampler.mean()
    record = {"name": args.name, "status": status, "wall_s": round(wall, 2), "nets": nets,
              "nets_per_s": round(nets / wall, 2) if wall > 0 else None,
              "gpu_util_mean": None if util is None else round(util, 1),
              "gpu_idle_s": None if util is None else round(wall * (1 - util / 100), 1)}
    sidecar = sidecar_path(out) if out is not None else None
    if sidecar is not None and sidecar.is_file():
        engine = json.loads(sidecar.read_text()).get("engine", {})
        record.update({k: engine.get(k) for k in ("executor_chosen", "workers", "gpu_sharing", "seconds",
                                                  "first_result_s")})
        steady = (engine.get("seconds") or 0) - (engine.get("first_result_s") or 0)
        if steady > 0 and nets > engine.get("chunk_size", 0):
            # after the first chunk: the rate once every worker has started
            record["steady_nets_per_s"] = round((nets - engine.get("chunk_size", 0)) / steady, 1)
    _append(args.results, record)
    print(json.dumps(record))
    return record


# --- tolerance ----------------------------------------------------------------------------------------
def tolerance(gpu: pd.DataFrame, cpu: pd.DataFrame, proxies: Sequence[str]) -> List[Dict[str, object]]:
    """Per proxy, over the architectures both tables hold: how many values are equal, the largest
    relative difference (finite pairs), and Kendall tau between the two devices' scores."""
    both = gpu.merge(cpu, on="index", suffixes=("_gpu", "_cpu"))
    rows = []
    for proxy in proxies:
        a, b = both[f"{proxy}_gpu"].to_numpy(float), both[f"{proxy}_cpu"].to_numpy(float)
        finite = np.isfinite(a) & np.isfinite(b)
        same_special = ~finite & ((a == b) | (np.isnan(a) & np.isnan(b)))
        scale = np.maximum(np.abs(b[finite]), np.finfo(float).tiny)
        relative = np.abs(a[finite] - b[finite]) / scale
        tau = kendalltau(a[finite], b[finite]).statistic if finite.sum() > 1 else float("nan")
        rows.append({"proxy": proxy, "nets": int(len(both)), "equal": int(((a == b) | (np.isnan(a) & np.isnan(b))).sum()),
                     "special_disagree": int((~finite & ~same_special).sum()),
                     "max_rel_diff": float(relative.max()) if relative.size else 0.0,
                     "median_rel_diff": float(np.median(relative)) if relative.size else 0.0,
                     "kendall_tau": float(tau)})
    return rows


def tolerance_command(args: argparse.Namespace) -> None:
    gpu, cpu = read_csv_frame(Path(args.gpu), "score CSV"), read_csv_frame(Path(args.cpu), "score CSV")
    proxies = args.proxies.split(",") if args.proxies else \
        [c for c in gpu.columns if c in cpu.columns and c in set(PROXIES.names())]
    for row in tolerance(gpu, cpu, proxies):
        row = {"name": f"tolerance {row['proxy']}", **row}
        _append(args.results, row)
        print(json.dumps(row))


# --- driver ceiling ----------------------------------------------------------------------------------
def driver(args: argparse.Namespace) -> Dict[str, float]:
    """Networks per second the engine's single driver can take in: every NB201 net's score written
    to a fresh store in chunks of 8 (one transaction each, as the driver commits a chunk). Workers
    on any number of GPUs feed this one process, so it bounds the multi-GPU throughput."""
    import tempfile

    from nasbench_cli.scoring import ScoreSettings, score_context
    from nasbench_cli.store import ScoreStore

    space = create_space("nb201", None)
    settings = ScoreSettings("nb201", "cifar10", ("naswot",), 0, None, "auto", "train")
    context = score_context(PROXIES.get("naswot"), settings, "0" * 16)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = ScoreStore(Path(tmp) / "scores.sqlite")
        start = time.perf_counter()
        for first in range(0, len(space), 8):
            rows = [(i, float(rng.normal()), 0.01, None, space.arch_str(i))
                    for i in range(first, min(first + 8, len(space)))]
            store.put_many(context, rows, device="cuda:0")
        seconds = time.perf_counter() - start
        store.close()
    record = {"name": "driver", "nets": len(space), "seconds": round(seconds, 2),
              "nets_per_s": round(len(space) / seconds, 1)}
    _append(args.results, record)
    print(json.dumps(record))
    return record


# --- coexistence -------------------------------------------------------------------------------------
_CLIENT = """
import sys, time, torch
x = torch.ones(1024, device="cuda")
torch.cuda.synchronize()
print("context ok", flush=True)
time.sleep(float(sys.argv[1]))
print(float(x.sum()))
"""


def coexist(args: argparse.Namespace) -> Dict[str, object]:
    """Whether a CUDA program outside MPS can use the GPU while a run's private MPS server serves
    a client (the engine's workers): what other jobs on that GPU meet during a shared run."""
    import os

    from nasbench_cli.engine.gpu_share import start_mps

    record: Dict[str, object] = {"name": "coexist"}
    share = start_mps()
    record["private_mps"] = share is not None
    if share is not None:
        try:
            client = subprocess.Popen([sys.executable, "-c", _CLIENT, "8"], env={**os.environ, **share.env},
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            record["mps_client"] = client.stdout.readline().strip() == "context ok"
            plain = {k: v for k, v in os.environ.items() if not k.startswith("CUDA_MPS")}
            start = time.perf_counter()
            try:
                other = subprocess.run([sys.executable, "-c", _CLIENT, "0"], env=plain, capture_output=True,
                                       text=True, timeout=60)
                record["other_program"] = "ran" if other.returncode == 0 else \
                    f"failed: {(other.stdout + other.stderr).strip().splitlines()[-1][:120]}"
            except subprocess.TimeoutExpired:
                record["other_program"] = "still waiting after 60 s"
            record["other_program_s"] = round(time.perf_counter() - start, 1)
            client.wait(timeout=60)
        finally:
            share.close()
    _append(args.results, record)
    print(json.dumps(record))
    return record


# --- NDS files -------------------------------------------------------------------------------------
def nds_data(args: argparse.Namespace) -> None:
    """A data dir with test-style NDS files at NDS's sizes (scripts/bench_nds.py) and a link to the
    real data dir's CIFAR-10, so `nasbench score --space nds-darts` runs without the NDS release."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_nds import darts_net, resnext_net, write_space

    args.out.mkdir(parents=True, exist_ok=True)
    write_space(args.out, "DARTS", darts_net, args.n, 0)
    write_space(args.out, "ResNeXt-A", resnext_net, args.n, 0)
    cifar = args.data_dir.resolve() / "cifar-10-batches-py"
    link = args.out / "cifar-10-batches-py"
    if cifar.is_dir() and not link.exists():
        link.symlink_to(cifar, target_is_directory=True)


# --- table --------------------------------------------------------------------------------------------
def table(args: argparse.Namespace) -> None:
    """Every JSON line of a results file, as markdown tables (one per kind of line)."""
    text = read_text(Path(args.results), "results file (JSON lines)")
    records = [parse_json(line, args.results) for line in text.splitlines() if line.strip()]
    groups: Dict[str, List[dict]] = {}
    for record in records:
        kind = "tolerance" if record["name"].startswith("tolerance") else \
            record["name"] if record["name"] in ("split", "driver", "coexist") else "throughput"
        groups.setdefault(kind, []).append(record)
    for kind, rows in groups.items():
        columns = list(dict.fromkeys(key for row in rows for key in row))
        print(f"\n{kind}\n")
        print("| " + " | ".join(columns) + " |")
        print("| " + " | ".join("---" for _ in columns) + " |")
        for row in rows:
            print("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 and value != 0 else f"{value:.4g}"
    return "" if value is None else str(value)


def _append(path: Optional[Path], record: Dict[str, object]) -> None:
    if path is not None:
        with open(path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("split", help="per-net stages of an NB201 NASWOT score in one process")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--graph-n", type=int, default=20, help="nets whose forward kernels are timed alone")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--results", type=Path, default=None)
    p = sub.add_parser("run", help="time a nasbench command (arguments after --)")
    p.add_argument("name")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.add_argument("--results", type=Path, default=None)
    p = sub.add_parser("tolerance", help="GPU vs CPU scores of the same architectures")
    p.add_argument("gpu", type=Path)
    p.add_argument("cpu", type=Path)
    p.add_argument("--proxies", default="")
    p.add_argument("--results", type=Path, default=None)
    p = sub.add_parser("driver", help="the driver's ceiling: NB201 scores stored in chunks of 8")
    p.add_argument("--results", type=Path, default=None)
    p = sub.add_parser("coexist", help="can another CUDA program use the GPU during a private MPS run")
    p.add_argument("--results", type=Path, default=None)
    p = sub.add_parser("nds-data", help="write test-style NDS files (DARTS, ResNeXt-A) into a data dir")
    p.add_argument("out", type=Path)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p = sub.add_parser("table", help="a results file as markdown tables")
    p.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    if args.what == "run" and args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if args.what == "split":
        record = split(args)
        _append(args.results, {"name": "split", **{k: round(v, 4) for k, v in record.items()}})
    else:
        {"run": run, "tolerance": tolerance_command, "driver": driver, "coexist": coexist,
         "nds-data": nds_data, "table": table}[args.what](args)


if __name__ == "__main__":
    main()
