"""A listing of input files held compactly, for plans of millions of sources.

`Item` is one input file. `Listing` is a sequence of Items, but what it holds per file is the
end offset of its source's text (4 bytes; 8 past 4 GB of text), a label code (1 byte; more past
256 classes) and nothing else unless the file's path is not `base + source` or its output key is
not the source's stem path (those few are kept in dicts). The text itself (`_Text`) is in memory
up to 1 MB, then in an unnamed temp file, read back a block at a time: the plan and the run read
the files in order. An Item is made only when one is read (`listing[i]`); the plan reads the
columns (`source(i)`, `label(i)`, `out_key(i)`) instead. A list of Items costs ~150 bytes a file,
this ~5 in memory.
"""
from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence


class Item:
    """One input file: `path` (absolute path or URL), `source` (relative to the input root,
    posix, as the manifest shows it), `label` (class name, None without labels), `out_key`
    (output path within a split, without extension, e.g. "cat/img001"). An item keeps its source:
    the path is a shared root prefix + source and the output key, when it is the source without
    its extension, is derived. Many items are held as a Listing (below), not as Item objects."""

    __slots__ = ("_base", "_path", "source", "label", "_key")

    def __init__(self, path: str, source: str, label: str | None, out_key: str):
        if source and path.endswith(source):  # path = base + source: only the (shared) base is kept
            self._base, self._path = sys.intern(path[: len(path) - len(source)]), None
        else:
            self._base, self._path = None, path
        self.source, self.label = source, label
        self._key = None if out_key == _stem_path(source) else out_key

    @property
    def path(self) -> str:
        return self._path if self._base is None else self._base + self.source

    @property
    def out_key(self) -> str:
        return _stem_path(self.source) if self._key is None else self._key

    def _fields(self) -> tuple:
        return self.path, self.source, self.label, self.out_key

    def __eq__(self, other) -> bool:
        return isinstance(other, Item) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Item(path={self.path!r}, source={self.source!r}, label={self.label!r}, out_key={self.out_key!r})"

    def __reduce__(self):  # (sent to workers with every job: its slots as they are, no re-derivation)
        return _item, (self._base, self._path, self.source, self.label, self._key)


def _item(base, path, source, label, key) -> Item:
    it = Item.__new__(Item)
    it._base, it._path, it.source, it.label, it._key = base, path, source, label, key
    return it


def suffix(path: str) -> str:
    """PurePosixPath(path).suffix, by string operations (~10x faster)."""
    name = path[path.rfind("/") + 1:]
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _stem_path(rel: str) -> str:
    """str(PurePosixPath(rel).with_suffix("")) for a relative file path."""
    ext = suffix(rel)
    return rel[: len(rel) - len(ext)] if ext else rel


_WIDER = {"B": "H", "H": "I", "I": "q"}


def append(values: array, value: int) -> array:
    """values with value appended: the same array, or a copy with wider items when it does not fit."""
    try:
        values.append(value)
    except OverflowError:
        values = array(_WIDER[values.typecode], values)
        values.append(value)
    return values


class Coded(Sequence):
    """Values of a few distinct kinds (labels, extensions), held as a code each: a byte while there
    are fewer than 256 (`values`: the distinct ones, by code; `codes`: each one's, in order)."""

    def __init__(self, values=()):
        self.values: list = []
        self._code: dict = {}
        self.codes = array("B")
        for v in values:
            self.append(v)

    def append(self, value) -> None:
        code = self._code.get(value)
        if code is None:
            code = self._code[value] = len(self.values)
            self.values.append(value)
        self.codes = append(self.codes, code)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        return self.values[self.codes[i]]

    def __iter__(self):
        return map(self.values.__getitem__, self.codes)


class _Text:
    """Text appended to and read back by byte offsets: in memory up to SPILL bytes, then in an
    unnamed temp file (in TMPDIR: deleted when closed, or when the process ends however it ends),
    only the part not yet written out kept in memory. Reads come mostly in order: the last block
    read is kept."""

    SPILL, BLOCK = 1 << 20, 1 << 16

    def __init__(self):
        self.tail = bytearray()  # the text after the first `on_disk` bytes
        self.on_disk = 0
        self.f = None
        self._blk, self._b0 = b"", 0  # the last block read from the file, and where it starts

    def __len__(self) -> int:
        return self.on_disk + len(self.tail)

    def append(self, data: bytes) -> int:
        """Adds data; returns the text's length."""
        self.tail += data
        if len(self.tail) >= self.SPILL:
            self._spill()
        return self.on_disk + len(self.tail)

    def _spill(self) -> None:
        import tempfile

        try:
            if self.f is None:
                self.f = tempfile.TemporaryFile(prefix="augcli-listing-")
            self.f.seek(self.on_disk)
            self.f.write(self.tail)
            self.f.flush()
        except OSError as e:
            from .errors import UsageError

            raise UsageError(f"{tempfile.gettempdir()}: cannot keep the list of input files in a temp file there "
                             f"({e.strerror or e}); set TMPDIR to a writable folder with free space") from None
        self.on_disk += len(self.tail)
        self.tail = bytearray()

    def get(self, start: int, end: int):
        """Bytes [start, end) of the text."""
        d = self.on_disk
        if start >= d:
            return self.tail[start - d:end - d]
        if end > d:
            return self._read(start, d) + self.tail[:end - d]
        b0 = self._b0
        if start >= b0 and end <= b0 + len(self._blk):
            return self._blk[start - b0:end - b0]
        if end - start > self.BLOCK:
            return self._read(start, end)
        b0 = start - start % self.BLOCK
        self._blk, self._b0 = self._read(b0, min(d, max(end, b0 + self.BLOCK))), b0
        return self._blk[start - b0:end - b0]

    def _read(self, start: int, end: int) -> bytes:
        self.f.seek(start)
        got = self.f.read(end - start)
        if len(got) != end - start:
            raise OSError(f"{self.f.name}: the temp file of the input files' list is shorter than written")
        return got


