"""The plan of a file run: every output, its path and its seed, made once in the parent.

One job per source file (decoded once for all its outputs). From the sorted input listing:
the stratified val hold-out (val_split, per class, seed-determined), the copies per source
(--copies, or --balance / --target-per-class shares), each copy's seed and, for a mix step, its
draws (partner, lambda, box: so the class folder of a mixed copy is known before any pixel is
touched), and the output names. Seeds come from seeds.py, so the plan, and every byte written
from it, is the same whatever the worker count, the executor or the order files were listed in.
The plan's fingerprint (settings + inputs) tells a resumed run from a different one.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from .errors import UsageError
from .seeds import balance_seed, balance_shares, copy_seed, val_seed
from .listing import Listing, append
from .sources import Item, deduplicate_names, label_dir, suffix


@dataclass(slots=True)
class Output:
    path: str  # relative to OUTPUT
    copy: int | None  # None: the original
    seed: int | None
    mix: dict | None = None  # a mix step's draws for this copy (transforms/mix.py)
    cls: str | None = None  # the class folder it is written under (a mixed copy: the dominant class)


class Job:
    """One source file (its `item`, sources.Item) and its outputs. A plain job (no mix step)
    keeps only what names its outputs, `spec` = (run seed, extension, original?, copies), a tuple
    shared by the jobs alike: its Output objects and their seeds are made when `outputs` is first
    read (in the worker that runs it, for a fresh run), so a plan of millions of outputs holds
    one small object per source."""

    __slots__ = ("item", "split", "_outputs", "_spec", "start")

    def __init__(self, src: str, source: str, label: str | None, split: str, outputs: list | None = None,
                 spec: tuple | None = None, item: Item | None = None):
        self.item = item if item is not None else Item(src, source, label, "")
        self.split, self._spec = split, spec
        self.start = None  # the plan position of its first output, its others next (Numbered)
        self._outputs = outputs if outputs is not None or spec is not None else []

    src = property(lambda self: self.item.path)
    source = property(lambda self: self.item.source)
    label = property(lambda self: self.item.label)

    @property
    def outputs(self) -> list[Output]:
        if self._outputs is None:
            self._outputs, self._spec = self.list_outputs(), None
        return self._outputs

    def list_outputs(self) -> list[Output]:
        """The outputs; a lazy job's made afresh and not kept (the parent reads them once)."""
        if self._outputs is not None:
            return self._outputs
        run_seed, ext, orig, copies = self._spec
        s, label, source, key = self.split, self.item.label, self.item.source, self.item.out_key
        outs = [Output(f"{s}/{key}{ext}", None, None, cls=label)] if orig else []
        outs += [Output(f"{s}/{key}__aug{k}{ext}", k, copy_seed(run_seed, source, k), cls=label)
                 for k in range(copies)]
        return outs

    @outputs.setter
    def outputs(self, value: list[Output]) -> None:
        self._outputs, self._spec = value, None

    @property
    def n_outputs(self) -> int:
        if self._outputs is None:
            return int(self._spec[2]) + self._spec[3]
        return len(self._outputs)

    def __reduce__(self):  # (16 jobs a pool message: the slots as they are, ~2x cheaper than by default)
        return _job, (self.item, self.split, self._outputs, self._spec, self.start)

    def __eq__(self, other) -> bool:
        return isinstance(other, Job) and (self.src, self.source, self.label, self.split, self.outputs) == \
            (other.src, other.source, other.label, other.split, other.outputs)

    def __repr__(self) -> str:
        return f"Job({self.src!r}, {self.source!r}, {self.label!r}, {self.split!r}, {self.outputs!r})"


SPLITS = ("train", "val")  # a file's split, by code
TRAIN, VAL = 0, 1


