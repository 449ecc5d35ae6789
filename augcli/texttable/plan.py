"""The plan of a text-table run: one streaming pass over the table, then the draws.

Memory: a few bytes per record (label code, val flag, copies), never the text. The val hold-out
and the balancing shares are plan.hold_out and seeds.balance_shares, as for files; a copy's seed
is seeds.copy_seed(run seed, "NAME:record", copy).
"""
from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io.text import RecordReader, table_format
from ..plan import fingerprint, hold_out
from ..seeds import balance_seed, balance_shares

CHUNK = 2000  # records per unit of work
ADDED = ("aug_of", "ops")  # the columns augcli adds


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


def _scan(cfg):
    """The one reading pass: columns checked, each record's label code, where each chunk starts."""
    path, fmt = cfg.input, table_format(cfg.input)
    from ..storage import RemotePath, is_url, reported

    if is_url(path):
        with reported(path):
            if not RemotePath(path).is_file():
                raise UsageError(f"{path}: input file not found")
    elif not os.path.isfile(path):
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
    return fmt, header, names, codes, chunks, n


def index(cfg) -> TablePlan:
    """The plan of a table run: the reading pass, then the val hold-out, the copies per record
    (balance) and the counts, with the same algorithms and seeds as a file run (plan.py, seeds.py)."""
    from ..transforms.text import PyRng

    path = cfg.input
    fmt, header, names, codes, chunks, n = _scan(cfg)
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
    groups = {name_of(c): idx for c, idx in sorted(by_class.items())}
    for i in hold_out(groups, cfg.val_split, cfg.seed, lambda s, m, k: PyRng(s).choice(m, k, replace=False)):
        val[i] = 1
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
    finger = {"modality": "text", **_identity(path),
              "seed": cfg.seed, "copies": cfg.copies, "balance": cfg.balance, "target": cfg.target_per_class,
              "val": cfg.val_split, "no_originals": cfg.no_originals, "transforms": cfg.transforms,
              "text_column": cfg.text_column, "label_column": cfg.label_column, "id_column": cfg.id_column,
              "protect": cfg.protect, "lexicon": cfg.lexicon, "lexicon_mode": cfg.lexicon_mode,
              "max_tries": cfg.max_tries, "encoding": cfg.encoding}
    return TablePlan(fmt, header, labels, codes, val, copies, [tuple(c) for c in chunks], counts, warnings,
                     fingerprint(finger))


def _identity(path: str) -> dict:
    """What tells this input table from another: path, size and modification time (at a URL: the
    object's size and ETag, or its last-modified time)."""
    from ..storage import RemotePath, is_url

    if is_url(path):
        info = RemotePath(path).info()
        return {"input": path, "size": int(info.get("size") or 0),
                "mtime": str(info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime"))}
    st = os.stat(path)
    return {"input": os.path.abspath(path), "size": st.st_size, "mtime": st.st_mtime_ns}


def plan_table(cfg) -> TablePlan:
    """Check the input and output paths, then plan (see index)."""
    if table_format(cfg.input) is None:
        raise UsageError(f"{cfg.input}: not a table augcli reads; allowed: .csv, .tsv, .jsonl files "
                         "(or a folder of .txt files)")
    from ..storage import is_url

    if is_url(cfg.input) or is_url(cfg.output):
        contains = str(cfg.input).startswith(str(cfg.output).rstrip("/") + "/")
    else:
        i, o = Path(cfg.input).resolve(), Path(cfg.output).resolve()
        contains = o == i or o in i.parents
    if contains:
        raise UsageError(f"{cfg.output}: the output folder contains the input file {cfg.input}; "
                         "choose an output folder that does not hold the input")
    return index(cfg)
