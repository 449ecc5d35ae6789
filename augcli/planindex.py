"""Where each planned output stands in the plan, found from its path, without a dict of every path.

The manifest is rewritten in plan order and a resume checks each row's seed against the plan:
both need an output's position (its rank among all the plan's outputs) from its path. A dict
path -> (position, seed) costs ~0.5 KB an output (1 M outputs: 0.5 GB). Here a plain job's
outputs are found from their names instead: `SPLIT/KEY[__augK]EXT` names the job (by the hash
of SPLIT/KEY, in a sorted int64 array with the jobs they are: 16 bytes a source) and the copy;
the job's first position comes from an array of cumulative output counts (8 bytes a source), the
seed is computed again (seeds.copy_seed).
Every match is checked against the job itself, so a hash collision or a path this plan does not
make is never taken for another. Jobs whose outputs are listed (a mix step's copies, annotated
layouts) are indexed by a dict of their paths, as before.
"""
from __future__ import annotations

from array import array
from collections.abc import Sequence

from .seeds import copy_seed
from .sources import suffix


class PlanIndex:
    """Positions and seeds (as the manifest writes them) of a plan's outputs, and the class
    folders decided apart from the source's (a mixed copy written under its partner's class)."""

    def __init__(self, jobs: list):
        from .plan import PlainJobs

        self.jobs = jobs
        self.plain = isinstance(jobs, PlainJobs)  # (then no Job object is made to find an output)
        self.listed: dict[str, tuple[int, str]] = {}  # outputs of jobs that list them
        self.cls: dict[str, str] = {}
        self._hashes = None  # built when first needed (_build): a fresh run of a plain plan never does
        if not self.plain:
            self._build()

    def _build(self) -> None:
        import numpy as np

        from .plan import SPLITS

        jobs = self.jobs
        if self.plain:
            per_spec = np.array([int(orig) + copies for _, _, orig, copies in jobs.specs] or [0], dtype=np.int64)
            self.starts = np.zeros(len(jobs) + 1, dtype=np.int64)  # (numpy arrays here: no copies made)
            if len(jobs):
                np.cumsum(per_spec[np.frombuffer(jobs.spec_of, dtype=f"u{jobs.spec_of.itemsize}")], out=self.starts[1:])
            h = np.fromiter((hash(f"{SPLITS[s]}/{key}") for key, s in zip(jobs.out_keys(), jobs.splits)),
                            dtype=np.int64, count=len(jobs))
        else:
            hashes, which = array("q"), array("q")
            self.starts = array("q", [0])
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
        self._hint, self._based, self._search = 0, {}, np.searchsorted
        self._hashes = h[order]  # the jobs' SPLIT/KEY hashes, sorted, and the jobs they are
        self._jobs = np.frombuffer(which, dtype=np.int64)[order] if not self.plain and which else order

    def __len__(self) -> int:
        if self._hashes is None:
            return self.jobs.n_outputs
        return int(self.starts[-1])

    def locate(self, path: str, seed: bool = True) -> tuple[int, str] | None:
        """(position, seed as written) of a planned output; None for a path this plan does not make.
        seed=False: the seed is left out ("") where it would be computed."""
        if self._hashes is None:
            self._build()
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
                    self._hint = j
                    return got
        h = hash(stem)
        i = int(self._search(self._hashes, h))
        while i < len(self._hashes) and self._hashes[i] == h:
            j = int(self._jobs[i])
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
            if self.plain:
                got = f"{self.jobs.split(j)}/{self.jobs.out_key(j)}"
            else:
                job = self.jobs[j]
                got = f"{job.split}/{job.item.out_key}"
            self._based[j] = got
        return got

    def _match(self, j: int, base: str, copy: int | None, path: str, seed: bool) -> tuple[int, str] | None:
        """The output `path` of job j (copy None: its original), checked against the job's own names."""
        start = int(self.starts[j])
        if self.plain:
            spec, source = self.jobs.spec(j), None  # (the source only for a seed)
        else:
            job = self.jobs[j]
            if job._outputs is not None:  # its outputs were read since (one worker: in this process)
                return next(((start + k, "" if o.seed is None else str(o.seed))
                             for k, o in enumerate(job._outputs) if o.path == path), None)
            spec, source = job._spec, job.item.source
        run_seed, ext, orig, copies = spec
        if copy is None:
            return (start, "") if orig and path == base + ext else None
        if copy >= copies or path != f"{base}__aug{copy}{ext}":
            return None
        if not seed:
            return start + int(orig) + copy, ""
        return start + int(orig) + copy, str(copy_seed(run_seed, self.jobs.source(j) if source is None else source, copy))

    def left(self, done) -> "JobsLeft":
        """The jobs with outputs still to make (`done`, journal.Bits: the positions of the others),
        made as they are read: a plain job with none made stays as planned (its first output's
        position told, Job.start); one partly made keeps the outputs left."""
        import numpy as np

        from .plan import Job

        if self._hashes is None:
            self._build()
        if not len(self.jobs):
            return JobsLeft(self.jobs, array("q"), {}, 0, self.starts)
        starts = np.frombuffer(self.starts, dtype=np.int64)
        sizes = np.diff(starts)
        made = np.add.reduceat(done.flags(), starts[:-1], dtype=np.int64)
        made[sizes == 0] = 0  # (reduceat gives an empty job its next output's flag)
        which = np.flatnonzero(made < sizes)
        partial = {}
        for j in np.flatnonzero((made > 0) & (made < sizes)).tolist():
            job, start = self.jobs[j], int(self.starts[j])
            left = [o for k, o in enumerate(job.list_outputs()) if not done[start + k]]
            partial[j] = Job(None, None, None, job.split, left, item=job.item)
        return JobsLeft(self.jobs, array("q", which.astype(np.int64).tobytes()), partial,
                        int((sizes - made)[which].sum()), self.starts)


class JobsLeft(Sequence):
    """The jobs of a resumed run that have outputs left: positions in the plan's jobs, and the
    jobs partly made with the outputs they have left. Jobs are made as they are read, a whole
    one told its first output's position (`starts`: each job's, by plan position)."""

    def __init__(self, jobs, which: array, partial: dict, n_outputs: int, starts):
        self.jobs, self.which, self.partial, self.n_outputs = jobs, which, partial, n_outputs
        self.starts = starts

    def __len__(self) -> int:
        return len(self.which)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        j = self.which[i]
        got = self.partial.get(j)
        if got is not None:
            return got
        job = self.jobs[j]
        job.start = int(self.starts[j])
        return job
