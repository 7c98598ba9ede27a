"""NAS-Bench-101 without TensorFlow: module specs and hashes, the tfrecord archive reader."""

from nasbench_cli.nb101.reader import convert_nb101_tfrecord, load_nb101_table, read_nb101_tfrecord
from nasbench_cli.nb101.spec import OPS, ModelSpec, format_arch, hash_module, parse_arch

__all__ = [
    "OPS",
    "ModelSpec",
    "convert_nb101_tfrecord",
    "format_arch",
    "hash_module",
    "load_nb101_table",
    "parse_arch",
    "read_nb101_tfrecord",
]
