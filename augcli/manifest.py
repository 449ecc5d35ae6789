"""OUTPUT/manifest.csv: one row per output file, appended as jobs finish.

Columns: path (relative to OUTPUT), source (relative to INPUT), label, split, augmented (0/1),
copy, seed (the job's seed: `numpy.random.default_rng(seed)` replays the copy), ops (JSON list
of the steps applied with their sampled parameters), status (ok/failed/dropped), error, and for
mixing steps mix_source, mix_label, mix_lambda and soft_label (JSON class -> weight, sums to 1;
{label: 1} for unmixed labelled rows).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from pathlib import Path

from .io import TMP_MARK

COLUMNS = ["path", "source", "label", "split", "augmented", "copy", "seed", "ops", "status", "error",
           "mix_source", "mix_label", "mix_lambda", "soft_label"]
NAME = "manifest.csv"


OPS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, reused
SOFT_JSON = json.JSONEncoder(ensure_ascii=False).encode


def row_values(source: str, label, split: str, copy, seed, ops, status: str = "ok", error: str = "",
               ops_json: str | None = None) -> list:
    """The values of one manifest row after `path`, in COLUMNS order: the one place a row is made
    (file jobs and text-table chunks alike). `label` None (or "") for unlabelled data, `copy` and
    `seed` None for an original, `ops` the steps applied (None when the output failed or was
    dropped); `ops_json` when the caller has already encoded them."""
    ok = status == "ok"
    if ops_json is None:
        ops_json = OPS_JSON(ops or [])
    m = next((op for op in ops or [] if "lambda" in op and "partner" in op), None) if ok else None  # a mix op
    if m is None:
        mix = ["", "", "", SOFT_JSON({label: 1.0}) if label and ok else ""]
    else:
        from .transforms.mix import soft_label

        soft = soft_label(label, m["partner_label"], m["lambda"])
        mix = [m["partner"], "" if m["partner_label"] is None else m["partner_label"], round(m["lambda"], 6),
               SOFT_JSON(soft) if soft else ""]
    return [source, "" if label is None else label, split, 0 if copy is None else 1, "" if copy is None else copy,
            "" if seed is None else seed, ops_json, status, error, *mix]


def _clean_text(path: Path) -> tuple[str, int]:
    """The manifest's complete lines (a last line cut short by a crash is left out) and the number
    of lines dropped as damaged (holding NUL bytes: blocks of a file cut or overwritten)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "", 0
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if "\x00" not in text:
        return text, 0
    lines = text.splitlines(keepends=True)
    good = [ln for ln in lines if "\x00" not in ln]
    return "".join(good), len(lines) - len(good)


def _parse(text: str) -> tuple[list[dict], int]:
    """Rows with every column and a known status; the number of rows that are not."""
    rows, bad = [], 0
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None:
            return [], 0
        if reader.fieldnames[: len(COLUMNS) - 4] != COLUMNS[: len(COLUMNS) - 4]:
            return [], sum(1 for _ in reader)
        for r in reader:
            if None in r or any(r.get(c) is None for c in COLUMNS[:10]) or not r["path"] \
                    or r["status"] not in ("ok", "failed", "dropped"):
                bad += 1
            else:
                rows.append(r)
    except csv.Error:
        bad += 1
    return rows, bad


def read_rows(path: Path) -> list[dict]:
    """All complete, well-formed rows; a last line cut short by a crash and damaged lines are ignored."""
    return _parse(_clean_text(path)[0])[0]


class _Lines:
    """Rows as CSV text, one line each, the bytes csv.DictWriter(COLUMNS, restval="",
    extrasaction="ignore") writes: a run keeps its rows as these lines (~0.2 KB), not dicts (~1.5 KB)."""

    def __init__(self):
        self.buf = io.StringIO()
        self.w = csv.writer(self.buf, lineterminator="\n")

    def __call__(self, row: dict) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        self.w.writerow([row.get(c, "") for c in COLUMNS])
        return self.buf.getvalue()


