"""Audio distortions and simple effects (audiomentations' names in the docs): clipping, tanh
distortion, bit crush, aliasing, coloured noise, gain transition, reverse, trim, adjust duration,
resample. Every channel gets the same parameters; noise draws a seed in `sample`."""
from __future__ import annotations

import numpy as np

from .audio_core import AudioStep, Sound, power
from .base import Param, r6, uniform


class ClippingDistortion(AudioStep):
    NAME = "clipping_distortion"
    DOC = ("hard-clip at a random percentile: the p/2 % lowest and highest samples are cut to the "
           "percentile's level [ClippingDistortion]")
    PARAMS = (Param("percentile", "range", [0, 40], lo=0, hi=100, center=None, doc="percentile range clipped"),)

    def sample(self, rng, snd):
        return {"percentile": uniform(rng, self.cfg["percentile"])}

    def apply(self, snd, prm):
        x, q = snd.x, prm["percentile"]
        if q <= 0 or not x.size:
            return snd
        lo, hi = np.percentile(x, [q / 2.0, 100.0 - q / 2.0])
        return Sound(np.clip(x, lo, hi).astype(x.dtype, copy=False), snd.sr)


class TanhDistortion(AudioStep):
    NAME = "tanh_distortion"
    DOC = ("soft clipping by tanh, driven by a random amount (0: nearly clean, 1: heavy), the result "
           "rescaled to the input's RMS [TanhDistortion]")
    PARAMS = (Param("distortion", "range", [0.01, 0.7], lo=0, hi=1, center=None, doc="amount range"),)

    def sample(self, rng, snd):
        return {"distortion": uniform(rng, self.cfg["distortion"])}

    def apply(self, snd, prm):
        x = snd.x
        if not x.size or power(x) == 0.0:
            return snd
        thr = float(np.percentile(np.abs(x), 100.0 - 99.0 * prm["distortion"]))
        y = np.tanh(x.astype(np.float64) * (0.5 / (thr + 1e-6)))
        y *= np.sqrt(power(x) / max(power(y), 1e-30))
        return Sound(y.astype(x.dtype), snd.sr)


class BitCrush(AudioStep):
    NAME = "bit_crush"
    DOC = "quantise to a random bit depth (2^(bits-1) levels per polarity) [BitCrush]"
    PARAMS = (Param("bits", "irange", [4, 12], lo=1, hi=24, center=None, doc="bit depth range"),)

    def sample(self, rng, snd):
        lo, hi = self.cfg["bits"]
        return {"bits": int(rng.integers(lo, hi + 1))}

    def apply(self, snd, prm):
        q = float(2 ** (prm["bits"] - 1))
        return Sound((np.round(snd.x * q) / q).astype(snd.x.dtype, copy=False), snd.sr)


class Aliasing(AudioStep):
    NAME = "aliasing"
    DOC = ("downsample to a random rate without an anti-alias filter (linear interpolation), then back "
           "up: content above the new Nyquist folds down [Aliasing]")
    PARAMS = (Param("rate", "range", [8000, 30000], lo=100, hi=400000, center=None, doc="intermediate rate range in Hz"),)

    def sample(self, rng, snd):
        return {"rate": r6(uniform(rng, self.cfg["rate"]))}

    def apply(self, snd, prm):
        x, sr = snd
        if prm["rate"] >= sr or x.shape[0] < 2:
            return snd  # not a downsampling: nothing folds
        n = x.shape[0]
        t = np.arange(n) / sr
        tk = np.arange(int(np.ceil(n * prm["rate"] / sr))) / prm["rate"]
        tk = tk[tk <= t[-1]]
        y = np.stack([np.interp(t, tk, np.interp(tk, t, x[:, c])) for c in range(x.shape[1])], axis=1)
        return Sound(y.astype(x.dtype), sr)


SLOPES = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}  # power ~ 1 / f^slope


