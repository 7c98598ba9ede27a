"""Issue 33 (reliability round four): the cases of the second hostile probe, each a test.

Readers through the checked layer (``plot predict``, the report's predictor section, the NB201
listing, ``scripts/restore_score_csvs.py``), values checked where they enter, the whole
default-output guard, the store that trusts nothing it did not write, and the smaller cases.
Interrupts are in ``tests/test_interrupts.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.errors import DataCorruptError, UsageError
from nasbench_cli.provenance import guard_default_output, invocation
from nasbench_cli.store import ScoreContext, ScoreStore

ROOT = Path(__file__).resolve().parents[1]
ACC = "cifar10/ori-test@200"


@pytest.fixture(autouse=True)
def _no_hang():
    """A reader that blocks (a FIFO, /dev/zero) fails the test instead of hanging the suite."""
    def stop(*_):
        raise TimeoutError("the command hung")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _invoke(args: Sequence[object], **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def _one_error(result, code: int, *words: str) -> str:
    output = result.output
    assert result.exit_code == code, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "Error" in line]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- plot predict and the report's predictor section ---------------------------------------------------
TRIALS_HEADER = "feature_set,encoding,features,model,train_size,trial,kendall_tau,spearman_rho"


def _trials(path: Path, rows: Sequence[str] = ()) -> Path:
    rows = rows or [f"{name},{enc},{feat},rf,{size},{trial},{0.3 + size / 1000 + trial / 100:.3f},0.5"
                    for name, enc, feat in (("onehot", "onehot", ""), ("onehot+naswot", "onehot", "naswot"))
                    for size in (10, 100) for trial in range(3)]
    path.write_text("\n".join([TRIALS_HEADER, *rows]) + "\n")
    return path


@pytest.mark.parametrize("cell, column, words", [
    ("train_size=0", "train_size", ["'train_size'", "row 1", "whole number"]),
    ("train_size=-3", "train_size", ["'train_size'", "row 1"]),
    ("train_size=1e308", "train_size", ["'train_size'", "row 1"]),
    ("train_size=ten", "train_size", ["'train_size'", "row 1", "'ten'"]),
    ("trial=-1", "trial", ["'trial'", "row 1"]),
    ("kendall_tau=1e308", "kendall_tau", ["'kendall_tau'", "row 1", "[-1.0, 1.0]"]),
    ("spearman_rho=high", "spearman_rho", ["'spearman_rho'", "row 1"]),
])
def test_plot_predict_refuses_values_no_run_writes(tmp_path, cell, column, words):
    name, value = cell.split("=")
    header = TRIALS_HEADER.split(",")
    row = ["onehot", "onehot", "", "rf", "10", "0", "0.3", "0.5"]
    row[header.index(name)] = value
    path = _trials(tmp_path / "p.csv", [",".join(row), "onehot,onehot,,rf,100,0,0.4,0.5"])
    out = tmp_path / "f.png"
    _one_error(_invoke(["plot", "predict", path, "--out", out]), 1, str(path), *words)
    assert not out.exists()


def test_plot_predict_special_files_and_broken_tables(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    text = tmp_path / "text.csv"
    text.write_text("just some text\nwithout the columns\n")
    dup = _trials(tmp_path / "dup.csv")
    dup.write_text(dup.read_text().replace("trial,kendall_tau", "trial,trial", 1))
    missing = tmp_path / "missing-col.csv"
    missing.write_text("feature_set,train_size,trial\nx,10,0\n")
    for path, code, words in ((fifo, 1, ["FIFO"]), (zero, 1, ["device"]), (text, 2, ["no column"]),
                              (dup, 1, ["appears twice"]), (missing, 2, ["kendall_tau"]),
                              (tmp_path / "absent.csv", 2, ["does not exist"])):
        _one_error(_invoke(["plot", "predict", path, "--out", tmp_path / "f.png"]), code, *words)
    assert not (tmp_path / "f.png").exists()


def test_plot_predict_draws_a_valid_table(tmp_path):
    pytest.importorskip("matplotlib")
    path = _trials(tmp_path / "p.csv")
    result = _invoke(["plot", "predict", path, "--out", tmp_path / "f.png", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.png").stat().st_size > 1000


SUMMARY_HEADER = "feature_set,train_size,trials,kendall_tau_mean,kendall_tau_lo,kendall_tau_hi"


@pytest.mark.parametrize("rows, words", [
    (["onehot,ten,3,0.3,0.2,0.4"], ["'train_size'", "row 1"]),
    (["onehot,0,3,0.3,0.2,0.4"], ["'train_size'"]),
    (["onehot,10,3,1e308,0.2,0.4"], ["'kendall_tau_mean'"]),
    (["onehot,10,3,0.3,0.2,0.4", "onehot,10,3,0.3,0.2,0.4"], ["repeats train size 10"]),
])
def test_report_predictor_section_notes_a_damaged_summary(tmp_path, rows, words):
    results = tmp_path / "results"
    results.mkdir()
    _trials(results / "p.csv")
    (results / "p.summary.csv").write_text("\n".join([SUMMARY_HEADER, *rows]) + "\n")
    page = tmp_path / "REPORT.md"
    result = _invoke(["report", results, "--out", page, "--no-figures", "--quiet"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    text = page.read_text()
    note = next(line for line in text.splitlines() if "p.summary.csv skipped" in line)
    for word in words:
        assert word in note, note


def test_report_keeps_nul_bytes_and_long_names_off_the_page(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "damaged.csv").write_bytes(b"a\x00b,c\n1,2\n")
    (results / "long.csv").write_text("x" * 5000 + ",y\n1,2\n")
    page = tmp_path / "REPORT.md"
    result = _invoke(["report", results, "--out", page, "--no-figures", "--quiet"])
    assert result.exit_code == 0, result.output
    text = page.read_bytes()
    assert b"\x00" not in text
    assert b"damaged.csv`: empty or unreadable" in text
    assert max(len(line) for line in text.splitlines()) < 300


# --- the NB201 listing and the restore script ---------------------------------------------------------
def test_nb201_listing_linked_to_dev_zero_is_one_error(tmp_path):
    from nasbench_cli.spaces.nb201 import NB201Space

    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "ground_truth.csv").symlink_to("/dev/zero")
    with pytest.raises(DataCorruptError, match="a device, not a regular file"):
        NB201Space(tmp_path)


def _restore(results: Path) -> subprocess.CompletedProcess:
    """The script's main() in this process (as `python scripts/restore_score_csvs.py RESULTS`)."""
    import contextlib
    import importlib.util
    import io

    spec = importlib.util.spec_from_file_location("restore_score_csvs", ROOT / "scripts" / "restore_score_csvs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = module.main([str(results)])
    return subprocess.CompletedProcess(["restore_score_csvs.py"], code, "", stderr.getvalue())


def _committed_pair(results: Path, rows: Sequence[str], record: object = None, header: str = "index,naswot") -> Path:
    results.mkdir(parents=True, exist_ok=True)
    (results / "t-scores.csv").write_text("\n".join([header, *rows]) + "\n")
    sidecar = results / "t.csv.provenance.json"
    record = {"tool": "nasbench", "arguments": {"space": "nb201", "dataset": "cifar10"}} if record is None else record
    sidecar.write_text(record if isinstance(record, str) else json.dumps(record))
    return results / "t.csv"


@pytest.mark.parametrize("rows, record, words", [
    (["-1,1.5"], None, ["t-scores.csv", "'index'", "row 1", "'-1'"]),
    (["15625,1.5"], None, ["'index'", "0..15624"]),
    (["0,1.5", "1,abc"], None, ["t-scores.csv", "'naswot'", "row 2", "'abc'"]),
    (["0,1.5", "1,2.5,9"], None, ["t-scores.csv", "line 3 has 3 cells"]),
    (["0,1.5"], "[" * 100_000 + "]" * 100_000, ["t.csv.provenance.json", "nested too deeply"]),
    (["0,1.5"], "[1, 2]", ["t.csv.provenance.json", "not a JSON object"]),
    (["0,1.5"], {"tool": "nasbench", "arguments": {"space": "x" * 200_000}}, ["arguments.space", "characters"]),
    (["0,1.5"], {"tool": "nasbench"}, ["no 'arguments'"]),
], ids=["negative-index", "index-range", "text-score", "ragged", "deep-sidecar", "list-sidecar", "long-field",
        "no-arguments"])
def test_restore_script_checks_what_it_reads(tmp_path, rows, record, words):
    full = _committed_pair(tmp_path / "results", rows, record)
    done = _restore(tmp_path / "results")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and len(lines[0]) < 400, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not full.exists()


def test_restore_script_special_files_missing_folder_and_a_good_pair(tmp_path):
    missing = _restore(tmp_path / "nowhere")
    assert missing.returncode == 1 and "no such results folder" in missing.stderr
    results = tmp_path / "results"
    full = _committed_pair(results, ["0,1.5", "5,2.5"])
    os.mkfifo(results / "u-scores.csv")
    (results / "u.csv.provenance.json").write_text(json.dumps({"tool": "nasbench", "arguments": {"space": "nb201"}}))
    done = _restore(results)
    assert done.returncode == 1 and "FIFO" in done.stderr and "Traceback" not in done.stderr
    (results / "u-scores.csv").unlink()
    (results / "u.csv.provenance.json").unlink()
    done = _restore(results)
    assert done.returncode == 0, done.stderr
    lines = full.read_text().splitlines()
    assert lines[0].startswith("index,arch,naswot,") and len(lines) == 3 and lines[2].startswith("5,|")


# --- the default-output guard -------------------------------------------------------------------------
def _sidecar(output: Path, record: object) -> None:
    output.write_text("x\n")
    Path(f"{output}.provenance.json").write_text(json.dumps(record))


ARGS = {"proxy": "params", "n": 2, "seed": 0, "quiet": True, "workers": 1}


@pytest.mark.parametrize("record, words", [
    ({"tool": "nasbench", "arguments": {}}, ["proxy not recorded there"]),
    ({"tool": "nasbench", "arguments": {"quiet": True, "workers": 4}}, ["not recorded there"]),
    ({"arguments": {"proxy": "params", "n": 2, "seed": 0}}, ["no nasbench provenance record"]),
    ({"tool": "nasbench", "arguments": dict(ARGS), "invocation": invocation("search", ARGS)},
     ["another command", "'search'"]),
    ({"tool": "nasbench", "arguments": dict(ARGS), "invocation": invocation("score", {**ARGS, "budget": "30q"})},
     ["budget", "not in this run"]),
    ({"tool": "nasbench", "arguments": dict(ARGS), "invocation": invocation("score", {**ARGS, "n": 3})},
     ["n=3 there, 2 now"]),
])
def test_a_default_output_is_replaced_only_on_proof(tmp_path, record, words):
    output = tmp_path / "out.csv"
    _sidecar(output, record)
    with pytest.raises(UsageError) as err:
        guard_default_output(output, ARGS, "score")
    for word in words:
        assert word in str(err.value)


def test_the_same_command_and_arguments_prove_it(tmp_path):
    output = tmp_path / "out.csv"
    _sidecar(output, {"tool": "nasbench", "arguments": dict(ARGS),
                      "invocation": invocation("score", {**ARGS, "workers": 8, "quiet": False})})
    guard_default_output(output, ARGS, "score")  # run-only arguments may differ
    _sidecar(output, {"tool": "nasbench", "arguments": {**ARGS, "extra_workflow_field": 1}})
    guard_default_output(output, ARGS, "score")  # a record of before `invocation`: every argument there


def test_a_foreign_file_at_the_sidecar_name_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mine.csv"
    sidecar = tmp_path / "mine.csv.provenance.json"
    sidecar.write_text("my notes, not a record\n")
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "params", "--n", "2", "--quiet",
            "--data-dir", tmp_path, "--no-store", "--no-timing", "--out", out]
    _one_error(_invoke(args), 2, "mine.csv.provenance.json", "not a nasbench provenance record")
    assert sidecar.read_text() == "my notes, not a record\n" and not out.exists()
    sidecar.unlink()
    assert _invoke(args).exit_code == 0
    assert _invoke(args).exit_code == 0  # its own sidecar now: replaced
    assert json.loads(sidecar.read_text())["invocation"]["command"] == "score"


