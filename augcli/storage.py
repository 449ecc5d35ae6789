"""Remote paths: fsspec URLs (s3://, gs://, az://, ...) for INPUT, OUTPUT and --csv.

A local path (or a file:// URL) keeps the plain os/pathlib code. A URL goes through fsspec and the
filesystem its scheme names (s3fs for s3://: the extra `augcli[s3]`), imported only then, with the
credentials of that filesystem's usual environment and config, plus the run's storage options
(`--storage-option KEY=VALUE`, recipe `storage_options:`), e.g. endpoint_url for a private S3.

`RemotePath` is the little of pathlib the runner uses on OUTPUT, over an object store: there is no
rename, so a file is written whole by one PUT of its finished bytes (`put`; S3 shows an object only
once its upload completed), and nothing half-written is ever visible. Sources are read by fetching
their bytes into a local temp file for the reader (`fetched`).
"""
from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile

from .errors import UsageError

_OPTIONS: dict = {}  # this process's storage options (the parent's, and every worker's from its cfg)
_FS: dict = {}


def is_url(path) -> bool:
    """A URL that needs fsspec (file:// and plain paths do not)."""
    s = str(path or "")
    return "://" in s and not s.startswith("file://") and s.split("://", 1)[0].isidentifier()


def local(path):
    """A file:// URL as a plain path; anything else unchanged."""
    s = str(path) if path is not None else None
    return s[len("file://"):] if s and s.startswith("file://") else path


def configure(options: dict | None) -> None:
    """Set this process's storage options; the filesystems made so far are dropped (a forked
    worker must make its own: s3fs' are not fork-safe)."""
    _OPTIONS.clear()
    _OPTIONS.update(options or {})
    _FS.clear()


def filesystem(url: str):
    """(fsspec filesystem, path without the scheme) for a URL; one filesystem per scheme and process."""
    scheme = url.split("://", 1)[0]
    if scheme not in _FS:
        try:
            import fsspec
            fs_class = fsspec.get_filesystem_class(scheme)
        except ImportError as e:
            extra = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}.get(scheme, scheme)
            raise UsageError(f"{url}: reading {scheme}:// needs a package that is not installed ({e}); "
                             f"install it with: pip install 'augcli[{extra}]'") from None
        except ValueError:
            raise UsageError(f"{url}: unknown URL scheme {scheme!r}; allowed: a local path, s3://, gs://, az://, "
                             "file://, or any fsspec protocol") from None
        try:
            _FS[scheme] = fs_class(**_OPTIONS)
        except TypeError as e:
            raise UsageError(f"{url}: a storage option is not one {scheme}:// takes ({e})") from None
    return _FS[scheme], url.split("://", 1)[1]


def message(url: str, e: BaseException) -> str:
    """One line for a failed remote access: what the store said, without the traceback."""
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, PermissionError) or "credential" in text.lower() or "AccessDenied" in text \
            or "InvalidAccessKeyId" in text or "SignatureDoesNotMatch" in text:
        return f"{url}: access denied ({text}); check the credentials (e.g. AWS_ACCESS_KEY_ID / a profile) " \
               "and --storage-option"
    if isinstance(e, FileNotFoundError) and "bucket" in text.lower():
        return f"{url}: the bucket does not exist ({text})"
    return f"{url}: {text}"


@contextlib.contextmanager
def reported(url: str):
    """Turn a failed remote access in the block into a one-line UsageError (exit 2)."""
    from .errors import AugError

    try:
        yield
    except AugError:
        raise
    except Exception as e:  # noqa: BLE001 - botocore/aiohttp errors have no common base but Exception
        raise UsageError(message(url, e)) from None


