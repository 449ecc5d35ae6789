"""Detection benchmark: augcli on a YOLO dataset against the I/O floor and Albumentations, side by side in one run.

    python benchmarks/bench_detection.py [--n 300] [--images DIR] [--repeat 3] [--workers 2]

Every run is a whole command in a fresh process (start-up included), 2 workers, one augmented
copy of every photo and its labels, nothing else written:
(a) floor: a plain script, the same process pool, OpenCV decode + encode (JPEG q95) of every
    photo and a read + write of its label file (an empty one for a background image): the I/O;
    (a0) the same without the label files: what the label files' I/O alone costs;
(b) `augcli image DIR OUT --recipe R --copies 1 --no-originals` with R the transforms of
    examples/detection.yaml (hflip, rotate 10, shift 0.1, zoom 0.75-1.25 with a grey border,
    colour jitter, Gaussian noise at p 0.3); the YOLO layout is detected, labels move with the
    pixels (min_visibility 0.25, rotated boxes by their corners);
(c) the same command with `--annotations none`: the same pixels, labels ignored;
(d) Albumentations 2.0.8 in a plain script with the same pool: cv2.imread, the YOLO labels read,
    Compose([HorizontalFlip, Affine, ColorJitter, GaussNoise], BboxParams(format='yolo',
    min_visibility=0.25)) with the recipe's ranges, imwrite q95, the label file written.
Reported: images/s; the annotations' cost, time(b) / time(c) - 1 (target <= +10%), beside the
label files' own I/O, time(a) / time(a0) - 1; b/d in images/s (target >= 3) beside its ceiling
a/d (an augmenter as fast as the floor); b/a; the same in CPU time of all the command's
processes (less noisy than wall time on a shared VM).
Rounds of back-to-back runs, odd rounds in reverse order, each command started after os.sync()
(earlier runs' files written out); a round during which other processes used more than a tenth
of the cores is redone (at most --repeat times in all). The median over the rounds and their
range (this VM has slow and fast phases: compare ratios, never rates from different runs).

Data: N 1024x768 JPEGs made from the real photographs in sample_data/images as
bench_image.py makes them (random crops and scales, flips, mild noise), each with 5-20
solid-colour rectangles and ellipses painted at random places and their boxes written as YOLO
labels (5 classes in data.yaml); one photo in 20 is a background image (no label file, or an
empty one). Every box lies inside the picture, so Albumentations accepts every label file.
--images DIR paints the same shapes on your own photos (all of them; --n is then ignored).
Cached in benchmarks/.data/ (delete it to regenerate).
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
sys.path.insert(0, str(HERE))
from bench_image import photo_frame  # noqa: E402

CLASSES = ["sign", "ball", "plate", "coin", "card"]  # even ids painted as rectangles, odd as ellipses
RECIPE = """modality: image
annotations:  # as examples/detection.yaml (format: auto-detected: YOLO)
  min_visibility: 0.25
  bbox_rotation: corners
transforms:
  - hflip: {p: 0.5}
  - rotate: {degrees: 10, fill: constant, fill_value: 114}
  - shift: {width: 0.1, height: 0.1, fill: constant, fill_value: 114}
  - zoom: {range: [0.75, 1.25], fill: constant, fill_value: 114}
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.3, hue: 0.02}
  - gaussian_noise: {std: [0, 6], p: 0.3}
