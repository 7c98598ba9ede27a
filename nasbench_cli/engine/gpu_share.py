"""Several worker processes on one GPU, through CUDA MPS (Multi-Process Service).

Measured on one H200 (scripts/bench_gpu.py): one process scoring NB201 with NASWOT keeps the GPU
busy a fifth of the time (3.0 ms of kernels in a 16 ms score: the rest is Python launching ~600
small kernels), threads in that process do not help (the GIL: 1 thread 53 nets/s, 2 threads 58,
4 threads 40), and processes that each hold their own CUDA context take turns on the GPU, context
switch by context switch (4 processes: slower than one). Under MPS the processes' kernels share
one GPU context and run side by side, so W workers on one GPU approach W times one worker's rate
until the GPU itself is busy.

``GPU_SHARE_CHOICES``: ``auto`` uses an MPS daemon the user already runs, else starts a private
one for the run (stopped at the end) when ``nvidia-cuda-mps-control`` is installed and no other
process uses the GPUs, else runs one worker per GPU; ``mps`` insists (a usage error when it cannot
start); ``none`` never uses MPS (several workers on one GPU then take turns).

An MPS server serves one user at a time, and while it is up other CUDA programs on its GPU may be
held off or refused (not measured here: scripts/gpu_check.sh's ``coexist`` step tells); hence
``auto`` starts none beside other GPU processes, and its daemon lives only as long as the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Sequence

from nasbench_cli.errors import UsageError

GPU_SHARE_CHOICES = ("auto", "mps", "none")
MPS_CONTROL = "nvidia-cuda-mps-control"
#: where an MPS daemon listens when CUDA_MPS_PIPE_DIRECTORY is not set
DEFAULT_PIPE_DIRECTORY = "/tmp/nvidia-mps"
#: seconds to wait for the control daemon to start or stop
_CONTROL_TIMEOUT_S = 30.0

# A CUDA context made through the driver API (no torch import: a fraction of a second): under MPS
# it is made by the MPS server, so it succeeds only when the server works.
_PROBE = """
import ctypes, sys
cuda = ctypes.CDLL("libcuda.so.1")
ctx, dev = ctypes.c_void_p(), ctypes.c_int()
ok = cuda.cuInit(0) == 0 and cuda.cuDeviceGet(ctypes.byref(dev), 0) == 0 \
    and cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev) == 0
