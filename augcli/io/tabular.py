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


def schema(path: str, fmt: str):
    """Column names and the types pyarrow infers from the first block (CSV) or the file (Parquet)."""
    pa = _pa()
    if os.path.getsize(path) == 0:
        raise UsageError(f"{path}: the file is empty")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(path)
        import pyarrow.csv as pc

        with pc.open_csv(path, parse_options=_csv_opts(fmt),
                         read_options=pc.ReadOptions(block_size=1 << 20)) as r:
            return r.schema
    except (pa.ArrowInvalid, OSError) as e:
        raise UsageError(f"{path}: cannot read the table ({' '.join(str(e).split())})")


def read(path: str, fmt: str, column_types: dict, columns: list[str] | None = None):
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
        t = pc.read_csv(path, parse_options=_csv_opts(fmt), convert_options=conv)
        release()
        return t
    except (pa.ArrowInvalid, OSError) as e:
        raise UsageError(f"{path}: cannot read the table ({' '.join(str(e).split())})")


def read_rows_of(path: str, fmt: str, column_types: dict, columns: list[str], target: str, classes: list[str],
                 extra: int = 0):
    """Only the rows whose target is in `classes` (plus the first `extra` other rows), streamed
    batch by batch: memory holds those rows and one block, never the whole table."""
    import pyarrow as pa
    import pyarrow.compute as pc_
    import pyarrow.csv as pc

    wanted = pa.array(classes, type=pa.string())
    kept, others = [], 0
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(path).iter_batches(columns=columns)
        else:
            conv = pc.ConvertOptions(column_types=column_types, include_columns=columns,
                                     strings_can_be_null=False, quoted_strings_can_be_null=False)
            batches = pc.open_csv(path, parse_options=_csv_opts(fmt), convert_options=conv,
                                  read_options=pc.ReadOptions(block_size=1 << 22))
        for batch in batches:
            if fmt == "parquet":
                batch = pa.Table.from_batches([batch]).cast(
                    pa.schema([pa.field(f.name, column_types.get(f.name, f.type)) for f in batch.schema])
                ).combine_chunks().to_batches()[0] if batch.num_rows else batch
            mask = pc_.is_in(batch.column(target), value_set=wanted)
            if others < extra:
                inv = pc_.invert(mask)
                idx = pc_.indices_nonzero(inv).slice(0, extra - others)
                if len(idx):
                    mask = pc_.or_(mask, pc_.is_in(pa.array(range(batch.num_rows)), value_set=idx))
                    others += len(idx)
            kept.append(batch.filter(mask))
    except (pa.ArrowInvalid, OSError) as e:
        raise UsageError(f"{path}: cannot read the table ({' '.join(str(e).split())})")
    if not kept:
        return None
    out = pa.Table.from_batches(kept).combine_chunks()
    del kept
    release()
    return out


def release() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system (after a read)."""
    try:
        _pa().default_memory_pool().release_unused()
    except AttributeError:  # older pyarrow
        pass


def _eol(head: bytes) -> bytes:
    i = head.find(b"\n")
    return b"\r\n" if i > 0 and head[i - 1:i] == b"\r" else b"\n"


def copy_original_records(src: str, out, fmt: str, flag: str | None) -> tuple[str, str]:
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
        out.write(header + (sep + flag.encode() if flag else b"") + eol)
        _copy_records(f, out, eol, sep + b"0" if flag else b"")
    return sep.decode(), eol.decode()


def write_rows(table, out, delimiter: str, eol: str, header: bool = False) -> None:
    """CSV rows by pyarrow's C++ writer, straight into the open file `out`. Values are quoted only
    where needed: Arrow's "needed" style quotes every string, so when no string holds a delimiter,
    quote or line end the table is written unquoted."""
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
        out.write((delimiter.join(names) + eol).encode())
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
