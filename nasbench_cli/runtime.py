"""Device choice, determinism and seeding: one place used by every path that computes a score."""

from __future__ import annotations

import hashlib
import os
from typing import Dict, List, Optional

import torch

from nasbench_cli.errors import UsageError


def pick_device(requested: str = "auto", flag: str = "--device") -> torch.device:
    """CUDA when present (or asked for), else CPU; a device this machine lacks is a UsageError
    naming ``flag``."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"{flag}: '{requested}' is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"{flag} {requested}: this torch build sees no CUDA device; use cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"{flag} {requested}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    elif device.type != "cpu":
        raise UsageError(f"{flag}: '{requested}' is not supported; use auto, cpu, cuda or cuda:N")
    return device


def pick_devices(requested: str, devices: Optional[str]) -> List[torch.device]:
    """The devices scoring runs on: ``--devices cuda:0,cuda:1`` or ``all`` (every visible CUDA
    device), else the single ``--device``."""
    if not devices:
        return [pick_device(requested)]
    if devices.strip() == "all":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.device("cuda", i) for i in range(count)] or [torch.device("cpu")]
    chosen = [pick_device(part.strip(), "--devices") for part in devices.split(",") if part.strip()]
    if not chosen:
        raise UsageError("--devices needs at least one device, or 'all'")
    return chosen


def configure_determinism(device: torch.device, threads: Optional[int] = None) -> None:
    """Make a scoring process give the same numbers run after run, and on every device.

    ``threads``: torch's intra-op threads. On CPU, gradient proxies (grad_norm, snip, grasp)
    change in the last bits with the thread count (the batch reduction of weight gradients is split
    between threads), so every executor computes with the same count.

    Float32 stays true float32 everywhere: TF32 (on by default for cuDNN convolutions) rounds
    inputs to a 10-bit mantissa, which moved NASWOT by up to 0.006 against the CPU; the authors'
    GPUs (1080Ti) had no TF32. cuDNN picks deterministic algorithms by heuristic, never by timing
    (``benchmark`` would let the fastest-measured algorithm, hence the rounding, vary by run).
    """
    if threads is not None:
        torch.set_num_threads(threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    # set on every device, so that a driver on the CPU records what its GPU workers use
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def precision_record() -> Dict[str, object]:
    """The precision settings scores are computed under, for provenance (as configure_determinism
    sets them)."""
    return {"tf32_convolutions": bool(torch.backends.cudnn.allow_tf32),
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark)}


def cpu_cores() -> int:
    """Cores this process may use (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def derive_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed that depends only on ``seed`` and ``parts``, never on call order.

    Scoring architecture i with seed s always uses derive_seed(s, "arch", i), so a resumed or
    reordered run builds exactly the same networks.
    """
    text = "|".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
