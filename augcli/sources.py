"""Discovering inputs: class-per-subfolder, flat folders and CSV listings; labels and output names."""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import UsageError


@dataclass(frozen=True)
class Item:
    path: str  # absolute path of the input file
    source: str  # path relative to the input root (posix), as the manifest shows it
    label: str | None  # class name, None when the input has no labels
    out_key: str  # output path within a split, without extension, e.g. "cat/img001"


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def label_dir(label: str) -> str:
    """A class name as a folder name: path separators and control characters become '_'."""
    d = _UNSAFE.sub("_", label).strip()
    return "_" if d in ("", ".", "..") else d


def _walk(root: Path, exts: set[str]):
    """Files under root with an accepted extension, hidden files and folders skipped, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts:
                out.append(Path(dirpath) / f)
    return sorted(out)


def check_output(input_root: Path, output: Path) -> None:
    i, o = input_root.resolve(), output.resolve()
    if o == i or i in o.parents:
        raise UsageError(f"{output}: the output folder is inside the input folder {input_root}; "
                         "choose an output outside it (outputs would be read back as inputs)")
    if o in i.parents:
        raise UsageError(f"{output}: the output folder contains the input folder {input_root}; "
                         "choose an output outside it (--overwrite could delete the input)")


def discover_folder(root: Path, exts: set[str]) -> tuple[list[Item], list[str]]:
    """Items of a class-per-subfolder or flat folder; a single file is a flat dataset of one."""
    if root.is_file():
        if root.suffix.lower() not in exts:
            raise UsageError(f"{root}: input is neither a folder nor a file this modality reads "
                             f"({', '.join(sorted(exts))})")
        return [Item(str(root), root.name, None, root.stem)], []
    if not root.is_dir():
        raise UsageError(f"{root}: input not found" if not root.exists() else f"{root}: input is not a folder")
    files = _walk(root, exts)
    rels = [PurePosixPath(p.relative_to(root).as_posix()) for p in files]
    warnings = []
    has_classes = any(len(r.parts) > 1 for r in rels)
    items = []
    if has_classes:
        top = [r for r in rels if len(r.parts) == 1]
        if top:
            warnings.append(f"{root}: {len(top)} file(s) directly in the input folder are ignored: "
                            f"the input is class-per-subfolder (e.g. {top[0]})")
        for p, r in zip(files, rels):
            if len(r.parts) > 1:
                label = r.parts[0]
                key = str(PurePosixPath(label_dir(label), *r.parts[1:-1], r.stem))
                items.append(Item(str(p), str(r), label, key))
    else:
        items = [Item(str(p), str(r), None, str(r.with_suffix(""))) for p, r in zip(files, rels)]
    return items, warnings


def discover_csv(listing: Path, path_column: str, label_column: str | None, root: Path | None) -> list[Item]:
    if not listing.is_file():
        raise UsageError(f"{listing}: CSV listing not found")
    root = (root or listing.parent).resolve()
    try:
        with open(listing, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            for c in (path_column, label_column):
                if c is not None and c not in cols:
                    raise UsageError(f"{listing}: no column {c!r}; columns are: {', '.join(cols) or '(none)'}")
            rows = list(reader)
    except UnicodeDecodeError as e:
        raise UsageError(f"{listing}: not valid UTF-8 ({e.reason} at byte {e.start})")
    except csv.Error as e:
        raise UsageError(f"{listing}: malformed CSV ({e})")
    items, seen = [], set()
    for n, row in enumerate(rows, start=2):
        raw = (row.get(path_column) or "").strip()
        if not raw:
            raise UsageError(f"{listing}: line {n}: empty {path_column!r}")
        p = Path(raw)
        full = (p if p.is_absolute() else root / p).resolve()
        if full != root and root not in full.parents:
            raise UsageError(f"{listing}: line {n}: path {raw!r} escapes the root {root}; "
                             "list files inside --root (or set --root to a folder that holds them)")
        rel = PurePosixPath(full.relative_to(root).as_posix())
        if str(rel) in seen:
            raise UsageError(f"{listing}: line {n}: {raw!r} is listed twice")
        seen.add(str(rel))
        label = None
        if label_column is not None:
            label = (row.get(label_column) or "").strip()
            if not label:
                raise UsageError(f"{listing}: line {n}: empty label in column {label_column!r}")
        key = str(PurePosixPath(label_dir(label), rel.stem)) if label is not None else rel.stem
        items.append(Item(str(full), str(rel), label, key))
    return sorted(items, key=lambda it: it.source)


def deduplicate_names(items: list[Item], ext_of) -> list[Item]:
    """Make output names unique: files whose output name would collide (a.jpg and a.png written
    as jpg, or same stems from different folders of a CSV) get their extension, then their
    source path, folded into the name. Depends only on the set of items, not on their order."""
    from collections import Counter

    def name(it, key):
        return key + ext_of(it)

    counts = Counter(name(it, it.out_key) for it in items)
    out = []
    for it in items:
        key = it.out_key
        if counts[name(it, key)] > 1:
            suffix = PurePosixPath(it.source).suffix.lstrip(".").lower()
            key = f"{key}_{suffix}" if suffix else key
        out.append((it, key))
    counts = Counter(name(it, k) for it, k in out)
    final = []
    for it, key in out:
        if counts[name(it, key)] > 1:
            parent = str(PurePosixPath(key).parent)
            flat = _UNSAFE.sub("_", it.source)
            key = flat if parent == "." else f"{parent}/{flat}"
        final.append(Item(it.path, it.source, it.label, key))
    names = Counter(name(it, it.out_key) for it in final)
    dup = [n for n, c in names.items() if c > 1]
    if dup:
        raise UsageError(f"output name {dup[0]!r} would be written by more than one input; rename one of them")
    return final
