"""Audio steps.

A step's data (and its context) is a `Sound`: `x`, a float array of shape (frames, channels),
full scale 1.0, and `sr`, its sample rate. Every step applies the same sampled parameters to all
channels. Steps follow the contract of transforms/base.py: `sample(rng, sound) -> params` from
the job's Generator, then `apply(sound, params) -> Sound`, pure.

More steps live in audio_filters.py (Butterworth and RBJ biquad filters, EQ), audio_effects.py
(distortions, coloured noise, gain transition, reverse, trim, duration, resample),
audio_codecs.py (MP3), audio_loudness.py (BS.1770 loudness) and audio_reverb.py (impulse
responses); `Sound` and `AudioStep` come from audio_core.py. All are registered in STEPS here.

Libraries: time stretch and pitch shift use Signalsmith Stretch (python-stretch, MIT), speed
change and resampling use soxr; filters and convolution scipy.signal (imported when applied). Consecutive time_stretch / pitch_shift steps declare
`stretch_args(params)` and the pipeline fuses them into one Signalsmith pass (one analysis, one
synthesis); each one's `apply` is its own pass.
"""
from __future__ import annotations

import numpy as np

from .audio_core import AudioStep, FolderBank, Sound, folder_audio
from .audio_core import power as _power
from .audio_codecs import STEPS as CODEC_STEPS
from .audio_effects import STEPS as EFFECT_STEPS
from .audio_filters import STEPS as FILTER_STEPS
from .audio_loudness import STEPS as LOUDNESS_STEPS
from .audio_reverb import STEPS as REVERB_STEPS
from .base import OneOfBase, Param, Step, fire, parse_steps, r6, uniform
from .mix import MixUp as MixUpDraws
from .mix import mix_positions


def _noise_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray | None:
    """x + noise scaled so that 10*log10(P(x) / P(noise)) == snr_db exactly (None: silent input)."""
    ps, pn = _power(x), _power(noise)
    if ps == 0.0 or pn == 0.0:
        return None
    scale = np.sqrt(ps / (pn * 10.0 ** (snr_db / 10.0)))
    return (x + noise * scale).astype(x.dtype, copy=False)


class GaussianNoise(AudioStep):
    NAME = "gaussian_noise"
    DOC = "add white Gaussian noise with a random amplitude (standard deviation, full scale = 1)"
    PARAMS = (Param("amplitude", "range", [0.001, 0.015], lo=0, hi=1, center=None, doc="standard deviation range"),)

    def sample(self, rng, snd):
        return {"amplitude": uniform(rng, self.cfg["amplitude"]), "noise_seed": int(rng.integers(0, 2**31))}

    def apply(self, snd, prm):
        x, sr = snd
        g = np.random.default_rng(prm["noise_seed"])
        return Sound(x + g.standard_normal(x.shape, dtype=np.float32).astype(x.dtype, copy=False) * prm["amplitude"], sr)


class NoiseSNR(AudioStep):
    NAME = "noise_snr"
    DOC = "add white Gaussian noise at a random signal-to-noise ratio (dB, exact over the whole clip)"
    PARAMS = (Param("snr_db", "range", [10, 40], lo=-30, hi=120, center=None, doc="SNR range in dB"),)

    def sample(self, rng, snd):
        return {"snr_db": uniform(rng, self.cfg["snr_db"]), "noise_seed": int(rng.integers(0, 2**31))}

    def apply(self, snd, prm):
        x, sr = snd
        g = np.random.default_rng(prm["noise_seed"])
        y = _noise_at_snr(x, g.standard_normal(x.shape, dtype=np.float32).astype(x.dtype, copy=False), prm["snr_db"])
        return snd if y is None else Sound(y, sr)


BANK = FolderBank()  # noise recordings, read once per worker


