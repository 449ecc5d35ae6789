"""Part (r) of bench_image.py: augmenting straight to training size (issue 18).

Photos of 1-2 MP (1152x864, 1280x960, 1440x1080, 1600x1200 in turn, ~1.43 MP on average, made
like bench_image's; or --images DIR). Whole commands, the same 2-process pool, one output per
photo, JPEG q95; in each round, back to back (odd rounds reversed):
  (a)  the full-resolution floor: a plain script, OpenCV decode + encode (bench_image's (a));
  (r)  `augcli run` with the example's geometric steps (hflip, rotate 20, zoom 0.9-1.1), then a
       resize (224x224, 512x512, 640 wide) or a random_resized_crop to 224x224 (rrc), then its
       colour jitter, noise and cutout: the resize in the first geometric block, so the JPEG is
       decoded at 1/2, 1/4 or 1/8, or only the crop's window of it (io/reduced.py);
  (r0) the same with AUGCLI_REDUCED=0 (every JPEG decoded in full: the path before issue 18);
  (d)  Albumentations 2.0.8 in a plain script with the same steps in the same order
       (HorizontalFlip, Affine(rotate, scale, reflect), Resize (LongestMaxSize for 640,
       RandomResizedCrop for rrc),
       ColorJitter, GaussNoise, CoarseDropout), cv2.imread + imwrite q95, the same pool;
  (e)  augcli with the resize at the very end of the recipe (after cutout), as the issue
       measured it: the first warp does not shrink, so nothing is decoded reduced; and
       Albumentations so (the example's steps, then Resize), the issue's baseline for its 5x.
Reported: files/s ratios r/a (target >= 2.0 at 224), r/d and r/d_end (target >= 5), r/r0;
median and range over the rounds.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2

import bench_image as bi

SIZES = {"224": "resize: {height: 224, width: 224}", "512": "resize: {height: 512, width: 512}",
         "640w": "resize: {width: 640}", "rrc": "random_resized_crop: {size: [224, 224]}"}
GEO = """  - hflip: {p: 0.5}
  - rotate: {degrees: 20, fill: reflect}
  - zoom: {range: [0.9, 1.1]}
"""
REST = """  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05}
  - gaussian_noise: {std: [0, 10], p: 0.3}
  - cutout: {holes: 1, size: [0.1, 0.3], p: 0.5}
"""
HEAD = "modality: image\ncopies: 1\nno_originals: true\nseed: 1\ntransforms:\n"
_COMPOSE = None


def recipes(work: Path) -> dict[str, Path]:
    out = {}
    for k, size in SIZES.items():
        out[k] = work / f"resize_{k}.yaml"
        out[k].write_text(HEAD + GEO + f"  - {size}\n" + REST)
    out["end"] = work / "resize_end.yaml"
    out["end"].write_text(HEAD + GEO + REST + f"  - {SIZES['224']}\n")
    return out


def _albu_init(size: str) -> None:
    global _COMPOSE
    import albumentations as A

    cv2.setNumThreads(0)
    geo = [A.HorizontalFlip(p=0.5), A.Affine(rotate=(-20, 20), scale=(0.9, 1.1), border_mode=cv2.BORDER_REFLECT_101, p=1)]
    rest = [A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05, p=1),
            A.GaussNoise(std_range=(0, 10 / 255), p=0.3),
            A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(0.1, 0.3), hole_width_range=(0.1, 0.3),
                            fill=0, p=0.5)]
    if size == "end":  # the example's steps, then Resize (as the issue measured it)
        _COMPOSE = A.Compose([*geo, *rest, A.Resize(224, 224)], seed=os.getpid())
        return
    resize = (A.LongestMaxSize(max_size=640) if size == "640w" else A.RandomResizedCrop((224, 224)) if size == "rrc"
              else A.Resize(int(size), int(size)))
    _COMPOSE = A.Compose([*geo, resize, *rest], seed=os.getpid())


def _albu_job(job) -> int:
    src, dst = job
    img = cv2.imread(src)
    cv2.imwrite(dst, _COMPOSE(image=img)["image"], [cv2.IMWRITE_JPEG_QUALITY, 95])
    return 1


def albu_run(listing: Path, out: Path, workers: int, size: str) -> None:
    """(d) as a user would write it: list, pool, one job per photo."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations  # noqa: F401  (imported before the fork, as a script does)

    files = listing.read_text().split("\n")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(f, str(out / f"{i}.jpg")) for i, f in enumerate(files)]
    with mp.get_context("fork").Pool(workers, initializer=_albu_init, initargs=(size,)) as pool:
        assert sum(pool.imap_unordered(_albu_job, jobs, chunksize=1)) == len(jobs)


