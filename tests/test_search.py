"""Search algorithms, budgets and `nasbench search` (toy space, or NB201 truth with fake stored scores)."""

from __future__ import annotations

import json
import math
from typing import List

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.commands.search import search
from nasbench_cli.errors import DataMissingError, UnknownNameError, UsageError
from nasbench_cli.search import ALGORITHMS, Benchmark, SearchOptions, SearchProblem, parse_budget, resolve_budget
from nasbench_cli.search import area, naswot
from nasbench_cli.search.base import archs_to_score, run_generator, run_search, summarise
from nasbench_cli.search.budget import QUERIES, SECONDS, Budget, BudgetMeter
from nasbench_cli.spaces.base import SearchSpace

OPS, EDGES = 5, 3


class ToySpace(SearchSpace):
    """5**edges architectures: ``edges`` edges x 5 operations, index = base-5 digits; no networks."""

    name = "toy"

    def __init__(self, edges: int = EDGES):
        super().__init__(None)
        self.edges = edges

    def __len__(self) -> int:
        return OPS ** self.edges

    def digits(self, index: int) -> List[int]:
        return [(index // OPS ** k) % OPS for k in range(self.edges)]

    def arch_str(self, index: int) -> str:
        return "-".join(map(str, self.digits(index)))

    def index_of(self, text: str) -> int:
        return sum(int(d) * OPS ** k for k, d in enumerate(text.split("-")))

    def build(self, index, num_classes, bn=True, **options):
        raise NotImplementedError("the toy space has no networks")

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        digits = self.digits(index)
        edge = int(rng.integers(self.edges))
        digits[edge] = [d for d in range(OPS) if d != digits[edge]][int(rng.integers(OPS - 1))]
        return sum(d * OPS ** k for k, d in enumerate(digits))


class ArrayScores:
    """A ScoreSource over a fixed array (max direction)."""

    def __init__(self, values: np.ndarray):
        self.values = values
        self.calls: List[List[int]] = []

    def rank_values(self, indices):
        self.calls.append(list(indices))
        v = self.values[np.asarray(indices)]
        return np.where(np.isnan(v), -np.inf, v)

    def cost(self, indices):
        return 0.5 * len(indices)


def toy_problem(edges: int = EDGES, **options) -> SearchProblem:
    space = ToySpace(edges)
    # fitness rises with the digit sum: the best architecture is all 4s (the last index)
    fitness = np.array([10.0 * sum(space.digits(i)) for i in range(len(space))])
    times = np.array([10.0 + (i % 7) for i in range(len(space))])
    rng = np.random.default_rng(1)
    scores = ArrayScores(fitness + rng.normal(0, 15, len(space)))
    return SearchProblem(space, Benchmark(len(space), fitness, "fit", times, "time"), SearchOptions(**options),
                         scores)


# --- budgets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, amount, unit", [
    ("12000s", 12000.0, SECONDS), ("500q", 500.0, QUERIES), ("1.5e4s", 15000.0, SECONDS), (" 20q ", 20.0, QUERIES),
])
def test_budget_parsing(text, amount, unit):
    assert parse_budget(text) == Budget(amount, unit)


@pytest.mark.parametrize("bad", ["", "12000", "500x", "0q", "1.5q", "-5s", "0s", "q", "12000 seconds"])
def test_bad_budgets_are_usage_errors(bad):
    with pytest.raises(UsageError):
        parse_budget(bad)


def test_seconds_budget_falls_back_to_queries_without_times():
    budget, note = resolve_budget(Budget(12000.0, SECONDS), has_times=False, time_column="x/train_time@12")
    assert budget.unit == QUERIES and budget.amount == 120 and "x/train_time@12" in note
    assert resolve_budget(Budget(12000.0, SECONDS), True, "t") == (Budget(12000.0, SECONDS), None)
    assert resolve_budget(Budget(50.0, QUERIES), False, "t") == (Budget(50.0, QUERIES), None)


def test_meter_never_overruns_a_seconds_budget():
    meter = BudgetMeter(Budget(25.0, SECONDS), np.array([10.0, 20.0]))
    assert meter.allows(0)
    meter.charge(0)
    assert meter.allows(0) and not meter.allows(1)  # 10 + 20 > 25
    meter.charge(0)
    assert (meter.queries, meter.seconds) == (2, 20.0) and not meter.allows(0)


