"""Build sample_data/impulse_responses: three small synthetic room impulse responses (16 kHz,
mono, 16-bit WAV), for the `impulse_response` audio step. Each is a direct sound, a few early
reflections and a late tail of Gaussian noise with an exponential decay reaching -60 dB at the
room's RT60, darker (low-passed more) as it decays, like air and wall absorption. Seeded: the
same bytes every run. Released as CC0. The outputs are committed; this script documents how
they were made.

    python tools/make_impulse_responses.py
"""
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

OUT = Path(__file__).resolve().parent.parent / "sample_data" / "impulse_responses"
SR = 16000
# (file, RT60 in seconds, early reflections in ms, seed)
ROOMS = [
    ("small_room.wav", 0.25, (3.1, 5.7, 8.2, 11.9), 1),
    ("medium_room.wav", 0.6, (7.3, 11.8, 17.4, 23.9, 31.0), 2),
    ("hall.wav", 1.2, (13.5, 21.2, 29.8, 38.6, 47.1, 60.3), 3),
]


def room(rt60: float, early_ms, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    decay = 10.0 ** (-3.0 * t / rt60)  # -60 dB at rt60
    bright = sosfilt(butter(2, 6000, fs=SR, output="sos"), rng.standard_normal(n))
    dark = sosfilt(butter(2, 1500, fs=SR, output="sos"), rng.standard_normal(n))
    mix = np.exp(-t / (rt60 / 3.0))  # from bright to dark as it decays
    tail = (mix * bright + (1.0 - mix) * dark) * decay * 0.3
    onset = int(early_ms[0] * SR / 1000)
    tail[:onset] = 0.0
    ir = tail
    ir[0] = 1.0  # direct sound
    for k, ms in enumerate(early_ms):
        ir[int(ms * SR / 1000)] += (0.7 - 0.08 * k) * (1 if rng.random() < 0.5 else -1)
    return (ir / np.max(np.abs(ir)) * 0.99).astype(np.float32)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rt60, early, seed in ROOMS:
        sf.write(OUT / name, room(rt60, early, seed), SR, subtype="PCM_16")
        print(name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
