"""Plans jobs (input, outputs, per-copy seeds) in the parent and runs them in a process pool.

One job per source file: the source is decoded once and all its outputs (original and copies)
are written from that one decode. Each copy's seed comes from the run seed and the copy's
identity (source path, copy number), never from the order of execution, so outputs are
byte-identical with any worker count. Progress, resume and error collection live here.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import OutputDiskError, UsageError, disk_message, is_disk_error
from .io import atomic_write
from .manifest import Manifest
from .outdir import MARKER, clean_temp, locked, prepare_output  # noqa: F401 - MARKER re-exported
from .recipe import Config
from .seeds import balance_seed, balance_shares as _shares, copy_seed, output_key, stable_hash, val_seed  # noqa: F401
from .sources import Item, check_output, deduplicate_names, discover_csv, discover_folder, label_dir



@dataclass
class Output:
    path: str  # relative to OUTPUT
    copy: int | None  # None: the original
    seed: int | None
    mix: dict | None = None  # a mix step's draws for this copy (transforms/mix.py)


@dataclass
class Job:
    src: str
    source: str
    label: str | None
    split: str
    outputs: list[Output] = field(default_factory=list)


@dataclass
class Plan:
    jobs: list[Job]
    counts: dict  # (split, label) -> {"originals": n, "augmented": n}
    warnings: list[str]
    fingerprint: str

    @property
    def n_outputs(self) -> int:
        return sum(len(j.outputs) for j in self.jobs)


def _mixing(cfg: Config, items: list[Item], split: dict):
    """The position of the recipe's mix step and the training partners (None, None without)."""
    if cfg.modality not in ("image", "audio"):
        return None, None
    from .transforms.mix import Candidate, Partners

    at = next((i for i, (n, _) in enumerate(cfg.transforms) if n in ("mixup", "cutmix")), None)
    if at is None:
        return None, None
    train = [Candidate(it.path, it.source, it.label) for it in items if split[it.source] == "train"]
    return at, Partners(train)


def discover(cfg: Config) -> tuple[list[Item], list[str]]:
    from .modality import kind_of

    EXTENSIONS = kind_of(cfg.modality).extensions()

    if cfg.csv:
        root = Path(cfg.root) if cfg.root else None
        items = discover_csv(Path(cfg.csv), cfg.path_column, cfg.label_column, root)
        if cfg.output:
            check_output(root or Path(cfg.csv).parent, Path(cfg.output))
        return items, []
    root = Path(cfg.input)
    if cfg.modality == "text" and not root.exists():
        raise UsageError(f"{root}: input not found; allowed: a CSV/TSV/JSONL table or a folder of .txt files")
    items, warnings = discover_folder(root, EXTENSIONS)
    if cfg.output:
        check_output(root, Path(cfg.output))
    return items, warnings


def _split(items: list[Item], cfg: Config) -> dict[str, str]:
    """Stratified, seed-determined hold-out: round(f * n) originals of each class go to val."""
    import numpy as np

    split = {it.source: "train" for it in items}
    if cfg.val_split <= 0:
        return split
    by_class = defaultdict(list)
    for it in items:
        by_class[it.label].append(it.source)
    for label, sources in by_class.items():
        sources.sort()
        n_val = int(math.floor(cfg.val_split * len(sources) + 0.5))
        rng = np.random.default_rng(val_seed(cfg.seed, label))
        for i in rng.permutation(len(sources))[:n_val]:
            split[sources[i]] = "val"
    return split


def balance_shares(sizes: dict, cfg: Config, warnings: list, pick) -> dict:
    return _shares(sizes, cfg.copies, not cfg.no_originals, cfg.target_per_class, warnings, pick)