# --- algorithms on the toy space ------------------------------------------------------------------

def test_registry_names():
    assert ALGORITHMS.names() == ["area", "naswot", "random", "rea"]
    with pytest.raises(UnknownNameError, match="area, naswot, random, rea"):
        ALGORITHMS.get("bohb")


@pytest.mark.parametrize("replace", [True, False])
def test_naswot_returns_the_best_score_of_its_sample(replace):
    problem = toy_problem(n=12, replace=replace)
    problem.scores.values[::3] = np.nan  # failures rank last
    problem.scores.values[1::3] = -np.inf
    for run in range(20):
        sample = naswot.sample_archs(problem, run_generator(7, run))
        result = ALGORITHMS.get("naswot").run(problem, run_generator(7, run))
        finite = [i for i in sample if math.isfinite(problem.scores.values[i])]
        assert result.index in sample and result.scored == 12
        if finite:
            assert result.index == max(finite, key=lambda i: problem.scores.values[i])
        if not replace:
            assert len(set(sample)) == 12


def test_naswot_with_replacement_repeats_archs():
    problem = toy_problem(n=100, replace=True)
    sample = naswot.sample_archs(problem, run_generator(0, 0))
    assert len(set(sample)) < 100  # 100 draws from 125 with replacement almost surely repeat


def test_all_failed_scores_pick_the_first_drawn():
    problem = toy_problem(n=5)
    problem.scores.values[:] = np.nan
    sample = naswot.sample_archs(problem, run_generator(3, 0))
    assert ALGORITHMS.get("naswot").run(problem, run_generator(3, 0)).index == sample[0]


def test_rea_beats_random_and_spends_its_query_budget():
    problem = toy_problem(edges=6, budget=Budget(60.0, QUERIES))  # 15,625 archs, like NB201
    rea = run_search(ALGORITHMS.get("rea"), problem, 0, range(40))
    rnd = run_search(ALGORITHMS.get("random"), problem, 0, range(40))
    fit = problem.benchmark.fitness
    rea_fit = [fit[r.result.index] for r in rea]
    assert np.mean(rea_fit) > np.mean([fit[r.result.index] for r in rnd]) + 20
    # evolution, not luck: better than the best of as many uniform queries
    best_of_60 = [fit[problem.space.sample(np.random.default_rng(k), 60, replace=True)].max() for k in range(40)]
    assert np.mean(rea_fit) > np.mean(best_of_60)
    assert all(r.result.queries == 60 for r in rea)
    assert all(r.result.fitness == fit[r.result.index] for r in rea)


def test_rea_under_a_seconds_budget_stops_before_overrunning():
    problem = toy_problem(budget=Budget(400.0, SECONDS))
    for timed in run_search(ALGORITHMS.get("rea"), problem, 1, range(10)):
        res = timed.result
        assert 400.0 - 16.0 < res.simulated_seconds <= 400.0  # the next query (10..16 s) would not fit
        assert res.queries >= problem.options.population


def test_area_first_population_is_the_top_p_of_m_by_score():
    # budget = P queries: the search stops right after querying the first population
    problem = toy_problem(m=20, population=5, budget=Budget(5.0, QUERIES))
    fit = problem.benchmark.fitness
    for run in range(15):
        sample = area.sample_archs(problem, run_generator(2, run))
        ranked = sorted(range(len(sample)), key=lambda k: (-problem.scores.rank_values([sample[k]])[0], k))
        top = [sample[k] for k in ranked[:5]]
        result = ALGORITHMS.get("area").run(problem, run_generator(2, run))
        assert result.queries == 5 and result.scored == 20
        assert fit[result.index] == max(fit[i] for i in top) and result.index in top


def test_runs_do_not_depend_on_their_order_or_company():
    problem = toy_problem(n=10, budget=Budget(30.0, QUERIES))
    for name in ("random", "naswot", "rea", "area"):
        algo = ALGORITHMS.get(name)
        all_runs = run_search(algo, problem, 5, range(8))
        some = run_search(algo, problem, 5, [6, 3])
        assert [r.result.index for r in some] == [all_runs[6].result.index, all_runs[3].result.index]