def test_search_summary_csv_is_guarded_like_the_output(tmp_path, monkeypatch):
    shared = ROOT.parent / "shared" / "data"
    if not (shared / "nb201" / "ground_truth.csv").is_file():
        pytest.skip("needs the shared NB201 ground truth")
    monkeypatch.chdir(tmp_path)
    args = ["search", "--algo", "random", "--space", "nb201", "--runs", "2", "--data-dir", shared, "--no-store",
            "--quiet", "--no-timing"]
    first = _invoke(args)
    assert first.exit_code == 0, first.output
    summary = next((tmp_path / "results").glob("*.summary.csv"))
    summary.write_text("a user's own file\n")
    Path(f"{summary}.provenance.json").unlink()
    _one_error(_invoke(args), 2, summary.name, "no nasbench provenance record")
    assert summary.read_text() == "a user's own file\n"


def test_plot_default_figure_is_guarded_and_has_a_record(tmp_path):
    pytest.importorskip("matplotlib")
    path = _trials(tmp_path / "p.csv")
    figure = tmp_path / "p.predict.png"
    figure.write_bytes(b"a user's picture")
    _one_error(_invoke(["plot", "predict", path, "--quiet"]), 2, "p.predict.png", "no nasbench provenance record")
    assert figure.read_bytes() == b"a user's picture"
    figure.unlink()
    assert _invoke(["plot", "predict", path, "--quiet"]).exit_code == 0
    assert _invoke(["plot", "predict", path, "--quiet"]).exit_code == 0  # its own figure: replaced
    record = json.loads(Path(f"{figure}.provenance.json").read_text())
    assert record["invocation"]["command"] == "plot"


