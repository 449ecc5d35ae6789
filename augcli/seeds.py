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
- `reseeder()`: `numpy.random.default_rng(seed)` for one seed after another, the same streams,
  from one Generator re-seeded in place (a worker's per-output Generator without numpy's
  per-seed objects).
"""
from __future__ import annotations

import hashlib


def stable_hash(*parts) -> int:
    return _hash_text("\x00".join(str(p) for p in parts))


def _hash_text(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def output_key(path: str) -> int:
    """A 31-bit number naming an output file (e.g. its Ogg stream serial), from its path only."""
    return stable_hash("out", path) & 0x7FFFFFFF


def copy_seed(run_seed: int, source: str, copy: int) -> int:
    """The seed of one augmented copy: a function of the run seed and the copy's identity only."""
    # stable_hash("copy", run_seed, source, copy), its text made in one step (one per output)
    return _hash_text(f"copy\x00{run_seed!s}\x00{source!s}\x00{copy!s}") >> 1


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


# numpy's SeedSequence (numpy/random/bit_generator.pyx) and PCG64 seeding (pcg64.c), in Python
# ints: the constants of its hash, the hash's multipliers precomputed (they do not depend on the
# seed). numpy's seeding is stable by policy (NEP 19); tests/test_seeds.py compares the states.
_M32, _M128 = 0xFFFFFFFF, (1 << 128) - 1
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


def _hash_consts(h: int, mult: int, n: int) -> list[tuple[int, int]]:
    """(hash constant before, after) of n successive hashmix calls."""
    out = []
    for _ in range(n):
        out.append((h, (h * mult) & _M32))
        h = out[-1][1]
    return out


def _hashmix(v: int, before: int, after: int) -> int:
    v = ((v ^ before) * after) & _M32
    return v ^ (v >> 16)


_A = _hash_consts(0x43B0D7E5, 0x931E8875, 16)  # the pool's: 4 words in, then 12 mixes
_B = _hash_consts(0x8B51F9DD, 0x58F38DED, 8)  # generate_state's: 8 words out (4 uint64)
_EMPTY = [_hashmix(0, *_A[i]) for i in range(4)]  # a pool word past the seed's words
_MIXES = [(s, d, *_A[k]) for k, (s, d) in enumerate([(s, d) for s in range(4) for d in range(4) if s != d], 4)]
_WORDS = [(i & 3, *_B[i]) for i in range(8)]


def pcg64_state(seed: int) -> tuple[int, int]:
    """(state, inc) of `numpy.random.PCG64(seed)` for an int seed in [0, 2**64): SeedSequence(seed)'s
    4-word pool, its generate_state(4, uint64), then pcg64_set_seed (two steps of the LCG)."""
    lo, hi = seed & _M32, seed >> 32
    pool = [_hashmix(lo, *_A[0]), _hashmix(hi, *_A[1]) if hi else _EMPTY[1], _EMPTY[2], _EMPTY[3]]
    for s, d, before, after in _MIXES:
        v = ((pool[s] ^ before) * after) & _M32
        r = (_MIX_L * pool[d] - _MIX_R * (v ^ (v >> 16))) & _M32
        pool[d] = r ^ (r >> 16)
    w = [_hashmix(pool[i], before, after) for i, before, after in _WORDS]
    # the 8 words as 4 little-endian uint64: seed = (w64[0] << 64) | w64[1], stream = (w64[2] << 64) | w64[3]
    initstate = w[1] << 96 | w[0] << 64 | w[3] << 32 | w[2]
    inc = (w[5] << 97 | w[4] << 65 | w[7] << 33 | w[6] << 1 | 1) & _M128
    return ((inc + initstate) * _PCG_MULT + inc) & _M128, inc


def reseeder():
    """A function seed -> Generator that gives `numpy.random.default_rng(seed)`'s stream, re-seeding
    one Generator in place (a ~2x cheaper seeding: no SeedSequence, bit generator and Generator
    objects per seed). The Generator it returns is the same object every call: draw from it before
    asking for the next seed, in one thread (a worker makes one output at a time). Seeds other than
    an int in [0, 2**64) get their own default_rng."""
    from numpy.random import PCG64, Generator, default_rng

    bits = PCG64(0)
    gen = Generator(bits)

    def rng(seed):
        if type(seed) is not int or not 0 <= seed < 1 << 64:
            return default_rng(seed)
        state, inc = pcg64_state(seed)
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0,
                      "uinteger": 0}
        return gen

    return rng
