"""The official NAS-Bench-201 ``.pth`` archive, read with the official ``nas_201_api`` classes.

The file is loaded once under torch's ``weights_only`` allow-list plus numpy scalars
(:func:`load_torch_archive`), and each architecture's two sections become the official
``nas_201_api`` ``ArchResults`` objects (which share the loaded data instead of copying it).
``NASBench201API`` itself is not constructed: given a path it loads through torch's slow
pure-Python checker, and given the loaded dict it deep-copies it -- twice the memory of an already
huge object (about 28 GB for the v1.1 file). Each raw record is dropped once handed out, so memory
falls while a table is being built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from nasbench_cli.errors import DataCorruptError, DataMissingError, NasbenchError
from nasbench_cli.groundtruth.safe_load import load_torch_archive
from nasbench_cli.groundtruth.table import ArchRecord

#: the official file names, newest last
NB201_FILES = ("NAS-Bench-201-v1_0-e61699.pth", "NAS-Bench-201-v1_1-096897.pth")
NB201_SOURCE = ("https://github.com/D-X-Y/NAS-Bench-201 (README: NAS-Bench-201-v1_1-096897.pth, "
                "Google Drive)")
#: archive section -> the API's hp label (12 and 200 training epochs)
NB201_SECTIONS = {"less": "12", "full": "200"}
_KEYS = ("meta_archs", "arch2infos", "evaluated_indexes")


def _reason(err: BaseException) -> str:
    """The informative line of a loader error (torch's weights-only message spans many lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line:
            return line
    return lines[0] if lines else type(err).__name__


def load_nb201_archive(path: Union[str, Path]) -> Dict[str, Any]:
    """The raw archive dict (``meta_archs``, ``arch2infos``, ``evaluated_indexes``).

    DataMissingError if the file is absent, DataCorruptError (naming the file) if it cannot be read
    as a NAS-Bench-201 archive.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"NAS-Bench-201 archive not found: {path} (get it from {NB201_SOURCE})")
    try:
        archive = load_torch_archive(path)
    except MemoryError:
        raise NasbenchError(
            f"{path}: not enough memory to load it; convert it once on a larger machine with "
            "`nasbench data convert` and copy the table") from None
    except Exception as err:  # whatever the unpickler trips over, the file is unreadable
        raise DataCorruptError(
            f"{path}: not a readable NAS-Bench-201 archive ({type(err).__name__}: {_reason(err)})"
        ) from None
    if not isinstance(archive, dict) or any(key not in archive for key in _KEYS):
        found = (", ".join(map(str, archive)) if isinstance(archive, dict)
                 else type(archive).__name__)
        raise DataCorruptError(
            f"{path}: not a NAS-Bench-201 archive (needs keys {', '.join(_KEYS)}; found {found})")
    return archive


def iter_nb201_records(path: Union[str, Path], listing: Optional[List[str]] = None) -> Iterator[ArchRecord]:
    """Each evaluated architecture of the file, ascending by index, with its '12'/'200' results.

    ``listing``, when given, receives every architecture string of the file's ``meta_archs``
    (evaluated or not) before the first record."""
    from nas_201_api.api_utils import ArchResults

    archive = load_nb201_archive(path)
    infos, archs, source = archive["arch2infos"], archive["meta_archs"], str(path)
    if listing is not None:
        listing.extend(str(arch) for arch in archs)
    for index in sorted(infos):
        sections = infos.pop(index)  # drop the raw record: memory falls as the table grows
        try:
            arch = archs[index]
            results = {hp: ArchResults.create_from_state_dict(sections[name])
                       for name, hp in NB201_SECTIONS.items()}
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            raise DataCorruptError(
                f"{source}: malformed record for architecture {index} "
                f"({type(err).__name__}: {err})") from None
        yield ArchRecord(int(index), str(arch), results, source)
