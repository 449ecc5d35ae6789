"""Loudness (ITU-R BS.1770-4) and the step that normalises to it [LoudnessNormalization].

The measure: K-weighting (a +4 dB high shelf at 1500 Hz, Q 0.707, then a high-pass at 38 Hz,
Q 0.5: RBJ biquads designed at the clip's rate, as pyloudnorm does), mean squares of 400 ms
blocks overlapping by 75 %, channels summed with weight 1 (the 1.41 of surround channels is not
applied: channel roles are unknown), an absolute gate at -70 LUFS and a relative gate 10 LU
below the mean of the blocks that pass it. A clip shorter than one block is one block.
"""
from __future__ import annotations

import math

import numpy as np

from .audio_core import AudioStep, Sound, sos_filter
from .base import Param, uniform

BLOCK, STEP = 0.4, 0.1  # seconds: 400 ms blocks every 100 ms (75 % overlap)


def _high_pass(f0: float, sr: int, q: float) -> np.ndarray:
    w0 = 2.0 * math.pi * f0 / sr
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    row = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2, 1 + alpha, -2 * cw, 1 - alpha]
    return np.array([row]) / row[3]


def k_weighting(sr: int) -> np.ndarray:
    from .audio_core import rbj

    return np.concatenate([rbj("high_shelf", 1500.0, sr, 4.0, 1.0 / math.sqrt(2.0)), _high_pass(38.0, sr, 0.5)])


def block_powers(y: np.ndarray, sr: int) -> np.ndarray:
    """Mean square per 400 ms block (blocks x channels), the blocks placed as pyloudnorm places them."""
    n = y.shape[0]
    nb = max(1, int(np.round((n / sr - BLOCK) / STEP)) + 1)
    c = np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(np.square(y, dtype=np.float64), axis=0)])
    j = np.arange(nb)
    lo = np.minimum((STEP * j * sr).astype(int), n)
    hi = np.minimum((STEP * j * sr + BLOCK * sr).astype(int), n)
    return (c[hi] - c[lo]) / (BLOCK * sr if n >= BLOCK * sr else n)


def integrated_loudness(x: np.ndarray, sr: int) -> float:
    """BS.1770-4 integrated loudness in LUFS; -inf for silence (every block below -70 LUFS)."""
    z = block_powers(sos_filter(x.astype(np.float64), k_weighting(sr)), sr)
    with np.errstate(divide="ignore"):
        lj = -0.691 + 10.0 * np.log10(z.sum(axis=1))
        gated = lj >= -70.0
        if not gated.any():
            return -math.inf
        rel = -0.691 + 10.0 * np.log10(z[gated].mean(axis=0).sum()) - 10.0
        keep = (lj > rel) & (lj > -70.0)
        return float(-0.691 + 10.0 * np.log10(z[keep].mean(axis=0).sum()))


class LoudnessNormalize(AudioStep):
    NAME = "loudness_normalize"
    DOC = ("scale to a random integrated loudness (LUFS, ITU-R BS.1770-4: K-weighted, gated); silence "
           "stays; peaks beyond full scale are left to the --clip policy [LoudnessNormalization]")
    PARAMS = (Param("lufs", "range", [-31, -13], lo=-70, hi=0, center=None, doc="target loudness range in LUFS"),)

    def sample(self, rng, snd):
        return {"lufs": uniform(rng, self.cfg["lufs"])}

    def apply(self, snd, prm):
        measured = integrated_loudness(snd.x, snd.sr)
        if not math.isfinite(measured):
            return snd
        g = 10.0 ** ((prm["lufs"] - measured) / 20.0)
        return Sound((snd.x * g).astype(snd.x.dtype, copy=False), snd.sr)


STEPS = (LoudnessNormalize,)
