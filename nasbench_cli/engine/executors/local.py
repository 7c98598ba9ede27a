"""Worker processes on this machine: spawned (not forked, so CUDA works), one scorer each.

Each worker builds its scorer once from the ScorerSpec, then takes one chunk at a time over its
own pipe. The driver watches every worker's pipe and process sentinel together, so it knows which
chunk a dead worker held: that chunk alone goes out again, to a fresh worker, at most
MAX_ATTEMPTS times. Workers ignore SIGINT; Ctrl-C reaches the driver, which stops them.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import multiprocessing as mp
import os
import signal
import sys
from multiprocessing.connection import Connection, wait
from typing import Dict, Iterator, List, Optional, Sequence

from nasbench_cli.engine.executors.base import (
    Executor,
    ExecutorOptions,
    WorkerFailedError,
    check_attempts,
    executor,
)
from nasbench_cli.engine.gpu_share import GpuShare, share_gpus
from nasbench_cli.engine.work import Chunk, ChunkResult, ScorerSpec
from nasbench_cli.logs import get_logger

_log = get_logger("engine")

#: seconds to wait for a worker to exit after it was asked to
_JOIN_S = 5.0


def _one_line(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def worker_main(conn: Connection, spec: ScorerSpec, env: Optional[Dict[str, str]] = None) -> None:
    """A worker process: build the scorer, then score chunks until told to stop (None).

    ``env``: variables set before CUDA starts (the MPS pipe directory of a shared GPU)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop (ignored from birth: _Worker)
    os.environ.update(env or {})
    try:
        _serve(conn, spec)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the driver is gone (killed, or stopped): nothing to report to, and no traceback


def _serve(conn: Connection, spec: ScorerSpec) -> None:
    """Build the scorer, then answer chunks until told to stop; errors go back as one line."""
    from nasbench_cli.engine.work import build_scorer, score_chunk
    from nasbench_cli.errors import NasbenchError

    try:
        scorer = build_scorer(spec)[0]
    except NasbenchError as err:
        conn.send(("error", str(err)))
        return
    except Exception as err:  # anything else that stops the scorer from existing
        conn.send(("error", _one_line(err)))
        return
    conn.send(("ready", None))
    while True:
        chunk = conn.recv()
        if chunk is None:
            return
        try:
            conn.send(("done", score_chunk(scorer, chunk)))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except NasbenchError as err:  # e.g. a failure of the machine: its own one-line message
            conn.send(("error", str(err)))
            return
        except Exception as err:
            conn.send(("error", _one_line(err)))
            return


@contextlib.contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """While a worker is spawned, SIGINT is ignored, so that the child is born ignoring it: an
    ignored signal survives exec and Python then installs no KeyboardInterrupt handler, so a
    Ctrl-C to the process group during the worker's bootstrap and imports (torch) prints no
    traceback. The driver's own Ctrl-C meanwhile is kept, not lost: SIGINT is blocked first
    (Linux keeps a blocked signal pending even while ignored) and delivered once unblocked."""
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield  # signal dispositions belong to the main thread
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _main_left_out(spec: ScorerSpec) -> Iterator[None]:
    """Start processes without re-running the caller's main script in them.

    A spawned process normally imports the parent's ``__main__`` file first: a plain script that
    calls ``nasbench_cli.api.score`` without an ``if __name__ == "__main__":`` guard would then
    score again in every worker (and fail), and ``python - < script.py`` has no file to import.
    Workers need nothing from it, so while they start, ``__main__`` is marked as a module named
    ``__main__``, which multiprocessing leaves alone. Not done when the space itself is defined
    in ``__main__`` (the workers must import it then)."""
    main = sys.modules.get("__main__")
    if main is None or spec.space_module == "__main__":
        yield
        return
    original = getattr(main, "__spec__", None)  # set by `python -m module`: that module is re-run too
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = original


