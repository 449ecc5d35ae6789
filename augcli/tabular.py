"""Table-level oversampling: balance the classes of a CSV/TSV/Parquet table with imbalanced-learn.

It works on the whole table, not per file:
1. types: pyarrow infers them; non-numeric columns are read as their exact text, so categories
   (and booleans) keep their spelling; integers stay integers (synthetic values are rounded).
2. roles: the target; numeric features; categorical features (text, bool, or declared with
   --categorical); excluded columns (--exclude: their synthetic values are empty). Dates and
   free-text/ID-like columns stop the run with a message saying to exclude or declare them.
3. plan: per-class targets from --strategy; per class the method and k actually used (k is
   reduced for classes smaller than k + 1; a single-row class falls back to random oversampling).
4. synthesis, class by class, through imbalanced-learn (noise: Gaussian jitter, by hand). For
   SMOTE, random and noise only the rows of the classes being oversampled are needed.
5. output: for CSV/TSV the original rows are copied byte for byte (+ the flag column) and the
   synthetic rows appended, formatted by pyarrow's C++ writer; Parquet is rewritten whole.
   A summary (counts before/after, method and parameters per class, columns, seed) is printed
   and written to OUTPUT.summary.json.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .engine import stable_hash
from .errors import UsageError
from .io import atomic_write
from .io.tabular import EXT, table_format
from .recipe import Config

METHODS = ("auto", "smote", "borderline-smote", "svm-smote", "kmeans-smote", "adasyn", "random", "smotenc",
           "smoten", "noise")
NUMERIC_ONLY = ("smote", "borderline-smote", "svm-smote", "kmeans-smote", "adasyn")
NEEDS_ALL_ROWS = ("borderline-smote", "svm-smote", "kmeans-smote", "adasyn", "smoten")
BATCH = 200_000  # synthetic rows made and written at a time (memory: one batch, not all of them)


@dataclass
class Columns:
    names: list[str]
    target: str
    numeric: list[str] = field(default_factory=list)
    integer: list[str] = field(default_factory=list)  # numeric columns that hold integers
    categorical: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


def _split_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


def columns(cfg: Config, schema) -> tuple[Columns, dict]:
    """Roles of the columns and the types to read them with."""
    import pyarrow as pa

    names = list(schema.names)
    src = cfg.input
    if cfg.target not in names:
        raise UsageError(f"{src}: no target column {cfg.target!r}; columns are: {', '.join(names)}")
    flag = None if cfg.no_flag else cfg.flag_column
    if flag and flag in names:
        raise UsageError(f"{src}: already has a column {flag!r}; name the flag column otherwise "
                         "(--flag-column) or pass --no-flag")
    declared, excluded = _split_list(cfg.categorical), _split_list(cfg.exclude)
    for c in declared + excluded:
        if c not in names:
            raise UsageError(f"{src}: no column {c!r} (in --categorical/--exclude); columns are: {', '.join(names)}")
        if c == cfg.target:
            raise UsageError(f"{src}: {c!r} is the target; it cannot be declared categorical or excluded")
    cols = Columns(names, cfg.target, excluded=[c for c in names if c in excluded])
    types = {cfg.target: pa.string()}
    for f in schema:
        c, t = f.name, f.type
        if c == cfg.target or c in excluded:
            if c in excluded:
                types[c] = pa.string()
            continue
        if c in declared:
            cols.categorical.append(c)
            types[c] = pa.string()
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            cols.numeric.append(c)
            if pa.types.is_integer(t):
                cols.integer.append(c)
                types[c] = pa.int64()
            else:
                types[c] = pa.float64()
        elif pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            cols.categorical.append(c)
            types[c] = pa.string()
        elif pa.types.is_temporal(t):
            raise UsageError(f"{src}: column {c!r} holds dates/times ({t}), which cannot be interpolated; "
                             f"exclude it (--exclude {c}) or declare it categorical (--categorical {c})")
        else:
            raise UsageError(f"{src}: column {c!r} has type {t}, which augcli cannot oversample; "
                             f"exclude it (--exclude {c}) or declare it categorical (--categorical {c})")
    return cols, types


# --------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------
def targets(cfg: Config, counts: dict[str, int]) -> dict[str, int]:
    """Wanted size of every class (>= its current size) from --strategy and --copies."""
    if not counts:
        raise UsageError(f"{cfg.input}: the table has no rows")
    if len(counts) < 2 and cfg.method != "noise":
        only = next(iter(counts))
        raise UsageError(f"{cfg.input}: the target {cfg.target!r} has a single class ({only!r}); "
                         "there is nothing to balance (use --method noise --copies N to enlarge it)")
    biggest = max(counts.values())
    s = cfg.strategy
    if cfg.method == "noise" and s is None and "copies" in cfg.explicit:
        return {c: n * (1 + cfg.copies) for c, n in counts.items()}
    if s in (None, "auto", "not-majority", "not majority"):
        majority = max(counts, key=lambda c: (counts[c], c))
        return {c: (n if c == majority else biggest) for c, n in counts.items()}
    if s == "minority":
        smallest = min(counts, key=lambda c: (counts[c], c))
        return {c: (biggest if c == smallest else n) for c, n in counts.items()}
    if s == "all":
        return {c: biggest for c in counts}
    if isinstance(s, dict):
        out = dict(counts)
        for c, n in s.items():
            c = str(c)
            if c not in counts:
                raise UsageError(f"--strategy: class {c!r} is not in the target column; classes: "
                                 f"{', '.join(sorted(counts))}")
            if not isinstance(n, int) or isinstance(n, bool) or n < counts[c]:
                raise UsageError(f"--strategy: {c!r}: {n!r} is not allowed; allowed: an integer >= the class's "
                                 f"current size {counts[c]} (oversampling never removes rows)")
            out[c] = n
        return out
    if isinstance(s, float):
        if len(counts) != 2:
            raise UsageError(f"--strategy {s}: a ratio needs a binary target; this one has {len(counts)} classes")
        minority = min(counts, key=lambda c: (counts[c], c))
        want = int(s * biggest)
        if want < counts[minority]:
            raise UsageError(f"--strategy {s}: the minority class already has {counts[minority]} rows, more than "
                             f"{s} x {biggest}; allowed: a ratio of at least {counts[minority] / biggest:.3f}")
        return {c: (want if c == minority else n) for c, n in counts.items()}
    raise UsageError(f"--strategy: {s!r} is not allowed; allowed: auto, not-majority, minority, all, a ratio "
                     "(binary targets), or a JSON mapping of class to count")


def parse_strategy(v):
    """CLI/recipe value of --strategy: names, a ratio, or a mapping (JSON text or YAML mapping)."""
    if v is None or isinstance(v, dict):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    v = str(v).strip()
    if v.startswith("{"):
        try:
            return json.loads(v)
        except ValueError as e:
            raise UsageError(f"--strategy: {v!r} is not valid JSON ({e})")
    try:
        return float(v)
    except ValueError:
        return v


def resolve_method(cfg: Config, cols: Columns) -> str:
    m = cfg.method
    feats = cols.numeric + cols.categorical
    if not feats:
        raise UsageError(f"{cfg.input}: no feature columns left to oversample (all are the target or excluded)")
    if m == "auto":
        return "smoten" if not cols.numeric else ("smotenc" if cols.categorical else "smote")
    if m in NUMERIC_ONLY and cols.categorical:
        raise UsageError(f"--method {m} works on numeric columns only, and {', '.join(cols.categorical[:5])} "
                         "are categorical; use --method smotenc (mixed) or auto, or --exclude those columns")
    if m == "smotenc" and not (cols.categorical and cols.numeric):
        raise UsageError("--method smotenc needs both numeric and categorical columns; use --method auto")
    if m == "smoten" and cols.numeric:
        raise UsageError(f"--method smoten needs only categorical columns, and {', '.join(cols.numeric[:5])} are "
                         "numeric; use --method smotenc or auto")
    return m


# --------------------------------------------------------------------------------------------
# synthesis
# --------------------------------------------------------------------------------------------
_NN_CACHE: dict = {}


def _cached_nn_class():
    """NearestNeighbors that remembers its last answer: a class grown in several batches asks
    the same neighbour query (the class's rows against themselves) once, not once per batch.
    imbalanced-learn clones the estimator, so the memory lives at module level."""
    import hashlib

    import numpy as np
    from scipy import sparse
    from sklearn.neighbors import NearestNeighbors

    class CachedNearestNeighbors(NearestNeighbors):
        def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
            if X is None or (not sparse.issparse(X) and np.asarray(X).dtype == object):
                return super().kneighbors(X, n_neighbors, return_distance)
            h = hashlib.blake2b(digest_size=16)
            for part in ((X.data, X.indices, X.indptr) if sparse.issparse(X) else (np.ascontiguousarray(X),)):
                h.update(np.ascontiguousarray(part).view(np.uint8))
            fit = self._fit_X
            h.update(np.ascontiguousarray(fit if not sparse.issparse(fit) else fit.data).view(np.uint8))
            key = (h.hexdigest(), X.shape, n_neighbors or self.n_neighbors, return_distance)
            if key not in _NN_CACHE:
                _NN_CACHE.clear()
                _NN_CACHE[key] = super().kneighbors(X, n_neighbors, return_distance)
            return _NN_CACHE[key]

    return CachedNearestNeighbors


def _sampler(method: str, k: int, seed: int, strategy: dict, cfg: Config, cat_idx: list[int]):
    from imblearn import over_sampling as ov

    nn = _cached_nn_class()(n_neighbors=k + 1, n_jobs=cfg.n_workers())
    if method == "smote":
        return ov.SMOTE(sampling_strategy=strategy, k_neighbors=nn, random_state=seed)
    if method == "borderline-smote":
        return ov.BorderlineSMOTE(sampling_strategy=strategy, k_neighbors=nn, random_state=seed)
    if method == "svm-smote":
        return ov.SVMSMOTE(sampling_strategy=strategy, k_neighbors=nn, random_state=seed)
    if method == "kmeans-smote":
        return ov.KMeansSMOTE(sampling_strategy=strategy, k_neighbors=nn, random_state=seed)
    if method == "adasyn":
        return ov.ADASYN(sampling_strategy=strategy, n_neighbors=nn, random_state=seed)
    if method == "smotenc":
        return ov.SMOTENC(categorical_features=cat_idx, sampling_strategy=strategy, k_neighbors=nn,
                          random_state=seed)
    if method == "smoten":
        return ov.SMOTEN(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
    if method == "random":
        return ov.RandomOverSampler(sampling_strategy=strategy, shrinkage=cfg.shrinkage, random_state=seed)
    raise AssertionError(method)


def _noise(X, n_new: int, seed: int, num_idx: list[int], spread, scale: float):
    import numpy as np

    rng = np.random.default_rng(seed)
    pick = rng.integers(0, X.shape[0], n_new)
    out = X[pick].copy()
    if num_idx:
        block = out[:, num_idx].astype(np.float64)
        block += rng.standard_normal(block.shape) * (scale * spread)
        out[:, num_idx] = block
    return out


def _imblearn_batch(m: str, k: int, seed: int, c: str, n_target: int, X, y, cfg: Config, cat_idx):
    """New rows of class `c` from one imbalanced-learn call (its output minus the input rows)."""
    import numpy as np

    if len(np.unique(y)) < 2:  # imblearn wants two classes; any row of another class will do
        raise UsageError(f"class {c!r}: no row of another class is available to {m}")
    sampler = _sampler(m, k, seed, {c: n_target}, cfg, cat_idx)
    try:
        Xr, _ = sampler.fit_resample(X, y)
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"class {c!r}: {m} failed ({' '.join(str(e).split())}); "
                         "try --method smote or random, or a smaller --k-neighbors")
    new = Xr[len(X):].copy()  # a copy: the input rows need not stay alive
    del Xr
    return new


@dataclass
class ClassPlan:
    label: str
    before: int
    after: int
    method: str = ""
    params: dict = field(default_factory=dict)
    note: str = ""


def run(cfg: Config, quiet: bool = False) -> int:
    import numpy as np

    from .io import tabular as tio

    t0 = time.perf_counter()
    # jemalloc hands freed blocks back to the system; Arrow's default (mimalloc) keeps ~25% more
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    cfg_strategy = parse_strategy(cfg.strategy)
    cfg.strategy = cfg_strategy
    fmt_in = table_format(cfg.input)
    if not os.path.isfile(cfg.input):
        raise UsageError(f"{cfg.input}: input file not found")
    out = Path(cfg.output)
    # "same" keeps the input's format unless OUTPUT's own name asks for another (out.parquet)
    fmt_out = (table_format_or_none(str(out)) or fmt_in) if cfg.format in ("same", None) else cfg.format
    if out.suffix.lower() != EXT[fmt_out] and table_format_or_none(str(out)) != fmt_out:
        out = out.with_suffix(EXT[fmt_out]) if out.suffix else out.with_name(out.name + EXT[fmt_out])
    if out.resolve() == Path(cfg.input).resolve():
        raise UsageError(f"{out}: the output would overwrite the input; choose another file")
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; OUTPUT is the output table's file name (e.g. out/balanced.csv)")
    summary_path = out.with_name(out.name + ".summary.json")
    if out.exists() and not cfg.overwrite and not cfg.dry_run:
        raise UsageError(f"{out}: exists; pass --overwrite to replace it")

    schema = tio.schema(cfg.input, fmt_in)
    cols, types = columns(cfg, schema)
    method = resolve_method(cfg, cols)
    feats = cols.numeric + cols.categorical
    num_idx = list(range(len(cols.numeric)))
    cat_idx = list(range(len(cols.numeric), len(feats)))

    # pass 1: the target column only (cheap), for the class counts
    ycol = tio.read(cfg.input, fmt_in, types, [cfg.target]).column(cfg.target)
    if ycol.null_count:
        raise UsageError(f"{cfg.input}: the target {cfg.target!r} is empty in {ycol.null_count} rows; "
                         "fill or drop them first")
    import pyarrow.compute as pcmp

    vc = pcmp.value_counts(ycol)
    counts = {str(v["values"]): int(v["counts"]) for v in vc.to_pylist()}
    want = targets(cfg, counts)
    grow = {c: want[c] - counts[c] for c in counts if want[c] > counts[c]}

    plans = {c: ClassPlan(c, counts[c], want[c]) for c in sorted(counts, key=lambda c: (-counts[c], c))}
    k0 = cfg.k_neighbors
    for c, p in plans.items():
        if c not in grow:
            p.method = "-"
            continue
        n = counts[c]
        if method in ("noise", "random"):
            p.method = method
            p.params = {"shrinkage": cfg.shrinkage} if method == "random" and cfg.shrinkage is not None else \
                ({"scale": cfg.noise_scale} if method == "noise" else {})
        elif n == 1:
            p.method, p.note = "random", "a single row: random oversampling instead of " + method
        else:
            k = min(k0, n - 1)
            p.method, p.params = method, {"k_neighbors": k}
            if k < k0:
                p.note = f"{n} rows: k_neighbors reduced from {k0} to {k}"

    if not quiet or cfg.dry_run:
        print_plan(cfg, plans, cols, method)
    if cfg.dry_run:
        return 0

    # pass 2: the feature rows needed: the classes that grow (or all rows when the method needs them)
    needs_all = method in NEEDS_ALL_ROWS or cfg.evaluate
    if needs_all:
        table = tio.read(cfg.input, fmt_in, types, [cfg.target] + feats)
    else:  # only the classes that grow, plus one other row (imblearn wants two classes)
        table = tio.read_rows_of(cfg.input, fmt_in, types, [cfg.target] + feats, cfg.target, sorted(grow),
                                 extra=1 if method in ("smote", "smotenc", "random") else 0)
    y = np.asarray(table.column(cfg.target).to_numpy(zero_copy_only=False), dtype=object)
    _check_free_text(cfg, table, cols)
    X, num_missing = _features(table, cols, np.ones(len(y), bool))
    del table
    X, y = _impute(cfg, X, y, cols, num_missing)

    spread = None
    if method == "noise" and num_idx:
        spread = np.nanstd(X[:, num_idx].astype(np.float64), axis=0)
        spread[~np.isfinite(spread) | (spread == 0)] = 1.0
    if method == "random" and cfg.shrinkage is not None and cols.categorical:
        raise UsageError("--shrinkage needs numeric columns only (it jitters values); "
                         f"{', '.join(cols.categorical[:5])} are categorical")

    def batches():
        """(class, new rows) in batches of at most BATCH rows, so that memory holds one batch."""
        for c, p in plans.items():
            if c not in grow:
                continue
            mask = y == c
            n_c, left, b, made = int(mask.sum()), grow[c], 0, 0
            while left > 0:
                one_call = p.method in NEEDS_ALL_ROWS  # these decide how many rows they make
                nb = left if one_call else min(left, BATCH)
                seed = stable_hash("tabular", cfg.seed, c, b) & 0xFFFFFFFF
                if p.method == "noise":
                    new = _noise(X[mask], nb, seed, num_idx, spread, cfg.noise_scale)
                else:
                    new = _imblearn_batch(p.method, p.params.get("k_neighbors", k0), seed, c, n_c + nb, X, y,
                                          cfg, cat_idx)
                yield c, new
                made += len(new)
                left = 0 if one_call else left - nb
                b += 1
            if made != grow[c]:  # ADASYN / borderline / SVM-SMOTE decide their own counts
                p.note = (p.note + "; " if p.note else "") + f"{p.method} made {made} rows for {grow[c]} wanted"
                p.after = counts[c] + made

    flag = None if cfg.no_flag else cfg.flag_column
    tmp = out.with_name(f".{out.name}.augtmp{os.getpid()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.augtmp*"):  # left by a killed run
        stale.unlink()
    n_synthetic = 0
    try:
        if fmt_out == fmt_in and fmt_in != "parquet":
            with open(tmp, "wb") as f:
                sep, eol = tio.copy_original_records(cfg.input, f, fmt_in, flag)
                for c, new in batches():
                    tio.write_rows(_synthetic_table(new, c, cols, types, flag), f, sep, eol)
                    n_synthetic += len(new)
        else:
            parts = []
            for c, new in batches():
                parts.append(_synthetic_table(new, c, cols, types, flag))
                n_synthetic += len(new)
            _write_whole(cfg, fmt_in, fmt_out, types, parts, tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    seconds = time.perf_counter() - t0
    evaluation = evaluate(cfg, X, y, cols, method, num_idx, cat_idx) if cfg.evaluate else None
    summary = {
        "input": cfg.input, "output": str(out), "target": cfg.target, "method": method, "seed": cfg.seed,
        "strategy": cfg.strategy if cfg.strategy is not None else "auto", "k_neighbors": k0,
        "rows_before": sum(counts.values()), "rows_after": sum(p.after for p in plans.values()),
        "classes": [{"class": p.label, "before": p.before, "after": p.after, "method": p.method,
                     "params": p.params, "note": p.note} for p in plans.values()],
        "columns": {"numeric": cols.numeric, "integer": cols.integer, "categorical": cols.categorical,
                    "excluded": cols.excluded, "flag": None if cfg.no_flag else cfg.flag_column},
        "impute": cfg.impute, "seconds": round(seconds, 3),
    }
    if evaluation:
        summary["evaluation"] = evaluation
    atomic_write(summary_path, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    if not quiet:
        print(f"augcli done: {summary['rows_before']} rows -> {summary['rows_after']} rows "
              f"({n_synthetic} synthetic) in {seconds:.1f} s")
        print(f"output: {out}\nsummary: {summary_path}")
        if evaluation:
            print_evaluation(evaluation)
    return 0


def table_format_or_none(path: str):
    try:
        return table_format(path)
    except UsageError:
        return None


def _check_free_text(cfg: Config, table, cols: Columns) -> None:
    """A text column with mostly distinct values is free text or an ID, not a category: one-hot
    encoding it would be useless (and huge). Declared categoricals are trusted."""
    import pyarrow.compute as pc

    declared = set(_split_list(cfg.categorical))
    n = table.num_rows
    for c in cols.categorical:
        if c in declared or n < 20:
            continue
        distinct = pc.count_distinct(table.column(c)).as_py()
        if distinct > 50 and distinct > n // 2:
            raise UsageError(f"{cfg.input}: column {c!r} looks like free text or an ID ({distinct} distinct values "
                             f"in {n} rows): exclude it (--exclude {c}) or declare it categorical (--categorical {c})")


def _features(table, cols: Columns, sel):
    """Feature matrix of the selected rows: numeric columns first (float, NaN for missing), then
    categorical ones (their text; None for missing). Object dtype when categoricals are present."""
    import numpy as np

    n = int(sel.sum())
    missing = {}
    if not cols.categorical:
        X = np.empty((n, len(cols.numeric)), dtype=np.float64)
    else:
        X = np.empty((n, len(cols.numeric) + len(cols.categorical)), dtype=object)
    for j, c in enumerate(cols.numeric):
        col = table.column(c)
        v = col.to_numpy(zero_copy_only=False).astype(np.float64)[sel]
        if col.null_count:
            missing[c] = int(np.isnan(v).sum())
        X[:, j] = v
    for j, c in enumerate(cols.categorical, start=len(cols.numeric)):
        v = np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=object)[sel]
        empty = np.array([x is None or x == "" for x in v]) if len(v) else np.zeros(0, bool)
        if empty.any():
            missing[c] = int(empty.sum())
            v[empty] = None
        X[:, j] = v
    return X, {k: v for k, v in missing.items() if v}


def _impute(cfg: Config, X, y, cols: Columns, missing: dict):
    import numpy as np

    if not missing:
        return X, y
    if cfg.impute is None:
        listing = ", ".join(f"{c} ({n})" for c, n in missing.items())
        raise UsageError(f"{cfg.input}: missing values in {listing}; pass --impute median|most-frequent|drop "
                         "(the original rows are written unchanged; imputation only feeds the synthesis)")
    if cfg.impute == "drop":
        bad = np.zeros(len(X), bool)
        for j in range(X.shape[1]):
            col = X[:, j]
            bad |= np.array([v is None or (isinstance(v, float) and v != v) for v in col])
        return X[~bad], y[~bad]
    for j, c in enumerate(cols.numeric + cols.categorical):
        if c not in missing:
            continue
        col = X[:, j]
        if j < len(cols.numeric):
            vals = col.astype(np.float64)
            fill = np.nanmedian(vals) if cfg.impute == "median" else _mode([v for v in vals if v == v])
            vals[np.isnan(vals)] = fill
            X[:, j] = vals
        else:
            fill = _mode([v for v in col if v is not None])
            X[:, j] = [fill if v is None else v for v in col]
    return X, y


def _mode(values):
    from collections import Counter

    return Counter(values).most_common(1)[0][0] if values else 0.0


def _synthetic_table(SX, label: str, cols: Columns, types, flag: str | None):
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


def _write_whole(cfg: Config, fmt_in: str, fmt_out: str, types, parts: list, tmp: Path) -> None:
    """Parquet output, or a format change: read the whole table, append, write."""
    import numpy as np
    import pyarrow as pa

    from .io import tabular as tio

    orig = tio.read(cfg.input, fmt_in, types if fmt_in != "parquet" else {})
    flag = None if cfg.no_flag else cfg.flag_column
    if flag:
        orig = orig.append_column(flag, pa.array(np.zeros(orig.num_rows, np.int8)))
    full = pa.concat_tables([orig] + [t.cast(orig.schema) for t in parts])
    if fmt_out == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(full, tmp)
    else:
        with open(tmp, "wb") as f:
            tio.write_rows(full, f, "\t" if fmt_out == "tsv" else ",", "\n", header=True)


# --------------------------------------------------------------------------------------------
# printing and evaluation
# --------------------------------------------------------------------------------------------
def print_plan(cfg: Config, plans: dict, cols: Columns, method: str, file=sys.stdout) -> None:
    print(f"plan: {cfg.input} -> {cfg.output}: target {cfg.target!r}, method {method}, seed {cfg.seed}", file=file)
    print(f"  {'class':<20} {'before':>9} {'after':>9}  method", file=file)
    for p in plans.values():
        extra = ", ".join(f"{k}={v}" for k, v in p.params.items())
        print(f"  {p.label:<20} {p.before:>9} {p.after:>9}  {p.method}{' (' + extra + ')' if extra else ''}"
              f"{'  - ' + p.note if p.note else ''}", file=file)
    print(f"  columns: {len(cols.numeric)} numeric ({len(cols.integer)} integer), {len(cols.categorical)} categorical"
          f"{', excluded: ' + ', '.join(cols.excluded) if cols.excluded else ''}", file=file)


def evaluate(cfg: Config, X, y, cols: Columns, method: str, num_idx, cat_idx) -> dict:
    """5-fold stratified CV of logistic regression and a random forest, without and with the
    oversampling inside the training folds only (imblearn Pipeline: no leakage)."""
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
    sampler = _sampler(method if method != "noise" else "random", k, cfg.seed, "auto", cfg, cat_idx)
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
