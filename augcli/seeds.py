"""Every number a run draws from is derived here, from plain values only (never a Config).

A leaf module: it imports nothing from augcli, so any layer may use it. The same inputs give
the same numbers on every machine, whatever the worker count, the executor or the file order.

- `stable_hash(*parts)`: 64 bits of BLAKE2b over the parts' text, the root of everything below.
- `copy_seed(run_seed, source, copy)`: the seed of one augmented copy (the manifest's `seed`;
  `numpy.random.default_rng(seed)` through the same recipe replays it).
- `output_key(path)`: a 31-bit number naming an output file (e.g. its Ogg stream serial).
- `val_seed`, `balance_seed`, `mix_seed`, `table_seed`: the seeds of the val hold-out of a
  class, of the balancing draw of a class, of a copy's mixing draws, of a tabular batch.
- `balance_shares(sizes, ...)`: how many copies each source of a class makes so that every class
  reaches the target exactly.
"""
from __future__ import annotations

import hashlib


def stable_hash(*parts) -> int:
    h = hashlib.blake2b("\x00".join(str(p) for p in parts).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def output_key(path: str) -> int:
    """A 31-bit number naming an output file (e.g. its Ogg stream serial), from its path only."""
    return stable_hash("out", path) & 0x7FFFFFFF


def copy_seed(run_seed: int, source: str, copy: int) -> int:
    """The seed of one augmented copy: a function of the run seed and the copy's identity only."""
    return stable_hash("copy", run_seed, source, copy) >> 1


def val_seed(run_seed: int, label) -> int:
    """The seed of the val hold-out draw of one class."""
    return stable_hash("val", run_seed, label)


def balance_seed(run_seed: int, label) -> int:
    """The seed of the draw that picks which sources of a class make one copy more."""
    return stable_hash("balance", run_seed, label)


def mix_seed(copy_seed_: int, step_index: int) -> int:
    """The seed of a copy's mixing draws (fires?, partner, lambda, box): their own stream."""
    return stable_hash("mix", copy_seed_, step_index)


def table_seed(run_seed: int, label, batch: int) -> int:
    """The seed of one batch of synthetic rows of a class (tabular)."""
    return stable_hash("tabular", run_seed, label, batch) & 0xFFFFFFFF


def balance_shares(sizes: dict, copies: int, keep_originals: bool, target: int | None, warnings: list,
                   pick) -> dict:
    """Balancing: {class: (copies for every source, indices of the sources that make one more)}
    so that each class reaches the target exactly (default: the largest class's size with
    `copies` per source). `pick(class, n, k)`: k distinct indices < n."""
    per_source = copies + (1 if keep_originals else 0)
    target = target or max(n * per_source for n in sizes.values())
    out = {}
    for label, n in sorted(sizes.items(), key=lambda kv: str(kv[0])):
        if not n:
            continue
        have = n if keep_originals else 0
        need = target - have
        if need < 0:
            warnings.append(f"class {label!r} has {have} originals, more than the target {target}: "
                            "all are kept and none is augmented")
            need = 0
        base, extra = divmod(need, n)
        out[label] = (base, pick(label, n, extra))
    return out
