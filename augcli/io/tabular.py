"""Table I/O for tabular oversampling: CSV/TSV through pyarrow's multi-threaded reader, Parquet.

For CSV/TSV output the original rows are copied from the input file byte for byte (with the flag
column's value appended to each record), and only the synthetic rows are formatted; so the
original rows are exactly what they were, and writing costs little more than a file copy.
"""
from __future__ import annotations

import os
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
        return pc.read_csv(path, parse_options=_csv_opts(fmt), convert_options=conv)
    except (pa.ArrowInvalid, OSError) as e:
        raise UsageError(f"{path}: cannot read the table ({' '.join(str(e).split())})")


def _eol(head: bytes) -> bytes:
    i = head.find(b"\n")
    return b"\r\n" if i > 0 and head[i - 1:i] == b"\r" else b"\n"


def write_csv_with_originals(src: str, dst_tmp, fmt: str, flag: str | None, synthetic) -> None:
    """Header and original records copied byte for byte from `src` (plus `,0` for the flag
    column), then the synthetic rows (an Arrow table in the output column order, flag = 1)."""
    import pyarrow.csv as pc

    sep = b"\t" if fmt == "tsv" else b","
    with open(src, "rb") as f, open(dst_tmp, "wb") as out:
        first = f.readline()
        if first.startswith(b"\xef\xbb\xbf"):
            out.write(b"\xef\xbb\xbf")
            first = first[3:]
        eol = _eol(first)
        header = first.rstrip(b"\r\n")
        out.write(header + (sep + flag.encode() if flag else b"") + eol)
        _copy_records(f, out, eol, sep + b"0" if flag else b"")
        if synthetic is not None and synthetic.num_rows:
            write_rows(synthetic, out, sep.decode(), eol.decode())


def write_rows(table, out, delimiter: str, eol: str, header: bool = False) -> None:
    """CSV rows by pyarrow's C++ writer; values are quoted only where needed (Arrow's "needed"
    style quotes every string, so unquoted writing is tried first, per batch)."""
    import pyarrow as pa
    import pyarrow.csv as pc

    for i, batch in enumerate(table.to_batches(max_chunksize=1 << 16)):
        opts = dict(include_header=header and i == 0, delimiter=delimiter, eol=eol)
        buf = pa.BufferOutputStream()
        try:
            pc.write_csv(batch, buf, write_options=pc.WriteOptions(quoting_style="none", **opts))
        except pa.ArrowInvalid:  # a value holds a delimiter, quote or line end
            buf = pa.BufferOutputStream()
            pc.write_csv(batch, buf, write_options=pc.WriteOptions(quoting_style="needed", **opts))
        out.write(buf.getvalue().to_pybytes())


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
