"""The scoring engine: same CSV whatever the executor, worker count or chunk order; faults.

Uses the toy space (tests/toy_space.py) and NB201 on the synthetic dataset: no shared data needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import crash_space  # noqa: F401  (registers toy-crash-once, toy-crash-always)
import toy_space  # noqa: F401  (registers toy)
from nasbench_cli.cli import main
from nasbench_cli.engine import Engine, EngineConfig
from nasbench_cli.engine.rows import score_rows
from nasbench_cli.engine.work import ScorerSpec, build_scorer, chunk_size, make_chunks, score_chunk
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.scoring import ScoreSettings
from nasbench_cli.spaces import create_space
from nasbench_cli.store import ScoreStore

PROXIES = "naswot,grad_norm,synflow"  # a kernel proxy, a gradient proxy, a float64 proxy


def _score(tmp: Path, name: str, *args: str, space: str = "toy", n: int = 12, code: int = 0) -> Path:
    out = tmp / f"{name}.csv"
    result = CliRunner().invoke(main, ["score", "--space", space, "--dataset", "synthetic", "--proxy", PROXIES,
                                       "--n", str(n), "--batch-size", "8", "--no-timing", "--quiet",
                                       "--data-dir", str(tmp / "data"), "--store", str(tmp / f"{name}.sqlite"),
                                       "--out", str(out), *args])
    assert result.exit_code == code, result.output
    return out


@pytest.fixture(scope="module")
def sequential_csv(tmp_path_factory) -> bytes:
    tmp = tmp_path_factory.mktemp("seq")
    return _score(tmp, "seq", "--executor", "sequential").read_bytes()


def test_local_workers_give_the_sequential_csv_byte_for_byte(tmp_path, sequential_csv):
    out = _score(tmp_path, "local", "--executor", "local", "--workers", "2")
    assert out.read_bytes() == sequential_csv
    engine = json.loads(sidecar_path(out).read_text())["engine"]
    assert engine["executor_chosen"] == "local" and engine["workers"] == 2
    assert engine["computed_scores"] == 12 * 3 and engine["threads_per_worker"] == 1


def test_three_workers_and_a_resumed_run_give_the_same_csv(tmp_path, sequential_csv):
    # half the scores already stored by an earlier, smaller run, the rest by three workers
    _score(tmp_path, "resumed", "--executor", "sequential", n=6)
    out = _score(tmp_path, "resumed", "--executor", "local", "--workers", "3")
    assert out.read_bytes() == sequential_csv
    record = json.loads(sidecar_path(out).read_text())
    assert record["resumed_rows"] > 0 and record["engine"]["computed_scores"] < 12 * 3


def test_chunk_order_and_size_do_not_change_scores(tmp_path):
    settings = ScoreSettings("toy", "synthetic", ("naswot", "grad_norm"), 3, 8, "auto", "train")
    scorer = build_scorer(ScorerSpec(settings, None, "cpu", 1, "toy_space"))[0]
    items = [(i, ("naswot", "grad_norm")) for i in range(10)]
    def values(chunks):
        return sorted((r.index, r.proxy, repr(r.value), r.error) for c in chunks for r in score_chunk(scorer, c).records)

    forward = values(make_chunks(items, 3))
    assert forward == values(reversed(make_chunks(items, 4))) and len(forward) == 20


def test_engine_writes_every_chunk_to_the_store_and_plans_only_what_is_missing(tmp_path):
    space = create_space("toy", None)
    settings = ScoreSettings("toy", "synthetic", ("naswot",), 0, 8, "auto", "train")
    from nasbench_cli.proxies import PROXIES as REGISTRY

    with ScoreStore(tmp_path / "s.sqlite") as store:
        engine = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig(executor="sequential"))
        known = engine.score(range(5))
        assert engine.report.computed_scores == 5 and engine.report.executor == "sequential"
        again = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig(executor="sequential"))
        _, todo = again.plan(range(8))
        assert [i for i, _ in todo] == [5, 6, 7]
        rows, failures = score_rows(space, range(5), known, timing=False)
        assert [r["index"] for r in rows] == ["0", "1", "2", "3", "4"] and failures == {}


def test_auto_runs_small_jobs_in_process_and_says_so(tmp_path):
    out = _score(tmp_path, "auto", "--workers", "2", n=3)
    engine = json.loads(sidecar_path(out).read_text())["engine"]
    assert engine["executor_chosen"] == "sequential"


def test_chunk_size_keeps_every_worker_busy():
    assert chunk_size(12, 2) == 2 and chunk_size(15625, 16) == 8 and chunk_size(1, 4) == 1


def test_chunk_size_of_a_timed_costly_proxy_loses_little_to_a_crash():
    assert chunk_size(200, 2, seconds_per_item=100.0) == 1  # ntk on a CPU core
    assert chunk_size(200, 2, seconds_per_item=5.0) == 6 and chunk_size(200, 2, seconds_per_item=0.1) == 8
    assert chunk_size(200, 2, seconds_per_item=None) == 8 and chunk_size(200, 2, seconds_per_item=0.0) == 8


def test_engine_sizes_chunks_from_the_seconds_the_store_measured(tmp_path):
    space = create_space("toy", None)
    settings = ScoreSettings("toy", "synthetic", ("naswot",), 0, 8, "auto", "train")
    from nasbench_cli.proxies import PROXIES as REGISTRY

    with ScoreStore(tmp_path / "s.sqlite") as store:
        first = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig(executor="sequential"))
        first.score(range(6))
        assert first.report.chunk_size == 2  # nothing timed yet: ceil(6 / (4 x 1 worker))
        assert first.seconds_per_item([(6, ("naswot",))]) < 10.0  # the toy space is fast: chunks stay as they are
        # the same proxy, stored as if each network had taken 100 s (a costly proxy on a CPU core)
        context = first.contexts["naswot"]
        store.put_many(context, [(i, 0.5, 100.0, None, space.arch_str(i)) for i in range(6, 16)], device="cpu")
        costly = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig(executor="sequential"))
        costly.score(range(36))
        assert costly.report.chunk_size == 1 and costly.report.chunks == 20  # 16..35, 5 a chunk untimed


# --- faults ---------------------------------------------------------------------------------------
def test_a_worker_killed_mid_chunk_is_replaced_and_the_csv_is_unchanged(tmp_path, monkeypatch):
    reference = _score(tmp_path, "reference", "--executor", "sequential", space="toy-crash-once").read_bytes()
    crash = tmp_path / "crash"
    crash.mkdir()
    monkeypatch.setenv("NASBENCH_TEST_CRASH", str(crash))
    indices = [int(line.split(",")[0]) for line in reference.decode().splitlines()[1:]]
    (crash / f"crash-{indices[5]}").touch()  # the worker building this architecture dies (kill -9)
    out = _score(tmp_path, "killed", "--executor", "local", "--workers", "2", space="toy-crash-once")
    assert (crash / f"crashed-{indices[5]}").exists(), "the worker was never killed: the test tests nothing"
    assert out.read_bytes() == reference
    engine = json.loads(sidecar_path(out).read_text())["engine"]
    assert engine["restarted_workers"] == 1 and engine["retried_chunks"] == 1


def test_a_chunk_that_kills_every_worker_ends_the_run_with_one_line(tmp_path, monkeypatch):
    reference = _score(tmp_path, "reference", "--executor", "sequential", space="toy-crash-always").read_text()
    crash = tmp_path / "crash"
    crash.mkdir()
    monkeypatch.setenv("NASBENCH_TEST_CRASH", str(crash))
    victim = int(reference.splitlines()[3].split(",")[0])
    (crash / f"crash-{victim}").touch()
    result = CliRunner().invoke(main, ["score", "--space", "toy-crash-always", "--dataset", "synthetic", "--n", "12",
                                       "--batch-size", "8", "--quiet", "--executor", "local", "--workers", "2",
                                       "--store", str(tmp_path / "dies.sqlite"), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "3 times" in result.output and str(victim) in result.output
    assert "Traceback" not in result.output
    # what the other chunks computed is kept
    with ScoreStore(tmp_path / "dies.sqlite") as store:
        assert store.count() > 0


# --- Ray -------------------------------------------------------------------------------------------
def test_ray_missing_exits_2_saying_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "synthetic", "--n", "16",
                                       "--batch-size", "8", "--quiet", "--executor", "ray", "--no-store",
                                       "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2 and "pip install" in result.output and "ray" in result.output


def test_ray_actors_give_the_sequential_csv(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'nasbench-cli[ray]')")
    args = ("--proxy", "naswot,grad_norm")
    seq = tmp_path / "seq.csv"
    ray_out = tmp_path / "ray.csv"
    for out, extra in ((seq, ["--executor", "sequential"]), (ray_out, ["--executor", "ray", "--workers", "2"])):
        result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "synthetic", "--n", "8",
                                           "--batch-size", "8", "--no-timing", "--quiet", "--no-store",
                                           "--out", str(out), *args, *extra])
        assert result.exit_code == 0, result.output
    assert ray_out.read_bytes() == seq.read_bytes()
    engine = json.loads(sidecar_path(ray_out).read_text())["engine"]
    assert engine["executor_chosen"] == "ray" and engine["workers"] == 2


# --- search scores through the same engine ---------------------------------------------------------
def test_search_scores_through_local_workers_give_the_sequential_result(tmp_path):
    toy_space.write_ground_truth(tmp_path)
    outputs = []
    for executor in ("sequential", "local"):
        out = tmp_path / f"{executor}.csv"
        result = CliRunner().invoke(main, ["search", "--algo", "naswot", "--space", "toy", "--dataset", "synthetic",
                                           "--n", "10", "--runs", "4", "--batch-size", "8", "--no-timing", "--quiet",
                                           "--executor", executor, "--workers", "2", "--data-dir", str(tmp_path),
                                           "--store", str(tmp_path / f"{executor}.sqlite"), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
        record = json.loads(sidecar_path(out).read_text())
        assert record["scores_computed"] > 0 and record["scoring"]["engine"]["executor_chosen"] == executor
    assert outputs[0] == outputs[1]


# --- out of GPU memory -----------------------------------------------------------------------------
class _FlakyScorer:
    """Raises CUDA's out-of-memory error on the first ``fails`` calls, then scores 1.0."""

    def __init__(self, fails: int):
        self.fails = fails

    def score_proxies(self, index, names):
        import torch

        from nasbench_cli.scoring import ProxyResult

        if self.fails:
            self.fails -= 1
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return {name: ProxyResult(1.0, 0.1) for name in names}


