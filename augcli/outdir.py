"""The output folder: who owns it, who is writing it, and what a run finds there.

- `locked(out)`: an exclusive lock (OUTPUT/.augcli/lock, see lock.py) held for the whole run, so
  that two runs into one folder never mix; a second run exits 2 naming the holder.
- `prepare_output(cfg, plan)`: refuses a folder augcli did not write, or one holding a run with
  other settings (unless --overwrite, which only ever clears a folder augcli wrote), and records
  the run's settings in OUTPUT/.augcli/run.json.
- `clean_temp(out)`: removes the hidden temp files a killed run left.
Disk failures (full, read-only, no permission) become one line and exit 3 (errors.OutputDiskError).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from .errors import OutputDiskError, UsageError, disk_message, is_disk_error
from .io import TMP_MARK, atomic_write
from .lock import OutputLock, RemoteLock

MARKER = ".augcli"
LOCK = "lock"


def _contents(out: Path) -> list[Path]:
    """What is in OUTPUT, the lock file (and a .augcli folder holding only it) left out."""
    items = []
    for p in out.iterdir():
        if p.name == MARKER and p.is_dir():
            inner = [q for q in p.iterdir() if q.name != LOCK]
            if not inner:
                continue
        items.append(p)
    return items


def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: output exists and is not a folder")
    foreign = out.is_dir() and any(p.name != MARKER for p in out.iterdir())  # .augcli alone: a run starting
    if foreign and not (out / MARKER / "run.json").is_file():
        raise UsageError(f"{out}: output folder is not empty and was not written by augcli; "
                         "refusing to write into it or delete it (choose an empty or new folder)")


@contextlib.contextmanager
def locked(out: Path):
    """Hold OUTPUT's lock for the block (checked for a foreign folder before anything is created)."""
    _refuse_foreign(out)
    lock = (RemoteLock if hasattr(out, "put") else OutputLock)(out / MARKER / LOCK, out)
    try:
        lock.acquire()
    except OSError as e:
        if is_disk_error(e):
            raise OutputDiskError(disk_message(out, e, 0)) from None
        raise
    try:
        yield lock
    finally:
        lock.release()


def _clear(out: Path) -> None:
    """--overwrite: delete everything augcli wrote in OUTPUT, except the lock this run holds."""
    for p in out.iterdir():
        if p.name == MARKER and p.is_dir():
            for q in p.iterdir():
                if q.name != LOCK:
                    _remove(q)
        else:
            _remove(p)


def _remove(p) -> None:
    """A file or a whole folder (a remote one: every object under its prefix)."""
    if hasattr(p, "remove_tree"):
        p.remove_tree()
    elif p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink()


def prepare_output(cfg, plan, extra: dict | None = None) -> Path:
    """Refuse, clear (--overwrite) or accept OUTPUT for this plan; record the run in run.json (+ `extra`)."""
    from .storage import location

    out = location(cfg.output)
    try:
        return _prepare(cfg, plan, out, extra)
    except OSError as e:
        if is_disk_error(e):
            raise OutputDiskError(disk_message(out, e, 0)) from None
        raise


def _prepare(cfg, plan, out: Path, extra: dict | None) -> Path:
    marker = out / MARKER / "run.json"
    _refuse_foreign(out)
    if out.is_dir() and _contents(out):
        if cfg.overwrite:
            _clear(out)
        else:
            try:
                old = json.loads(marker.read_text())
            except (OSError, ValueError):
                old = {}
            if old.get("fingerprint") != plan.fingerprint:
                raise UsageError(f"{out}: holds a run made with other settings or other input files; "
                                 "use --overwrite to replace it, or choose another output folder")
    (out / MARKER).mkdir(parents=True, exist_ok=True)
    info = {"fingerprint": plan.fingerprint, "modality": cfg.modality, "planned": plan.n_outputs,
            "config": {k: sorted(v) if isinstance(v, (set, frozenset)) else v  # (the same text every run)
                       for k, v in cfg.to_dict().items() if k not in ("transforms",)}}
    info.update(extra or {})  # e.g. image: jpeg_planes (JPEG -> JPEG jobs on YCbCr planes, README)
    atomic_write(marker, json.dumps(info, indent=2, default=str).encode())
    return out


def clean_temp(out: Path) -> None:
    if hasattr(out, "put"):  # an object store: a file is one PUT, never a temp file
        return
    for path in _temp_files(str(out)):
        try:
            os.unlink(path)
        except OSError:
            pass


def _temp_files(top: str) -> list[str]:
    """The temp files under top (symlinked folders not followed), found by streaming each folder's
    entries: os.walk lists every name of a folder at once (a folder of 100,000 outputs: ~7 MB)."""
    found, folders = [], [top]
    while folders:
        try:
            with os.scandir(folders.pop()) as it:
                for e in it:
                    if e.name.startswith(".") and TMP_MARK in e.name and e.is_file(follow_symlinks=False):
                        found.append(e.path)
                    elif e.is_dir(follow_symlinks=False):
                        folders.append(e.path)
        except OSError:
            continue
    return found
