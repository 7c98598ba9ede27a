"""AnyNet networks of the NDS ResNet, ResNeXt-A/-B and Vanilla spaces, as pycls built them for NDS.

An NDS entry describes the network per "stage": depths ``ds``, widths ``ws``, strides ``ss``,
bottleneck multipliers ``bot_muls`` and numbers of groups ``num_gs``. The **first** entry is the
stem (always depth 1, width 16, stride 1 on CIFAR): a 3x3 conv + BN + ReLU. The remaining entries are
stages of ``ds[i]`` blocks, the first block of a stage carrying the stride and the width change. The
head is global average pooling and a linear layer. This reading reproduces NDS's recorded parameter
counts exactly (e.g. ResNet ``ds=[1,12,12,12] ws=[16,24,24,40] ss=[1,1,2,2]`` -> 594,138).

Blocks (pycls names; NDS's ``double_plain_block`` is pycls's ``vanilla_block``):

* ``vanilla_block``: [3x3 conv, BN, ReLU] x 2, no shortcut.
* ``res_basic_block``: x + F(x), F = 3x3 conv, BN, ReLU, 3x3 conv, BN; then ReLU.
* ``res_bottleneck_block``: F = 1x1 to w_b = round(w * bot_mul), BN, ReLU, 3x3 grouped conv with
  ``num_gs`` groups (the stride), BN, ReLU, 1x1 to w, BN; then ReLU.

Residual blocks add a 1x1 projection + BN on the shortcut when the width or resolution changes.
ImageNet networks (``_in`` spaces) use pycls's ResNet ImageNet stem (7x7/2 conv, BN, ReLU, 3x3/2 max
pool) with the first entry's width; NDS's ImageNet records were not available to check this.
Weights are initialised as pycls's AnyNet does (He-normal fan-out convs, unit BN, N(0, 0.01) linear).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from nasbench_cli.models.nds_ops import norm

#: NDS block names -> pycls block names
BLOCK_ALIASES: Dict[str, str] = {
    "double_plain_block": "vanilla_block",
    "vanilla_block": "vanilla_block",
    "res_basic_block": "res_basic_block",
    "res_bottleneck_block": "res_bottleneck_block",
}


@dataclass(frozen=True)
class AnyNetSpec:
    """One AnyNet architecture; index 0 of each per-stage tuple describes the stem."""

    block_type: str
    ds: Tuple[int, ...]
    ws: Tuple[int, ...]
    ss: Tuple[int, ...]
    bot_muls: Optional[Tuple[float, ...]] = None
    num_gs: Optional[Tuple[int, ...]] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AnyNetSpec":
        """From NDS's ``net`` dict; ValueError says what is malformed."""
        if not isinstance(data, Mapping):
            raise ValueError(f"AnyNet config must be a dict, got {type(data).__name__}")
        missing = [k for k in ("block_type", "ds", "ws", "ss") if k not in data]
        if missing:
            raise ValueError(f"AnyNet config lacks {', '.join(missing)}")
        block = data["block_type"]
        if block not in BLOCK_ALIASES:
            raise ValueError(f"unknown AnyNet block_type '{block}'; valid: {', '.join(BLOCK_ALIASES)}")
        ds, ws, ss = (_ints(data[k], k) for k in ("ds", "ws", "ss"))
        if not len(ds) == len(ws) == len(ss) >= 2:
            raise ValueError(f"ds, ws and ss must have one entry per stage (stem first), got lengths "
                             f"{len(ds)}, {len(ws)}, {len(ss)}")
        if ds[0] != 1:
            raise ValueError(f"the first stage is the stem and must have depth 1, got ds[0] = {ds[0]}")
        bot_muls = _optional(data.get("bot_muls"), "bot_muls", len(ds), float)
        num_gs = _optional(data.get("num_gs"), "num_gs", len(ds), int)
        spec = cls(BLOCK_ALIASES[block], ds, ws, ss, bot_muls, num_gs)
        spec.check()
        return spec

    def check(self) -> None:
        """ValueError when a stage cannot be built (e.g. groups not dividing the bottleneck width)."""
        if any(v < 1 for v in self.ds[1:] + self.ws + self.ss):
            raise ValueError("depths, widths and strides must be positive")
        if self.block_type != "res_bottleneck_block":
            return
        if self.bot_muls is None or self.num_gs is None:
            raise ValueError("res_bottleneck_block needs bot_muls and num_gs")
        for stage in range(1, len(self.ds)):
            w_b, groups = bottleneck_width(self.ws[stage], self.bot_muls[stage]), self.num_gs[stage]
            if w_b < 1 or groups < 1 or w_b % groups:
                raise ValueError(f"stage {stage}: bottleneck width {w_b} (= round({self.ws[stage]} x "
                                 f"{self.bot_muls[stage]})) must be positive and divisible by {groups} groups")


def _ints(raw: Any, key: str) -> Tuple[int, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"'{key}' must be a list of integers, got {raw!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() for v in raw):
        raise ValueError(f"'{key}' must hold integers, got {list(raw)!r}")
    return tuple(int(v) for v in raw)


def _optional(raw: Any, key: str, length: int, kind: Callable[[Any], Any]) -> Optional[tuple]:
    """A per-stage list that basic and vanilla blocks leave empty (None or [])."""
    if raw is None or (isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 0):
        return None
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != length:
        raise ValueError(f"'{key}' must have {length} entries (one per stage), got {raw!r}")
    try:
        return tuple(kind(v) for v in raw)
    except (TypeError, ValueError):
        raise ValueError(f"'{key}' holds a non-numeric value: {list(raw)!r}") from None


def bottleneck_width(width: int, bot_mul: float) -> int:
    """pycls's bottleneck width, int(round(w * b))."""
    return int(round(width * bot_mul))


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)


