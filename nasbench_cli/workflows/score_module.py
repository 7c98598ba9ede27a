"""One proxy's score of the caller's own ``torch.nn.Module`` (``nb.score_module``), computed by
the scorer every score goes through (``ArchitectureScorer.score_module``): the proxy's dtype, train
mode, batch prefix, options and seed, on the device in true float32."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Tuple

from nasbench_cli.errors import UsageError
from nasbench_cli.options import BATCH_SIZE, POSITIVE, SEED, Bound, check_declared, defined_in, option


@dataclass(frozen=True)
class ModuleJob:
    """What to score a module with; checked when made."""

    proxy: str = option(help="A registered proxy.", choices=lambda: _proxy_names(), label="proxy")
    dataset: Optional[str] = None  # None: the caller gives the batch
    seed: int = option(0, "Seed of the batch and the proxy's randomness.", bound=SEED)
    data_dir: Optional[Path] = None
    batch_size: Optional[int] = option(None, "Examples the proxy sees [default: its reference size].",
                                       bound=BATCH_SIZE)
    split: str = "train"
    augment: str = option("none", "The drawn batch's transform.", label="augmentation",
                          choices=defined_in("nasbench_cli.datasets.augment", "AUGMENTATIONS"))
    device: str = "auto"
    num_classes: Optional[int] = option(None, "The classifier head's width the proxy is told.", bound=POSITIVE)
    options: Tuple[Tuple[str, Any], ...] = ()  # the proxy's own options, (name, value) pairs
    arch_index: int = option(0, "The architecture index that seeds the proxy's randomness.", bound=Bound(0))

    def __post_init__(self) -> None:
        check_declared(self)


def _proxy_names() -> Tuple[str, ...]:
    from nasbench_cli.proxies import PROXIES

    return tuple(PROXIES.names())


def score_module(model, job: ModuleJob, batch=None) -> float:
    """``job.proxy``'s value on a copy of ``model`` (left unchanged), with ``batch`` (a Batch, an
    (inputs, targets) pair or inputs) or the seeded batch of ``job.dataset``."""
    from nasbench_cli.proxies import PROXIES
    from nasbench_cli.proxy_settings import proxy_batch_size
    from nasbench_cli.runtime import configure_determinism, pick_device
    from nasbench_cli.scoring import ArchitectureScorer

    spec = PROXIES.get(job.proxy)
    settings = _module_settings(job)
    target = pick_device(job.device)
    size = proxy_batch_size(spec, settings)
    batch, classes = _module_batch(spec, batch, job, size, settings, target)
    _warn_if_not_comparable(spec, model, len(batch.inputs), size)
    classes = job.num_classes if job.num_classes is not None else classes
    scorer = ArchitectureScorer(None, [spec], batch, classes if classes is not None else 1, settings, target)
    configure_determinism(target)  # true float32 (no TF32), deterministic cuDNN: as every scorer
    return scorer.score_module(model, job.arch_index)


def _module_settings(job: ModuleJob):
    """The ScoreSettings of ``job`` (its proxy options checked against the proxy's declarations)."""
    from nasbench_cli.proxy_settings import ScoreSettings, parse_proxy_options

    texts = [f"{job.proxy}.{key}={value}" for key, value in job.options]
    return ScoreSettings("", job.dataset or "", (job.proxy,), job.seed, job.batch_size, "auto", job.split,
                         parse_proxy_options(texts, (job.proxy,)))


def _warn_if_not_comparable(spec, model, examples: int, size: int) -> None:
    """Warn (the API's caller: stack level 4) where the score cannot equal the CLI's: a short batch, or
    BatchNorm in a network the proxy's reference builds without it."""
    from torch import nn

    if spec.needs_data and examples < size:
        warnings.warn(f"{spec.name}: the batch has {examples} examples, fewer than the {size} it is "
                      "defined on; the score is not comparable with the CLI's", stacklevel=4)
    if not spec.bn and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        warnings.warn(f"{spec.name} is defined on networks without BatchNorm; build yours without it to "
                      "match the reference code", stacklevel=4)


def _module_batch(spec, batch, job: ModuleJob, size: int, settings, target):
    """score_module's batch on ``target`` (the caller's, or the seeded one of ``job.dataset``) and
    the dataset's class count (None without a dataset)."""
    import torch

    from nasbench_cli.batch import Batch
    from nasbench_cli.runtime import derive_seed

    classes = None
    if job.dataset is not None:
        from nasbench_cli.datasets import get_dataset, make_batch
        from nasbench_cli.paths import resolve_data_dir

        if batch is not None:
            raise UsageError("give batch or dataset, not both")
        data = get_dataset(job.dataset)
        classes = data.num_classes
        batch = make_batch(data, resolve_data_dir(job.data_dir), size, derive_seed(settings.seed, "batch"),
                           split=settings.split, device=target, augment=job.augment)
    elif batch is None and spec.needs_data:
        raise UsageError(f"{spec.name} reads data: give batch= (inputs or (inputs, targets)) or dataset=")
    elif job.augment != "none":  # your own batch is used as given: say so rather than ignore the request
        raise UsageError("augment applies to the batch drawn with dataset=; transform your own batch yourself")
    if batch is not None and not isinstance(batch, Batch):
        inputs, targets = batch if isinstance(batch, (tuple, list)) else (batch, None)
        if targets is None:
            targets = torch.zeros(len(inputs), dtype=torch.long)
        batch = Batch(torch.as_tensor(inputs), torch.as_tensor(targets))
    if batch is None:  # a data-free proxy (params, flops): an input shape is all it may read
        batch = Batch(torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.long))
    return Batch(batch.inputs.to(target), batch.targets.to(target)), classes
