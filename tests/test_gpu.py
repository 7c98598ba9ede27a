"""The GPU path: one-copy moves, networks reset in place for each proxy, GPU sharing through MPS,
precision settings. The design is tested on CPU; tests marked ``cuda`` run where CUDA is present
(and skip, saying so, elsewhere). Timings live in scripts/bench_gpu.py, never here.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import toy_space  # noqa: F401  (registers toy)
from nasbench_cli.cli import main
from nasbench_cli.datasets import get_dataset
from nasbench_cli.device_network import DeviceNetwork, move_module
from nasbench_cli.engine import EngineConfig
from nasbench_cli.engine import gpu_share
from nasbench_cli.engine.gpu_share import GpuShare, share_gpus, start_mps
from nasbench_cli.errors import UsageError
from nasbench_cli.proxies import PROXIES
from nasbench_cli.provenance import sidecar_path
from nasbench_cli.runtime import configure_determinism, precision_record
from nasbench_cli.scoring import ScoreSettings, make_scorer
from nasbench_cli.spaces import create_space

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none visible here)")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_space("nb201", None).build(7, 10, bn=True)


def _state(module: nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


# --- one-copy moves and in-place resets -----------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_move_module_gives_what_to_gives(device, dtype):
    expected = _net().to(device, dtype)
    moved = move_module(_net(), torch.device(device), dtype)
    assert _same_state(_state(moved), _state(expected))
    assert all(t.device.type == device for t in list(moved.parameters()) + list(moved.buffers()))
    assert next(moved.parameters()).dtype == dtype
    # integer buffers (BatchNorm's num_batches_tracked) keep their dtype, as with .to(dtype)
    assert {b.dtype for b in moved.buffers()} == {b.dtype for b in expected.buffers()}


@pytest.mark.parametrize("device", DEVICES)
def test_a_network_is_reset_in_place_for_each_proxy(device):
    pristine = _state(_net())
    network = DeviceNetwork(_net(), torch.device(device), torch.float32)
    model = network.fresh(torch.float32)
    # what a proxy may do: train-mode forward (BN statistics), backward (grads), in-place edits
    model.train()
    model(torch.randn(4, 3, 8, 8, device=device)).sum().backward()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-3.0)
    again = network.fresh(torch.float32)
    assert again is model and _same_state(_state(again), pristine)
    assert all(p.grad is None and p.requires_grad for p in again.parameters())
    # another dtype: the initial values cast, as .to(float64) of a deep copy would give
    doubled = network.fresh(torch.float64)
    assert _same_state(_state(doubled), {k: v.double() if v.is_floating_point() else v for k, v in pristine.items()})


def test_a_network_for_one_proxy_keeps_no_pristine_copy():
    network = DeviceNetwork(_net(), torch.device("cpu"), torch.float32, shared=False)
    assert network.fresh(torch.float32) is network.module and network.pristine == {}
    assert network.fresh(torch.float32) is None  # asked again: the caller builds it anew


def test_a_proxy_that_rebuilds_parts_of_the_network_gets_a_new_build():
    network = DeviceNetwork(_net(), torch.device("cpu"), torch.float32)
    model = network.fresh(torch.float32)
    model.classifier = nn.Linear(64, 10)  # a proxy replacing a module: the reset cannot undo that
    assert not network.intact() and network.fresh(torch.float32) is None


def test_proxies_scoring_one_network_together_give_their_scores_alone():
    """The scorer resets the shared network in place between proxies (no deep copies): every
    proxy must see exactly the network it would see scored alone."""
    space = create_space("nb201", None)
    dataset = get_dataset("synthetic")
    # zen and swap draw new weights in place: the proxies after them must not see those
    names = ("zen", "swap", "grad_norm", "snip", "grasp", "fisher", "jacob_cov", "naswot", "synflow", "plain",
             "l2_norm")
    settings = ScoreSettings("nb201", "synthetic", names, 3, 8, "auto", "train")
    specs = [PROXIES.get(n) for n in names]
    together, _ = make_scorer(space, dataset, specs, settings, Path("."), torch.device("cpu"))
    configure_determinism(torch.device("cpu"), 1)
    for index in (5, 4321):
        both = together.score_proxies(index)
        for name in names:
            alone_settings = ScoreSettings("nb201", "synthetic", (name,), 3, 8, "auto", "train")
            alone, _ = make_scorer(space, dataset, [PROXIES.get(name)], alone_settings, Path("."), torch.device("cpu"))
            value = alone.score_proxies(index)[name].value
            assert both[name].value == value or (np.isnan(value) and np.isnan(both[name].value)), name


# --- precision ------------------------------------------------------------------------------------
def test_scoring_turns_tf32_off_and_provenance_says_so(tmp_path):
    torch.backends.cudnn.allow_tf32 = True  # torch's default for convolutions
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(main, ["score", "--space", "toy", "--dataset", "synthetic", "--proxy", "naswot",
                                       "--n", "2", "--batch-size", "8", "--quiet", "--no-store",
                                       "--executor", "sequential", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False
    record = json.loads(sidecar_path(out).read_text())
    assert record["precision"] == precision_record()
    assert record["precision"]["tf32_convolutions"] is False and record["precision"]["cudnn_benchmark"] is False


def test_the_api_leaves_the_callers_precision_settings_as_they_were(tmp_path):
    import nasbench_cli.api as nb

    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = True, True
    torch.set_float32_matmul_precision("medium")
    try:
        bench = nb.open_space("nb201", data_dir=tmp_path)
        nb.score(bench, archs=[3], proxies="naswot", dataset="synthetic", batch_size=8, store=False,
                 device="cpu", executor="sequential")
        nb.score_module(bench.build(3, num_classes=1), "naswot", dataset="synthetic", batch_size=8,
                        data_dir=tmp_path, device="cpu")
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = False, False
        torch.set_float32_matmul_precision("highest")


# --- GPU sharing ----------------------------------------------------------------------------------
def _fake_control(folder: Path, fail: bool = False) -> Path:
    """An nvidia-cuda-mps-control stand-in: logs its arguments and stdin, and with -d makes the
    control pipe where CUDA_MPS_PIPE_DIRECTORY says."""
    log = folder / "calls.log"
    script = folder / "nvidia-cuda-mps-control"
    script.write_text(f"""#!{sys.executable}
