"""What a worker process does with one job: load the source once, make each output's bytes through
the modality's worker object, write them atomically, and return the manifest rows.

A disk failure on the output (full, read-only, no permission) is raised, not recorded: the run
stops (runner.py says so in one line); any other failure of one output is its `failed` row.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import Dropped, is_disk_error
from .executors import quiet_worker
from .io import atomic_write
from .plan import Job, Output
from .seeds import output_key

_W: dict = {}


def init_worker(cfg, out_dir: str, modality) -> None:
    """Once per worker process: the modality's set-up and worker object."""
    quiet_worker()
    modality.worker_setup()
    _W.update(cfg=cfg, out=Path(out_dir), kind=modality.worker(cfg))


def one_line(e: BaseException) -> str:
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
        return [row(o, "failed", error=one_line(e)) for o in job.outputs]
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
            rows.append(row(o, "failed", error=one_line(e)))
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dst, data)
        except OSError as e:
            if is_disk_error(e):  # the output's device, not this file: the run stops (the parent says so)
                raise OSError(e.errno, e.strerror, str(dst)) from None
            rows.append(row(o, "failed", error=one_line(e)))
            continue
        rows.append(row(o, ops=ops))
    return rows
