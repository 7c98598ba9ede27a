"""Score store: lossless round trip, keys, concurrent writers, and resume after SIGKILL."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_cli.errors import DataCorruptError
from nasbench_cli.store import (LayoutChangedError, ScoreContext, ScoreStore, decode_value, default_store_path, encode_value,
                                open_store, resolve_store)

REPO = Path(__file__).resolve().parents[1]
CTX = ScoreContext("nb201", "cifar10", "naswot", 128, 0, "one", "train", "0.1.0", "1")


@pytest.fixture
def one_thread():
    """Score with one torch thread: on a shared, busy CPU, more threads are much slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


VALUES = [1.5, -math.inf, math.inf, math.nan, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -3.0,
          1e60, 2.0**53 + 2]


def test_values_round_trip_bit_for_bit(tmp_path):
    with ScoreStore(tmp_path / "s.sqlite") as store:
        for index, value in enumerate(VALUES):
            store.put(CTX, index, value, seconds=0.25 * index, error="boom" if index == 3 else None,
                      arch=f"a{index}", device="cpu")
    with ScoreStore(tmp_path / "s.sqlite") as store:  # reopened: the values are on disk
        found = store.get_many(CTX, range(len(VALUES)))
    assert sorted(found) == list(range(len(VALUES)))
    for index, value in enumerate(VALUES):
        got = found[index]
        if math.isnan(value):
            assert math.isnan(got.value)
        else:
            assert bits(got.value) == bits(value), (value, got.value)
        assert got.seconds == 0.25 * index
        assert got.arch == f"a{index}"
    assert found[3].error == "boom" and found[0].error is None


@pytest.mark.parametrize("value", VALUES)
def test_encoding_is_its_own_inverse(value):
    decoded = decode_value(*encode_value(value))
    assert (math.isnan(decoded) and math.isnan(value)) or bits(decoded) == bits(value)


def test_contexts_are_separate_and_first_value_wins(tmp_path):
    other = ScoreContext(**{**CTX.__dict__, "seed": 1})
    newer = ScoreContext(**{**CTX.__dict__, "code_version": "0.2.0"})
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.put(CTX, 7, 1.0)
        store.put(other, 7, 2.0)
        store.put(CTX, 7, 3.0)  # a second writer of the same key: kept as it was
        assert store.get(CTX, 7).value == 1.0 and store.get(other, 7).value == 2.0
        assert store.get(newer, 7) is None and store.get(CTX, 8) is None
        store.put(CTX, 7, 3.0, replace=True)  # --restart overwrites
        assert store.get(CTX, 7).value == 3.0
        assert store.count(CTX) == 1 and store.count() == 2
        assert {c.seed: n for c, n in store.contexts()} == {0: 1, 1: 1}
        assert store.delete(CTX) == 1 and store.count(CTX) == 0


def test_many_keys_in_one_batch_lookup(tmp_path):
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.put_many(CTX, [(i, float(i) / 7, None, None, None) for i in range(0, 5000, 2)])
        found = store.get_many(CTX, range(5000))  # more keys than one SQL statement may hold
        assert len(found) == 2500 and all(found[i].value == i / 7 for i in found)
        assert len(store.get_many(CTX)) == 2500


def test_other_index_order_is_refused(tmp_path):
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.put(CTX, 5, 1.0, arch="|a|")
        assert store.get_many(CTX, [5], arch_of=lambda i: "|a|")[5].value == 1.0
        with pytest.raises(DataCorruptError, match="index order"):
            store.get_many(CTX, [5], arch_of=lambda i: "|b|")


def test_a_layout_changed_under_an_open_store_stops_its_writes(tmp_path):
    """Another nasbench version upgrades the file while this one has it open: this one must not
    write rows the newer one would misread (they were once dropped as damaged) nor delete the
    newer rows it cannot verify; everything stored before stays."""
    path = tmp_path / "s.sqlite"
    damaged = ScoreContext(**{**CTX.__dict__, "proxy": "synflow"})
    with ScoreStore(path) as store:
        store.put(CTX, 1, 1.0)
        store.put(damaged, 2, 2.0)
        with sqlite3.connect(path) as other:  # the newer version's upgrade, and a row it wrote
            other.execute("UPDATE meta SET value = '5' WHERE key = 'schema'")
            other.execute("UPDATE scores SET checksum = 'newer-algorithm' WHERE arch_index = 2")
        for write in (lambda: store.put(CTX, 3, 3.0), lambda: store.put(CTX, 1, 9.0, replace=True),
                      lambda: store.delete(CTX), lambda: store.drop_context(CTX),
                      lambda: store.get_many(damaged, [2]),
                      lambda: store.put(ScoreContext(**{**CTX.__dict__, "seed": 7}), 1, 1.0)):
            with pytest.raises(LayoutChangedError, match=r"s\.sqlite was changed to layout version 5") as err:
                write()
            assert "\n" not in str(err.value) and "scores it holds are kept" in str(err.value)
    with sqlite3.connect(path) as db:
        rows = sorted(db.execute("SELECT arch_index, value, checksum FROM scores").fetchall())
        contexts = db.execute("SELECT COUNT(*) FROM contexts").fetchone()[0]
    assert [(r[0], r[1]) for r in rows] == [(1, 1.0), (2, 2.0)] and rows[1][2] == "newer-algorithm"
    assert contexts == 2  # no context row was added either