class PlainJobs(Sequence):
    """The jobs of a plan without a mix step, each made when read (a Job object used, then
    dropped): what is held per job is its file's position in the listing (listing.Listing), its
    split (a byte) and which of the few specs (run seed, extension, original?, copies) it has."""

    __slots__ = ("listing", "at", "splits", "spec_of", "specs", "n_outputs", "_specs")

    def __init__(self, listing: Listing):
        self.listing = listing
        self.at = None  # the jobs' files' positions; None while job j is file j (the usual case)
        self.splits, self.spec_of = bytearray(), array("B")
        self.specs: list[tuple] = []
        self._specs: dict[tuple, int] = {}
        self.n_outputs = 0  # of all the jobs

    def add(self, i: int, split: int, spec: tuple) -> None:
        """The job of the listing's file i (added in listing order), split a code (SPLITS)."""
        if self.at is None and i != len(self.splits):  # a file with no job came before
            self.at = array("I", range(len(self.splits)))
        if self.at is not None:
            self.at = append(self.at, i)
        self.splits.append(split)
        at = self._specs.get(spec)
        if at is None:
            at = self._specs[spec] = len(self.specs)
            self.specs.append(spec)
        self.spec_of = append(self.spec_of, at)
        self.n_outputs += int(spec[2]) + spec[3]

    def spec(self, j: int) -> tuple:
        return self.specs[self.spec_of[j]]

    def split(self, j: int) -> str:
        return SPLITS[self.splits[j]]

    def source(self, j: int) -> str:
        return self.listing.source(j if self.at is None else self.at[j])

    def out_key(self, j: int) -> str:
        return self.listing.out_key(j if self.at is None else self.at[j])

    def out_keys(self):
        """Every job's output key, in order."""
        if self.at is None:  # job j is file j
            yield from islice(self.listing.out_keys(), len(self.splits))
        else:
            yield from map(self.listing.out_key, self.at)

    def __len__(self) -> int:
        return len(self.splits)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if j < 0:
            j += len(self.splits)
        split = SPLITS[self.splits[j]]  # (IndexError past the last job, before the listing is read)
        return _job(self.listing[j if self.at is None else self.at[j]], split, None, self.specs[self.spec_of[j]])


def _job(item, split, outputs, spec, start=None) -> Job:
    job = Job.__new__(Job)
    job.item, job.split, job._outputs, job._spec, job.start = item, split, outputs, spec, start
    return job


class Numbered(Sequence):
    """A plan's jobs as a fresh run hands them out: each job read in order is told the plan
    position of its first output (`Job.start`), so that its rows' positions come back with them
    and need not be found from their paths (a plain plan's planindex.PlanIndex is then not built,
    unless the journal must be read back by paths at the end: one the run did not write alone)."""

    def __init__(self, jobs):
        self.jobs = jobs
        n = getattr(jobs, "n_outputs", None)
        self.n_outputs = sum(j.n_outputs for j in jobs) if n is None else n

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, j):
        return self.jobs[j]

    def __iter__(self):
        start = 0
        for job in self.jobs:
            job.start = start
            start += job.n_outputs
            yield job


@dataclass
class Plan:
    jobs: Sequence[Job]  # PlainJobs, or a list (a mix step's jobs list their outputs)
    counts: dict  # (split, label) -> {"originals": n, "augmented": n}
    warnings: list[str]
    fingerprint: str

    @property
    def n_outputs(self) -> int:
        n = getattr(self.jobs, "n_outputs", None)
        return sum(j.n_outputs for j in self.jobs) if n is None else n


def _mixing(cfg, modality, items: Listing, split: bytearray):
    """The position of the recipe's mix step and the training partners (None, None without)."""
    if not modality.mixing:
        return None, None
    from .transforms.mix import MIX_NAMES, Candidate, Partners, mix_positions

    at = mix_positions(cfg.transforms, "transforms", MIX_NAMES, switch=True)  # validated with the recipe: no error here
    if at is None:
        return None, None
    train = [Candidate(items.path(i), items.source(i), items.label(i)) for i, s in enumerate(split) if s == TRAIN]
    return at, Partners(train)


def hold_out(groups: dict, fraction: float, seed: int, first_k) -> set:
    """The stratified, seed-determined val hold-out, for files and table records alike: of each
    class's members (in the order given), round(fraction * n) go to val, drawn from the class's
    val seed (seeds.val_seed). `first_k(seed, n, k)`: k distinct indices below n from that seed,
    with the modality's generator (numpy for files; SplitMix64 for tables, which keep numpy out)."""
    held = set()
    if fraction <= 0:
        return held
    for label, members in groups.items():
        n_val = int(math.floor(fraction * len(members) + 0.5))
        for i in first_k(val_seed(seed, label), len(members), n_val):
            held.add(int(members[i]))
    return held


_INPUTS = "\x00augcli-inputs\x00"  # stands for the inputs in the settings' JSON, hashed apart
FINGERPRINT_SLICE = 2_000  # inputs encoded at a time (~350 bytes each while they are)


