"""Discovering inputs: class-per-subfolder, flat folders and CSV listings; labels and output names."""
from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import stat
from collections import Counter
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .listing import Coded, Item, Listing, _stem_path, suffix  # noqa: F401 (Item, suffix: imported from here too)


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def label_dir(label: str) -> str:
    """A class name as a folder name: path separators and control characters become '_'."""
    d = _UNSAFE.sub("_", label).strip()
    return "_" if d in ("", ".", "..") else d


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder"))


def special_kind(path) -> str | None:
    """What an existing path that is not a regular file (after symlinks) is: 'a FIFO', 'a socket',
    'a device', 'a folder'; None for a regular file, and for one that is missing or cannot be stat'ed."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


class _Walker:
    """Files under a root with an accepted extension, hidden files and folders skipped.

    Real folders are walked first; symlinked folders are skipped with a warning, or, with
    follow_links, walked afterwards unless their target was already visited (by device and
    inode: loops such as `a/loop -> ..` and second routes to a folder are skipped with a
    warning). Non-regular files (FIFOs, sockets, devices, broken links) are never opened:
    they are counted and reported in one warning."""

    def __init__(self, root: Path, exts: set[str], follow_links: bool, relative: bool = False, files=None):
        self.root, self.exts, self.follow = root, exts, follow_links
        self.cut = len(_prefix(root)) if relative else 0  # files as text relative to the root
        # paths as text (a Path per file costs ~5 us: 1 M files, 5 s), in a list or a Listing
        self.files = [] if files is None else files
        self.warnings: list[str] = []
        self.odd: list[tuple[Path, str]] = []
        self.links: list[Path] = []
        self.undecodable: list[Path] = []  # names that are not UTF-8 (the manifest is): left out
        st = os.stat(root)
        self.seen = {(st.st_dev, st.st_ino)}
        self.mixed = False  # a symlinked folder was walked after the real ones: the listing needs a sort

    def run(self) -> tuple[list[str], list[str]]:
        """The files (as text, in the order of their Paths: part by part) and the warnings."""
        self._scan(self.root)
        while self.links:
            link = self.links.pop(0)
            rel = link.relative_to(self.root).as_posix()
            if not self.follow:
                self.warnings.append(f"{self.root}: {rel} is a symlinked folder, not followed; "
                                     "pass --follow-links to follow it")
                continue
            st = os.stat(link)
            if (st.st_dev, st.st_ino) in self.seen:
                self.warnings.append(f"{self.root}: {rel} links to a folder already read "
                                     f"({os.path.realpath(link)}), skipped (a loop or a second route)")
                continue
            self.seen.add((st.st_dev, st.st_ino))
            self.mixed = True
            self._scan(link)
        if self.odd:
            (p, kind), n = self.odd[0], len(self.odd)
            self.warnings.append(f"{self.root}: skipped {n} non-regular file{'s' if n > 1 else ''} (FIFOs, "
                                 f"sockets, devices, broken links), e.g. {p.relative_to(self.root).as_posix()} "
                                 f"({kind})")
        if self.undecodable:
            n = len(self.undecodable)
            self.warnings.append(f"{self.root}: skipped {n} file{'s' if n > 1 else ''} whose name is not valid "
                                 f"UTF-8 (the manifest is UTF-8), e.g. {str(self.undecodable[0])!r}; rename "
                                 f"{'them' if n > 1 else 'it'} to include {'them' if n > 1 else 'it'}")
        # _scan visits each folder's entries sorted by name, a subfolder's files where its name
        # sorts: that is already the order of the paths part by part, unless linked folders came last
        if self.mixed and isinstance(self.files, list):
            self.files.sort(key=lambda f: f.split(os.sep))
        elif self.mixed:
            self.files = self.files.sorted_by(lambda f: f.split(os.sep))
        return self.files, self.warnings

    def _scan(self, folder: Path) -> None:
        # the folder's accepted files as names (a DirEntry each would cost ~4x more: ~270 bytes,
        # ~27 MB for a folder of 100,000 files), its subfolders apart; both sorted, then merged
        names, dirs, odd = [], [], set()  # (odd: names of accepted files that are not regular)
        try:
            it = os.scandir(folder)
        except OSError as e:
            self.warnings.append(f"{folder}: cannot read this folder ({e.strerror}), skipped")
            return
        with it:
            while True:
                try:
                    e = next(it)
                except StopIteration:
                    break
                except OSError as err:
                    self.warnings.append(f"{folder}: cannot read this folder ({err.strerror}), skipped")
                    return
                name = e.name  # (an entry's own error, e.g. a link into an unreadable folder, is raised)
                if name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=False):
                    dirs.append((name, e.stat(follow_symlinks=False)))
                elif e.is_symlink() and e.is_dir():
                    dirs.append((name, None))
                elif os.path.splitext(name)[1].lower() in self.exts:
                    names.append(name)
                    if not e.is_file():  # not a regular file, nor a symlink to one
                        odd.add(name)
        names.sort()
        dirs.sort(key=lambda d: d[0])
        prefix = _prefix(folder)[self.cut:]
        d, n_dirs = 0, len(dirs)
        for name in names:  # files and subfolders in the order of their names
            while d < n_dirs and dirs[d][0] < name:
                self._folder(folder, *dirs[d])
                d += 1
            rel = prefix + name  # str(folder / name)
            if odd and name in odd:
                self.odd.append((folder / name, special_kind(folder / name) or "a broken link"))
            elif rel.isascii() or _utf8(rel):
                self.files.append(rel)
            else:
                self.undecodable.append(folder / name)
        for d in dirs[d:]:
            self._folder(folder, *d)

    def _folder(self, folder: Path, name: str, st) -> None:
        """A subfolder (st: its lstat) walked in its place, or a symlinked one (st None) noted."""
        path = folder / name
        if st is None:
            self.links.append(path)
        elif (st.st_dev, st.st_ino) in self.seen:  # a bind mount of an ancestor
            self.warnings.append(f"{path}: a folder already read (a mount loop), skipped")
        else:
            self.seen.add((st.st_dev, st.st_ino))
            self._scan(path)


def _utf8(name: str) -> bool:
    """Whether a file name as os.scandir gives it is valid UTF-8 (undecodable bytes come as
    surrogates, which cannot be encoded)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _prefix(folder: Path) -> str:
    """What str(folder / name) starts with."""
    base = str(folder)
    return "" if base == "." else base if base.endswith(os.sep) else base + os.sep


