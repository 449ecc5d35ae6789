"""The work of a text-table plan, for the runner (runner.py): units are chunks of records.

- resume: a finished output (done.json matches, no damage) is "already done"; a damaged one is
  made again; otherwise the chunks with a marker in OUTPUT/.augcli/parts/ are done.
- collect: a chunk's counts (once per chunk). finish: the parts joined (join.py). stop: nothing
  (parts stay).
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from ..outdir import MARKER, clean_temp
from .chunks import init_chunks, run_chunk
from .join import DONE, assemble, finished
from .plan import TablePlan


class TableWork:
    unit, progress_unit = "rows", "rec"
    unit_fn, init_fn = staticmethod(run_chunk), staticmethod(init_chunks)

    def __init__(self, cfg, plan: TablePlan):
        self.cfg, self.plan = cfg, plan
        from ..storage import location

        self.parts = location(cfg.output) / MARKER / "parts"  # local, or at the output's URL
        self.init_args = (cfg, plan, str(self.parts))
        self.done = False
        self.collected: set[int] = set()  # chunks counted (a retried chunk may report again)

    def run_info(self) -> dict:
        return {}

    def resume(self, out: Path, res) -> list:
        plan, parts = self.plan, self.parts
        if not parts.exists() and (out / "manifest.csv").exists():
            wrong = finished(out, plan)
            if wrong is None:
                res.skipped, self.done = plan.n_outputs, True
                return []
            print(f"warning: {out}: the finished output is damaged ({wrong}); making it again", file=sys.stderr)
            for p in out.iterdir():
                if p.name != MARKER:
                    p.unlink()
        (out / MARKER / DONE).unlink(missing_ok=True)
        parts.mkdir(parents=True, exist_ok=True)
        clean_temp(out)
        have = set(parts.files()) if hasattr(parts, "files") else set(os.listdir(parts))  # one listing
        todo = [c for c in plan.chunks if f"{c[0]:07d}.json" not in have]
        for c in plan.chunks:
            if f"{c[0]:07d}.json" in have:
                s = json.loads((parts / f"{c[0]:07d}.json").read_text())
                res.skipped += s.get("orig", 0) + s.get("aug", 0) + s.get("val", 0)
        return todo

    @staticmethod
    def chunksize(n_units: int, workers: int) -> int:
        return 1  # a chunk is already 2,000 records

    @staticmethod
    def size(todo: list) -> int:
        return sum(c[4] for c in todo)

    def collect(self, s: dict, res) -> int:
        if s["idx"] in self.collected:
            return 0
        self.collected.add(s["idx"])
        res.written += s.get("orig", 0) + s.get("aug", 0) + s.get("val", 0)
        res.dropped += s.get("dropped", 0)
        return self.plan.chunks[s["idx"]][4]

    def finish(self, out: Path, res) -> None:
        if not self.done:
            clean_temp(out)  # a worker killed mid-write (its chunk ran again elsewhere) left its temp file
            assemble(self.cfg, self.plan, out, self.parts, len(self.plan.chunks))
        res.per_class = Counter({(s, label or ""): c["originals"] + c["augmented"]
                                 for (s, label), c in self.plan.counts.items() if c["originals"] + c["augmented"]})

    def stop(self, out: Path, res) -> None:
        """Interrupted or out of space: the finished chunks' parts stay for the next run."""
