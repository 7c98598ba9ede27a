"""NDS (Network Design Spaces, Radosavovic et al. 2019): the release's ``<Space>.json`` files."""

from nasbench_cli.nds.reader import (
    DOWNLOAD_URL,
    NDS_FILES,
    NDSData,
    NDSEntry,
    accuracy_column,
    arch_json,
    dataset_of,
    is_imagenet,
    load_nds,
    nds_path,
    read_nds_table,
)

__all__ = [
    "DOWNLOAD_URL",
    "NDS_FILES",
    "NDSData",
    "NDSEntry",
    "accuracy_column",
    "arch_json",
    "dataset_of",
    "is_imagenet",
    "load_nds",
    "nds_path",
    "read_nds_table",
]