def check_output(input_root, output) -> None:
    """Refuse an output inside the input, or containing it (local paths resolved; URLs as text)."""
    from .storage import is_url, local

    if is_url(input_root) or is_url(output):
        i, o = str(input_root).rstrip("/") + "/", str(output).rstrip("/") + "/"
        inside, contains = o.startswith(i), i.startswith(o)
    else:
        i, o = Path(local(input_root)).resolve(), Path(local(output)).resolve()
        inside, contains = o == i or i in o.parents, o in i.parents
    if inside:
        raise UsageError(f"{output}: the output folder is inside the input folder {input_root}; "
                         "choose an output outside it (outputs would be read back as inputs)")
    if contains:
        raise UsageError(f"{output}: the output folder contains the input folder {input_root}; "
                         "choose an output outside it (--overwrite could delete the input)")


def walk(root: Path, exts: set[str], follow_links: bool = False) -> tuple[list[Path], list[str]]:
    """The files under root with an accepted extension (hidden ones, non-regular files and, unless
    follow_links, symlinked folders skipped), and warnings."""
    files, warnings = _Walker(root, exts, follow_links).run()
    return [Path(f) for f in files], warnings


def discover_folder(root: Path, exts: set[str], follow_links: bool = False) -> tuple[Listing | list[Item], list[str]]:
    """Items of a class-per-subfolder or flat folder; a single file is a flat dataset of one.
    The root is read even when it is a symlink; symlinked folders below it only with follow_links."""
    if root.is_file():
        if root.suffix.lower() not in exts:
            raise UsageError(f"{root}: input is neither a folder nor a file this modality reads "
                             f"({', '.join(sorted(exts))})")
        return [Item(str(root), root.name, None, root.stem)], []
    if not root.is_dir():
        raise UsageError(f"{root}: input not found" if not root.exists() else f"{root}: input is not a folder")
    # the files straight into a Listing (listing.py): ~35 bytes a file, not a string's ~80
    rels, warnings = _Walker(root, exts, follow_links, relative=True, files=Listing(_prefix(root))).run()
    if os.sep != "/":
        rels = [f.replace(os.sep, "/") for f in rels.sources()]
    return _items(root, _prefix(root), rels, warnings), warnings


