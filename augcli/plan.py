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

    __slots__ = ("item", "split", "_outputs", "_spec")

    def __init__(self, src: str, source: str, label: str | None, split: str, outputs: list | None = None,
                 spec: tuple | None = None, item: Item | None = None):
        self.item = item if item is not None else Item(src, source, label, "")
        self.split, self._spec = split, spec
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

    def __eq__(self, other) -> bool:
        return isinstance(other, Job) and (self.src, self.source, self.label, self.split, self.outputs) == \
            (other.src, other.source, other.label, other.split, other.outputs)

    def __repr__(self) -> str:
        return f"Job({self.src!r}, {self.source!r}, {self.label!r}, {self.split!r}, {self.outputs!r})"


SPLITS = ("train", "val")


class PlainJobs(Sequence):
    """The jobs of a plan without a mix step, each made when read (a Job object used, then
    dropped): what is held per job is its item, its split (a byte) and which of the few specs
    (run seed, extension, original?, copies) it has (4 bytes), not a Job (~70 bytes)."""

    __slots__ = ("items", "splits", "spec_of", "specs", "n_outputs", "_specs")

    def __init__(self):
        self.items: list[Item] = []
        self.splits, self.spec_of = bytearray(), array("I")
        self.specs: list[tuple] = []
        self._specs: dict[tuple, int] = {}
        self.n_outputs = 0  # of all the jobs

    def add(self, item: Item, split: str, spec: tuple) -> None:
        self.items.append(item)
        self.splits.append(SPLITS.index(split))
        at = self._specs.get(spec)
        if at is None:
            at = self._specs[spec] = len(self.specs)
            self.specs.append(spec)
        self.spec_of.append(at)
        self.n_outputs += int(spec[2]) + spec[3]

    def spec(self, j: int) -> tuple:
        return self.specs[self.spec_of[j]]

    def split(self, j: int) -> str:
        return SPLITS[self.splits[j]]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        return Job(None, None, None, SPLITS[self.splits[j]], spec=self.specs[self.spec_of[j]], item=self.items[j])

    def __iter__(self):
        specs = self.specs
        for it, s, k in zip(self.items, self.splits, self.spec_of):
            yield Job(None, None, None, SPLITS[s], spec=specs[k], item=it)


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


def _mixing(cfg, modality, items: list[Item], split: list[str]):
    """The position of the recipe's mix step and the training partners (None, None without)."""
    if not modality.mixing:
        return None, None
    from .transforms.mix import MIX_NAMES, Candidate, Partners, mix_positions

    at = mix_positions(cfg.transforms, "transforms", MIX_NAMES, switch=True)  # validated with the recipe: no error here
    if at is None:
        return None, None
    train = [Candidate(it.path, it.source, it.label) for it, s in zip(items, split) if s == "train"]
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
            held.add(members[i])
    return held


_INPUTS = "\x00augcli-inputs\x00"  # stands for the inputs in the settings' JSON, hashed apart


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
        part = list(islice(it, 20_000))
        if not part:
            break
        h.update(sep + json.dumps(part, default=str)[1:-1].encode())
        sep = b", "
    h.update(b"]" + tail.encode())
    return h.hexdigest()


def _split(items: list[Item], cfg) -> list[str]:
    """Each item's split ("train" or "val"), by position in `items` (sorted by source)."""
    import numpy as np

    by_class = defaultdict(list)
    for i, it in enumerate(items):  # positions: in source order, as the items are
        by_class[it.label].append(i)
    val = hold_out(by_class, cfg.val_split, cfg.seed,
                   lambda s, n, k: np.random.default_rng(s).permutation(n)[:k].tolist())
    return ["val" if i in val else "train" for i in range(len(items))]


