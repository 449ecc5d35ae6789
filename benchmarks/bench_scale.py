"""Scale benchmark: the parent's plan at 10^5-10^6 sources, and tiny images' per-output overhead.

    python benchmarks/bench_scale.py [--sources 100000 1000000] [--copies 4]
        [--real 2500 25000] [--fill] [--tiny 5000] [--repeat 3] [--only dry,real,resume,tiny] [--tree DIR]

Inputs are generated under benchmarks/.data/scale/: one 32x32 PNG per class (10 classes) and,
for each size, a class-per-subfolder tree of hard links to it (ext4 allows 65,000 links a
file: a new copy every 50,000), so 1 M sources cost ~1 M directory entries, not 1 M files' contents.

(dry)    `augcli image IN OUT --copies 4 --dry-run` at each --sources: wall time and the peak RSS
         of the command (targets at 1 M sources x 4: < 20 s, < 500 MB);
(real)   a real run (hflip + rotate + color_jitter, --copies 4, 2 workers) at each --real
         source count: the parent's own peak RSS (ru_maxrss of the parent process, read at its
         exit; the workers' are not in it) and the wall time (target: flat in the output count);
(resume) the larger real run stopped (SIGINT) at 90% of its outputs, then run again: seconds
         from the command's start to the first job handed to the workers (target at 1 M outputs:
         < 10 s), the plan and the resume check being all that comes before; with --fill the
         90% are made at once (hard links to one file, and their manifest rows) instead;
(tiny)   --tiny 32x32 PNG sources x 4 copies, PNG out, no originals, the same three steps:
         augcli (2 workers) vs a plain OpenCV read + write loop (imread, imwrite, in a 2-process
         pool, as a command) writing as many files: files/s, ratio (target >= 0.5), and CPU time
         per output (user + system of every process of the command); also "bare": a Python loop
         doing only the work no per-output loop avoids (_bare_job), the bound of this design;
         written to this disk and
         to /dev/shm (--tiny-on), every round into new folders removed at the end (see bench_tiny).
Every timed run is a whole command in a fresh process, its modules' bytecode cached as an
installed package has it (bench_image.cached_bytecode); rounds of back-to-back runs, odd rounds
in reverse order; medians and ranges over the rounds.
"""
from __future__ import annotations

import argparse
import errno
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "scale"
CLASSES = 10
TREE = ROOT  # the augcli sources the commands run (--tree: e.g. an export of another commit)
RECIPE = """modality: image
transforms:
  - hflip: {p: 0.5}
  - rotate: {degrees: 20}
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05}
"""
# The parent's own peak RSS (not its workers'), and the moment the first jobs go to the pool.
WRAP = """import atexit, os, resource, sys, time
t0 = time.perf_counter()
def _report():
    print(f"BENCH maxrss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr, flush=True)
atexit.register(_report)
import augcli.executors as ex
_orig = ex.LocalExecutor.map_unordered
def _timed(self, *a, **k):
    print(f"BENCH first_job_s {time.perf_counter() - t0:.3f}", file=sys.stderr, flush=True)
    if os.environ.get("BENCH_FIRST_JOB_ONLY"):  # --fill: timed up to here; the rest is not measured
        _report()
        os._exit(0)
    return _orig(self, *a, **k)
ex.LocalExecutor.map_unordered = _timed
sys.argv = ["augcli"] + sys.argv[1:]
from augcli.cli import main
main()
"""


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def seeds_png() -> list[Path]:
    import cv2
    import numpy as np

    d = DATA / "seed"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for c in range(CLASSES):
        p = d / f"c{c}.png"
        if not p.exists():
            img = cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), (5, 5), 0)
            cv2.imwrite(str(p), img)
        out.append(p)
    return out


def tree(n: int, copies_of_files: bool = False) -> Path:
    """n sources in CLASSES class folders: hard links to the seed PNGs (or real copies)."""
    dst = DATA / f"{'files' if copies_of_files else 'links'}_{n}"
    if (dst / ".done").exists():
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    seeds = seeds_png()
    for c in range(CLASSES):
        (dst / f"class{c}").mkdir(parents=True)
    at = [0] * CLASSES  # the copy of each class's seed linked to now: ext4 allows 65,000 links a
    for i in range(n):     # file, and other trees link to the same copies
        c = i % CLASSES
        target = dst / f"class{c}" / f"img{i:07d}.png"
        if copies_of_files:
            shutil.copyfile(seeds[c], target)
            continue
        while True:
            base = DATA / "seed" / f"c{c}_{at[c]}.png"
            if not base.exists():
                shutil.copyfile(seeds[c], base)
            try:
                os.link(base, target)
                break
            except OSError as e:
                if e.errno != errno.EMLINK:
                    raise
                at[c] += 1
    (dst / ".done").touch()
    return dst


