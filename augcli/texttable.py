"""Text augmentation of a table (CSV, TSV, JSONL): streamed in chunks, in a process pool.

1. One streaming pass in the parent checks the file (encoding, columns, one line-numbered error)
   and notes every record's label and where each chunk of CHUNK records starts (byte offset).
   Memory: a few bytes per record (label code, split, copies), never the text.
2. Plan: the stratified val split and the copies per record (balance) as in the file engine;
   a copy's seed is a hash of (run seed, record index, copy number).
3. Workers each read their chunk from its offset and write its part files (originals,
   augmented rows, val rows, manifest rows) atomically into OUTPUT/.augcli/parts/; a finished
   chunk has a `.json` marker, so an interrupted run resumes with the chunks left.
4. The parent joins the parts in chunk order into OUTPUT/train.<ext> (originals first, then the
   augmented rows) and OUTPUT/val.<ext>, then writes manifest.csv, each atomically.

Output rows = the input's columns unchanged, the text column replaced for augmented rows, plus
`aug_of` (the source record's id column value, or its 0-based index) and `ops` (JSON).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import signal
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .executors import LocalExecutor
from .errors import OutputDiskError, UsageError, disk_message, is_disk_error
from .io import atomic_write
from .io.text import RecordReader, RecordWriter, table_format
from .manifest import COLUMNS, row_values
from .outdir import MARKER, clean_temp, locked, prepare_output
from .runner import Result, print_plan, print_summary, progress
from .seeds import balance_seed, balance_shares, copy_seed, val_seed

CHUNK = 2000
ADDED = ("aug_of", "ops")


@dataclass
class TablePlan:
    fmt: str
    header: list[str]  # CSV/TSV columns ([] for JSONL)
    labels: list  # label names by code
    codes: array  # label code per record (-1: no label)
    val: bytearray  # 1 = record held out in val
    copies: array  # augmented copies per record
    chunks: list  # (chunk index, offset, line, first record, records)
    counts: dict
    warnings: list
    fingerprint: str

    @property
    def jobs(self):
        return self.chunks

    @property
    def n_sources(self) -> int:
        return len(self.codes)

    @property
    def n_outputs(self) -> int:
        return sum(c["originals"] + c["augmented"] for c in self.counts.values())


def _column_index(header: list[str], name: str | None, what: str, path: str) -> int | None:
    if name is None:
        return None
    if name not in header:
        raise UsageError(f"{path}: no {what} column {name!r}; columns are: {', '.join(header) or '(none)'}")
    return header.index(name)


def index(cfg) -> TablePlan:
    from .transforms.text import PyRng

    path, fmt = cfg.input, table_format(cfg.input)
    if not os.path.isfile(path):
        raise UsageError(f"{path}: input file not found")
    rd = RecordReader(path, fmt, cfg.encoding)
    try:
        header = rd.header()
        if fmt != "jsonl":
            clash = [c for c in ADDED if c in header]
            if clash:
                raise UsageError(f"{path}: already has a column {clash[0]!r}, which augcli adds; rename it")
        if fmt != "jsonl":
            _column_index(header, cfg.text_column, "text", path)
        li = _column_index(header, cfg.label_column, "label", path) if fmt != "jsonl" else None
        if fmt != "jsonl":
            _column_index(header, cfg.id_column, "id", path)
        names: dict[str, int] = {}
        codes, chunks = array("i"), []
        n = 0
        for line, offset, rec in rd.records():
            if n % CHUNK == 0:
                chunks.append([len(chunks), offset, line, n, 0])
            if fmt == "jsonl":
                if cfg.text_column not in rec:
                    raise UsageError(f"{path}: line {line}: no key {cfg.text_column!r} (the text column)")
                if not isinstance(rec[cfg.text_column], str):
                    raise UsageError(f"{path}: line {line}: {cfg.text_column!r} is not a string")
                label = rec.get(cfg.label_column) if cfg.label_column else None
                if cfg.label_column and label is None:
                    raise UsageError(f"{path}: line {line}: no label in key {cfg.label_column!r}")
                if any(k in rec for k in ADDED):
                    raise UsageError(f"{path}: line {line}: already has a key 'aug_of' or 'ops', which augcli adds")
            else:
                if len(rec) != len(header):
                    raise UsageError(f"{path}: line {line}: {len(rec)} fields, but the header has {len(header)}")
                label = rec[li] if li is not None else None
            if label is None:
                codes.append(-1)
            else:
                label = str(label)
                if label.strip() == "":
                    raise UsageError(f"{path}: line {line}: empty label in column {cfg.label_column!r}")
                codes.append(names.setdefault(label, len(names)))
            chunks[-1][4] += 1
            n += 1
    finally:
        rd.close()
    if n == 0:
        raise UsageError(f"{path}: no rows (only a header); nothing to augment")
    labels = list(names)
    if (cfg.balance or cfg.target_per_class) and not cfg.label_column:
        raise UsageError("--balance needs labels: pass --label-column")
    # per class, the record indices (4 bytes each); pure Python: numpy's import would cost more
    # start-up than these loops take on 100,000s of records
    by_class: dict[int, array] = {}
    for i, c in enumerate(codes):
        by_class.setdefault(c, array("i")).append(i)
    name_of = lambda c: labels[c] if c >= 0 else None  # noqa: E731
    val = bytearray(n)
    if cfg.val_split > 0:
        for c, idx in sorted(by_class.items()):
            n_val = int(math.floor(cfg.val_split * len(idx) + 0.5))
            rng = PyRng(val_seed(cfg.seed, name_of(c)))
            for k in rng.choice(len(idx), n_val, replace=False):
                val[idx[k]] = 1
    copies = array("i", bytes(4 * n))
    keep = not cfg.no_originals
    warnings = []
    train = {c: array("i", (i for i in idx if not val[i])) for c, idx in sorted(by_class.items())}
    if cfg.balance and train:
        def pick(label, n, k):
            return PyRng(balance_seed(cfg.seed, label)).choice(n, k, replace=False)

        sizes = {labels[c]: len(idx) for c, idx in train.items()}
        shares = balance_shares(sizes, cfg.copies, keep, cfg.target_per_class, warnings, pick)
        for label, (base, lucky) in shares.items():
            idx = train[names[label]]
            for i in idx:
                copies[i] = base
            for k in lucky:
                copies[idx[k]] += 1
    else:
        for i in range(n):
            if not val[i]:
                copies[i] = cfg.copies
    counts = {}
    for c, idx in sorted(by_class.items()):
        name = name_of(c)
        n_val = sum(val[i] for i in idx)
        if n_val:
            counts[("val", name)] = {"originals": n_val, "augmented": 0}
        t = {"originals": (len(idx) - n_val) if keep else 0, "augmented": sum(copies[i] for i in train[c])}
        if t["originals"] or t["augmented"]:
            counts[("train", name)] = t
    st = os.stat(path)
    finger = {"modality": "text", "input": os.path.abspath(path), "size": st.st_size, "mtime": st.st_mtime_ns,
              "seed": cfg.seed, "copies": cfg.copies, "balance": cfg.balance, "target": cfg.target_per_class,
              "val": cfg.val_split, "no_originals": cfg.no_originals, "transforms": cfg.transforms,
              "text_column": cfg.text_column, "label_column": cfg.label_column, "id_column": cfg.id_column,
              "protect": cfg.protect, "lexicon": cfg.lexicon, "lexicon_mode": cfg.lexicon_mode,
              "max_tries": cfg.max_tries, "encoding": cfg.encoding}
    fp = hashlib.sha256(json.dumps(finger, sort_keys=True, default=str).encode()).hexdigest()
    return TablePlan(fmt, header, labels, codes, val, copies, [tuple(c) for c in chunks], counts, warnings, fp)


# --------------------------------------------------------------------------------------------
# workers
# --------------------------------------------------------------------------------------------
_T: dict = {}


def _init(cfg, plan: TablePlan, parts: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .transforms.text import Pipeline

    _T.update(cfg=cfg, plan=plan, parts=Path(parts),
              pipeline=Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode))


def run_chunk(chunk) -> dict:
    from .transforms.text import OPS_JSON, unique_copy

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


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def _join_manifest(tmp: Path, parts: Path, stats: list, n_chunks: int, ext: str, n_orig: int) -> None:
    """manifest.csv from the chunks' rows, each given its path (train.csv#N) in join order."""
    o = a = v = 0
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(COLUMNS) + "\n")
        for i in range(n_chunks):
            with open(parts / f"{i:07d}.manifest", newline="", encoding="utf-8") as p:
                text = p.read()
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