def colored_noise(g, shape, slope: float) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as 1 / f^slope (pink: 1, -3 dB per octave)."""
    n = shape[0]
    spec = np.fft.rfft(g.standard_normal(shape), axis=0)
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    spec *= (f ** (-slope / 2.0))[:, None]
    spec[0] = 0.0  # no DC
    return np.fft.irfft(spec, n=n, axis=0)


class ColorNoise(AudioStep):
    NAME = "color_noise"
    DOC = ("add coloured Gaussian noise at a random SNR (dB, exact over the clip): white (flat), pink "
           "(-3 dB/octave), brown (-6), blue (+3), violet (+6) [AddColorNoise]")
    PARAMS = (Param("slope", "choice", "pink", choices=tuple(SLOPES), doc="the noise's colour"),
              Param("snr_db", "range", [5, 40], lo=-30, hi=120, center=None, doc="SNR range in dB"))

    def sample(self, rng, snd):
        return {"snr_db": uniform(rng, self.cfg["snr_db"]), "noise_seed": int(rng.integers(0, 2**31))}

    def apply(self, snd, prm):
        x = snd.x
        noise = colored_noise(np.random.default_rng(prm["noise_seed"]), x.shape, SLOPES[self.cfg["slope"]])
        ps, pn = power(x), power(noise)
        if ps == 0.0 or pn == 0.0:
            return snd
        y = x + noise * np.sqrt(ps / (pn * 10.0 ** (prm["snr_db"] / 10.0)))
        return Sound(y.astype(x.dtype), snd.sr)


class GainTransition(AudioStep):
    NAME = "gain_transition"
    DOC = ("fade from one random gain to another (dB, linear in dB) over a random span, the gains held "
           "before and after it [GainTransition]")
    PARAMS = (Param("db", "range", [-24, 6], lo=-120, hi=60, center=None, doc="range of both gains in dB"),
              Param("duration", "range", [0.2, 6.0], lo=0, hi=3600, center=None,
                    doc="span range in seconds (cut to the clip)"))

    def sample(self, rng, snd):
        n = snd.x.shape[0]
        length = min(n, int(round(uniform(rng, self.cfg["duration"]) * snd.sr)))
        return {"db_start": uniform(rng, self.cfg["db"]), "db_end": uniform(rng, self.cfg["db"]),
                "start": int(rng.integers(0, n - length + 1)), "length": length}

    def apply(self, snd, prm):
        x, n = snd.x, snd.x.shape[0]
        db = np.full(n, prm["db_start"], dtype=np.float64)
        s, k = prm["start"], prm["length"]
        db[s:s + k] = np.linspace(prm["db_start"], prm["db_end"], k) if k else db[s:s + k]
        db[s + k:] = prm["db_end"]
        return Sound((x * (10.0 ** (db / 20.0))[:, None]).astype(x.dtype), snd.sr)


class Reverse(AudioStep):
    NAME = "reverse"
    DOC = "play backwards [Reverse]"

    def apply(self, snd, prm):
        return Sound(np.ascontiguousarray(snd.x[::-1]), snd.sr)


def nonsilent_span(x: np.ndarray, top_db: float, frame: int = 2048, hop: int = 512) -> tuple[int, int]:
    """librosa.effects.trim's span: RMS of centred frames (zero padded), loudest channel; frames
    within top_db of the loudest frame are sound. (0, 0) when every frame is silent."""
    n = x.shape[0]
    pad = np.pad(x.astype(np.float64), ((frame // 2, frame // 2), (0, 0)))
    nf = 1 + n // hop
    c = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(np.square(pad), axis=0)])
    starts = np.arange(nf) * hop
    ends = np.minimum(starts + frame, pad.shape[0])
    rms = np.sqrt(np.maximum(c[ends] - c[starts], 0.0) / frame).max(axis=1)
    ref = rms.max() if nf else 0.0
    if ref <= 0.0:
        return 0, 0
    db = 20.0 * np.log10(np.maximum(rms, 1e-10) / ref)
    on = np.flatnonzero(db > -top_db)
    return int(on[0] * hop), int(min(n, (on[-1] + 1) * hop))


class Trim(AudioStep):
    NAME = "trim"
    DOC = ("cut leading and trailing silence: frames (2048, hop 512) more than top_db below the loudest "
           "one, as librosa.effects.trim [Trim]")
    PARAMS = (Param("top_db", "range", [30, 30], lo=1, hi=200, center=None, doc="threshold range in dB below the peak frame"),)

    def sample(self, rng, snd):
        return {"top_db": uniform(rng, self.cfg["top_db"])}

    def apply(self, snd, prm):
        a, b = nonsilent_span(snd.x, prm["top_db"])
        if b <= a or (a, b) == (0, snd.x.shape[0]):
            return snd  # silent throughout (nothing would be left), or nothing to cut
        return Sound(snd.x[a:b].copy(), snd.sr)


class AdjustDuration(AudioStep):
    NAME = "adjust_duration"
    DOC = ("bring to a random duration: pad with silence or crop (mode: both, pad only, crop only), "
           "at the end, the start or a random place [AdjustDuration]")
    PARAMS = (Param("seconds", "range", 1.0, lo=0.001, hi=36000, center=None,
                    doc="target duration range in seconds"),
              Param("mode", "choice", "both", choices=("both", "pad", "crop"), doc="what may change"),
              Param("position", "choice", "end", choices=("end", "start", "random"),
                    doc="where silence is added or samples are cut"))

    def sample(self, rng, snd):
        target = max(1, int(round(uniform(rng, self.cfg["seconds"]) * snd.sr)))
        n, mode = snd.x.shape[0], self.cfg["mode"]
        if (target > n and mode == "crop") or (target < n and mode == "pad"):
            target = n
        free = abs(target - n)
        pos = self.cfg["position"]
        offset = {"end": 0, "start": free}.get(pos) if pos != "random" else int(rng.integers(0, free + 1))
        return {"frames": target, "offset": offset}

    def apply(self, snd, prm):
        x, target, off = snd.x, prm["frames"], prm["offset"]
        n = x.shape[0]
        if target == n:
            return snd
        if target < n:
            return Sound(x[off:off + target].copy(), snd.sr)
        y = np.zeros((target, x.shape[1]), dtype=x.dtype)
        y[off:off + n] = x
        return Sound(y, snd.sr)


STANDARD_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


class Resample(AudioStep):
    NAME = "resample"
    DOC = ("resample (soxr, HQ) to a random rate, which the output keeps: one of the standard rates "
           "(8000 ... 48000, those MP3 takes) within the range, else any integer in it [Resample]")
    PARAMS = (Param("rate", "irange", [8000, 48000], lo=1000, hi=384000, center=None, doc="target rate range in Hz"),)

    def sample(self, rng, snd):
        lo, hi = self.cfg["rate"]
        rates = [r for r in STANDARD_RATES if lo <= r <= hi]
        return {"rate": rates[int(rng.integers(0, len(rates)))] if rates else int(rng.integers(lo, hi + 1))}

    def apply(self, snd, prm):
        from ..io.audio import resample

        if prm["rate"] == snd.sr:
            return snd
        return Sound(resample(snd.x, snd.sr, prm["rate"]).astype(snd.x.dtype, copy=False), prm["rate"])


STEPS = (ClippingDistortion, TanhDistortion, BitCrush, Aliasing, ColorNoise, GainTransition, Reverse, Trim,
         AdjustDuration, Resample)
