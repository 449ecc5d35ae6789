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
5. output, under OUTPUT's lock: for CSV/TSV the original rows are copied byte for byte (+ the
   flag column) and the synthetic rows appended, formatted by pyarrow's C++ writer; Parquet is
   rewritten whole. A summary (counts before/after, method and parameters per class, columns,
   seed) is printed and written to OUTPUT.summary.json. A finished run is a no-op, an
   interrupted one is finished (output.py). Input checks: checks.py.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from ..errors import OutputDiskError, UsageError, disk_message, is_disk_error
from ..io.tabular import table_format
from ..lock import OutputLock
from ..seeds import table_seed
from .checks import (Columns, check_free_text, check_text_columns, columns, features, impute,
                             missing_target, split_list, table_encoding)
from .output import (Paths, classify, evaluate, fingerprint, output_path, print_evaluation, print_plan,
                             remove_state, synthetic_table, write_state, write_summary, write_whole)

METHODS = ("auto", "smote", "borderline-smote", "svm-smote", "kmeans-smote", "adasyn", "random", "smotenc",
           "smoten", "noise")
NUMERIC_ONLY = ("smote", "borderline-smote", "svm-smote", "kmeans-smote", "adasyn")
NEEDS_ALL_ROWS = ("borderline-smote", "svm-smote", "kmeans-smote", "adasyn", "smoten")
BATCH = 200_000  # synthetic rows made and written at a time (memory: one batch, not all of them)


# --------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------
def targets(cfg, counts: dict[str, int]) -> dict[str, int]:
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


def resolve_method(cfg, cols: Columns) -> str:
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


def _sampler(method: str, k: int, seed: int, strategy: dict, cfg, cat_idx: list[int]):
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


def _imblearn_batch(m: str, k: int, seed: int, c: str, n_target: int, X, y, cfg, cat_idx):
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



@dataclass
class Job:
    """What a run decided before touching OUTPUT."""
    cfg: object  # the run's Config (recipe.py)
    fmt_in: str
    fmt_out: str
    encoding: str
    paths: Paths
    cols: Columns
    types: dict
    method: str
    counts: dict
    plans: dict
    grow: dict
    n_rows: int  # data rows of the input, with those whose target is missing
    n_missing_target: int = 0
    fingerprint: str = ""
    written: int = 0  # rows in the temp table so far (for a disk error's message)

    @property
    def num_idx(self) -> list[int]:
        return list(range(len(self.cols.numeric)))

    @property
    def cat_idx(self) -> list[int]:
        n = len(self.cols.numeric)
        return list(range(n, n + len(self.cols.categorical)))


def run(cfg, quiet: bool = False) -> int:
    t0 = time.perf_counter()
    # jemalloc hands freed blocks back to the system; Arrow's default (mimalloc) keeps ~25% more
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    job = prepare(cfg)
    if cfg.dry_run:
        print_plan(cfg, job.plans, job.cols, job.method)
        return 0
    try:
        with OutputLock(job.paths.lock, job.paths.out):  # a second run into OUTPUT exits 2
            return _run_locked(job, quiet, t0)
    except OSError as e:
        if is_disk_error(e):  # full, read-only, no permission: the previous OUTPUT (if any) is intact
            raise OutputDiskError(disk_message(job.paths.out, e, job.written, unit="rows")) from None
        raise


def prepare(cfg) -> Job:
    """Input checks and the plan (reads the target column only); writes nothing."""
    import pyarrow as pa
    import pyarrow.compute as pcmp

    from ..io import tabular as tio

    cfg.strategy = parse_strategy(cfg.strategy)
    fmt_in = table_format(cfg.input)
    if not os.path.isfile(cfg.input):
        raise UsageError(f"{cfg.input}: input file not found")
    enc = table_encoding(cfg)
    out, fmt_out = output_path(cfg, fmt_in)
    schema = tio.schema(cfg.input, fmt_in, enc)
    check_text_columns(cfg, fmt_in, schema, enc)
    cols, types = columns(cfg, schema)
    method = resolve_method(cfg, cols)
    # pass 1: the target column only (cheap), for the class counts
    ycol = tio.read(cfg.input, fmt_in, types, [cfg.target], encoding=enc).column(cfg.target)
    n_rows, gone = len(ycol), missing_target(cfg, fmt_in, ycol)
    if gone is not None:
        ycol = ycol.filter(pa.array(~gone))
    counts = {str(v["values"]): int(v["counts"]) for v in pcmp.value_counts(ycol).to_pylist()}
    want = targets(cfg, counts)
    grow = {c: want[c] - counts[c] for c in counts if want[c] > counts[c]}
    job = Job(cfg, fmt_in, fmt_out, enc, Paths(out), cols, types, method, counts,
              _plans(cfg, method, counts, want, grow), grow, n_rows, 0 if gone is None else int(gone.sum()))
    settings = {"formats": [fmt_in, fmt_out], "encoding": enc, "target": cfg.target, "method": cfg.method,
                "strategy": cfg.strategy, "k_neighbors": cfg.k_neighbors, "seed": cfg.seed,
                "categorical": split_list(cfg.categorical), "exclude": split_list(cfg.exclude),
                "impute": cfg.impute, "flag": None if cfg.no_flag else cfg.flag_column, "shrinkage": cfg.shrinkage,
                "noise_scale": cfg.noise_scale, "copies": cfg.copies if "copies" in cfg.explicit else None,
                "drop_missing_target": cfg.drop_missing_target}
    job.fingerprint = fingerprint(settings, cfg.input)
    return job