class _Worker:
    """The driver's handle on one worker process."""

    def __init__(self, ctx, spec: ScorerSpec, env: Dict[str, str]):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, spec, env), daemon=True)
        with _sigint_ignored_by_children(), _main_left_out(spec):
            self.process.start()
        child.close()
        self.chunk: Optional[Chunk] = None
        self.ready = False

    def send(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.conn.send(chunk)

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.process.join(_JOIN_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(_JOIN_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


@executor("local")
class LocalExecutor(Executor):
    """``workers`` spawned processes; with several devices, workers go round-robin over them.

    More workers than GPUs share each GPU through CUDA MPS (engine.gpu_share): one process alone
    leaves a GPU mostly idle while Python launches its small kernels."""

    def __init__(self, options: ExecutorOptions):
        super().__init__(options)
        self._ctx = mp.get_context("spawn")
        self._workers: List[_Worker] = []
        self._share: Optional[GpuShare] = None
        self._count = 0

    def _start(self, spec: ScorerSpec, slot: int) -> _Worker:
        devices = list(self.options.device_list)
        env = self._share.env if self._share is not None else {}
        return _Worker(self._ctx, spec.on_device(devices[slot % len(devices)]), env)

    def run(self, spec: ScorerSpec, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        queue: List[Chunk] = list(reversed(chunks))  # pop() takes the first chunk first
        attempts: Dict[int, int] = {}
        remaining = len(chunks)
        count = min(self.options.workers, len(chunks))
        self._share = share_gpus(self.options.gpu_share, self.options.device_list, count)
        count = min(count, self._share.worker_limit(self.options.device_list))
        if self._share.note:
            _log.warning(f"note: {self._share.note}")
        self._count = count
        self._workers = [self._start(spec, slot) for slot in range(count)]
        try:
            while remaining:
                by_conn = {w.conn: w for w in self._workers}
                by_sentinel = {w.process.sentinel: w for w in self._workers}
                for ready in wait(list(by_conn) + list(by_sentinel)):
                    worker = by_conn.get(ready) or by_sentinel.get(ready)
                    if worker not in self._workers:
                        continue  # replaced earlier in this round
                    # a ready sentinel means the process ended; a message may still be waiting
                    message = self._receive(worker, exited=ready in by_sentinel)
                    if message is None:  # the process died (kill -9, OOM killer, segfault)
                        self._replace(worker, spec, queue, attempts)
                        continue
                    kind, payload = message
                    if kind == "error":
                        raise WorkerFailedError(f"a scoring worker failed: {payload}")
                    if kind == "done":
                        worker.chunk = None
                        self.report.oom_retries += payload.oom_retries
                        remaining -= 1
                        yield payload
                    worker.ready = True
                    if queue and worker.chunk is None:
                        worker.send(queue.pop())
        finally:
            self.close()

    def _receive(self, worker: _Worker, exited: bool):
        """The worker's next message; None when it died (its process ended, its pipe closed)."""
        try:
            if worker.conn.poll():
                return worker.conn.recv()
        except (EOFError, ConnectionResetError, OSError):
            return None
        return None if exited or not worker.process.is_alive() else ("idle", None)

    def _replace(self, dead: _Worker, spec: ScorerSpec, queue: List[Chunk], attempts: Dict[int, int]) -> None:
        slot = self._workers.index(dead)
        dead.stop()
        self.report.restarted_workers += 1
        if dead.chunk is None and not dead.ready:
            raise WorkerFailedError(f"a scoring worker died while starting (exit code {dead.process.exitcode})")
        if dead.chunk is not None:
            attempts[dead.chunk.id] = attempts.get(dead.chunk.id, 0) + 1
            check_attempts(dead.chunk, attempts[dead.chunk.id], self.options,
                           f"a worker process died (exit code {dead.process.exitcode})")
            self.report.retried_chunks += 1
            queue.append(dead.chunk)  # next to go out
        self._workers[slot] = self._start(spec, slot)

    def describe(self) -> Dict[str, object]:
        record = super().describe()
        if self._count:
            record["workers"] = self._count  # as started (fewer where chunks or GPU sharing limit them)
        if self._share is not None:
            record.update(self._share.describe())
        return record

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []
        if self._share is not None:
            self._share.close()
