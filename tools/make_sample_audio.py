"""Build sample_data/audio (speech synthesised with espeak-ng) and sample_data/noise (synthetic
coloured noise). Needs the espeak-ng program (Debian: apt-get install espeak-ng). The outputs
are committed; this script documents how they were made.

    python tools/make_sample_audio.py
"""
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent / "sample_data"

# (class, file, text, voice, words per minute, sample rate, subtype, channels)
CLIPS = [
    ("yes", "yes_en-us.wav", "yes, please do", "en-us", 150, 16000, "PCM_16", 1),
    ("yes", "yes_en-gb.flac", "yes, of course", "en-gb", 140, 22050, "PCM_24", 1),
    ("yes", "yes_stereo.flac", "yes, I agree", "en-us+f3", 150, 16000, "PCM_24", 2),
    ("yes", "yes_f2.ogg", "yes, that is right", "en-us+f2", 160, 16000, "VORBIS", 1),
    ("no", "no_en-us.wav", "no, thank you", "en-us+m3", 150, 16000, "PCM_16", 1),
    ("no", "no_en-gb.flac", "no, not today", "en-gb+f4", 140, 22050, "PCM_16", 1),
    ("no", "no_float.wav", "no, never", "en-us+m7", 130, 16000, "FLOAT", 1),
]


def speak(text, voice, wpm):
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text], check=True)
        x, sr = sf.read(wav, dtype="float32", always_2d=True)
    return x, sr


def main():
    for label, name, text, voice, wpm, sr, subtype, ch in CLIPS:
        x, sr0 = speak(text, voice, wpm)
        if sr != sr0:
            x = soxr.resample(x, sr0, sr)
        x = 0.7 * x / np.max(np.abs(x))
        if ch == 2:  # a little delay and level difference between left and right
            d = int(0.0004 * sr)
            x = np.concatenate([x, 0.8 * np.roll(x, d, axis=0)], axis=1)
        out = ROOT / "audio" / label / name
        out.parent.mkdir(parents=True, exist_ok=True)
        fmt = {"ogg": "OGG", "wav": "WAV", "flac": "FLAC"}[name.rsplit(".", 1)[1]]
        sf.write(out, x, sr, format=fmt, subtype=subtype)
    rng = np.random.default_rng(2026)
    sr, n = 16000, 3 * 16000
    white = rng.standard_normal(n)
    f = np.fft.rfftfreq(n, 1 / sr)
    f[0] = f[1]
    for name, power in (("pink.flac", 0.5), ("brown.flac", 1.0)):
        y = np.fft.irfft(np.fft.rfft(white) / f**power, n)
        y = 0.5 * y / np.max(np.abs(y))
        out = ROOT / "noise" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(out, y, sr, subtype="PCM_16")


if __name__ == "__main__":
    main()
