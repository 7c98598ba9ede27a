"""NDS spaces: one per file of the Network Design Spaces release (``nds-darts``, ``nds-resnext-a_in``, ...).

Each space reads ``<data_dir>/nds/<Space>.json`` (see :mod:`nasbench_cli.nds.reader`); architecture
``i`` is the file's i-th job and its string is the job's ``net`` dict as compact, key-sorted JSON.
Cell spaces (Amoeba, DARTS, ENAS, NASNet, PNAS) build DARTS-style cell networks, the ResNet,
ResNeXt and Vanilla spaces AnyNet networks; ``_in`` files hold ImageNet networks.

Datasets: CIFAR spaces list ``cifar10``; ImageNet spaces list ``imagenet`` (224 px ImageNet), which
the toolkit does not provide, so they can be scored only on ``synthetic`` batches (a smoke test:
their networks accept any input of at least 32x32 pixels).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from torch import nn

from nasbench_cli.errors import DataCorruptError, InvalidArchError
from nasbench_cli.models.anynet import AnyNetSpec, build_anynet
from nasbench_cli.models.nds_cells import Genotype, build_cell_network
from nasbench_cli.nds.reader import (
    NDS_FILES,
    NDSData,
    NDSEntry,
    arch_json,
    dataset_of,
    is_imagenet,
    load_nds,
    nds_path,
)
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.spaces.base import SPACES, SearchSpace
from nasbench_cli.spaces.benchmark import BenchmarkFile, BenchmarkInfo
from nasbench_cli.untrusted import parse_json

_CELL_FAMILIES = ("Amoeba", "DARTS", "ENAS", "NASNet", "PNAS")
_VARIANTS = {
    "fix-w-d": "fixed width and depth",
    "lr-wd": "random learning rate and weight decay",
    "reruns": "top and mid networks retrained",
    "rng1": "seed 1 rerun",
    "rng2": "seed 2 rerun",
    "rng3": "seed 3 rerun",
}

#: every NDS space reads its accuracies straight from its file in this release
NDS_RELEASE = BenchmarkFile("NDS json files", ("nds/*.json",),
                            "https://dl.fbaipublicfiles.com/nds/data.zip (unpack the *.json files into nds/)")


def nds_benchmark(stem: str) -> BenchmarkInfo:
    """The facts of one NDS file: its dataset, its release, test accuracy after each net's ``max_ep``."""
    dataset = dataset_of(stem)
    return BenchmarkInfo(datasets=(dataset,), archives=(NDS_RELEASE,), test_splits={dataset: "test"})


def build_nds_network(net: Mapping[str, Any], num_classes: int, imagenet: bool = False, bn: bool = True,
                      aux: bool = False) -> nn.Module:
    """The network of an NDS ``net`` dict; ValueError says what is malformed.

    ``aux``: add the auxiliary head when the entry has ``aux`` set (only to count parameters as NDS
    does; the head is never used in ``forward``).
    """
    if "genotype" in net:
        genotype = Genotype.from_dict(net["genotype"])
        width, depth = net.get("width"), net.get("depth")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, depth)):
            raise ValueError(f"cell network needs integer 'width' and 'depth', got {width!r}, {depth!r}")
        return build_cell_network(genotype, width, depth, num_classes, imagenet=imagenet,
                                  aux=bool(aux and net.get("aux")), bn=bn)
    return build_anynet(AnyNetSpec.from_dict(net), num_classes, imagenet=imagenet, bn=bn)


class NDSSpace(SearchSpace):
    """Base of the NDS spaces; each registration is a subclass setting ``name``, ``file_stem`` and
    ``benchmark`` (:func:`nds_benchmark`)."""

    file_stem: str = ""

    def __init__(self, data_dir: Optional[Path] = None):
        super().__init__(data_dir)
        self.path = nds_path(resolve_data_dir(data_dir), self.file_stem)
        self._data: NDSData = load_nds(self.path, self.file_stem)
        self._first: Dict[str, int] = {}
        for index, entry in enumerate(self._data.entries):
            self._first.setdefault(entry.arch, index)  # reruns repeat nets: a string names the first

    @property
    def imagenet(self) -> bool:
        return is_imagenet(self.file_stem)

    @property
    def index_order(self) -> str:
        """Where indices come from: position in the NDS file (top then mid for reruns files)."""
        return f"{self._data.source} (position in file)"

    def __len__(self) -> int:
        return len(self._data.entries)

    def entry(self, index: int) -> NDSEntry:
        """The file's record of architecture ``index`` (accuracy, epochs, params, flops)."""
        return self._data.entries[index]

    def net_config(self, index: int) -> Dict[str, Any]:
        """The ``net`` dict of architecture ``index``."""
        return parse_json(self._data.entries[index].arch, f"{self.path}, architecture {index}")

    def arch_str(self, index: int) -> str:
        return self._data.entries[index].arch

    def index_of(self, text: str) -> int:
        try:
            net = parse_json(text, "the architecture")
        except DataCorruptError as err:
            raise InvalidArchError(f"{self.name}: an architecture is the JSON of an NDS 'net' dict "
                                   f"({str(err).split(': ', 1)[-1]})") from None
        if not isinstance(net, dict):
            raise InvalidArchError(f"{self.name}: an architecture is the JSON of an NDS 'net' dict, got "
                                   f"{type(net).__name__}")
        try:
            return self._first[arch_json(net)]
        except KeyError:
            raise InvalidArchError(f"{self.name}: architecture {text.strip()[:80]} is not in {self.path}") from None

    def build(self, index: int, num_classes: int, bn: bool = True, aux: bool = False, **options: Any) -> nn.Module:
        """The untrained network (``aux=True``: with the auxiliary head, for parameter counts)."""
        try:
            return build_nds_network(self.net_config(index), num_classes, imagenet=self.imagenet, bn=bn, aux=aux)
        except ValueError as err:
            raise DataCorruptError(f"{self.path}: job {index} describes no buildable network ({err})") from None

    def ground_truth(self):
        """The accuracies, params and flops as a GroundTruth table (source: the NDS file)."""
        return self._data.ground_truth()


def _describe(stem: str) -> str:
    imagenet = is_imagenet(stem)
    family, _, variant = (stem[: -len("_in")] if imagenet else stem).partition("_")
    kind = "cell" if family in _CELL_FAMILIES else "AnyNet"
    extra = f", {_VARIANTS.get(variant, variant)}" if variant else ""
    return f"NDS {family} {kind} space{extra} ({'ImageNet' if imagenet else 'CIFAR-10'}; nds/{stem}.json)"


def _space_class(stem: str) -> type:
    """A registered subclass of NDSSpace for one NDS file."""
    attrs = {
        "name": f"nds-{stem.lower()}",
        "file_stem": stem,
        "benchmark": nds_benchmark(stem),
        "__doc__": _describe(stem),
        "__module__": __name__,
    }
    return type("NDS_" + re.sub(r"\W", "_", stem) + "_Space", (NDSSpace,), attrs)


for _stem in NDS_FILES:
    SPACES.add(f"nds-{_stem.lower()}", _space_class(_stem))