def test_out_of_memory_is_retried_and_counted_then_reported():
    import torch

    from nasbench_cli.engine.work import OOM_ATTEMPTS

    chunk = make_chunks([(0, ("naswot",)), (1, ("naswot",))], 2)[0]
    result = score_chunk(_FlakyScorer(fails=OOM_ATTEMPTS - 1), chunk)
    assert result.oom_retries == OOM_ATTEMPTS - 1 and [r.value for r in result.records] == [1.0, 1.0]
    with pytest.raises(torch.cuda.OutOfMemoryError):
        score_chunk(_FlakyScorer(fails=OOM_ATTEMPTS), chunk)


# --- Ctrl-C ----------------------------------------------------------------------------------------
def test_interrupt_stops_workers_keeps_scores_and_a_rerun_finishes(tmp_path):
    import os
    import signal
    import subprocess
    import time

    store = tmp_path / "s.sqlite"
    args = [sys.executable, "-m", "nasbench_cli", "score", "--space", "nb201", "--dataset", "synthetic", "--n", "16",
            "--batch-size", "64", "--no-timing", "--executor", "local", "--workers", "2",
            "--store", str(store), "--out", str(tmp_path / "a.csv")]
    # a job started in the background (CI, nohup ... &) inherits SIGINT ignored; a terminal's Ctrl-C
    # reaches a process that has it at its default, so give the child that
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if store.exists():
            with ScoreStore(store) as s:
                if s.count() > 0:
                    break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 2  # the workers (and the resource tracker)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Interrupted" in err and "Traceback" not in err
    # no worker outlives the driver (allow the kernel a moment to reap them)
    alive = list(children)
    for _ in range(100):
        alive = [pid for pid in alive if os.path.exists(f"/proc/{pid}")
                 and "zombie" not in open(f"/proc/{pid}/status").read()]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive
    with ScoreStore(store) as s:
        kept = s.count()
    assert 0 < kept < 16
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({kept} from the store)" in rerun.stderr


def test_devices_list_gives_one_worker_per_device(tmp_path, sequential_csv):
    out = _score(tmp_path, "devices", "--devices", "cpu,cpu", "--executor", "local")
    # the sequential run used --device auto: the GPU where there is one, whose last bits differ
    expected = sequential_csv if not torch.cuda.is_available() else \
        _score(tmp_path, "cpu-seq", "--device", "cpu", "--executor", "sequential").read_bytes()
    assert out.read_bytes() == expected
    record = json.loads(sidecar_path(out).read_text())
    assert record["devices"] == ["cpu", "cpu"] and record["engine"]["workers"] == 2


def test_a_worker_whose_space_numbers_architectures_otherwise_refuses(tmp_path):
    from nasbench_cli.errors import DataCorruptError

    settings = ScoreSettings("toy", "synthetic", ("naswot",), 0, 8, "auto", "train")
    with pytest.raises(DataCorruptError, match="numbers architectures"):
        build_scorer(ScorerSpec(settings, None, "cpu", 1, "toy_space", index_order="some other listing"))
