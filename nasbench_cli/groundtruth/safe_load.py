"""Loading official ``torch.save`` archives with ``weights_only=True`` despite their numpy scalars.

torch >= 2.6 unpickles with an allow-list; the NAS-Bench-201 files hold numpy float64 scalars (and
their dtypes), which are not on it. Rather than switching the check off, the few numpy types needed
are allowed for the duration of one load (``torch.serialization.safe_globals``), under both their
numpy 2 names and the numpy 1 names (``numpy.core.multiarray.*``) the official files were written
with.

torch's allow-listing unpickler is written in Python and reads about 1 MB/s, over an hour for the
4.7 GB NAS-Bench-201 v1.1 file. :func:`load_torch_archive` therefore first reads tensor-free files
(the NAS-Bench-201 archives hold results, not weights) with the C unpickler restricted to the same
allow-list -- the standard "restricting globals" recipe of the ``pickle`` documentation -- which is
about 40 times faster, and leaves files holding tensors to ``torch.load(weights_only=True)``.

The same restricted unpickler reads every other pickle of the package (the NATS-Bench archives,
their meta and record files: :func:`load_pickle`), so no data file can run code: a global outside the
allow-list (``os.system``, ``builtins.eval``, ...) stops the load with a one-line DataCorruptError.
"""

from __future__ import annotations

import bz2
import codecs
import collections
import contextlib
import pickle
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from nasbench_cli.errors import DataCorruptError
from nasbench_cli.untrusted import open_regular

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
    # arrays pickled with protocol 5 (Python 3.8+ defaults) rebuild through numeric._frombuffer
    frombuffer = getattr(_numeric(), "_frombuffer", None)
    if frombuffer is not None:
        found += [(frombuffer, f"{module}._frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")]
    return found


def _numeric() -> Any:
    """numpy's numeric module under its current name (numpy 2 moved it to ``numpy._core``)."""
    try:
        from numpy._core import numeric  # numpy >= 2
    except ImportError:  # numpy 1
        from numpy.core import numeric  # type: ignore[no-redef]
    return numeric


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


# torch.save's legacy (pre-1.6) format: four pickles -- magic number, protocol version, system
# info, the object -- then the storage keys and the raw storages.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _HoldsTensors(Exception):
    """The file references torch objects (tensors, storages): torch's own loader must read it."""


def _plain_globals() -> Dict[Tuple[str, str], Any]:
    """(module, name) -> object for everything the restricted unpickler may reference."""
    allowed: Dict[Tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("_codecs", "encode"): codecs.encode,  # how protocol 2 stores bytes
        ("builtins", "set"): set,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "complex"): complex,
    }
    for key in list(allowed):  # Python 2 names, which the overridden find_class sees unmapped
        if key[0] == "builtins":
            allowed[("__builtin__", key[1])] = allowed[key]
    for item in numpy_safe_globals():
        if isinstance(item, tuple):
            obj, full = item
        else:
            obj, full = item, f"{item.__module__}.{item.__qualname__}"
        module, _, name = full.rpartition(".")
        allowed[(module, name)] = obj
    return allowed


class ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list (``name``: 'module.qualname')."""

    def __init__(self, name: str):
        super().__init__(f"Unsupported global: GLOBAL {name} is not allowed")
        self.name = name


class _RestrictedUnpickler(pickle.Unpickler):
    """The C unpickler, resolving only allow-listed globals and refusing persistent ids.

    ``defer_torch``: torch globals and persistent ids raise :class:`_HoldsTensors` (for
    :func:`load_torch_archive`, which hands such files to torch's own allow-list); otherwise they
    are refused like any other global.
    """

    def __init__(self, file: Any, allowed: Dict[Tuple[str, str], Any], defer_torch: bool = True,
                 encoding: str = "ASCII"):
        super().__init__(file, encoding=encoding)
        self._allowed = allowed
        self._defer_torch = defer_torch

    def find_class(self, module: str, name: str) -> Any:
        if self._defer_torch and (module == "torch" or module.startswith("torch.")):
            raise _HoldsTensors(f"{module}.{name}")  # tensors: torch's allow-list decides
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        if self._defer_torch:
            raise _HoldsTensors(pid)
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _restricted_load(path: Path) -> Any:
    """The object of a tensor-free ``torch.save`` file (legacy or zip format)."""
    allowed = _plain_globals()
    with open_regular(path, "torch.save archive") as handle:  # the checked layer: a FIFO never blocks
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                names = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
                if not names:
                    raise pickle.UnpicklingError("zip archive without data.pkl")
                with archive.open(names[0]) as member:
                    return _RestrictedUnpickler(member, allowed).load()
        handle.seek(0)
        if _RestrictedUnpickler(handle, allowed).load() != _LEGACY_MAGIC:
            raise pickle.UnpicklingError("not a torch.save file (wrong magic number)")
        if _RestrictedUnpickler(handle, allowed).load() != _LEGACY_PROTOCOL:
            raise pickle.UnpicklingError("unsupported torch.save protocol version")
        _RestrictedUnpickler(handle, allowed).load()  # system info
        return _RestrictedUnpickler(handle, allowed).load()


def load_torch_archive(path: Union[str, Path]) -> Any:
    """The object in a ``torch.save`` file, loaded under torch's ``weights_only`` allow-list plus
    numpy scalars; fast for tensor-free files (see the module docstring)."""
    path = Path(path)
    try:
        return _restricted_load(path)
    except _HoldsTensors:
        import torch

        with allow_numpy_in_torch_load():
            return torch.load(path, map_location="cpu", weights_only=True)


def _refused(path: Path, what: str, err: ForbiddenGlobal) -> DataCorruptError:
    return DataCorruptError(
        f"{path}: refused to load: it asks for the global {err.name}, which a {what} never holds "
        "(a tampered or foreign file; replace it with the official one)")


def load_pickle(path: Union[str, Path], what: str = "benchmark file",
                bz2_compressed: Optional[bool] = None, encoding: str = "ASCII") -> Any:
    """The object in a pickle file, read with the restricted unpickler: only plain data types and
    numpy scalars/arrays can be built. ``bz2_compressed`` defaults to "the name ends in .pbz2".

    A global outside the allow-list raises DataCorruptError naming the file and the global
    (``what`` says what the file should have been); a missing file DataMissingError, a special
    one DataCorruptError (``untrusted.open_regular``); every other failure (truncation, bad
    compression, OSError, MemoryError) propagates for the caller to describe.
    """
    path = Path(path)
    if bz2_compressed is None:
        bz2_compressed = path.name.endswith(".pbz2")
    with open_regular(path, what) as raw:  # the checked layer: regular file, opened without blocking
        handle = bz2.open(raw, "rb") if bz2_compressed else raw
        try:
            return _RestrictedUnpickler(handle, _plain_globals(), defer_torch=False,
                                        encoding=encoding).load()
        except ForbiddenGlobal as err:
            raise _refused(path, what, err) from None
