"""The output side of table oversampling: who wrote OUTPUT, whether it is finished, the summary.

Beside OUTPUT (a file) live:
- `OUTPUT.summary.json`, written last: the run's summary, with `"written_by": "augcli"`, the
  output's name, the fingerprint of the settings and input, and the table's size;
- `.OUTPUT.augcli-state.json`, written just before the finished table is renamed into place and
  removed once the summary is: the same facts, so that a run killed between the two (e.g. during
  --evaluate) is finished by the next one without making the table again;
- `.OUTPUT.augcli-lock`, held for the whole run (lock.py): two runs never write one OUTPUT.
A run finds one of: nothing (write), its own finished run (a no-op: "already done"), its own
interrupted run (finish the summary / evaluation), an augcli run with other settings (exit 2
unless --overwrite), or a file augcli did not write (exit 2 unless --force-overwrite).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io import TMP_MARK, atomic_write
from ..io.tabular import EXT, table_format

WRITTEN_BY = "augcli"


def table_format_or_none(path: str):
    try:
        return table_format(path)
    except UsageError:
        return None


def output_path(cfg, fmt_in: str) -> tuple[Path, str]:
    out = Path(cfg.output)
    # "same" keeps the input's format unless OUTPUT's own name asks for another (out.parquet)
    fmt_out = (table_format_or_none(str(out)) or fmt_in) if cfg.format in ("same", None) else cfg.format
    if out.suffix.lower() != EXT[fmt_out] and table_format_or_none(str(out)) != fmt_out:
        out = out.with_suffix(EXT[fmt_out]) if out.suffix else out.with_name(out.name + EXT[fmt_out])
    if out.resolve() == Path(cfg.input).resolve():
        raise UsageError(f"{out}: the output would overwrite the input; choose another file")
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; OUTPUT is the output table's file name (e.g. out/balanced.csv)")
    return out, fmt_out


@dataclass
class Paths:
    out: Path

    @property
    def summary(self) -> Path:
        return self.out.with_name(self.out.name + ".summary.json")

    @property
    def state(self) -> Path:
        return self.out.with_name(f".{self.out.name}.augcli-state.json")

    @property
    def lock(self) -> Path:
        return self.out.with_name(f".{self.out.name}.augcli-lock")

    @property
    def tmp(self) -> Path:
        return self.out.with_name(f".{self.out.name}{TMP_MARK}{os.getpid()}")

    def clean_stale(self) -> None:
        """Temp files of killed runs (only ever called while holding the lock)."""
        for prefix in (f".{self.out.name}{TMP_MARK}", f".{self.summary.name}{TMP_MARK}",
                       f".{self.state.name}{TMP_MARK}"):
            for stale in self.out.parent.glob(prefix + "*"):
                try:
                    stale.unlink()
                except FileNotFoundError:
                    pass


def fingerprint(settings: dict, path: str) -> str:
    """The settings that decide the table's bytes, and the input file (path, size, mtime)."""
    st = os.stat(path)
    finger = {"modality": "tabular", "input": os.path.abspath(path), "size": st.st_size, "mtime": st.st_mtime_ns,
              **settings}
    return hashlib.sha256(json.dumps(finger, sort_keys=True, default=str).encode()).hexdigest()