class BackgroundNoise(AudioStep):
    NAME = "background_noise"
    DOC = "mix a random recording from a folder at a random SNR (looped or cropped to length)"
    PARAMS = (
        Param("folder", "str", None, required=True, doc="folder of noise recordings (wav/flac/ogg/mp3)"),
        Param("snr_db", "range", [5, 25], lo=-30, hi=120, center=None, doc="SNR range in dB"),
    )

    @classmethod
    def check(cls, cfg, where):
        cfg["files"] = folder_audio(cfg["folder"], where, "noise recordings")

    def sample(self, rng, snd):
        i = int(rng.integers(0, len(self.cfg["files"])))
        return {"file": self.cfg["files"][i], "snr_db": uniform(rng, self.cfg["snr_db"]),
                "offset": r6(rng.random())}

    def apply(self, snd, prm):
        x, sr = snd
        import os

        noise = BANK.get(os.path.join(self.cfg["folder"], prm["file"]), sr)
        n = x.shape[0]
        start = int(prm["offset"] * noise.shape[0]) % noise.shape[0]
        idx = (start + np.arange(n)) % noise.shape[0]  # crop, or loop when shorter than the clip
        seg = noise[idx]
        if seg.shape[1] != x.shape[1]:
            seg = np.repeat(seg.mean(axis=1, keepdims=True), x.shape[1], axis=1)
        y = _noise_at_snr(x, seg.astype(x.dtype, copy=False), prm["snr_db"])
        return snd if y is None else Sound(y, sr)


class Shift(AudioStep):
    NAME = "shift"
    DOC = "shift in time by a fraction of the length (positive = later); roll around or fill with silence"
    PARAMS = (
        Param("fraction", "range", [-0.2, 0.2], lo=-1, hi=1, doc="shift range as a fraction of the length"),
        Param("mode", "choice", "roll", choices=("roll", "zero"), doc="roll: wrap around; zero: silence"),
    )

    def sample(self, rng, snd):
        frac = uniform(rng, self.cfg["fraction"])
        return {"fraction": frac, "samples": int(round(frac * snd.x.shape[0]))}

    def apply(self, snd, prm):
        x, sr = snd
        k = prm["samples"]
        if self.cfg["mode"] == "roll":
            return Sound(np.roll(x, k, axis=0), sr)
        y = np.zeros_like(x)
        if k >= 0:
            y[k:] = x[:x.shape[0] - k]
        else:
            y[:k] = x[-k:]
        return Sound(y, sr)


class Speed(AudioStep):
    NAME = "speed"
    DOC = "speed change by resampling (duration / factor, pitch * factor), as speed perturbation"
    PARAMS = (Param("factor", "range", [0.9, 1.1], lo=0.1, hi=10, center=None, doc="speed factor range"),)

    def sample(self, rng, snd):
        return {"factor": uniform(rng, self.cfg["factor"])}

    def apply(self, snd, prm):
        from ..io.audio import resample

        x, sr = snd
        if prm["factor"] == 1.0:
            return snd
        return Sound(resample(x, sr * prm["factor"], sr).astype(x.dtype, copy=False), sr)


FAST = Param("fast", "bool", False, doc="Signalsmith's cheaper preset: about 2x faster, slightly lower quality")


class StretchStep(AudioStep):
    """A step that is a Signalsmith pass: declares its (time factor, semitones); consecutive ones
    are fused into one pass (their factors multiplied, their semitones added)."""

    STRETCH = True

    def stretch_args(self, prm: dict) -> tuple[float, float]:
        raise NotImplementedError

    def apply(self, snd, prm):
        return Sound(stretch(snd.x, snd.sr, *self.stretch_args(prm), fast=self.cfg["fast"]), snd.sr)


class TimeStretch(StretchStep):
    NAME = "time_stretch"
    DOC = "change duration, keep pitch: rate > 1 is faster (duration / rate)"
    PARAMS = (Param("rate", "range", [0.8, 1.25], lo=0.1, hi=10, center=None, doc="rate range"), FAST)

    def sample(self, rng, snd):
        return {"rate": uniform(rng, self.cfg["rate"])}

    def stretch_args(self, prm):
        return prm["rate"], 0.0


