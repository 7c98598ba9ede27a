"""The official NAS-Bench-201 ``.pth`` archive, read through the official ``nas_201_api``.

The API is given the file *path* (given a loaded dict it deep-copies it, doubling the memory of an
already huge object) and loads it inside :func:`allow_numpy_in_torch_load`, so torch's
``weights_only`` check stays on. Records are handed out one architecture at a time and dropped from
the API afterwards, so memory falls while a table is being built.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Iterator, Union

from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.groundtruth.safe_load import allow_numpy_in_torch_load
from nasbench_cli.groundtruth.table import ArchRecord

#: the official file names, newest last
NB201_FILES = ("NAS-Bench-201-v1_0-e61699.pth", "NAS-Bench-201-v1_1-096897.pth")
NB201_SOURCE = ("https://github.com/D-X-Y/NAS-Bench-201 (README: NAS-Bench-201-v1_1-096897.pth, "
                "Google Drive)")
#: the API's hp labels for the two archive sections
NB201_HPS = ("12", "200")


def _reason(err: BaseException) -> str:
    """The informative line of a loader error (torch's weights-only message spans many lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line
    return lines[0] if lines else type(err).__name__


def load_nb201_api(path: Union[str, Path]) -> Any:
    """A ``nas_201_api.NASBench201API`` for the official file at ``path``.

    DataMissingError if the file is absent, DataCorruptError (naming the file) if it cannot be read
    as a NAS-Bench-201 archive.
    """
    from nas_201_api import NASBench201API

    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"NAS-Bench-201 archive not found: {path} (get it from {NB201_SOURCE})")
    try:
        with allow_numpy_in_torch_load():
            return NASBench201API(str(path), verbose=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, TypeError, KeyError,
            AttributeError, AssertionError, OSError) as err:
        raise DataCorruptError(
            f"{path}: not a readable NAS-Bench-201 archive ({type(err).__name__}: {_reason(err)})"
        ) from None


def iter_nb201_records(path: Union[str, Path]) -> Iterator[ArchRecord]:
    """Each evaluated architecture of the file, ascending by index, with its '12'/'200' results."""
    api = load_nb201_api(path)
    source = str(path)
    for index in sorted(api.arch2infos_dict):
        # The API's query_meta_info_by_index deep-copies every record; read the dict directly and
        # drop each record once handed out.
        results = api.arch2infos_dict.pop(index)
        try:
            arch = api.meta_archs[index]
        except (IndexError, TypeError):
            raise DataCorruptError(
                f"{source}: architecture {index} has results but no entry in meta_archs") from None
        yield ArchRecord(int(index), str(arch), dict(results), source)
