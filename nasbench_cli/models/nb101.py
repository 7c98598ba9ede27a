"""The NAS-Bench-101 network, built as the benchmark's model builder builds it.

Stem: 3x3 conv-BN-ReLU to ``stem_channels``. Then ``num_stacks`` stacks of ``modules_per_stack``
modules; before every stack but the first a 2x2 max-pool (stride 2) halves the resolution and
the channel count doubles. Global average pooling and a dense layer (with bias) give the logits.

Inside a module (a pruned ModelSpec): each interior vertex sums its inputs, truncated to its own
channel count when a predecessor has one extra channel, plus a 1x1 conv-BN-ReLU projection of the
module input when the input feeds it, then applies its operation. The output concatenates the
vertices that feed it; a 1x1 projection of the module input is added when the input feeds the
output directly. Channel counts follow the benchmark's splitting rule (``vertex_channels``).

Parameters are counted as the benchmark counts trainable variables: convolutions without bias,
BatchNorm with scale and offset, the dense layer with bias. The README's Inception-like cell
gives 2,694,282 with the official configuration.
"""

from __future__ import annotations

import math
from typing import List, Union

import numpy as np
import torch
from torch import nn

from nasbench_cli.errors import UsageError
from nasbench_cli.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, ModelSpec

#: options giving the reduced network the NASWOT authors scored (their code: 16-channel stem,
#: He-normal fan-out convolutions, N(0, 0.01) dense weights); pass num_classes=1 as they do
NASWOT_OPTIONS = {"stem_channels": 16, "init": "naswot"}
INITS = ("default", "naswot")


def vertex_channels(in_channels: int, out_channels: int, matrix: np.ndarray) -> List[int]:
    """Channels at every vertex: the output's channels split evenly over the vertices feeding it
    (the first ``out % fan_in`` of them get one more), other vertices take the largest count
    among their successors. Vertex 0 keeps ``in_channels``."""
    n = matrix.shape[0]
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    feeds_output = [v for v in range(1, n - 1) if matrix[v, n - 1]]
    base, extra = divmod(out_channels, len(feeds_output))
    for k, v in enumerate(feeds_output):
        channels[v] = base + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):  # backwards, so successors are already set
        if not matrix[v, n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v, w])
    return channels


class ConvBnRelu(nn.Sequential):
    """conv (no bias, 'same' padding) -> BatchNorm (or nothing when bn=False) -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bn: bool = True):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out) if bn else nn.Identity(),
            nn.ReLU(inplace=False),  # not in place: proxies hook ReLU inputs
        )


def _vertex_op(op: str, channels: int, bn: bool) -> nn.Module:
    if op == CONV3X3:
        return ConvBnRelu(channels, channels, 3, bn)
    if op == CONV1X1:
        return ConvBnRelu(channels, channels, 1, bn)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 operation {op!r}")  # ModelSpec has already rejected it


class Module(nn.Module):
    """One NB101 module (cell) of a pruned spec."""

    def __init__(self, spec: ModelSpec, in_channels: int, out_channels: int, bn: bool = True):
        super().__init__()
        matrix = spec.matrix
        n = matrix.shape[0]
        self.num_vertices = n
        self.channels = vertex_channels(in_channels, out_channels, matrix)
        # per vertex t: interior predecessors, whether the module input feeds it
        self.preds = [[s for s in range(1, t) if matrix[s, t]] for t in range(n)]
        self.from_input = [bool(matrix[0, t]) for t in range(n)]
        self.to_output = [t for t in range(1, n - 1) if matrix[t, n - 1]]
        self.ops = nn.ModuleList(
            [nn.Identity()] + [_vertex_op(spec.ops[t], self.channels[t], bn) for t in range(1, n - 1)]
        )
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(in_channels, self.channels[t], 1, bn) for t in range(1, n) if self.from_input[t]}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.num_vertices
        values: List[torch.Tensor] = [x]
        for t in range(1, n - 1):
            c = self.channels[t]
            inputs = [values[s][:, :c] for s in self.preds[t]]  # truncation: drops the extra channel
            if self.from_input[t]:
                inputs.append(self.projections[str(t)](x))
            total = inputs[0]
            for extra in inputs[1:]:
                total = total + extra
            values.append(self.ops[t](total))
        if not self.to_output:  # input wired straight to output
            return self.projections[str(n - 1)](x)
        out = values[self.to_output[0]] if len(self.to_output) == 1 else torch.cat(
            [values[t] for t in self.to_output], dim=1
        )
        if self.from_input[n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """Stem, stacks of modules with max-pool downsampling, global pooling, dense head."""

    def __init__(
        self,
        spec: ModelSpec,
        num_classes: int = 10,
        stem_channels: int = 128,
        num_stacks: int = 3,
        modules_per_stack: int = 3,
        bn: bool = True,
    ):
        super().__init__()
        self.spec = spec
        layers: List[nn.Module] = [ConvBnRelu(3, stem_channels, 3, bn)]
        in_channels = out_channels = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                out_channels *= 2
            for _ in range(modules_per_stack):
                layers.append(Module(spec, in_channels, out_channels, bn))
                in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean(dim=(2, 3)))


def naswot_init(net: nn.Module) -> None:
    """The NASWOT authors' NB101 initialisation: conv N(0, 2/(k*k*out)), BN 1/0, dense N(0, 0.01)/0."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def build_nb101(
    spec: Union[ModelSpec, str],
    num_classes: int = 10,
    stem_channels: int = 128,
    num_stacks: int = 3,
    modules_per_stack: int = 3,
    bn: bool = True,
    init: str = "default",
) -> NB101Network:
    """The untrained NB101 network of ``spec`` (a ModelSpec or its arch string); forward -> logits.

    ``init="default"`` keeps PyTorch's initialisation; ``init="naswot"`` applies the NASWOT
    authors' (see ``NASWOT_OPTIONS`` for their reduced network).
    """
    if isinstance(spec, str):
        spec = ModelSpec.from_arch_str(spec)
    if init not in INITS:
        raise UsageError(f"unknown NB101 init '{init}'; valid: {', '.join(INITS)}")
    net = NB101Network(spec, num_classes, stem_channels, num_stacks, modules_per_stack, bn)
    if init == "naswot":
        naswot_init(net)
    return net


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters, as the benchmark's ``trainable_parameters`` counts them."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
