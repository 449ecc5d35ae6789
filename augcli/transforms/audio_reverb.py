"""Convolution with a recorded (or synthesised) room impulse response [ApplyImpulseResponse].

The folder's files are listed and checked once, when the recipe is validated; each worker reads
an impulse response once (converted to the clip's rate) and keeps it. The convolution is
scipy.signal.oaconvolve (overlap-add FFT), the result cut to the input's length (the tail past
the end is dropped), mixed with the dry signal by `wet` and scaled to the input's peak.
sample_data/impulse_responses/ holds three synthetic ones (tools/make_impulse_responses.py, CC0).
"""
from __future__ import annotations

import os

import numpy as np

from .audio_core import AudioStep, FolderBank, Sound, folder_audio
from .base import Param, uniform

BANK = FolderBank()


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Every channel of x with the IR's matching channel (a mono IR, or the mean of an IR whose
    channels differ from x's, for all), cut to x's length; float64."""
    from scipy.signal import oaconvolve

    if ir.shape[1] != x.shape[1]:
        ir = np.repeat(ir.mean(axis=1, keepdims=True), x.shape[1], axis=1)
    return oaconvolve(x.astype(np.float64), ir.astype(np.float64), axes=0)[:x.shape[0]]


class ImpulseResponse(AudioStep):
    NAME = "impulse_response"
    DOC = ("convolve with a random impulse response of a folder (room reverb, a microphone), mixed by a "
           "random wet share, scaled to the input's peak [ApplyImpulseResponse]")
    PARAMS = (Param("folder", "str", None, required=True, doc="folder of impulse responses (wav/flac/ogg/mp3)"),
              Param("wet", "range", [0.5, 1.0], lo=0, hi=1, center=None, doc="wet share range (1: reverb only)"))

    @classmethod
    def check(cls, cfg, where):
        cfg["files"] = folder_audio(cfg["folder"], where, "impulse responses")

    def sample(self, rng, snd):
        i = int(rng.integers(0, len(self.cfg["files"])))
        return {"file": self.cfg["files"][i], "wet": uniform(rng, self.cfg["wet"])}

    def apply(self, snd, prm):
        x = snd.x
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak == 0.0:
            return snd
        ir = BANK.get(os.path.join(self.cfg["folder"], prm["file"]), snd.sr)
        y = prm["wet"] * convolve(x, ir) + (1.0 - prm["wet"]) * x
        out_peak = float(np.max(np.abs(y)))
        if out_peak > 0.0:
            y *= peak / out_peak
        return Sound(y.astype(x.dtype), snd.sr)


STEPS = (ImpulseResponse,)