def _plans(cfg, method: str, counts: dict, want: dict, grow: dict) -> dict:
    """Per class (largest first): its size before and after, the method and k used, a note."""
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
    return plans


def _run_locked(job: Job, quiet: bool, t0: float) -> int:
    """Under OUTPUT's lock: write the table, or finish an interrupted run, or nothing (done)."""
    cfg, paths = job.cfg, job.paths
    paths.clean_stale()  # temp files of killed runs: only now, holding the lock, are they stale
    found = classify(cfg, paths, job.fingerprint)
    if found.action == "done":
        remove_state(paths)
        if not quiet:
            print(f"augcli: {paths.out} already done (same settings and input; summary: {paths.summary}); "
                  "nothing to do")
        return 0
    if not quiet:
        if found.action == "write":
            print_plan(cfg, job.plans, job.cols, job.method)
        elif found.interrupted:
            print(f"augcli: {paths.out} was written by an interrupted run with these settings; finishing it "
                  f"(the summary{' and the evaluation' if cfg.evaluate else ''})")
        else:
            print(f"augcli: {paths.out} is done with these settings; adding the evaluation")
    base = found.base if found.action == "finish" else None
    evaluation = (base or {}).get("evaluation")
    X = y = None
    if base is None or (cfg.evaluate and not evaluation):
        X, y = _synthesis_input(job)
    if base is None:
        base = _make_table(job, X, y, t0)
    if cfg.evaluate and not evaluation:
        sampler_for = lambda k: _sampler(job.method if job.method != "noise" else "random", k, cfg.seed,  # noqa: E731
                                         "auto", cfg, job.cat_idx)
        evaluation = evaluate(cfg, X, y, job.num_idx, job.cat_idx, sampler_for)
    summary = write_summary(paths, job.fingerprint, base, evaluation)
    if not quiet:
        print(f"augcli done: {summary['rows_before']} rows -> {summary['rows_after']} rows "
              f"({summary['rows_after'] - summary['rows_before']} synthetic) in {summary['seconds']:.1f} s")
        print(f"output: {paths.out}\nsummary: {paths.summary}")
        if evaluation:
            print_evaluation(evaluation)
    return 0


def _synthesis_input(job: Job):
    """Pass 2: the feature rows needed (the classes that grow, or all rows when the method or
    --evaluate needs them), checked and imputed: (X, y)."""
    import numpy as np

    from ..io import tabular as tio

    cfg, cols = job.cfg, job.cols
    wanted = [cfg.target] + cols.numeric + cols.categorical
    if job.method in NEEDS_ALL_ROWS or cfg.evaluate:
        table = tio.read(cfg.input, job.fmt_in, job.types, wanted, encoding=job.encoding)
        rows = np.arange(table.num_rows)
    else:  # only the classes that grow, plus one other row (imblearn wants two classes)
        table, rows = tio.read_rows_of(cfg.input, job.fmt_in, job.types, wanted, cfg.target, sorted(job.grow),
                                       extra=1 if job.method in ("smote", "smotenc", "random") else 0,
                                       encoding=job.encoding)
    ycol = table.column(cfg.target)
    sel = ~np.asarray(tio.blank(ycol).to_numpy(zero_copy_only=False), dtype=bool)  # --drop-missing-target
    y = np.asarray(ycol.to_numpy(zero_copy_only=False), dtype=object)[sel]
    check_free_text(cfg, table, cols)
    X, missing = features(cfg, job.fmt_in, table, cols, sel, rows)
    del table
    return impute(cfg, job.fmt_in, X, y, cols, missing)


