"""DARTS-style cell networks of the NDS cell spaces, built as pycls builds them (``models/nas/nas.py``).

A genotype lists, per cell type, two ``(operation, input)`` pairs per intermediate node; inputs 0 and
1 are the (preprocessed) outputs of the previous two cells, input k >= 2 is intermediate node k - 2.
The cell's output concatenates the states listed in ``*_concat``.

* CIFAR network: stem 3x3 conv to 3C channels + BN; ``depth`` cells, the ones at depth // 3 and
  2 * depth // 3 being reduction cells that double C; global average pooling; linear head.
* ImageNet network (the ``_in`` spaces): two stems, ``stem0`` = conv 3x3/2 to C/2, BN, ReLU,
  conv 3x3/2 to C, BN and ``stem1`` = ReLU, conv 3x3/2, BN; the first cell sees two reduced inputs.

Drop-path is not implemented (NDS's scoring setting is drop_prob 0). The auxiliary head is built
only when asked (``aux=True``): pycls counts its parameters in ``params`` whenever the entry has
``aux`` set, but the head never takes part in ``forward``, which returns the main logits only.
Modules are created in pycls's order, so a given torch seed gives the same initial weights
(PyTorch's default initialisation, as pycls's NAS networks use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Sequence, Tuple

import torch
from torch import nn

from nasbench_cli.models.nds_ops import OPS, FactorizedReduce, ReLUConvBN, make_op, norm

Edge = Tuple[str, int]  # (operation, input state)


@dataclass(frozen=True)
class Genotype:
    """A cell-space architecture: normal and reduction cells and the states each concatenates."""

    normal: Tuple[Edge, ...]
    normal_concat: Tuple[int, ...]
    reduce: Tuple[Edge, ...]
    reduce_concat: Tuple[int, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Genotype":
        """From NDS's ``net['genotype']`` dict; ValueError says what is malformed."""
        if not isinstance(data, Mapping):
            raise ValueError(f"genotype must be a dict, got {type(data).__name__}")
        missing = [k for k in ("normal", "normal_concat", "reduce", "reduce_concat") if k not in data]
        if missing:
            raise ValueError(f"genotype lacks {', '.join(missing)}")
        parts = {}
        for cell in ("normal", "reduce"):
            edges = _edges(data[cell], cell)
            parts[cell] = edges
            parts[f"{cell}_concat"] = _concat(data[f"{cell}_concat"], cell, 2 + len(edges) // 2)
        return cls(**parts)


def _edges(raw: Any, cell: str) -> Tuple[Edge, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw or len(raw) % 2:
        raise ValueError(f"genotype '{cell}' must be a non-empty list of [op, input] pairs, two per node")
    edges = []
    for k, pair in enumerate(raw):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"genotype '{cell}' entry {k} must be [op, input], got {pair!r}")
        op, source = pair
        if op not in OPS:
            raise ValueError(f"genotype '{cell}' entry {k}: unknown operation '{op}'")
        node = k // 2
        if not isinstance(source, int) or isinstance(source, bool) or not 0 <= source < node + 2:
            raise ValueError(f"genotype '{cell}' entry {k}: input {source!r} must be an int in 0..{node + 1}")
        edges.append((str(op), int(source)))
    return tuple(edges)


def _concat(raw: Any, cell: str, num_states: int) -> Tuple[int, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValueError(f"genotype '{cell}_concat' must be a non-empty list of state indices")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_states for i in raw):
        raise ValueError(f"genotype '{cell}_concat' {list(raw)!r} must hold state indices in 0..{num_states - 1}")
    return tuple(int(i) for i in raw)


class Cell(nn.Module):
    """One normal or reduction cell (reduction: stride 2 on the edges leaving inputs 0 and 1)."""

    def __init__(self, edges: Sequence[Edge], concat: Sequence[int], c_prev_prev: int, c_prev: int, channels: int,
                 reduction: bool, reduction_prev: bool, bn: bool = True):
        super().__init__()
        # a reduction before this cell leaves input 0 at twice the resolution of input 1
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels, bn) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0, bn))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0, bn)
        self.ops = nn.ModuleList(
            make_op(op, channels, 2 if reduction and source < 2 else 1, bn) for op, source in edges
        )
        self.sources: Tuple[int, ...] = tuple(source for _, source in edges)
        self.concat: Tuple[int, ...] = tuple(concat)
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states: List[torch.Tensor] = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(0, len(self.ops), 2):
            states.append(self.ops[k](states[self.sources[k]]) + self.ops[k + 1](states[self.sources[k + 1]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier (CIFAR: for 8x8 inputs; ImageNet: 14x14, no BN after the 2x2 conv,
    as in DARTS's and pycls's code). Built only so that parameter counts match NDS's."""

    def __init__(self, channels: int, num_classes: int, imagenet: bool, bn: bool = True):
        super().__init__()
        layers: List[nn.Module] = [
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2 if imagenet else 3, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            norm(128, bn),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if not imagenet:
            layers.append(norm(768, bn))
        layers.append(nn.ReLU(inplace=False))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def _stem_conv(c_in: int, c_out: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class NDSCellNetwork(nn.Module):
    """Stem(s), ``depth`` cells with reductions at depth // 3 and 2 * depth // 3, pooling, linear."""

    def __init__(self, genotype: Genotype, width: int, depth: int, num_classes: int, imagenet: bool = False,
                 aux: bool = False, bn: bool = True):
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError(f"cell network needs width >= 1 and depth >= 1, got width {width}, depth {depth}")
        self.imagenet = imagenet
        if imagenet:
            self.stem0 = nn.Sequential(
                _stem_conv(3, width // 2, 2), norm(width // 2, bn), nn.ReLU(inplace=False),
                _stem_conv(width // 2, width, 2), norm(width, bn),
            )
            self.stem1 = nn.Sequential(nn.ReLU(inplace=False), _stem_conv(width, width, 2), norm(width, bn))
            c_prev_prev = c_prev = width
            reduction_prev = True
        else:
            c_stem = 3 * width
            self.stem = nn.Sequential(_stem_conv(3, c_stem, 1), norm(c_stem, bn))
            c_prev_prev = c_prev = c_stem
            reduction_prev = False
        channels = width
        reductions = {depth // 3, 2 * depth // 3}
        self.cells = nn.ModuleList()
        c_aux = c_prev
        for i in range(depth):
            reduction = i in reductions
            if reduction:
                channels *= 2
            edges, concat = ((genotype.reduce, genotype.reduce_concat) if reduction
                             else (genotype.normal, genotype.normal_concat))
            cell = Cell(edges, concat, c_prev_prev, c_prev, channels, reduction, reduction_prev, bn)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * channels
            if i == 2 * depth // 3:
                c_aux = c_prev
        if aux:
            self.auxiliary_head = AuxiliaryHead(c_aux, num_classes, imagenet, bn)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


def build_cell_network(genotype: Genotype, width: int, depth: int, num_classes: int, imagenet: bool = False,
                       aux: bool = False, bn: bool = True) -> NDSCellNetwork:
    """The NDS network of a cell-space architecture (CIFAR, or ImageNet when ``imagenet``)."""
    return NDSCellNetwork(genotype, width, depth, num_classes, imagenet=imagenet, aux=aux, bn=bn)
