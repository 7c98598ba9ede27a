"""One place for every option (issue 32): a job's options are declared once (nasbench_cli.options),
checked once when made, and read by Click, the API and the engine's derived forms; registries
are the only lists of names; functions stay short; swap and zen share one Gaussian init."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import nasbench_cli
from nasbench_cli.commands.predict import predict as predict_command
from nasbench_cli.commands.score import score as score_command
from nasbench_cli.commands.search import search as search_command
from nasbench_cli.engine import EXECUTORS, EngineConfig
from nasbench_cli.engine.executors import ExecutorOptions
from nasbench_cli.errors import UsageError
from nasbench_cli.options import RUN_OPTIONS, SEED, EngineOptions, RunConfig, declared
from nasbench_cli.search import ALGORITHMS
from nasbench_cli.workflows.search import SearchJob

PACKAGE = Path(nasbench_cli.__file__).parent
#: the longest a package function may be (issue 32)
MAX_FUNCTION_LINES = 60


def _params(command):
    return {p.name: p for p in command.params}


@pytest.mark.parametrize("command", [score_command, search_command, predict_command], ids=["score", "search", "predict"])
def test_every_engine_option_is_a_cli_option_made_from_its_declaration(command):
    params = _params(command)
    for item, declaration in declared(EngineOptions):
        param = params[item.name]
        assert param.default == item.default and param.help == declaration.help
        if declaration.bound is not None:
            assert (param.type.min, param.type.max) == (declaration.bound.low, declaration.bound.high)
        if declaration.choices is not None:
            assert tuple(param.type.choices) == declaration.names()


def test_executor_choices_are_the_registry():
    assert tuple(_params(score_command)["executor"].type.choices) == ("auto", *EXECUTORS.names())
    assert not hasattr(nasbench_cli.engine, "EXECUTOR_CHOICES")


def test_the_seed_bound_is_one_definition_for_click_and_the_api():
    seed = _params(score_command)["score_seed"]
    assert (seed.type.min, seed.type.max) == (SEED.low, SEED.high)
    assert (_params(search_command)["seed"].type.max, _params(predict_command)["seed"].type.max) == (SEED.high,) * 2
    with pytest.raises(UsageError, match=r"score_seed must be an integer 0\.\.9223372036854775807, got -1"):
        RunConfig("nb201", "cifar10", ("naswot",), score_seed=-1)


@pytest.mark.parametrize("field, value, fragment", [
    ("threads", 0, "threads must be an integer >= 1, got 0"),
    ("workers", True, "workers must be an integer >= 1, got True"),
    ("batch_size", 1, "batch_size must be an integer >= 2, got 1"),
    ("head", "two", "unknown head 'two'; valid head names: auto, dataset, one"),
    ("executor", "cloud", "unknown executor 'cloud'; valid executor names: auto, local, ray, sequential"),
    ("gpu_share", "always", "unknown GPU sharing 'always'"),
    ("network_variant", "tiny", "unknown network variant 'tiny'"),
    ("augment", "cutout", "unknown augmentation 'cutout'"),
])
def test_a_run_config_is_checked_once_when_made(field, value, fragment):
    with pytest.raises(UsageError) as caught:
        RunConfig("nb201", "cifar10", ("naswot",), **{field: value})
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_the_api_takes_every_run_option_and_nothing_else():
    identity = {"space", "dataset", "proxies", "score_seed", "data_dir", "store_path", "no_store"}
    assert set(RUN_OPTIONS) == {f.name for f in dataclasses.fields(RunConfig)} - identity


def test_engine_config_and_executor_options_derive_every_engine_option():
    run = RunConfig("nb201", "cifar10", ("naswot",), threads=2, gpu_share="none", device="cpu")
    config = EngineConfig.derive(run, device_list=("cpu",))
    options = ExecutorOptions.derive(config, executor="sequential", workers=1)
    for item in dataclasses.fields(EngineOptions):
        if item.name not in ("executor", "workers"):  # what the engine resolves for the executor
            assert getattr(config, item.name) == getattr(run, item.name) == getattr(options, item.name), item.name
    assert options.device_list == ("cpu",) and options.threads == 2 and not options.use_gpus
    assert issubclass(ExecutorOptions, EngineConfig) and issubclass(EngineConfig, EngineOptions)


def test_an_engine_option_added_to_the_declaration_reaches_the_executor():
    """The next engine option is one field: the derived forms pick it up without being edited."""

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class WithPlugins(RunConfig):
        plugins: tuple = ("my_proxy.py",)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class ExecutorWithPlugins(ExecutorOptions):
        plugins: tuple = ()

    run = WithPlugins("nb201", "cifar10", ("naswot",))
    assert ExecutorWithPlugins.derive(run, device_list=("cpu",)).plugins == ("my_proxy.py",)


def test_search_options_are_declared_and_checked_once():
    params = _params(search_command)
    for name in ("runs", "n", "population", "sample_size", "m"):
        declaration = dict((f.name, d) for f, d in declared(SearchJob))[name]
        assert params[name].type.min == declaration.bound.low and params[name].help == declaration.help
    run = RunConfig("nb201", "cifar10", ("naswot",))
    with pytest.raises(UsageError, match="population must be an integer >= 1, got 0"):
        SearchJob(run, "rea", population=0)
    with pytest.raises(UsageError, match="unknown search algorithm 'bogus'"):
        SearchJob(run, "bogus")


def test_search_algorithms_declare_their_own_options_and_no_workflow_tests_names():
    assert ALGORITHMS.get("naswot").sample_option == "n" and ALGORITHMS.get("area").sample_option == "m"
    assert ALGORITHMS.get("area").check is not None
    from nasbench_cli.search.base import SearchOptions

    with pytest.raises(UsageError, match="AREA keeps the best P of M"):
        ALGORITHMS.get("area").check(SearchOptions(m=5, population=10))
    offending = []
    for path in sorted((PACKAGE / "workflows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            # `algorithm.name == "naswot"`, `algo == "area"`, `name == "sequential"`: a registry's job
            if isinstance(node, ast.Compare) and "proxies" not in ast.unparse(node.left) and any(
                    isinstance(c, ast.Constant) and c.value in ALGORITHMS for c in node.comparators):
                offending.append(f"{path.name}:{node.lineno}")
    assert offending == []


def test_no_package_function_is_longer_than_60_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({lines} lines)")
    assert long == []


def test_the_length_check_sees_a_long_function(tmp_path):
    source = "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES
    (node,) = ast.parse(source).body
    assert node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.norm1d = nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.BatchNorm1d(4)
        self.group, self.fc = nn.GroupNorm(2, 4), nn.Linear(4, 2)


def test_swap_and_zen_share_the_references_gaussian_init():
    from nasbench_cli.proxies import swap, zen
    from nasbench_cli.proxies._gaussian import gaussian_init
    from nasbench_cli.proxies._layers import seeded_generator

    assert swap.gaussian_init is gaussian_init and zen.gaussian_init is gaussian_init
    net = _Net()
    with torch.no_grad():
        for m in (net.bn, net.norm1d, net.group):
            m.weight.fill_(3.0), m.bias.fill_(2.0)
    gaussian_init(net, seeded_generator(0, 0))
    generator = seeded_generator(0, 0)
    assert torch.equal(net.conv.weight, torch.randn(net.conv.weight.shape, generator=generator))
    assert torch.equal(net.fc.weight, torch.randn(net.fc.weight.shape, generator=generator))
    assert not net.conv.bias.any() and not net.fc.bias.any()
    for m in (net.bn, net.group):  # the references' rule: BatchNorm2d and GroupNorm reset
        assert (m.weight == 1).all() and (m.bias == 0).all()
    assert (net.norm1d.weight == 3).all()  # other norm layers keep their values, as in the references


@pytest.mark.parametrize("space", ["nb201", "nats-sss"])
def test_the_shared_init_gives_swap_and_zen_the_values_they_had(space, shared_data):
    """Zen's old rule reset every _BatchNorm, swap's BatchNorm2d only: on networks whose only norm
    layers are BatchNorm2d, as every space builds them, both equal the shared rule."""
    from nasbench_cli.spaces import create_space

    built = create_space(space, shared_data).build(0, 10)
    norms = {type(m) for m in built.modules() if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm))}
    assert norms == {nn.BatchNorm2d}


def test_every_space_builds_batchnorm2d_only():
    """The network code of every space (NB101 and NDS included, whose data is not needed to read
    it) names no norm layer but BatchNorm2d: the old and the shared init rules coincide there."""
    import re

    used = set()
    for path in [*(PACKAGE / "models").glob("*.py"), *(PACKAGE / "spaces").glob("*.py")]:
        used |= set(re.findall(r"nn\.(\w*Norm\w*)", path.read_text()))
    assert used == {"BatchNorm2d"}


def test_every_figure_function_draws_in_the_house_style():
    """A helper split out of a figure function must not take its @_styled decorator with it."""
    from nasbench_cli.analysis import figures

    for name in ("scatter_figure", "heatmap_figure", "search_figure", "kernel_figure"):
        assert hasattr(getattr(figures, name), "__wrapped__"), name
