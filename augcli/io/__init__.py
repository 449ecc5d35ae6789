"""Readers and writers per modality, and the atomic file write they all use."""
from __future__ import annotations

import os
from pathlib import Path

TMP_MARK = ".augtmp"


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write to a hidden temp name in the same folder, then rename: no half-written file is ever
    visible under `path`. Leftover temp files (after kill -9) are removed when a run resumes.
    A remote path (storage.RemotePath) is written by one PUT of the whole bytes instead."""
    if hasattr(path, "put"):
        path.put(data)
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
