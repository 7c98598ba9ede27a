"""Cell operations of the NDS cell spaces (Amoeba, DARTS, ENAS, NASNet, PNAS), as pycls defines them.

Every operation maps C channels to C channels; ``stride`` 2 halves the resolution (reduction cells
apply it to the edges leaving the two cell inputs). Convolutions are ReLU -> conv(s) -> BN, without
bias; pools carry no BN, as in pycls's ``models/nas/operations.py`` (which follows DARTS).
Modules are created in pycls's order so a given torch seed gives the same initial weights.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
from torch import nn


def norm(channels: int, bn: bool = True) -> nn.Module:
    """BatchNorm2d (affine, running stats), or identity when ``bn`` is off (e.g. for synflow)."""
    return nn.BatchNorm2d(channels) if bn else nn.Identity()


def _conv(c_in: int, c_out: int, kernel, stride=1, padding=0, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     bias=False)


class ReLUConvBN(nn.Sequential):
    """ReLU -> k x k conv -> BN (cell preprocessing and the plain conv operations)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, bn: bool = True):
        super().__init__(nn.ReLU(inplace=False), _conv(c_in, c_out, kernel, stride, padding), norm(c_out, bn))


class FactorizedConv(nn.Sequential):
    """ReLU -> 1 x k conv -> k x 1 conv -> BN (pycls's ``conv_3x1_1x3`` and ``conv_7x1_1x7``).

    The stride is split the same way: (1, s) on the first conv, (s, 1) on the second.
    """

    def __init__(self, channels: int, kernel: int, stride: int, bn: bool = True):
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            _conv(channels, channels, (1, kernel), stride=(1, stride), padding=(0, pad)),
            _conv(channels, channels, (kernel, 1), stride=(stride, 1), padding=(pad, 0)),
            norm(channels, bn),
        )


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise k x k conv -> pointwise conv -> BN."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int, bn: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            _conv(channels, channels, kernel, stride, padding, dilation, groups=channels),
            _conv(channels, channels, 1),
            norm(channels, bn),
        )


class SepConv(nn.Sequential):
    """Two stacked (ReLU -> depthwise k x k -> pointwise -> BN), the first carrying the stride.

    With ``dilation`` > 1 this is pycls's ``dil_sep_conv`` (both depthwise convs dilated).
    """

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int = 1, bn: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            _conv(channels, channels, kernel, stride, padding, dilation, groups=channels),
            _conv(channels, channels, 1),
            norm(channels, bn),
            nn.ReLU(inplace=False),
            _conv(channels, channels, kernel, 1, padding, dilation, groups=channels),
            _conv(channels, channels, 1),
            norm(channels, bn),
        )


class Zero(nn.Module):
    """The ``none`` operation: the input (subsampled at stride 2) times zero.

    Multiplying (rather than allocating zeros) keeps the edge in the autograd graph, as pycls does;
    this decides which ReLUs NASWOT counts as lying on an input-output path.
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution: ReLU, then two 1x1 stride-2 convs on pixel grids offset by one,
    concatenated (C_out / 2 channels each), then BN."""

    def __init__(self, c_in: int, c_out: int, bn: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = _conv(c_in, c_out // 2, 1, stride=2)
        self.conv_2 = _conv(c_in, c_out // 2, 1, stride=2)
        self.bn = norm(c_out, bn)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = self.pad(x)[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _skip(channels: int, stride: int, bn: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, bn)


#: operation name -> builder(channels, stride, bn); the names NDS genotypes use
OPS: Dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda c, s, bn: Zero(s),
    "skip_connect": _skip,
    "avg_pool_3x3": lambda c, s, bn: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "max_pool_3x3": lambda c, s, bn: nn.MaxPool2d(3, stride=s, padding=1),
    "max_pool_5x5": lambda c, s, bn: nn.MaxPool2d(5, stride=s, padding=2),
    "max_pool_7x7": lambda c, s, bn: nn.MaxPool2d(7, stride=s, padding=3),
    "conv_1x1": lambda c, s, bn: ReLUConvBN(c, c, 1, s, 0, bn),
    "conv_3x3": lambda c, s, bn: ReLUConvBN(c, c, 3, s, 1, bn),
    "conv_3x1_1x3": lambda c, s, bn: FactorizedConv(c, 3, s, bn),
    "conv_7x1_1x7": lambda c, s, bn: FactorizedConv(c, 7, s, bn),
    "sep_conv_3x3": lambda c, s, bn: SepConv(c, 3, s, 1, bn=bn),
    "sep_conv_5x5": lambda c, s, bn: SepConv(c, 5, s, 2, bn=bn),
    "sep_conv_7x7": lambda c, s, bn: SepConv(c, 7, s, 3, bn=bn),
    "dil_conv_3x3": lambda c, s, bn: DilConv(c, 3, s, 2, 2, bn),
    "dil_conv_5x5": lambda c, s, bn: DilConv(c, 5, s, 4, 2, bn),
    "dil_sep_conv_3x3": lambda c, s, bn: SepConv(c, 3, s, 2, dilation=2, bn=bn),
}

OP_NAMES: Tuple[str, ...] = tuple(OPS)


def make_op(name: str, channels: int, stride: int, bn: bool = True) -> nn.Module:
    """One cell operation by its NDS name; ValueError names the valid ones."""
    try:
        builder = OPS[name]
    except KeyError:
        raise ValueError(f"unknown NDS cell operation '{name}'; valid: {', '.join(OP_NAMES)}") from None
    return builder(channels, stride, bn)
