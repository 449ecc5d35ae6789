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
import functools
import io
import json
import mmap
import os
from array import array
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

from .io import TMP_MARK
from .journal import NOWHERE, Bits, _in_order, _Runs, in_plan_order  # noqa: F401 (in_plan_order: imported from here too)

COLUMNS = ["path", "source", "label", "split", "augmented", "copy", "seed", "ops", "status", "error",
           "mix_source", "mix_label", "mix_lambda", "soft_label"]
NAME = "manifest.csv"


OPS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, reused


def _ops_json():
    """OPS_JSON without JSONEncoder.encode's Python layers (a C encoder made per call; ~2.5 us of
    the worker's per-output ~150 in the loop): the C encoder it makes, made once, with no circular
    check (ops are plain JSON trees). The same text (tests/test_worker_fast_paths.py); the Python
    encoder where the C one is missing."""
    from json import encoder

    if encoder.c_make_encoder is None:
        return OPS_JSON

    def default(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    c = encoder.c_make_encoder(None, default, encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda ops: "".join(c(ops, 0))


OPS_JSON = _ops_json()
SOFT_JSON = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=4096)
def _one_hot(label: str) -> str:
    """The soft_label of an unmixed labelled row (one per class, made once)."""
    return SOFT_JSON({label: 1.0})


def row_values(source: str, label, split: str, copy, seed, ops, status: str = "ok", error: str = "",
               ops_json: str | None = None) -> list:
    """The values of one manifest row after `path`, in COLUMNS order: the one place a row is made
    (file jobs and text-table chunks alike). `label` None (or "") for unlabelled data, `copy` and
    `seed` None for an original, `ops` the steps applied (None when the output failed or was
    dropped); `ops_json` when the caller has already encoded them."""
    ok = status == "ok"
    if ops_json is None:
        ops_json = OPS_JSON(ops or [])
    m = None  # a mix op
    if ok and ops:
        for op in ops:
            if "lambda" in op and "partner" in op:
                m = op
                break
    if m is None:
        mix = ["", "", "", _one_hot(label) if label and ok else ""]
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


class _Echo:
    """A file whose write returns what it is given: csv.writer's writerow then returns the line."""

    @staticmethod
    def write(line: str) -> str:
        return line


class _Lines:
    """Rows as CSV text, one line each, the bytes csv.DictWriter(COLUMNS, restval="",
    extrasaction="ignore") writes: a run keeps its rows as these lines (~0.2 KB), not dicts (~1.5 KB)."""

    def __init__(self):
        self.values = csv.writer(_Echo(), lineterminator="\n").writerow  # a row's values in COLUMNS order

    def __call__(self, row: dict) -> str:
        return self.values([row.get(c, "") for c in COLUMNS])


class Row(NamedTuple):
    """A manifest row as a worker returns it: its CSV line, and the fields the parent reads."""

    path: str
    status: str
    split: str
    label: str  # "" for unlabelled data
    source: str
    error: str
    line: str  # the CSV line (_Lines)


_LINE = _Lines()


def make_row(path: str, source: str, label, split: str, copy, seed, ops, status: str = "ok",
             error: str = "") -> Row:
    """The Row of one output (row_values' fields, path first, as one CSV line)."""
    values = [path, *row_values(source, label, split, copy, seed, ops, status, error)]
    return Row(path, status, split, values[2], source, error, _LINE.values(values))


def row_of(row: dict) -> Row:
    """The Row of a manifest row given as a dict of COLUMNS (missing ones empty)."""
    return Row(row["path"], row["status"], row["split"], row.get("label") or "", row["source"],
               row.get("error", ""), _LINE(row))


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


STATUSES = ("ok", "failed", "dropped")


class Manifest:
    """The journal of a run: rows appended as files are written (so a killed run keeps them), then
    rewritten whole in plan order when the run ends, so that it is the same bytes whatever the
    worker count. `index` (planindex.PlanIndex): a planned output's position and seed from its
    path (built only when a row's position is not given: at resume). What stays in memory is two
    bits per planned output (`done`, and `rows.seen`) and where the runs of rows are, not the rows."""

    def __init__(self, out_dir: Path, index):
        self.out_dir = out_dir
        self.path = out_dir / NAME
        self.index = index
        self.done = Bits(len(index))  # the positions of the outputs a kept or appended row holds
        self.rows = _Runs(len(index))  # where in the journal the rows are, by position (for `finish`)
        self._fresh = array("q")  # the positions of the rows `fresh` let through last
        self._line = _Lines()
        self.damaged = 0
        self._f = None

    def resume(self) -> int:
        """Keep the rows of files that are really on disk (status ok) and of dropped copies; drop
        failed rows (those jobs run again), rows whose file is missing, rows of outputs this plan
        does not make or with another seed, and damaged rows (their files are made again, with the
        same bytes). Rewrites the journal atomically to match (in plan order when the run ends).
        Returns the number of rows kept; `done` marks their outputs."""
        on_disk, locate, done, kept = self._on_disk(), self.index.locate, self.done, [0]
        header = self._line(dict(zip(COLUMNS, COLUMNS)))
        self.rows.reset(len(header.encode("utf-8")))

        def keep():
            for row, line in self._rows():
                got = locate(row[0])
                if got is None or row[6] != got[1]:
                    self.damaged += 1
                elif not done[got[0]] and ((row[8] == "ok" and on_disk(row[0])) or row[8] == "dropped"):
                    done.add(got[0])  # a dropped copy is deterministic: it would be dropped again
                    kept[0] += 1
                    self.rows.add(got[0], line)
                    yield line

        self._write([header], keep())
        return kept[0]

    def _rows(self):
        """(fields, line as written) of the journal's well-formed rows, read one at a time; damaged
        or foreign rows counted in `damaged`. A row is re-encoded unless the header is ours."""
        got: list[str] = []

        def lines():
            for ln in self._lines():
                got.append(ln)
                yield ln

        reader = csv.reader(lines())
        try:
            header = next(reader, None)
            if header is None:
                return
            if header[:10] != COLUMNS[:10]:
                self.damaged += sum(1 for r in reader if r)
                return
            ours = header == COLUMNS
            got.clear()
            for row in reader:
                line = "".join(got) if ours else None
                got.clear()
                if not row:  # a blank line
                    continue
                if len(row) > len(header) or len(row) < 10 or not row[0] or row[8] not in STATUSES:
                    self.damaged += 1
                    continue
                yield row, line if ours else self._line(dict(zip(header, row)))
        except csv.Error:
            self.damaged += 1

    def _lines(self):
        """The journal's complete lines (a last one cut short by a crash is left out); lines
        holding NUL bytes (blocks of a file cut or overwritten) are counted as damaged."""
        try:
            f = open(self.path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        with f:
            for ln in f:
                if not ln.endswith("\n"):
                    return
                if "\x00" in ln:
                    self.damaged += 1
                    continue
                yield ln

    def _on_disk(self):
        """A test of whether an output (path relative to OUTPUT) is there: one os.scandir per
        folder (the last 4 folders' names kept), not a stat per row."""
        folders: OrderedDict[str, set] = OrderedDict()

        def there(rel: str) -> bool:
            d, _, name = rel.rpartition("/")
            names = folders.get(d)
            if names is None:
                try:
                    with os.scandir(self.out_dir / d if d else self.out_dir) as it:
                        names = {e.name for e in it if e.is_file()}
                except OSError:
                    names = set()
                folders[d] = names
                if len(folders) > 4:
                    folders.popitem(last=False)
            return name in names

        return there

    def fresh(self, rows: list[Row], start: int | None = None) -> list[Row]:
        """The rows whose output has no row yet (a retried unit may report one again), marked.
        `start`: the rows are a whole job's, from the plan's position `start` on (else each row's
        position is found from its path)."""
        out, self._fresh, done = [], array("q"), self.done
        for k, r in enumerate(rows):
            if start is not None:
                pos = start + k
            else:
                got = self.index.locate(r.path, False)
                pos = NOWHERE if got is None else got[0]
            if pos == NOWHERE or not done[pos]:
                if pos != NOWHERE:
                    done.add(pos)
                out.append(r)
                self._fresh.append(pos)
        return out

    def _appended(self, lines: list[str]) -> None:
        """Record where the rows just written are (those `fresh` let through, if these are them)."""
        if len(self._fresh) == len(lines):
            for pos, line in zip(self._fresh, lines):
                self.rows.add(pos, line)
        else:  # rows not from `fresh`: `finish` locates every row again
            self.rows.known = False
        self._fresh = array("q")

    def open(self) -> None:
        self._f = open(self.path, "a", newline="", encoding="utf-8")
        if self._f.tell() == 0:  # a new journal
            header = self._line(dict(zip(COLUMNS, COLUMNS)))
            self._f.write(header)
            self._f.flush()
            self.rows.reset(len(header.encode("utf-8")))
        if os.fstat(self._f.fileno()).st_size != self.rows.end:  # (a journal resume did not write)
            self.rows.known = False

    def append(self, rows: list[Row]) -> None:
        """Append whole rows; on a write error (a full disk) the file is cut back to whole rows."""
        at = self._f.tell()
        lines = [r.line for r in rows]
        try:
            self._f.write("".join(lines))
            self._f.flush()
        except OSError:
            with contextlib.suppress(OSError):
                self._f.truncate(at)
            self._f = None  # the buffer may hold part of a row: never write it
            raise
        self._appended(lines)

    def close(self) -> None:
        if self._f:
            with contextlib.suppress(OSError):
                self._f.close()
            self._f = None

    def finish(self) -> None:
        """Rewrite the manifest atomically, in plan order (the journal stays if this fails)."""
        self.close()
        header = [self._line(dict(zip(COLUMNS, COLUMNS)))]
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return self._write(header)
        with f:
            if os.fstat(f.fileno()).st_size == 0:
                return self._write(header)
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                self._write(header, self.in_plan_order(data))

    def in_plan_order(self, data):
        """The journal's records (`data`: its bytes, header first) in plan order: from where the
        run recorded them when the journal is the bytes it wrote, else by locating every row."""
        if self.rows.known and len(data) == self.rows.end:
            return _in_order(data, self.rows)
        return in_plan_order(data, self.index.locate, len(self.index))

    def _write(self, *parts) -> None:
        _write_lines(self.path, *parts)


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
