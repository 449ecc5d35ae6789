"""Text I/O: strict decoding with the line of the first bad byte, and the table formats
(CSV, TSV, JSONL) read as a stream of records with the byte offset where each record starts."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..errors import UsageError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
csv.field_size_limit(1 << 30)


class TextDecodeError(ValueError):
    pass


def decode(raw: bytes, encoding: str, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() == "utf8":
        raw = raw[3:]
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise TextDecodeError(f"line {line}, column {col}: not valid {encoding} ({e.reason}); "
                              "pass --encoding (e.g. latin-1) if the file uses another encoding")


def table_format(path: str) -> str | None:
    return TABLE_FORMATS.get(Path(path).suffix.lower())


class RecordReader:
    """Records of a CSV/TSV/JSONL file from byte `offset`: yields (line number, offset of the
    record, fields) where fields is a list (CSV/TSV, after the header) or a dict (JSONL).
    Lines are decoded one by one so that a bad byte is reported with its line number."""

    def __init__(self, path: str, fmt: str, encoding: str, offset: int = 0, line: int = 1):
        self.path, self.fmt, self.encoding = path, fmt, encoding
        if "://" in str(path):  # a table at a URL (s3://...): ranged reads through fsspec
            from ..storage import RemotePath, local

            self.f = open(local(path), "rb") if str(path).startswith("file://") else RemotePath(path).open_read()
        else:
            self.f = open(path, "rb")
        if offset == 0 and self.f.read(3) != b"\xef\xbb\xbf":
            self.f.seek(0)
        elif offset:
            self.f.seek(offset)
        self.pos = self.f.tell()
        self.line = line - 1  # number of the last line read

    def close(self):
        self.f.close()

    def _lines(self):
        for raw in self.f:
            self.line += 1
            try:
                s = raw.decode(self.encoding)
            except UnicodeDecodeError as e:
                raise UsageError(f"{self.path}: line {self.line}, column {e.start + 1}: not valid {self.encoding} "
                                 f"({e.reason}); pass --encoding (e.g. latin-1) if the file uses another encoding")
            self.pos += len(raw)
            yield s

    def header(self) -> list[str]:
        if self.fmt == "jsonl":
            return []
        try:
            row = next(self._reader())
        except StopIteration:
            raise UsageError(f"{self.path}: the file is empty (no header line)")
        return row

    def _reader(self):
        if not hasattr(self, "_csv"):
            self._csv = csv.reader(self._lines(), delimiter="\t" if self.fmt == "tsv" else ",", strict=True)
        return self._csv

    def records(self):
        """(first line, start offset, fields) for each record; blank lines are skipped."""
        if self.fmt == "jsonl":
            start = self.pos
            for s in self._lines():
                first = self.line
                if s.strip():
                    try:
                        obj = json.loads(s)
                    except ValueError as e:
                        raise UsageError(f"{self.path}: line {first}: not valid JSON ({e})")
                    if not isinstance(obj, dict):
                        raise UsageError(f"{self.path}: line {first}: expected a JSON object per line")
                    yield first, start, obj
                start = self.pos
            return
        reader = self._reader()
        while True:
            start, first = self.pos, self.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise UsageError(f"{self.path}: line {first}: malformed {self.fmt.upper()} ({e})")
            if row:
                yield first, start, row


class RecordWriter:
    """Writes records in the input's format to a binary stream (always UTF-8)."""

    def __init__(self, fmt: str, columns: list[str]):
        self.fmt, self.columns = fmt, columns
        self.buf = io.StringIO()
        if fmt != "jsonl":
            self.w = csv.writer(self.buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")

    def header(self) -> bytes:
        if self.fmt == "jsonl":
            return b""
        self.w.writerow(self.columns)
        return self.take()

    def write(self, record) -> None:
        if self.fmt == "jsonl":
            self.buf.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            self.buf.write("\n")
        else:
            self.w.writerow(record)

    def take(self) -> bytes:
        data = self.buf.getvalue().encode("utf-8")
        self.buf.seek(0)
        self.buf.truncate()
        return data
