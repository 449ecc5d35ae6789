"""Where each planned output stands in the plan, found from its path, without a dict of every path.

The manifest is rewritten in plan order and a resume checks each row's seed against the plan:
both need an output's position (its rank among all the plan's outputs) from its path. A dict
path -> (position, seed) costs ~0.5 KB an output (1 M outputs: 0.5 GB). Here a plain job's
outputs are found from their names instead: `SPLIT/KEY[__augK]EXT` names the job (by the hash
of SPLIT/KEY, in a sorted int64 array: 16 bytes a source) and the copy; the job's first position
comes from an array of cumulative output counts, the seed is computed again (seeds.copy_seed).
Every match is checked against the job itself, so a hash collision or a path this plan does not
make is never taken for another. Jobs whose outputs are listed (a mix step's copies, annotated
layouts) are indexed by a dict of their paths, as before.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left

from .seeds import copy_seed
from .sources import suffix


class PlanIndex:
    """Positions and seeds (as the manifest writes them) of a plan's outputs, and the class
    folders decided apart from the source's (a mixed copy written under its partner's class)."""

    def __init__(self, jobs: list):
        import numpy as np

        self.jobs = jobs
        self.starts = array("q", [0])
        self.listed: dict[str, tuple[int, str]] = {}  # outputs of jobs that list them
        self.cls: dict[str, str] = {}
        hashes, which = array("q"), array("q")
        for j, job in enumerate(jobs):
            start = self.starts[-1]
            if job._outputs is None:  # a plain job: found by its name
                hashes.append(hash(f"{job.split}/{job.item.out_key}"))
                which.append(j)
            else:
                for k, o in enumerate(job._outputs):
                    self.listed.setdefault(o.path, (start + k, "" if o.seed is None else str(o.seed)))
                    if o.cls != job.label:
                        self.cls[o.path] = o.cls
            self.starts.append(start + job.n_outputs)
        h = np.frombuffer(hashes, dtype=np.int64) if hashes else np.zeros(0, np.int64)
        order = np.argsort(h, kind="stable")
        self._hint, self._based = 0, {}
        self._hashes, self._jobs = array("q", h[order].tobytes()), array("q", which.tobytes())
        if which:
            self._jobs = array("q", np.frombuffer(which, dtype=np.int64)[order].tobytes())

    def __len__(self) -> int:
        return self.starts[-1]

    def locate(self, path: str, seed: bool = True) -> tuple[int, str] | None:
        """(position, seed as written) of a planned output; None for a path this plan does not make.
        seed=False: the seed is left out ("") where it would be computed."""
        got = self.listed.get(path) if self.listed else None
        if got is not None:
            return got
        ext = suffix(path)
        for stem in (path[: len(path) - len(ext)], path) if ext else (path,):
            key, mark, k = stem.rpartition("__aug")
            if mark and k.isdigit() and str(int(k)) == k:  # a copy's name (or an original named so)
                found = self._find(key, int(k), path, seed)
                if found is not None:
                    return found
            found = self._find(stem, None, path, seed)
            if found is not None:
                return found
        return None

    def _find(self, stem: str, copy: int | None, path: str, seed: bool) -> tuple[int, str] | None:
        # rows come mostly in plan order, a job's together: the last job found, or the next one
        for j in (self._hint, self._hint + 1):
            if j < len(self.jobs) and self._base(j) == stem:
                got = self._match(j, stem, copy, path, seed)
                if got is not None:
                    return got
        h = hash(stem)
        i = bisect_left(self._hashes, h)
        while i < len(self._hashes) and self._hashes[i] == h:
            j = self._jobs[i]
            got = self._match(j, self._base(j), copy, path, seed)
            if got is not None:
                self._hint = j
                return got
            i += 1
        return None

    def _base(self, j: int) -> str:
        """SPLIT/KEY of job j (the last few asked kept: rows come a job's together, and the hint
        asks for a job and the next one)."""
        got = self._based.get(j)
        if got is None:
            if len(self._based) >= 64:
                self._based.clear()
            job = self.jobs[j]
            got = self._based[j] = f"{job.split}/{job.item.out_key}"
        return got

    def _match(self, j: int, base: str, copy: int | None, path: str, seed: bool) -> tuple[int, str] | None:
        """The output `path` of job j (copy None: its original), checked against the job's own names."""
        job, start = self.jobs[j], self.starts[j]
        if job._outputs is not None:  # its outputs were read since (one worker: in this process)
            return next(((start + k, "" if o.seed is None else str(o.seed))
                         for k, o in enumerate(job._outputs) if o.path == path), None)
        run_seed, ext, orig, copies = job._spec
        if copy is None:
            return (start, "") if orig and path == base + ext else None
        if copy >= copies or path != f"{base}__aug{copy}{ext}":
            return None
        return start + int(orig) + copy, str(copy_seed(run_seed, job.item.source, copy)) if seed else ""

    def left(self, done: bytearray) -> list:
        """The jobs with outputs still to make (`done[position]` set for the others): a plain job
        with none made stays as planned; one partly made keeps the outputs left."""
        from .plan import Job

        todo = []
        for j, job in enumerate(self.jobs):
            start, end = self.starts[j], self.starts[j + 1]
            if not any(done[start:end]):
                todo.append(job)
            elif not all(done[start:end]):
                left = [o for k, o in enumerate(job.list_outputs()) if not done[start + k]]
                todo.append(Job(None, None, None, job.split, left, item=job.item))
        return todo