def make_plan(items: list[Item], cfg: Config, warnings: list[str] | None = None) -> Plan:
    import numpy as np

    from .modality import kind_of

    output_ext = kind_of(cfg.modality).output_ext
    warnings = list(warnings or [])
    ext_of = lambda it: output_ext(PurePosixPath(it.source).suffix, cfg.format)  # noqa: E731
    items = deduplicate_names(sorted(items, key=lambda it: it.source), ext_of)
    split = _split(items, cfg)
    keep_orig = not cfg.no_originals
    train = defaultdict(list)
    for it in items:
        if split[it.source] == "train":
            train[it.label].append(it)

    n_copies: dict[str, int] = {}
    if cfg.balance and train:
        def pick(label, n, k):
            return np.random.default_rng(balance_seed(cfg.seed, label)).permutation(n)[:k].tolist()

        shares = balance_shares({label: len(its) for label, its in train.items()}, cfg, warnings, pick)
        for label, (base, lucky) in shares.items():
            lucky = set(lucky)
            for i, it in enumerate(train[label]):
                n_copies[it.source] = base + (1 if i in lucky else 0)
    else:
        for its in train.values():
            for it in its:
                n_copies[it.source] = cfg.copies

    mix_at, partners = _mixing(cfg, items, split)
    jobs, counts = [], defaultdict(lambda: {"originals": 0, "augmented": 0})
    for it in items:
        s = split[it.source]
        ext = ext_of(it)
        job = Job(it.path, it.source, it.label, s)
        if s == "val" or keep_orig:
            job.outputs.append(Output(f"{s}/{it.out_key}{ext}", None, None))
            counts[(s, it.label)]["originals"] += 1
        for k in range(n_copies.get(it.source, 0)):
            seed = copy_seed(cfg.seed, it.source, k)
            key, mix, where = it.out_key, None, it.label
            if mix_at is not None:
                from .transforms.mix import decide, dominant

                name, step_cfg = cfg.transforms[mix_at]
                mix = decide(name, step_cfg, seed, mix_at, it.source, it.label, partners)
                where = dominant(mix, it.label)
                if where != it.label:  # under the partner's class, named after its source
                    key = f"{label_dir(where)}/mix__{it.out_key.replace('/', '__')}"
            job.outputs.append(Output(f"{s}/{key}__aug{k}{ext}", k, seed, mix))
            counts[(s, where)]["augmented"] += 1
        if job.outputs:
            jobs.append(job)
    if mix_at is not None:
        seen = Counter(o.path for j in jobs for o in j.outputs)
        dup = [p for p, n in seen.items() if n > 1]
        if dup:
            raise UsageError(f"output name {dup[0]!r} would be written twice (an input named like a mixed "
                             "output, mix__...); rename that input")
    finger = {
        "modality": cfg.modality, "seed": cfg.seed, "copies": cfg.copies, "balance": cfg.balance,
        "target_per_class": cfg.target_per_class, "val_split": cfg.val_split, "no_originals": cfg.no_originals,
        "format": cfg.format, "quality": cfg.quality, "rescale": cfg.rescale, "transforms": cfg.transforms,
        "sample_rate": cfg.sample_rate, "clip": cfg.clip,
        "inputs": [(it.source, it.label) for it in items],
    }
    if cfg.modality == "image":  # outputs differ with and without the planar JPEG codec
        from .io.image import planar_available

        finger["jpeg_planes"] = planar_available()
    fp = hashlib.sha256(json.dumps(finger, sort_keys=True, default=str).encode()).hexdigest()
    return Plan(jobs, dict(counts), warnings, fp)


# --------------------------------------------------------------------------------------------
# workers
# --------------------------------------------------------------------------------------------
_W: dict = {}


def _init_worker(cfg: Config, out_dir: str) -> None:
    _quiet_worker(cfg.modality)
    from .modality import kind_of

    _W.update(cfg=cfg, out=Path(out_dir), kind=kind_of(cfg.modality)(cfg))


