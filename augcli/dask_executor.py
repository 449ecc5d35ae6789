"""The cluster executor: the runner's units on a Dask distributed cluster (`--scheduler local` or
`--scheduler tcp://HOST:PORT`), with the contract of executors.LocalExecutor: `map_unordered` gives
the results of fn over items in completion order. Imported only when `--scheduler` asks for Dask.

- The plan is made in the client (this process), which alone writes the manifest: resume and the
  summary work as with the local pool. Units go to the workers in batches (`batch_sizes`: large
  enough that the scheduler's cost per task stays a small share, smaller towards the end), at
  most MAX_IN_FLIGHT tasks pending at once; results stream back with `as_completed`, each batch once.
- The workers' set-up (initializer + initargs: the modality's worker object, OUTPUT) travels once
  as a task of its own whose result every worker fetches once, and runs once per worker process
  and run (`_Setup.ensure`, keyed by the run's token). Tasks run one at a time in a worker process
  (the set-up is process-wide), from the client's working directory (relative INPUT/OUTPUT).
- At start every worker is checked: the same augcli and Python (X.Y) as the client, and it sees
  INPUT and this run's OUTPUT (a file system shared at the same paths); a worker that joins later
  is checked by its first task. Any mismatch: one line, exit 2.
- A worker that dies: the scheduler runs its tasks on other workers (every file is written to a
  temp name and renamed, so a task run twice writes the same bytes once, and the client counts
  each batch once); a task on which workers kept dying (more than distributed's allowed-failures,
  3) stops the run like a dead local worker (exit 1: run the same command again to resume).
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import sys
import threading
import uuid
from dataclasses import dataclass, field

from .errors import AugError, UsageError
from .executors import WorkerDied

CONNECT_TIMEOUT = 10  # seconds to reach a tcp:// scheduler, and to wait for its first worker
MAX_IN_FLIGHT = 1000  # tasks submitted and not yet collected
GUIDE = 3  # a task holds 1/(GUIDE * workers) of the units left: big tasks first, small ones last
MAX_BATCH = 256  # units per task at most (what a worker's death costs again)


def batch_sizes(n_units: int, workers: int, at_least: int = 1) -> list[int]:
    """Units per task, in order (guided self-scheduling): each task takes 1/(GUIDE * workers) of
    the units left, so that tasks are large (the scheduler's cost per task, a few ms, stays a
    small share) and shrink towards the end (the workers finish together); no fewer than the
    work's `at_least` nor 1/(64 * workers) of all units (up to MAX_BATCH / 8: no long tail of tiny
    tasks), no more than MAX_BATCH."""
    lo = max(1, at_least, min(MAX_BATCH // 8, n_units // (64 * max(1, workers))))
    sizes, left = [], n_units
    while left > 0:
        size = min(left, max(lo, min(MAX_BATCH, -(-left // (GUIDE * max(1, workers))))))
        sizes.append(size)
        left -= size
    return sizes


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler local and tcp:// need Dask; allowed: pip install 'augcli[dask]', "
                         "or --scheduler processes") from None
    return distributed


def _probe(address: str) -> None:
    """Fail at once, before anything is written, when no Dask scheduler answers at a tcp://
    address: nothing listens there (refused at once), or something that is not a scheduler (a
    worker, another server: distributed's own Client would wait for it forever)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    host, _, port = address[len("tcp://"):].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
        with ThreadPoolExecutor(1) as pool:  # its own event loop (the caller may run one: Jupyter)
            kind = pool.submit(asyncio.run, _identity(address)).result(CONNECT_TIMEOUT + 5)
    except (OSError, TimeoutError, asyncio.TimeoutError) as e:
        raise unreachable(address, e if str(e) else f"no Dask scheduler answered within {CONNECT_TIMEOUT} s") from None
    if kind != "Scheduler":
        what = f"a Dask {kind.lower()}" if isinstance(kind, str) and kind else "something else"
        raise unreachable(address, f"{what} answered there, not a scheduler")


async def _identity(address: str):
    import asyncio

    from distributed.comm import connect

    async def ask():
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
        try:
            await comm.write({"op": "identity"})
            return (await comm.read()).get("type")
        finally:
            await comm.close()

    return await asyncio.wait_for(ask(), CONNECT_TIMEOUT)


def unreachable(address: str, e: BaseException) -> UsageError:
    why = " ".join(str(e).split()) or type(e).__name__
    return UsageError(f"cannot reach the Dask scheduler at {address}: {why}")


def versions() -> dict:
    """What must be the same on the client and every worker."""
    from . import __version__

    return {"augcli": __version__, "python": "%d.%d" % sys.version_info[:2]}


def _worker_facts(cwd: str, paths: list) -> dict:
    """On a worker (client.run): its versions and the shared paths it cannot see."""
    missing = [p for p in [cwd, *paths] if not os.path.exists(os.path.join(cwd, p))]
    return {**versions(), "missing": missing}


class WorkerMismatch(UsageError):
    """A Dask worker runs another augcli or Python than the client (exit 2)."""


def mismatch(where: str, theirs: dict) -> WorkerMismatch:
    mine = versions()
    return WorkerMismatch(f"the Dask worker {where} runs augcli {theirs.get('augcli')} on Python "
                          f"{theirs.get('python')}, this client augcli {mine['augcli']} on Python {mine['python']}; "
                          "install the same augcli (and Python) on every worker")


@dataclass
class _Setup:
    """The run's worker set-up, made once per worker process (tasks are serialised per process)."""

    token: str
    initializer: object
    initargs: tuple
    cwd: str
    expect: dict = field(default_factory=versions)

    def ensure(self) -> None:
        if _STATE.get("token") == self.token:
            return
        if versions() != self.expect:
            raise mismatch(_worker_name(), versions())
        if os.getcwd() != self.cwd:
            os.chdir(self.cwd)  # relative INPUT/OUTPUT mean what they mean in the client
        self.initializer(*self.initargs)
        _STATE["token"] = self.token


_STATE: dict = {}
_LOCK = threading.Lock()


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


def _hold(setup: _Setup) -> _Setup:
    return setup


def _run_batch(setup: _Setup, batch: "_Batch") -> list:
    with _LOCK:
        setup.ensure()
        return [batch.fn(x) for x in batch.items]


@dataclass
class _Batch:
    index: int
    fn: object
    items: list


class DaskExecutor:
    """Units on a Dask cluster: `local` (a LocalCluster of `workers` processes, one thread each,
    started for the run) or `tcp://HOST:PORT` (a running scheduler and its workers)."""

    name = "dask"

    def __init__(self, scheduler: str, workers: int = 1, quiet: bool = False, shared=(), batch: int | None = None):
        self.scheduler, self.workers, self.quiet = scheduler, max(1, workers), quiet
        self.shared = [str(p) for p in shared if p]  # paths every worker must see (INPUT, OUTPUT/...)
        self.batch = batch  # units per task (None: batch_sizes()); benchmarks/bench_cluster.py sets it
        _distributed()
        if scheduler != "local":
            _probe(scheduler)

    @contextlib.contextmanager
    def map_unordered(self, fn, items, initializer, initargs, chunksize: int = 1):
        with self._client(len(items)) as client:
            n = self._check_workers(client)
            sizes = batch_sizes(len(items), n, chunksize) if not self.batch else \
                [self.batch] * -(-len(items) // self.batch)
            token = uuid.uuid4().hex[:12]
            setup = client.submit(_hold, _Setup(token, initializer, tuple(initargs), os.getcwd()),
                                  key=f"augcli-setup-{token}", pure=False)
            it = iter(items)  # batches made as they are submitted (never every job at once)
            batches = (_Batch(i, fn, list(itertools.islice(it, k))) for i, k in enumerate(sizes))
            stream = _Stream(client, setup, batches, token, self.scheduler)
            try:
                yield stream.results()
            finally:
                stream.cancel()
                setup.release()

    @contextlib.contextmanager
    def _client(self, n_units: int):
        distributed = _distributed()
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if self.scheduler == "local":
            n = min(self.workers, max(1, n_units))
            with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                          silence_logs=logging.ERROR, preload=[__name__]) as cluster:
                with distributed.Client(cluster, set_as_default=False) as client:
                    self._say(f"dask: a local cluster of {n} worker processes; dashboard: {_dashboard(cluster)}")
                    yield client
            return
        try:
            client = distributed.Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise unreachable(self.scheduler, e) from None
        with client:
            self._say(f"dask: scheduler {self.scheduler}; dashboard: {_dashboard(client)}")
            yield client

    def _check_workers(self, client) -> int:
        """Every worker's versions and shared paths; the number of worker processes."""
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            raise UsageError(f"the Dask scheduler at {self.scheduler} has no workers; start some with "
                             f"`dask worker {self.scheduler} --nthreads 1 --nworkers N`") from None
        mine = versions()
        facts = client.run(_worker_facts, os.getcwd(), self.shared)
        for where, f in sorted(facts.items()):
            if {k: f.get(k) for k in mine} != mine:
                raise mismatch(where, f)
            if f["missing"]:
                raise UsageError(f"the Dask worker {where} cannot see {f['missing'][0]} (from {os.getcwd()}); "
                                 "INPUT, OUTPUT and the working directory must be shared by every worker "
                                 "at the same paths")
        many = sorted(w for w, t in client.nthreads().items() if t > 1)
        if many:
            self._say(f"warning: the Dask worker {many[0]} has {client.nthreads()[many[0]]} threads; augcli runs "
                      "one task at a time per worker process: start workers with --nthreads 1 --nworkers N",
                      always=True)
        return len(facts)

    def _say(self, line: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(line, file=sys.stderr, flush=True)


def dask_setup(worker) -> None:
    """The preload of the LocalCluster's workers (`local`): Ctrl-C in a terminal reaches the whole
    process group, and the workers would die printing tracebacks; the client stops them."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dashboard(obj) -> str:
    try:
        return obj.dashboard_link or "none"
    except Exception:  # noqa: BLE001 - no dashboard (bokeh missing): nothing to link
        return "none (pip install bokeh to have one)"


class _Stream:
    """Batches submitted as earlier ones complete (at most MAX_IN_FLIGHT pending), results in
    completion order, each batch's once."""

    def __init__(self, client, setup, batches, token: str, address: str):
        from distributed import as_completed

        self.client, self.setup, self.token, self.address = client, setup, token, address
        self.todo = iter(batches)
        self.pending = as_completed(loop=client.loop)
        self.futures: dict = {}

    def _submit(self) -> None:
        batch = next(self.todo, None)
        if batch is not None:
            fut = self.client.submit(_run_batch, self.setup, batch, key=f"augcli-batch-{self.token}-{batch.index}",
                                     pure=False)
            self.futures[batch.index] = fut
            self.pending.add(fut)

    def results(self):
        from distributed import CancelledError, KilledWorker
        from distributed.comm import CommClosedError

        for _ in range(MAX_IN_FLIGHT):
            self._submit()
        done = set()
        for fut in self.pending:
            index = int(fut.key.rsplit("-", 1)[1])
            try:
                rows = fut.result()
            except KilledWorker as e:
                raise WorkerDied(f"Dask workers kept dying on the same task ({e}; out of memory?); what was "
                                 "written is kept: run the same command again to resume") from None
            except (CancelledError, CommClosedError, TimeoutError) as e:
                raise AugError(f"lost the Dask scheduler at {self.address} ({type(e).__name__}: {e}); what was "
                               "written is kept: run the same command again to resume") from None
            self.futures.pop(index, None)
            fut.release()
            self._submit()
            if index not in done:
                done.add(index)
                yield from rows

    def cancel(self) -> None:
        """Tasks not collected (an error, Ctrl-C): cancelled, so that the cluster stops them."""
        left = list(self.futures.values())
        self.futures.clear()
        if left:
            with contextlib.suppress(Exception):
                self.client.cancel(left)