"""
EXT = (".jpg", ".jpeg", ".png")


# ---------------------------------------------------------------- data

def _paint(img: np.ndarray, rng) -> list[str]:
    """Paints 5-20 solid rectangles/ellipses in place; returns their YOLO lines. Every box keeps
    a pixel away from the border, so no normalised value can round outside [0, 1]."""
    h, w = img.shape[:2]
    lines = []
    for _ in range(int(rng.integers(5, 21))):
        cls = int(rng.integers(0, len(CLASSES)))
        bw = max(4, int(rng.uniform(0.03, 0.3) * w))
        bh = max(4, int(rng.uniform(0.03, 0.3) * h))
        x0, y0 = int(rng.integers(1, w - bw)), int(rng.integers(1, h - bh))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if cls % 2 == 0:
            cv2.rectangle(img, (x0, y0), (x0 + bw - 1, y0 + bh - 1), colour, -1)
        else:
            cv2.ellipse(img, (x0 + bw // 2, y0 + bh // 2), (bw // 2, bh // 2), 0, 0, 360, colour, -1)
        lines.append(f"{cls} {(x0 + bw / 2) / w:.6f} {(y0 + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}")
    return lines


def make_dataset(dst: Path, n: int, own: Path | None = None) -> Path:
    """DST/images/<name>.jpg, DST/labels/<name>.txt, DST/data.yaml; seeded, cached by a marker."""
    marker = dst / (f".done-{own.resolve()}".replace("/", "_") if own else f".done-{n}")
    if marker.exists():
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    (dst / "images").mkdir(parents=True)
    (dst / "labels").mkdir()
    rng = np.random.default_rng(0)
    if own:
        srcs = sorted(p for p in own.rglob("*") if p.suffix.lower() in EXT)
        n = len(srcs)
    else:
        srcs = sorted((ROOT / "sample_data/images").rglob("*.jpg"))
        pics = [cv2.imread(str(p)) for p in srcs]
    for i in range(n):
        img = cv2.imread(str(srcs[i]), cv2.IMREAD_COLOR) if own else photo_frame(pics[i % len(pics)], rng)
        name = f"p{i:04d}"
        lines = _paint(img, rng) if i % 20 else []  # one in 20: a background image, no objects
        cv2.imwrite(str(dst / "images" / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if lines or i % 40 == 20:  # backgrounds: every other one has an empty label file, the rest none
            (dst / "labels" / f"{name}.txt").write_text("".join(ln + "\n" for ln in lines))
    names = "".join(f"  {i}: {c}\n" for i, c in enumerate(CLASSES))
    (dst / "data.yaml").write_text(f"# bench_detection.py: painted shapes\nnames:\n{names}")
    marker.touch()
    return dst


# ------------------------------------------- the plain scripts (a) and (d), run as commands

def _jobs(data: Path, out: Path) -> list[tuple[str, str, str, str]]:
    """(image, label, output image, output label) of every photo; OUT/images, OUT/labels made."""
    for d in ("images", "labels"):
        (out / d).mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in (data / "images").rglob("*") if p.suffix.lower() in EXT)
    return [(str(f), str(data / "labels" / f"{f.stem}.txt"), str(out / "images" / f"{f.stem}.jpg"),
             str(out / "labels" / f"{f.stem}.txt")) for f in files]


def _write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _read_label(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _floor_job(job, labels: bool = True) -> int:
    src, lab, dst, dlab = job
    img = cv2.imdecode(np.fromfile(src, np.uint8), cv2.IMREAD_UNCHANGED)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if labels:  # before the image, as augcli writes them
        _write(dlab, _read_label(lab))
    _write(dst, buf.tobytes())
    return 1


def _floor_images_job(job) -> int:
    return _floor_job(job, labels=False)


_COMPOSE = None


def _albu_init() -> None:
    """Albumentations 2.0.8 with the steps and ranges of the recipe, as close as it allows:
    one Affine for rotate + shift + zoom (it samples x and y shifts independently, like shift);
    GaussNoise's std_range is a fraction of 255."""
    global _COMPOSE
    import albumentations as A

    cv2.setNumThreads(0)
    _COMPOSE = A.Compose([
        A.HorizontalFlip(p=0.5),
        A.Affine(rotate=(-10, 10), translate_percent=(-0.1, 0.1), scale=(0.75, 1.25),
                 border_mode=cv2.BORDER_CONSTANT, fill=114, rotate_method="largest_box", p=1),
        A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.3, hue=0.02, p=1),
        A.GaussNoise(std_range=(0, 6 / 255), p=0.3),
    ], bbox_params=A.BboxParams(format="yolo", label_fields=["cls"], min_visibility=0.25), seed=os.getpid())


def _albu_job(job) -> int:
    src, lab, dst, dlab = job
    img = cv2.imread(src)  # BGR: ColorJitter's hue turns the other way; the ranges are symmetric
    cls, boxes = [], []
    for line in _read_label(lab).decode().splitlines():
        f = line.split()
        if f:
            cls.append(int(f[0]))
            boxes.append([float(v) for v in f[1:5]])
    r = _COMPOSE(image=img, bboxes=np.array(boxes, np.float32).reshape(-1, 4), cls=cls)
    cv2.imwrite(dst, r["image"], [cv2.IMWRITE_JPEG_QUALITY, 95])
    text = "".join(f"{int(c)} {b[0]:.6f} {b[1]:.6f} {b[2]:.6f} {b[3]:.6f}\n" for c, b in zip(r["cls"], r["bboxes"]))
    _write(dlab, text.encode())
    return 1


