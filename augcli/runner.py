"""The one runner: any plan's work on an executor, with the output's lock, resume, progress and summary.

`run(cfg, modality)`: the modality plans (`modality.plan(cfg)`: file jobs, plan.py, or a text
table's chunks, texttable/), a dry run prints the plan; otherwise OUTPUT is locked and checked
(outdir.py: one run at a time, ownership, settings), and the plan's work object says what is left
(`resume`), what a unit of work is (`unit_fn`, run by the executor in its workers), what a
result means (`collect`: manifest rows appended, counts) and how the output is completed
(`finish`: the manifest in plan order; a table's parts joined). The executor is where the units
run, picked from `cfg.scheduler` here (`executor_for`): the local process pool (executors.py) or a
Dask cluster (dask_executor.py, imported only then).
A full or read-only disk stops the run with one line (exit 3), Ctrl-C with exit 130; both resume.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AugError, OutputDiskError, disk_message, is_disk_error
from .executors import LocalExecutor
from .outdir import MARKER, locked, prepare_output


class _Silent:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def progress(total: int, unit: str, quiet: bool):
    """A tqdm bar on stderr (only when it may show: tqdm costs ~40 ms of imports)."""
    if quiet or total == 0:  # nothing left to do: no bar
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar


def print_plan(plan, cfg, file=sys.stdout) -> None:
    n_sources = getattr(plan, "n_sources", len(plan.jobs))
    print(f"plan: {n_sources} sources -> {plan.n_outputs} outputs in {cfg.output}", file=file)
    print(f"  {'split':<6} {'class':<24} {'originals':>9} {'augmented':>9} {'total':>7}", file=file)
    for (s, label), c in sorted(plan.counts.items(), key=lambda kv: (kv[0][0] != "train", str(kv[0][1]))):
        name = "(no label)" if label is None else label
        print(f"  {s:<6} {name:<24} {c['originals']:>9} {c['augmented']:>9} {c['originals'] + c['augmented']:>7}",
              file=file)


@dataclass
class Result:
    written: int = 0
    skipped: int = 0
    dropped: int = 0
    failed: list = field(default_factory=list)
    per_class: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)


def run(cfg, modality, quiet: bool = False, executor=None) -> Result:
    """Plan `cfg` with `modality`, then do the work left on `executor` (default: the local pool)."""
    from .storage import location, reported

    plan = modality.plan(cfg)  # (the storage options were set by recipe.build_config / api.run)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if cfg.dry_run:
        print_plan(plan, cfg)
        return Result()
    work = modality.work(cfg, plan)
    out = location(cfg.output)
    executor = executor or executor_for(cfg, quiet)
    with reported(str(out)) if hasattr(out, "put") else contextlib.nullcontext(), locked(out):
        res = _run_locked(cfg, plan, work, out, executor, quiet)
    if not quiet:
        print_summary(res, plan, out, unit=work.unit)
    elif res.failed:  # --quiet still fails loudly (a Makefile's log shows what broke)
        print_failures(res, out, file=sys.stderr)
    return res


def executor_for(cfg, quiet: bool = False):
    """Where the units run, from `cfg.scheduler` (the one place it is read): `processes`, the local
    pool; `local` or `tcp://HOST:PORT`, a Dask cluster (which must see INPUT and OUTPUT)."""
    if cfg.scheduler == "processes":
        return LocalExecutor(cfg.n_workers())
    from .dask_executor import DaskExecutor

    if cfg.scheduler != "local" and "workers" in cfg.explicit:
        print(f"warning: --workers is ignored with --scheduler {cfg.scheduler}: the cluster's workers run the jobs",
              file=sys.stderr)
    from .storage import is_url

    shared = [cfg.input, cfg.csv, cfg.root, cfg.lexicon, cfg.coco, f"{cfg.output}/{MARKER}/run.json"]
    return DaskExecutor(cfg.scheduler, cfg.n_workers(), quiet, shared=[p for p in shared if p and not is_url(p)])


def _run_locked(cfg, plan, work, out: Path, executor, quiet: bool) -> Result:
    res = Result()
    try:
        prepare_output(cfg, plan, work.run_info())
        todo = work.resume(out, res)
    except OSError as e:
        if is_disk_error(e):
            raise OutputDiskError(disk_message(out, e, 0, work.unit)) from None
        raise
    t0 = time.perf_counter()
    try:
        if todo:
            _execute(work, executor, todo, res, quiet)
        work.finish(out, res)
    except KeyboardInterrupt:
        res.interrupted = True
        work.stop(out, res)
    except AugError:  # e.g. a worker died: what was written stays recorded
        with contextlib.suppress(OSError):
            work.stop(out, res)
        raise
    except OSError as e:
        if not is_disk_error(e):
            raise
        with contextlib.suppress(OSError):
            work.stop(out, res)
        raise OutputDiskError(disk_message(out, e, res.written, work.unit)) from None
    finally:
        res.seconds = time.perf_counter() - t0
    return res


def _execute(work, executor, todo, res: Result, quiet: bool) -> None:
    """The units left, on the executor (never more local processes than units); results as they come."""
    if isinstance(executor, LocalExecutor):
        executor = LocalExecutor(min(executor.workers, len(todo)))
        if executor.forks and hasattr(getattr(work, "modality", None), "before_fork"):
            work.modality.before_fork(work.cfg)  # once here, inherited by every worker
    chunk = work.chunksize(len(todo), getattr(executor, "workers", 1))
    with executor.map_unordered(work.unit_fn, todo, work.init_fn, work.init_args, chunk) as results:
        with progress(work.size(todo), work.progress_unit, quiet) as bar:
            for r in results:
                bar.update(work.collect(r, res))


def print_summary(res: Result, plan, out: Path, file=sys.stdout, unit: str = "files") -> None:
    rate = res.written / res.seconds if res.seconds > 0 else 0.0
    state = "INTERRUPTED, run the same command again to resume" if res.interrupted else "done"
    dropped = f", {res.dropped} dropped (duplicates, see the manifest)" if res.dropped else ""
    print(f"augcli {state}: {res.written} written, {res.skipped} already done, {len(res.failed)} failed{dropped} "
          f"in {res.seconds:.1f} s ({rate:.1f} {unit}/s)", file=file)
    if res.written:
        print(f"  {'split':<6} {'class':<24} {'written':>8}", file=file)
        for (s, label), n in sorted(res.per_class.items()):
            print(f"  {s:<6} {label or '(no label)':<24} {n:>8}", file=file)
    print_failures(res, out, file)
    print(f"manifest: {out / 'manifest.csv'}", file=file)


def print_failures(res: Result, out: Path, file=sys.stdout) -> None:
    """The first 20 failed sources with their reasons (all of them are in the manifest)."""
    if not res.failed:
        return
    by_source = {}
    for source, _, err in res.failed:
        by_source.setdefault(source, err)
    print(f"failed ({len(res.failed)} files from {len(by_source)} sources):", file=file)
    for source, err in list(by_source.items())[:20]:
        print(f"  {source}: {err}", file=file)
    if len(by_source) > 20:
        print(f"  ... and {len(by_source) - 20} more (see {out / 'manifest.csv'})", file=file)