def command(args: list[str], out: Path | None = None, clear: bool = True) -> dict:
    """One whole command: wall s, CPU s of its processes, and the BENCH lines of the wrapper."""
    if out is not None and clear:
        shutil.rmtree(out, ignore_errors=True)
    os.sync()
    c0, t0 = _cpu(), time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, cwd=TREE)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, args))}\n{p.stderr[-2000:]}")
    got = {"wall": wall, "cpu": cpu, "maxrss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    for line in p.stderr.splitlines():
        if line.startswith("BENCH "):
            _, k, v = line.split()
            got[k] = float(v)
    return got


def augcli_cmd(*args) -> list[str]:
    return [sys.executable, "-c", WRAP, "image", *map(str, args), "--quiet"]


def peak_of(args: list[str]) -> tuple[float, float]:
    """Wall s and peak RSS (MB) of one command, with GNU time when there is one (ru_maxrss otherwise)."""
    timer = shutil.which("time") or "/usr/bin/time"
    if os.path.exists(timer):
        t0 = time.perf_counter()
        p = subprocess.run([timer, "-f", "MAXRSS %M", *args], capture_output=True, text=True, cwd=TREE)
        wall = time.perf_counter() - t0
        rss = [ln for ln in p.stderr.splitlines() if ln.startswith("MAXRSS")]
        if p.returncode == 0 and rss:
            return wall, int(rss[-1].split()[1]) / 1024
    got = command(args)
    return got["wall"], got["maxrss_kb"] / 1024


def show(v: list[float], fmt="{:.2f}") -> str:
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def bench_dry(a) -> None:
    print(f"(dry) augcli image IN OUT --copies {a.copies} --dry-run (wall s, peak RSS MB; median (range) of {a.repeat})")
    for n in a.sources:
        src = tree(n)
        walls, rss = [], []
        for _ in range(a.repeat):
            w, m = peak_of(augcli_cmd(src, DATA / "out_dry", "--copies", a.copies, "--dry-run"))
            walls.append(w)
            rss.append(m)
        print(f"  {n:>9,} sources -> {n * (a.copies + 1):>9,} outputs: {show(walls)} s, {show(rss, '{:.0f}')} MB",
              flush=True)


def bench_real(a, recipe: Path) -> None:
    print(f"(real) augcli image IN OUT --recipe (3 steps) --copies {a.copies} --workers 2: the parent's peak RSS")
    for n in a.real:
        src = tree(n)
        walls, rss = [], []
        for _ in range(a.repeat):
            got = command(augcli_cmd(src, DATA / "out_real", "--recipe", recipe, "--copies", a.copies,
                                     "--workers", 2), DATA / "out_real")
            walls.append(got["wall"])
            rss.append(got["maxrss_kb"] / 1024)
        k = n * (a.copies + 1)
        print(f"  {n:>9,} sources -> {k:>9,} outputs: parent {show(rss, '{:.0f}')} MB, {show(walls, '{:.1f}')} s "
              f"({k / statistics.median(walls):,.0f} files/s)", flush=True)


# Made 90% of a run's outputs at once: its plan's first outputs as hard links to one file, with
# their manifest rows (seeds from the plan), so that a resume of a 1 M-output run can be timed
# without first making 900,000 images (--fill). argv: recipe src out copies fraction.
FILL = """import os, shutil, sys
from augcli import modalities
from augcli.manifest import COLUMNS, _Lines, row_values
from augcli.recipe import Config
recipe, src, out, copies, fraction = sys.argv[1:]
cfg = Config.from_yaml(recipe, input=src, output=out, copies=int(copies), workers=2)
plan = modalities.resolve(cfg).plan(cfg)
stop, n, line, made = int(float(fraction) * plan.n_outputs), 0, _Lines(), set()
dummies = []  # ext4: at most 65,000 links a file
with open(os.path.join(out, "manifest.csv"), "w", newline="", encoding="utf-8") as f:
    f.write(line(dict(zip(COLUMNS, COLUMNS))))
    for job in plan.jobs:
        for o in job.list_outputs():
            if n == stop:
                break
            d = os.path.join(out, os.path.dirname(o.path))
            if d not in made:
                os.makedirs(d, exist_ok=True)
                made.add(d)
            if n % 60_000 == 0:
                dummies.append(os.path.join(out, f".fill{len(dummies)}.png"))
                shutil.copyfile(plan.jobs[0].src, dummies[-1])
            dst = os.path.join(out, o.path)
            os.link(dummies[-1], dst) if not os.path.exists(dst) else None
            f.write(line(dict(zip(COLUMNS, [o.path, *row_values(job.source, job.label, job.split, o.copy, o.seed,
                                                                 [])]))))
            n += 1
for d in dummies:
    os.unlink(d)
print(n)
"""


def fill(recipe: Path, src: Path, out: Path, copies: int, args: list[str], fraction: float = 0.9) -> int:
    """OUTPUT as a run stopped after `fraction` of its outputs (see FILL); returns the rows made."""
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=TREE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while p.poll() is None and not (out / "manifest.csv").exists():  # run.json and the lock are made
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    p.wait()
    env = dict(os.environ, PYTHONPATH=str(TREE))
    got = subprocess.run([sys.executable, "-c", FILL, str(recipe), str(src), str(out), str(copies), str(fraction)],
                         capture_output=True, text=True, cwd=TREE, env=env, check=True)
    return int(got.stdout.split()[-1])


def bench_resume(a, recipe: Path) -> None:
    n = max(a.real)
    src, out = tree(n), DATA / "out_resume"
    total = n * (a.copies + 1)
    args = augcli_cmd(src, out, "--recipe", recipe, "--copies", a.copies, "--workers", 2)
    firsts = []
    for _ in range(a.repeat):
        if a.fill:
            kept = fill(recipe, src, out, a.copies, args)
            os.environ["BENCH_FIRST_JOB_ONLY"] = "1"
            got = command(args, out, clear=False)
            del os.environ["BENCH_FIRST_JOB_ONLY"]
            firsts.append(got.get("first_job_s", float("nan")))
            print(f"  {kept:,} of {total:,} outputs made (--fill); run again: first job after {firsts[-1]:.2f} s "
                  f"(stopped there), parent {got['maxrss_kb'] / 1024:.0f} MB", flush=True)
            continue
        shutil.rmtree(out, ignore_errors=True)
        # SIGINT as a terminal's Ctrl-C (a benchmark started in the background inherits it ignored)
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=TREE,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        man = out / "manifest.csv"
        while p.poll() is None:
            time.sleep(0.5)
            if man.exists() and man.stat().st_size > 0:
                with open(man, "rb") as f:
                    rows = sum(1 for _ in f) - 1
                if rows >= 0.9 * total:
                    p.send_signal(signal.SIGINT)
                    break
        p.wait()
        with open(out / "manifest.csv", "rb") as f:
            kept = sum(1 for _ in f) - 1
        got = command(args, out, clear=False)
        firsts.append(got.get("first_job_s", float("nan")))
        print(f"  stopped with exit code {p.returncode}, {kept:,} rows kept; run again: first job after "
              f"{firsts[-1]:.2f} s, {got['wall']:.1f} s in all, parent {got['maxrss_kb'] / 1024:.0f} MB", flush=True)
    print(f"(resume) {total:,}-output run stopped at 90%, run again: first job to the workers after "
          f"{show(firsts)} s (median (range) of {a.repeat})", flush=True)


def _floor_job(args):
    import cv2

    src, dst = args
    cv2.imwrite(dst, cv2.imread(src, cv2.IMREAD_UNCHANGED))
    return 1


def _bare_job(args):
    """What a per-output Python loop cannot avoid for the tiny recipe: the source read and decoded
    once, then per copy a seeded Generator, one warp (hflip folded in), one colour matrix, the PNG
    encode, a temp file renamed: no plan, manifest, ops or rows."""
    import math

    import cv2
    import numpy as np

    src, dsts = args
    with open(src, "rb") as f:
        img = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_UNCHANGED)
    h, w = img.shape[:2]
    for k, dst in enumerate(dsts):
        rng = np.random.default_rng((1 << 62) + k)
        flip = -1.0 if rng.random() < 0.5 else 1.0
        t = math.radians(-20 + 40 * rng.random())
        c, s = math.cos(t), math.sin(t)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        M = np.array([[c * flip, s, cx - c * flip * cx - s * cy], [-s * flip, c, cy + s * flip * cx - c * cy]])
        out = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        m = np.eye(3, 4, dtype=np.float32) * np.float32(0.8 + 0.4 * rng.random())
        out = cv2.transform(out, m, dst=out)
        data = cv2.imencode(".png", out)[1].tobytes()
        tmp = f"{dst}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.write(fd, data)
        os.close(fd)
        os.replace(tmp, dst)
    return len(dsts)