def plain_script(kind: str, data: Path, out: Path, workers: int) -> None:
    """The body of (a), (a0) or (d) as a user would write it: list, pool, one job per photo."""
    if kind == "albu":
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import
        import albumentations  # noqa: F401  (imported before the fork, as a script does)
        init, job = _albu_init, _albu_job
    else:
        init, job = (lambda: cv2.setNumThreads(0)), (_floor_job if kind == "floor" else _floor_images_job)
    jobs = _jobs(data, out)
    with mp.get_context("fork").Pool(workers, initializer=init) as pool:
        n = sum(pool.imap_unordered(job, jobs, chunksize=1))
    assert n == len(jobs)


# ------------------------------------------------------------------ timed commands

def _cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far, workers included."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _busy() -> float:
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def timed(cmd: list[str], out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of all its processes, share of the cores other processes used
    meanwhile) of one whole command, OUT emptied first."""
    shutil.rmtree(out, ignore_errors=True)
    os.sync()  # earlier runs' deletes and dirty pages written out now, not during this run
    # bytecode cached for every command alike (as an installed package has it), kept in .data/
    env = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1", PYTHONPYCACHEPREFIX=str(HERE / ".data/pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    b0, c0, t0 = _busy(), _cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    return wall, cpu, max(0.0, _busy() - b0 - cpu) / (wall * (os.cpu_count() or 1))


def commands(data: Path, work: Path, recipe: Path, workers: int) -> dict[str, tuple[list[str], Path]]:
    w = str(workers)
    aug = [sys.executable, "-m", "augcli", "image", str(data), None, "--recipe", str(recipe), "--copies", "1",
           "--no-originals", "--seed", "1", "--workers", w, "--quiet"]
    cmds = {}
    for k, extra in (("b", []), ("c", ["--annotations", "none"])):
        out = work / f"out_{k}"
        cmds[k] = ([*aug[:5], str(out), *aug[6:], *extra], out)
    for k, kind in (("a", "floor"), ("a0", "images"), ("d", "albu")):
        out = work / f"out_{k}"
        cmds[k] = ([sys.executable, __file__, f"--{kind}-run", str(data), str(out), w], out)
    return cmds


LAYOUT = {"a": ("images", "labels"), "a0": ("images", None), "b": ("images/train", "labels/train"),
          "c": ("train/images", None), "d": ("images", "labels")}


def check_output(k: str, out: Path, n: int) -> int:
    """Run K wrote N images (and N label files where it writes labels); returns its boxes."""
    imgs, labs = LAYOUT[k]
    got = sum(1 for p in (out / imgs).iterdir() if p.suffix == ".jpg")
    assert got == n, f"({k}) wrote {got} images of {n} in {out / imgs}"
    if not labs:
        return 0
    files = list((out / labs).glob("*.txt"))
    assert len(files) == n, f"({k}) wrote {len(files)} label files of {n} in {out / labs}"
    return sum(len(f.read_text().split("\n")) - 1 for f in files)


# ------------------------------------------------------------------ report

def report(rounds: list[dict], n: int, boxes: dict[str, int]) -> None:
    def show(f, fmt="{:.2f}"):
        v = [f(r) for r in rounds]
        return f"{fmt.format(statistics.median(v))} (rounds: {fmt.format(min(v))}-{fmt.format(max(v))})"

    rate = {k: (lambda r, k=k: n / r[k][0]) for k in ("a", "a0", "b", "c", "d")}
    print(f"(a) I/O floor, decode+encode + label copy, a plain script: {show(rate['a'], '{:.1f}')} images/s")
    print(f"(a0) the same without the label files           : {show(rate['a0'], '{:.1f}')} images/s")
    print(f"(b) augcli, detection recipe, YOLO labels        : {show(rate['b'], '{:.1f}')} images/s")
    print(f"(c) the same with --annotations none             : {show(rate['c'], '{:.1f}')} images/s")
    print(f"(d) Albumentations 2.0.8 + Pool, same steps, YOLO: {show(rate['d'], '{:.1f}')} images/s")
    print(f"    annotations' cost, time b / time c - 1       : {show(lambda r: r['b'][0] / r['c'][0] - 1, '{:+.1%}')}"
          "   (target <= +10%)")
    print(f"    the same in CPU time of all processes        : {show(lambda r: r['b'][1] / r['c'][1] - 1, '{:+.1%}')}")
    print(f"    label files' I/O in the floor, time a/a0 - 1 : {show(lambda r: r['a'][0] / r['a0'][0] - 1, '{:+.1%}')}"
          f"; in CPU time {show(lambda r: r['a'][1] / r['a0'][1] - 1, '{:+.1%}')}")
    own = lambda r, i: ((r["b"][i] - r["c"][i]) - (r["a"][i] - r["a0"][i])) / r["c"][i]  # noqa: E731
    print(f"    augcli's label work beyond that I/O, of c    : {show(lambda r: own(r, 0), '{:+.1%}')}; "
          f"in CPU time {show(lambda r: own(r, 1), '{:+.1%}')}")
    print(f"    b/d, augcli against Albumentations (images/s): {show(lambda r: r['d'][0] / r['b'][0])}   (target >= 3)")
    print(f"    its ceiling a/d (an augmenter as fast as a)  : {show(lambda r: r['d'][0] / r['a'][0])}")
    print(f"    the same in CPU time (d's / b's)             : {show(lambda r: r['d'][1] / r['b'][1])}")
    print(f"    b/a, augcli against the I/O floor            : {show(lambda r: r['a'][0] / r['b'][0])}")
    cpu = {k: show(lambda r, k=k: r[k][1]) for k in ("a", "a0", "b", "c", "d")}
    print("    CPU seconds per command: " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
    print(f"    boxes written (last round): input {boxes['in']}, floor {boxes['a']}, augcli {boxes['b']}, "
          f"Albumentations {boxes['d']} (both drop boxes under 25% visible)")


def run_rounds(cmds, repeat: int, n: int, in_boxes: int) -> tuple[list[dict], dict]:
    """REPEAT rounds of the five commands back to back, odd rounds reversed; a round during which
    other processes used more than a tenth of the cores is redone (at most REPEAT times in all)."""
    order = ["a0", "a", "c", "b", "d"]  # a next to a0, b next to c (overhead) and to d (baseline)
    for k in order:  # a warm-up, not counted: bytecode cache, page cache
        timed(*cmds[k])
    rounds, redone = [], 0
    while len(rounds) < repeat:
        got, boxes = {}, {"in": in_boxes}
        for k in order if len(rounds) % 2 == 0 else order[::-1]:
            got[k] = timed(*cmds[k])
            boxes[k] = check_output(k, cmds[k][1], n)
        others = max(v[2] for v in got.values())
        rates = "  ".join(f"{k} {n / got[k][0]:6.1f}" for k in ("a", "a0", "b", "c", "d"))
        print(f"  round {len(rounds) + 1}: images/s {rates}   time b/c-1 {got['b'][0] / got['c'][0] - 1:+.1%}  "
              f"b/d {got['d'][0] / got['b'][0]:.2f}  b/a {got['a'][0] / got['b'][0]:.2f}  (others: {others:.0%})",
              flush=True)
        if others > 0.10 and redone < repeat:
            redone += 1
            print(f"    other processes used {others:.0%} of the cores during a run: round redone")
            continue
        rounds.append(got)
    return rounds, boxes


def main():
    if len(sys.argv) == 5 and sys.argv[1] in ("--floor-run", "--images-run", "--albu-run"):  # the plain scripts
        plain_script(sys.argv[1][2:-4], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="photos to generate (default 300)")
    ap.add_argument("--images", type=Path, help="paint the boxes on your own photos instead")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of every run (default 2)")
    a = ap.parse_args()
    work = HERE / ".data"
    data = make_dataset(work / ("detection_own" if a.images else f"detection{a.n}"), a.n, a.images)
    n = sum(1 for p in (data / "images").iterdir() if p.suffix.lower() in EXT)
    in_boxes = sum(len(f.read_text().split("\n")) - 1 for f in (data / "labels").glob("*.txt"))
    recipe = work / "detection_recipe.yaml"
    recipe.write_text(RECIPE)
    cmds = commands(data, work / "detection_out", recipe, a.workers)
    print(f"{n} photos, {in_boxes} boxes, from {data}; {a.workers} workers, {a.repeat} rounds")
    rounds, boxes = run_rounds(cmds, a.repeat, n, in_boxes)
    report(rounds, n, boxes)


if __name__ == "__main__":
    main()