class PitchShift(StretchStep):
    NAME = "pitch_shift"
    DOC = "shift pitch by semitones, keep duration"
    PARAMS = (Param("semitones", "range", [-2, 2], lo=-48, hi=48, doc="semitone range"), FAST)

    def sample(self, rng, snd):
        return {"semitones": uniform(rng, self.cfg["semitones"])}

    def stretch_args(self, prm):
        return 1.0, prm["semitones"]


def stretch(x: np.ndarray, sr: int, rate: float = 1.0, semitones: float = 0.0, fast: bool = False) -> np.ndarray:
    """One Signalsmith pass: time factor and transposition together; all channels alike."""
    import python_stretch

    if rate == 1.0 and semitones == 0.0:
        return x
    s = python_stretch.Signalsmith.Stretch(seed=1)
    s.preset(x.shape[1], float(sr), bool(fast))
    s.setTimeFactor(float(rate))
    s.setTransposeSemitones(float(semitones))
    y = s.process(np.ascontiguousarray(x.T, dtype=np.float32))
    return np.ascontiguousarray(y.T).astype(x.dtype, copy=False)


class Gain(AudioStep):
    NAME = "gain"
    DOC = "multiply by a random gain in dB"
    PARAMS = (Param("db", "range", [-6, 6], lo=-120, hi=60, doc="gain range in dB"),)

    def sample(self, rng, snd):
        return {"db": uniform(rng, self.cfg["db"])}

    def apply(self, snd, prm):
        x, sr = snd
        return Sound(x * np.asarray(10.0 ** (prm["db"] / 20.0), dtype=x.dtype), sr)