class VanillaBlock(nn.Sequential):
    """[3x3 conv, BN, ReLU] x 2 (NDS's ``double_plain_block``)."""

    def __init__(self, w_in: int, w_out: int, stride: int, bn: bool = True, **_unused: Any):
        super().__init__(
            _conv(w_in, w_out, 3, stride), norm(w_out, bn), nn.ReLU(inplace=False),
            _conv(w_out, w_out, 3), norm(w_out, bn), nn.ReLU(inplace=False),
        )


class _Residual(nn.Module):
    """x + F(x) (with a 1x1 projection + BN when the shape changes), then ReLU."""

    def __init__(self, w_in: int, w_out: int, stride: int, bn: bool):
        super().__init__()
        self.proj_block = w_in != w_out or stride != 1
        if self.proj_block:
            self.proj = _conv(w_in, w_out, 1, stride)
            self.bn = norm(w_out, bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.bn(self.proj(x)) if self.proj_block else x
        return self.relu(shortcut + self.f(x))


class ResBasicBlock(_Residual):
    """Residual basic block: F = 3x3 conv, BN, ReLU, 3x3 conv, BN."""

    def __init__(self, w_in: int, w_out: int, stride: int, bn: bool = True, **_unused: Any):
        super().__init__(w_in, w_out, stride, bn)
        self.f = nn.Sequential(
            _conv(w_in, w_out, 3, stride), norm(w_out, bn), nn.ReLU(inplace=False),
            _conv(w_out, w_out, 3), norm(w_out, bn),
        )
        self.relu = nn.ReLU(inplace=False)


class ResBottleneckBlock(_Residual):
    """Residual bottleneck block: F = 1x1, BN, ReLU, grouped 3x3 (stride), BN, ReLU, 1x1, BN."""

    def __init__(self, w_in: int, w_out: int, stride: int, bn: bool = True, bot_mul: float = 1.0,
                 groups: int = 1):
        super().__init__(w_in, w_out, stride, bn)
        w_b = bottleneck_width(w_out, bot_mul)
        self.f = nn.Sequential(
            _conv(w_in, w_b, 1), norm(w_b, bn), nn.ReLU(inplace=False),
            _conv(w_b, w_b, 3, stride, groups=groups), norm(w_b, bn), nn.ReLU(inplace=False),
            _conv(w_b, w_out, 1), norm(w_out, bn),
        )
        self.relu = nn.ReLU(inplace=False)


BLOCKS: Dict[str, Callable[..., nn.Module]] = {
    "vanilla_block": VanillaBlock,
    "res_basic_block": ResBasicBlock,
    "res_bottleneck_block": ResBottleneckBlock,
}


def cifar_stem(width: int, stride: int, bn: bool = True) -> nn.Sequential:
    """pycls's ``res_stem_cifar``: 3x3 conv, BN, ReLU."""
    return nn.Sequential(_conv(3, width, 3, stride), norm(width, bn), nn.ReLU(inplace=False))


def imagenet_stem(width: int, bn: bool = True) -> nn.Sequential:
    """pycls's ``res_stem_in``: 7x7/2 conv, BN, ReLU, 3x3/2 max pool."""
    return nn.Sequential(
        nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False), norm(width, bn), nn.ReLU(inplace=False),
        nn.MaxPool2d(3, stride=2, padding=1),
    )


def init_weights(module: nn.Module) -> None:
    """pycls's initialisation: He-normal (fan-out) convs, BN weight 1 / bias 0, linear N(0, 0.01)."""
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        module.weight.data.normal_(mean=0.0, std=math.sqrt(2.0 / fan_out))
    elif isinstance(module, nn.BatchNorm2d):
        module.weight.data.fill_(1.0)
        module.bias.data.zero_()
    elif isinstance(module, nn.Linear):
        module.weight.data.normal_(mean=0.0, std=0.01)
        module.bias.data.zero_()


class AnyNet(nn.Module):
    """Stem, stages of blocks, global average pooling, linear head."""

    def __init__(self, spec: AnyNetSpec, num_classes: int, imagenet: bool = False, bn: bool = True):
        super().__init__()
        spec.check()
        self.stem = imagenet_stem(spec.ws[0], bn) if imagenet else cifar_stem(spec.ws[0], spec.ss[0], bn)
        block = BLOCKS[spec.block_type]
        stages: List[nn.Module] = []
        w_prev = spec.ws[0]
        for stage in range(1, len(spec.ds)):
            extra = ({"bot_mul": spec.bot_muls[stage], "groups": spec.num_gs[stage]}
                     if spec.block_type == "res_bottleneck_block" else {})
            blocks = [
                block(w_prev if b == 0 else spec.ws[stage], spec.ws[stage], spec.ss[stage] if b == 0 else 1,
                      bn=bn, **extra)
                for b in range(spec.ds[stage])
            ]
            stages.append(nn.Sequential(*blocks))
            w_prev = spec.ws[stage]
        self.stages = nn.Sequential(*stages)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w_prev, num_classes)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avg_pool(self.stages(self.stem(x))).flatten(1))


def build_anynet(spec: AnyNetSpec, num_classes: int, imagenet: bool = False, bn: bool = True) -> AnyNet:
    """The NDS network of an AnyNet-space architecture (CIFAR, or ImageNet when ``imagenet``)."""
    return AnyNet(spec, num_classes, imagenet=imagenet, bn=bn)