def _batches(job: Job, X, y, spread):
    """(class, new rows) in batches of at most BATCH rows, so that memory holds one batch."""
    cfg, k0 = job.cfg, job.cfg.k_neighbors
    for c, p in job.plans.items():
        if c not in job.grow:
            continue
        mask = y == c
        n_c, left, b, made = int(mask.sum()), job.grow[c], 0, 0
        while left > 0:
            one_call = p.method in NEEDS_ALL_ROWS  # these decide how many rows they make
            nb = left if one_call else min(left, BATCH)
            seed = table_seed(cfg.seed, c, b)
            if p.method == "noise":
                new = _noise(X[mask], nb, seed, job.num_idx, spread, cfg.noise_scale)
            else:
                new = _imblearn_batch(p.method, p.params.get("k_neighbors", k0), seed, c, n_c + nb, X, y,
                                      cfg, job.cat_idx)
            yield c, new
            made += len(new)
            left = 0 if one_call else left - nb
            b += 1
        if made != job.grow[c]:  # ADASYN / borderline / SVM-SMOTE decide their own counts
            p.note = (p.note + "; " if p.note else "") + f"{p.method} made {made} rows for {job.grow[c]} wanted"
            p.after = job.counts[c] + made


def _make_table(job: Job, X, y, t0: float) -> dict:
    """Synthesis into a temp file beside OUTPUT, then the state file, then the rename; returns
    the summary (without the evaluation)."""
    import numpy as np

    from ..io import tabular as tio

    cfg, cols, paths = job.cfg, job.cols, job.paths
    spread = None
    if job.method == "noise" and job.num_idx:
        spread = np.nanstd(X[:, job.num_idx].astype(np.float64), axis=0)
        spread[~np.isfinite(spread) | (spread == 0)] = 1.0
    if job.method == "random" and cfg.shrinkage is not None and cols.categorical:
        raise UsageError("--shrinkage needs numeric columns only (it jitters values); "
                         f"{', '.join(cols.categorical[:5])} are categorical")
    flag = None if cfg.no_flag else cfg.flag_column
    tmp, n_syn, state_written, renamed = paths.tmp, 0, False, False
    try:
        if job.fmt_out == job.fmt_in and job.fmt_in != "parquet":
            with open(tmp, "wb") as f:
                sep, eol = tio.copy_original_records(cfg.input, f, job.fmt_in, flag, job.encoding)
                job.written = job.n_rows
                for c, new in _batches(job, X, y, spread):
                    tio.write_rows(synthetic_table(new, c, cols, job.types, flag), f, sep, eol, encoding=job.encoding)
                    n_syn += len(new)
                    job.written += len(new)
        else:
            parts = []
            for c, new in _batches(job, X, y, spread):
                parts.append(synthetic_table(new, c, cols, job.types, flag))
                n_syn += len(new)
            write_whole(cfg, job.fmt_in, job.fmt_out, job.types, parts, tmp, job.encoding)
            job.written = job.n_rows + n_syn
        base = _summary_base(job, n_syn, t0)
        write_state(paths, job.fingerprint, tmp, base)
        state_written = True
        os.replace(tmp, paths.out)
        renamed = True
    finally:
        if not renamed:
            tmp.unlink(missing_ok=True)
            if state_written:
                remove_state(paths)
    return base


def _summary_base(job: Job, n_syn: int, t0: float) -> dict:
    cfg, cols = job.cfg, job.cols
    base = {
        "input": cfg.input, "output": str(job.paths.out), "target": cfg.target, "method": job.method,
        "seed": cfg.seed, "strategy": cfg.strategy if cfg.strategy is not None else "auto",
        "k_neighbors": cfg.k_neighbors, "rows_before": job.n_rows, "rows_after": job.n_rows + n_syn,
        "classes": [{"class": p.label, "before": p.before, "after": p.after, "method": p.method,
                     "params": p.params, "note": p.note} for p in job.plans.values()],
        "columns": {"numeric": cols.numeric, "integer": cols.integer, "categorical": cols.categorical,
                    "excluded": cols.excluded, "flag": None if cfg.no_flag else cfg.flag_column},
        "impute": cfg.impute, "seconds": round(time.perf_counter() - t0, 3),
    }
    if job.n_missing_target:
        base["missing_target"] = {"rows": job.n_missing_target, "note": "rows with an empty target "
                                  "(--drop-missing-target): not used for the synthesis nor counted in a class; "
                                  "copied to the output unchanged"}
    return base