# --- the store trusts nothing it did not write ---------------------------------------------------------
CTX = ScoreContext("nb201", "cifar10", "naswot", 128, 0, "one", "train", "1", data="d", code="c")


def _store(path: Path, count: int = 4) -> None:
    with ScoreStore(path) as store:
        store.put_many(CTX, [(i, i / 7, 0.5, None, f"arch{i}") for i in range(count)])


@pytest.mark.parametrize("edit", [
    "UPDATE scores SET value = 99.0 WHERE arch_index = 2",  # a plausible number: served before issue 33
    "UPDATE scores SET value = NULL WHERE arch_index = 2",
    "UPDATE scores SET arch = 'other' WHERE arch_index = 2",
    "UPDATE scores SET arch_index = 7 WHERE arch_index = 2",  # moved to another key
    "UPDATE scores SET checksum = NULL WHERE arch_index = 2",
])
def test_an_edited_row_is_recomputed_and_said_not_served(tmp_path, edit):
    path = tmp_path / "s.sqlite"
    _store(path)
    db = sqlite3.connect(path)
    db.execute(edit)
    db.commit()
    db.close()
    told: List[str] = []
    with ScoreStore(path, on_note=told.append) as store:
        found = store.get_many(CTX)
        assert sorted(found) == [0, 1, 3] and found[1].value == 1 / 7
        assert store.count(CTX) == 3
        store.put(CTX, 2, 2 / 7, arch="arch2")
        assert store.get(CTX, 2).value == 2 / 7
    assert len(told) == 1 and "did not match their checksum" in told[0] and str(path) in told[0]


