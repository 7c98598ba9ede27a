"""Which failures are the proxy's (stored as a NaN score with its error) and which the machine's
(memory, threads, devices, missing modules: the run stops, nothing is stored, a rerun computes
the score again)."""

from __future__ import annotations

import torch

from nasbench_cli.errors import EnvironmentFailure

#: message fragments of RuntimeErrors raised by the machine (allocator, threads, GPU libraries),
#: not by a proxy's mathematics: such a failure stops the run and is never stored as a score
ENVIRONMENT_MARKERS = ("bad_alloc", "defaultcpuallocator", "can't start new thread", "cuda error", "cudnn_status",
                       "cublas_status", "cusolver_status", "nccl error", "too many open files", "no space left",
                       "resource temporarily unavailable", "cuda driver", "no cuda gpus")


def is_environment_failure(err: BaseException) -> bool:
    """Whether ``err`` comes from the machine rather than from the proxy's computation."""
    if isinstance(err, (MemoryError, OSError, ImportError)):
        return True
    return isinstance(err, RuntimeError) and is_environment_message(str(err))


def is_environment_message(text: str) -> bool:
    """Whether a stored error text names a failure of the machine (stored by versions that did
    not tell them apart): such a score is computed again, never served."""
    return any(marker in text.lower() for marker in ENVIRONMENT_MARKERS)


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else ""


def environment_failure(proxy: str, index: int, err: BaseException) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"{proxy} on architecture {index} failed because of the machine, not the proxy "
        f"({type(err).__name__}: {first_line(err) or 'no message'}): nothing stored for it; "
        f"scores already computed are kept, rerun once the cause (memory, --threads, device) is fixed")


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()
