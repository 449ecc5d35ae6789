"""Image benchmark: augcli against the I/O floor, side by side in one run.

    python benchmarks/bench_image.py [--n 300] [--images DIR] [--repeat 3]

(a) floor: decode + encode (JPEG q95) of every photo with the same 2-process pool, nothing else,
    as a plain script run as its own command (like (b)); also timed inside this process, and
    (a'') inside this process with augcli's heap setting in the workers (a tuned floor);
(b) `augcli image` with the example recipe's transforms, one augmented copy per photo and
    nothing else written (same number of files as (a));
(c) the full example recipe (copies 2, originals, balance), for information.
Also: (b) with 1 worker vs 2 (speed-up), and peak memory (max RSS of any process) for a third
of the photos vs all of them (it must not grow with the dataset). Every ratio compares runs made
back to back in one round (this VM has slow and fast phases); the report gives the median over
the rounds and their range.

(r) straight to training size (issue 18; benchmarks/bench_resize.py): photos of 1-2 MP, the
    floor (a) against augcli with the example's geometric steps + a resize to 224x224 (also
    512x512 and 640 wide) then its colour and pixel steps, against the same augcli with the
    reduced decode off (AUGCLI_REDUCED=0: the path before), and against Albumentations with
    the same steps in the same pool (a plain script). --part resize runs only this.

Every command runs with its modules' bytecode cached (in .data/pycache), as an installed package
has it; the environment's PYTHONDONTWRITEBYTECODE is dropped for them (cached_bytecode()).

Photos: by default N 1024x768 JPEGs made from the real photographs in sample_data/ (random
crops, scales and flips, plus mild sensor-like noise so that they compress like photos). Pass
--images DIR to use your own photos instead.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRANSFORMS = """transforms:
  - hflip: {p: 0.5}
  - rotate: {degrees: 20, fill: reflect}
  - zoom: {range: [0.9, 1.1]}
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05}
  - gaussian_noise: {std: [0, 10], p: 0.3}
  - cutout: {holes: 1, size: [0.1, 0.3], p: 0.5}
"""


def photo_frame(img: np.ndarray, rng, size=(768, 1024)) -> np.ndarray:
    """A photo-like frame of `size` (h, w) from a real photo: a random crop (60-100% of its sides)
    scaled to size, flipped half the time, with mild sensor-like noise (so it compresses like a photo)."""
    h, w = size
    sh, sw = img.shape[:2]
    s = rng.uniform(0.6, 1.0)
    ch, cw = int(sh * s), int(sw * s)
    y, x = rng.integers(0, sh - ch + 1), rng.integers(0, sw - cw + 1)
    crop = cv2.resize(img[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        crop = np.ascontiguousarray(crop[:, ::-1])
    noise = rng.normal(0, 3.0, crop.shape).astype(np.float32)
    return cv2.add(crop, noise, dtype=cv2.CV_8U)


def make_photos(dst: Path, n: int, size=(768, 1024), sizes=None) -> Path:
    """N photo frames of `size` (h, w), or of `sizes` in turn."""
    marker = dst / f".done-{n}"
    if marker.exists():
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    srcs = [cv2.imread(str(p)) for p in sorted((ROOT / "sample_data/images").rglob("*.jpg"))]
    rng = np.random.default_rng(0)
    for i in range(n):
        label = ("a", "b")[i % 2]
        crop = photo_frame(srcs[i % len(srcs)], rng, sizes[i % len(sizes)] if sizes else size)
        (dst / label).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dst / label / f"p{i:04d}.jpg"), crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
    marker.touch()
    return dst


def _floor_init(heap: bool = False):
    cv2.setNumThreads(0)
    if heap:  # the heap setting augcli's workers use (executors.reuse_heap): fewer page faults
        from augcli.executors import reuse_heap as _reuse_heap

        _reuse_heap()


def _floor_job(args):
    src, dst = args
    img = cv2.imdecode(np.fromfile(src, np.uint8), cv2.IMREAD_UNCHANGED)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.tobytes())
    os.replace(tmp, dst)
    return 1


def floor(files: list[Path], out: Path, workers: int, heap: bool = False) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    jobs = [(str(f), str(out / f"{i}.jpg")) for i, f in enumerate(files)]
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(workers, initializer=_floor_init, initargs=(heap,)) as pool:
        n = sum(pool.imap_unordered(_floor_job, jobs, chunksize=1))
    return n / (time.perf_counter() - t0)


def _cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far, workers included."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def floor_cmd(files: list[Path], out: Path, workers: int) -> tuple[float, float]:
    """The floor as a whole command, like (b): a plain script (Python start, numpy + OpenCV
    imports, the same pool, decode + encode), run as its own process and timed from outside.
    Returns (files/s, CPU seconds of all its processes)."""
    listing = out.parent / "floor_files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    c0, t0 = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, __file__, "--floor-run", str(listing), str(out), str(workers)], check=True)
    return len(files) / (time.perf_counter() - t0), _cpu() - c0


def augcli(photos: Path, out: Path, recipe: Path, *extra) -> tuple[float, int, float]:
    """Returns (files/s, files written, CPU seconds of all the run's processes)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "augcli", "run", str(recipe), "--input", str(photos), "--output", str(out),
           "--quiet", *extra]
    c0, t0 = _cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    n = sum(1 for line in open(out / "manifest.csv")) - 1
    return n / dt, n, cpu


