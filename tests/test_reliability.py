"""Faults the bad-input suite cannot stage through the CLI alone: a full disk under the store, a
store locked by another process, writers killed between temporary and rename, partial archives."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.errors import NasbenchError
from nasbench_cli.output import remove_stale_temporaries, write_text
from nasbench_cli.store import ScoreContext, ScoreStore

CTX = ScoreContext("nb201", "cifar10", "naswot", 128, 0, "one", "train", "test")
TSS = "NATS-tss-v1_0-3ffb9-simple"


def _rows(start: int, count: int):
    return [(i, float(i) / 3, 0.5, None, "x" * 400) for i in range(start, start + count)]


# --- disk full --------------------------------------------------------------------------------------
def test_full_disk_keeps_the_store_consistent_and_says_disk_full(tmp_path):
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        store.put_many(CTX, _rows(0, 50))
        # SQLite's own limit on the file size: writes fail exactly as on a full disk (SQLITE_FULL)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(NasbenchError, match="disk full") as err:
            for start in range(50, 5000, 100):
                store.put_many(CTX, _rows(start, 100))
        assert "cannot rollback" not in str(err.value)
        assert "\n" not in str(err.value)
    with ScoreStore(path) as store:  # reopened: whole chunks only, and an intact file
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = store.count(CTX)
        assert count >= 50 and (count - 50) % 100 == 0  # no half chunk
        stored = store.get_many(CTX)
        assert all(stored[i].value == pytest.approx(i / 3) for i in stored)
        store.put_many(CTX, _rows(count, 10))  # space again: writing resumes
        assert store.count(CTX) == count + 10


def test_a_damaged_row_is_not_served_but_said_and_computed_again(tmp_path):
    """Issue 33: a row that fails its checksum (here a value edited to text) is removed and left
    for the run to compute again, with one note naming the store; the other rows are served."""
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        store.put_many(CTX, _rows(0, 3))
        store._db.execute("UPDATE scores SET value = 'text' WHERE arch_index = 1")
    told = []
    with ScoreStore(path, on_note=told.append) as store:
        assert sorted(store.get_many(CTX)) == [0, 2]
        assert store.count(CTX) == 2  # the damaged row is gone: a put writes it again
    assert len(told) == 1 and str(path) in told[0] and "checksum" in told[0]


# --- a locked store ----------------------------------------------------------------------------------
def test_a_locked_store_says_that_it_waits_then_gives_up_in_one_line(tmp_path):
    path = tmp_path / "s.sqlite"
    ScoreStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    told = []
    try:
        with pytest.raises(NasbenchError, match="locked by another process") as err:
            ScoreStore(path, timeout=3.0, on_wait=told.append)  # opening writes its schema row: it waits
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(told) == 1 and "waiting for the score store" in told[0] and str(path) in told[0]
    assert "\n" not in str(err.value)


def test_a_store_freed_while_waiting_gets_the_write(tmp_path):
    path = tmp_path / "s.sqlite"
    ScoreStore(path).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, time\n"
        f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(3); db.execute('ROLLBACK')\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    told = []
    with ScoreStore(path, timeout=30.0, on_wait=told.append) as store:
        store.put_many(CTX, _rows(0, 2))
        assert store.count(CTX) == 2
    holder.wait()
    assert len(told) == 1


# --- temporaries of killed writers ----------------------------------------------------------------
def test_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    out = tmp_path / "table.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = [tmp_path / f".table.csv.tmp{dead_pid}-0a1b2c3d", tmp_path / f".table.csv.converting{dead_pid}"]
    live = tmp_path / f".table.csv.tmp{os.getppid()}-deadbeef"
    other = tmp_path / f".other.csv.tmp{dead_pid}-0a1b2c3d"
    for path in (*stale, live, other):
        path.write_text("half")
    write_text(out, "a,b\n")
    assert out.read_text() == "a,b\n"
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    assert remove_stale_temporaries(out) == []


# --- data convert: partial archives, smaller tables, provenance --------------------------------------
@pytest.fixture
def tss_copy(shared_data, tmp_path) -> Path:
    import shutil

    src = shared_data / "nats" / TSS
    if not src.is_dir():
        pytest.skip(f"shared NATS tss records not found at {src}")
    return Path(shutil.copytree(src, tmp_path / TSS))


def test_a_partial_tss_archive_gives_the_whole_listing_and_working_commands(tss_copy, tmp_path, shared_data):
    data = tmp_path / "data"
    (data / "cifar-10-batches-py").mkdir(parents=True)
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        os.symlink(shared_data / "cifar-10-batches-py" / name, data / "cifar-10-batches-py" / name)
    result = CliRunner().invoke(main, ["data", "convert", str(tss_copy), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "(3 with results; the archive has none for the other 15622)" in result.output
    table = data / "nats-tss" / "ground_truth.csv"
    lines = table.read_text().splitlines()
    assert len(lines) == 15626
    record = json.loads((data / "nats-tss" / "ground_truth.csv.provenance.json").read_text())
    assert record["rows"] == 15625 and record["rows_with_results"] == 3
    assert record["source"]["format"] == "NATS-Bench fast-mode directory"
    assert {Path(f["path"]).name for f in record["source"]["files"]} >= {"meta.pickle.pbz2", "000011.pickle.pbz2"}
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(main, ["score", "--space", "nats-tss", "--proxy", "params", "--archs", "-",
                                       "--data-dir", str(data), "--no-store", "--quiet", "--out", str(out)],
                                input="11\n12\n")
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    header = rows[0].split(",")
    column = header.index("cifar10/ori-test@200")
    assert math.isclose(float(rows[1].split(",")[column]), 91.5833333333, rel_tol=1e-9)
    assert rows[2].split(",")[column] == ""  # listed, no results in this archive


def test_convert_never_replaces_a_table_with_a_smaller_one_without_force(tss_copy, tmp_path):
    out = tmp_path / "t.csv"
    bigger = ["arch_index,arch,cifar10/ori-test@200"]
    result = CliRunner().invoke(main, ["data", "convert", str(tss_copy), "--out", str(out)])
    assert result.exit_code == 0
    listing = out.read_text().splitlines()[1:]
    bigger += [f"{row.split(',')[0]},{row.split(',')[1]},50.0" for row in listing[:10]]
    out.write_text("\n".join(bigger) + "\n")
    before = out.read_bytes()
    result = CliRunner().invoke(main, ["data", "convert", str(tss_copy), "--out", str(out)])
    assert result.exit_code == 1 and "--force" in result.output and "10 architectures" in result.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    result = CliRunner().invoke(main, ["data", "convert", str(tss_copy), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 15626
