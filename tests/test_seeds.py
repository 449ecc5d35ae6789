"""seeds.reseeder: numpy's default_rng(seed) streams from one Generator re-seeded in place."""
import random

import numpy as np

from augcli.seeds import copy_seed, pcg64_state, reseeder


def test_pcg64_state_is_numpys():
    r = random.Random(16)
    seeds = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1] + [r.getrandbits(63) for _ in range(3000)] + \
        [r.getrandbits(32) for _ in range(300)] + [copy_seed(7, f"a/{i}.png", i % 4) for i in range(300)]
    for s in seeds:
        st = np.random.PCG64(s).state["state"]
        assert pcg64_state(s) == (st["state"], st["inc"]), s


def test_reseeder_gives_default_rng_streams():
    rng = reseeder()
    rng(1).integers(0, 9, 1, dtype=np.int32)  # a half-used 64-bit word left buffered: the next seed drops it
    r = random.Random(5)
    for s in [r.getrandbits(63) for _ in range(200)] + [3, 2**64 - 1]:
        a, b = np.random.default_rng(s), rng(s)
        # every kind of draw the steps make, in one order; then the whole state
        assert a.random() == b.random() and a.integers(0, 7) == b.integers(0, 7)
        assert a.integers(2**31) == b.integers(2**31) and a.uniform(-3, 3) == b.uniform(-3, 3)
        assert a.choice(5, p=[0.1, 0.2, 0.3, 0.2, 0.2]) == b.choice(5, p=[0.1, 0.2, 0.3, 0.2, 0.2])
        assert np.array_equal(a.standard_normal(5), b.standard_normal(5))
        assert np.array_equal(a.integers(0, 9, 3, dtype=np.int32), b.integers(0, 9, 3, dtype=np.int32))  # (32-bit: buffered)
        assert a.bit_generator.state == b.bit_generator.state


def test_reseeder_other_seeds():
    rng = reseeder()
    for s in (2**64, [1, 2], np.uint64(5), None):
        g = rng(s)
        if s is not None:
            assert g.random() == np.random.default_rng(s).random()


def test_copy_seed_is_the_stable_hash():
    from augcli.seeds import stable_hash

    for run_seed, source, copy in ((0, "a.png", 0), (2**40, "x/é b.jpg", 7), (-3, "", 12), (5, "a\x00b", 1)):
        assert copy_seed(run_seed, source, copy) == stable_hash("copy", run_seed, source, copy) >> 1
