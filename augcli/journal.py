"""The journal's bytes (manifest.csv while a run writes it: rows in the order jobs ended) put
in plan order: where each planned output's row is (`_Offsets`, recorded as rows are written), or
found by reading every record (`in_plan_order`); the records copied out in plan order (`_in_order`)
from the mapped file, its pages let go as they are read. The rows' text is never held in memory.
"""
from __future__ import annotations

import csv
import mmap


def _record_end(data, at: int) -> int:
    """The end of the CSV record at byte `at` of `data`: lines up to one that leaves an even count
    of quotes (a quoted field may hold a newline)."""
    n = len(data)
    end = data.find(b"\n", at)
    end = n if end < 0 else end + 1
    quotes = data[at:end].count(b'"')  # (an mmap has no count)
    while quotes % 2 and end < n:
        nxt = data.find(b"\n", end)
        nxt = n if nxt < 0 else nxt + 1
        quotes += data[end:nxt].count(b'"')
        end = nxt
    return end


def _records(data, header: bool = True):
    """(byte offset, path) of each CSV record of the bytes (or mmap) `data`, a header
    first left out (_record_end); its path is its first field."""
    n, at, let_go = len(data), 0, _LET_GO
    while at < n:
        if at >= let_go:
            let_go = _let_go(data, at)
        end = _record_end(data, at)
        if header:
            header = False
            if data[at:at + 5] == b"path,":
                at = end
                continue
        if data[at:at + 1] == b'"':
            path = next(csv.reader([data[at:end].decode("utf-8", "replace")]), [""])[0]
        else:
            comma = data.find(b",", at, end)
            path = data[at:comma if comma >= 0 else end - 1].decode("utf-8", "replace")
        yield at, path
        at = end


def in_plan_order(data, locate, planned: int):
    """The records of `data` (a journal's bytes: header, rows) as text in plan order
    (`locate(path)` -> (position, _) or None; paths the plan does not make last, as they came;
    `planned`: the plan's output count). Held meanwhile: each planned position's record offset
    (8 bytes an output), not the rows' text nor a sort of them; a second record for a position
    follows the first."""
    rows = _Offsets(planned)
    for at, path in _records(data):
        got = locate(path, False)
        rows.put(got[0] if got is not None else NOWHERE, at)
    return _in_order(data, rows.at, sorted(rows.extra))


def _in_order(data, at, extra: list):
    """The records at the offsets `at` holds (by position), each position's extras after it."""
    import numpy as np

    step, e, done = 65_536, 0, 0
    for lo in range(0, len(at), step):
        chunk = at[lo:lo + step]
        for p in (np.flatnonzero(chunk >= 0) + lo).tolist():
            yield _record(data, int(at[p]))
            while e < len(extra) and extra[e][0] <= p:
                yield _record(data, extra[e][2])
                e += 1
            done += 1
            if done % 8192 == 0:
                _let_go(data, len(data))
    for _, _, off in extra[e:]:
        yield _record(data, off)


def _record(data, at: int) -> str:
    return data[at:_record_end(data, at)].decode("utf-8")


_LET_GO = 4 << 20
NOWHERE = 1 << 62  # the position of a row the plan does not make: after every planned one


def _let_go(data, upto: int) -> int:
    """Drop the pages of a mapped file read up to `upto` from this process (they stay in the page
    cache): the journal is read through once, it need not count in the run's memory. Returns
    the offset at which to do so again."""
    if hasattr(data, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        data.madvise(mmap.MADV_DONTNEED, 0, upto - upto % mmap.PAGESIZE)
    return upto + _LET_GO


class _Offsets:
    """Where each planned output's row is in the journal (byte offsets by position: 8 bytes an
    output), as the rows are written; rows of no planned output, or a second one, in `extra`."""

    def __init__(self, planned: int, end: int = 0):
        import numpy as np

        self.at = np.full(planned, -1, dtype=np.int64)
        self.reset(end)

    def reset(self, end: int) -> None:
        """No rows yet, the journal `end` bytes long (its header)."""
        self.at.fill(-1)
        self.extra: list[tuple[int, int, int]] = []  # (position, sequence, offset)
        self.end = end  # the journal's length so far
        self.known = True  # False: rows were written that are not recorded here

    def add(self, pos: int, line: str) -> None:
        """The row `line` of the output at `pos`, written at the journal's end."""
        self.put(pos, self.end)
        self.end += len(line) if line.isascii() else len(line.encode("utf-8"))

    def put(self, pos: int, offset: int) -> None:
        if pos < len(self.at) and self.at[pos] < 0:
            self.at[pos] = offset
        else:
            self.extra.append((pos, len(self.extra), offset))
