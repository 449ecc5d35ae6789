"""Lossy-codec steps: MP3 compression through libsndfile's MP3 writer (LAME) and reader
(mpg123), via soundfile, in memory [Mp3Compression]."""
from __future__ import annotations

import io

import numpy as np

from ..errors import RecipeError
from .audio_core import AudioStep, Sound
from .base import Param

# LAME's encoder delay (576) + mpg123's decoder delay (529), in samples
LAME_DELAY = 1105
# libsndfile's MP3 path returns float samples scaled by 0.95 (measured: 0.950 +- 0.002 at 8-128 kbps); undone
MP3_SCALE = 0.95
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def mp3_level(bitrate: float, sr: int) -> float:
    """libsndfile's compression level (0-1) for a constant bitrate: it maps the level linearly onto
    [320, 32] kbps (MPEG-1, rates >= 32 kHz), [160, 8] (MPEG-2, >= 16 kHz) or [64, 8] (MPEG-2.5)."""
    top, bottom = (320.0, 32.0) if sr >= 32000 else ((160.0, 8.0) if sr >= 16000 else (64.0, 8.0))
    b = min(max(bitrate, bottom), top)
    return min((top - b) / (top - bottom), 0.99)  # 1.0 is refused by some LAME builds


def mp3_roundtrip(x: np.ndarray, sr: int, bitrate: float) -> np.ndarray:
    """Encode (constant bitrate) and decode back; the length aligned to the input's."""
    import soundfile as sf

    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", sr, x.shape[1], "MPEG_LAYER_III", format="MP3",
                      compression_level=mp3_level(bitrate, sr), bitrate_mode="CONSTANT") as f:
        f.write(np.ascontiguousarray(x, dtype=np.float32))
    y, _ = sf.read(io.BytesIO(buf.getvalue()), dtype="float32", always_2d=True)
    n = x.shape[0]
    if y.shape[0] > n:  # the decoder kept the codec's delay (no gapless info, at some low bitrates)
        y = y[min(LAME_DELAY, y.shape[0] - n):]
    y = y[:n] if y.shape[0] >= n else np.pad(y, ((0, n - y.shape[0]), (0, 0)))
    return y * np.float32(1.0 / MP3_SCALE)


class Mp3Compression(AudioStep):
    NAME = "mp3_compression"
    DOC = ("encode to MP3 at a random constant bitrate (kbps, LAME through libsndfile) and decode back, "
           "same length; rates MP3 lacks go through the next one up; more than 2 channels one by one "
           "[Mp3Compression]")
    PARAMS = (Param("bitrate", "irange", [32, 128], lo=8, hi=320, center=None,
                    doc="bitrate range in kbps (MPEG-2 rates below 32 kHz reach 160, below 16 kHz 64)"),)

    @classmethod
    def check(cls, cfg, where):
        from ..io.audio import libsndfile_info

        version, mp3 = libsndfile_info()
        if not mp3:
            raise RecipeError(f"{where}: this libsndfile ({version}) has no MP3 support; allowed: a build "
                              "with MP3 (libsndfile >= 1.1 with LAME and mpg123)")

    def sample(self, rng, snd):
        lo, hi = self.cfg["bitrate"]
        return {"bitrate": int(rng.integers(lo, hi + 1))}

    def apply(self, snd, prm):
        from ..io.audio import resample

        x, sr = snd
        if not x.size:
            return snd
        rate = next((r for r in MP3_RATES if r >= sr), MP3_RATES[-1])
        xi = x if rate == sr else resample(x, sr, rate)
        groups = [xi] if xi.shape[1] <= 2 else [xi[:, c:c + 1] for c in range(xi.shape[1])]
        y = np.concatenate([mp3_roundtrip(g, rate, prm["bitrate"]) for g in groups], axis=1)
        if rate != sr:
            y = resample(y, rate, sr)
            y = y[:x.shape[0]] if y.shape[0] >= x.shape[0] else np.pad(y, ((0, x.shape[0] - y.shape[0]), (0, 0)))
        return Sound(y.astype(x.dtype, copy=False), sr)


STEPS = (Mp3Compression,)
