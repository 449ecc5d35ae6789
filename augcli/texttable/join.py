"""Joining a finished text-table run's parts: OUTPUT/train.<ext> (originals first, then the
augmented rows), OUTPUT/val.<ext> and manifest.csv (each row given its path, train.csv#N), each
written atomically; then a record of the sizes written (done.json), by which a later run knows
the output is finished and whole."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..io import atomic_write
from ..io.text import RecordWriter
from ..manifest import COLUMNS
from ..outdir import MARKER
from .plan import ADDED, TablePlan

@contextlib.contextmanager
def _writing(dst):
    """A local file to write `dst`'s bytes into; made visible whole at the end: renamed into
    place, or (an object store) uploaded in one go (the object appears only once complete)."""
    if hasattr(dst, "upload"):
        fd, name = tempfile.mkstemp(prefix="augcli-join-")
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            dst.upload(tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return
    tmp = dst.with_name(f".{dst.name}.augtmp")
    try:
        yield tmp
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _size(p) -> int:
    return p.size() if hasattr(p, "size") else p.stat().st_size


def _join_manifest(tmp: Path, parts, stats: list, n_chunks: int, ext: str, n_orig: int) -> None:
    """manifest.csv from the chunks' rows, each given its path (train.csv#N) in join order."""
    o = a = v = 0
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(COLUMNS) + "\n")
        for i in range(n_chunks):
            text = (parts / f"{i:07d}.manifest").read_bytes().decode("utf-8")
            prev, out_rows = 0, []
            for kind, end in zip(stats[i]["kinds"], stats[i]["ends"]):
                if kind == "o":
                    path, o = f"train{ext}#{o}", o + 1
                elif kind == "a":
                    path, a = f"train{ext}#{n_orig + a}", a + 1
                elif kind == "v":
                    path, v = f"val{ext}#{v}", v + 1
                else:
                    path = ""
                out_rows.append(path + "," + text[prev:end])
                prev = end
            f.write("".join(out_rows))


def assemble(cfg, plan: TablePlan, out: Path, parts: Path, n_chunks: int) -> None:
    ext = "." + {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl"}[plan.fmt]
    cols = plan.header + list(ADDED)
    head = RecordWriter(plan.fmt, cols).header()
    stats = [json.loads((parts / f"{i:07d}.json").read_text()) for i in range(n_chunks)]
    n_orig = sum(s.get("orig", 0) for s in stats)
    n_val = sum(s.get("val", 0) for s in stats)

    def join(dst, kinds: list[str]):
        with _writing(dst) as tmp, open(tmp, "wb") as f:
            f.write(head)
            for kind in kinds:
                for i in range(n_chunks):
                    f.write((parts / f"{i:07d}.{kind}").read_bytes())  # a chunk's part: 2,000 records at most

    join(out / f"train{ext}", ["orig", "aug"])
    if n_val:
        join(out / f"val{ext}", ["val"])
    with _writing(out / "manifest.csv") as tmp:
        _join_manifest(tmp, parts, stats, n_chunks, ext, n_orig)
    names = [f"train{ext}", "manifest.csv"] + ([f"val{ext}"] if n_val else [])
    done = {"fingerprint": plan.fingerprint, "sizes": {n: _size(out / n) for n in names}}
    atomic_write(out / MARKER / DONE, json.dumps(done).encode())
    parts.remove_tree() if hasattr(parts, "remove_tree") else shutil.rmtree(parts)


DONE = "done.json"


def finished(out: Path, plan: TablePlan) -> str | None:
    """None when OUTPUT holds this plan's finished output, whole; else what is wrong with it."""
    try:
        done = json.loads((out / MARKER / DONE).read_text())
    except (OSError, ValueError):
        return "no record of a finished run"
    if done.get("fingerprint") != plan.fingerprint:
        return "made with other settings"
    for name, size in done.get("sizes", {}).items():
        try:
            if _size(out / name) != size:
                return f"{name} does not have the size it was written with"
        except OSError:
            return f"{name} is missing"
    if hasattr(out, "put"):  # an object store: objects are whole (one PUT each); no NUL scan needed
        return None
    with open(out / "manifest.csv", "rb") as f:
        while block := f.read(1 << 20):
            if b"\x00" in block:
                return "manifest.csv holds NUL bytes"
    return None