def _assemble(cfg, plan: TablePlan, out: Path, parts: Path, n_chunks: int) -> None:
    ext = "." + {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl"}[plan.fmt]
    cols = plan.header + list(ADDED)
    head = RecordWriter(plan.fmt, cols).header()
    stats = [json.loads((parts / f"{i:07d}.json").read_text()) for i in range(n_chunks)]
    n_orig = sum(s.get("orig", 0) for s in stats)
    n_val = sum(s.get("val", 0) for s in stats)

    def join(dst: Path, kinds: list[str]):
        tmp = dst.with_name(f".{dst.name}.augtmp")
        try:
            with open(tmp, "wb") as f:
                f.write(head)
                for kind in kinds:
                    for i in range(n_chunks):
                        with open(parts / f"{i:07d}.{kind}", "rb") as p:
                            shutil.copyfileobj(p, f, 1 << 20)
            os.replace(tmp, dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    join(out / f"train{ext}", ["orig", "aug"])
    if n_val:
        join(out / f"val{ext}", ["val"])
    tmp = out / ".manifest.csv.augtmp"
    try:
        _join_manifest(tmp, parts, stats, n_chunks, ext, n_orig)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out / "manifest.csv")
    names = [f"train{ext}", "manifest.csv"] + ([f"val{ext}"] if n_val else [])
    done = {"fingerprint": plan.fingerprint, "sizes": {n: (out / n).stat().st_size for n in names}}
    atomic_write(out / MARKER / DONE, json.dumps(done).encode())
    shutil.rmtree(parts)


DONE = "done.json"


def _finished(out: Path, plan: TablePlan) -> str | None:
    """None when OUTPUT holds this plan's finished output, whole; else what is wrong with it."""
    try:
        done = json.loads((out / MARKER / DONE).read_text())
    except (OSError, ValueError):
        return "no record of a finished run"
    if done.get("fingerprint") != plan.fingerprint:
        return "made with other settings"
    for name, size in done.get("sizes", {}).items():
        try:
            if (out / name).stat().st_size != size:
                return f"{name} does not have the size it was written with"
        except OSError:
            return f"{name} is missing"
    with open(out / "manifest.csv", "rb") as f:
        while block := f.read(1 << 20):
            if b"\x00" in block:
                return "manifest.csv holds NUL bytes"
    return None


def run(cfg, quiet: bool = False) -> Result:
    if table_format(cfg.input) is None:
        raise UsageError(f"{cfg.input}: not a table augcli reads; allowed: .csv, .tsv, .jsonl files "
                         "(or a folder of .txt files)")
    i, o = Path(cfg.input).resolve(), Path(cfg.output).resolve()
    if o == i or o in i.parents:
        raise UsageError(f"{cfg.output}: the output folder contains the input file {cfg.input}; "
                         "choose an output folder that does not hold the input")
    plan = index(cfg)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if cfg.dry_run:
        print_plan(plan, cfg)
        return Result()
    out = Path(cfg.output)
    res = Result()
    with locked(out):
        try:
            _run_locked(cfg, plan, out, res, quiet)
        except KeyboardInterrupt:
            res.interrupted = True
        except OSError as e:
            if not is_disk_error(e):
                raise
            raise OutputDiskError(disk_message(out, e, res.written, "rows")) from None
    if not res.interrupted:
        for (s, label), c in plan.counts.items():
            res.per_class[(s, label or "")] = c["originals"] + c["augmented"]
        res.per_class = Counter({k: v for k, v in res.per_class.items() if v})
    if not quiet:
        print_summary(res, plan, out, unit="rows")
    return res


def _run_locked(cfg, plan: TablePlan, out: Path, res: Result, quiet: bool) -> None:
    prepare_output(cfg, plan)
    parts = out / MARKER / "parts"
    if not parts.exists() and (out / "manifest.csv").exists():
        wrong = _finished(out, plan)
        if wrong is None:
            res.skipped = plan.n_outputs
            return
        print(f"warning: {out}: the finished output is damaged ({wrong}); making it again", file=sys.stderr)
        for name in os.listdir(out):
            if name != MARKER:
                os.unlink(out / name)
    (out / MARKER / DONE).unlink(missing_ok=True)
    parts.mkdir(parents=True, exist_ok=True)
    clean_temp(out)
    todo = [c for c in plan.chunks if not (parts / f"{c[0]:07d}.json").exists()]
    for c in plan.chunks:
        if c not in todo:
            s = json.loads((parts / f"{c[0]:07d}.json").read_text())
            res.skipped += s.get("orig", 0) + s.get("aug", 0) + s.get("val", 0)
    workers = max(1, min(cfg.n_workers(), len(todo)))
    t0 = time.perf_counter()
    try:
        with LocalExecutor(workers).map_unordered(run_chunk, todo, _init, (cfg, plan, str(parts))) as results:
            with progress(sum(c[4] for c in todo), "rec", quiet) as bar:
                for s in results:
                    res.written += s.get("orig", 0) + s.get("aug", 0) + s.get("val", 0)
                    res.dropped += s.get("dropped", 0)
                    bar.update(plan.chunks[s["idx"]][4])
        _assemble(cfg, plan, out, parts, len(plan.chunks))
    finally:
        res.seconds = time.perf_counter() - t0