def bare_main(src: str, out: str, copies: int) -> None:
    """The bare loop (_bare_job) as its own command, one task per source, 2 processes."""
    import multiprocessing as mp

    import cv2

    cv2.setNumThreads(0)
    files = sorted(Path(src).rglob("*.png"))
    os.makedirs(out, exist_ok=True)
    jobs = [(str(f), [os.path.join(out, f"{f.stem}__aug{k}.png") for k in range(copies)]) for f in files]
    with mp.get_context("fork").Pool(2) as pool:
        n = sum(pool.imap_unordered(_bare_job, jobs, chunksize=16))
    assert n == len(files) * copies


def floor_main(src: str, out: str, copies: int) -> None:
    """The plain loop, run as its own command: every source read and written `copies` times."""
    import multiprocessing as mp

    import cv2

    cv2.setNumThreads(0)
    files = sorted(Path(src).rglob("*.png"))
    os.makedirs(out, exist_ok=True)
    jobs = [(str(f), os.path.join(out, f"{f.stem}_{k}.png")) for f in files for k in range(copies)]
    with mp.get_context("fork").Pool(2) as pool:
        n = sum(pool.imap_unordered(_floor_job, jobs, chunksize=64))
    assert n == len(jobs)


def tiny_places(a) -> list[tuple[str, Path]]:
    """Where the tiny outputs go: this disk, and a tmpfs (/dev/shm) when there is one, where
    writing a file costs no disk work: what is left there is the CPU of each command."""
    places = [("disk", DATA / "tiny_runs")]
    if "shm" in a.tiny_on and os.path.isdir("/dev/shm"):
        places.append(("shm", Path("/dev/shm") / f"augcli_bench_{os.getpid()}"))
    return [p for p in places if p[0] in a.tiny_on]


