"""What a worker does with one chunk of a text table: read its records from the chunk's offset,
write the originals, augmented rows, val rows and manifest rows as part files (atomically) into
OUTPUT/.augcli/parts/, then the chunk's `.json` marker: a chunk with a marker is done."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from ..executors import quiet_worker
from ..io import atomic_write
from ..io.text import RecordReader, RecordWriter
from ..manifest import row_values
from ..seeds import copy_seed
from .plan import ADDED, TablePlan

_T: dict = {}


def init_chunks(cfg, plan: TablePlan, parts: str) -> None:
    """Once per worker process: the plan, the parts folder and the text pipeline."""
    quiet_worker()
    from ..storage import configure, location
    from ..transforms.text import OPS_JSON, Pipeline, unique_copy

    configure(getattr(cfg, "storage_options", None))
    _T.update(cfg=cfg, plan=plan, parts=location(parts), ops_json=OPS_JSON, unique_copy=unique_copy,
              pipeline=Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode))


class _Parts:
    """One chunk's outputs as they are made: rows per part file, manifest rows without their path
    (known only when the parts are joined), their kinds (o/a/v/d) and ends, and the counts."""

    def __init__(self, fmt: str, cols: list):
        self.orig, self.aug, self.val = (RecordWriter(fmt, cols) for _ in range(3))
        self.man = io.StringIO()
        self.mw = csv.writer(self.man, lineterminator="\n")
        self.kinds, self.ends, self.stats = [], [], Counter()

    def row(self, kind, source, label, split, copy=None, seed=None, ops=None, status="ok", error="", ops_json=None):
        self.mw.writerow(row_values(source, label, split, copy, seed, ops, status, error, ops_json))
        self.kinds.append(kind)
        self.ends.append(self.man.tell())

    def save(self, parts: Path, idx: int) -> None:
        for suffix, w in (("orig", self.orig), ("aug", self.aug), ("val", self.val)):
            atomic_write(parts / f"{idx:07d}.{suffix}", w.take())
        atomic_write(parts / f"{idx:07d}.manifest", self.man.getvalue().encode("utf-8"))
        marker = {**self.stats, "kinds": "".join(self.kinds), "ends": self.ends}
        atomic_write(parts / f"{idx:07d}.json", json.dumps(marker).encode())  # the chunk is done


def run_chunk(chunk) -> dict:
    cfg, plan = _T["cfg"], _T["plan"]
    idx, offset, line, first, n = chunk
    fmt, header = plan.fmt, plan.header
    out = _Parts(fmt, header + list(ADDED))
    ti = header.index(cfg.text_column) if fmt != "jsonl" else None
    ii = header.index(cfg.id_column) if fmt != "jsonl" and cfg.id_column else None
    name = str(cfg.input).rstrip("/").rsplit("/", 1)[-1]
    rd = RecordReader(cfg.input, fmt, cfg.encoding, offset, line)
    try:
        for k, (_, _, rec) in enumerate(rd.records()):
            if k == n:
                break
            g = first + k
            code = plan.codes[g]
            label = plan.labels[code] if code >= 0 else ""
            source = f"{name}:{g}"
            if fmt == "jsonl":
                text = rec[cfg.text_column]
                aug_of = rec.get(cfg.id_column, g) if cfg.id_column else g
                orig = {**rec, "aug_of": None, "ops": None}
            else:
                text = rec[ti]
                aug_of = rec[ii] if ii is not None else g
                orig = rec + ["", ""]
            if plan.val[g]:
                out.val.write(orig)
                out.row("v", source, label, "val")
                out.stats["val"] += 1
                continue
            if not cfg.no_originals:
                out.orig.write(orig)
                out.row("o", source, label, "train")
                out.stats["orig"] += 1
            if plan.copies[g]:
                _copies(out, cfg, rec, text, ti, aug_of, source, label, plan.copies[g])
    finally:
        rd.close()
    out.save(_T["parts"], idx)
    return {"idx": idx, **out.stats}


def _copies(out: _Parts, cfg, rec, text: str, ti, aug_of, source: str, label: str, nc: int) -> None:
    """A record's augmented copies (each unlike the text and its siblings, or dropped)."""
    pipe, OPS_JSON, unique_copy = _T["pipeline"], _T["ops_json"], _T["unique_copy"]  # imported once per worker
    doc = pipe.parse(text)
    seen: set = set()
    for c in range(nc):
        seed = copy_seed(cfg.seed, source, c)
        new, ops, err = unique_copy(pipe, doc, text, seen, seed, cfg.max_tries)
        if new is None:
            out.row("d", source, label, "train", c, seed, None, "dropped", err)
            out.stats["dropped"] += 1
            continue
        seen.add(new)
        ops_json = OPS_JSON(ops)
        if ti is None:
            out.aug.write({**rec, cfg.text_column: new, "aug_of": aug_of, "ops": ops})
        else:
            row = list(rec)
            row[ti] = new
            out.aug.write(row + [aug_of, ops_json])
        out.row("a", source, label, "train", c, seed, ops, ops_json=ops_json)
        out.stats["aug"] += 1
