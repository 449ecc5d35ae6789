"""What every audio step module shares: the `Sound` a step gets and returns, the `AudioStep`
base, and small helpers (power, log-uniform draws, biquads in SOS form). The registry, the
pipeline and the first steps live in transforms/audio.py; more steps in audio_filters.py,
audio_effects.py and audio_space.py, all registered in audio.py's STEPS."""
from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from .base import Step, r6


class Sound(NamedTuple):
    """An audio step's data and context: samples (frames, channels) and their rate."""

    x: np.ndarray
    sr: int


class AudioStep(Step):
    STRETCH = False  # True: declares stretch_args(params), fused into one Signalsmith pass

    def sample(self, rng, snd: Sound) -> dict:
        return {}

    def apply(self, snd: Sound, prm: dict) -> Sound:
        raise NotImplementedError


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def log_uniform(rng, rng_range) -> float:
    """A frequency drawn uniformly on a log scale (octaves count alike), rounded like `uniform`."""
    lo, hi = rng_range
    return r6(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def max_hz(sr: int) -> float:
    """The highest cutoff or centre a filter is given: 0.45 x the rate (below Nyquist)."""
    return 0.45 * sr


def rbj(kind: str, f0: float, sr: int, gain_db: float = 0.0, q: float = math.sqrt(0.5)) -> np.ndarray:
    """One RBJ Audio-EQ-Cookbook biquad (peaking, low_shelf, high_shelf) as a (1, 6) SOS row."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * min(f0, max_hz(sr)) / sr
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    if kind == "peaking":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    else:
        s = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if kind == "low_shelf" else -1.0
        b = [a * ((a + 1) - sign * (a - 1) * cw + s), sign * 2 * a * ((a - 1) - sign * (a + 1) * cw),
             a * ((a + 1) - sign * (a - 1) * cw - s)]
        den = [(a + 1) + sign * (a - 1) * cw + s, -sign * 2 * ((a - 1) + sign * (a + 1) * cw),
               (a + 1) + sign * (a - 1) * cw - s]
    return np.array([b + den], dtype=np.float64) / den[0]


def sos_filter(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """Causal filtering (scipy.signal.sosfilt) along time, every channel alike, in float64;
    returned in x's dtype."""
    from scipy.signal import sosfilt

    return sosfilt(sos, x.astype(np.float64), axis=0).astype(x.dtype, copy=False)


def folder_audio(folder: str, where: str, what: str) -> list[str]:
    """The audio files of a recipe's folder, relative to it, each read once to check it (a recipe
    error names the folder or the file); a folder at a URL (s3://...) is listed there."""
    from ..errors import RecipeError
    from ..io.audio import AudioReadError, list_audio, read_audio
    from ..storage import is_url

    if is_url(folder):
        return _remote_folder_audio(folder, where, what)
    if not os.path.isdir(folder):
        raise RecipeError(f"{where}.folder: {folder!r} is not a folder; allowed: a folder of {what}")
    files = list_audio(folder)
    if not files:
        raise RecipeError(f"{where}.folder: {folder!r} holds no audio files; allowed: a folder with "
                          f".wav/.flac/.ogg/.mp3 {what}")
    for f in files:
        try:
            read_audio(f)
        except (AudioReadError, OSError) as e:
            raise RecipeError(f"{where}.folder: {f}: {e}; allowed: readable, non-empty audio files")
    return [os.path.relpath(f, folder) for f in files]


def _remote_folder_audio(url: str, where: str, what: str) -> list[str]:
    """folder_audio for a folder at a URL (s3://...): one listing, each file fetched once to check it."""
    from ..errors import AugError, RecipeError
    from ..io.audio import EXTENSIONS, AudioReadError, read_audio
    from ..sources import list_files
    from ..storage import RemotePath, discard, fetch, reported

    try:
        with reported(url):
            found = list_files(RemotePath(url), EXTENSIONS)[0]
    except AugError as e:
        raise RecipeError(f"{where}.folder: {e}") from None
    if not found:
        raise RecipeError(f"{where}.folder: {url!r} holds no audio files; allowed: a folder with "
                          f".wav/.flac/.ogg/.mp3 {what}")
    for full, _ in found:
        local = None
        try:
            local = fetch(full)
            read_audio(local)
        except (AudioReadError, OSError) as e:
            raise RecipeError(f"{where}.folder: {full}: {e}; allowed: readable, non-empty audio files")
        finally:
            if local:
                discard(local)
    return [rel for _, rel in found]


class FolderBank:
    """Recordings of a recipe's folder, read once per worker, converted to each clip's rate."""

    def __init__(self):
        self.cache: dict = {}

    def get(self, path: str, sr: int) -> np.ndarray:
        key = (path, sr)
        if key not in self.cache:
            from ..io.audio import read_audio, resample
            from ..storage import discard, fetch

            local = fetch(path)  # a recording at a URL: through a temp file, once per worker
            try:
                clip, _ = read_audio(local)
            finally:
                discard(local)
            data = clip.data.astype(np.float32)
            if clip.sr != sr:
                data = resample(data, clip.sr, sr).astype(np.float32)
            self.cache[key] = data
        return self.cache[key]