def bench_tiny(a, recipe: Path) -> None:
    """Each round writes into new folders, removed only at the end: on ext4 without a journal,
    a file created within ~1-6 minutes of mass deletes pays for a scan of the freed inodes
    (ialloc.c's recently_deleted; measured 0.1-0.4 ms a file here), whichever command runs next."""
    src = tree(a.tiny, copies_of_files=True)
    n_out = a.tiny * a.copies
    for where, base in tiny_places(a):
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        try:
            rounds = []
            for i in range(a.repeat):
                runs = {"floor": lambda: command([sys.executable, str(Path(__file__).resolve()), "--floor", src,
                                                  base / f"floor{i}", str(a.copies)]),
                        "augcli": lambda: command(augcli_cmd(src, base / f"augcli{i}", "--recipe", recipe, "--copies",
                                                             a.copies, "--no-originals", "--workers", 2)),
                        "bare": lambda: command([sys.executable, str(Path(__file__).resolve()), "--bare", src,
                                                 base / f"bare{i}", str(a.copies)])}
                order = list(runs) if i % 2 == 0 else list(runs)[::-1]
                got = {k: runs[k]() for k in order}
                rounds.append(got)
                print(f"  {where} round {i + 1}: floor {n_out / got['floor']['wall']:,.0f} files/s, augcli "
                      f"{n_out / got['augcli']['wall']:,.0f} files/s", flush=True)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        print(f"(tiny, {where}) {a.tiny:,} 32x32 PNGs x {a.copies} copies = {n_out:,} PNGs written, 2 processes:")
        for k in ("floor", "bare", "augcli"):
            print(f"  {k:<6}: {show([n_out / r[k]['wall'] for r in rounds], '{:,.0f}')} files/s, "
                  f"{show([1000 * r[k]['cpu'] / n_out for r in rounds], '{:.3f}')} ms CPU per output")
        print(f"  augcli / floor files/s: {show([r['floor']['wall'] / r['augcli']['wall'] for r in rounds])} "
              f"(target >= 0.5); bare / floor: {show([r['floor']['wall'] / r['bare']['wall'] for r in rounds])}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] in ("--floor", "--bare"):
        return (floor_main if sys.argv[1] == "--floor" else bare_main)(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, nargs="+", default=[100_000, 1_000_000], help="dry-run sizes")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--real", type=int, nargs="+", default=[2_500, 25_000], help="real-run source counts")
    ap.add_argument("--fill", action="store_true", help="resume: make the first 90%% of the outputs as hard "
                    "links with their manifest rows instead of running and stopping the run")
    ap.add_argument("--tiny", type=int, default=5_000, help="32x32 PNG sources of the throughput test")
    ap.add_argument("--tiny-on", default="disk,shm", help="tiny: where the outputs go (disk, shm: /dev/shm)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="dry,real,resume,tiny")
    ap.add_argument("--tree", type=Path, default=ROOT, help="run the augcli package found in this folder")
    a = ap.parse_args()
    global TREE
    TREE = a.tree.resolve()
    DATA.mkdir(parents=True, exist_ok=True)
    from bench_image import cached_bytecode  # every command with its bytecode cached, as installed

    cached_bytecode(HERE / ".data")
    if TREE != ROOT:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(TREE / "augcli")], check=True)
    recipe = DATA / "recipe.yaml"
    recipe.write_text(RECIPE)
    only = set(a.only.split(","))
    print(f"augcli scale benchmark: {os.cpu_count()} cores, {a.repeat} rounds")
    for name, fn in (("dry", bench_dry), ("real", bench_real), ("resume", bench_resume), ("tiny", bench_tiny)):
        if name in only:
            fn(a) if name == "dry" else fn(a, recipe)


if __name__ == "__main__":
    main()