def _json(path: Path):
    """The JSON object in `path`; None when there is no file, {} when it is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _ours(summary: dict, out: Path) -> bool:
    """A summary augcli wrote for this output (before `written_by` existed: the same shape)."""
    if Path(str(summary.get("output", ""))).name != out.name:
        return False
    return summary.get("written_by") == WRITTEN_BY or {"classes", "rows_after", "method", "target"} <= set(summary)


@dataclass
class Existing:
    action: str  # "write" (make the table), "finish" (write the missing summary / evaluation), "done"
    base: dict | None = None  # the summary of the table on disk (finish, done)
    interrupted: bool = False  # finish: the run that wrote the table was killed before its summary


def classify(cfg, paths: Paths, fp: str) -> Existing:
    """What OUTPUT holds, and so what this run does; refusals are exit 2 (called under the lock)."""
    out, sp = paths.out, paths.summary
    force = bool(cfg.force_overwrite)
    summary, state = _json(sp), _json(paths.state)
    if summary is not None and not _ours(summary, out) and not force:
        raise UsageError(f"{sp}: exists and was not written by augcli for {out.name}; refusing to replace it "
                         "(move it away, choose another OUTPUT, or pass --force-overwrite)")
    if not out.exists():
        if summary is not None and not (cfg.overwrite or force):
            raise UsageError(f"{sp}: exists but {out} does not; pass --overwrite to write both again, "
                             "or remove the summary")
        return Existing("write")
    st = out.stat()
    if state and state.get("output") == out.name and state.get("table") == [st.st_size, st.st_mtime_ns] \
            and isinstance(state.get("summary"), dict):
        table_fp, base = state.get("fingerprint"), state["summary"]  # killed after the rename
    elif summary and _ours(summary, out):
        table_fp, base = summary.get("fingerprint"), summary
        if table_fp and summary.get("table_size") != st.st_size:
            table_fp = "changed"
    elif force:
        return Existing("write")
    else:
        raise UsageError(f"{out}: exists and was not written by augcli (no augcli summary {sp.name} beside it); "
                         "refusing to replace it: choose another OUTPUT, or pass --force-overwrite to replace it")
    if cfg.overwrite or force:
        return Existing("write")
    if table_fp == "changed":
        raise UsageError(f"{out}: changed since augcli wrote it; use --overwrite to replace it, or choose another "
                         "OUTPUT")
    if table_fp != fp:
        raise UsageError(f"{out}: holds a run made with other settings or another input; use --overwrite to "
                         "replace it, or choose another OUTPUT")
    if summary and summary.get("fingerprint") == fp and summary.get("table_size") == st.st_size:
        return Existing("done" if not cfg.evaluate or "evaluation" in summary else "finish", summary)
    return Existing("finish", base, interrupted=True)


def write_state(paths: Paths, fp: str, table: Path, base: dict) -> None:
    """Before the finished temp table is renamed to OUTPUT: what it is (its size and mtime, which
    the rename keeps), so that a run killed before the summary is written can finish it."""
    st = table.stat()
    state = {"written_by": WRITTEN_BY, "output": paths.out.name, "fingerprint": fp,
             "table": [st.st_size, st.st_mtime_ns], "summary": base}
    atomic_write(paths.state, json.dumps(state, ensure_ascii=False).encode("utf-8"))


def write_summary(paths: Paths, fp: str, base: dict, evaluation: dict | None) -> dict:
    summary = {"written_by": WRITTEN_BY, **{k: v for k, v in base.items() if k != "written_by"},
               "fingerprint": fp, "table_size": paths.out.stat().st_size}
    summary["output"] = str(paths.out)
    if evaluation:
        summary["evaluation"] = evaluation
    atomic_write(paths.summary, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    remove_state(paths)
    return summary


def remove_state(paths: Paths) -> None:
    try:
        paths.state.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------------------------
# the table and the evaluation
# --------------------------------------------------------------------------------------------
def synthetic_table(SX, label: str, cols, types, flag: str | None):
    """Synthetic rows (all of class `label`) as an Arrow table in the input's column order and types."""
    import numpy as np
    import pyarrow as pa

    n = len(SX)
    arrays, names = [], []
    for c in cols.names:
        if c == cols.target:
            arr = pa.array([label] * n, type=pa.string())
        elif c in cols.excluded:
            arr = pa.nulls(n, type=types.get(c, pa.string()))
        elif c in cols.numeric:
            v = SX[:, cols.numeric.index(c)].astype(np.float64) if n else np.zeros(0)
            if c in cols.integer:
                arr = pa.array(np.rint(v).astype(np.int64))
            else:
                arr = pa.array(v, type=pa.float64())
        else:
            v = SX[:, len(cols.numeric) + cols.categorical.index(c)] if n else []
            arr = pa.array([None if x is None else str(x) for x in v], type=pa.string())
        arrays.append(arr)
        names.append(c)
    if flag:
        arrays.append(pa.array(np.ones(n, np.int8)))
        names.append(flag)
    return pa.table(arrays, names=names)



def write_whole(cfg, fmt_in: str, fmt_out: str, types, parts: list, tmp: Path, encoding: str) -> None:
    """Parquet output, or a format change: read the whole table, append, write (CSV/TSV in the
    input's encoding)."""
    import numpy as np
    import pyarrow as pa

    from ..io import tabular as tio

    orig = tio.read(cfg.input, fmt_in, types if fmt_in != "parquet" else {}, encoding=encoding)
    flag = None if cfg.no_flag else cfg.flag_column
    if flag:
        orig = orig.append_column(flag, pa.array(np.zeros(orig.num_rows, np.int8)))
    full = pa.concat_tables([orig] + [t.cast(orig.schema) for t in parts])
    if fmt_out == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(full, tmp)
    else:
        with open(tmp, "wb") as f:
            tio.write_rows(full, f, "\t" if fmt_out == "tsv" else ",", "\n", header=True, encoding=encoding)


