"""Why augcli uses Signalsmith Stretch (python-stretch, MIT) rather than librosa for time stretch
and pitch shift: speed and pitch accuracy side by side, one core, in one run.

    pip install librosa   # not a dependency of augcli; only needed for this comparison
    python benchmarks/compare_stretch.py
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def best(f, n=5):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    import librosa
    import python_stretch

    clips = []
    for p in sorted((ROOT / "sample_data/audio").rglob("*.*")):
        x, sr = sf.read(p, dtype="float32", always_2d=True)
        clips.append((x.mean(axis=1).astype(np.float32), sr))
    seconds = sum(len(x) / sr for x, sr in clips)

    def ss(x, sr, rate=1.0, semi=0.0, cheaper=False):
        s = python_stretch.Signalsmith.Stretch(seed=1)
        s.preset(1, float(sr), cheaper)
        s.setTimeFactor(rate)
        s.setTransposeSemitones(semi)
        return s.process(x[None, :])[0]

    rows = {
        "librosa time_stretch 0.8": lambda: [librosa.effects.time_stretch(x, rate=0.8) for x, _ in clips],
        "signalsmith time_stretch 0.8": lambda: [ss(x, sr, 0.8) for x, sr in clips],
        "signalsmith fast time_stretch 0.8": lambda: [ss(x, sr, 0.8, cheaper=True) for x, sr in clips],
        "librosa pitch_shift +2": lambda: [librosa.effects.pitch_shift(x, sr=sr, n_steps=2) for x, sr in clips],
        "signalsmith pitch_shift +2": lambda: [ss(x, sr, 1.0, 2.0) for x, sr in clips],
        "signalsmith fast pitch_shift +2": lambda: [ss(x, sr, 1.0, 2.0, True) for x, sr in clips],
        "librosa stretch 0.8 then pitch +2": lambda: [librosa.effects.pitch_shift(
            librosa.effects.time_stretch(x, rate=0.8), sr=sr, n_steps=2) for x, sr in clips],
        "signalsmith stretch 0.8 + pitch +2 (one pass)": lambda: [ss(x, sr, 0.8, 2.0) for x, sr in clips],
    }
    print(f"{len(clips)} speech clips, {seconds:.1f} s of audio, one core; seconds of audio per second:")
    for name, f in rows.items():
        print(f"  {name:<48} {seconds / best(f):8.0f}")
    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

    def semis(y):
        y = y[len(y) // 4: 3 * len(y) // 4]
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), n=1 << 20))
        return 12 * np.log2(np.fft.rfftfreq(1 << 20, 1 / sr)[spec.argmax()] / 440)

    print("pitch accuracy on a 440 Hz tone (semitones measured for the asked shift):")
    for s in (-3.0, 2.5, 5.0):
        print(f"  {s:+.1f}: librosa {semis(librosa.effects.pitch_shift(tone, sr=sr, n_steps=s)):+.3f}   "
              f"signalsmith {semis(ss(tone, sr, 1.0, s)):+.3f}")
    for mod in ("librosa.effects", "python_stretch"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {mod}"], check=True)
        print(f"import {mod} in a fresh process: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
