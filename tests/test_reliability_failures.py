"""Issue 25 item 7: failures of the machine stop the run and are never stored as scores; a proxy's
own mathematical failure is stored (NaN with its reason). Threads and workers are bounded."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from nasbench_cli import scoring
from nasbench_cli.cli import main
from nasbench_cli.store import ScoreStore

ARGS = ["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--proxy", "params,synflow",
        "--n", "3", "--seed", "1", "--no-timing", "--executor", "sequential", "--quiet"]


def _score(tmp_path, *extra):
    return CliRunner().invoke(main, [*ARGS, "--data-dir", str(tmp_path), "--store", str(tmp_path / "s.sqlite"),
                                     "--out", str(tmp_path / "o.csv"), *extra])


def _stored(tmp_path):
    with ScoreStore(tmp_path / "s.sqlite") as store:
        return store.count()


@pytest.mark.parametrize("failure", [RuntimeError("std::bad_alloc"), MemoryError(),
                                     RuntimeError("can't start new thread"), OSError(24, "Too many open files"),
                                     ModuleNotFoundError("No module named 'scipy'"),
                                     RuntimeError("CUDA error: an illegal memory access was encountered")],
                         ids=["bad_alloc", "MemoryError", "threads", "files", "module", "cuda"])
def test_a_failure_of_the_machine_stops_the_run_and_stores_nothing(tmp_path, monkeypatch, failure):
    calls = {"n": 0}
    original = scoring.ArchitectureScorer._network

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= 3:  # the second architecture: the first one's scores are kept
            raise failure
        return original(self, *args, **kwargs)

    monkeypatch.setattr(scoring.ArchitectureScorer, "_network", failing)
    result = _score(tmp_path)
    assert result.exit_code == 1, result.output
    assert "because of the machine, not the proxy" in result.output and "Traceback" not in result.output
    with ScoreStore(tmp_path / "s.sqlite") as store:
        assert store.count() == 2  # the first architecture's two scores, none failed
    monkeypatch.setattr(scoring.ArchitectureScorer, "_network", original)
    again = _score(tmp_path)
    assert again.exit_code == 0 and "nan" not in (tmp_path / "o.csv").read_text()


def test_a_proxys_own_mathematical_failure_is_stored_with_its_reason(tmp_path, monkeypatch):
    original = scoring.ArchitectureScorer._network

    def singular(self, *args, **kwargs):
        raise torch.linalg.LinAlgError("linalg.inv: The diagonal element 2 is zero, the inversion could not be completed")

    monkeypatch.setattr(scoring.ArchitectureScorer, "_network", singular)
    result = _score(tmp_path)
    assert result.exit_code == 0, result.output
    assert _stored(tmp_path) == 6  # stored as failed scores: a rerun does not retry them
    monkeypatch.setattr(scoring.ArchitectureScorer, "_network", original)
    assert "nan" in (tmp_path / "o.csv").read_text()


@pytest.mark.parametrize("extra, fragment", [(["--threads", "100000"], "--threads 100000 is more than this machine"),
                                             (["--workers", "100000", "--executor", "local"], "--workers 100000 is more")])
def test_threads_and_workers_beyond_the_machine_are_refused_before_any_work(tmp_path, extra, fragment):
    result = _score(tmp_path, *extra)
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s.sqlite").exists()


def test_a_machine_failure_stored_by_an_earlier_version_is_computed_again(tmp_path):
    assert _score(tmp_path).exit_code == 0
    with ScoreStore(tmp_path / "s.sqlite") as store:
        context = next(c for c, _ in store.contexts() if c.proxy == "synflow")
        first = next(iter(store.get_many(context, [int(l.split(",")[0]) for l in
                                                   (tmp_path / "o.csv").read_text().splitlines()[1:]])))
        store.put(context, first, float("nan"), error="RuntimeError: std::bad_alloc", replace=True)
    assert _score(tmp_path).exit_code == 0
    assert "nan" not in (tmp_path / "o.csv").read_text()
    with ScoreStore(tmp_path / "s.sqlite") as store:
        assert store.get(context, first).error is None


# --- issue 25 item 6: foreign files are never modified -------------------------------------------
def _foreign(path, *statements):
    import sqlite3

    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()
    return path.read_bytes()


def _schema(path):
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return (db.execute("PRAGMA journal_mode").fetchone()[0],
                sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master")),
                db.execute("SELECT * FROM meta").fetchall() if "meta" in
                [r[0] for r in db.execute("SELECT name FROM sqlite_master")] else None)
    finally:
        db.close()


@pytest.mark.parametrize("statements", [
    ("CREATE TABLE foo (x)", "INSERT INTO foo VALUES (1)"),
    ("CREATE TABLE meta (a, b, c)", "INSERT INTO meta VALUES (1, 2, 3)"),  # another program's meta
    ("CREATE TABLE meta (key TEXT, value TEXT)", "INSERT INTO meta VALUES ('owner', 'someone')"),
    ("CREATE TABLE meta (key TEXT, value TEXT)", "INSERT INTO meta VALUES ('schema', '99')",
     "CREATE TABLE scores (x)"),
], ids=["other-tables", "other-meta", "meta-without-schema", "unknown-layout"])
def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path, statements):
    path = tmp_path / "theirs.db"
    before = _foreign(path, *statements)
    schema = _schema(path)
    result = CliRunner().invoke(main, [*ARGS, "--data-dir", str(tmp_path), "--store", str(path),
                                       "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "not a score store; nothing was changed" in result.output, result.output
    assert path.read_bytes() == before and _schema(path) == schema  # not even WAL mode switched on
    assert not (tmp_path / "theirs.db-wal").exists() and not (tmp_path / "o.csv").exists()


def test_convert_force_never_replaces_a_file_of_another_kind(tmp_path):
    from nasbench_cli.workflows.data import _guard_smaller_table

    store = tmp_path / "scores.sqlite"
    ScoreStore(store).close()
    before = store.read_bytes()
    new = tmp_path / "new.csv"
    new.write_text("arch_index,arch,cifar10/ori-test@200\n0,a,50.0\n")
    from nasbench_cli.errors import DataCorruptError

    with pytest.raises(DataCorruptError, match="--force never replaces such a file"):
        _guard_smaller_table(new, store, force=True)
    assert store.read_bytes() == before
    damaged = tmp_path / "old.csv"
    damaged.write_text("arch_index,arch,cifar10/ori-test@200\n0,a,\"unclosed\n")
    assert _guard_smaller_table(new, damaged, force=True) is None  # a damaged table: --force replaces it


# --- issue 25 items 3/4: Ray addresses are checked and connections bounded ------------------------
@pytest.mark.parametrize("text", ["::::", "host:99999", "http://x:1", "host", "a b:1", ":6379", "ray://:1"])
def test_a_malformed_ray_address_is_one_usage_line(tmp_path, text):
    pytest.importorskip("ray", reason="Ray is an optional extra")
    result = _score(tmp_path, "--executor", "ray", "--ray-address", text)
    assert result.exit_code == 2 and "is not a Ray address" in result.output and "Traceback" not in result.output


def test_ray_addresses_parse_and_an_unreachable_head_fails_within_the_timeout():
    import socket
    import time

    from nasbench_cli.engine.executors.ray import check_reachable, parse_ray_address
    from nasbench_cli.errors import NasbenchError

    assert parse_ray_address("auto") is None
    assert parse_ray_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert parse_ray_address("ray://head.cluster:10001") == ("head.cluster", 10001)
    assert parse_ray_address("[::1]:6379") == ("::1", 6379)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    start = time.monotonic()
    with pytest.raises(NasbenchError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - start < 5
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        check_reachable(f"127.0.0.1:{listening.getsockname()[1]}", timeout=2)  # reachable: no error


@pytest.mark.parametrize("option, fragment", [("ntk.repeats=1000000000", "expected at most 100"),
                                              ("linear_regions.repeats=101", "expected at most 100"),
                                              ("ntk.repeats=100", None)])
def test_options_that_multiply_work_have_a_stated_upper_bound(tmp_path, option, fragment):
    from nasbench_cli.proxies import PROXIES

    name, _, text = option.partition("=")
    proxy, _, key = name.partition(".")
    spec = next(o for o in PROXIES.get(proxy).options if o.name == key)
    assert "<= 100" in spec.describe()
    if fragment is None:
        assert spec.parse(text) == 100
        return
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", proxy,
                                       "--proxy-option", option, "--n", "1", "--no-store", "--quiet",
                                       "--data-dir", str(tmp_path), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and fragment in result.output and not (tmp_path / "o.csv").exists()


# --- issue 25 item 3: a worker whose driver is gone ends without a traceback --------------------
class _GonePipe:
    """The worker's end of a pipe whose driver was killed after sending one chunk."""

    def __init__(self, chunks):
        self.chunks, self.sent = list(chunks), []

    def recv(self):
        if not self.chunks:
            raise EOFError
        return self.chunks.pop(0)

    def send(self, message):
        if message[0] != "ready":
            raise BrokenPipeError(32, "Broken pipe")
        self.sent.append(message)


@pytest.mark.parametrize("outcome", ["done", "machine-failure", "eof"])
def test_a_worker_whose_driver_is_gone_ends_quietly(monkeypatch, capfd, outcome):
    import signal

    from nasbench_cli.engine import work
    from nasbench_cli.engine.executors import local
    from nasbench_cli.errors import EnvironmentFailure

    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the test process keeps its handlers
    monkeypatch.setattr(work, "build_scorer", lambda spec: (object(), None))

    def score_chunk(scorer, chunk):
        if outcome == "machine-failure":
            raise EnvironmentFailure("params on architecture 1 failed because of the machine")
        return "result"

    monkeypatch.setattr(work, "score_chunk", score_chunk)
    pipe = _GonePipe([] if outcome == "eof" else ["chunk"])
    local.worker_main(pipe, spec=None)  # returns: no BrokenPipeError, no EOFError
    assert pipe.sent == [("ready", None)]
    assert "Traceback" not in capfd.readouterr().err
