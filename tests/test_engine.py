"""The scoring engine: same CSV whatever the executor, worker count or chunk order; faults.

Uses the toy space (tests/toy_space.py) and NB201 on the synthetic dataset: no shared data needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
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
        engine = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig("sequential"))
        known = engine.score(range(5))
        assert engine.report.computed_scores == 5 and engine.report.executor == "sequential"
        again = Engine(space, settings, [REGISTRY.get("naswot")], None, store, EngineConfig("sequential"))
        _, todo = again.plan(range(8))
        assert [i for i, _ in todo] == [5, 6, 7]
        rows, failures = score_rows(space, range(5), known, timing=False)
        assert [r["index"] for r in rows] == ["0", "1", "2", "3", "4"] and failures == {}


def test_auto_runs_small_jobs_in_process_and_says_so(tmp_path):
    out = _score(tmp_path, "auto", "--workers", "2", n=3)
    engine = json.loads(sidecar_path(out).read_text())["engine"]
    assert engine["executor_chosen"] == "sequential"


def test_chunk_size_keeps_every_worker_busy():
    assert chunk_size(12, 2) == 2 and chunk_size(15625, 16) == 16 and chunk_size(1, 4) == 1


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
