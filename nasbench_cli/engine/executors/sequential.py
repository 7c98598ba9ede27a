"""Every chunk computed in this process, one after the other."""

from __future__ import annotations

from typing import Iterator, Optional, Sequence

from nasbench_cli.engine.executors.base import Executor, ExecutorOptions, executor
from nasbench_cli.engine.work import Chunk, ChunkResult, ScorerSpec, build_scorer, score_chunk
from nasbench_cli.scoring import ArchitectureScorer


@executor("sequential")
class SequentialExecutor(Executor):
    """One scorer in this process; ``scorer`` reuses one the caller already built."""

    def __init__(self, options: ExecutorOptions, scorer: Optional[ArchitectureScorer] = None):
        super().__init__(options)
        self.scorer = scorer

    def run(self, spec: ScorerSpec, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        if self.scorer is None:
            self.scorer = build_scorer(spec)[0]
        for chunk in chunks:
            result = score_chunk(self.scorer, chunk)
            self.report.oom_retries += result.oom_retries
            yield result

    def describe(self):
        return {**super().describe(), "workers": 1}