def _start_pool(workers: int, initializer, initargs):
    """A process pool; fork on Linux (the parent has not imported cv2, so forking is safe and fast)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    return ctx.Pool(workers, initializer=initializer, initargs=initargs)


class _Silent:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def progress(total: int, unit: str, quiet: bool):
    """A tqdm bar on stderr (only when it may show: tqdm costs ~40 ms of imports)."""
    if quiet or total == 0:  # nothing left to do: no bar
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar


@contextlib.contextmanager
def pooled(workers: int, initializer, initargs, fn, todo, chunksize: int = 1):
    """Results of fn over todo (in completion order), in `workers` processes, or in this one.
    Ctrl-C terminates the workers at once; otherwise they are closed and joined."""
    if workers <= 1:
        initializer(*initargs)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        yield map(fn, todo)
        return
    pool = _start_pool(workers, initializer, initargs)
    try:
        yield pool.imap_unordered(fn, todo, chunksize=chunksize)
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    pool.close()
    pool.join()


def _reuse_heap() -> None:
    """Let glibc keep freed image-sized blocks for reuse instead of returning them to the kernel.

    By default glibc serves many photo-sized buffers (decoded, warped, encoded) with fresh mmaps
    that the kernel zeroes page by page and takes back when they are freed: measured 3.3x the
    page faults (42.6k vs 12.9k for 160 photos) and ~4% of an image job's time. Fixed mmap and
    trim thresholds keep those blocks in the heap for reuse; memory stays bounded by the images
    in flight, not by the dataset. A no-op off glibc."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols include libc's
    except (OSError, AttributeError):  # e.g. musl has no mallopt
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 64 << 20)  # blocks up to 64 MB (a 21-megapixel RGB image) from the heap
    mallopt(m_trim_threshold, 128 << 20)