def discover_url(url: str, exts: set[str]) -> tuple[Listing | list[Item], list[str]]:
    """Items under a remote prefix (s3://bucket/photos), read with one listing: the same layouts,
    names and order as a local folder (keys with a hidden part, .name, are skipped); a URL of
    one object is a flat dataset of one."""
    from .storage import RemotePath, reported

    root = RemotePath(url)
    with reported(url):
        found = root.files()
        if not found and root.is_file():
            if suffix(root.name).lower() not in exts:
                raise UsageError(f"{url}: input is neither a folder nor a file this modality reads "
                                 f"({', '.join(sorted(exts))})")
            return [Item(url, root.name, None, _stem_path(root.name))], []
    if not found:
        raise UsageError(f"{url}: input not found (no objects under this prefix)")
    warnings: list[str] = []
    return _items(url, f"{root.url}/", _remote_rels(found, exts), warnings), warnings


def _remote_rels(found, exts: set[str]) -> list[str]:
    """Of the object paths under a remote root, those with an accepted extension and no hidden
    part (.name), sorted part by part as a local walk gives them."""
    return sorted((r for r in found if suffix(r).lower() in exts and not any(p.startswith(".") for p in r.split("/"))),
                  key=lambda r: r.split("/"))


def _items(root, base: str, rels, warnings: list[str]) -> Listing:
    """Items of the files at base + rel (rels: paths relative to the root, a list or a Listing with
    that base), class-per-subfolder when any is in a subfolder (files directly in the root are then
    left out, with a warning)."""
    if not isinstance(rels, Listing):
        rels = Listing.of_sources(base, rels)
    if not any("/" in r for r in rels.sources()):
        return rels
    top = [r for r in rels.sources() if "/" not in r]
    if top:
        warnings.append(f"{root}: {len(top)} file(s) directly in the input folder are ignored: "
                        f"the input is class-per-subfolder (e.g. {top[0]})")
        rels = rels.picked(i for i, r in enumerate(rels.sources()) if "/" in r)
    dirs = {}

    def label_key(r: str):
        label, _, rest = r.partition("/")
        got = dirs.get(label)
        if got is None:
            got = dirs[label] = (label, label_dir(label))
        label, d = got  # one string per class
        return label, None if d == label else f"{d}/{_stem_path(rest)}"

    return rels.labelled(label_key)  # (the same text: held once)


def _listing_rows(listing, path_column: str, label_column: str | None) -> list[dict]:
    """The rows of a CSV listing (a local path or a URL), its columns checked."""
    from .storage import RemotePath, is_url, reported

    try:
        if is_url(listing):
            with reported(str(listing)):
                text = RemotePath(str(listing)).read_bytes().decode("utf-8-sig")
            f = io.StringIO(text, newline="")
        else:
            if not Path(listing).is_file():
                raise UsageError(f"{listing}: CSV listing not found")
            f = open(listing, newline="", encoding="utf-8-sig")
        with f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            for c in (path_column, label_column):
                if c is not None and c not in cols:
                    raise UsageError(f"{listing}: no column {c!r}; columns are: {', '.join(cols) or '(none)'}")
            return list(reader)
    except UnicodeDecodeError as e:
        raise UsageError(f"{listing}: not valid UTF-8 ({e.reason} at byte {e.start})")
    except csv.Error as e:
        raise UsageError(f"{listing}: malformed CSV ({e})")


def _listed_path(raw: str, root, where: str) -> tuple[str, str]:
    """(full path, path relative to the root) of a listed file; refused when it is outside the root.
    A URL root joins with '/' (an absolute listed path must then be a URL under the root)."""
    if isinstance(root, str):  # a URL
        full = raw if "://" in raw else posixpath.normpath(f"{root.split('://', 1)[1]}/{raw}")
        full = full if "://" in raw else f"{root.split('://', 1)[0]}://{full}"
        if not full.startswith(root.rstrip("/") + "/"):
            raise UsageError(f"{where}: path {raw!r} escapes the root {root}; list files inside --root "
                             "(or set --root to a prefix that holds them)")
        return full, full[len(root.rstrip("/")) + 1:]
    if "://" in raw:  # (Path would fold its '//' and every row would fail as a missing file)
        raise UsageError(f"{where}: {raw!r} is a URL but the root {root} is a local folder; set --root to the "
                         "URL prefix that holds the listed files (e.g. --root s3://bucket/photos)")
    p = Path(raw)
    full_p = (p if p.is_absolute() else root / p).resolve()
    if full_p != root and root not in full_p.parents:
        raise UsageError(f"{where}: path {raw!r} escapes the root {root}; "
                         "list files inside --root (or set --root to a folder that holds them)")
    kind = special_kind(full_p)  # a missing file is reported per file by the run, as before
    if kind is not None:
        raise UsageError(f"{where}: {raw!r} is {kind}, not a regular file; list files only")
    return str(full_p), full_p.relative_to(root).as_posix()


