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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .errors import UsageError
from .seeds import balance_seed, balance_shares, copy_seed, val_seed
from .sources import Item, deduplicate_names, label_dir


@dataclass
class Output:
    path: str  # relative to OUTPUT
    copy: int | None  # None: the original
    seed: int | None
    mix: dict | None = None  # a mix step's draws for this copy (transforms/mix.py)
    cls: str | None = None  # the class folder it is written under (a mixed copy: the dominant class)


@dataclass
class Job:
    src: str
    source: str
    label: str | None
    split: str
    outputs: list[Output] = field(default_factory=list)


@dataclass
class Plan:
    jobs: list[Job]
    counts: dict  # (split, label) -> {"originals": n, "augmented": n}
    warnings: list[str]
    fingerprint: str

    @property
    def n_outputs(self) -> int:
        return sum(len(j.outputs) for j in self.jobs)


def _mixing(cfg, modality, items: list[Item], split: dict):
    """The position of the recipe's mix step and the training partners (None, None without)."""
    if not modality.mixing:
        return None, None
    from .transforms.mix import Candidate, Partners

    at = next((i for i, (n, _) in enumerate(cfg.transforms) if n in ("mixup", "cutmix")), None)
    if at is None:
        return None, None
    train = [Candidate(it.path, it.source, it.label) for it in items if split[it.source] == "train"]
    return at, Partners(train)


def _split(items: list[Item], cfg) -> dict[str, str]:
    """Stratified, seed-determined hold-out: round(f * n) originals of each class go to val."""
    import numpy as np

    split = {it.source: "train" for it in items}
    if cfg.val_split <= 0:
        return split
    by_class = defaultdict(list)
    for it in items:
        by_class[it.label].append(it.source)
    for label, sources in by_class.items():
        sources.sort()
        n_val = int(math.floor(cfg.val_split * len(sources) + 0.5))
        rng = np.random.default_rng(val_seed(cfg.seed, label))
        for i in rng.permutation(len(sources))[:n_val]:
            split[sources[i]] = "val"
    return split


def make_plan(items: list[Item], cfg, modality, warnings: list[str] | None = None) -> Plan:
    """Every output of the run, its path and seed, from the sorted input listing (see module doc)."""
    import numpy as np

    output_ext = modality.output_ext
    warnings = list(warnings or [])
    ext_of = lambda it: output_ext(PurePosixPath(it.source).suffix, cfg.format)  # noqa: E731
    items = deduplicate_names(sorted(items, key=lambda it: it.source), ext_of)
    split = _split(items, cfg)
    keep_orig = not cfg.no_originals
    train = defaultdict(list)
    for it in items:
        if split[it.source] == "train":
            train[it.label].append(it)

    n_copies: dict[str, int] = {}
    if cfg.balance and train:
        def pick(label, n, k):
            return np.random.default_rng(balance_seed(cfg.seed, label)).permutation(n)[:k].tolist()

        sizes = {label: len(its) for label, its in train.items()}
        shares = balance_shares(sizes, cfg.copies, keep_orig, cfg.target_per_class, warnings, pick)
        for label, (base, lucky) in shares.items():
            lucky = set(lucky)
            for i, it in enumerate(train[label]):
                n_copies[it.source] = base + (1 if i in lucky else 0)
    else:
        for its in train.values():
            for it in its:
                n_copies[it.source] = cfg.copies

    mix_at, partners = _mixing(cfg, modality, items, split)
    jobs, counts = [], defaultdict(lambda: {"originals": 0, "augmented": 0})
    for it in items:
        s = split[it.source]
        ext = ext_of(it)
        job = Job(it.path, it.source, it.label, s)
        if s == "val" or keep_orig:
            job.outputs.append(Output(f"{s}/{it.out_key}{ext}", None, None, cls=it.label))
            counts[(s, it.label)]["originals"] += 1
        for k in range(n_copies.get(it.source, 0)):
            seed = copy_seed(cfg.seed, it.source, k)
            key, mix, where = it.out_key, None, it.label
            if mix_at is not None:
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
    if mix_at is not None:
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
        "inputs": [(it.source, it.label) for it in items],
    }
    finger.update(modality.fingerprint(cfg))  # e.g. image: with or without the planar JPEG codec
    fp = hashlib.sha256(json.dumps(finger, sort_keys=True, default=str).encode()).hexdigest()
    return Plan(jobs, dict(counts), warnings, fp)