import os, sys
with open({str(log)!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "|" + ("" if sys.stdin.isatty() or "-d" in sys.argv else sys.stdin.read().strip()) + "\\n")
if {fail!r}:
    sys.exit(1)
if "-d" in sys.argv:
    open(os.path.join(os.environ["CUDA_MPS_PIPE_DIRECTORY"], "control"), "w").close()
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_a_private_mps_daemon_is_started_for_the_run_and_stopped_after(tmp_path):
    control = _fake_control(tmp_path)
    share = start_mps(str(control), probe=False)
    assert share is not None and share.mode == "mps (started)"
    pipe = Path(share.env["CUDA_MPS_PIPE_DIRECTORY"])
    assert (pipe / "control").exists() and "nasbench-mps-" in str(pipe)
    share.close()
    share.close()  # idempotent
    assert (tmp_path / "calls.log").read_text().splitlines() == ["-d|", "|quit"]
    assert not pipe.exists()  # its temporary folder is removed


def test_a_daemon_that_does_not_start_means_no_mps(tmp_path):
    assert start_mps(str(_fake_control(tmp_path, fail=True)), probe=False) is None


def test_gpu_sharing_choices(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_share, "start_mps", lambda: None)  # no MPS on this machine
    monkeypatch.setattr(gpu_share, "other_gpu_processes", lambda: 0)
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path / "none-here"))
    assert share_gpus("auto", ["cpu"], 4).mode == "exclusive"  # no GPU: nothing to share
    assert share_gpus("auto", ["cuda:0", "cuda:1"], 2).mode == "exclusive"  # one worker per GPU
    assert share_gpus("none", ["cuda:0"], 4).mode == "time-sliced"
    fallback = share_gpus("auto", ["cuda:0", "cuda:1"], 8)  # auto falls back to one worker per GPU
    assert fallback.mode == "exclusive (no MPS)" and "one worker per GPU" in fallback.note
    assert fallback.worker_limit(["cuda:0", "cuda:1"]) == 2 and GpuShare().worker_limit(["cuda:0"]) > 8
    with pytest.raises(UsageError, match="could not start CUDA MPS"):
        share_gpus("mps", ["cuda:0"], 4)
    # beside other GPU processes auto starts no daemon of its own (it could hold them off)
    started = []
    monkeypatch.setattr(gpu_share, "start_mps", lambda: started.append(1) or GpuShare("mps (started)"))
    monkeypatch.setattr(gpu_share, "other_gpu_processes", lambda: 2)
    busy = share_gpus("auto", ["cuda:0"], 4)
    assert busy.mode == "exclusive (no MPS)" and "other processes" in busy.note and not started
    assert share_gpus("mps", ["cuda:0"], 4).mode == "mps (started)" and started == [1]  # asked for: started
    # a daemon the user already runs is used, never started or stopped by the run
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "control").touch()
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path / "pipe"))
    share = share_gpus("auto", ["cuda:0"], 4)
    assert share.mode == "mps (existing)" and share.env == {"CUDA_MPS_PIPE_DIRECTORY": str(tmp_path / "pipe")}
    with pytest.raises(UsageError, match="unknown GPU sharing"):
        share_gpus("always", ["cuda:0"], 4)
    assert GpuShare().describe() == {"gpu_sharing": "exclusive"}