def test_planned_archs_are_exactly_those_scored():
    problem = toy_problem(n=7, m=9, population=3, budget=Budget(10.0, QUERIES))
    for name in ("naswot", "area"):
        problem.scores.calls.clear()
        planned = archs_to_score(ALGORITHMS.get(name), problem, 4, range(6))
        problem.scores.calls.clear()
        run_search(ALGORITHMS.get(name), problem, 4, range(6))
        used = {i for call in problem.scores.calls for i in call}
        assert used == set(planned)


def test_summary_is_mean_and_population_std():
    rows = summarise({"a": [1.0, 2.0, 3.0, float("nan")], "b": []})
    assert rows[0]["runs"] == 3 and rows[0]["mean"] == 2.0 and rows[0]["std"] == pytest.approx(math.sqrt(2 / 3))
    assert rows[1]["runs"] == 0 and math.isnan(rows[1]["mean"])


# --- the command, on the real NB201 ground truth with fake stored scores ----------------------------


@pytest.fixture(scope="module")
def truth_frame(shared_data):
    return pd.read_csv(shared_data / "nb201" / "ground_truth.csv").set_index("arch_index")


@pytest.fixture
def fake_store(tmp_path, truth_frame, shared_data):
    """A store holding a fake NASWOT score (accuracy + noise) for every NB201 architecture, under
    the key a run on the shared data uses (it includes the batch's fingerprint)."""
    from nasbench_cli.options import RunConfig
    from nasbench_cli.session import ScoringSession
    from nasbench_cli.store import ScoreStore

    with ScoringSession(RunConfig("nb201", "cifar10", ("naswot",), data_dir=shared_data, no_store=True)) as session:
        context = session.engine.contexts["naswot"]
    values = truth_frame["cifar10-valid/x-valid@12"].to_numpy() + np.random.default_rng(0).normal(0, 5, len(truth_frame))
    values[::50] = -np.inf  # some singular kernels
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:
        store.put_many(context, [(i, float(values[i]), 0.5, None, truth_frame.loc[i, "arch"])
                                 for i in range(len(values))])
    return path, values


def invoke(args):
    return CliRunner().invoke(search, args)