def fingerprint(settings: dict, inputs=None) -> str:
    """A run's identity (settings and inputs): a resumed run must have the same. `inputs`, an
    iterable of JSON-able items, is hashed as the settings' "inputs" list (the same digest as
    sha256 of json.dumps({**settings, "inputs": list(inputs)}, sort_keys=True, default=str)),
    encoded a slice at a time: never the whole listing's text in memory."""
    if inputs is None:
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    text = json.dumps({**settings, "inputs": _INPUTS}, sort_keys=True, default=str)
    head, tail = text.split(json.dumps(_INPUTS), 1)
    h = hashlib.sha256(head.encode())
    h.update(b"[")
    it, sep = iter(inputs), b""
    while True:
        part = list(islice(it, FINGERPRINT_SLICE))
        if not part:
            break
        h.update(sep + json.dumps(part, default=str)[1:-1].encode())
        sep = b", "
    h.update(b"]" + tail.encode())
    return h.hexdigest()


def _classes(items: Listing, split: bytearray | None = None) -> dict:
    """Each class's files (positions in `items`, in order: a numpy array), the classes in the order
    their first file comes; with `split`: its training files only, classes with none left out."""
    import numpy as np

    at = np.arange(len(items), dtype=np.int64)
    codes = np.frombuffer(items.label_of, dtype=f"u{items.label_of.itemsize}")
    if split is not None:
        train = np.frombuffer(split, dtype=np.uint8) == TRAIN
        at, codes = at[train], codes[train]
    order = np.argsort(codes, kind="stable")  # one pass for all classes (a class per file: ~n log n)
    ends = np.cumsum(np.bincount(codes, minlength=len(items.labels)))
    groups, start = [], 0
    for c, end in enumerate(ends.tolist()):
        if end > start:
            members = at[order[start:end]]
            groups.append((int(members[0]), items.labels[c], members))
        start = end
    return {label: members for _, label, members in sorted(groups, key=lambda g: g[0])}


def _split(items: Listing, cfg) -> bytearray:
    """Each file's split code (TRAIN or VAL: SPLITS), by position in `items` (sorted by source)."""
    import numpy as np

    val = hold_out(_classes(items), cfg.val_split, cfg.seed,
                   lambda s, n, k: np.random.default_rng(s).permutation(n)[:k].tolist())
    split = bytearray(len(items))
    for i in val:
        split[i] = VAL
    return split


def _copies(items: Listing, split: bytearray, cfg, warnings: list) -> array:
    """Augmented copies of each file (by position): --copies each training file, or balancing
    shares per class; none for val."""
    import numpy as np

    train = _classes(items, split)
    n_copies = np.zeros(len(items), dtype=np.uint32)
    if cfg.balance and train:
        def pick(label, n, k):
            return np.random.default_rng(balance_seed(cfg.seed, label)).permutation(n)[:k].tolist()

        sizes = {label: len(its) for label, its in train.items()}
        shares = balance_shares(sizes, cfg.copies, not cfg.no_originals, cfg.target_per_class, warnings, pick)
        for label, (base, lucky) in shares.items():
            its = train[label]
            n_copies[its] = base
            n_copies[its[np.asarray(sorted(set(lucky)), dtype=np.int64)]] += 1
    else:
        for its in train.values():
            n_copies[its] = cfg.copies
    return array("I", n_copies.tobytes())


_COPY_NAME = re.compile(r"(.*)__aug([0-9]+)")


def _refuse_copy_named(items: Listing, split, n_copies, keep_orig: bool, ext_of) -> None:
    """An input named like another's augmented copy (x__aug1.png beside x.png, 2+ copies) would be
    written twice under one name: refused, naming both (a dict is made only when such a name exists)."""
    named = [(i, m) for i, key in enumerate(items.out_keys()) if "__aug" in key and (m := _COPY_NAME.fullmatch(key))]
    if not named:
        return
    at = {(key, split[i], ext_of(items.source(i))): i for i, key in enumerate(items.out_keys())}
    for i, m in named:
        source, s = items.source(i), split[i]
        j = at.get((m.group(1), s, ext_of(source)))
        if (s == VAL or keep_orig) and j is not None and n_copies[j] > int(m.group(2)):
            raise UsageError(f"{source}: named like augcli's copy {int(m.group(2))} of {items.source(j)} (both "
                             f"would be written as {SPLITS[s]}/{items.out_key(i)}{ext_of(source)}); rename it")


