"""Loading official ``torch.save`` archives with ``weights_only=True`` despite their numpy scalars.

torch >= 2.6 unpickles with an allow-list; the NAS-Bench-201 files hold numpy float64 scalars (and
their dtypes), which are not on it. Rather than switching the check off, the few numpy types needed
are allowed for the duration of one load (``torch.serialization.safe_globals``), under both their
numpy 2 names and the numpy 1 names (``numpy.core.multiarray.*``) the official files were written
with.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, List, Tuple, Union

import numpy as np

SafeGlobal = Union[Callable, Tuple[Callable, str]]

# dtypes of the scalars and arrays found in benchmark records (floats, ints, bools)
_DTYPE_CODES = ("f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "?")


def _multiarray() -> Any:
    """numpy's multiarray module under its current name (numpy 2 moved it to ``numpy._core``)."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


def numpy_safe_globals() -> List[SafeGlobal]:
    """The numpy globals that numpy scalars and small arrays pickle to, with numpy-1 aliases."""
    multiarray = _multiarray()
    found: List[SafeGlobal] = [np.dtype, np.ndarray]
    found += sorted({type(np.dtype(code)) for code in _DTYPE_CODES} - {np.dtype}, key=str)
    for name in ("scalar", "_reconstruct"):
        fn = getattr(multiarray, name)
        found.append(fn)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            if f"{fn.__module__}.{name}" != f"{module}.{name}":
                found.append((fn, f"{module}.{name}"))
    return found


@contextlib.contextmanager
def allow_numpy_in_torch_load() -> Iterator[None]:
    """Within the block, ``torch.load(weights_only=True)`` accepts numpy scalars and arrays.

    Uses the scoped ``torch.serialization.safe_globals`` context; on torch versions that only have
    the global ``add_safe_globals`` the types stay allowed (they are plain data types); on torch
    versions without the allow-list nothing is needed.
    """
    import torch.serialization as serialization

    allowed = numpy_safe_globals()
    scoped = getattr(serialization, "safe_globals", None)
    if scoped is not None:
        with scoped(allowed):
            yield
        return
    adder = getattr(serialization, "add_safe_globals", None)
    if adder is not None:  # torch 2.4: no scoped form, no (callable, name) aliases
        adder([item for item in allowed if not isinstance(item, tuple)])
    yield