def test_an_edited_context_serves_nothing(tmp_path):
    path = tmp_path / "s.sqlite"
    _store(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE contexts SET proxy = 'synflow'")  # the naswot scores relabelled as another proxy's
    db.commit()
    db.close()
    told: List[str] = []
    with ScoreStore(path, on_note=told.append) as store:
        assert store.get_many(ScoreContext(**{**CTX.__dict__, "proxy": "synflow"})) == {}
    assert told


@pytest.mark.parametrize("damage", [
    "ALTER TABLE scores RENAME COLUMN kind TO sort",
    "DROP TABLE scores",
    "ALTER TABLE contexts ADD COLUMN extra TEXT",
])
def test_a_store_whose_tables_differ_is_refused_before_any_write(tmp_path, damage):
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)  # a rollback-journal file that claims the current layout
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '4')")
    db.execute("CREATE TABLE contexts (id INTEGER PRIMARY KEY, space, dataset, proxy, batch_size, seed, head, "
               "split, code_version, proxy_version, options, data, code)")
    db.execute("CREATE TABLE scores (context, arch_index, arch, value, kind, seconds, error, device, created, "
               "checksum)")
    db.execute(damage)
    db.commit()
    db.close()
    before = _digest(path)
    with pytest.raises(DataCorruptError, match="not a score store; nothing was changed"):
        ScoreStore(path)
    assert _digest(path) == before
    assert not Path(f"{path}-wal").exists()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()


def test_a_store_of_layout_3_is_upgraded_and_its_rows_adopted(tmp_path):
    path = tmp_path / "s.sqlite"
    _store(path)
    db = sqlite3.connect(path)
    if sqlite3.sqlite_version_info < (3, 35):
        pytest.skip("SQLite without DROP COLUMN")
    db.execute("ALTER TABLE scores DROP COLUMN checksum")
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    db.commit()
    db.close()
    told: List[str] = []
    with ScoreStore(path, on_note=told.append) as store:
        assert [store.get(CTX, i).value for i in range(4)] == [i / 7 for i in range(4)]
        assert store._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "4"
    assert not told


