"""The Python interface: the same engine as the `nasbench` CLI, returning pandas DataFrames.

Every function here goes through the code the commands use (``RunConfig`` -> ``ScoringSession``
-> ``Engine.plan/compute`` -> ``score_rows`` + ``join_accuracies`` for scores; the analysis
package for correlations; the search command's building blocks for searches), so a notebook and
the CLI give the same numbers for the same settings, and share the score store.

    >>> import nasbench_cli.api as nb
    >>> bench = nb.open_space("nb201", data_dir="../shared/data")
    >>> frame = nb.score(bench, n=50, proxies=("synflow", "params"), seed=0)
    >>> table = nb.correlate(frame, target="cifar10/ori-test@200", bootstrap=200)
    >>> fig = nb.figures.scatter_figure(frame, target="cifar10/ori-test@200", log=True)

``nb.figures`` is ``nasbench_cli.analysis.figures`` (matplotlib, imported on first use).

Side effects, as in the CLI: scores are kept in the score store (``store=False`` for a throwaway
run); while scores are computed torch runs with ``threads`` threads (default 1: gradient proxies
change in the last bits with the thread count), and the caller's thread count is restored after.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from nasbench_cli.errors import UsageError
from nasbench_cli.options import POSITIVE, RUN_OPTIONS, SEED, Bound, RunConfig, describe_options
from nasbench_cli.workflows.spaces import ArchRef, PathLike, Space, open_space


__all__ = ["Space", "open_space", "score", "score_module", "correlate", "search", "predict", "naswot_kernels",
           "figures", "proxy", "load_plugin", "ProxyContext", "ProxyOption", "Batch"]

#: the proxy-writing interface (docs/plugins.md), from nasbench_cli.proxies on first use (torch)
_PROXY_API = ("proxy", "ProxyContext", "ProxyOption", "Batch")


def __getattr__(name: str):
    # ``nb.figures`` without importing matplotlib until a figure is wanted
    if name == "figures":
        from nasbench_cli.analysis import figures

        return figures
    if name in _PROXY_API:
        import nasbench_cli.proxies as proxies

        return getattr(proxies, name)
    raise AttributeError(f"module 'nasbench_cli.api' has no attribute {name!r}")


def load_plugin(path: PathLike) -> Tuple[str, ...]:
    """Load a plugin file (proxies registered with ``@proxy``) and return its proxy names; as
    ``--plugin FILE.py``. Workers of every executor load it too (same path, same sha256), and its
    source keys its stored scores. Loading it again after an edit replaces its proxies. A proxy
    defined in your script or notebook needs no loading: it is registered when defined."""
    from nasbench_cli.workflows.plugins import load_plugin as load

    return load(path)


def _plugins(run_options: Mapping[str, Any]) -> None:
    """Load the plugins of a call (``plugins=``, $NASBENCH_PLUGINS, installed packages) before its
    proxy names are checked."""
    from nasbench_cli.options import plugin_paths
    from nasbench_cli.workflows.plugins import load_run_plugins

    load_run_plugins(plugin_paths(run_options.get("plugins", ())))


def _space_and_dir(space: Union[Space, str], data_dir: Optional[PathLike]) -> Tuple[str, Optional[Path]]:
    if isinstance(space, Space):
        return space.name, Path(data_dir) if data_dir is not None else space.data_dir
    if isinstance(space, str):
        return space, Path(data_dir) if data_dir is not None else None
    raise TypeError(f"space must be a Space (open_space) or a space name, not {type(space).__name__}")


def _run_config(space: str, dataset: str, proxies: Sequence[str], seed: int, data_dir: Optional[Path],
                store: Union[None, bool, PathLike], run_options: Mapping[str, Any]):
    """The RunConfig the CLI would build from the same options (it checks their bounds and choices)."""
    unknown = sorted(set(run_options) - set(RUN_OPTIONS))
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(RUN_OPTIONS)}")
    options = dict(run_options)
    seed = SEED.check(seed, "seed")  # named as the caller named it
    if isinstance(options.get("proxy_options"), Mapping):  # {"ntk.repeats": 3} or ["ntk.repeats=3"]
        options["proxy_options"] = [f"{k}={v}" for k, v in options["proxy_options"].items()]
    if store is True:
        store = None
    return RunConfig.from_options(
        tuple(proxies), space=space, dataset=dataset, score_seed=seed, data_dir=data_dir,
        store_path=Path(store) if store not in (None, False) else None, no_store=store is False, **options)


def _proxy_names(proxies: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    from nasbench_cli.workflows.score import parse_proxy_list

    text = proxies if isinstance(proxies, str) else ",".join(proxies)
    return parse_proxy_list(text)


@contextlib.contextmanager
def _torch_state() -> Iterator[None]:
    """Restore torch's thread count and precision flags (cuDNN determinism, TF32, float32 matmul
    precision), which the engine sets while it computes: the caller's own work keeps its settings."""
    import torch

    threads = torch.get_num_threads()
    cudnn = torch.backends.cudnn
    flags = (cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    precision = torch.get_float32_matmul_precision()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags
        torch.set_float32_matmul_precision(precision)


def _frame(rows: Sequence[Mapping[str, str]], columns: Sequence[str], text_columns: Sequence[str] = ("arch",)):
    """A DataFrame of CSV-formatted rows, typed as ``pandas.read_csv`` types the CSV: numbers as
    float64 (empty cells NaN), integer columns without gaps as int64, text columns as they are."""
    import pandas as pd

    data: Dict[str, Any] = {}
    for column in columns:
        cells = [row.get(column, "") for row in rows]
        if column in text_columns:
            data[column] = cells
            continue
        values = np.array([float(c) if c != "" else np.nan for c in cells], dtype=np.float64)
        is_int = cells and all(c != "" and c.lstrip("-").isdigit() for c in cells)
        data[column] = values.astype(np.int64) if is_int else values
    return pd.DataFrame(data, columns=list(columns))


# --- scores -----------------------------------------------------------------------------------------
def score(
    space: Union[Space, str],
    archs: Union[None, str, Iterable[ArchRef]] = None,
    n: Optional[int] = None,
    proxies: Union[str, Sequence[str]] = ("naswot",),
    dataset: str = "cifar10",
    seed: int = 0,
    data_dir: Optional[PathLike] = None,
    store: Union[None, bool, PathLike] = None,
    ground_truth: Optional[PathLike] = None,
    timing: bool = False,
    restart: bool = False,
    seeds: Optional[Sequence[int]] = None,
    seed_aggregate: str = "mean",
    **run_options: Any,
):
    """Proxy scores of architectures joined with the benchmark's accuracies: the rows
    `nasbench score` writes, as a DataFrame (``pandas.read_csv`` of the CLI's CSV gives an equal frame).

    - ``archs``: indices and/or architecture strings, or ``"all"``; else ``n`` architectures
      sampled with ``seed`` exactly as ``--n N --seed SEED`` (100 when both are None).
    - ``proxies``: names, a comma-separated string, a group (``"az_nas"``) or ``"all"``.
    - ``store``: None the default store ($NASBENCH_STORE, else the user cache), a path,
      or False for a throwaway run (``--no-store``); stored scores are reused, as in the CLI.
    - ``ground_truth``: a compact accuracy table to join (``--ground-truth``).
    - ``timing``: add the ``seconds`` column (off by default: then the frame is reproducible).
    - ``seeds``: several init/batch seeds (``--seeds``): each proxy column is their mean, beside
      ``<proxy>@seed<k>`` and ``<proxy>:std`` (``seed`` still picks the sample);
      ``seed_aggregate="rank"``: each proxy column is the mean of its per-seed ranks instead.
    - ``run_options``: the CLI's other options by their Python names (listed below, from their
      declarations in nasbench_cli.options); ``proxy_options`` also takes ``{"ntk.repeats": 3}``.

    ``frame.attrs`` holds ``columns`` (each column's role and a score's direction, as the CSV's
    sidecar) and ``failures`` (proxy -> {index: error} for scores that failed, NaN in the frame).

    >>> bench = open_space("nb201", data_dir="../shared/data")
    >>> frame = score(bench, n=50, proxies="synflow,params", seed=0, store=False)
    >>> list(frame.columns[:4])
    ['index', 'arch', 'synflow', 'params']
    """
    from nasbench_cli.workflows.score import ScoreJob, check_seed_aggregate, run_score

    _plugins(run_options)
    name, root = _space_and_dir(space, data_dir)
    config = _run_config(name, dataset, _proxy_names(proxies), seed, root, store, run_options)
    seeds = [SEED.check(s, "seeds[]") for s in (seeds or ())]
    n = POSITIVE.check(n, "n") if n is not None else None
    if archs is not None and n is not None:
        raise UsageError("give archs or n, not both")
    everything = isinstance(archs, str) and archs == "all"
    job = ScoreJob(config, n=n, everything=everything, archs=None if archs is None or everything else list(archs),
                   ground_truth=Path(ground_truth) if ground_truth is not None else None, restart=restart,
                   seeds=tuple(seeds or ()), seed_aggregate=check_seed_aggregate(seed_aggregate), timing=timing)
    with _torch_state():
        result = run_score(job)
    frame = _frame(result.rows, result.columns)
    frame.attrs["columns"] = result.roles
    frame.attrs["failures"] = result.failures
    frame.attrs["space"], frame.attrs["dataset"], frame.attrs["seed"] = name, result.dataset, seed
    return frame


def score_module(
    model,
    proxy: str,
    batch=None,
    *,
    dataset: Optional[str] = None,
    seed: int = 0,
    data_dir: Optional[PathLike] = None,
    batch_size: Optional[int] = None,
    split: str = "train",
    augment: str = "none",
    device: str = "auto",
    num_classes: Optional[int] = None,
    options: Optional[Mapping[str, Any]] = None,
    arch_index: int = 0,
) -> float:
    """One proxy's score of your own ``torch.nn.Module``, under the conditions the scorer applies.

    Applied here, as `nasbench score` applies them: the proxy's dtype (synflow: float64; the
    model is copied, yours is left unchanged), train mode, the device (default "auto": CUDA
    when present, as `score`), true float32 (no TF32), the proxy's options, and the batch: the
    first ``batch_size`` examples (default: the proxy's reference size, e.g. 128 for NASWOT, 64
    for synflow) of ``batch`` (a ``Batch``, an ``(inputs, targets)`` pair or an
    inputs tensor) or, with ``dataset``, of the seeded batch `nasbench score --seed SEED` draws
    (``augment="train"``: through the CIFAR training transform, as `--augment train`).

    Your responsibility: the network itself. Build it as the proxy's reference code does:
    without BatchNorm where the proxy says ``bn=False`` (synflow; a warning is given when the
    model has BatchNorm layers), with the proxy's head (NASWOT's authors: one output unit), and
    any special variant a proxy scores (``nasbench proxies``). ``arch_index`` seeds the proxy's own
    randomness as the scorer does for that architecture (``derive_seed(seed, "proxy", proxy,
    arch_index)``), so stochastic proxies match the CLI too.

    >>> bench = open_space("nb201", data_dir="../shared/data")
    >>> net = bench.build(42, num_classes=1, seed=0)
    >>> score_module(net, "naswot", dataset="cifar10", seed=0, data_dir=bench.data_dir, arch_index=42)
    ... # equals score(bench, archs=[42], seed=0)["naswot"][0]
    """
    from torch import nn

    from nasbench_cli.workflows.score_module import ModuleJob, score_module as compute

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    job = ModuleJob(proxy, dataset, seed, Path(data_dir) if data_dir is not None else None, batch_size, split,
                    augment, device, num_classes, tuple(sorted((options or {}).items())), arch_index)
    with _torch_state():
        return compute(model, job, batch)


def naswot_kernels(
    space: Union[Space, str],
    archs: Iterable[ArchRef],
    dataset: str = "cifar10",
    seed: int = 0,
    data_dir: Optional[PathLike] = None,
    **run_options: Any,
) -> Dict[int, np.ndarray]:
    """Index -> NASWOT kernel K (B x B float64: for each pair of examples, the ReLU units whose
    binary codes agree) of each architecture, computed on the network, batch and code path that
    give `nasbench score --proxy naswot --seed SEED` its score: ``log|det K|`` equals that score.

    >>> K = naswot_kernels("nb201", [0, 11], data_dir="../shared/data")[11]
    >>> K.shape, K[0, 0] == K.max()   # the diagonal holds the code length N_A
    ((128, 128), True)
    """
    from nasbench_cli.workflows.kernels import naswot_kernels as compute

    name, root = _space_and_dir(space, data_dir)
    config = _run_config(name, dataset, ("naswot",), seed, root, False, {"quiet": True, **run_options})
    with _torch_state():
        return compute(config, archs)


# --- analysis ---------------------------------------------------------------------------------------
def correlate(
    frame,
    target: Union[None, str, Sequence[str]] = None,
    ensembles: Sequence[Union[str, Sequence[str]]] = (),
    vote: Optional[bool] = None,
    bootstrap: int = 1000,
    seed: int = 0,
    rule: str = "mean-rank",
    scores: Sequence[str] = (),
    *,
    space: Optional[str] = None,
    dataset: Optional[str] = None,
    ground_truth: Union[None, str, Path] = None,
    data_dir: Union[None, str, Path] = None,
):
    """Kendall tau and Spearman rho of each score column with accuracy: the numbers
    `nasbench correlate` writes, at full precision (its CSV rounds them to 6 decimals).

    ``frame``: a DataFrame from ``score`` (or any frame with score and ``<dataset>/<split>@<epochs>``
    columns), or score CSV path(s) (read as the command reads them, sidecars included).
    ``target``: accuracy column(s), default all; ``ensembles``: e.g. ``["synflow,jacob_cov"]``,
    combined by ``rule`` ("mean-rank" or "log-rank"); ``vote``: the synflow/jacob_cov/snip majority
    vote (None: when those columns exist); ``bootstrap``: resamples for the 95% intervals (0: none);
    ``scores``: more columns to take as scores (``--score``), e.g. one you added to the frame;
    ``attrs["scores"]`` lists the score columns used. ``space`` (with ``dataset``, ``data_dir``)
    or ``ground_truth`` (a ground-truth CSV): join a frame or CSV of scores keyed by ``index`` or
    ``arch`` to that benchmark's accuracies first, as ``nasbench correlate --space``;
    ``attrs["accuracies_joined"]`` then says from where.

    Columns: those of `nasbench correlate`'s CSV (tau, rho, pair agreement, top-of-ranking metrics).

    >>> table = correlate(frame, target="cifar10/ori-test@200", bootstrap=200)
    >>> table[["score", "kendall_tau", "kendall_lo", "kendall_hi"]]
    """
    import pandas as pd

    from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS, result_values
    from nasbench_cli.workflows.correlate import CorrelateJob, load_scores, run_correlate
    from nasbench_cli.workflows.correlate_join import AccuracySource
    from nasbench_cli.analysis.correlation import MAX_RESAMPLES

    if not isinstance(frame, (str, Path, list, tuple, pd.DataFrame)):
        raise TypeError(f"frame must be a DataFrame or score CSV path(s), not {type(frame).__name__}")
    bootstrap = Bound(0, MAX_RESAMPLES).check(bootstrap, "bootstrap")
    seed = SEED.check(seed, "seed")
    notes: List[str] = []
    accuracies = AccuracySource(space, dataset, Path(ground_truth) if ground_truth is not None else None,
                                Path(data_dir) if data_dir is not None else None)
    table, joined = load_scores(frame, accuracies, notify=notes.append)
    targets = [target] if isinstance(target, str) else list(target or ())
    lists = [e if isinstance(e, str) else ",".join(e) for e in ensembles]
    job = CorrelateJob(tuple(targets), tuple(scores), tuple(lists), vote, bootstrap, seed, rule)
    report = run_correlate(table, job, notify=notes.append)
    rows = [result_values(r) for r in report.results]
    out = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    out.attrs["notes"] = notes
    out.attrs["scores"] = report.table.scores
    if joined is not None:
        out.attrs["accuracies_joined"] = joined
    return out


# --- search -----------------------------------------------------------------------------------------
def search(
    space: Union[Space, str],
    algo: str = "naswot",
    runs: int = 500,
    seed: int = 0,
    *,
    dataset: str = "cifar10",
    n: int = 100,
    replace: bool = True,
    budget: Optional[str] = None,
    population: int = 10,
    sample_size: int = 3,
    m: int = 20,
    fitness: Optional[str] = None,
    proxy: str = "naswot",
    score_seed: int = 0,
    data_dir: Optional[PathLike] = None,
    store: Union[None, bool, PathLike] = None,
    timing: bool = False,
    progress: bool = False,
    **run_options: Any,
):
    """``runs`` independent runs of a search algorithm: the per-run rows `nasbench search` writes
    (run, seed, index, arch, score, every accuracy column, queries, simulated_seconds, scored;
    score_seconds and wall_seconds with ``timing``), as a DataFrame.

    Same options and defaults as the command (``budget``: "12000s" or "500q" for rea/area, their
    default "12000s"; ``score_seed`` is ``--score-seed``); ``frame.attrs["summary"]`` is the
    summary as a DataFrame (column, runs, mean, std, min, max; std with ddof=0), like predict's, and ``attrs["notes"]``
    what the command prints as notes (e.g. a budget capped or turned into queries).

    >>> runs = search("nb201", algo="naswot", n=10, runs=20, data_dir="../shared/data")
    >>> runs["cifar10/ori-test@200"].agg(["mean", "std"])
    """
    import pandas as pd

    from nasbench_cli.workflows.search import SearchJob, run_search_job

    _plugins(run_options)
    name, root = _space_and_dir(space, data_dir)
    config = _run_config(name, dataset, (proxy,), score_seed, root, store, {"quiet": not progress, **run_options})
    job = SearchJob(config, algo, runs, seed, n, replace, budget, population, sample_size, m, fitness, timing,
                    progress=progress)
    with _torch_state():
        result = run_search_job(job)
    frame = _frame(result.rows, result.columns)
    # a DataFrame, as predict's: the `<stem>.summary.csv` rows (column, runs, mean, std, min, max)
    frame.attrs["summary"] = pd.DataFrame([{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                            for k, v in row.items()} for row in result.summary])
    frame.attrs["notes"] = list(result.notes)
    frame.attrs["algorithm"] = result.algorithm
    return frame


# --- predict ----------------------------------------------------------------------------------------
def predict(
    space: Union[Space, str],
    features: Union[str, Sequence[str], None] = ("naswot",),
    *,
    dataset: str = "cifar10",
    target: Optional[str] = None,
    encoding: str = "auto",
    model: str = "gbt",
    train_sizes: Sequence[int] = (10, 20, 50, 100, 200, 500),
    trials: int = 20,
    seed: int = 0,
    test_size: Optional[int] = None,
    pool: Union[None, int, str] = None,
    scores: Union[None, PathLike, Sequence[PathLike]] = None,
    compare: bool = False,
    score_seed: int = 0,
    data_dir: Optional[PathLike] = None,
    store: Union[None, bool, PathLike] = None,
    timing: bool = False,
    **run_options: Any,
):
    """Few-shot accuracy predictors with scores as features: the per-trial rows `nasbench predict`
    writes, as a DataFrame equal to ``pandas.read_csv`` of its CSV. ``features`` None/"none": the
    encoding alone; without ``scores`` they are proxies computed through the engine and store for
    ``pool`` architectures (default 2000, "all") sampled with ``score_seed``, with ``scores`` columns
    of those CSVs. ``frame.attrs["summary"]``: the summary frame; ``attrs["notes"]``, ``attrs["provenance"]``.

    >>> trials = predict("nb201", "naswot", scores="results/kendall/nb201-cifar10-scores.csv", compare=True)
    >>> trials.attrs["summary"]
    """
    from nasbench_cli.workflows.predict import PredictJob, check_sizes, parse_features, result_frames, run_predict

    _plugins(run_options)
    name, root = _space_and_dir(space, data_dir)
    if features is None:
        names: Tuple[str, ...] = ()
    else:
        names = parse_features(features if isinstance(features, str) else ",".join(features) or "none")
    config = _run_config(name, dataset, names, score_seed, root, store, {"quiet": True, **run_options})
    if not isinstance(compare, bool):  # 'no' would be true: any non-empty string is
        raise UsageError(f"compare must be True or False, not {compare!r}"[:200])
    if isinstance(pool, str) and pool != "all":
        raise UsageError(f"pool must be a number of architectures or 'all', not {pool!r}")
    pool_all = pool == "all"
    pool_n = POSITIVE.check(pool, "pool") if pool is not None and not pool_all else None
    paths = [scores] if isinstance(scores, (str, Path)) else list(scores or ())
    # PredictJob checks trials, seed and test_size (their declared bounds) when it is made
    job = PredictJob(config, names, encoding, model, target, check_sizes(list(train_sizes)), trials, seed,
                     test_size, pool_n, pool_all, tuple(Path(p) for p in paths), compare, timing)
    with _torch_state():
        result = run_predict(job)
    frame, summary = result_frames(result)
    frame.attrs["summary"] = summary
    frame.attrs["notes"] = list(result.notes)
    frame.attrs["provenance"] = result.provenance
    return frame


# each function taking ``**run_options`` lists them from their declarations (one place for their help)
_RUN_OPTIONS_DOC = ("\n    Run options (``**run_options``):\n\n" + describe_options(RunConfig, RUN_OPTIONS)
                    + "\n    - ``quiet``: no progress bars or notes.\n")
for _function in (score, naswot_kernels, search, predict):
    _function.__doc__ = (_function.__doc__ or "") + _RUN_OPTIONS_DOC
del _function