def _copies(items: list[Item], split: list[str], cfg, warnings: list) -> list[int]:
    """Augmented copies of each source (by position): --copies each training source, or
    balancing shares per class; none for val."""
    import numpy as np

    train = defaultdict(list)
    for i, (it, s) in enumerate(zip(items, split)):
        if s == "train":
            train[it.label].append(i)
    n_copies = array("H", bytes(2 * len(items))) if cfg.copies < 65_536 else [0] * len(items)
    if cfg.balance and train:
        def pick(label, n, k):
            return np.random.default_rng(balance_seed(cfg.seed, label)).permutation(n)[:k].tolist()

        sizes = {label: len(its) for label, its in train.items()}
        shares = balance_shares(sizes, cfg.copies, not cfg.no_originals, cfg.target_per_class, warnings, pick)
        if any(base + 1 >= 65_536 for base, _ in shares.values()):
            n_copies = list(n_copies)
        for label, (base, lucky) in shares.items():
            lucky = set(lucky)
            for j, i in enumerate(train[label]):
                n_copies[i] = base + (1 if j in lucky else 0)
    else:
        for its in train.values():
            for i in its:
                n_copies[i] = cfg.copies
    return n_copies


_COPY_NAME = re.compile(r"(.*)__aug([0-9]+)")


def _refuse_copy_named(items: list[Item], split, n_copies, keep_orig: bool, ext_of) -> None:
    """An input named like another's augmented copy (x__aug1.png beside x.png, 2+ copies) would be
    written twice under one name: refused, naming both (a dict is made only when such a name exists)."""
    named = [(i, m) for i, it in enumerate(items) if "__aug" in it.out_key
             and (m := _COPY_NAME.fullmatch(it.out_key))]
    if not named:
        return
    at = {(it.out_key, split[i], ext_of(it)): i for i, it in enumerate(items)}
    for i, m in named:
        it, s = items[i], split[i]
        j = at.get((m.group(1), s, ext_of(it)))
        if (s == "val" or keep_orig) and j is not None and n_copies[j] > int(m.group(2)):
            raise UsageError(f"{it.source}: named like augcli's copy {int(m.group(2))} of {items[j].source} (both "
                             f"would be written as {s}/{it.out_key}{ext_of(it)}); rename it")


def make_plan(items: list[Item], cfg, modality, warnings: list[str] | None = None) -> Plan:
    """Every output of the run, its path and seed, from the sorted input listing (see module doc)."""
    warnings = list(warnings or [])
    exts: dict[str, str] = {}

    def ext_of(it: Item) -> str:  # the output's extension, from the source's (a few distinct ones)
        ext = suffix(it.source)
        return exts.get(ext) or exts.setdefault(ext, modality.output_ext(ext, cfg.format))

    items = deduplicate_names(sorted(items, key=lambda it: it.source), ext_of)
    split = _split(items, cfg)
    keep_orig = not cfg.no_originals
    n_copies = _copies(items, split, cfg, warnings)
    mix_at, partners = _mixing(cfg, modality, items, split)
    jobs = [] if mix_at is not None else PlainJobs()
    counts = defaultdict(lambda: {"originals": 0, "augmented": 0})
    for it, s, copies in zip(items, split, n_copies):
        ext = ext_of(it)
        orig = s == "val" or keep_orig
        if orig:
            counts[(s, it.label)]["originals"] += 1
        if mix_at is None:  # outputs made when read (Job.outputs)
            if orig or copies:
                jobs.add(it, s, (cfg.seed, ext, orig, copies))
                counts[(s, it.label)]["augmented"] += copies
            continue
        job = Job(None, None, None, s, item=it)
        if orig:
            job.outputs.append(Output(f"{s}/{it.out_key}{ext}", None, None, cls=it.label))
        for k in range(copies):
            seed = copy_seed(cfg.seed, it.source, k)
            key, mix, where = it.out_key, None, it.label
            from .transforms.mix import decide, dominant

            name, step_cfg = cfg.transforms[mix_at]
            mix = decide(name, step_cfg, seed, mix_at, it.source, it.label, partners)
            where = dominant(mix, it.label)
            if where != it.label:  # under the partner's class, named after its source
                key = f"{label_dir(where)}/mix__{it.out_key.replace('/', '__')}"
            job.outputs.append(Output(f"{s}/{key}__aug{k}{ext}", k, seed, mix, cls=where))
            counts[(s, where)]["augmented"] += 1
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
    return Plan(jobs, dict(counts), warnings, fingerprint(finger, ((it.source, it.label) for it in items)))


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