def test_naswot_cli_uses_stored_scores(shared_data, tmp_path, fake_store, truth_frame):
    store, values = fake_store
    out = tmp_path / "nw.csv"
    args = ["--algo", "naswot", "--space", "nb201", "--runs", "30", "--n", "10", "--seed", "4",
            "--data-dir", str(shared_data), "--store", str(store), "--quiet", "--no-timing"]
    result = invoke([*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 30 and list(table["run"]) == list(range(30))
    from nasbench_cli.spaces import create_space

    space = create_space("nb201", shared_data)
    problem = SearchProblem(space, Benchmark(len(space), np.zeros(len(space)), ""), SearchOptions(n=10))
    for _, row in table.iterrows():
        sample = naswot.sample_archs(problem, run_generator(4, int(row["run"])))
        assert row["index"] == sample[int(np.argmax(np.where(np.isfinite(values[sample]), values[sample], -np.inf)))]
        assert row["arch"] == truth_frame.loc[row["index"], "arch"]
        assert row["cifar10/ori-test@200"] == pytest.approx(truth_frame.loc[row["index"], "cifar10/ori-test@200"])
        assert row["scored"] == 10 and row["queries"] == 0
    summary = pd.read_csv(tmp_path / "nw.summary.csv").set_index("column")
    for column in ("cifar10/ori-test@200", "cifar100/x-test@200", "ImageNet16-120/x-test@200"):
        assert summary.loc[column, "mean"] == pytest.approx(table[column].mean())
        assert summary.loc[column, "std"] == pytest.approx(table[column].std(ddof=0))
    record = json.loads((tmp_path / "nw.csv.provenance.json").read_text())
    assert record["scores_computed"] == 0 and record["scores_loaded"] == len(values)
    assert record["arguments"]["algo"] == "naswot" and record["seed"] == 4

    again = tmp_path / "again.csv"
    assert invoke([*args, "--out", str(again)]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()

    rnd = tmp_path / "rnd.csv"
    assert invoke([*args, "--algo", "random", "--out", str(rnd)]).exit_code == 0
    # the fake score tracks accuracy, so NASWOT beats random picks on average
    assert table["cifar10/ori-test@200"].mean() > pd.read_csv(rnd)["cifar10/ori-test@200"].mean()


def test_rea_and_area_cli_with_query_budget(shared_data, tmp_path, fake_store):
    store, _ = fake_store
    means = {}
    for algo in ("rea", "area", "random"):
        out = tmp_path / f"{algo}.csv"
        budget = ["--budget", "60q"] if algo != "random" else []  # random takes no budget
        result = invoke(["--algo", algo, "--space", "nb201", "--runs", "25", *budget,
                         "--data-dir", str(shared_data), "--store", str(store), "--out", str(out)])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out)
        means[algo] = table["cifar10-valid/x-valid@12"].mean()
        if algo != "random":
            assert (table["queries"] == 60).all()
            assert "cifar10/ori-test@200" in result.output  # the readable table on stdout
    assert means["rea"] > means["random"] + 5 and means["area"] > means["random"] + 5
    assert pd.read_csv(tmp_path / "area.csv")["scored"].eq(20).all()


def test_default_search_outputs_name_what_ran_and_never_replace_another_run(shared_data, tmp_path, fake_store,
                                                                           monkeypatch):
    """Runs that differ in --runs, --proxy, --m or the budget used get their own default files; a run
    differing only in an option the name leaves out is refused, not written over the first."""
    store, _ = fake_store
    monkeypatch.chdir(tmp_path)
    common = ["--space", "nb201", "--data-dir", str(shared_data), "--store", str(store), "--quiet", "--no-timing"]
    for extra in (["--algo", "random", "--runs", "3"], ["--algo", "random", "--runs", "4"],
                  ["--algo", "area", "--runs", "2", "--budget", "30q"],
                  ["--algo", "area", "--runs", "2", "--budget", "30q", "--m", "25"],
                  ["--algo", "rea", "--runs", "2"], ["--algo", "naswot", "--runs", "2", "--n", "5"]):
        result = invoke([*common, *extra])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "results").glob("*.csv") if ".summary" not in p.name)
    assert names == ["search-area-m20-30q-nb201-cifar10-runs2-seed0.csv",
                     "search-area-m25-30q-nb201-cifar10-runs2-seed0.csv",
                     "search-naswot-n5-nb201-cifar10-runs2-seed0.csv",
                     "search-random-nb201-cifar10-runs3-seed0.csv",
                     "search-random-nb201-cifar10-runs4-seed0.csv",
                     "search-rea-120q-nb201-cifar10-runs2-seed0.csv"]  # the budget used: 12000 s became queries
    first = (tmp_path / "results" / "search-area-m20-30q-nb201-cifar10-runs2-seed0.csv").read_bytes()
    other = CliRunner().invoke(main, ["search", *common, "--algo", "area", "--runs", "2", "--budget", "30q",
                                      "--population", "5"])
    assert other.exit_code == 2 and "population=10 there, 5 now" in other.output and "Traceback" not in other.output
    assert (tmp_path / "results" / "search-area-m20-30q-nb201-cifar10-runs2-seed0.csv").read_bytes() == first


