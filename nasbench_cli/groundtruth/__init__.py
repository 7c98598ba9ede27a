"""Benchmark ground truth: compact accuracy tables, and converters from the official archives.

Reading a table is cheap and needs no benchmark API; converting an official archive (NAS-Bench-201
``.pth``, NATS-Bench directory or ``.pickle.pbz2``, NAS-Bench-101 ``.tfrecord``) is done once with
``nasbench data convert``.
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
from nasbench_cli.groundtruth.table import (
    GroundTruth,
    accuracy_column,
    cost_column,
    find_ground_truth,
    ground_truth_path,
    parse_accuracy_column,
)

__all__ = [
    "ArchiveFormat",
    "ConversionReport",
    "GroundTruth",
    "accuracy_column",
    "archive_table",
    "convert_archive",
    "convert_nb101",
    "default_space",
    "cost_column",
    "detect_archive",
    "find_ground_truth",
    "ground_truth_path",
    "parse_accuracy_column",
]
