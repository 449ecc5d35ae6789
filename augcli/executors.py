"""Executors: where the runner's jobs run. Here the local process pool; the Dask cluster's is
dask_executor.py, with the same `map_unordered` (runner.executor_for picks one).

Also the set-up every worker process shares (Ctrl-C is the parent's; glibc's heap kept for reuse).
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys

from .errors import AugError


class LocalExecutor:
    """`workers` processes on this machine (fork on Linux), or this very process for one worker."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    @property
    def forks(self) -> bool:
        """Whether the workers are forked from this process (and so inherit what it has loaded)."""
        return self.workers > 1 and sys.platform.startswith("linux")

    @contextlib.contextmanager
    def map_unordered(self, fn, items, initializer, initargs, chunksize: int = 1):
        """Results of fn over items in completion order. Ctrl-C terminates the workers at once;
        otherwise they are closed and joined."""
        with pooled(self.workers, initializer, initargs, fn, items, chunksize) as results:
            yield results


def _start_pool(workers: int, initializer, initargs):
    """A process pool; fork on Linux (OpenCV may be imported here but has run nothing, so it has
    no threads; OpenBLAS stops its own for a fork)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    return _pool_class()(workers, initializer=_pool_worker, initargs=(os.getpid(), initializer, initargs),
                         context=ctx)


def _pool_worker(parent: int, initializer, initargs) -> None:
    """A pool worker's start: on Linux it is killed with its parent (kill -9 of the command would
    otherwise leave it finishing its batch, writing files, then printing a broken-pipe traceback);
    then the work's own set-up."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal as sig

        try:
            ctypes.CDLL(None).prctl(1, int(sig.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the parent died before that
            os._exit(1)
    initializer(*initargs)


def _pool_class():
    """multiprocessing.Pool whose worker-keeping thread wakes only for a worker's exit or the pool's
    own notices (close, terminate, every result in), not for every result in the pipe, which it
    does not read: it woke, and woke again, until the result thread had read it (~75 ms of the
    parent's CPU for 300 photos, a third of it, taken from the workers). Those notices are all a
    pool without maxtasksperchild needs (a dead worker: its sentinel; _watched reports it)."""
    from multiprocessing.pool import Pool

    class QuietPool(Pool):
        def _get_sentinels(self):
            return [self._change_notifier._reader]

    return QuietPool


@contextlib.contextmanager
def pooled(workers: int, initializer, initargs, fn, todo, chunksize: int = 1):
    """Results of fn over todo (in completion order), in `workers` processes, or in this one.
    Ctrl-C terminates the workers at once; otherwise they are closed and joined."""
    if workers <= 1:
        initializer(*initargs)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        yield map(fn, todo)
        return
    pool = _start_pool(workers, initializer, initargs)
    try:
        # batches made here, one per task, so that the pool returns its own iterator (with
        # chunksize > 1 it returns a plain generator, which cannot wait with a timeout); made as
        # the pool's task thread takes them, which it does as the pipe to the workers has room
        # (so the jobs of a plan need never all be held at once)
        yield (r for batch in _watched(pool, pool.imap_unordered(_apply_batch, batches(fn, todo, chunksize)))
               for r in batch)
    except WorkerDied:
        _abandon(pool)
        raise
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    pool.close()
    pool.join()


def batches(fn, todo, size: int):
    """(fn, up to `size` items of todo) tuples, made as they are asked for."""
    from itertools import islice

    it = iter(todo)
    while batch := list(islice(it, max(1, size))):
        yield fn, batch


def _apply_batch(task):
    fn, items = task
    return [fn(x) for x in items]


def _watched(pool, results):
    """The pool's results, failing loudly when a worker process dies (e.g. killed for memory):
    multiprocessing.Pool replaces a dead worker but never returns the job it held, so waiting
    would last forever. No worker ends on its own while the pool works (no maxtasksperchild)."""
    import multiprocessing as mp

    procs = list(pool._pool)  # the worker processes (a private list: Pool offers no other view)
    while True:
        try:
            yield results.next(timeout=2.0)
        except StopIteration:
            return
        except mp.TimeoutError:
            dead = [p for p in procs if p.exitcode is not None]
            if dead:
                code = dead[0].exitcode
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise WorkerDied(f"a worker process died ({how}; out of memory?); what was written is kept: "
                                 "run the same command again to resume")


def _abandon(pool) -> None:
    """Stop a pool one of whose workers died. Pool.terminate() would wait for the task queue's
    lock, which a worker killed at the wrong moment holds forever (CPython bpo-22393), at once
    or at exit: cancel that finaliser, stop the thread that replaces workers, and kill them
    (private names, for this fault only)."""
    from multiprocessing import pool as mpool

    pool._terminate.cancel()
    pool._worker_handler._state = mpool.TERMINATE  # no more replacement workers
    pool._worker_handler.join(timeout=2)
    for p in list(pool._pool):
        p.kill()
    for p in list(pool._pool):
        p.join(timeout=5)


class WorkerDied(AugError):
    """A worker process ended in the middle of a run (exit code 1: run again to resume)."""


def reuse_heap() -> None:
    """Let glibc keep freed image-sized blocks for reuse instead of returning them to the kernel.

    By default glibc serves many photo-sized buffers (decoded, warped, encoded) with fresh mmaps
    that the kernel zeroes page by page and takes back when they are freed: measured 3.3x the
    page faults (42.6k vs 12.9k for 160 photos) and ~4% of an image job's time. Fixed mmap and
    trim thresholds keep those blocks in the heap for reuse; memory stays bounded by the images
    in flight, not by the dataset. A no-op off glibc."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols include libc's
    except (OSError, AttributeError):  # e.g. musl has no mallopt
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 64 << 20)  # blocks up to 64 MB (a 21-megapixel RGB image) from the heap
    mallopt(m_trim_threshold, 128 << 20)


def quiet_worker() -> None:
    """In every worker process: Ctrl-C is the parent's to handle (it terminates the pool). A Dask
    worker runs tasks in a thread, where signals cannot be set (its nanny handles them)."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