def test_seconds_budget_without_times_says_it_falls_back(shared_data, tmp_path, fake_store):
    store, _ = fake_store
    out = tmp_path / "r.csv"
    result = invoke(["--algo", "rea", "--space", "nb201", "--runs", "3", "--budget", "3000s",
                     "--data-dir", str(shared_data), "--store", str(store), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "falls back to 30 queries" in result.output
    assert "budget 30 queries (3000 s asked; no training times)" in result.output  # the summary's title
    assert (pd.read_csv(out)["queries"] == 30).all()
    record = json.loads((tmp_path / "r.csv.provenance.json").read_text())
    assert record["budget"] == "30q" and record["notes"]
    assert record["budget_used"] == "30 queries (3000 s asked; no training times)"


def test_seconds_budget_with_train_times(shared_data, tmp_path, truth_frame):
    """A table with training times (as converted from an official archive) gives a simulated-time budget."""
    data = tmp_path / "data"
    (data / "nb201").mkdir(parents=True)
    frame = truth_frame.copy()
    frame["cifar10-valid/train_time@12"] = 50.0 + (frame.index.to_numpy() % 100)
    frame.reset_index().to_csv(data / "nb201" / "ground_truth.csv", index=False)
    out = tmp_path / "t.csv"
    result = invoke(["--algo", "rea", "--space", "nb201", "--runs", "5", "--budget", "3000s",
                     "--data-dir", str(data), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert ((table["simulated_seconds"] <= 3000) & (table["simulated_seconds"] > 3000 - 150)).all()
    assert table["queries"].between(3000 // 149, 3000 // 50).all()
    assert "falls back" not in result.output


def test_missing_scores_are_computed_once_on_synthetic_data(shared_data, tmp_path):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy shared CPU is far faster with one thread
    try:
        store = tmp_path / "s.sqlite"
        args = ["--algo", "naswot", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8",
                "--runs", "2", "--n", "2", "--data-dir", str(shared_data), "--store", str(store), "--quiet",
                "--no-timing"]
        first, second = tmp_path / "a.csv", tmp_path / "b.csv"
        assert invoke([*args, "--out", str(first)]).exit_code == 0
        assert invoke([*args, "--out", str(second)]).exit_code == 0
    finally:
        torch.set_num_threads(before)
    computed = json.loads((tmp_path / "a.csv.provenance.json").read_text())["scores_computed"]
    assert 1 <= computed <= 4
    assert json.loads((tmp_path / "b.csv.provenance.json").read_text())["scores_computed"] == 0
    assert first.read_bytes() == second.read_bytes()
    assert pd.read_csv(first)["score"].map(math.isfinite).all()


def test_unknown_algorithm_lists_valid_names(tmp_path):
    result = invoke(["--algo", "bohb", "--space", "nb201", "--data-dir", str(tmp_path)])
    assert isinstance(result.exception, UnknownNameError) and result.exception.exit_code == 2
    assert all(name in str(result.exception) for name in ("area", "naswot", "random", "rea"))


def test_unknown_algorithm_through_main_exits_2(tmp_path):
    from nasbench_cli.cli import main

    if "search" not in main.commands:
        pytest.skip("`search` is not registered in nasbench_cli/cli.py yet")
    result = CliRunner().invoke(main, ["search", "--algo", "bohb", "--space", "nb201", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "rea" in result.output and "Traceback" not in result.output


def test_missing_ground_truth_names_the_table_and_the_fix(tmp_path):
    # nb201 / nats-tss fall back to the embedded table; nats-sss has none
    result = invoke(["--algo", "random", "--space", "nats-sss", "--data-dir", str(tmp_path), "--quiet"])
    assert isinstance(result.exception, DataMissingError)
    assert str(tmp_path / "nats-sss" / "ground_truth.csv") in str(result.exception)
    assert "nasbench data convert" in str(result.exception)


@pytest.mark.parametrize("args, fragment", [
    (["--algo", "rea", "--budget", "12000"], "12000s"),
    (["--algo", "rea", "--fitness", "cifar10/bogus@12"], "cifar10/ori-test@200"),
    (["--algo", "area", "--m", "5"], "--m"),
    (["--algo", "naswot", "--runs", "0"], "--runs"),
    (["--algo", "random", "--budget", "60q"], "--budget"),
    (["--algo", "rea", "--budget", "5q"], "population"),
])
def test_bad_options_are_usage_errors(shared_data, tmp_path, args, fragment):
    result = invoke([*args, "--space", "nb201", "--data-dir", str(shared_data), "--store", str(tmp_path / "s.sqlite"),
                     "--quiet"])
    if isinstance(result.exception, UsageError):
        assert fragment in str(result.exception)
    else:  # rejected by Click's own option check (an IntRange)
        assert result.exit_code == 2 and fragment in result.output


def test_format_csv_prints_the_summary_csv_itself(shared_data, tmp_path):
    out = tmp_path / "r.csv"
    result = invoke(["--algo", "random", "--space", "nb201", "--runs", "4", "--data-dir", str(shared_data),
                     "--no-store", "--quiet", "--no-timing", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip().splitlines()
    assert printed == (tmp_path / "r.summary.csv").read_text().strip().splitlines()
