"""Every chunk computed in this process, one after the other."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from nasbench_cli.engine.executors.base import Executor, executor
from nasbench_cli.engine.work import Chunk, ChunkResult, ScorerSpec, build_scorer, score_chunk
from nasbench_cli.runtime import configure_determinism


@executor("sequential")
class SequentialExecutor(Executor):
    """One scorer in this process: the driver's (``local_scorer``) when it has one, else built."""

    in_process = True

    def run(self, spec: ScorerSpec, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        scorer = self.local_scorer() if self.local_scorer is not None else build_scorer(spec)[0]
        # what every worker process sets for itself: the same threads and float32 everywhere
        configure_determinism(torch.device(self.options.device_list[0]), self.options.threads)
        for chunk in chunks:
            result = score_chunk(scorer, chunk)
            self.report.oom_retries += result.oom_retries
            yield result

    def describe(self):
        return {**super().describe(), "workers": 1}
