"""Input checks of table oversampling: the encoding, the target's missing values, free-text
columns, missing and infinite feature values. Each problem stops the run with one line naming
the columns, counts and first rows (file lines for CSV/TSV, 1-based data rows for Parquet)."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..errors import UsageError


@dataclass
class Columns:
    names: list[str]
    target: str
    numeric: list[str] = field(default_factory=list)
    integer: list[str] = field(default_factory=list)  # numeric columns that hold integers
    categorical: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


def split_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


def columns(cfg, schema) -> tuple[Columns, dict]:
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
    declared, excluded = split_list(cfg.categorical), split_list(cfg.exclude)
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


def table_encoding(cfg) -> str:
    """--encoding for a table: one that spells ASCII as ASCII (the original records are copied
    byte for byte and split at line ends, which UTF-16/32 would not allow)."""
    from ..io.tabular import is_utf8

    enc = cfg.encoding or "utf-8"
    if is_utf8(enc):
        return enc
    probe = ',\t"\r\n0aZ_'
    try:
        ok = probe.encode(enc) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        ok = False
    if not ok:
        raise UsageError(f"--encoding {enc}: tables must be in an encoding that writes ASCII as ASCII "
                         "(utf-8, latin-1, cp1252, ...); convert the file to UTF-8 first")
    return enc


def check_text_columns(cfg, fmt: str, schema, encoding: str) -> None:
    """A CSV/TSV column pyarrow reads as bytes holds text that is not in the encoding: name the
    column and its first such row, and offer --encoding (not "has type binary")."""
    import pyarrow as pa

    from ..io.tabular import not_text

    if fmt == "parquet":
        return
    excluded = set(split_list(cfg.exclude))
    for f in schema:
        if (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)) and f.name not in excluded:
            raise not_text(cfg.input, fmt, f.name, encoding)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def missing_target(cfg, fmt: str, ycol):
    """Boolean mask (numpy) of the rows whose target is missing (null, empty or only whitespace),
    or None when there are none. They stop the run, unless --drop-missing-target: then they are
    left out of the synthesis and the class counts (the output keeps them unchanged)."""
    import numpy as np
    import pyarrow.compute as pc

    from ..io.tabular import blank, locate

    mask = blank(ycol)
    n = int(pc.sum(mask).as_py() or 0)
    if not n:
        return None
    mask = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    where = locate(cfg.input, fmt, np.flatnonzero(mask)[:6])
    if not cfg.drop_missing_target:
        raise UsageError(f"{cfg.input}: the target {cfg.target!r} is empty in {_plural(n, 'row')} ({where}); "
                         "fill or drop them, or pass --drop-missing-target")
    print(f"warning: {cfg.input}: {_plural(n, 'row')} with an empty target {cfg.target!r} ({where}) left out of "
          "the synthesis and the class counts; the output keeps them unchanged", file=sys.stderr)
    return mask


def check_free_text(cfg, table, cols: Columns) -> None:
    """A text column with mostly distinct values is free text or an ID, not a category: one-hot
    encoding it would be useless (and huge). Declared categoricals are trusted."""
    import pyarrow.compute as pc

    declared = set(split_list(cfg.categorical))
    n = table.num_rows
    for c in cols.categorical:
        if c in declared or n < 20:
            continue
        distinct = pc.count_distinct(table.column(c)).as_py()
        if distinct > 50 and distinct > n // 2:
            raise UsageError(f"{cfg.input}: column {c!r} looks like free text or an ID ({distinct} distinct values "
                             f"in {n} rows): exclude it (--exclude {c}) or declare it categorical (--categorical {c})")


def features(cfg, fmt: str, table, cols: Columns, sel, rows):
    """Feature matrix of the selected rows: numeric columns first (float, NaN for missing), then
    categorical ones (their text; None for missing). Object dtype when categoricals are present.
    `rows`: the table rows' 0-based numbers in the file. Returns (X, {column: file rows missing}).
    Infinite values stop the run (with --impute they count as missing)."""
    import numpy as np

    n = int(sel.sum())
    rows = np.asarray(rows)[sel]
    missing, infinite = {}, {}
    if not cols.categorical:
        X = np.empty((n, len(cols.numeric)), dtype=np.float64)
    else:
        X = np.empty((n, len(cols.numeric) + len(cols.categorical)), dtype=object)
    for j, c in enumerate(cols.numeric):
        v = table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)[sel]
        inf = np.isinf(v)
        if inf.any():
            infinite[c] = rows[inf]
            v[inf] = np.nan
        nan = np.isnan(v)
        if nan.any():
            missing[c] = rows[nan]
        X[:, j] = v
    for j, c in enumerate(cols.categorical, start=len(cols.numeric)):
        v = np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=object)[sel]
        empty = np.array([x is None or x == "" for x in v]) if len(v) else np.zeros(0, bool)
        if empty.any():
            missing[c] = rows[empty]
            v[empty] = None
        X[:, j] = v
    if infinite and cfg.impute is None:
        _infinite(cfg, fmt, infinite)
    return X, missing


def _infinite(cfg, fmt: str, infinite: dict) -> None:
    from ..io.tabular import locate

    parts = [f"column {c!r} holds {_plural(len(r), 'infinite value')} ({locate(cfg.input, fmt, r[:6])})"
             for c, r in infinite.items()]
    raise UsageError(f"{cfg.input}: {', '.join(parts)}; fix them in the file, pass --impute "
                     f"median|most-frequent|drop to treat them as missing, or --exclude {','.join(infinite)}")


def impute(cfg, fmt: str, X, y, cols: Columns, missing: dict):
    import numpy as np

    from ..io.tabular import locate

    if not missing:
        return X, y
    if cfg.impute is None:
        listing = ", ".join(f"{c} ({len(r)})" for c, r in missing.items())
        first = np.unique(np.concatenate([r[:6] for r in missing.values()]))[:6]
        raise UsageError(f"{cfg.input}: missing values in {listing}, first at {locate(cfg.input, fmt, first)}; "
                         "pass --impute median|most-frequent|drop (the original rows are written unchanged; "
                         "imputation only feeds the synthesis)")
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