def _write_lines(path: Path, *parts) -> None:
    """io.atomic_write of the lines, written as they come (never the whole text in memory)."""
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for lines in parts:
                f.writelines(lines)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class Manifest:
    """The journal of a run: rows appended as files are written (so a killed run keeps them), then
    rewritten whole in plan order when the run ends, so that it is the same bytes whatever the
    worker count. `order`: planned path -> (position, seed as written in the manifest)."""

    def __init__(self, out_dir: Path, order: dict[str, tuple[int, str]]):
        self.out_dir = out_dir
        self.path = out_dir / NAME
        self.order = order
        self.rows: dict[str, str] = {}  # path -> its row, as a CSV line
        self._line = _Lines()
        self.damaged = 0
        self._f = None

    def resume(self):
        """Keep the rows of files that are really on disk (status ok) and of dropped copies; drop
        failed rows (those jobs run again), rows whose file is missing, rows of outputs this plan
        does not make or with another seed, and damaged rows (their files are made again, with the
        same bytes). Rewrites the manifest atomically to match. Returns the paths kept (a view)."""
        text, damaged = self._text()
        rows, bad = _parse(text)
        self.damaged = damaged + bad
        on_disk = self._on_disk()
        for r in rows:
            want = self.order.get(r["path"])
            if want is None or r["seed"] != want[1]:
                self.damaged += 1
            elif (r["status"] == "ok" and on_disk(r["path"])) or r["status"] == "dropped":
                self.rows[r["path"]] = self._line(r)  # a dropped copy is deterministic: it would be dropped again
        self.finish()
        return self.rows.keys()

    def _text(self) -> tuple[str, int]:
        return _clean_text(self.path)

    def _on_disk(self):
        """A test of whether an output (path relative to OUTPUT) is there."""
        return lambda rel: (self.out_dir / rel).is_file()

    def open(self) -> None:
        self._f = open(self.path, "a", newline="", encoding="utf-8")
        if self._f.tell() == 0:
            self._f.write(self._line(dict(zip(COLUMNS, COLUMNS))))
            self._f.flush()

    def append(self, rows: list[dict]) -> None:
        """Append whole rows; on a write error (a full disk) the file is cut back to whole rows."""
        at = self._f.tell()
        lines = [(r["path"], self._line(r)) for r in rows]
        try:
            self._f.write("".join(line for _, line in lines))
            self._f.flush()
        except OSError:
            with contextlib.suppress(OSError):
                self._f.truncate(at)
            self._f = None  # the buffer may hold part of a row: never write it
            raise
        self.rows.update(lines)

    def close(self) -> None:
        if self._f:
            with contextlib.suppress(OSError):
                self._f.close()
            self._f = None

    def finish(self) -> None:
        """Rewrite the manifest atomically, in plan order (the journal stays if this fails)."""
        self.close()
        end, order = (len(self.order),), self.order
        paths = sorted(self.rows, key=lambda p: order.get(p, end)[0])
        self._write([self._line(dict(zip(COLUMNS, COLUMNS)))], (self.rows[p] for p in paths))

    def _write(self, *parts) -> None:
        _write_lines(self.path, *parts)


class RemoteManifest(Manifest):
    """The manifest of an OUTPUT on an object store, which has neither append nor rename: the
    journal is a series of parts, each one PUT whole (OUTPUT/.augcli/journal/RUN-N.csv: rows of
    files already written), every FLUSH_ROWS rows or FLUSH_SECONDS; the end PUTs manifest.csv in
    plan order, then deletes the parts. A resume reads manifest.csv and every part, and one
    listing of OUTPUT tells which files are there. A client killed between two parts loses at
    most their rows: those files are made again, with the same bytes, under the same names."""

    FLUSH_ROWS, FLUSH_SECONDS = 1000, 1.0

    def __init__(self, out_dir, order: dict[str, tuple[int, str]]):
        super().__init__(out_dir, order)
        self.journal = out_dir / ".augcli" / "journal"
        self._run = f"{int(time.time() * 1000):x}-{os.getpid()}"
        self._parts: list = []  # the parts read at resume and written by this run
        self._pending: list[str] = []
        self._last = time.monotonic()

    def _text(self) -> tuple[str, int]:
        try:
            text = self.path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            text = ""
        text = text[: text.rfind("\n") + 1]
        for name in sorted(self.journal.files()):
            part = self.journal / name
            text += part.read_bytes().decode("utf-8", "replace")  # whole: each part was one PUT
            self._parts.append(part)
        if text and not text.startswith(COLUMNS[0]):
            text = self._line(dict(zip(COLUMNS, COLUMNS))) + text
        return text, 0

    def _on_disk(self):
        there = self.out_dir.files()
        return there.__contains__

    def open(self) -> None:
        self._last = time.monotonic()

    def append(self, rows: list[dict]) -> None:
        lines = [(r["path"], self._line(r)) for r in rows]
        self.rows.update(lines)
        self._pending.extend(line for _, line in lines)
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

    def _write(self, *parts) -> None:
        self.path.put("".join(line for lines in parts for line in lines).encode())
        for part in self._parts:
            part.unlink(missing_ok=True)
        self._parts = []


def open_manifest(out_dir, order: dict[str, tuple[int, str]]) -> Manifest:
    """The manifest of OUTPUT: a local file, or a RemoteManifest on an object store."""
    return (RemoteManifest if hasattr(out_dir, "put") else Manifest)(out_dir, order)


def read_soft_labels(path: str | Path, split: str = "train"):
    """(paths, class_names, matrix) from a finished run's manifest: one row per written file of
    `split` (paths relative to the manifest's folder), class_names sorted, matrix[i, j] the
    weight of class j for file i (rows sum to 1). Needs only numpy."""
    import numpy as np

    path = Path(path)
    if path.is_dir():
        path = path / NAME
    rows = [r for r in read_rows(path) if r["status"] == "ok" and r["split"] == split and r.get("soft_label")]
    import json

    softs = [json.loads(r["soft_label"]) for r in rows]
    names = sorted({c for s in softs for c in s})
    col = {c: j for j, c in enumerate(names)}
    m = np.zeros((len(rows), len(names)), dtype=np.float32)
    for i, s in enumerate(softs):
        for c, w in s.items():
            m[i, col[c]] = w
    return [r["path"] for r in rows], names, m
