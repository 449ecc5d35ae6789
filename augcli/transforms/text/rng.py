"""The random stream of the text steps: SplitMix64 in plain Python (`PyRng`)."""
from __future__ import annotations

import bisect
from itertools import accumulate

_M64 = (1 << 64) - 1


class PyRng:
    """The random draws the text steps need, from SplitMix64 in plain Python: creating one and
    drawing cost well under a microsecond, against ~10-20 us per Generator with numpy, which
    matters at 10,000+ texts/s. The sequence is fully specified, so the same seed gives the
    same draws on every platform and Python version."""

    __slots__ = ("s",)

    def __init__(self, seed: int):
        self.s = seed & _M64

    def _next(self) -> int:
        self.s = z = (self.s + 0x9E3779B97F4A7C15) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def random(self, size: int | None = None):
        if size is None:
            return (self._next() >> 11) * (1.0 / 9007199254740992.0)
        return [(self._next() >> 11) * (1.0 / 9007199254740992.0) for _ in range(size)]

    def integers(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + self._next() % (hi - lo)  # modulo bias < 2**-40 for any text length

    def weighted(self, cum: list[float]) -> int:
        return min(bisect.bisect_right(cum, self.random() * cum[-1]), len(cum) - 1)

    def choice(self, n: int, size: int | None = None, replace: bool = True, p=None):
        if p is not None:  # one draw, as numpy's Generator.choice makes (base.Probabilities: sums made once)
            return self.weighted(getattr(p, "cum", None) or list(accumulate(map(float, p))))
        if size is None:
            return self.integers(n)
        if replace:
            return [self.integers(n) for _ in range(size)]
        pool = list(range(n))  # partial Fisher-Yates: `size` distinct indices, in draw order
        for i in range(size):
            j = i + self._next() % (n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:size]

    def permutation(self, n: int) -> list[int]:
        return self.choice(n, n, replace=False)
