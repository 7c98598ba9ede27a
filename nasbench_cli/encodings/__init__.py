"""Architecture encodings for accuracy predictors, registered by name (``nasbench predict
--encoding``). Importing this package registers every encoding.

| name | spaces | what |
| --- | --- | --- |
| ``onehot`` | nb201, nats-tss | one bit per (edge, operation): 30 bits |
| ``adjacency`` | nb101 | 21 upper-triangle adjacency bits + one-hot ops of 5 interior vertices, padded to 7 vertices |
| ``channels`` | nats-sss | the 5 channel counts / 64 |

NDS spaces have no encoding yet (their cells differ per family and their networks vary in width
and depth as well): ``--encoding auto`` refuses them with one line, and ``--encoding none``
predicts from the scores alone.
"""

from nasbench_cli.encodings.base import AUTO, ENCODINGS, NONE, Encoding, default_encoding, resolve_encoding
from nasbench_cli.encodings import adjacency, nats_sss, onehot  # noqa: F401  (register)

__all__ = ["AUTO", "ENCODINGS", "NONE", "Encoding", "default_encoding", "resolve_encoding"]