def _mixed_job(cfg, item: Item, s: str, orig: bool, copies: int, ext: str, mix_at: int, partners, counts) -> Job:
    """The job of a file when the recipe has a mix step: its outputs listed with their draws (the
    class folder of a mixed copy is its dominant class, named after its source)."""
    from .transforms.mix import decide, dominant

    job = Job(None, None, None, s, item=item)
    if orig:
        job.outputs.append(Output(f"{s}/{item.out_key}{ext}", None, None, cls=item.label))
    name, step_cfg = cfg.transforms[mix_at]
    for k in range(copies):
        seed = copy_seed(cfg.seed, item.source, k)
        mix = decide(name, step_cfg, seed, mix_at, item.source, item.label, partners)
        key, where = item.out_key, dominant(mix, item.label)
        if where != item.label:  # under the partner's class, named after its source
            key = f"{label_dir(where)}/mix__{item.out_key.replace('/', '__')}"
        job.outputs.append(Output(f"{s}/{key}__aug{k}{ext}", k, seed, mix, cls=where))
        counts[(s, where)]["augmented"] += 1
    return job


def make_plan(items, cfg, modality, warnings: list[str] | None = None) -> Plan:
    """Every output of the run, its path and seed, from the input listing (a listing.Listing or
    a list of sources.Item; see module doc)."""
    warnings = list(warnings or [])
    exts: dict[str, str] = {}

    def ext_of(source: str) -> str:  # the output's extension, from the source's (a few distinct ones)
        ext = suffix(source)
        return exts.get(ext) or exts.setdefault(ext, modality.output_ext(ext, cfg.format))

    items = deduplicate_names(Listing.of(items).sorted_by_source(), ext_of)
    split = _split(items, cfg)
    keep_orig = not cfg.no_originals
    n_copies = _copies(items, split, cfg, warnings)
    mix_at, partners = _mixing(cfg, modality, items, split)
    jobs = [] if mix_at is not None else PlainJobs(items)
    counts = defaultdict(lambda: {"originals": 0, "augmented": 0})
    labels = items.labels
    for i, (source, code, sc, copies) in enumerate(zip(items.sources(), items.label_of, split, n_copies)):
        ext, s, label = ext_of(source), SPLITS[sc], labels[code]
        orig = sc == VAL or keep_orig
        if orig:
            counts[(s, label)]["originals"] += 1
        if mix_at is None:  # outputs made when read (Job.outputs)
            if orig or copies:
                jobs.add(i, sc, (cfg.seed, ext, orig, copies))
                counts[(s, label)]["augmented"] += copies
            continue
        job = _mixed_job(cfg, items[i], s, orig, copies, ext, mix_at, partners, counts)
        if job.outputs:
            jobs.append(job)
    if mix_at is None:
        _refuse_copy_named(items, split, n_copies, keep_orig, ext_of)
    else:
        seen = Counter(o.path for j in jobs for o in j.outputs)
        dup = [p for p, n in seen.items() if n > 1]
        if dup:
            raise UsageError(f"output name {dup[0]!r} would be written twice (an input named like a mixed "
                             "output, mix__...); rename that input")
    finger = {
        "modality": cfg.modality, "seed": cfg.seed, "copies": cfg.copies, "balance": cfg.balance,
        "target_per_class": cfg.target_per_class, "val_split": cfg.val_split, "no_originals": cfg.no_originals,
        "format": cfg.format, "quality": cfg.quality, "rescale": cfg.rescale, "transforms": cfg.transforms,
        "sample_rate": cfg.sample_rate, "clip": cfg.clip,
    }
    finger.update(modality.fingerprint(cfg))  # e.g. image: with or without the planar JPEG codec
    inputs = zip(items.sources(), map(labels.__getitem__, items.label_of))
    return Plan(jobs, dict(counts), warnings, fingerprint(finger, inputs))


def plan_files(cfg, modality) -> Plan:
    """Discover a file modality's inputs and plan them (an input with none is an error, exit 2)."""
    items, warnings = modality.discover(cfg)
    plan = make_plan(items, cfg, modality, warnings)
    if not items:
        for w in plan.warnings:
            print(f"warning: {w}", file=sys.stderr)
        raise UsageError(f"{cfg.csv or cfg.input}: no {modality.noun} found "
                         f"(looked for {', '.join(sorted(modality.extensions()))})")
    return plan
