"""The journal's bytes (manifest.csv while a run writes it: rows in the order jobs ended) put
in plan order: where runs of rows of consecutive positions are (`_Runs`, recorded as rows are written), or
found by reading every record (`in_plan_order`); the records copied out in plan order (`_in_order`)
from the mapped file, its pages let go as they are read. The rows' text is never held in memory.
"""
from __future__ import annotations

import csv
import mmap
from array import array


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
    """(byte offset, end offset, path) of each CSV record of the bytes (or mmap) `data`, a header
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
        yield at, end, path
        at = end


def in_plan_order(data, locate, planned: int):
    """The records of `data` (a journal's bytes: header, rows) as text in plan order
    (`locate(path)` -> (position, _) or None; paths the plan does not make last, as they came;
    `planned`: the plan's output count). Held meanwhile: where runs of rows of consecutive
    positions are (_Runs), not the rows' text nor a sort of them; a second record for a position
    follows the first."""
    rows = _Runs(planned)
    for at, end, path in _records(data):
        got = locate(path, False)
        rows.put(got[0] if got is not None else NOWHERE, at, end)
    return _in_order(data, rows)


_CHUNK = 1 << 18  # the text of a long run is given out this many bytes at a time (cut after a newline)


def _in_order(data, rows: "_Runs"):
    """The records `rows` locates, in plan order: each run's bytes as they are (a few large
    strings, cut at newlines), a position's extra records after its own, then the unplanned."""
    import numpy as np

    extra, e, pages = sorted(rows.extra), 0, _Pages(data)
    first = np.frombuffer(rows.first, dtype=np.int64)
    for r in np.argsort(first, kind="stable").tolist():
        p, n, at, stop = rows.first[r], rows.count[r], rows.at[r], rows.stop[r]
        if e < len(extra) and extra[e][0] < p + n:  # extras inside: record by record
            for k in range(n):
                end = _record_end(data, at)
                yield pages.text(at, end)
                at = end
                while e < len(extra) and extra[e][0] <= p + k:
                    yield pages.text(extra[e][2], _record_end(data, extra[e][2]))
                    e += 1
            continue
        while at < stop:
            cut = stop if stop - at <= _CHUNK else data.find(b"\n", at + _CHUNK, stop) + 1 or stop
            yield pages.text(at, cut)
            at = cut
    for _, _, off in extra[e:]:
        yield pages.text(off, _record_end(data, off))


class _Pages:
    """Text read from a mapped journal, in any order; the pages read are let go every _LET_GO
    bytes (plan order may go back and forth in the file)."""

    def __init__(self, data):
        self.data, self.lo, self.hi, self.read = data, len(data), 0, 0

    def text(self, at: int, end: int) -> str:
        got = self.data[at:end].decode("utf-8")
        self.lo, self.hi, self.read = min(self.lo, at), max(self.hi, end), self.read + end - at
        if self.read >= _LET_GO:
            _let_go(self.data, self.hi, self.lo)
            self.lo, self.hi, self.read = len(self.data), 0, 0
        return got


_LET_GO = 1 << 20
NOWHERE = 1 << 62  # the position of a row the plan does not make: after every planned one


def _let_go(data, upto: int, start: int = 0) -> int:
    """Drop the pages of a mapped file read from `start` up to `upto` from this process (they stay
    in the page cache): the journal is read through once, it need not count in the run's memory.
    Returns the offset at which to do so again (reading forward)."""
    if hasattr(data, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        start -= start % mmap.PAGESIZE
        if upto - upto % mmap.PAGESIZE > start:
            data.madvise(mmap.MADV_DONTNEED, start, upto - upto % mmap.PAGESIZE - start)
    return upto + _LET_GO


class Bits:
    """A set of positions below n, a bit each (`bits[i]`, `bits.add(i)`): which planned outputs
    have a row, at 1 M outputs 125 KB."""

    __slots__ = ("bits", "n")

    def __init__(self, n: int):
        self.bits, self.n = bytearray((n + 7) >> 3), n

    def __getitem__(self, i: int) -> bool:
        return bool(self.bits[i >> 3] >> (i & 7) & 1)

    def add(self, i: int) -> None:
        self.bits[i >> 3] |= 1 << (i & 7)

    def flags(self):
        """A uint8 numpy array, 1 where a position is in the set (a byte an output: for a moment)."""
        import numpy as np

        return np.unpackbits(np.frombuffer(self.bits, dtype=np.uint8), count=self.n, bitorder="little")


class _Runs:
    """Where the planned outputs' rows are in the journal, as the rows are written: runs of rows of
    consecutive positions one after another in the file (the first position, the row count, the
    byte offsets where the run starts and stops). A job's rows make one run, and so mostly does a
    pool message's jobs: at 1 M outputs ~3,000 runs, not an offset an output. A second row for a
    position, or one of no planned output, is an extra: (position, sequence, offset)."""

    def __init__(self, planned: int, end: int = 0):
        self.planned = planned
        self.reset(end)

    def reset(self, end: int) -> None:
        """No rows yet, the journal `end` bytes long (its header)."""
        self.first, self.count, self.at, self.stop = array("q"), array("q"), array("q"), array("q")
        self.seen = Bits(self.planned)
        self.extra: list[tuple[int, int, int]] = []
        self.end = end  # the journal's length so far
        self.known = True  # False: rows were written that are not recorded here
        self._next = -1  # the position that would continue the last run

    def add(self, pos: int, line: str) -> None:
        """The row `line` of the output at `pos`, written at the journal's end."""
        end = self.end + (len(line) if line.isascii() else len(line.encode("utf-8")))
        self.put(pos, self.end, end)
        self.end = end

    def put(self, pos: int, at: int, end: int) -> None:
        """The record at bytes [at, end) holds the row of the output at `pos`."""
        if not 0 <= pos < self.planned or self.seen[pos]:
            self.extra.append((pos, len(self.extra), at))
            return
        self.seen.add(pos)
        if pos == self._next and at == self.stop[-1]:
            self.count[-1] += 1
            self.stop[-1] = end
        else:
            self.first.append(pos)
            self.count.append(1)
            self.at.append(at)
            self.stop.append(end)
        self._next = pos + 1