def test_a_file_that_is_not_a_store_is_named(tmp_path):
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(DataCorruptError, match="junk.sqlite"):
        ScoreStore(bad)


def test_store_runs_in_wal_mode(tmp_path):
    ScoreStore(tmp_path / "s.sqlite").close()
    mode = sqlite3.connect(tmp_path / "s.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_default_store_is_in_the_user_cache_never_the_data_dir(tmp_path, monkeypatch):
    """One rule for CLI and API: --store/store=, else $NASBENCH_STORE, else the user cache; a
    writable data directory gets no scores.sqlite (nor -wal/-shm)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NASBENCH_STORE", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    assert default_store_path() == tmp_path / "cache" / "nasbench" / "scores.sqlite"
    location, name, note = resolve_store(None, data)
    assert location == default_store_path() and name == str(location) and note is None
    store, _, _ = open_store(None, data)
    with store:
        store.put(CTX, 1, 2.0)
    assert default_store_path().is_file() and list(data.iterdir()) == []
    monkeypatch.setenv("NASBENCH_STORE", str(tmp_path / "env.sqlite"))
    assert resolve_store(None, data)[0] == tmp_path / "env.sqlite"
    assert resolve_store(tmp_path / "flag.sqlite", data)[0] == tmp_path / "flag.sqlite"  # --store wins
    store, name, _ = open_store(None, data, enabled=False)
    with store:
        store.put(CTX, 1, 2.0)
        assert store.get(CTX, 1).value == 2.0 and "memory" in name


def test_a_store_left_in_the_data_dir_by_earlier_versions_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NASBENCH_STORE", raising=False)
    ScoreStore(tmp_path / "scores.sqlite").close()
    _, _, note = resolve_store(None, tmp_path)
    assert str(tmp_path / "scores.sqlite") in note and "--store" in note
    assert resolve_store(tmp_path / "scores.sqlite", tmp_path)[2] is None  # the one in use: no note


WRITER = textwrap.dedent("""
    import sys, time
    from nasbench_cli.store import ScoreContext, ScoreStore
    path, start, stop, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    ctx = ScoreContext("nb201", "cifar10", "naswot", 128, 0, "one", "train", "0.1.0", "1")
    while time.time() < go:  # both writers start together, on a store neither has created yet
        time.sleep(0.001)
    store = ScoreStore(path)
    for i in range(start, stop):
        store.put(ctx, i, i * 0.5, seconds=0.001, arch=f"a{i}")  # one commit per score
    store.close()
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    go = time.time() + 1.5
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(a), str(b), str(go)], env=env,
                              stderr=subprocess.PIPE, text=True)
             for a, b in ((0, 400), (200, 600))]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with ScoreStore(path) as store:
        found = store.get_many(CTX)
    assert sorted(found) == list(range(600))
    assert all(found[i].value == i * 0.5 and found[i].arch == f"a{i}" for i in found)


def test_killed_score_run_resumes_to_the_uninterrupted_table(tmp_path, one_thread):
    """SIGKILL part-way through `nasbench score`, rerun: only the missing scores are computed."""
    from nasbench_cli.cli import main

    data = tmp_path / "data"
    store_path = tmp_path / "scores.sqlite"
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--n", "5",
            "--seed", "3", "--no-timing", "--quiet", "--data-dir", str(data)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    killed_out = tmp_path / "killed.csv"
    proc = subprocess.Popen([sys.executable, "-m", "nasbench_cli", *args, "--store", str(store_path),
                             "--out", str(killed_out)], env=env, stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if store_path.exists():
                try:
                    with ScoreStore(store_path) as store:
                        stored = store.count()
                except Exception:  # the child may be creating the file right now
                    stored = 0
                if stored >= 1:
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not killed_out.exists()
    with ScoreStore(store_path) as store:
        kept = store.count()
    assert 1 <= kept < 5

    resumed = tmp_path / "resumed.csv"
    result = CliRunner().invoke(main, [*args, "--store", str(store_path), "--out", str(resumed)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "resumed.csv.provenance.json").read_text())
    assert record["computed_scores"] == 5 - kept and record["resumed_rows"] == kept

    full = tmp_path / "full.csv"
    result = CliRunner().invoke(main, [*args, "--no-store", "--out", str(full)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert resumed.read_bytes() == full.read_bytes()
