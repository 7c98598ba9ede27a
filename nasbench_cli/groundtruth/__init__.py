"""Benchmark ground truth: compact accuracy tables, and converters from the official archives.

Reading a table is cheap and needs no benchmark API; converting an official archive (NAS-Bench-201
``.pth``, NATS-Bench directory or ``.pickle.pbz2``, NAS-Bench-101 ``.tfrecord``) is done once with
``nasbench data convert``. The NB201 table ships inside the package (``data/``, see
:mod:`nasbench_cli.groundtruth.embedded`): :func:`find_ground_truth` takes a table in the data
directory first, else that one for ``nb201`` and ``nats-tss``.
"""

from nasbench_cli.groundtruth.convert import (
    ArchiveFormat,
    ConversionReport,
    archive_table,
    convert_archive,
    convert_nb101,
    default_space,
    detect_archive,
)
from nasbench_cli.groundtruth.embedded import EMBEDDED_SPACES, embedded_source, embedded_table_path
from nasbench_cli.groundtruth.table import (
    GroundTruth,
    accuracy_column,
    cost_column,
    embedded_ground_truth,
    find_ground_truth,
    ground_truth_path,
    parse_accuracy_column,
)

__all__ = [
    "ArchiveFormat",
    "ConversionReport",
    "EMBEDDED_SPACES",
    "GroundTruth",
    "accuracy_column",
    "archive_table",
    "convert_archive",
    "convert_nb101",
    "default_space",
    "cost_column",
    "detect_archive",
    "embedded_ground_truth",
    "embedded_source",
    "embedded_table_path",
    "find_ground_truth",
    "ground_truth_path",
    "parse_accuracy_column",
]
