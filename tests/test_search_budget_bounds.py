"""REA/AREA budgets always end: bad ``--budget`` text, unusable training times, budgets above the space.

Everything runs on the toy space (tests/toy_space.py, 36 architectures) with tables written to
tmp_path; no shared data. Each CLI case checks the exit code, that the error is one line without a
traceback, its key words, and that the command finished (an alarm turns a hang into a failure).
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from click.testing import CliRunner

import toy_space
from nasbench_cli.cli import main
from nasbench_cli.errors import DataCorruptError, UsageError
from nasbench_cli.groundtruth import GroundTruth
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.search import ALGORITHMS, Benchmark, SearchOptions, SearchProblem, parse_budget
from nasbench_cli.search.base import run_generator
from nasbench_cli.search.budget import (HARD_BOUND_FACTOR, QUERIES, SECONDS, Budget, BudgetMeter,
                                        SearchBoundError, cap_budget, query_bound)
from toy_space import FITNESS, TIME, ToySpace, ground_truth_rows

SIZE = 36  # architectures of the toy space
ALL_TIMES = sum(row[TIME] for row in ground_truth_rows())  # 4656 s: training every toy net once
LIMIT_S = 60  # no case below needs more than a few seconds


@pytest.fixture(autouse=True)
def must_finish():
    """Fail (instead of hanging) a case that runs past LIMIT_S, and check it ended in time."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(LIMIT_S)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < LIMIT_S


def write_table(data_dir: Path, times: Dict[int, float] = None, default=None) -> Path:
    """The toy table with ``times[i]`` as architecture i's training time (``default`` for all others)."""
    rows = ground_truth_rows()
    for row in rows:
        if default is not None:
            row[TIME] = default
        if times and row["arch_index"] in times:
            row[TIME] = times[row["arch_index"]]
    return GroundTruth.from_rows(rows).write(Path(data_dir) / toy_space.TABLE)


def search(tmp_path: Path, *args, algo: str = "rea", budget: str = "1000s"):
    out = tmp_path / f"{algo}.csv"
    return CliRunner().invoke(main, [str(a) for a in [
        "search", "--algo", algo, "--space", "toy", "--dataset", "synthetic", "--runs", 3, "--budget", budget,
        "--no-store", "--no-timing", "--quiet", "--data-dir", tmp_path, "--out", out, *args]])