def peak_rss(photos: Path, out: Path, recipe: Path) -> float:
    """Max RSS (MB) of any process of one run, measured in a fresh child so earlier runs don't count."""
    code = ("import resource,subprocess,sys;"
            f"subprocess.run([sys.executable,'-m','augcli','run',{str(recipe)!r},'--input',{str(photos)!r},"
            f"'--output',{str(out)!r},'--quiet','--overwrite'],check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(r.stdout.strip()) / 1024


def cached_bytecode(work: Path) -> None:
    """Every command of the benchmark (augcli, the floor's script, Albumentations') with its modules'
    bytecode cached, as an installed package has it (pip compiles it); kept in .data/pycache, made
    here once. Without it (PYTHONDONTWRITEBYTECODE=1 in the environment) augcli's ~60 modules were
    compiled again by every run, ~70 ms of each run's fixed cost, while numpy's and OpenCV's were
    read from site-packages: not a like-for-like comparison."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "augcli")], check=True)
    imports = ("import numpy, numpy.random, cv2, typer, yaml, tqdm, PIL.Image; import augcli.cli, augcli.api, "
               "augcli.transforms.image, augcli.io.image, augcli.io.reduced, augcli.filework, augcli.runner\n"
               "try:\n import albumentations\nexcept ImportError:\n pass")
    subprocess.run([sys.executable, "-c", imports], check=True, cwd=ROOT,
                   env=dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1"))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--floor-run":  # the plain script of floor_cmd()
        files = Path(sys.argv[2]).read_text().split("\n")
        floor([Path(f) for f in files], Path(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) == 6 and sys.argv[1] == "--albu-run":  # the plain script of bench_resize.albu_cmd()
        from bench_resize import albu_run

        albu_run(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--images", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--part", choices=("all", "example", "resize"), default="all",
                    help="example: (a)-(c) on 1024x768 photos; resize: (r) straight to training size, 1-2 MP photos")
    ap.add_argument("--n-large", type=int, default=300, help="photos of 1-2 MP for --part resize")
    a = ap.parse_args()
    work = HERE / ".data"
    cached_bytecode(work)
    if a.part in ("all", "resize"):
        from bench_resize import resize_part

        resize_part(a, work)
    if a.part == "resize":
        return
    photos = a.images or make_photos(work / f"photos{a.n}", a.n)
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    one = work / "one_copy.yaml"
    one.write_text("modality: image\ncopies: 1\nno_originals: true\nseed: 1\n" + TRANSFORMS)
    full = work / "example.yaml"
    full.write_text("modality: image\ncopies: 2\nbalance: true\nval_split: 0.2\nseed: 42\n" + TRANSFORMS)
    w = str(a.workers)
    print(f"{len(files)} photos from {photos}, {a.workers} workers, {a.repeat} interleaved rounds")
    single = work / "photo_one"
    if not single.exists():
        (single / "a").mkdir(parents=True)
        shutil.copy(files[0], single / "a" / files[0].name)
    rounds = []
    for _ in range(a.repeat):
        # each ratio compares runs made close together (neighbours, or one apart), and odd
        # rounds run in reverse order (ABBA): a drift of the VM's speed favours neither side
        runs = [("i", lambda: floor(files, work / "out_floor", a.workers)),
                ("a", lambda: floor_cmd(files, work / "out_floor", a.workers)),
                ("b", lambda: augcli(photos, work / "out_b", one, "--workers", w)),
                ("h", lambda: floor(files, work / "out_floor", a.workers, heap=True)),
                ("b1", lambda: augcli(photos, work / "out_1", one, "--workers", "1")),
                ("a1", lambda: floor_cmd(files, work / "out_floor", 1)),
                ("c", lambda: augcli(photos, work / "out_c", full, "--workers", w)),
                ("s0", lambda: augcli(single, work / "out_s", one, "--workers", "1"))]
        got = {k: f() for k, f in (runs if len(rounds) % 2 == 0 else runs[::-1])}
        (fa, ca), (fb, _, cb), (f1, _, cb1), (fa1, ca1) = got["a"], got["b"], got["b1"], got["a1"]
        fi, fh, fc, s0 = got["i"], got["h"], got["c"][0], 1.0 / got["s0"][0]  # s0: the fixed cost of a run
        rounds.append(dict(a=fa, b=fb, c=fc, i=fi, h=fh, a1=fa1, b1=f1, s0=s0, n=len(files), ca=ca, ca1=ca1, cb=cb, cb1=cb1))
        print(f"  round {len(rounds)}: floor {fa:6.1f} (in-process {fi:6.1f})  (b) {fb:6.1f}  b/a {fb / fa:.2f}  "
              f"(c) c/a {fc / fa:.2f}  speed-up {fb / f1:.2f}x (floor's {fa / fa1:.2f}x)", flush=True)

    def show(f, fmt="{:.2f}"):
        v = [f(r) for r in rounds]
        return f"{fmt.format(statistics.median(v))} (rounds: {fmt.format(min(v))}-{fmt.format(max(v))})"

    print(f"(a) I/O floor, decode+encode, a plain script run as a command: {show(lambda r: r['a'], '{:.1f}')} files/s")
    print(f"    the same inside this process (no start-up): {show(lambda r: r['i'], '{:.1f}')} files/s")
    print(f"(b) augcli, example transforms, 1 copy: {show(lambda r: r['b'], '{:.1f}')} files/s")
    print(f"    b/a, median of the rounds         : {show(lambda r: r['b'] / r['a'])}   (target >= 0.70)")
    print(f"    b against the in-process floor    : {show(lambda r: r['b'] / r['i'])}")
    # a plain script pays ~25% of its CPU time in page faults on fresh image buffers; augcli's
    # workers keep those buffers in the heap. The same setting in the floor's workers:
    print(f"(a'') in-process floor, workers with augcli's heap setting: {show(lambda r: r['h'], '{:.1f}')} files/s; "
          f"b against it: {show(lambda r: r['b'] / r['h'])}")
    print(f"(c) augcli, full example recipe       : c/a {show(lambda r: r['c'] / r['a'])}   "
          "(copies share one decode; originals are byte copies)")
    print(f"    speed-up 2 workers vs 1           : {show(lambda r: r['b'] / r['b1'])}x   (target >= 1.8)")
    print(f"    the floor's own speed-up          : {show(lambda r: r['a'] / r['a1'])}x")
    print(f"    fixed cost of one augcli run (1 photo): {show(lambda r: r['s0'], '{:.2f}')} s; the speed-up "
          f"without it: {show(lambda r: (r['n'] / r['b1'] - r['s0']) / (r['n'] / r['b'] - r['s0']))}x")
    # Two workers can be at most 2 * (CPU time with 1) / (CPU time with 2) times faster: when the
    # same work costs more CPU time with two processes running, the machine (shared caches,
    # memory bandwidth, a busy host) takes that share of the speed-up, whatever the program does.
    print(f"    CPU time of all processes, 2 workers / 1 worker: augcli {show(lambda r: r['cb'] / r['cb1'])}, "
          f"floor {show(lambda r: r['ca'] / r['ca1'])}")
    print(f"    the speed-up that CPU time allows  : augcli {show(lambda r: 2 * r['cb1'] / r['cb'])}x, "
          f"floor {show(lambda r: 2 * r['ca1'] / r['ca'])}x")
    small = work / "photos_third"
    if not small.exists():
        for f in files[: max(1, len(files) // 3)]:
            d = small / f.relative_to(photos).parent
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, d / f.name)
    m_small = peak_rss(small, work / "out_m1", one)
    m_all = peak_rss(photos, work / "out_m2", one)
    print(f"    peak memory (max RSS of one process): {m_small:.0f} MB for {len(files) // 3} photos, "
          f"{m_all:.0f} MB for {len(files)}")


if __name__ == "__main__":
    main()