def evaluate(cfg, X, y, num_idx, cat_idx, sampler_for) -> dict:
    """5-fold stratified CV of logistic regression and a random forest, without and with the
    oversampling (`sampler_for(k)`) inside the training folds only (imblearn Pipeline: no leakage)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import make_scorer, recall_score
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from imblearn.pipeline import Pipeline as ImbPipeline

    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < 5:
        return {"skipped": f"a class has only {counts.min()} rows; 5-fold cross-validation needs 5 per class"}
    minority = labels[np.argmin(counts)]
    limit, note = 50_000, ""
    if len(y) > limit:  # stratified subsample: evaluation is a check, not the product
        rng = np.random.default_rng(cfg.seed)
        keep = np.sort(rng.choice(len(y), limit, replace=False))
        X, y, note = X[keep], y[keep], f"on a random subsample of {limit} rows"
    prep = ColumnTransformer([("num", StandardScaler(), num_idx)] +
                             ([("cat", OneHotEncoder(handle_unknown="ignore"), cat_idx)] if cat_idx else []))
    k = min(cfg.k_neighbors, int(min(c for c in np.unique(y, return_counts=True)[1])) - 2)
    k = max(k, 1)
    sampler = sampler_for(k)
    scoring = {"balanced_accuracy": "balanced_accuracy", "macro_f1": "f1_macro",
               "minority_recall": make_scorer(recall_score, labels=[minority], average="macro")}
    cv = StratifiedKFold(5, shuffle=True, random_state=cfg.seed % (2**32))
    Xn = X if cat_idx else X.astype(np.float64)
    res = {"minority_class": str(minority), "folds": 5, "note": note, "models": {}}
    for name, clf in (("logistic_regression", LogisticRegression(max_iter=1000)),
                      ("random_forest", RandomForestClassifier(n_estimators=100, random_state=0,
                                                               n_jobs=cfg.n_workers()))):
        for variant, pipe in (("without", Pipeline([("prep", prep), ("clf", clf)])),
                              ("with", ImbPipeline([("over", sampler), ("prep", prep), ("clf", clf)]))):
            s = cross_validate(pipe, Xn, y, cv=cv, scoring=scoring)
            res["models"].setdefault(name, {})[variant] = {k: round(float(np.mean(s[f"test_{k}"])), 4)
                                                           for k in scoring}
    return res



# --------------------------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------------------------
def print_plan(cfg, plans: dict, cols, method: str, file=sys.stdout) -> None:
    print(f"plan: {cfg.input} -> {cfg.output}: target {cfg.target!r}, method {method}, seed {cfg.seed}", file=file)
    print(f"  {'class':<20} {'before':>9} {'after':>9}  method", file=file)
    for p in plans.values():
        extra = ", ".join(f"{k}={v}" for k, v in p.params.items())
        print(f"  {p.label:<20} {p.before:>9} {p.after:>9}  {p.method}{' (' + extra + ')' if extra else ''}"
              f"{'  - ' + p.note if p.note else ''}", file=file)
    print(f"  columns: {len(cols.numeric)} numeric ({len(cols.integer)} integer), {len(cols.categorical)} categorical"
          f"{', excluded: ' + ', '.join(cols.excluded) if cols.excluded else ''}", file=file)


def print_evaluation(ev: dict, file=sys.stdout) -> None:
    if "skipped" in ev:
        print(f"evaluation skipped: {ev['skipped']}", file=file)
        return
    print(f"evaluation: 5-fold CV, oversampling inside the training folds only; minority class "
          f"{ev['minority_class']!r} {ev['note']}", file=file)
    print(f"  {'model':<22} {'oversampling':<13} {'bal. acc.':>9} {'min. recall':>11} {'macro F1':>9}", file=file)
    for model, variants in ev["models"].items():
        for v in ("without", "with"):
            m = variants[v]
            print(f"  {model:<22} {v:<13} {m['balanced_accuracy']:>9.4f} {m['minority_recall']:>11.4f} "
                  f"{m['macro_f1']:>9.4f}", file=file)