def test_workers_per_gpu_follow_the_cores_where_mps_can_share_them(monkeypatch):
    from nasbench_cli.engine import config

    monkeypatch.setattr(config, "cpu_cores", lambda: 16)
    monkeypatch.setattr(config, "mps_possible", lambda choice: choice != "none")
    assert EngineConfig(device_list=("cuda:0",)).worker_count() == 16
    assert EngineConfig(device_list=("cuda:0", "cuda:1"), threads=2).worker_count() == 8  # 4 per GPU
    assert EngineConfig(device_list=("cuda:0",), gpu_share="none").worker_count() == 1
    assert EngineConfig(device_list=("cuda:0",), workers=3).worker_count() == 3
    monkeypatch.setattr(config, "mps_possible", lambda choice: False)
    assert EngineConfig(device_list=("cuda:0", "cuda:1")).worker_count() == 2  # no MPS: one per GPU
    assert EngineConfig(device_list=("cpu",)).worker_count() == 16
    with pytest.raises(UsageError, match="unknown GPU sharing"):
        EngineConfig(gpu_share="sometimes")


def test_gpu_share_option_is_checked_before_any_work(tmp_path):
    result = CliRunner().invoke(main, ["score", "--space", "toy", "--dataset", "synthetic", "--n", "2",
                                       "--gpu-share", "always", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "always" in result.output and not (tmp_path / "x.csv").exists()


def test_worker_processes_start_with_the_sharing_environment(monkeypatch):
    """The MPS pipe directory must be in a worker's environment before it touches CUDA."""
    from nasbench_cli.engine.executors import local

    seen = {}

    def fake_build_scorer(spec):
        seen["env"] = os.environ.get("NASBENCH_TEST_SHARE")
        raise UsageError("stop here")

    class Pipe:
        def send(self, message):
            seen["message"] = message

    monkeypatch.setattr("nasbench_cli.engine.work.build_scorer", fake_build_scorer)
    monkeypatch.delenv("NASBENCH_TEST_SHARE", raising=False)
    local.worker_main(Pipe(), None, {"NASBENCH_TEST_SHARE": "pipe-dir"})
    assert seen == {"env": "pipe-dir", "message": ("error", "stop here")}
    monkeypatch.delenv("NASBENCH_TEST_SHARE", raising=False)


# --- on a CUDA device -----------------------------------------------------------------------------
def _cli_score(tmp: Path, name: str, *args: str) -> Path:
    out = tmp / f"{name}.csv"
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy",
                                       "naswot,grad_norm,synflow", "--n", "12", "--batch-size", "32", "--seed", "1",
                                       "--no-timing", "--quiet", "--store", str(tmp / f"{name}.sqlite"),
                                       "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


@cuda
def test_gpu_runs_give_one_csv_whatever_the_executor_and_sharing(tmp_path):
    sequential = _cli_score(tmp_path, "seq", "--device", "cuda", "--executor", "sequential")
    shared = _cli_score(tmp_path, "shared", "--device", "cuda", "--executor", "local", "--workers", "3")
    assert shared.read_bytes() == sequential.read_bytes()
    record = json.loads(sidecar_path(shared).read_text())
    sharing = record["engine"]["gpu_sharing"]
    assert record["device"].startswith("cuda") and sharing in ("mps (started)", "mps (existing)", "exclusive (no MPS)")
    assert record["engine"]["workers"] == (1 if sharing == "exclusive (no MPS)" else 3)
    assert record["precision"]["tf32_convolutions"] is False


@cuda
def test_gpu_and_cpu_scores_agree_to_float_rounding(tmp_path):
    gpu = np.loadtxt(_cli_score(tmp_path, "gpu", "--device", "cuda"), delimiter=",", skiprows=1, usecols=(2, 3, 4))
    cpu = np.loadtxt(_cli_score(tmp_path, "cpu", "--device", "cpu"), delimiter=",", skiprows=1, usecols=(2, 3, 4))
    finite = np.isfinite(gpu) & np.isfinite(cpu)
    assert np.array_equal(np.isfinite(gpu), np.isfinite(cpu))
    assert np.allclose(gpu[finite], cpu[finite], rtol=1e-3, atol=1e-6)


@cuda
@pytest.mark.parametrize("rows,length", [(128, 4096), (8, 4096), (16, 4096), (24, 4104), (128, 4100), (40, 12)])
def test_the_int8_gram_on_the_gpu_is_exact(rows, length):
    """Batch sizes and code lengths the int8 GEMM takes, and those it does not (float path)."""
    from nasbench_cli.proxies.naswot import code_gram

    codes = torch.rand(rows, length, generator=torch.Generator().manual_seed(0)) > 0.5
    expected = codes.double() @ codes.double().T
    assert torch.equal(code_gram(codes.cuda()).cpu(), expected)


@cuda
def test_score_module_equals_the_engine_on_the_gpu(tmp_path):
    import nasbench_cli.api as nb

    root = tmp_path
    bench = nb.open_space("nb201", data_dir=root)
    frame = nb.score(bench, archs=[11, 2024], proxies="naswot", dataset="synthetic", seed=2, batch_size=32,
                     device="cuda", executor="sequential", store=str(root / "s.sqlite"))
    for row, index in enumerate((11, 2024)):
        net = bench.build(index, num_classes=1, seed=2)
        value = nb.score_module(net, "naswot", dataset="synthetic", seed=2, data_dir=root, batch_size=32,
                                arch_index=index, device="cuda")
        assert value == frame["naswot"][row]
