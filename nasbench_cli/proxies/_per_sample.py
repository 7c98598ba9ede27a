"""Per-sample gradients and Jacobians, vectorised with ``torch.func``: one helper for every proxy.

Proxies that need one gradient per example (ntk, gradsign, vkdnw) differ in how the examples meet
the network, and that decides which computation is faithful:

- ``coupled=True`` (TE-NAS's NTK): the whole batch goes through **one** forward pass, so a
  train-mode BatchNorm normalises every example with the batch's statistics, and row i is the
  gradient of example i's output *through that coupled forward* (TE-NAS backpropagates each
  example's logits from the shared forward pass). Vectorised as ``jacrev`` of the batch function
  (one forward, the backward passes vmapped over the basis vectors); ``vectorized=False`` runs
  the same backward passes one at a time on the kept graph.
- ``coupled=False`` (GradSign's and VKDNW's loops): each example runs **alone**, as a batch of
  one: ``vmap`` over examples of ``jacrev`` of ``functional_call(model, ..., x[None])``. A
  train-mode BatchNorm then normalises each example with its own (spatial) statistics, exactly
  as the authors' ``net(inputs[[i]])`` loops do; an eval-mode BatchNorm uses its running
  statistics, so there the examples are independent either way.

In both modes running statistics are not updated (a transformed function may not mutate a
captured buffer; the reference loops update them, which changes no train-mode output): the
buffers are left as they were.

``params`` names what is differentiated: by default every parameter that requires grad; a
``substitute`` function maps the differentiated tensors to the full parameter dict, so a proxy can
differentiate single entries of a weight (VKDNW) without materialising gradients of whole tensors
for every example. Examples are processed in chunks (``chunk``) to bound memory: the vmapped
pass holds ``chunk`` copies of every activation.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

#: examples per vmapped chunk by default (bounds the activations held at once)
DEFAULT_CHUNK = 32

OutputFn = Callable[..., torch.Tensor]  # (model output, *per-example extras) -> per-example output
Substitute = Callable[[Dict[str, torch.Tensor]], Dict[str, torch.Tensor]]


def trainable_params(model: nn.Module, names: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
    """{name: detached tensor} of ``names`` (default: every parameter that requires grad), in
    ``named_parameters`` order."""
    wanted = None if names is None else set(names)
    params = {n: p.detach() for n, p in model.named_parameters()
              if (p.requires_grad if wanted is None else n in wanted)}
    if wanted is not None and len(params) != len(wanted):
        missing = sorted(wanted - set(params))
        raise ValueError(f"no parameter named {', '.join(missing)}")
    return params


@contextlib.contextmanager
def frozen_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """Within the block, train-mode BatchNorms normalise with batch statistics without updating
    their running statistics (an in-place update of an unbatched buffer cannot be vmapped).

    Eval-mode BatchNorms keep their running statistics; everything is restored on exit."""
    saved: List[Tuple[nn.Module, object, object, object, bool]] = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats:
            saved.append((m, m.running_mean, m.running_var, m.num_batches_tracked, m.track_running_stats))
            m.running_mean, m.running_var, m.num_batches_tracked = None, None, None
            m.track_running_stats = False
    try:
        yield
    finally:
        for m, mean, var, count, track in saved:
            m.running_mean, m.running_var, m.num_batches_tracked = mean, var, count
            m.track_running_stats = track


def _full_params(diff: Dict[str, torch.Tensor], substitute: Optional[Substitute]) -> Dict[str, torch.Tensor]:
    return substitute(diff) if substitute is not None else diff


def _forward(model: nn.Module, params: Dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    out = functional_call(model, params, (inputs,))
    # some reference networks return (features, logits); the helper always works on the logits
    return out[-1] if isinstance(out, (tuple, list)) else out


def per_sample_chunks(
    model: nn.Module,
    inputs: torch.Tensor,
    output_fn: OutputFn,
    extras: Sequence[torch.Tensor] = (),
    params: Optional[Mapping[str, torch.Tensor]] = None,
    substitute: Optional[Substitute] = None,
    chunk: int = DEFAULT_CHUNK,
) -> Iterator[Dict[str, torch.Tensor]]:
    """Independent examples (``coupled=False``): for each chunk of examples, {name: (b, *out,
    *param shape)}, the Jacobian of ``output_fn(model(x_i[None]), *extras_i[None])`` per example.

    ``output_fn`` receives the model's output for a batch of one and each extra (e.g. the target)
    as a batch of one, and returns the example's output (a scalar loss, or a vector of logits).
    Chunks let a caller reduce per-example gradients as they come (GradSign's sign sums) instead
    of holding B copies of every parameter."""
    diff = dict(params) if params is not None else trainable_params(model)

    def one(p: Dict[str, torch.Tensor], x: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        out = _forward(model, _full_params(p, substitute), x.unsqueeze(0))
        return output_fn(out, *(e.unsqueeze(0) for e in extra))

    jac = vmap(jacrev(one), in_dims=(None, 0) + (0,) * len(extras))
    size = int(inputs.shape[0])
    step = max(1, int(chunk))
    for start in range(0, size, step):
        stop = min(size, start + step)
        # no_grad outside a function transform stops ordinary autograd from recording the
        # parameters not differentiated (the transform itself still differentiates ``diff``)
        with frozen_batchnorm_stats(model), torch.no_grad():
            part = jac(diff, inputs[start:stop], *(e[start:stop] for e in extras))
        yield part


def per_sample_jacobian(
    model: nn.Module,
    inputs: torch.Tensor,
    output_fn: OutputFn,
    extras: Sequence[torch.Tensor] = (),
    params: Optional[Mapping[str, torch.Tensor]] = None,
    substitute: Optional[Substitute] = None,
    coupled: bool = False,
    vectorized: bool = True,
    chunk: int = DEFAULT_CHUNK,
) -> Dict[str, torch.Tensor]:
    """{name: (B, *out, *param shape)}: per-example Jacobians of the output w.r.t. ``params``.

    ``coupled=False``: each example alone (see ``per_sample_chunks``). ``coupled=True``: one
    forward pass of the whole batch; ``output_fn(batch output, *extras)`` must return one row per
    example, (B, *out), and row i is differentiated through the shared forward pass (train-mode
    BatchNorm couples the examples, as TE-NAS's NTK). ``vectorized=False`` computes the coupled
    rows with one backward pass each on the kept graph (same values; cheaper on some CPUs)."""
    diff = dict(params) if params is not None else trainable_params(model)
    if not coupled:
        parts = list(per_sample_chunks(model, inputs, output_fn, extras, diff, substitute, chunk))
        return {name: torch.cat([part[name] for part in parts]) for name in diff}
    if vectorized:
        def batch_fn(p: Dict[str, torch.Tensor]) -> torch.Tensor:
            return output_fn(_forward(model, _full_params(p, substitute), inputs), *extras)

        with frozen_batchnorm_stats(model), torch.no_grad():
            return jacrev(batch_fn, chunk_size=None if chunk <= 0 else max(1, int(chunk)))(diff)
    return _coupled_loop(model, inputs, output_fn, extras, diff, substitute)


def _coupled_loop(model: nn.Module, inputs: torch.Tensor, output_fn: OutputFn, extras: Sequence[torch.Tensor],
                  diff: Dict[str, torch.Tensor], substitute: Optional[Substitute]) -> Dict[str, torch.Tensor]:
    """The coupled Jacobian one output entry at a time (one backward pass each, graph kept)."""
    leaves = {n: t.clone().requires_grad_(True) for n, t in diff.items()}
    with torch.enable_grad():
        out = output_fn(_forward(model, _full_params(leaves, substitute), inputs), *extras)
        flat = out.reshape(-1)
        rows: Dict[str, List[torch.Tensor]] = {n: [] for n in leaves}
        names = list(leaves)
        for k in range(flat.numel()):
            grads = torch.autograd.grad(flat[k], [leaves[n] for n in names], retain_graph=True, allow_unused=True)
            for n, g in zip(names, grads):
                rows[n].append(torch.zeros_like(leaves[n]) if g is None else g)
    return {n: torch.stack(rows[n]).reshape(tuple(out.shape) + tuple(diff[n].shape)) for n in names}


def flatten_rows(jacobian: Mapping[str, torch.Tensor], lead: int = 1) -> torch.Tensor:
    """Concatenate a Jacobian dict into one matrix: the first ``lead`` dims are kept, the rest
    (each parameter's shape) flattened and joined in the dict's order."""
    parts = [j.reshape(tuple(j.shape[:lead]) + (-1,)) for j in jacobian.values()]
    return torch.cat(parts, dim=lead)
