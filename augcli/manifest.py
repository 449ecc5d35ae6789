"""OUTPUT/manifest.csv: one row per output file, appended as jobs finish.

Columns: path (relative to OUTPUT), source (relative to INPUT), label, split, augmented (0/1),
copy, seed (the job's seed: `numpy.random.default_rng(seed)` replays the copy), ops (JSON list
of the steps applied with their sampled parameters), status (ok/failed/dropped), error, and for
mixing steps mix_source, mix_label, mix_lambda and soft_label (JSON class -> weight, sums to 1;
{label: 1} for unmixed labelled rows).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .io import atomic_write

COLUMNS = ["path", "source", "label", "split", "augmented", "copy", "seed", "ops", "status", "error",
           "mix_source", "mix_label", "mix_lambda", "soft_label"]
NAME = "manifest.csv"


def read_rows(path: Path) -> list[dict]:
    """All complete rows; a last line cut short by a crash is ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return [r for r in csv.DictReader(io.StringIO(text, newline="")) if r.get("status") in ("ok", "failed", "dropped")]


class Manifest:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.path = out_dir / NAME
        self._f = None
        self._w = None

    def resume(self) -> dict[str, dict]:
        """Keep the rows of files that are really on disk (status ok); drop failed rows (those jobs
        run again) and rows whose file is missing. Rewrites the manifest atomically to match."""
        kept: dict[str, dict] = {}
        for r in read_rows(self.path):
            if (r["status"] == "ok" and (self.out_dir / r["path"]).is_file()) or r["status"] == "dropped":
                kept[r["path"]] = r  # a dropped copy is deterministic: it would be dropped again
        buf = io.StringIO()
        w = csv.DictWriter(buf, COLUMNS, lineterminator="\n", restval="", extrasaction="ignore")
        w.writeheader()
        w.writerows(kept.values())
        atomic_write(self.path, buf.getvalue().encode("utf-8"))
        return kept

    def open(self) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f = open(self.path, "a", newline="", encoding="utf-8")
        self._w = csv.DictWriter(self._f, COLUMNS, lineterminator="\n", restval="", extrasaction="ignore")
        if new:
            self._w.writeheader()
            self._f.flush()

    def append(self, rows: list[dict]) -> None:
        self._w.writerows(rows)
        self._f.flush()

    def close(self) -> None:
        if self._f:
            self._f.close()
            self._f = None


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
