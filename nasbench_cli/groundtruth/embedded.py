"""The NB201 accuracy table shipped inside the package, so NB201 correlations need no archive.

``data/nb201_ground_truth.csv.gz`` is the compact table (layout: :mod:`nasbench_cli.groundtruth.table`)
of all 15,625 NAS-Bench-201 architectures, derived from the public NAS-Bench-201 / NATS-Bench
releases (MIT licence; see ``data/README.md``). Its columns:

* shared with NATS-Bench tss (same indices, arch strings and accuracies): ``cifar10/ori-test@200``,
  ``cifar100/x-test@200``, ``ImageNet16-120/x-test@200`` and the 12-epoch columns
  ``cifar10-valid/x-valid@12``, ``cifar10/ori-test@12``, ``cifar100/x-valid@12``,
  ``cifar100/x-test@12``, ``ImageNet16-120/x-valid@12``, ``ImageNet16-120/x-test@12``;
* not in it (convert the official archive for them): 200-epoch validation accuracies, the
  ``ori-test`` splits of cifar100 / ImageNet16-120, ``params``/``flops`` and training times (so
  search budgets count queries, not simulated seconds).

Resolution order (:func:`nasbench_cli.groundtruth.table.find_ground_truth`): a table in the data
directory (``<data-dir>/<space>/ground_truth.csv``, the user's own conversion) first, else this one
for the spaces in :data:`EMBEDDED_SPACES`. The file's sha256 is checked before it is read: a
changed byte is refused with a DataCorruptError that says to reinstall.

This module knows the file only (where, which digest, which spaces); parsing it into a
``GroundTruth`` is :func:`nasbench_cli.groundtruth.table.embedded_ground_truth`.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from typing import Tuple

from nasbench_cli.errors import DataCorruptError, DataMissingError

#: the table's file name inside the package's ``groundtruth/data`` folder
EMBEDDED_FILE = "nb201_ground_truth.csv.gz"
#: sha256 of the gzip file as shipped (written with mtime 0, so rebuilding it gives the same bytes)
EMBEDDED_SHA256 = "65cad5305714768528d7b42f953aa5a6f3d790e947f436b2f23bc64a1093cf05"
#: spaces whose indices, arch strings and accuracies are the table's
EMBEDDED_SPACES: Tuple[str, ...] = ("nb201", "nats-tss")
#: number of rows: every NB201 architecture
EMBEDDED_ROWS = 15625

_REINSTALL = "reinstall nasbench-cli (pip install --force-reinstall nasbench-cli)"


def embedded_table_path() -> Path:
    """Where the shipped table lies (inside the installed or editable package)."""
    return Path(__file__).resolve().parent / "data" / EMBEDDED_FILE


def embedded_source(sha256: str = EMBEDDED_SHA256) -> str:
    """The table's name in provenance and ``GroundTruth.source``."""
    return f"embedded NB201 table (sha256 {sha256})"


def serves(space: str) -> bool:
    """True when the embedded table holds ``space``'s indices and accuracies."""
    return space in EMBEDDED_SPACES


def verified_bytes(path: Path) -> bytes:
    """The gzip file's bytes after checking its sha256; one-line errors naming the file."""
    return verified_package_file(path, "the embedded NB201 table", EMBEDDED_SHA256, _REINSTALL)


def verified_package_file(path: Path, what: str, expected: str, hint: str) -> bytes:
    """The bytes of a data file shipped in the package (``what``: e.g. "the embedded NB201 table"),
    accepted only with its sha256 ``expected``; one-line errors naming the file and ending in ``hint``."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataMissingError(f"{path}: {what} is missing from the installation; {hint}") from None
    except OSError as err:
        raise DataCorruptError(f"{path}: cannot read {what} ({err.strerror or err}); {hint}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise DataCorruptError(f"{path}: {what} is damaged (sha256 {digest[:12]}..., "
                               f"expected {expected[:12]}...); {hint}")
    return raw


def read_embedded_csv(path: Path) -> bytes:
    """The table's CSV text (bytes) from the checked gzip file at ``path``."""
    raw = verified_bytes(path)
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:  # only if EMBEDDED_SHA256 was set to a bad file
        raise DataCorruptError(f"{path}: not a gzip file ({err}); {_REINSTALL}") from None
