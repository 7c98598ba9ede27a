"""The NAS-Bench-201 / NATS-Bench topology network ("infer.tiny"), built as the benchmark builds it.

Stem 3x3 conv to C channels + BN; three stages of N cells with C, 2C, 4C channels, separated by
residual reduction blocks; BN + ReLU; global average pooling; linear head. Cells are the
benchmark's 4-node DAG, every edge one of five operations. Modules are created in the same
order as the benchmark's code, so a given torch seed gives the same initial weights.

Two other forms of the network, chosen by ``build_nb201``'s options:

- TE-NAS's thin networks (Chen et al., ICLR 2021; github.com/VITA-Group/TENAS, ``prune_tenas.py``
  and ``TinyNetworkDarts``): ``C`` and ``N`` set the width and cells per stage, ``depth`` keeps
  only the first blocks (TE-NAS: ``depth > 0 and index >= depth`` stops), ``stem=False`` feeds
  the input to the first block directly (its input then has ``C`` channels). The linear-region
  network is ``C=1, N=1, depth=1, stem=False``: one 1-channel cell, then BN-ReLU-pool-linear.
- ``variant="zc"``: the zero-cost proxies' own re-implementation of the network (Abdelfattah et
  al., ICLR 2021; github.com/SamsungLabs/zero-cost-nas, ``foresight/models/nasbench2.py`` and
  ``nasbench2_ops.py``), on which that paper's NB201 numbers were computed. Its cell convolutions
  carry a bias (``bias=not affine``) and its cell BatchNorms are ``affine=False,
  track_running_stats=False``; the reduction blocks are the official ones and keep their
  BatchNorms when BatchNorm is removed (their builder ignores ``use_bn``); stem, cells' ops,
  head are otherwise the benchmark's. Deviation: that code builds all five operations of every
  edge and runs only the chosen one; here only the chosen one is built (the unused modules take
  no part in any forward or backward pass, but they consume random draws at construction).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

OP_NAMES: Tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: network variants: the benchmark's own network, and the zero-cost code's re-implementation
VARIANTS: Tuple[str, ...] = ("official", "zc")

Genotype = Sequence[Sequence[Tuple[str, int]]]  # per node: [(op, input node), ...]


def _norm(channels: int, bn: bool) -> nn.Module:
    return nn.BatchNorm2d(channels, affine=True, track_running_stats=True) if bn else nn.Identity()


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown NB201 network variant '{variant}'; valid variants: {', '.join(VARIANTS)}")


def _cell_norm(channels: int, bn: bool, variant: str) -> nn.Module:
    """BatchNorm of a cell operation: the benchmark's, or the zero-cost code's non-affine one
    that always normalises with the batch's statistics."""
    if bn and variant == "zc":
        return nn.BatchNorm2d(channels, affine=False, track_running_stats=False)
    return _norm(channels, bn)


class ReLUConvBN(nn.Sequential):
    """ReLU -> conv -> BN: the benchmark's convolution operation (conv without bias); in the
    ``zc`` variant the conv has a bias and the BN is non-affine without running statistics."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, bn: bool = True,
                 variant: str = "official"):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=variant == "zc"),
            _cell_norm(c_out, bn, variant),
        )


class Zero(nn.Module):
    """The `none` operation. With equal widths it multiplies by zero (rather than allocating
    zeros) as the benchmark does, so the edge stays in the autograd graph: this decides which
    ReLUs NASWOT counts. With a width change it returns fresh zeros, also as the benchmark does."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        if self.stride > 1:
            shape[2] = (shape[2] + self.stride - 1) // self.stride
            shape[3] = (shape[3] + self.stride - 1) // self.stride
        return x.new_zeros(shape)


class AvgPool(nn.Module):
    """3x3 average pooling (padding not counted), with a 1x1 ReLUConvBN when channels change."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn: bool = True, variant: str = "official"):
        super().__init__()
        self.preprocess = ReLUConvBN(c_in, c_out, 1, 1, 0, bn, variant) if c_in != c_out else None
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.preprocess(x) if self.preprocess is not None else x)


class FactorizedReduce(nn.Module):
    """Skip connection across a width change (stride 1: one 1x1 conv) or a stride of 2 (two
    offset 1x1 convs, concatenated). At stride 1 the ReLU exists but is not used, as in the
    benchmark's code; it then never counts as an activation."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn: bool = True, variant: str = "official"):
        super().__init__()
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            half = c_out // 2
            self.convs = nn.ModuleList(
                [nn.Conv2d(c_in, half, 1, stride=2, bias=False), nn.Conv2d(c_in, c_out - half, 1, stride=2, bias=False)]
            )
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        elif stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=1, bias=False)
        else:
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, got {stride}")
        self.bn = _cell_norm(c_out, bn, variant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.conv(x))
        x = self.relu(x)
        y = self.pad(x)
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1))


