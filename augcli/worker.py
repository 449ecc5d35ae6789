"""What a worker process does with one job: load the source once, make each output's bytes through
the modality's worker object, write them atomically, and return the manifest rows (manifest.Row: the CSV line made here).

A disk failure on the output (full, read-only, no permission) is raised, not recorded: the run
stops (runner.py says so in one line); any other failure of one output is its `failed` row.
"""
from __future__ import annotations

import os

from .errors import Dropped, is_disk_error
from .executors import quiet_worker
from .io import atomic_write
from .manifest import Row, make_row
from .plan import Job, Output
from .seeds import output_key
from .sources import suffix
from .storage import configure, discard, fetch, is_url, location

_W: dict = {}


def init_worker(cfg, out_dir: str, modality) -> None:
    """Once per worker process: the modality's set-up and worker object."""
    quiet_worker()
    configure(getattr(cfg, "storage_options", None))
    modality.worker_setup()
    out = location(out_dir)
    # a local OUTPUT as a string: the per-output path work is string joins, not pathlib (~30 us)
    _W.update(cfg=cfg, out=out if hasattr(out, "put") else str(out), kind=modality.worker(cfg), made=set())


def one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    plain = ("ImageReadError", "AudioReadError", "TextDecodeError", "ValueError", "LabelError")
    return msg if type(e).__name__ in plain else f"{type(e).__name__}: {msg}"


def _local_partner(o: Output, fetched: list) -> Output:
    """The output with its mix partner(s) fetched to local temp files when they are remote."""
    mix = o.mix
    if not mix or not any(is_url(p.get("partner_path")) for p in [mix, *mix.get("partners", ())]):
        return o

    def local(d: dict) -> dict:
        if not is_url(d.get("partner_path")):
            return d
        fetched.append(fetch(d["partner_path"]))
        return {**d, "partner_path": fetched[-1]}

    mix = local(mix)
    if "partners" in mix:
        mix["partners"] = [local(p) for p in mix["partners"]]
    return Output(o.path, o.copy, o.seed, mix, o.cls)


def run_job(job: Job) -> list[Row]:
    """The job's rows; a remote source (and mix partner) is read from a local temp copy."""
    if not is_url(job.src):
        return _run_job(job, job.src)
    try:
        src = fetch(job.src)
    except Exception as e:  # noqa: BLE001 - a source that cannot be read: its rows say why
        return [make_row(o.path, job.source, job.label, job.split, o.copy, o.seed, None, "failed", one_line(e))
                for o in job.list_outputs()]
    try:
        return _run_job(job, src)
    finally:
        discard(src)


def _run_job(job: Job, src: str) -> list[Row]:
    out = _W["out"]
    kind, made = _W["kind"], _W["made"]
    source, label, split = job.source, job.label, job.split

    def row(o: Output, status="ok", ops=None, error="") -> Row:
        return make_row(o.path, source, label, split, o.copy, o.seed, ops, status, error)

    outputs = job.list_outputs()  # a plan's job run in the parent (one worker) keeps none
    try:
        state = kind.load(src)
    except Exception as e:  # noqa: BLE001 - every failure becomes a manifest row
        return [row(o, "failed", error=one_line(e)) for o in outputs]
    rows = []
    local, keyed = isinstance(out, str), getattr(kind, "OUTPUT_KEY", True)
    for o in outputs:
        dst = f"{out}/{o.path}" if local else out / o.path
        ext, key = suffix(o.path), output_key(o.path) if keyed else 0
        fetched: list[str] = []
        try:
            if o.copy is None:
                data, ops = kind.original(state, src, ext, key)
            else:
                data, ops = kind.augment(state, job, _local_partner(o, fetched), ext, key)
        except Dropped as e:
            rows.append(row(o, "dropped", error=str(e)))
            continue
        except Exception as e:  # noqa: BLE001
            rows.append(row(o, "failed", error=one_line(e)))
            continue
        finally:
            for f in fetched:
                discard(f)
        try:
            folder = dst.rpartition("/")[0] if local else dst.parent
            if folder not in made:  # a folder made once per run and worker, not once per file
                if local:
                    os.makedirs(folder, exist_ok=True)
                else:
                    folder.mkdir(parents=True, exist_ok=True)
                made.add(folder)
            atomic_write(dst, data)
        except OSError as e:
            if is_disk_error(e):  # the output's device, not this file: the run stops (the parent says so)
                raise OSError(e.errno, e.strerror, str(dst)) from None
            rows.append(row(o, "failed", error=one_line(e)))
            continue
        rows.append(row(o, ops=ops))
    return rows
