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
from .outdir import clean_temp
from .plan import Job, Plan
from .worker import init_worker, run_job


class FileWork:
    unit, progress_unit = "files", "file"
    unit_fn, init_fn = staticmethod(run_job), staticmethod(init_worker)

    def __init__(self, cfg, plan: Plan, modality):
        self.cfg, self.plan, self.modality = cfg, plan, modality
        self.manifest: Manifest | None = None
        self.cls = {o.path: o.cls for j in plan.jobs for o in j.outputs}  # class folder, decided by the plan
        self.collected: set[str] = set()
        self.init_args = (cfg, str(cfg.output), modality)

    def run_info(self) -> dict:
        return self.modality.fingerprint(self.cfg)

    def resume(self, out: Path, res) -> list[Job]:
        clean_temp(out)
        order = {o.path: (i, "" if o.seed is None else str(o.seed))
                 for i, o in enumerate(o for j in self.plan.jobs for o in j.outputs)}
        self.manifest = Manifest(out, order)
        done = self.manifest.resume()
        if self.manifest.damaged:
            print(f"warning: {out / 'manifest.csv'}: {self.manifest.damaged} damaged or foreign rows left out; "
                  "their files are made again", file=sys.stderr)
        todo = []
        for job in self.plan.jobs:
            left = [o for o in job.outputs if o.path not in done]
            if left:
                todo.append(Job(job.src, job.source, job.label, job.split, left))
        res.skipped = self.plan.n_outputs - sum(len(j.outputs) for j in todo)
        if todo:
            self.manifest.open()
        return todo

    @staticmethod
    def chunksize(n_units: int, workers: int) -> int:
        # a few jobs per message once there are many: ~25% less parent CPU (taken from the workers)
        return max(1, min(4, n_units // (workers * 32)))

    @staticmethod
    def size(todo: list[Job]) -> int:
        return sum(len(j.outputs) for j in todo)

    def collect(self, rows: list[dict], res) -> int:
        rows = [r for r in rows if r["path"] not in self.collected]
        self.collected.update(r["path"] for r in rows)
        self.manifest.append(rows)
        for r in rows:
            if r["status"] == "ok":
                res.written += 1
                res.per_class[(r["split"], self.cls[r["path"]] or "")] += 1
            elif r["status"] == "dropped":
                res.dropped += 1
            else:
                res.failed.append((r["source"], r["path"], r["error"]))
        return len(rows)

    def finish(self, out: Path, res) -> None:
        self.manifest.finish()  # on a full disk the journal, whole, stays; the next run orders it
        clean_temp(out)  # a worker killed mid-write (its unit ran again elsewhere) left its temp file

    def stop(self, out: Path, res) -> None:
        if self.manifest is not None:
            self.manifest.close()
            self.manifest.finish()