sys.exit(0 if ok else 1)
"""


def existing_pipe_directory(environ: Optional[Dict[str, str]] = None) -> Optional[str]:
    """The pipe directory of an MPS daemon already running for this user, if any."""
    environ = os.environ if environ is None else environ
    pipe = environ.get("CUDA_MPS_PIPE_DIRECTORY") or DEFAULT_PIPE_DIRECTORY
    return pipe if (Path(pipe) / "control").exists() else None


def control_program() -> Optional[str]:
    """Path of nvidia-cuda-mps-control, None where it is not installed."""
    return shutil.which(MPS_CONTROL)


def other_gpu_processes() -> int:
    """Compute processes other than this one that nvidia-smi lists on the GPUs (0 where it cannot
    tell: no nvidia-smi, or processes hidden by a container)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listed = subprocess.run([smi, "--query-compute-apps=pid", "--format=csv,noheader"], capture_output=True,
                                text=True, timeout=_CONTROL_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return 0
    if listed.returncode != 0:
        return 0
    pids = {line.strip() for line in listed.stdout.splitlines() if line.strip().isdigit()}
    return len(pids - {str(os.getpid())})


def mps_possible(choice: str) -> bool:
    """Whether ``choice`` can give several workers per GPU (without starting anything)."""
    if choice == "none":
        return False
    return existing_pipe_directory() is not None or control_program() is not None


@dataclass
class GpuShare:
    """How the workers of a run share their GPUs: the environment each worker starts with."""

    #: "exclusive" (one worker per GPU), "exclusive (no MPS)" (auto found none: workers cut to one per
    #: GPU), "mps (started)", "mps (existing)", "time-sliced" (--gpu-share none: workers take turns)
    mode: str = "exclusive"
    env: Dict[str, str] = field(default_factory=dict)
    note: str = ""
    _control: Optional[str] = None
    _root: Optional[str] = None

    def close(self) -> None:
        """Stop a daemon this run started (idempotent)."""
        if self._control is None:
            return
        control, self._control = self._control, None
        try:
            subprocess.run([control], input="quit\n", text=True, env={**os.environ, **self.env},
                           capture_output=True, timeout=_CONTROL_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError):
            pass
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def worker_limit(self, devices: Sequence[str]) -> int:
        """Most workers worth running: one per GPU where ``auto`` found no MPS (taking turns on a
        GPU measured slower than one process alone), else no limit."""
        if self.mode == "exclusive (no MPS)":
            return max(1, len({str(d) for d in devices if str(d).startswith("cuda")}))
        return 1 << 30

    def describe(self) -> Dict[str, object]:
        record: Dict[str, object] = {"gpu_sharing": self.mode}
        if self.note:
            record["gpu_sharing_note"] = self.note
        return record


def share_gpus(choice: str, devices: Sequence[str], workers: int) -> GpuShare:
    """Arrange for ``workers`` processes on ``devices`` (CUDA or not) to share them."""
    if choice not in GPU_SHARE_CHOICES:
        raise UsageError(f"unknown GPU sharing '{choice}'; valid choices: {', '.join(GPU_SHARE_CHOICES)}")
    cuda = [d for d in devices if str(d).startswith("cuda")]
    if not cuda or workers <= len(cuda):
        return GpuShare()
    if choice == "none":
        return GpuShare("time-sliced", note="several workers per GPU without MPS take turns on it")
    pipe = existing_pipe_directory()
    if pipe is not None:
        return GpuShare("mps (existing)", {"CUDA_MPS_PIPE_DIRECTORY": pipe})
    if choice == "auto" and other_gpu_processes():
        # an MPS server holds the GPU for its own user: other jobs could wait for the whole run
        return GpuShare("exclusive (no MPS)", note="other processes use the GPU, so no private MPS daemon was "
                        "started: one worker per GPU (--gpu-share mps starts one anyway)")
    share = start_mps()
    if share is not None:
        return share
    if choice == "mps":
        raise UsageError(f"--gpu-share mps: could not start CUDA MPS ({MPS_CONTROL} missing or failing); "
                         "start it yourself, or use --gpu-share auto")
    return GpuShare("exclusive (no MPS)", note="CUDA MPS could not be started: one worker per GPU (processes "
                    "taking turns on a GPU are no faster); --gpu-share none runs them anyway")


def start_mps(control: Optional[str] = None, probe: bool = True) -> Optional[GpuShare]:
    """Start a private MPS control daemon (its pipes in a fresh temporary folder); None when it
    is not installed or does not serve a CUDA context."""
    control = control or control_program()
    if control is None:
        return None
    root = tempfile.mkdtemp(prefix="nasbench-mps-")
    env = {"CUDA_MPS_PIPE_DIRECTORY": os.path.join(root, "pipe"), "CUDA_MPS_LOG_DIRECTORY": os.path.join(root, "log")}
    for folder in env.values():
        os.makedirs(folder, exist_ok=True)
    share = GpuShare("mps (started)", env, _control=control, _root=root)
    try:
        started = subprocess.run([control, "-d"], env={**os.environ, **env}, capture_output=True,
                                 timeout=_CONTROL_TIMEOUT_S).returncode == 0
        if started and probe:
            started = subprocess.run([sys.executable, "-c", _PROBE], env={**os.environ, **env},
                                     capture_output=True, timeout=_CONTROL_TIMEOUT_S).returncode == 0
    except (OSError, subprocess.SubprocessError):
        started = False
    if not started:
        share.close()
        shutil.rmtree(root, ignore_errors=True)
        return None
    return share