def assert_error(result, code: int, *words: str) -> str:
    """The command failed with ``code`` and one 'Error:' line holding ``words``; returns that line."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # reported, not crashed
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def rows(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- --budget text ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1e999q", "1e999s", "nan", "nans", "-5s", "-5q", "0", "0q", "0s", "12000",
                                  "abc", "0.001s", "0.5s", "1.5q", "inf", "infq", "12000 seconds", ""])
def test_bad_budget_text_is_one_line_exit_2_naming_the_accepted_form(tmp_path, text):
    write_table(tmp_path)
    line = assert_error(search(tmp_path, budget=text), 2, "--budget", "500q", "12000s")
    assert repr(text)[1:-1] in line or text.strip() in line
    with pytest.raises(UsageError):
        parse_budget(text)


def test_tiny_seconds_budget_is_refused_not_reported_as_one_query(tmp_path):
    write_table(tmp_path, default=math.nan)  # no times: seconds would fall back to queries
    line = assert_error(search(tmp_path, budget="0.001s"), 2, "0.001s", "at least 1")
    assert "1q" not in line


def test_seconds_falling_back_below_the_population_names_the_given_budget(tmp_path):
    write_table(tmp_path, default=math.nan)
    assert_error(search(tmp_path, budget="50s"), 2, "--budget 50s", "1q without training times", "population (10)")


def test_budget_text_round_trips_through_str():
    for budget in (Budget(12000.0, SECONDS), Budget(1.5e4, SECONDS), Budget(500.0, QUERIES),
                   Budget(1912345.25, SECONDS), Budget(0.1 + 12000.2, SECONDS)):
        assert parse_budget(str(budget)) == budget
    assert str(Budget(12000.0, SECONDS)) == "12000s" and str(Budget(1.5e4, SECONDS)) == "15000s"


# --- training times that cannot be a cost ------------------------------------------------------------

@pytest.mark.parametrize("bad, shown", [(math.nan, "nan"), (0.0, "0.0"), (-60.0, "-60.0"), (math.inf, "inf")])
@pytest.mark.parametrize("algo", ["rea", "area"])
def test_an_unusable_time_refuses_a_seconds_budget(tmp_path, bad, shown, algo):
    write_table(tmp_path, times={7: bad})
    arch = ToySpace().arch_str(7)
    assert_error(search(tmp_path, algo=algo, budget="1000s"), 1, TIME, "1 of 36", f"architecture 7 '{arch}'",
                 shown, "--budget Nq")
    assert not (tmp_path / f"{algo}.csv").exists()


def test_all_times_zero_used_to_loop_forever_and_now_is_an_error(tmp_path):
    write_table(tmp_path, default=0.0)
    assert_error(search(tmp_path, budget="12000s"), 1, TIME, "36 of 36", "positive and finite")


def test_a_partial_table_has_no_time_for_the_missing_architectures(tmp_path):
    toy_space.write_ground_truth(tmp_path, indices=list(range(0, SIZE, 2)))
    assert_error(search(tmp_path, budget="1000s"), 1, TIME, "18 of 36", "architecture 1 ")


def test_a_query_budget_still_works_with_unusable_times(tmp_path):
    write_table(tmp_path, times={3: math.nan, 4: 0.0, 5: -1.0})
    result = search(tmp_path, budget="20q")
    assert result.exit_code == 0, result.output
    assert all(r["queries"] == "20" for r in rows(tmp_path / "rea.csv"))


def test_no_times_at_all_still_falls_back_to_queries_with_a_note(tmp_path):
    write_table(tmp_path, default=math.nan)
    result = search(tmp_path, budget="2000s")
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "falls back to 20 queries" in result.output
    assert all(r["queries"] == "20" for r in rows(tmp_path / "rea.csv"))


def test_the_meter_itself_refuses_unusable_times():
    for bad in (math.nan, 0.0, -1.0, math.inf):
        with pytest.raises(DataCorruptError, match="architecture 1 "):
            BudgetMeter(Budget(100.0, SECONDS), np.array([5.0, bad, 5.0]))
    meter = BudgetMeter(Budget(3.0, QUERIES), np.array([5.0, math.nan]))  # queries: NaN reported as 0 s
    meter.charge(1)
    meter.charge(0)
    assert (meter.queries, meter.seconds) == (2, 5.0)


# --- budgets above the space are capped ---------------------------------------------------------------

def test_more_queries_than_architectures_are_capped_with_a_note(tmp_path):
    write_table(tmp_path)
    result = search(tmp_path, budget="1e20q")
    assert result.exit_code == 0, result.output
    assert "capped at 36q" in result.output and "36 architectures" in result.output
    table = rows(tmp_path / "rea.csv")
    assert all(int(r["queries"]) <= SIZE for r in table)
    record = json.loads(sidecar_path(tmp_path / "rea.csv").read_text())
    assert record["budget"] == "36q" and any("capped" in note for note in record["notes"])


def test_more_seconds_than_training_everything_are_capped_with_a_note(tmp_path):
    write_table(tmp_path)
    result = search(tmp_path, budget="1e15s")
    assert result.exit_code == 0, result.output
    assert f"capped at {ALL_TIMES:g}s" in result.output
    assert all(float(r["simulated_seconds"]) <= ALL_TIMES for r in rows(tmp_path / "rea.csv"))
    assert json.loads(sidecar_path(tmp_path / "rea.csv").read_text())["budget"] == f"{ALL_TIMES:g}s"


def test_a_budget_within_the_space_is_not_capped(tmp_path):
    write_table(tmp_path)
    result = search(tmp_path, budget="1000s")
    assert result.exit_code == 0, result.output
    assert "capped" not in result.output
    assert cap_budget(Budget(36.0, QUERIES), SIZE, 10) == (Budget(36.0, QUERIES), None)
    assert cap_budget(Budget(50.0, QUERIES), 5, 50) == (Budget(50.0, QUERIES), None)  # population > space
    capped, note = cap_budget(Budget(1e9, SECONDS), 2, 1, np.array([1.5, 2.0]))
    assert capped == Budget(3.5, SECONDS) and "capped at 3.5s" in note


# --- the hard bound: even a bug in the costs ends ------------------------------------------------------

def test_the_hard_bound_ends_a_run_whose_queries_cost_nothing():
    space = ToySpace()
    fitness = np.array([row[FITNESS] for row in ground_truth_rows()])
    problem = SearchProblem(space, Benchmark(SIZE, fitness, FITNESS, np.full(SIZE, 1e-9), TIME),
                            SearchOptions(budget=Budget(1e6, SECONDS)))  # API: no cap, ~1e15 queries affordable
    for name in ("rea", "area"):
        if name == "area":
            problem.scores = _ConstantScores()
        with pytest.raises(SearchBoundError, match=f"hard bound of {HARD_BOUND_FACTOR * SIZE} queries"):
            ALGORITHMS.get(name).run(problem, run_generator(0, 0))
    assert query_bound(SIZE, 10) == HARD_BOUND_FACTOR * SIZE and query_bound(5, 50) == HARD_BOUND_FACTOR * 50


@pytest.mark.parametrize("algo", ["rea", "area"])
def test_reintroducing_the_free_query_bug_still_ends(tmp_path, monkeypatch, algo):
    """The old meter charged 0 s for a bad time: with every query free the search stops at the bound."""
    write_table(tmp_path)
    monkeypatch.setattr(BudgetMeter, "cost", lambda self, index: 0.0)
    start = time.monotonic()
    assert_error(search(tmp_path, algo=algo, budget="1000s"), 1, "hard bound", str(HARD_BOUND_FACTOR * SIZE))
    assert time.monotonic() - start < 20


class _ConstantScores:
    """Every architecture scores the same (AREA keeps the first P drawn)."""

    def rank_values(self, indices):
        return np.zeros(len(indices))

    def cost(self, indices):
        return 0.0