class RemotePath:
    """A file or folder of an object store, by URL: the part of pathlib the runner uses on OUTPUT."""

    __slots__ = ("url",)

    def __init__(self, url: str):
        self.url = url.rstrip("/") if url.count("/") > 2 else url

    def __truediv__(self, rel) -> "RemotePath":
        return RemotePath(f"{self.url}/{str(rel).lstrip('/')}")

    def __str__(self) -> str:
        return self.url

    __repr__ = __str__

    def __eq__(self, other) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    @property
    def name(self) -> str:
        return posixpath.basename(self.url)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def parent(self) -> "RemotePath":
        return RemotePath(posixpath.dirname(self.url))

    @property
    def fs_path(self) -> str:
        return filesystem(self.url)[1]

    def _fs(self):
        return filesystem(self.url)[0]

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing: an object store has no folders (a key's prefix is its folder)."""

    def exists(self) -> bool:
        return self._fs().exists(self.fs_path)

    def is_file(self) -> bool:
        return self._fs().isfile(self.fs_path)

    def is_dir(self) -> bool:
        return self._fs().isdir(self.fs_path)

    def iterdir(self):
        try:
            names = self._fs().ls(self.fs_path, detail=False)
        except FileNotFoundError:
            return
        root = self.fs_path.rstrip("/")
        for n in names:
            n = n.rstrip("/")
            if n != root:
                yield self / posixpath.basename(n)

    def read_bytes(self) -> bytes:
        return self._fs().cat_file(self.fs_path)

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    def put(self, data: bytes) -> None:
        """The whole object in one PUT of finished bytes: nothing half-written is ever visible."""
        self._fs().pipe_file(self.fs_path, bytes(data))

    def open_read(self):
        """A seekable binary file (ranged reads, 4 MB at a time)."""
        return self._fs().open(self.fs_path, "rb", block_size=1 << 22)

    def upload(self, local_path) -> None:
        """A local file's bytes as this object, visible only once the upload completes (S3: one PUT,
        or a multipart upload completed at the end and aborted on failure)."""
        self._fs().put_file(str(local_path), self.fs_path)

    def info(self) -> dict:
        return self._fs().info(self.fs_path)

    def size(self) -> int:
        return int(self._fs().size(self.fs_path))

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self._fs().rm_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def remove_tree(self) -> None:
        fs = self._fs()
        keys = fs.find(self.fs_path)
        if keys:
            fs.rm(keys)

    def files(self) -> dict[str, int]:
        """Every object under this prefix: path relative to it -> size (one listing)."""
        root = self.fs_path.rstrip("/") + "/"
        try:
            found = self._fs().find(self.fs_path, detail=True)
        except FileNotFoundError:
            return {}
        return {k[len(root):]: int(v.get("size") or 0) for k, v in found.items() if k.startswith(root)}


def exists_fn(root):
    """A test rel -> bool of whether root/rel is a file: one listing for a remote root (instead of
    a request per file), Path.is_file for a local one."""
    if hasattr(root, "files"):
        return root.files().__contains__
    return lambda rel: (root / rel).is_file()


def location(path):
    """OUTPUT (or any folder) as the object the runner works with: a RemotePath for a URL, else a Path."""
    from pathlib import Path

    return RemotePath(str(path)) if is_url(path) else Path(local(path))


_TMP: dict = {}  # pid -> this process's temp folder for fetched sources (removed at its exit)


def _tmp_dir() -> str:
    d = _TMP.get(os.getpid())
    if d is None:  # (a forked worker makes its own: the parent's goes with the parent)
        import shutil
        from multiprocessing.util import Finalize

        d = _TMP[os.getpid()] = tempfile.mkdtemp(prefix="augcli-fetch-")
        # run at exit by this process only, pool workers included (atexit is not, there)
        Finalize(None, shutil.rmtree, args=(d,), kwargs={"ignore_errors": True}, exitpriority=0)
    return d


def fetch(src: str) -> str:
    """A local path holding the remote source's bytes (a temp file of the same name in this
    process's temp folder; `discard` it when done). A local source is returned as it is."""
    if not is_url(src):
        return src
    d = tempfile.mkdtemp(dir=_tmp_dir())
    path = os.path.join(d, posixpath.basename(src) or "source")
    try:
        fs, p = filesystem(src)
        data = fs.cat_file(p)
        with open(path, "wb") as f:
            f.write(data)
    except BaseException:
        discard(path)
        raise
    return path


def discard(path: str) -> None:
    """Remove a fetched temp file (and its folder); a local source is left alone."""
    d = _TMP.get(os.getpid())
    if d and path.startswith(d + os.sep):
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))
