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
    from ..transforms.text import Pipeline

    _T.update(cfg=cfg, plan=plan, parts=Path(parts),
              pipeline=Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode))


def run_chunk(chunk) -> dict:
    from ..transforms.text import OPS_JSON, unique_copy

    cfg = _T["cfg"]
    plan: TablePlan = _T["plan"]
    pipe = _T["pipeline"]
    idx, offset, line, first, n = chunk
    fmt, header = plan.fmt, plan.header
    cols = header + list(ADDED)
    w_orig, w_aug, w_val = (RecordWriter(fmt, cols) for _ in range(3))
    man = io.StringIO()  # manifest rows without their path (known only when the parts are joined)
    mw = csv.writer(man, lineterminator="\n")
    kinds, ends = [], []

    def mrow(kind, source, label, split, copy=None, seed=None, ops=None, status="ok", error="", ops_json=None):
        mw.writerow(row_values(source, label, split, copy, seed, ops, status, error, ops_json))
        kinds.append(kind)
        ends.append(man.tell())

    ti = header.index(cfg.text_column) if fmt != "jsonl" else None
    ii = header.index(cfg.id_column) if fmt != "jsonl" and cfg.id_column else None
    name = Path(cfg.input).name
    stats = Counter()
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
                w_val.write(orig)
                mrow("v", source, label, "val")
                stats["val"] += 1
                continue
            if not cfg.no_originals:
                w_orig.write(orig)
                mrow("o", source, label, "train")
                stats["orig"] += 1
            nc = plan.copies[g]
            if not nc:
                continue
            doc = pipe.parse(text)
            seen: set = set()
            for c in range(nc):
                seed = copy_seed(cfg.seed, source, c)
                new, ops, err = unique_copy(pipe, doc, text, seen, seed, cfg.max_tries)
                if new is None:
                    mrow("d", source, label, "train", c, seed, None, "dropped", err)
                    stats["dropped"] += 1
                    continue
                seen.add(new)
                ops_json = OPS_JSON(ops)
                if fmt == "jsonl":
                    w_aug.write({**rec, cfg.text_column: new, "aug_of": aug_of, "ops": ops})
                else:
                    row = list(rec)
                    row[ti] = new
                    w_aug.write(row + [aug_of, ops_json])
                mrow("a", source, label, "train", c, seed, ops, ops_json=ops_json)
                stats["aug"] += 1
    finally:
        rd.close()
    parts = _T["parts"]
    for suffix, w in (("orig", w_orig), ("aug", w_aug), ("val", w_val)):
        atomic_write(parts / f"{idx:07d}.{suffix}", w.take())
    atomic_write(parts / f"{idx:07d}.manifest", man.getvalue().encode("utf-8"))
    marker = {**stats, "kinds": "".join(kinds), "ends": ends}
    atomic_write(parts / f"{idx:07d}.json", json.dumps(marker).encode())  # the chunk is done
    return {"idx": idx, **stats}
