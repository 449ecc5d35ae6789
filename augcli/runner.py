"""The one runner: a plan's jobs on an executor, with the output's lock, resume, manifest and summary.

`run_files(cfg, modality)`: discover and plan (plan.py), refuse or resume the output folder
(outdir.py: lock, ownership, settings), keep the manifest's valid rows (manifest.py), send the
jobs left to the executor (executors.py; each job runs worker.run_job), append rows as results
come, and end with the manifest rewritten in plan order and a summary. Text tables
(texttable.py) use the same lock, output checks, executor, progress and summary.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OutputDiskError, UsageError, disk_message, is_disk_error
from .executors import LocalExecutor
from .manifest import Manifest
from .outdir import clean_temp, locked, prepare_output
from .plan import Job, Plan, make_plan
from .worker import init_worker, run_job


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


def print_plan(plan: Plan, cfg, file=sys.stdout) -> None:
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


def run_files(cfg, modality, quiet: bool = False, executor=None) -> Result:
    """Plan, then run a file modality's jobs on `executor` (default: the local process pool)."""
    items, warnings = modality.discover(cfg)
    plan = make_plan(items, cfg, modality, warnings)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        raise UsageError(f"{cfg.csv or cfg.input}: no {modality.noun} found "
                         f"(looked for {', '.join(sorted(modality.extensions()))})")
    if cfg.dry_run:
        print_plan(plan, cfg)
        return Result()
    out = Path(cfg.output)
    executor = executor or LocalExecutor(cfg.n_workers())
    with locked(out):
        res = _run_locked(cfg, plan, out, modality, executor, quiet)
    if not quiet:
        print_summary(res, plan, out)
    elif res.failed:  # --quiet still fails loudly (a Makefile's log shows what broke)
        print_failures(res, out, file=sys.stderr)
    return res


def _run_locked(cfg, plan: Plan, out: Path, modality, executor, quiet: bool) -> Result:
    prepare_output(cfg, plan, modality.fingerprint(cfg))
    clean_temp(out)
    order = {o.path: (i, "" if o.seed is None else str(o.seed))
             for i, o in enumerate(o for j in plan.jobs for o in j.outputs)}
    manifest = Manifest(out, order)
    try:
        done = manifest.resume()
    except OSError as e:
        if is_disk_error(e):
            raise OutputDiskError(disk_message(out, e, 0)) from None
        raise
    if manifest.damaged:
        print(f"warning: {out / 'manifest.csv'}: {manifest.damaged} damaged or foreign rows left out; "
              "their files are made again", file=sys.stderr)
    todo = []
    for job in plan.jobs:
        left = [o for o in job.outputs if o.path not in done]
        if left:
            todo.append(Job(job.src, job.source, job.label, job.split, left))
    res = Result(skipped=sum(len(j.outputs) for j in plan.jobs) - sum(len(j.outputs) for j in todo))
    t0 = time.perf_counter()
    try:
        _execute(cfg, out, modality, executor, todo, manifest, res, quiet)
    except KeyboardInterrupt:
        res.interrupted = True
    except OSError as e:
        if not is_disk_error(e):
            raise
        manifest.close()
        with contextlib.suppress(OSError):
            manifest.finish()
        raise OutputDiskError(disk_message(out, e, res.written)) from None
    res.seconds = time.perf_counter() - t0
    try:
        manifest.finish()
    except OSError as e:  # the journal, whole, stays; the next run puts it in order
        if not is_disk_error(e):
            raise
        raise OutputDiskError(disk_message(out, e, res.written)) from None
    return res


def _execute(cfg, out: Path, modality, executor, todo: list, manifest: Manifest, res: Result,
             quiet: bool) -> None:
    """Run the jobs left on the executor, appending their rows to the manifest as they come."""
    n_todo = sum(len(j.outputs) for j in todo)
    if isinstance(executor, LocalExecutor):  # no more processes than jobs
        executor = LocalExecutor(min(executor.workers, len(todo)))
    cls = {o.path: o.cls for j in todo for o in j.outputs}  # the class folder, decided by the plan
    manifest.open()
    try:
        # a few jobs per message once there are many: ~25% less parent CPU (taken from the workers)
        chunk = max(1, min(4, len(todo) // (getattr(executor, "workers", 1) * 32)))
        with executor.map_unordered(run_job, todo, init_worker, (cfg, str(out), modality), chunk) as results:
            with progress(n_todo, "file", quiet) as bar:
                for rows in results:
                    manifest.append(rows)
                    for r in rows:
                        if r["status"] == "ok":
                            res.written += 1
                            res.per_class[(r["split"], cls[r["path"]] or "")] += 1
                        elif r["status"] == "dropped":
                            res.dropped += 1
                        else:
                            res.failed.append((r["source"], r["path"], r["error"]))
                    bar.update(len(rows))
    finally:
        manifest.close()


def print_summary(res: Result, plan: Plan, out: Path, file=sys.stdout, unit: str = "files") -> None:
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
