"""The manifest of an OUTPUT on an object store (fsspec URL), which has neither append nor rename.

The journal is a series of parts, each one PUT whole (OUTPUT/.augcli/journal/RUN-N.csv: rows of
files already written), every FLUSH_ROWS rows or FLUSH_SECONDS; the end PUTs manifest.csv in plan
order, then deletes the parts. A resume reads manifest.csv and every part, and one listing of
OUTPUT tells which files are there. A client killed between two parts loses at most their rows:
those files are made again, with the same bytes, under the same names.

Rows are never held in memory: manifest.csv and the parts are read a block at a time, gathered in
a local temp file for the sort into plan order (manifest.in_plan_order, on the mapped file), and
manifest.csv is uploaded from a local temp file.
"""
from __future__ import annotations

import io
import mmap
import os
import shutil
import tempfile
import time

from .manifest import COLUMNS, NAME, Manifest


class RemoteManifest(Manifest):
    FLUSH_ROWS, FLUSH_SECONDS = 1000, 1.0

    def __init__(self, out_dir, index):
        super().__init__(out_dir, index)
        self.journal = out_dir / ".augcli" / "journal"
        self._run = f"{int(time.time() * 1000):x}-{os.getpid()}"
        self._parts: list = []  # the parts read at resume and written by this run
        self._pending: list[str] = []
        self._last = time.monotonic()

    def _sources(self) -> list:
        """manifest.csv, then the journal parts (found at resume: deleted once the rows are kept)."""
        if not self._parts:
            self._parts = [self.journal / name for name in sorted(self.journal.files())]
        return [self.path, *self._parts]

    def _lines(self):
        """The lines of manifest.csv and of every part, a block at a time, our header first."""
        first = True
        for obj in self._sources():
            raw = _open(obj)
            if raw is None:
                continue
            with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as f:
                for ln in f:
                    if first and not ln.startswith(COLUMNS[0]):
                        yield self._line(dict(zip(COLUMNS, COLUMNS)))
                    first = False
                    if not ln.endswith("\n"):  # a last line cut short
                        break
                    yield ln

    def _on_disk(self):
        there = self.out_dir.files()
        return there.__contains__

    def open(self) -> None:
        self._last = time.monotonic()

    def append(self, rows: list) -> None:
        lines = [r.line for r in rows]
        self._pending.extend(lines)
        self._appended(lines)
        if len(self._pending) >= self.FLUSH_ROWS or time.monotonic() - self._last >= self.FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            part = self.journal / f"{self._run}-{len(self._parts):06d}.csv"
            part.put("".join(self._pending).encode())
            self._parts.append(part)
            self._pending = []
        self._last = time.monotonic()

    def close(self) -> None:
        self._flush()

    def finish(self) -> None:
        """PUT manifest.csv in plan order: its kept rows and this run's parts, copied into a local
        temp file a block at a time and sorted from there."""
        self.close()
        header = [self._line(dict(zip(COLUMNS, COLUMNS)))]
        with tempfile.TemporaryDirectory(prefix="augcli-manifest-") as tmp:
            journal = os.path.join(tmp, "journal.csv")
            with open(journal, "w+b") as f:
                for obj in [self.path, *self._parts]:
                    src = _open(obj)
                    if src is not None:
                        with src:
                            shutil.copyfileobj(src, f, 1 << 22)
                        _whole_lines(f)
                if f.tell() == 0:
                    return self._write(header)
                f.flush()
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    self._write(header, self.in_plan_order(data))

    def _write(self, *parts) -> None:
        """manifest.csv uploaded whole from a local temp file the lines are written to; then the
        journal parts it holds are deleted."""
        with tempfile.TemporaryDirectory(prefix="augcli-manifest-") as tmp:
            local = os.path.join(tmp, NAME)
            with open(local, "w", encoding="utf-8", newline="") as f:
                for lines in parts:
                    f.writelines(lines)
            self.path.upload(local)
        for part in self._parts:
            part.unlink(missing_ok=True)
        self._parts = []


def _open(obj):
    """The object opened for reading (one request: no existence check first), or None when it is
    not there (manifest.csv before a run's end)."""
    try:
        return obj.open_read()
    except FileNotFoundError:
        return None


def _whole_lines(f) -> None:
    """Cut what was just copied into f back to its last newline (a last line cut short)."""
    end = f.tell()
    pos = end
    while pos > 0:
        step = min(1 << 16, pos)
        f.seek(pos - step)
        i = f.read(step).rfind(b"\n")
        if i >= 0:
            pos = pos - step + i + 1
            break
        pos -= step
    if pos != end:
        f.seek(pos)
        f.truncate()
    f.seek(pos)


def open_manifest(out_dir, index) -> Manifest:
    """The manifest of OUTPUT: a local file, or a RemoteManifest on an object store."""
    return (RemoteManifest if hasattr(out_dir, "put") else Manifest)(out_dir, index)
