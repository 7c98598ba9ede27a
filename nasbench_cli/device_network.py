"""A network on its scoring device: moved there in one copy, and reset for each proxy in place.

Moving a module with ``module.to(device)`` copies each of its ~200 tensors separately (7.5 ms of
an NB201 network's 47 ms NASWOT score on an H200); here every tensor of one dtype is packed into a
single host buffer, copied once, and the module's tensors become views of the device copy.
Several proxies scoring the same network used to get a ``copy.deepcopy`` each (42 ms per copy
of an NB201 network on that machine's CPU); ``DeviceNetwork.fresh`` instead writes the initial
values back into the same tensors from a pristine device copy: one copy kernel per dtype.

Values are exactly those of ``module.to(device, dtype)`` and of a deep copy: only copies and
the same dtype casts are involved.
"""

from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn


def module_tensors(module: nn.Module) -> List[torch.Tensor]:
    """Parameters, then buffers, each distinct tensor once, in the module's own order."""
    seen, tensors = set(), []
    for tensor in list(module.parameters()) + list(module.buffers()):
        if id(tensor) not in seen:
            seen.add(id(tensor))
            tensors.append(tensor)
    return tensors


def _target_dtype(tensor: torch.Tensor, dtype: torch.dtype) -> torch.dtype:
    # as Module.to(dtype): floating tensors take the dtype, the rest keep theirs
    return dtype if tensor.is_floating_point() else tensor.dtype


def pack(tensors: List[torch.Tensor], dtype: torch.dtype) -> Dict[torch.dtype, torch.Tensor]:
    """One flat host tensor per target dtype, holding ``tensors`` in order."""
    groups: Dict[torch.dtype, List[torch.Tensor]] = {}
    for tensor in tensors:
        groups.setdefault(_target_dtype(tensor, dtype), []).append(tensor.detach().reshape(-1))
    return {kind: torch.cat([part.to(kind) for part in parts]) for kind, parts in groups.items()}


def point_into(tensors: List[torch.Tensor], flats: Dict[torch.dtype, torch.Tensor], dtype: torch.dtype) -> None:
    """Make each tensor a view of its dtype's flat buffer (in ``pack``'s order)."""
    offsets = {kind: 0 for kind in flats}
    with torch.no_grad():
        for tensor in tensors:
            kind = _target_dtype(tensor, dtype)
            start, count = offsets[kind], tensor.numel()
            tensor.data = flats[kind][start:start + count].view(tensor.shape)
            offsets[kind] = start + count


def move_module(module: nn.Module, device: torch.device, dtype: torch.dtype = torch.float32) -> nn.Module:
    """``module.to(device, dtype)`` with one host-to-device copy per dtype (CUDA); in place."""
    _moved_flats(module, module_tensors(module), torch.device(device), dtype)
    return module


def _moved_flats(module: nn.Module, tensors: List[torch.Tensor], device: torch.device,
                 dtype: torch.dtype) -> Dict[torch.dtype, torch.Tensor]:
    """Move ``module`` (whose tensors are ``tensors``) and return the flat buffers it now views
    (CUDA; elsewhere a plain ``.to``, and no buffers)."""
    if device.type != "cuda":
        module.to(device, dtype)
        return {}
    if not tensors:
        return {}
    host = pack(tensors, dtype)
    flats = {kind: flat.pin_memory().to(device, non_blocking=True) for kind, flat in host.items()}
    point_into(tensors, flats, dtype)
    return flats


class DeviceNetwork:
    """One built network on the scoring device, handed to each proxy with its initial values.

    ``fresh(dtype)`` returns the module as built (first call) or reset to its initial values,
    gradients cleared; a proxy that changed the module's structure (its set of tensors) makes the
    next ``fresh`` return None, and the caller builds the network again. ``shared=False`` (a single
    proxy scores it, the common case) keeps no pristine copy: a second ``fresh`` then returns None.
    """

    def __init__(self, module: nn.Module, device: torch.device, dtype: torch.dtype, shared: bool = True):
        self.module, self.dtype = module, dtype
        self.tensors = module_tensors(module)
        self.requires_grad = [t.requires_grad for t in self.tensors]
        self.pristine: Dict[torch.dtype, torch.Tensor] = {}
        device = torch.device(device)
        if device.type == "cuda":
            flats = _moved_flats(module, self.tensors, device, dtype)
            if shared:  # pristine values beside the ones the first proxy works on
                self.pristine = {kind: flat.clone() for kind, flat in flats.items()}
        else:
            module.to(device, dtype)
            if shared and self.tensors:
                self.pristine = pack(self.tensors, dtype)  # a separate copy
        self.used = False

    def intact(self) -> bool:
        """Whether the module still holds exactly the tensors it was built with."""
        now = module_tensors(self.module)
        return len(now) == len(self.tensors) and all(a is b for a, b in zip(now, self.tensors))

    def fresh(self, dtype: torch.dtype):
        """The module with its initial values in ``dtype``; None when a proxy rebuilt its parts."""
        if not self.used and dtype == self.dtype:
            self.used = True
            return self.module
        if not self.pristine or not self.intact():
            return None
        self.used = True
        flats = {_target(kind, dtype): flat.to(_target(kind, dtype), copy=True) for kind, flat in self.pristine.items()}
        point_into(self.tensors, flats, dtype)
        with torch.no_grad():
            for tensor, wanted in zip(self.tensors, self.requires_grad):
                tensor.grad = None
                tensor.requires_grad_(wanted)
        return self.module


def _target(kind: torch.dtype, dtype: torch.dtype) -> torch.dtype:
    return dtype if kind.is_floating_point else kind
