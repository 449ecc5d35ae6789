"""Audio benchmark: augcli against the I/O floor and a plain loop, side by side in one run.

    python benchmarks/bench_audio.py [--n 100] [--repeat 3] [--workers 2]

Clips: N clips of 3-5 s at 16, 22.05, 44.1 and 48 kHz (16-bit WAV), made by joining the real
(espeak-ng) speech recordings of sample_data/audio with short pauses and resampling them.

Every measurement is the wall time of a whole command (a fresh Python process, as a user runs it),
2 worker processes, best of --repeat interleaved runs, in seconds of audio per wall second:
(a) floor: a plain script that reads and writes every clip (soundfile), nothing else;
(b) `augcli audio` with noise_snr + time_stretch + pitch_shift + gain (p = 1), one copy per clip;
(c) a plain script calling the same library functions directly (numpy noise at an SNR, Signalsmith
    stretch, Signalsmith pitch shift, gain, soundfile read/write) in a process pool;
(d) the same plain script with stretch and pitch in one Signalsmith call, as augcli fuses them.
Overhead of the pipeline = (c) / (b) - 1 (target within 10%); (d) is the fairest like-for-like.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECIPE = """modality: audio
copies: 1
no_originals: true
seed: 1
transforms:
  - noise_snr: {snr_db: [10, 30]}
  - time_stretch: {rate: [0.8, 1.25]}
  - pitch_shift: {semitones: [-3, 3]}
  - gain: {db: [-6, 0]}
"""
RATES = (16000, 22050, 44100, 48000)


def make_clips(dst: Path, n: int) -> tuple[Path, float]:
    import soundfile as sf
    import soxr

    marker = dst / f".done-{n}"
    if marker.exists():
        return dst, float(marker.read_text())
    shutil.rmtree(dst, ignore_errors=True)
    speech = []
    for p in sorted((ROOT / "sample_data/audio").rglob("*.*")):
        x, sr = sf.read(p, dtype="float32", always_2d=True)
        speech.append(soxr.resample(x.mean(axis=1), sr, 48000))
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(n):
        sr = RATES[i % len(RATES)]
        want = rng.uniform(3.0, 5.0)
        parts, length = [], 0
        while length < want * 48000:
            s = speech[int(rng.integers(len(speech)))] * rng.uniform(0.5, 1.0)
            gap = np.zeros(int(rng.uniform(0.05, 0.3) * 48000), np.float32)
            parts += [s, gap]
            length += len(s) + len(gap)
        x = np.concatenate(parts)[: int(want * 48000)]
        y = soxr.resample(x, 48000, sr)
        label = ("a", "b")[i % 2]
        (dst / label).mkdir(parents=True, exist_ok=True)
        sf.write(dst / label / f"c{i:04d}.wav", y, sr, subtype="PCM_16")
        total += len(y) / sr
    marker.write_text(str(total))
    return dst, total


# ----------------------------------------------------------------------------------------------
# the plain loops, run as their own process (`--plain MODE SRC OUT WORKERS`)
# ----------------------------------------------------------------------------------------------
def _plain_job(args):
    import python_stretch
    import soundfile as sf

    mode, src, dst, seed = args
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    if mode != "floor":
        rng = np.random.default_rng(seed)
        snr, rate, semi, db = rng.uniform(10, 30), rng.uniform(0.8, 1.25), rng.uniform(-3, 3), rng.uniform(-6, 0)
        noise = rng.standard_normal(x.shape, dtype=np.float32)
        x = x + noise * np.sqrt(np.mean(x**2) / (np.mean(noise**2) * 10 ** (snr / 10)))
        passes = [(rate, 0.0), (1.0, semi)] if mode == "separate" else [(rate, semi)]
        for r, s in passes:
            st = python_stretch.Signalsmith.Stretch(seed=1)
            st.preset(x.shape[1], float(sr))
            st.setTimeFactor(r)
            st.setTransposeSemitones(s)
            x = st.process(np.ascontiguousarray(x.T)).T
        x = np.clip(x * 10 ** (db / 20), -1, 1)
    tmp = dst + ".tmp"
    sf.write(tmp, x, sr, subtype="PCM_16", format="WAV")
    os.replace(tmp, dst)
    return 1


def plain(mode: str, src: Path, out: Path, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(src.rglob("*.wav"))
    jobs = [(mode, str(f), str(out / f"{i}.wav"), i) for i, f in enumerate(files)]
    with mp.get_context("fork").Pool(workers) as pool:
        sum(pool.imap_unordered(_plain_job, jobs, chunksize=1))


def timed(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--plain", nargs=4, metavar=("MODE", "SRC", "OUT", "WORKERS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.plain:
        mode, src, out, w = a.plain
        return plain(mode, Path(src), Path(out), int(w))
    work = HERE / ".data"
    clips, seconds = make_clips(work / f"clips{a.n}", a.n)
    recipe = work / "audio.yaml"
    recipe.write_text(RECIPE)
    w = str(a.workers)
    me = [sys.executable, str(Path(__file__).resolve()), "--plain"]
    runs = {
        "floor": lambda: timed(me + ["floor", str(clips), str(work / "a_floor"), w], work / "a_floor"),
        "augcli": lambda: timed([sys.executable, "-m", "augcli", "run", str(recipe), "--input", str(clips),
                                 "--output", str(work / "a_aug"), "--workers", w, "--quiet"], work / "a_aug"),
        "separate": lambda: timed(me + ["separate", str(clips), str(work / "a_sep"), w], work / "a_sep"),
        "fused": lambda: timed(me + ["fused", str(clips), str(work / "a_fused"), w], work / "a_fused"),
    }
    best = {k: float("inf") for k in runs}
    for _ in range(a.repeat):
        for k, f in runs.items():
            best[k] = min(best[k], f())
    r = {k: seconds / v for k, v in best.items()}
    print(f"{a.n} clips, {seconds:.0f} s of audio at {'/'.join(str(x) for x in RATES)} Hz, {a.workers} workers, "
          f"best of {a.repeat} interleaved runs (whole commands, start-up included)")
    print(f"(a) I/O floor, read + write          : {r['floor']:7.0f} s of audio per s  ({best['floor']:.2f} s)")
    print(f"(b) augcli: noise_snr, time_stretch, pitch_shift, gain: {r['augcli']:7.0f} s/s  ({best['augcli']:.2f} s)")
    print(f"(c) plain loop, same library calls    : {r['separate']:7.0f} s/s  ({best['separate']:.2f} s)  "
          f"augcli time vs this = {r['separate'] / r['augcli'] - 1:+.1%}  (target <= +10%)")
    print(f"(d) plain loop, stretch+pitch in one call: {r['fused']:7.0f} s/s  ({best['fused']:.2f} s)  "
          f"augcli time vs this = {r['fused'] / r['augcli'] - 1:+.1%}")


if __name__ == "__main__":
    main()
