"""Readers and writers per modality, and the atomic file write they all use."""
from __future__ import annotations

import os
from pathlib import Path  # noqa: F401 (the type in signatures)

TMP_MARK = ".augtmp"


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_PID: list[int] = []  # this process's id, asked once (getpid is a system call in glibc >= 2.25)


def _pid() -> int:
    if not _PID:
        _PID.append(os.getpid())
        if hasattr(os, "register_at_fork"):  # (Unix: a forked worker asks again)
            os.register_at_fork(after_in_child=_PID.clear)
    return _PID[0]


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write to a hidden temp name in the same folder, then rename: no half-written file is ever
    visible under `path`. Leftover temp files (after kill -9) are removed when a run resumes.
    A remote path (storage.RemotePath) is written by one PUT of the whole bytes instead."""
    if hasattr(path, "put"):
        path.put(data)
        return
    path = os.fspath(path)
    mark = f"{TMP_MARK}{_PID[0] if _PID else _pid()}"
    if os.sep == "/" and not os.altsep:  # (POSIX: os.path.split and join as string operations)
        cut = path.rfind("/") + 1
        tmp = f"{path[:cut]}.{path[cut:]}{mark}"
    else:
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}{mark}")
    try:
        # os-level calls: a small file costs ~20 us less than through open()'s buffered object
        fd = os.open(tmp, _FLAGS, 0o666)
        try:
            n = os.write(fd, data)
            if n < len(data):  # (a short write: the rest)
                view = memoryview(data)[n:]
                while view:
                    view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