def _quiet_worker(modality: str = "image") -> None:
    """Worker set-up shared by every pool: Ctrl-C is the parent's to handle; one thread per process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if modality == "image":
        import cv2

        cv2.setNumThreads(0)
        _reuse_heap()


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    plain = ("ImageReadError", "AudioReadError", "TextDecodeError", "ValueError")
    return msg if type(e).__name__ in plain else f"{type(e).__name__}: {msg}"


def mix_columns(label, ops) -> dict:
    """mix_source, mix_label, mix_lambda and soft_label (JSON class -> weight, summing to 1)."""
    from .transforms.mix import soft_label

    m = next((op for op in ops or [] if op.get("name") in ("mixup", "cutmix") and "lambda" in op), None)
    if m is None:
        soft = {} if label is None or ops is None else {label: 1.0}
        return {"mix_source": "", "mix_label": "", "mix_lambda": "", "soft_label": json.dumps(soft) if soft else ""}
    soft = soft_label(label, m["partner_label"], m["lambda"])
    return {"mix_source": m["partner"], "mix_label": "" if m["partner_label"] is None else m["partner_label"],
            "mix_lambda": round(m["lambda"], 6), "soft_label": json.dumps(soft, ensure_ascii=False) if soft else ""}


def run_job(job: Job) -> list[dict]:
    from .modality import Dropped

    out: Path = _W["out"]
    kind = _W["kind"]
    base = {"source": job.source, "label": "" if job.label is None else job.label, "split": job.split}

    def row(o: Output, status="ok", ops=None, error=""):
        return {**base, "path": o.path, "augmented": 0 if o.copy is None else 1,
                "copy": "" if o.copy is None else o.copy, "seed": "" if o.seed is None else o.seed,
                "ops": json.dumps(ops or [], separators=(",", ":")), "status": status, "error": error,
                **mix_columns(job.label, ops if status == "ok" else None)}

    try:
        state = kind.load(job.src)
    except Exception as e:  # noqa: BLE001 - every failure becomes a manifest row
        return [row(o, "failed", error=_one_line(e)) for o in job.outputs]
    rows = []
    for o in job.outputs:
        dst = out / o.path
        key = output_key(o.path)
        try:
            if o.copy is None:
                data, ops = kind.original(state, job.src, dst.suffix, key)
            else:
                data, ops = kind.augment(state, job, o, dst.suffix, key)
        except Dropped as e:
            rows.append(row(o, "dropped", error=str(e)))
            continue
        except Exception as e:  # noqa: BLE001
            rows.append(row(o, "failed", error=_one_line(e)))
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dst, data)
        except OSError as e:
            if is_disk_error(e):  # the output's device, not this file: the run stops (the parent says so)
                raise OSError(e.errno, e.strerror, str(dst)) from None
            rows.append(row(o, "failed", error=_one_line(e)))
            continue
        rows.append(row(o, ops=ops))
    return rows


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def print_plan(plan: Plan, cfg: Config, file=sys.stdout) -> None:
    n_sources = getattr(plan, "n_sources", len(plan.jobs))
    print(f"plan: {n_sources} sources -> {plan.n_outputs} outputs in {cfg.output}", file=file)
    print(f"  {'split':<6} {'class':<24} {'originals':>9} {'augmented':>9} {'total':>7}", file=file)
    for (s, label), c in sorted(plan.counts.items(), key=lambda kv: (kv[0][0] != "train", str(kv[0][1]))):
        name = "(no label)" if label is None else label
        print(f"  {s:<6} {name:<24} {c['originals']:>9} {c['augmented']:>9} {c['originals'] + c['augmented']:>7}",
              file=file)


@dataclass
class Result:
    written: int = 0
    skipped: int = 0
    dropped: int = 0
    failed: list = field(default_factory=list)
    per_class: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)


def run(cfg: Config, quiet: bool = False) -> Result:
    if cfg.modality == "tabular":
        from . import tabular

        tabular.run(cfg, quiet)
        return Result()
    if cfg.modality == "text" and cfg.input and not cfg.csv and Path(cfg.input).is_file():
        from . import texttable

        return texttable.run(cfg, quiet)
    items, warnings = discover(cfg)
    plan = make_plan(items, cfg, warnings)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        from .modality import kind_of

        raise UsageError(f"{cfg.csv or cfg.input}: no {kind_of(cfg.modality).noun} found "
                         f"(looked for {', '.join(sorted(kind_of(cfg.modality).extensions()))})")
    if cfg.dry_run:
        print_plan(plan, cfg)
        return Result()
    out = Path(cfg.output)
    with locked(out):
        res = _run_locked(cfg, plan, out, quiet)
    if not quiet:
        print_summary(res, plan, out)
    return res


def _run_locked(cfg: Config, plan: Plan, out: Path, quiet: bool) -> Result:
    prepare_output(cfg, plan)
    clean_temp(out)
    order = {o.path: (i, "" if o.seed is None else str(o.seed))
             for i, o in enumerate(o for j in plan.jobs for o in j.outputs)}
    manifest = Manifest(out, order)
    try:
        done = manifest.resume()
    except OSError as e:
        if is_disk_error(e):
            raise OutputDiskError(disk_message(out, e, 0)) from None
        raise
    if manifest.damaged:
        print(f"warning: {out / 'manifest.csv'}: {manifest.damaged} damaged or foreign rows left out; "
              "their files are made again", file=sys.stderr)
    todo = []
    for job in plan.jobs:
        left = [o for o in job.outputs if o.path not in done]
        if left:
            todo.append(Job(job.src, job.source, job.label, job.split, left))
    res = Result(skipped=sum(len(j.outputs) for j in plan.jobs) - sum(len(j.outputs) for j in todo))
    t0 = time.perf_counter()
    try:
        _execute(cfg, out, todo, manifest, res, quiet)
    except KeyboardInterrupt:
        res.interrupted = True
    except OSError as e:
        if not is_disk_error(e):
            raise
        manifest.close()
        with contextlib.suppress(OSError):
            manifest.finish()
        raise OutputDiskError(disk_message(out, e, res.written)) from None
    res.seconds = time.perf_counter() - t0
    try:
        manifest.finish()
    except OSError as e:  # the journal, whole, stays; the next run puts it in order
        if not is_disk_error(e):
            raise
        raise OutputDiskError(disk_message(out, e, res.written)) from None
    return res


def _execute(cfg: Config, out: Path, todo: list, manifest: Manifest, res: Result, quiet: bool) -> None:
    """Run the jobs left in the pool, appending their rows to the manifest as they come."""
    n_todo = sum(len(j.outputs) for j in todo)
    workers = max(1, min(cfg.n_workers(), len(todo)))
    manifest.open()
    try:
        # a few jobs per message once there are many: ~25% less parent CPU (taken from the workers)
        chunk = max(1, min(4, len(todo) // (workers * 32)))
        with pooled(workers, _init_worker, (cfg, str(out)), run_job, todo, chunksize=chunk) as results:
            with progress(n_todo, "file", quiet) as bar:
                for rows in results:
                    manifest.append(rows)
                    for r in rows:
                        if r["status"] == "ok":
                            res.written += 1
                            res.per_class[(r["split"], _folder_class(r))] += 1
                        elif r["status"] == "dropped":
                            res.dropped += 1
                        else:
                            res.failed.append((r["source"], r["path"], r["error"]))
                    bar.update(len(rows))
    finally:
        manifest.close()


def _folder_class(r: dict) -> str:
    """The class a written file counts for: its label, or for a mixed file the dominant one."""
    if r.get("mix_source") and r.get("soft_label"):
        soft = json.loads(r["soft_label"])
        return max(sorted(soft), key=soft.get)
    return r["label"]


def print_summary(res: Result, plan: Plan, out: Path, file=sys.stdout, unit: str = "files") -> None:
    rate = res.written / res.seconds if res.seconds > 0 else 0.0
    state = "INTERRUPTED, run the same command again to resume" if res.interrupted else "done"
    dropped = f", {res.dropped} dropped (duplicates, see the manifest)" if res.dropped else ""
    print(f"augcli {state}: {res.written} written, {res.skipped} already done, {len(res.failed)} failed{dropped} "
          f"in {res.seconds:.1f} s ({rate:.1f} {unit}/s)", file=file)
    if res.written:
        print(f"  {'split':<6} {'class':<24} {'written':>8}", file=file)
        for (s, label), n in sorted(res.per_class.items()):
            print(f"  {s:<6} {label or '(no label)':<24} {n:>8}", file=file)
    if res.failed:
        by_source = {}
        for source, _, err in res.failed:
            by_source.setdefault(source, err)
        print(f"failed ({len(res.failed)} files from {len(by_source)} sources):", file=file)
        for source, err in list(by_source.items())[:20]:
            print(f"  {source}: {err}", file=file)
        if len(by_source) > 20:
            print(f"  ... and {len(by_source) - 20} more (see the manifest)", file=file)
    print(f"manifest: {out / 'manifest.csv'}", file=file)


# --------------------------------------------------------------------------------------------
# stats
# --------------------------------------------------------------------------------------------
def _stats_job(path: str):
    import numpy as np

    from .io.image import read_image
    from .transforms.image import maxval

    try:
        img, _, _ = read_image(path, _W.get("max_pixels", 100_000_000))
    except Exception as e:  # noqa: BLE001
        return path, None, _one_line(e)
    if img.ndim == 2:
        img = img[:, :, None].repeat(3, axis=2)
    x = img[:, :, :3][:, :, ::-1].reshape(-1, 3).astype(np.float64) / maxval(img)
    n = x.shape[0]
    return path, (n, x.sum(axis=0), np.square(x).sum(axis=0), str(img.dtype)), ""


def _init_stats(max_pixels):
    _quiet_worker()
    _W["max_pixels"] = max_pixels


def stats(cfg: Config) -> dict:
    """Per-channel (R, G, B) mean and std over every pixel of the dataset, on the 0-1 scale."""
    import numpy as np

    items, warnings = discover(cfg)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        raise UsageError(f"{cfg.csv or cfg.input}: no image files found")
    n, s, s2, failed, dtypes = 0, np.zeros(3), np.zeros(3), [], Counter()
    paths = [it.path for it in items]
    workers = max(1, min(cfg.n_workers(), len(paths)))
    with pooled(workers, _init_stats, (cfg.max_pixels,), _stats_job, paths, chunksize=4) as results:
        for path, r, err in results:
            if r is None:
                failed.append((path, err))
                continue
            n += r[0]
            s += r[1]
            s2 += r[2]
            dtypes[r[3]] += 1
    mean = s / max(n, 1)
    std = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0))
    return {"images": len(items) - len(failed), "pixels": int(n), "mean": mean.round(6).tolist(),
            "std": std.round(6).tolist(), "dtypes": dict(dtypes), "failed": failed}