def make_op(name: str, c_in: int, c_out: int, stride: int, bn: bool = True, variant: str = "official") -> nn.Module:
    """One cell-edge operation by its benchmark name."""
    builders: Dict[str, Callable[[], nn.Module]] = {
        "none": lambda: Zero(c_in, c_out, stride),
        "skip_connect": lambda: nn.Identity()
        if stride == 1 and c_in == c_out
        else FactorizedReduce(c_in, c_out, stride, bn, variant),
        "nor_conv_1x1": lambda: ReLUConvBN(c_in, c_out, 1, stride, 0, bn, variant),
        "nor_conv_3x3": lambda: ReLUConvBN(c_in, c_out, 3, stride, 1, bn, variant),
        "avg_pool_3x3": lambda: AvgPool(c_in, c_out, stride, bn, variant),
    }
    if name not in builders:
        raise ValueError(f"unknown NB201 operation '{name}'")
    return builders[name]()


class Cell(nn.Module):
    """A 4-node DAG: node j is the sum of one operation per earlier node. Edges leaving the
    input node map c_in -> c_out channels, the others c_out -> c_out."""

    def __init__(self, genotype: Genotype, c_in: int, c_out: int, bn: bool = True, variant: str = "official"):
        super().__init__()
        self.edges = nn.ModuleList()
        self.inputs: List[List[Tuple[int, int]]] = []  # per node: (edge module index, input node)
        for node in genotype:
            wiring = []
            for op_name, source in node:
                wiring.append((len(self.edges), source))
                self.edges.append(make_op(op_name, c_in if source == 0 else c_out, c_out, 1, bn, variant))
            self.inputs.append(wiring)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for wiring in self.inputs:
            nodes.append(sum(self.edges[e](nodes[src]) for e, src in wiring))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """Between stages: two 3x3 ReLUConvBN (first with stride 2) plus avg-pool + 1x1 shortcut.

    The same in both variants (the zero-cost code builds it with the benchmark's affine BN and no
    conv bias), except that the ``zc`` variant keeps its BatchNorms when ``bn`` is False."""

    def __init__(self, c_in: int, c_out: int, bn: bool = True, variant: str = "official"):
        super().__init__()
        bn = bn or variant == "zc"
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, bn)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, bn)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class CellNetwork(nn.Module):
    """Stem, three stages of cells joined by residual reductions, then BN-ReLU-pool-linear.

    ``stem=False`` (TE-NAS's linear-region network) replaces the stem by the identity: the input
    goes to the first block as it is."""

    def __init__(self, cells: Sequence[nn.Module], c_stem: int, c_last: int, num_classes: int, bn: bool = True,
                 stem: bool = True):
        super().__init__()
        self.stem = (nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), _norm(c_stem, bn)) if stem
                     else nn.Identity())
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(_norm(c_last, bn), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x)).flatten(1)
        return self.classifier(x)


def block_plan(widths: Sequence[int]) -> List[Tuple[int, bool]]:
    """(width, is_reduction) per block for 3N+2 widths: N cells, reduction, N cells, reduction, N cells."""
    if len(widths) % 3 != 2:
        raise ValueError(f"a topology network needs 3N+2 block widths, got {len(widths)}")
    n = len(widths) // 3
    return [(w, i in (n, 2 * n + 1)) for i, w in enumerate(widths)]


def parse_genotype(arch_str: str) -> List[List[Tuple[str, int]]]:
    """`|op~0|+|op~0|op~1|+...` -> [[(op, 0)], [(op, 0), (op, 1)], ...] (no validation)."""
    genotype = []
    for node in arch_str.split("+"):
        edges = [tok for tok in node.strip("|").split("|") if tok]
        genotype.append([(op, int(src)) for op, src in (tok.split("~") for tok in edges)])
    return genotype


def build_cell_network(genotype: Genotype, widths: Sequence[int], num_classes: int, bn: bool = True,
                       depth: Optional[int] = None, stem: bool = True, variant: str = "official") -> CellNetwork:
    """A topology network with one width per block (NB201: 16 x5, 32, 32 x5, 64, 64 x5).

    ``depth``: keep only the first ``depth`` blocks (None or <= 0: all); ``stem``: see CellNetwork;
    ``variant``: "official" or "zc" (see the module docstring)."""
    _check_variant(variant)
    plan = block_plan(widths)
    if depth is not None and depth > 0:
        plan = plan[:depth]
    blocks: List[nn.Module] = []
    c_prev = widths[0]
    for width, reduction in plan:
        blocks.append(ResidualReduction(c_prev, width, bn, variant) if reduction
                      else Cell(genotype, c_prev, width, bn, variant))
        c_prev = width
    return CellNetwork(blocks, widths[0], c_prev, num_classes, bn, stem=stem)


def build_nb201(arch_str: str, num_classes: int, bn: bool = True, C: int = 16, N: int = 5,
                depth: Optional[int] = None, stem: bool = True, variant: str = "official") -> CellNetwork:
    """The NAS-Bench-201 network of ``arch_str`` (assumed valid: see spaces.nb201 for checks).

    ``C``/``N``/``depth``/``stem`` give TE-NAS's thin networks (``C=1, N=1, depth=1, stem=False``:
    the single cell of its linear-region count, whose input has 1 channel); ``variant="zc"`` the
    zero-cost code's network."""
    widths = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
    return build_cell_network(parse_genotype(arch_str), widths, num_classes, bn, depth=depth, stem=stem,
                              variant=variant)