def timed(cmd: list[str], out: Path, n: int, **env) -> tuple[float, float]:
    """(files/s, CPU seconds of all its processes) of one whole command (OUT emptied first;
    every output counted)."""
    shutil.rmtree(out, ignore_errors=True)
    e = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1", **env)
    c0, t0 = bi._cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, cwd=bi.ROOT, env=e, stderr=subprocess.DEVNULL)
    dt, cpu = time.perf_counter() - t0, bi._cpu() - c0
    made = sum(1 for p in out.rglob("*.jpg"))
    assert made == n, (cmd, made, n)
    return n / dt, cpu


def commands(photos: Path, files: list[Path], work: Path, workers: int) -> dict:
    listing = work / "resize_files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    w, rec, n = str(workers), recipes(work), len(files)
    aug = [sys.executable, "-m", "augcli", "run", None, "--input", str(photos), "--output", None, "--quiet",
           "--workers", w]
    runs = {"a": lambda: bi.floor_cmd(files, work / "out_rfloor", workers)}
    for k in [*SIZES, "end"]:
        out = work / f"out_r{k}"
        cmd = [*aug[:4], str(rec[k]), *aug[5:8], str(out), *aug[9:]]
        runs[f"r{k}"] = lambda cmd=cmd, out=out: timed(cmd, out, n)
        if k != "end":
            runs[f"r0{k}"] = lambda cmd=cmd, out=out: timed(cmd, out, n, AUGCLI_REDUCED="0")
        dcmd = [sys.executable, str(Path(bi.__file__)), "--albu-run", str(listing), str(work / f"out_d{k}"), w, k]
        runs[f"d{k}"] = lambda dcmd=dcmd, out=work / f"out_d{k}": timed(dcmd, out, n)
    return runs


def _median_range(v: list[float]) -> str:
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


def resize_part(a, work: Path) -> None:
    sizes = [(864, 1152), (960, 1280), (1080, 1440), (1200, 1600)]
    photos = a.images or bi.make_photos(work / f"photos_large{a.n_large}", a.n_large, sizes=sizes)
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    from PIL import Image

    mp_ = statistics.mean(Image.open(f).size[0] * Image.open(f).size[1] for f in files) / 1e6
    print(f"(r) straight to training size: {len(files)} photos from {photos} (~{mp_:.2f} MP), "
          f"{a.workers} workers, {a.repeat} rounds")
    runs = list(commands(photos, files, work, a.workers).items())
    rounds = []
    cpu = []  # CPU seconds of all processes, by run: a measure the other users of a shared machine move less
    for i in range(a.repeat):
        got = {k: f() for k, f in (runs if i % 2 == 0 else runs[::-1])}
        cpu.append({k: v[1] for k, v in got.items()})
        got = {k: v[0] for k, v in got.items()}
        rounds.append(got)
        print(f"  round {i + 1}: floor {got['a']:.1f} files/s; " + "  ".join(
            f"{k}: r/a {got['r' + k] / got['a']:.2f} r/d {got['r' + k] / got['d' + k]:.1f} "
            f"r/r0 {got['r' + k] / got['r0' + k]:.2f}" for k in SIZES), flush=True)

    def show(f, fmt="{:.2f}"):
        v = [f(r) for r in rounds]
        return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"

    print(f"(a) full-resolution floor, decode + encode: {show(lambda r: r['a'], '{:.1f}')} files/s")
    for k in SIZES:
        tgt = "   (targets >= 2.0 and >= 5)" if k == "224" else ""
        print(f"(r) {k:>4}: augcli {show(lambda r: r['r' + k], '{:.1f}')} files/s; r/a {show(lambda r: r['r' + k] / r['a'])}"
              f"; r/d {show(lambda r: r['r' + k] / r['d' + k])}{tgt}")
        print(f"          before (full decode) r0/a {show(lambda r: r['r0' + k] / r['a'])}; r/r0 "
              f"{show(lambda r: r['r' + k] / r['r0' + k])}; Albumentations d/a {show(lambda r: r['d' + k] / r['a'])}")
    def cpu_show(f):
        return _median_range([f(c) for c in cpu])

    print("    in CPU time of all processes (a's / r's, d's / r's): " + "; ".join(
        f"{k}: {cpu_show(lambda c: c['a'] / c['r' + k])}, {cpu_show(lambda c: c['d' + k] / c['r' + k])}" for k in SIZES))
    print(f"(e) resize at the very end (not fused, no reduced decode): e/a {show(lambda r: r['rend'] / r['a'])}; "
          f"Albumentations so (Resize last) d/a {show(lambda r: r['dend'] / r['a'])}; (r) 224 against it: "
          f"{show(lambda r: r['r224'] / r['dend'])}   (target >= 5)")