def test_store_dash_is_refused_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "params", "--n", "2",
                      "--quiet", "--data-dir", tmp_path, "--store", "-", "--out", tmp_path / "o.csv"])
    _one_error(result, 2, "--store -", "not stdout")
    assert not (tmp_path / "-").exists()


def test_data_status_does_not_call_a_foreign_database_the_score_store(tmp_path):
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE songs (title TEXT)")
    db.commit()
    db.close()
    before = _digest(foreign)
    result = _invoke(["data", "status", "--data-dir", tmp_path, "--store", foreign])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Score store:"))
    assert "not a score store" in line and "songs" in line and "runs refuse it" in line
    as_json = json.loads(_invoke(["data", "status", "--data-dir", tmp_path, "--store", foreign, "--json"]).output)
    assert as_json["store"]["score_store"] is False
    assert _digest(foreign) == before


# --- the smaller ones ---------------------------------------------------------------------------------
def test_completion_with_a_non_numeric_comp_cword_is_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_NASBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "nasbench sc",
           "COMP_CWORD": "x"}
    done = subprocess.run([sys.executable, "-m", "nasbench_cli"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["Error: COMP_CWORD must be the number of the word to complete, not 'x'"]
    good = subprocess.run([sys.executable, "-m", "nasbench_cli"], capture_output=True, text=True,
                          env={**env, "COMP_CWORD": "1"}, timeout=120, cwd=tmp_path)
    assert good.returncode == 0 and "score" in good.stdout


def _score_csv(path: Path, n: int = 12) -> Path:
    rows = [f"{i},{(i * 7) % 5 + i / 10},{90 - (i * 3) % 7}" for i in range(n)]
    path.write_text("\n".join([f"index,naswot,{ACC}", *rows]) + "\n")
    return path


@pytest.mark.parametrize("column", ["index", "seconds"])
def test_correlate_refuses_an_id_or_timing_column_as_a_score(tmp_path, column):
    path = _score_csv(tmp_path / "s.csv")
    if column == "seconds":
        path.write_text("\n".join(line + ("," + ("seconds" if n == 0 else "0.5")) for n, line in
                                  enumerate(path.read_text().splitlines())) + "\n")
    _one_error(_invoke(["correlate", path, "--score", column, "--bootstrap", "0", "--out", tmp_path / "c.csv"]), 2,
               f"--score {column}", "id or timing column")
    assert not (tmp_path / "c.csv").exists()


def test_api_predict_refuses_a_compare_that_is_not_a_bool(tmp_path):
    import nasbench_cli.api as nb

    with pytest.raises(UsageError, match="compare must be True or False, not 'no'"):
        nb.predict("nb201", "naswot", scores=str(_score_csv(tmp_path / "s.csv")), compare="no", data_dir=tmp_path)


def test_a_nats_run_of_zero_epochs_is_an_error_not_blank_accuracies():
    from types import SimpleNamespace

    from nasbench_cli.groundtruth.convert import _epochs, _mean_final_accuracy

    with pytest.raises(DataCorruptError, match="schedule '0' has no epoch"):
        _epochs("0", "rec.pickle.pbz2")

    def official_getter_fails(*_args, **_kwargs):
        raise KeyError("ori-test@-1")

    results = SimpleNamespace(get_metrics=official_getter_fails, dataset_seed={"cifar10": [777]},
                              all_results={("cifar10", 777): SimpleNamespace(epochs=0, eval_acc1es={})})
    with pytest.raises(ValueError, match="a run of 0 epochs on cifar10"):  # record_row: one DataCorruptError line
        _mean_final_accuracy(results, "cifar10", "ori-test")


def test_predict_error_quotes_a_huge_cell_in_a_few_words_and_a_fifo_is_not_missing(tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text(f"index,naswot\n{'9' * 100_000}x,1.5\n1,2.5\n")  # (a 300 kB cell: the CSV field limit)
    args = ["predict", "--space", "nb201", "--features", "naswot", "--data-dir", tmp_path, "--quiet",
            "--out", tmp_path / "p.csv"]
    line = _one_error(_invoke([*args, "--scores", huge]), 1, "huge.csv", "100003 characters")
    assert len(line) < 500
    huge.write_text(f"index,naswot\n{'9' * 300_000}x,1.5\n1,2.5\n")
    line = _one_error(_invoke([*args, "--scores", huge]), 1, "huge.csv", "field larger than field limit")
    assert len(line) < 500
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    line = _one_error(_invoke([*args, "--scores", fifo]), 1, "fifo.csv", "a FIFO, not a regular file")
    assert "not found" not in line
