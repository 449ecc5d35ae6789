"""Cluster benchmark: the same image run on the local process pool and on a Dask cluster.

    python benchmarks/bench_cluster.py [--n 300] [--repeat 3] [--workers 2] [--scheduler local]

Whole commands, as a user runs them (start-up included), alternated in every round (odd rounds
in reverse order):
(p) `augcli run` with the example recipe's six steps, one copy per photo, `--workers 2` (the
    local pool, `--scheduler processes`);
(d) the same with `--scheduler local --workers 2` (a LocalCluster of 2 processes started for
    the run; or `--scheduler tcp://HOST:PORT` to time a running cluster);
(p1), (d1) both on one photo per worker: the fixed cost of a command (starting the workers, for
    (d) the cluster, and stopping them);
(t) (d) with one photo per task instead of augcli's batches, through the Python API: the
    scheduler's cost per task = ((t) - (d)) / (tasks of (t) - tasks of (d)).
Reported: d/p (wall time), the same without each path's fixed cost, CPU time of all the
processes of each command (the cluster's workers included), the cost per task and its share of
the work at augcli's batch size. Needs the dask extra (pip install 'augcli[dask]').
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_image import TRANSFORMS, make_photos  # noqa: E402

API_RUN = """import sys, augcli
from augcli.dask_executor import DaskExecutor
recipe, photos, out, scheduler, workers, batch = sys.argv[1:]
cfg = augcli.Recipe.from_yaml(recipe, input=photos, output=out, workers=int(workers))
ex = DaskExecutor(scheduler, int(workers), quiet=True, batch=int(batch))
assert augcli.run(cfg, executor=ex).exit_code == 0
"""


CPU: dict = {}  # the last command's CPU seconds (user + system, all its processes: the workers too)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    c0, t0 = _cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    CPU["last"] = _cpu() - c0
    return time.perf_counter() - t0


def augcli(recipe: Path, photos: Path, out: Path, *extra: str) -> float:
    return timed([sys.executable, "-m", "augcli", "run", str(recipe), "--input", str(photos), "--output", str(out),
                  "--quiet", *extra], out)


def per_task(recipe: Path, photos: Path, out: Path, scheduler: str, workers: int) -> float:
    return timed([sys.executable, "-c", API_RUN, str(recipe), str(photos), str(out), scheduler, str(workers), "1"], out)


def tasks_of(n_jobs: int, workers: int) -> int:
    """The tasks augcli makes for n_jobs on `workers` (dask_executor.batch_sizes)."""
    from augcli.dask_executor import batch_sizes
    from augcli.filework import FileWork

    return len(batch_sizes(n_jobs, workers, FileWork.chunksize(n_jobs, workers)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default="local", help="local, or tcp://HOST:PORT of a running cluster")
    a = ap.parse_args()
    work = HERE / ".data"
    photos = make_photos(work / f"photos{a.n}", a.n)
    n = sum(1 for p in photos.rglob("*.jpg"))
    one = work / "one_copy.yaml"
    one.write_text("modality: image\ncopies: 1\nno_originals: true\nseed: 1\n" + TRANSFORMS)
    single = work / f"photos_one_per_worker{a.workers}"  # every worker starts and makes one
    if not single.exists():
        (single / "a").mkdir(parents=True)
        for f in sorted(photos.rglob("*.jpg"))[: a.workers]:
            shutil.copy(f, single / "a" / f.name)
    w, s = str(a.workers), a.scheduler
    dw = ["--workers", w] if s == "local" else []  # tcp://: the cluster's workers
    k = tasks_of(n, a.workers)
    print(f"{n} photos, {a.workers} workers, scheduler {s}: {k} tasks of {n / k:.1f} photos on average "
          f"(per-task run: {n} tasks); {a.repeat} interleaved rounds", flush=True)
    rounds = []
    for _ in range(a.repeat):
        runs = [("p", lambda: augcli(one, photos, work / "out_p", "--workers", w)),
                ("d", lambda: augcli(one, photos, work / "out_d", *dw, "--scheduler", s)),
                ("t", lambda: per_task(one, photos, work / "out_t", s, a.workers)),
                ("p1", lambda: augcli(one, single, work / "out_p1", "--workers", w)),
                ("d1", lambda: augcli(one, single, work / "out_d1", *dw, "--scheduler", s))]
        r = {}
        for key, f in (runs if len(rounds) % 2 == 0 else runs[::-1]):
            r[key], r["cpu_" + key] = f(), CPU["last"]
        rounds.append(r)
        print(f"  round {len(rounds)}: processes {r['p']:.2f} s, dask {r['d']:.2f} s (d/p {r['d'] / r['p']:.3f}), "
              f"per-task {r['t']:.2f} s; fixed: processes {r['p1']:.2f} s, dask {r['d1']:.2f} s", flush=True)
    if (work / "out_p" / "manifest.csv").read_bytes() != (work / "out_d" / "manifest.csv").read_bytes():
        print("WARNING: the two manifests differ")

    def show(f, fmt="{:.3f}"):
        v = [f(r) for r in rounds]
        return f"{fmt.format(statistics.median(v))} (rounds: {fmt.format(min(v))}-{fmt.format(max(v))})"

    cost = lambda r: (r["t"] - r["d"]) / max(1, n - k)  # noqa: E731 - wall seconds each extra task adds
    print(f"(p) processes: {show(lambda r: r['p'], '{:.2f}')} s   (d) {s}: {show(lambda r: r['d'], '{:.2f}')} s")
    print(f"    d/p, whole commands               : {show(lambda r: r['d'] / r['p'])}")
    print(f"    fixed cost (1 photo per worker)   : processes {show(lambda r: r['p1'], '{:.2f}')} s, "
          f"{s} {show(lambda r: r['d1'], '{:.2f}')} s")
    print(f"    d/p without the fixed costs       : {show(lambda r: (r['d'] - r['d1']) / (r['p'] - r['p1']))}")
    if s != "local":
        print("    CPU time: not measured (the cluster's processes are not this command's children)")
    else:
        print(f"    CPU seconds, all processes        : processes {show(lambda r: r['cpu_p'], '{:.2f}')}, "
              f"{s} {show(lambda r: r['cpu_d'], '{:.2f}')}; fixed (1 photo per worker): processes "
              f"{show(lambda r: r['cpu_p1'], '{:.2f}')}, {s} {show(lambda r: r['cpu_d1'], '{:.2f}')}")
        print(f"    CPU d/p without the fixed costs   : "
              f"{show(lambda r: (r['cpu_d'] - r['cpu_d1']) / (r['cpu_p'] - r['cpu_p1']))}")
    print(f"    wall time a task adds             : {show(lambda r: 1000 * cost(r), '{:.1f}')} ms "
          f"(one photo per task: {show(lambda r: r['t'], '{:.2f}')} s)")
    print(f"    tasks' share of the run, {k} tasks : "
          f"{show(lambda r: 100 * k * cost(r) / (r['d'] - r['d1']), '{:.2f}')} %   (target < 5 %); "
          f"one photo per task: {show(lambda r: 100 * n * cost(r) / (r['t'] - r['d1']), '{:.1f}')} %")


if __name__ == "__main__":
    main()
