"""`nasbench store list|export|remove` (issue 31 item 11): what the store holds, one proxy's
scores as a CSV, removal of one proxy's scores with nothing else touched; the runs' store rule."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.store import ScoreContext, ScoreStore


def _context(proxy: str, dataset: str = "cifar10", seed: int = 0) -> ScoreContext:
    return ScoreContext("nb201", dataset, proxy, 64, seed, "dataset", "train", "0.1.0", code="c0ffee")


NASWOT_0 = [(0, 1500.5, 0.4, None, "|a|"), (3, -math.inf, 0.5, None, "|b|"), (7, float("nan"), 0.1, "boom", "|c|")]
NASWOT_1 = [(0, 1499.25, 0.4, None, "|a|")]
SYNFLOW = [(i, 1e40 * (i + 1), None, None, None) for i in range(5)]


@pytest.fixture()
def store(tmp_path) -> Path:
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as opened:
        opened.put_many(_context("naswot"), NASWOT_0)
        opened.put_many(_context("naswot", seed=1), NASWOT_1)
        opened.put_many(_context("synflow", dataset="cifar100"), SYNFLOW)
    return path


def _run(*args: str, **kwargs):
    return CliRunner().invoke(main, ["store", *args], **kwargs)


def test_list_says_what_the_store_holds(store):
    listed = _run("list", "--store", str(store))
    assert listed.exit_code == 0, listed.output
    assert "9 scores under 3 keys" in listed.output
    rows = [line.split() for line in listed.output.splitlines()[2:4]]
    assert rows == [["nb201", "cifar10", "naswot", "4", "2", "0,1"], ["nb201", "cifar100", "synflow", "5", "1", "0"]]
    record = json.loads(_run("list", "--store", str(store), "--json").output)
    assert record["origin"] == "--store" and record["path"] == str(store)
    assert [(g["proxy"], g["scores"], g["keys"]) for g in record["groups"]] == [("naswot", 4, 2), ("synflow", 5, 1)]
    narrowed = json.loads(_run("list", "--store", str(store), "--json", "--proxy", "synflow").output)
    assert [g["proxy"] for g in narrowed["groups"]] == ["synflow"]


def test_export_writes_one_proxy_s_scores(store, tmp_path):
    out = tmp_path / "naswot.csv"
    done = _run("export", "naswot", "--store", str(store), "--out", str(out))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4  # both seeds
    assert list(rows[0])[-5:] == ["index", "arch", "naswot", "seconds", "error"]
    seed0 = [r for r in rows if r["seed"] == "0"]
    assert [(r["index"], r["naswot"], r["error"]) for r in seed0] == [("0", "1500.5", ""), ("3", "-inf", ""),
                                                                       ("7", "", "boom")]
    assert all(r["dataset"] == "cifar10" and r["code"] == "c0ffee" for r in rows)
    assert "2 keys of naswot" in done.output  # the rows of two seeds are told apart by their key
    one_seed = _run("export", "naswot", "--store", str(store), "--seed", "1")  # stdout by default
    assert one_seed.exit_code == 0
    lines = one_seed.output.strip().splitlines()
    assert len(lines) == 2 and lines[1].split(",")[-3:-1] == ["1499.25", "0.4"]
    again = tmp_path / "again.csv"
    _run("export", "naswot", "--store", str(store), "--out", str(again))
    assert again.read_bytes() == out.read_bytes()  # the same store gives the same file
    synflow = list(csv.DictReader(io.StringIO(_run("export", "synflow", "--store", str(store)).output)))
    assert [float(r["synflow"]) for r in synflow] == [1e40 * (i + 1) for i in range(5)]


def test_export_of_a_proxy_the_store_lacks_is_one_line(store):
    done = _run("export", "zico", "--store", str(store))
    assert done.exit_code != 0
    assert done.output.strip().count("\n") == 0
    assert "no scores for proxy=zico" in done.output and "naswot, synflow" in done.output


def test_remove_drops_one_proxy_and_touches_nothing_else(store):
    with ScoreStore(store) as opened:
        before = {c: opened.get_many(c) for c, _ in opened.contexts() if c.proxy == "naswot"}
    refused = _run("remove", "synflow", "--store", str(store), input="n\n")
    assert refused.exit_code != 0
    assert "Remove 5 scores of proxy=synflow (1 keys)" in refused.output
    with ScoreStore(store) as opened:
        assert opened.count() == 9  # nothing removed without a yes
    done = _run("remove", "synflow", "--store", str(store), "--yes")
    assert done.exit_code == 0, done.output
    assert "removed 5 scores (1 keys) of proxy=synflow" in done.output
    with ScoreStore(store) as opened:
        assert {c.proxy for c, _ in opened.contexts()} == {"naswot"}  # its keys are gone too
        after = {c: opened.get_many(c) for c, _ in opened.contexts()}
    assert set(after) == set(before)
    for context, scores in before.items():
        assert set(after[context]) == set(scores)
        for index, score in scores.items():
            kept = after[context][index]
            assert (kept.seconds, kept.error, kept.arch) == (score.seconds, score.error, score.arch)
            assert kept.value == score.value or (math.isnan(kept.value) and math.isnan(score.value))
    narrowed = _run("remove", "naswot", "--store", str(store), "--seed", "1", "--yes")
    assert narrowed.exit_code == 0
    with ScoreStore(store) as opened:
        assert [(c.seed, n) for c, n in opened.contexts()] == [(0, 3)]


def test_a_foreign_sqlite_file_is_refused_and_left_unchanged(tmp_path):
    foreign = tmp_path / "app.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    digest = hashlib.sha256(foreign.read_bytes()).hexdigest()
    for args in (["list"], ["export", "naswot"], ["remove", "naswot", "--yes"]):
        done = _run(*args, "--store", str(foreign))
        assert done.exit_code != 0
        assert "not a score store" in done.output and "Traceback" not in done.output
        assert done.output.strip().count("\n") == 0
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == digest


def test_the_store_is_found_as_runs_find_it_and_never_created(store, tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_STORE", str(store))
    record = json.loads(_run("list", "--json").output)
    assert record["origin"] == "$NASBENCH_STORE" and record["path"] == str(store)
    monkeypatch.delenv("NASBENCH_STORE")
    # an empty user cache of this test's own: runs earlier in the suite may fill the suite's one
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    done = _run("list")
    assert done.exit_code != 0 and "no score store at" in done.output and "(user cache)" in done.output
    missing = tmp_path / "none.sqlite"
    assert _run("list", "--store", str(missing)).exit_code != 0
    assert not missing.exists()