class TimeMask(AudioStep):
    NAME = "time_mask"
    DOC = "silence a random span whose length is a fraction of the clip"
    PARAMS = (
        Param("fraction", "range", [0.0, 0.1], lo=0, hi=1, center=None, doc="span length range (fraction of the clip)"),
        Param("fade", "float", 0.005, lo=0, hi=1, doc="fade in/out at the span's edges in seconds (no clicks)"),
    )

    def sample(self, rng, snd):
        n = snd.x.shape[0]
        length = int(round(uniform(rng, self.cfg["fraction"]) * n))
        start = int(rng.integers(0, n - length + 1))
        return {"start": start, "length": length}

    def apply(self, snd, prm):
        x, sr = snd
        s, n = prm["start"], prm["length"]
        if n == 0:
            return snd
        env = np.zeros(n, dtype=x.dtype)
        f = min(int(self.cfg["fade"] * sr), n // 2)
        if f > 0:
            ramp = np.linspace(1.0, 0.0, f + 2, dtype=x.dtype)[1:-1]
            env[:f], env[n - f:] = ramp, ramp[::-1]
        y = x.copy()
        y[s:s + n] *= env[:, None]
        return Sound(y, sr)


class PolarityInversion(AudioStep):
    NAME = "polarity_inversion"
    DOC = "multiply by -1"
    DEFAULT_P = 0.5

    def apply(self, snd, prm):
        x, sr = snd
        return Sound(-x, sr)


class OneOf(OneOfBase):
    """`- one_of: {steps: [...], weights: [...]}` for audio steps."""

    @classmethod
    def parse(cls, raw, where):
        return validate_steps(raw, where)

    @classmethod
    def build(cls, name, cfg):
        return make_step(name, cfg)


class MixUp(MixUpDraws):
    def apply(self, data, params: dict) -> Sound:
        """data: (sound, partner sound at the same rate). lambda * sound + (1 - lambda) * partner,
        the partner given the sound's channels and cropped at the drawn offset, or looped, to its
        length."""
        snd, partner = data
        x, p = snd.x, partner.x
        if p.shape[1] != x.shape[1]:
            p = np.repeat(p.mean(axis=1, keepdims=True), x.shape[1], axis=1)
        n = x.shape[0]
        start = int(params["offset"] * max(p.shape[0] - n, 0)) if p.shape[0] > n else 0
        idx = (start + np.arange(n)) % p.shape[0]
        lam = params["lambda"]
        return Sound((lam * x + (1.0 - lam) * p[idx].astype(x.dtype, copy=False)).astype(x.dtype, copy=False), snd.sr)


STEPS: dict[str, type[Step]] = {
    cls.NAME: cls
    for cls in (GaussianNoise, NoiseSNR, BackgroundNoise, Shift, Speed, TimeStretch, PitchShift, Gain, TimeMask,
                PolarityInversion) + FILTER_STEPS + EFFECT_STEPS + CODEC_STEPS + LOUDNESS_STEPS + REVERB_STEPS
    + (OneOf, MixUp)
}
ALIASES = {"time_shift": "shift", "snr_noise": "noise_snr"}


def make_step(name: str, cfg: dict) -> Step:
    return STEPS[ALIASES.get(name, name)](cfg)


def validate_steps(raw, where: str) -> list[tuple[str, dict]]:
    out = parse_steps(raw, where, STEPS, ALIASES)
    mix_positions(out, where, ("mixup",))
    return out


class Pipeline:
    """Runs validated steps on a clip with a job's Generator; returns (samples, ops).

    Consecutive time_stretch / pitch_shift steps that fire are applied in one Signalsmith pass
    (`fuse=False`: each its own `apply`)."""

    def __init__(self, steps: list[tuple[str, dict]], fuse: bool = True):
        self.steps = [make_step(n, c) for n, c in steps]
        self.fuse = fuse

    def __call__(self, x: np.ndarray, sr: int, rng, mix: dict | None = None) -> tuple[np.ndarray, list[dict]]:
        """`mix`: the mixup draws made while planning (transforms/mix.py), with the partner's
        samples (at `sr`) under "audio"; None when the step does not fire for this copy."""
        snd, ops = self.run(x, sr, rng, mix)
        return snd.x, ops

    def run(self, x: np.ndarray, sr: int, rng, mix: dict | None = None) -> tuple[Sound, list[dict]]:
        """As calling the pipeline, but returns the Sound: a `resample` step changes its rate."""
        ops: list[dict] = []
        snd = Sound(x, sr)
        pending = [1.0, 0.0, False]  # rate, semitones, fast (any fused step asks for the cheaper preset)

        def flush(s: Sound) -> Sound:
            if pending[:2] != [1.0, 0.0]:
                s = Sound(stretch(s.x, s.sr, *pending), s.sr)
            pending[:] = [1.0, 0.0, False]
            return s

        for st in self.steps:
            if getattr(st, "MIX", False):  # drawn while planning (transforms/mix.py)
                if mix is not None:
                    snd = self._mix(st, flush(snd), mix, ops, sr)
                continue
            st = fire(st, rng)
            if st is None:
                continue
            if not (st.STRETCH and self.fuse):
                snd = flush(snd)
            prm = st.sample(rng, snd)
            ops.append({"name": st.NAME, **prm})
            if st.STRETCH and self.fuse:
                rate, semitones = st.stretch_args(prm)
                pending[0] *= rate
                pending[1] += semitones
                pending[2] = pending[2] or st.cfg["fast"]
            else:
                snd = st.apply(snd, prm)
        return flush(snd), ops

    @staticmethod
    def _mix(st, snd: Sound, mix: dict, ops: list, sr: int) -> Sound:
        """`sr`: the partner's rate (the input's); a resample step before the mix changed the sound's."""
        if "skipped" in mix:
            ops.append({"name": mix["name"], "skipped": mix["skipped"]})
            return snd
        prm = {k: v for k, v in mix.items() if k not in ("name", "audio")}
        partner = mix["audio"]
        if sr != snd.sr:
            from ..io.audio import resample

            partner = resample(partner, sr, snd.sr).astype(partner.dtype, copy=False)
        data = (snd, Sound(partner, snd.sr))
        ops.append(st.op(prm, data))
        return st.apply(data, prm)
