"""Table I/O for tabular oversampling: CSV/TSV through pyarrow's multi-threaded reader, Parquet.

For CSV/TSV output the original rows are copied from the input file byte for byte (with the flag
column's value appended to each record), and only the synthetic rows are formatted; so the
original rows are exactly what they were, and writing costs little more than a file copy.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import UsageError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
EXT = {"csv": ".csv", "tsv": ".tsv", "parquet": ".parquet"}


def table_format(path: str) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: unknown table format; allowed: .csv, .tsv, .parquet")
    return fmt


def _pa():
    import pyarrow  # lazy: only the tabular modality needs it

    return pyarrow


def _csv_opts(fmt: str):
    import pyarrow.csv as pc

    return pc.ParseOptions(delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True)


def is_utf8(encoding: str) -> bool:
    import codecs

    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _read_opts(encoding: str, block_size: int | None = None):
    """pyarrow decodes UTF-8 itself (a BOM is skipped); another encoding is transcoded to UTF-8."""
    import pyarrow.csv as pc

    kw = {} if block_size is None else {"block_size": block_size}
    return pc.ReadOptions(**kw) if is_utf8(encoding) else pc.ReadOptions(encoding=encoding, **kw)


def _unreadable(path: str, fmt: str, e: Exception, encoding: str) -> UsageError:
    """The one-line error for a table pyarrow cannot read; text that is not in the encoding names
    its column and first row, and offers --encoding."""
    msg = " ".join(str(e).split())
    m = re.search(r"In CSV column #(\d+): CSV conversion error to (?:large_)?string: invalid UTF8", msg)
    if m and fmt != "parquet":
        try:
            names = schema(path, fmt, encoding).names
            return not_text(path, fmt, names[int(m.group(1))], encoding)
        except (UsageError, IndexError):
            pass
    return UsageError(f"{path}: cannot read the table ({msg})")


def not_text(path: str, fmt: str, column: str, encoding: str) -> UsageError:
    """Column `column` holds bytes that are not text in `encoding`: where, and what to do."""
    row = first_undecodable(path, fmt, column, encoding)
    where = f" ({locate(path, fmt, [row])})" if row is not None else ""
    return UsageError(f"{path}: column {column!r} is not valid {encoding} text{where}; pass --encoding with the "
                      f"file's encoding (e.g. --encoding latin-1 or cp1252), or --exclude {column}")


def first_undecodable(path: str, fmt: str, column: str, encoding: str) -> int | None:
    """0-based data row of the first value of `column` that is not text in `encoding`."""
    pa = _pa()
    import pyarrow.csv as pc

    try:
        conv = pc.ConvertOptions(column_types={column: pa.binary()}, include_columns=[column])
        col = pc.read_csv(path, parse_options=_csv_opts(fmt), convert_options=conv).column(column)
    except (pa.ArrowInvalid, OSError):
        return None
    offset = 0
    for chunk in col.chunks:
        for i, v in enumerate(chunk.to_pylist()):
            try:
                if v is not None:
                    v.decode(encoding)
            except UnicodeDecodeError:
                return offset + i
        offset += len(chunk)
    return None


def locate(path: str, fmt: str, rows, limit: int = 5) -> str:
    """Where the 0-based data rows `rows` are, for a message: 'lines 5, 9' (file lines, CSV/TSV)
    or 'rows 4, 8' (1-based data rows, Parquet); at most `limit`, then '...'."""
    rows = sorted({int(r) for r in rows})
    first, more = rows[:limit], len(rows) > limit
    if fmt == "parquet":
        nums, word = [r + 1 for r in first], "row"
    else:
        at = line_numbers(path, first)
        nums, word = [at.get(r, "?") for r in first], "line"
    return f"{word}{'s' if len(rows) > 1 else ''} {', '.join(map(str, nums))}{', ...' if more else ''}"


def line_numbers(path: str, rows: list[int]) -> dict:
    """File line (1-based) where each 0-based data row starts: records are counted as pyarrow
    does (blank lines skipped, a quoted value may span lines). Reads up to the last row asked."""
    want, found = set(rows), {}
    if not want:
        return found
    last, rec, line_no, start, open_quote = max(want), -1, 0, 0, False  # rec -1: the header
    with open(path, "rb") as f:
        for line in f:
            line_no += 1
            if not open_quote:
                if not line.strip(b"\r\n"):
                    continue
                start = line_no
            if line.count(b'"') & 1:
                open_quote = not open_quote
            if not open_quote:
                if rec in want:
                    found[rec] = start
                rec += 1
                if rec > last:
                    break
    return found


def schema(path: str, fmt: str, encoding: str = "utf-8"):
    """Column names and the types pyarrow infers from the first block (CSV) or the file (Parquet)."""
    pa = _pa()
    if os.path.getsize(path) == 0:
        raise UsageError(f"{path}: the file is empty")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(path)
        import pyarrow.csv as pc

        with pc.open_csv(path, parse_options=_csv_opts(fmt), read_options=_read_opts(encoding, 1 << 20)) as r:
            return r.schema
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the table ({' '.join(str(e).split())})")


def read(path: str, fmt: str, column_types: dict, columns: list[str] | None = None, encoding: str = "utf-8"):
    """The table (all columns, or `columns`), with the given types (others inferred)."""
    pa = _pa()
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            t = pq.read_table(path, columns=columns)
            return t.cast(pa.schema([pa.field(f.name, column_types.get(f.name, f.type)) for f in t.schema]))
        import pyarrow.csv as pc

        conv = pc.ConvertOptions(column_types=column_types, include_columns=columns,
                                 strings_can_be_null=False, quoted_strings_can_be_null=False)
        t = pc.read_csv(path, parse_options=_csv_opts(fmt), convert_options=conv, read_options=_read_opts(encoding))
        release()
        return t
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise _unreadable(path, fmt, e, encoding) from None


def blank(column):
    """Boolean array: the value is missing (null, empty or only whitespace)."""
    import pyarrow.compute as pc_

    return pc_.fill_null(pc_.match_substring_regex(column, r"^\s*$"), True)


def read_rows_of(path: str, fmt: str, column_types: dict, columns: list[str], target: str, classes: list[str],
                 extra: int = 0, encoding: str = "utf-8"):
    """Only the rows whose target is in `classes` (plus the first `extra` other rows with a target),
    streamed batch by batch: memory holds those rows and one block, never the whole table.
    Returns (table, the kept rows' 0-based numbers in the file's data rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc_
    import pyarrow.csv as pc

    wanted = pa.array(classes, type=pa.string())
    kept, rows, others, offset = [], [], 0, 0
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(path).iter_batches(columns=columns)
        else:
            conv = pc.ConvertOptions(column_types=column_types, include_columns=columns,
                                     strings_can_be_null=False, quoted_strings_can_be_null=False)
            batches = pc.open_csv(path, parse_options=_csv_opts(fmt), convert_options=conv,
                                  read_options=_read_opts(encoding, 1 << 22))
        for batch in batches:
            if fmt == "parquet":
                batch = pa.Table.from_batches([batch]).cast(
                    pa.schema([pa.field(f.name, column_types.get(f.name, f.type)) for f in batch.schema])
                ).combine_chunks().to_batches()[0] if batch.num_rows else batch
            mask = pc_.is_in(batch.column(target), value_set=wanted)
            if others < extra:
                inv = pc_.and_(pc_.invert(mask), pc_.invert(blank(batch.column(target))))
                idx = pc_.indices_nonzero(inv).slice(0, extra - others)
                if len(idx):
                    mask = pc_.or_(mask, pc_.is_in(pa.array(range(batch.num_rows)), value_set=idx))
                    others += len(idx)
            kept.append(batch.filter(mask))
            rows.append(np.flatnonzero(mask.to_numpy(zero_copy_only=False)) + offset)
            offset += batch.num_rows
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise _unreadable(path, fmt, e, encoding) from None
    if not kept:
        return None, np.zeros(0, np.int64)
    out = pa.Table.from_batches(kept).combine_chunks()
    del kept
    release()
    return out, np.concatenate(rows)


def release() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system (after a read)."""
    try:
        _pa().default_memory_pool().release_unused()
    except AttributeError:  # older pyarrow
        pass


def _eol(head: bytes) -> bytes:
    i = head.find(b"\n")
    return b"\r\n" if i > 0 and head[i - 1:i] == b"\r" else b"\n"


def copy_original_records(src: str, out, fmt: str, flag: str | None, encoding: str = "utf-8") -> tuple[str, str]:
    """Header and original records copied byte for byte from `src` to the open file `out`, with
    `,0` for the flag column appended; returns the (delimiter, line end) the input uses."""
    sep = b"\t" if fmt == "tsv" else b","
    with open(src, "rb") as f:
        first = f.readline()
        if first.startswith(b"\xef\xbb\xbf"):
            out.write(b"\xef\xbb\xbf")
            first = first[3:]
        eol = _eol(first)
        header = first.rstrip(b"\r\n")
        out.write(header + (sep + flag.encode(encoding) if flag else b"") + eol)
        _copy_records(f, out, eol, sep + b"0" if flag else b"")
    return sep.decode(), eol.decode()


def write_rows(table, out, delimiter: str, eol: str, header: bool = False, encoding: str = "utf-8") -> None:
    """CSV rows by pyarrow's C++ writer, straight into the open file `out`. Values are quoted only
    where needed: Arrow's "needed" style quotes every string, so when no string holds a delimiter,
    quote or line end the table is written unquoted. Another encoding than UTF-8 (the input's,
    so that the output is in one encoding) goes through a buffer."""
    if not is_utf8(encoding):
        import io

        buf = io.BytesIO()
        write_rows(table, buf, delimiter, eol, header)
        out.write(buf.getvalue().decode("utf-8").encode(encoding))
        return
    import pyarrow as pa
    import pyarrow.compute as pc_
    import pyarrow.csv as pc

    special = "[" + "".join({"\t": "\\t", ",": ","}.get(delimiter, delimiter)) + '"\\r\\n]'
    quote = False
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            if pc_.any(pc_.match_substring_regex(col, special)).as_py():
                quote = True
                break
    out.flush()
    if header:  # Arrow quotes every column name; quote only those that need it, like the values
        names = ['"' + n.replace('"', '""') + '"' if re.search(special, n) else n for n in table.column_names]
        out.write((delimiter.join(names) + eol).encode("utf-8"))
        out.flush()
    opts = pc.WriteOptions(include_header=False, delimiter=delimiter, eol=eol,
                           quoting_style="needed" if quote else "none")
    pc.write_csv(table, out, write_options=opts)


def _copy_records(f, out, eol: bytes, suffix: bytes) -> None:
    """Copy every record, `suffix` appended. A block without quotes and blank lines is split
    into lines at C speed; otherwise a record ends at a line end where the quotes are balanced."""
    open_quote, pending = False, b""
    while True:
        data = f.read(1 << 22)
        if not data:
            break
        data = pending + data
        cut = data.rfind(b"\n") + 1
        whole, pending = data[:cut], data[cut:]
        if not whole:
            continue
        if not suffix:
            out.write(whole)
        elif not open_quote and b'"' not in whole and eol + eol not in whole and not whole.startswith(eol):
            body = whole[:-len(eol)]
            out.write(body.replace(eol, suffix + eol) + suffix + eol)
        else:
            parts = []
            for line in whole.split(b"\n")[:-1]:
                line += b"\n"
                if line.count(b'"') & 1:
                    open_quote = not open_quote
                body = line.rstrip(b"\r\n")
                if open_quote or not body:
                    parts.append(line)
                else:
                    parts.append(body + suffix + eol)
            out.write(b"".join(parts))
    if pending:  # a last record without a line end
        out.write((pending + suffix if pending.strip() else pending) + eol)
