"""The Python API (nasbench_cli.api) gives the CLI's numbers: scores, correlations, searches, kernels."""

from __future__ import annotations

import math
import runpy
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import nasbench_cli
import nasbench_cli.api as nb
from nasbench_cli.analysis.correlation_table import DECIMALS, RESULT_COLUMNS
from nasbench_cli.cli import main
from nasbench_cli.errors import InvalidArchError, UnknownNameError, UsageError
from nasbench_cli.groundtruth import embedded_ground_truth
from nasbench_cli.output import format_float
from nasbench_cli.proxies.naswot import logdet
from nasbench_cli.selection import select_indices

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "score_correlate_plot.py"
# cheap scoring settings shared by the CLI and API runs compared below
PROXIES = "naswot,synflow,params"
SETTINGS = ["--space", "nb201", "--dataset", "synthetic", "--batch-size", "8"]


def _cli(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The same 4 architectures scored by `nasbench score` (CSV) and by nb.score (frame)."""
    tmp = tmp_path_factory.mktemp("scored")
    out = tmp / "cli.csv"
    _cli(["score", *SETTINGS, "--proxy", PROXIES, "--n", "4", "--seed", "3", "--no-store", "--no-timing",
          "--quiet", "--data-dir", str(tmp), "--out", str(out)])
    bench = nb.open_space("nb201", data_dir=tmp)
    frame = nb.score(bench, n=4, proxies=PROXIES, dataset="synthetic", seed=3, batch_size=8, store=False, quiet=True)
    return tmp, out, bench, frame


def test_open_space_indices_sampling_truth(tmp_path):
    bench = nb.open_space("nb201", data_dir=tmp_path)
    assert len(bench) == 15625 and bench.name == "nb201"
    for index in (0, 42, 15624):
        assert bench.index(bench.arch(index)) == index
    assert bench.index("42") == 42
    # the CLI's sampling, and deterministic
    assert bench.sample(7, seed=5) == select_indices(bench.raw, 5, 7) == bench.sample(7, seed=5)
    assert bench.sample(7, seed=6) != bench.sample(7, seed=5)
    table = embedded_ground_truth()
    assert bench.truth(11) == table.accuracies(11)
    assert bench.truth(bench.arch(11)) == table.accuracies(11)
    frame = bench.truth_frame()
    assert len(frame) == 15625 and frame.loc[11, "cifar10/ori-test@200"] == table.accuracies(11)["cifar10/ori-test@200"]
    with pytest.raises(InvalidArchError):
        bench.arch(15625)
    with pytest.raises(UnknownNameError):
        nb.open_space("nope", data_dir=tmp_path)


def test_build_seeds_like_the_scorer_and_uses_the_dataset_classes(tmp_path):
    bench = nb.open_space("nb201", data_dir=tmp_path)
    first, second = bench.build(7, seed=1), bench.build(7, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    other = bench.build(7, seed=2)
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))
    with torch.no_grad():
        assert bench.build(7, dataset="cifar100")(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
        assert bench.build(7, num_classes=1)(torch.zeros(2, 3, 32, 32)).shape == (2, 1)
    with pytest.raises(UsageError, match="no build option"):
        bench.build(7, width=3)


def test_score_frame_equals_the_cli_csv(scored):
    tmp, out, bench, frame = scored
    cli = pd.read_csv(out)
    pd.testing.assert_frame_equal(frame, cli)
    assert list(frame.columns[:5]) == ["index", "arch", "naswot", "synflow", "params"]
    assert np.isfinite(frame["naswot"]).all() and (frame["synflow"] > 0).all()
    import json

    sidecar = json.loads((tmp / "cli.csv.provenance.json").read_text())
    assert frame.attrs["columns"] == sidecar["columns"]
    # the same architectures named by their strings give the same rows
    again = nb.score(bench, archs=list(frame["arch"]), proxies=PROXIES, dataset="synthetic", seed=3, batch_size=8,
                     store=False, quiet=True)
    pd.testing.assert_frame_equal(again, frame)


def test_store_is_shared_with_the_cli(tmp_path):
    store = tmp_path / "scores.sqlite"
    args = [*SETTINGS, "--proxy", "params", "--n", "2", "--seed", "0", "--no-timing",
            "--data-dir", str(tmp_path), "--store", str(store)]
    frame = nb.score("nb201", n=2, proxies="params", dataset="synthetic", seed=0, batch_size=8, store=store,
                     data_dir=tmp_path, quiet=True)
    result = _cli(["score", *args, "--out", str(tmp_path / "s.csv")])
    assert "(2 from the store)" in result.output
    pd.testing.assert_frame_equal(frame, pd.read_csv(tmp_path / "s.csv"))


def test_the_api_honours_nasbench_store_and_takes_seeds_like_the_cli(tmp_path, monkeypatch):
    store = tmp_path / "env.sqlite"
    monkeypatch.setenv("NASBENCH_STORE", str(store))
    frame = nb.score("nb201", n=2, proxies="params,naswot", dataset="synthetic", seed=0, batch_size=8,
                     data_dir=tmp_path, quiet=True, seeds=[0, 1])
    assert store.is_file() and not (tmp_path / "scores.sqlite").exists()  # the store NASBENCH_STORE names
    result = _cli(["score", *SETTINGS, "--proxy", "params,naswot", "--n", "2", "--seed", "0", "--seeds", "0,1",
                   "--no-timing", "--data-dir", str(tmp_path), "--out", str(tmp_path / "s.csv")])
    assert "(2 from the store)" in result.output  # the CLI found the API's scores there
    pd.testing.assert_frame_equal(frame, pd.read_csv(tmp_path / "s.csv"))
    assert {"naswot@seed0", "naswot@seed1", "naswot:std"} <= set(frame.columns)
    with pytest.raises(UsageError, match="--seeds"):
        nb.score("nb201", n=2, proxies="params", dataset="synthetic", data_dir=tmp_path, seeds=[3, 3])


NO_GUARD = """import nasbench_cli.api as nb
frame = nb.score(nb.open_space("nb201", data_dir={data!r}), n=8, proxies="params,naswot", dataset="synthetic",
                 seed=0, batch_size=8, store=False, executor="local", workers=2, quiet=True)
frame.to_csv({out!r}, index=False)
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_script_without_a_main_guard_scores_with_worker_processes(tmp_path, how):
    """Spawned workers must not re-run the caller's script (no `if __name__ == "__main__":`)."""
    import subprocess
    import sys

    out = tmp_path / "out.csv"
    script = tmp_path / "score_script.py"
    script.write_text(NO_GUARD.format(data=str(tmp_path), out=str(out)))
    argv = [sys.executable, str(script)] if how == "file" else [sys.executable, "-"]
    done = subprocess.run(argv, input=None if how == "file" else script.read_text(), capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = nb.score(nb.open_space("nb201", data_dir=tmp_path), n=8, proxies="params,naswot",
                        dataset="synthetic", seed=0, batch_size=8, store=False, executor="sequential", quiet=True)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)


def test_correlate_equals_the_cli(scored):
    tmp, out, bench, frame = scored
    corr_out = tmp / "cli.correlation.csv"
    _cli(["correlate", str(out), "--bootstrap", "50", "--seed", "2", "--target", "cifar10/ori-test@200",
          "--ensemble", "naswot,synflow", "--out", str(corr_out)])
    cli = pd.read_csv(corr_out, dtype=str, keep_default_na=False)
    for result in (nb.correlate(frame, target="cifar10/ori-test@200", bootstrap=50, seed=2,
                                ensembles=[("naswot", "synflow")]),
                   nb.correlate(out, target="cifar10/ori-test@200", bootstrap=50, seed=2,
                                ensembles=["naswot,synflow"])):
        assert list(result.columns) == list(RESULT_COLUMNS)
        assert list(result["score"]) == list(cli["score"])
        assert list(result["n"]) == [int(v) for v in cli["n"]]
        for column in RESULT_COLUMNS[3:10]:
            assert [format_float(v, decimals=DECIMALS, nan="") for v in result[column]] == list(cli[column]), column


def test_score_module_applies_the_proxy_conditions(scored):
    tmp, _, bench, frame = scored
    index = int(frame["index"][1])
    common = dict(dataset="synthetic", seed=3, data_dir=tmp, arch_index=index)
    # NASWOT: a 1-unit head and BN, as its authors; batch 8 as the run above
    naswot_net = bench.build(index, num_classes=1, seed=3)
    assert nb.score_module(naswot_net, "naswot", batch_size=8, **common) == frame["naswot"][1]
    # synflow: no BN, float64 applied by score_module (the caller's model stays float32)
    synflow_net = bench.build(index, dataset="synthetic", bn=False, seed=3)
    assert nb.score_module(synflow_net, "synflow", batch_size=8, **common) == frame["synflow"][1]
    assert next(synflow_net.parameters()).dtype == torch.float32
    with_bn = bench.build(index, dataset="synthetic", seed=3)
    assert nb.score_module(with_bn, "params") == frame["params"][1]  # data-free: no batch needed
    with pytest.warns(UserWarning, match="without BatchNorm"):
        nb.score_module(with_bn, "synflow", batch_size=8, **common)
    with pytest.warns(UserWarning, match="fewer than the 128"):
        nb.score_module(naswot_net, "naswot", batch=torch.randn(16, 3, 32, 32))
    with pytest.raises(UsageError, match="reads data"):
        nb.score_module(naswot_net, "naswot")


def test_naswot_kernels_are_the_scored_ones(scored):
    tmp, _, bench, frame = scored
    indices = [int(i) for i in frame["index"][:2]]
    kernels = nb.naswot_kernels(bench, indices, dataset="synthetic", seed=3, batch_size=8)
    assert list(kernels) == indices
    for row, index in enumerate(indices):
        kernel = kernels[index]
        assert kernel.shape == (8, 8) and np.array_equal(kernel, kernel.T)
        assert np.all(np.diag(kernel) == kernel.max())  # N_A on the diagonal
        assert logdet(kernel) == frame["naswot"][row]


def test_search_frame_equals_the_cli_csv(tmp_path):
    for algo, extra in (("random", {}), ("naswot", {"n": 3})):
        out = tmp_path / f"{algo}.csv"
        # sequential: 9 networks are not worth starting worker processes (the values do not depend on it)
        args = ["search", "--algo", algo, *SETTINGS, "--runs", "3", "--seed", "4", "--no-store", "--no-timing",
                "--quiet", "--executor", "sequential", "--data-dir", str(tmp_path), "--out", str(out)]
        _cli(args + (["--n", "3"] if extra else []))
        frame = nb.search("nb201", algo=algo, runs=3, seed=4, dataset="synthetic", batch_size=8, store=False,
                          data_dir=tmp_path, executor="sequential", **extra)
        pd.testing.assert_frame_equal(frame, pd.read_csv(out))
        summary = pd.read_csv(tmp_path / f"{algo}.summary.csv")
        assert isinstance(frame.attrs["summary"], pd.DataFrame)  # the same type as predict's summary
        assert list(frame.attrs["summary"]["column"]) == list(summary["column"])
        assert list(frame.attrs["summary"]["mean"]) == pytest.approx(list(summary["mean"]), rel=1e-12)
    assert frame["score"].notna().all() and (frame["scored"] == 3).all()
    with pytest.raises(UsageError, match="--budget applies to"):
        nb.search("nb201", algo="random", runs=1, budget="10q", data_dir=tmp_path)


def test_package_re_exports_the_api():
    for name in ("open_space", "score", "score_module", "correlate", "naswot_kernels", "Space"):
        assert getattr(nasbench_cli, name) is getattr(nb, name)
    assert nasbench_cli.api is nb and nb.figures is nasbench_cli.figures
    assert nasbench_cli.figures.__name__ == "nasbench_cli.analysis.figures"


def test_bad_api_arguments_are_clear(tmp_path):
    with pytest.raises(TypeError, match="unknown option"):
        nb.score("nb201", n=2, data_dir=tmp_path, batchsize=8)
    with pytest.raises(UsageError, match="archs or n"):
        nb.score("nb201", archs=[1], n=2, data_dir=tmp_path)
    with pytest.raises(UsageError, match="head"):
        nb.score("nb201", n=2, data_dir=tmp_path, head="two")
    with pytest.raises(TypeError):
        nb.correlate(42)


def test_the_example_runs_and_equals_the_cli(shared_data, tmp_path):
    module = runpy.run_path(str(EXAMPLE), run_name="example")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame, table = module["main"](["--data-dir", str(shared_data), "--out", str(tmp_path / "figs"),
                                       "--store", str(tmp_path / "s.sqlite")])
    assert (tmp_path / "figs" / "score_vs_accuracy.png").stat().st_size > 0
    assert (tmp_path / "figs" / "kendall_tau.png").stat().st_size > 0
    out = tmp_path / "cli.csv"
    _cli(["score", "--space", "nb201", "--dataset", "cifar10", "--proxy", "synflow,params", "--n", "50", "--seed",
          "0", "--no-store", "--no-timing", "--quiet", "--executor", "sequential", "--data-dir", str(shared_data),
          "--out", str(out)])
    pd.testing.assert_frame_equal(frame, pd.read_csv(out))
    assert list(table["score"]) == ["synflow", "params"] and (table["n"] == 50).all()
    assert all(lo <= tau <= hi for tau, lo, hi in zip(table["kendall_tau"], table["kendall_lo"], table["kendall_hi"]))
    assert not math.isnan(table["kendall_tau"][0])


def _small(n=3, **kwargs):
    return nb.score("nb201", n=n, proxies="params,flops", dataset="synthetic", batch_size=8, store=False, quiet=True,
                    **kwargs)


@pytest.mark.parametrize("call, fragment", [
    (lambda: _small(seed=-1), "seed must be an integer 0.."),
    (lambda: _small(seed="x"), "seed must be an integer"),
    (lambda: _small(seed=1.5), "seed must be an integer"),
    (lambda: _small(seed=2**64), "seed must be an integer 0..9223372036854775807"),
    (lambda: _small(seeds=[0, -1]), "seeds[] must be an integer"),
    (lambda: _small(n=0), "n must be an integer >= 1"),
    (lambda: nb.correlate(_small(), bootstrap=-1), "bootstrap must be an integer 0..100000"),
    (lambda: nb.correlate(_small(), bootstrap=10**9), "bootstrap must be an integer 0..100000"),
    (lambda: nb.correlate(_small(), ensembles=["params,flops"], rule="bogus", bootstrap=0),
     "unknown ensemble rule 'bogus'; valid ensemble rule names: log-rank, mean-rank"),
    (lambda: nb.score_module(torch.nn.Linear(3, 2), "params", batch_size=0), "batch_size must be an integer >= 2"),
    (lambda: nb.open_space("nb201").build(0, num_classes=0), "num_classes must be an integer >= 1"),
    (lambda: nb.open_space("nb201").build(0, C=-1), "build option C must be positive"),
    (lambda: nb.open_space("nb201").sample(3, seed=True), "seed must be an integer"),
], ids=["seed-neg", "seed-str", "seed-float", "seed-2**64", "seeds", "n0", "bootstrap-neg", "bootstrap-huge",
        "rule", "batch0", "classes0", "width-neg", "seed-bool"])
def test_the_api_refuses_what_the_cli_refuses_with_one_line(call, fragment):
    from nasbench_cli.errors import UsageError

    with pytest.raises(UsageError) as caught:
        call()
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
