"""The work of a file plan, for the runner: one job per source file, run by worker.run_job.

- resume: the manifest's valid rows whose files are on disk are done (manifest.py checks them);
  the jobs keep only the outputs left.
- collect: a job's rows are appended to the manifest as it ends (a killed run keeps them) and
  counted per split and class folder (the class the plan decided, for mixed copies too).
  A retried unit (a Dask worker died) may report an output again: each path is counted once.
- finish / stop: the manifest is rewritten in plan order, so it is the same bytes for any
  worker count or executor; finish also removes temp files a dead worker left.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .manifest import Manifest
from .remote_manifest import open_manifest
from .outdir import clean_temp
from .plan import Numbered, Plan
from .planindex import PlanIndex
from .worker import init_worker, run_job


def run_unit(job):
    """A job's rows (worker.run_job) and the plan position of its first output (`numbered`)."""
    return numbered(job, run_job(job))


def numbered(job, rows: list) -> tuple:
    """(Job.start, rows): the rows are the job's outputs in order, from that plan position on;
    None where that is not known (a partly made job), or not so (not a row per output): the rows'
    positions are then found from their paths."""
    return (job.start if len(rows) == job.n_outputs else None), rows


class FileWork:
    unit, progress_unit = "files", "file"
    unit_fn, init_fn = staticmethod(run_unit), staticmethod(init_worker)

    def __init__(self, cfg, plan: Plan, modality):
        self.cfg, self.plan, self.modality = cfg, plan, modality
        self.manifest: Manifest | None = None
        self.cls: dict[str, str] = {}  # class folders the plan decided apart from the source's (mixed copies)
        self.init_args = (cfg, str(cfg.output), modality)

    def run_info(self) -> dict:
        return self.modality.fingerprint(self.cfg)

    def resume(self, out: Path, res):
        clean_temp(out)
        index = PlanIndex(self.plan.jobs)  # an output's position and seed from its path (built if asked)
        self.cls = index.cls
        self.manifest = open_manifest(out, index)
        kept = self.manifest.resume()
        if self.manifest.damaged:
            print(f"warning: {out / 'manifest.csv'}: {self.manifest.damaged} damaged or foreign rows left out; "
                  "their files are made again", file=sys.stderr)
        # a fresh run: the jobs as planned (a lazy one makes its outputs in the worker)
        todo = index.left(self.manifest.done) if kept else Numbered(self.plan.jobs)  # (made as they are read)
        res.skipped = self.plan.n_outputs - self.size(todo)
        if todo:
            self.manifest.open()
        return todo

    @staticmethod
    def chunksize(n_units: int, workers: int) -> int:
        # up to 64 jobs per message once there are many (still >= 32 messages per worker, so the
        # tail stays short): 32x32 PNGs, 16 instead of 4: ~30% less parent CPU (taken from the
        # workers); 64 instead of 16: ~5% less CPU an output in all (bench_scale --only tiny, A/B/A/B)
        return max(1, min(64, n_units // (workers * 32)))

    @staticmethod
    def size(todo) -> int:
        n = getattr(todo, "n_outputs", None)  # (PlainJobs, JobsLeft: without making the jobs)
        return sum(j.n_outputs for j in todo) if n is None else n

    def collect(self, unit: tuple, res) -> int:
        """A job's rows (manifest.Row; run_unit) appended and counted."""
        start, rows = unit
        rows = self.manifest.fresh(rows, start)  # counted once
        self.manifest.append(rows)
        cls, per_class = self.cls, res.per_class
        for r in rows:
            if r.status == "ok":
                res.written += 1
                per_class[(r.split, (cls.get(r.path, r.label) if cls else r.label) or "")] += 1
            elif r.status == "dropped":
                res.dropped += 1
            else:
                res.failed.append((r.source, r.path, r.error))
        return len(rows)

    def finish(self, out: Path, res) -> None:
        self.manifest.finish()  # on a full disk the journal, whole, stays; the next run orders it
        clean_temp(out)  # a worker killed mid-write (its unit ran again elsewhere) left its temp file

    def stop(self, out: Path, res) -> None:
        if self.manifest is not None:
            self.manifest.close()
            self.manifest.finish()
