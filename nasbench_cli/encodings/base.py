"""Architecture encodings: a fixed-length numeric vector per architecture, for accuracy predictors.

An encoding declares the spaces it applies to and whether it is their default (``--encoding
auto``); ``encode(space, indices)`` gives one row per index, every row the same length for the
whole space, so a predictor fitted on some architectures can be asked about any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from nasbench_cli.errors import UsageError
from nasbench_cli.registry import Registry

#: ``--encoding`` values that are not registered encodings
AUTO = "auto"
NONE = "none"


@dataclass(frozen=True)
class Encoding:
    """One registered encoding: its name, the spaces it applies to, its columns and encoder."""

    name: str
    summary: str
    spaces: Tuple[str, ...]
    #: spaces for which ``--encoding auto`` picks this encoding
    default_for: Tuple[str, ...]
    columns: Tuple[str, ...]
    #: (space, indices) -> float64 array of shape (len(indices), len(columns))
    encoder: Callable[[object, Sequence[int]], np.ndarray]

    def applies_to(self, space_name: str) -> bool:
        return space_name in self.spaces

    def encode(self, space, indices: Sequence[int]) -> np.ndarray:
        """The rows of ``indices`` (float64, one column per entry of ``columns``)."""
        matrix = np.asarray(self.encoder(space, list(indices)), dtype=np.float64)
        return matrix.reshape(len(indices), len(self.columns))


ENCODINGS: "Registry[Encoding]" = Registry("encoding")


def default_encoding(space_name: str) -> Optional[Encoding]:
    """The encoding ``--encoding auto`` picks for ``space_name``, or None where there is none."""
    for name in ENCODINGS.names():
        encoding = ENCODINGS.get(name)
        if space_name in encoding.default_for:
            return encoding
    return None


def resolve_encoding(name: str, space_name: str) -> Optional[Encoding]:
    """The encoding ``--encoding NAME`` means for ``space_name``: None for 'none'; 'auto' the
    space's default. An unknown name, or one that does not apply to the space, is a UsageError
    saying what does."""
    if name == NONE:
        return None
    if name == AUTO:
        encoding = default_encoding(space_name)
        if encoding is None:
            raise UsageError(f"no architecture encoding is defined for space {space_name} "
                             f"(encodings exist for {', '.join(encoded_spaces())}); use --encoding none "
                             "to predict from the scores alone")
        return encoding
    if name not in ENCODINGS:
        from nasbench_cli.errors import UnknownNameError

        raise UnknownNameError("encoding", name, [*ENCODINGS.names(), AUTO, NONE])
    encoding = ENCODINGS.get(name)
    if not encoding.applies_to(space_name):
        usable = [e for e in ENCODINGS.names() if ENCODINGS.get(e).applies_to(space_name)]
        hint = (f"for {space_name} use {' or '.join(usable)}" if usable
                else f"{space_name} has none: use --encoding none")
        raise UsageError(f"encoding '{name}' applies to {', '.join(encoding.spaces)}, not {space_name}; {hint}")
    return encoding


def encoded_spaces() -> Tuple[str, ...]:
    """Every space some encoding applies to, sorted."""
    return tuple(sorted({s for name in ENCODINGS.names() for s in ENCODINGS.get(name).spaces}))