class Listing(Sequence):
    """Items (Item, above) in one order: `base` + source is each one's path unless `_paths` says."""

    def __init__(self, base: str = ""):
        self.base = base
        self._text = _Text()
        self._ends = array("I")  # each file's text's end offset
        self._labels = Coded()  # each file's label (None for an unlabelled file)
        self._keys: dict[int, str] = {}  # output keys that are not the source's stem path
        self._paths: dict[int, str] = {}  # paths that are not base + source

    @classmethod
    def of(cls, items) -> Listing:
        """A listing of these items (a Listing is returned as it is)."""
        if isinstance(items, Listing):
            return items
        items = list(items)
        got = cls(items[0]._base if items and items[0]._base is not None else "")
        for it in items:
            got.add(it.source, it.label, it.out_key, it.path)
        return got

    @classmethod
    def of_sources(cls, base: str, sources) -> Listing:
        """Unlabelled files at base + each source."""
        got = cls(base)
        for s in sources:
            got.add(s, None)
        return got

    def append(self, source: str) -> None:
        """An unlabelled file (a listing fills as a list of sources does)."""
        self.add(source, None)

    def add(self, source: str, label, out_key: str | None = None, path: str | None = None) -> None:
        i = len(self._ends)
        self._ends = append(self._ends, self._text.append(source.encode("utf-8", "surrogatepass")))
        self._labels.append(label)
        if out_key is not None and out_key != _stem_path(source):
            self._keys[i] = out_key
        if path is not None and path != self.base + source:
            self._paths[i] = path

    @property
    def labels(self) -> list:
        """The distinct labels, by code."""
        return self._labels.values

    @property
    def label_of(self) -> array:
        """Each file's label code."""
        return self._labels.codes

    def __len__(self) -> int:
        return len(self._ends)

    def source(self, i: int) -> str:
        return self._text.get(self._ends[i - 1] if i else 0, self._ends[i]).decode("utf-8", "surrogatepass")

    def label(self, i: int):
        return self._labels[i]

    def out_key(self, i: int) -> str:
        got = self._keys.get(i) if self._keys else None
        return _stem_path(self.source(i)) if got is None else got

    def path(self, i: int) -> str:
        got = self._paths.get(i) if self._paths else None
        return self.base + self.source(i) if got is None else got

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        source = self.source(i)
        got = self._paths.get(i) if self._paths else None
        if got is not None:
            return Item(got, source, self.label(i), self.out_key(i))
        key = self._keys.get(i) if self._keys else None  # (None: the source's stem path)
        return _item(self.base, None, source, self._labels[i], key)

    def sources(self):
        """Every source's text, in order (one string at a time)."""
        text, start, blk, b0, b1 = self._text, 0, b"", 0, 0
        for end in self._ends:
            if end > b1:  # the next MB of text
                blk, b0 = text.get(start, min(len(text), max(end, start + (1 << 20)))), start
                b1 = b0 + len(blk)
            yield blk[start - b0:end - b0].decode("utf-8", "surrogatepass")
            start = end

    def out_keys(self):
        """Every output key, in order."""
        keys = self._keys
        for i, s in enumerate(self.sources()):
            got = keys.get(i) if keys else None
            yield _stem_path(s) if got is None else got

    def sorted_by_source(self) -> Listing:
        """This listing sorted by source text (itself when it already is: a folder walk's order
        mostly is), the output keys and paths following their files."""
        prev, in_order = None, True
        for s in self.sources():
            if prev is not None and s < prev:
                in_order = False
                break
            prev = s
        return self if in_order else self.sorted_by()

    def sorted_by(self, key=None) -> Listing:
        """This listing sorted by key(source) (by source without a key), the output keys and paths
        following their files. The sources are read once, in order (a list of them meanwhile)."""
        texts = list(self.sources())
        order = sorted(range(len(texts)), key=texts.__getitem__ if key is None else lambda i: key(texts[i]))
        return self.picked(order, texts)

    def picked(self, positions, texts: list | None = None) -> Listing:
        """A listing of the files at these positions, in that order (`texts`: every source, if read)."""
        got = Listing(self.base)
        for i in positions:
            got.add(self.source(i) if texts is None else texts[i], self.label(i), self._keys.get(i), self._paths.get(i))
        return got

    def labelled(self, label_key) -> Listing:
        """These files with labels and output keys from `label_key(source)` -> (label, key; None
        for the source's stem path), sharing this listing's text (held once)."""
        got = Listing(self.base)
        got._text, got._ends, got._paths = self._text, self._ends, self._paths
        labels, keys = got._labels, got._keys
        for i, s in enumerate(self.sources()):
            label, key = label_key(s)
            labels.append(label)
            if key is not None:
                keys[i] = key
        return got

    def with_keys(self, keys: dict[int, str]) -> Listing:
        """This listing with these files' output keys replaced (the deduplicated names)."""
        if not keys:
            return self
        got = Listing.__new__(Listing)
        got.__dict__.update(self.__dict__)
        got._keys = {**self._keys, **keys}
        return got