def discover_csv(listing, path_column: str, label_column: str | None, root) -> list[Item]:
    """Items of a CSV listing; paths relative to `root` (default: the listing's folder). The listing
    and the root may be URLs (s3://...)."""
    from .storage import is_url

    rows = _listing_rows(listing, path_column, label_column)
    if is_url(root) or (root is None and is_url(listing)):
        root = str(root or posixpath.dirname(str(listing))).rstrip("/")
    else:
        root = Path(root or Path(listing).parent).resolve()
    items, seen = [], set()
    for n, row in enumerate(rows, start=2):
        raw = (row.get(path_column) or "").strip()
        if not raw:
            raise UsageError(f"{listing}: line {n}: empty {path_column!r}")
        full, rel = _listed_path(raw, root, f"{listing}: line {n}")
        if rel in seen:
            raise UsageError(f"{listing}: line {n}: {raw!r} is listed twice")
        seen.add(rel)
        label = None
        if label_column is not None:
            label = (row.get(label_column) or "").strip()
            if not label:
                raise UsageError(f"{listing}: line {n}: empty label in column {label_column!r}")
        stem = _stem_path(rel.rsplit("/", 1)[-1])
        key = f"{label_dir(label)}/{stem}" if label is not None else stem
        items.append(Item(full, rel, label, key))
    return sorted(items, key=lambda it: it.source)


def _repeated(names, n: int) -> set[str]:
    """The names that occur more than once among the n that `names()` yields, without a set or
    Counter of all of them (1 M names: ~0.2 GB): their hashes in an int64 array, sorted; only
    names whose hash repeats are compared as text (names() is called again for those)."""
    import numpy as np

    s = np.fromiter(map(hash, names()), dtype=np.int64, count=n)
    s.sort()
    twice = set(s[1:][s[1:] == s[:-1]].tolist())
    del s
    if not twice:
        return set()
    seen = Counter(name for name in names() if hash(name) in twice)
    return {name for name, c in seen.items() if c > 1}


def deduplicate_names(items, ext_of) -> Listing:
    """Make output names unique: files whose output name would collide (a.jpg and a.png written
    as jpg, or same stems from different folders of a CSV) get their extension, then their
    source path, folded into the name. Depends only on the set of items, not on their order.
    `ext_of(source)`: the output's extension. Returns the items as a Listing (listing.py)."""
    items = Listing.of(items)
    n = len(items)
    exts = Coded(ext_of(s) for s in items.sources())  # once per item: ext_of is most of this function's time
    clash = _repeated(lambda: (k + e for k, e in zip(items.out_keys(), exts)), n)
    if not clash:
        return items
    keys = []
    for i, (key, e) in enumerate(zip(items.out_keys(), exts)):
        if key + e in clash:
            suffix_ = PurePosixPath(items.source(i)).suffix.lstrip(".").lower()
            key = f"{key}_{suffix_}" if suffix_ else key
        keys.append(key)
    clash = _repeated(lambda: (k + e for k, e in zip(keys, exts)), n)
    for i, (key, e) in enumerate(zip(keys, exts)):
        if clash and key + e in clash:
            parent = str(PurePosixPath(key).parent)
            flat = _UNSAFE.sub("_", items.source(i))
            keys[i] = flat if parent == "." else f"{parent}/{flat}"
    names = [k + e for k, e in zip(keys, exts)]
    dup = _repeated(lambda: iter(names), n)
    if dup:
        first = next(name for name in names if name in dup)
        raise UsageError(f"output name {first!r} would be written by more than one input; rename one of them")
    return items.with_keys({i: k for i, k in enumerate(keys) if k != items.out_key(i)})


def list_files(root, exts: set[str], follow_links: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
    """(full path, path relative to root) of the files under root with an accepted extension, hidden
    ones skipped, sorted part by part; and warnings. root: a local Path or a RemotePath."""
    if hasattr(root, "files"):
        return [(f"{root.url}/{r}", r) for r in _remote_rels(root.files(), exts)], []
    files, warnings = walk(root, exts, follow_links)
    return [(str(p), p.relative_to(root).as_posix()) for p in files], warnings
