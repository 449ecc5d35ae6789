"""An exclusive lock on an output, so that two augcli runs never write into the same place.

The lock is a small file (OUTPUT/.augcli/lock for a folder output, `.NAME.augcli-lock` beside a
table output) holding the holder's pid and host, locked with `fcntl.flock`. The kernel releases a
flock when its process dies (even by kill -9), so a lock file left by a dead process is not a
lock at all: the next run takes it over and says so. Where flock is not available (some network
filesystems), the file itself is the lock (created with O_EXCL); a file naming a process of this
host that is no longer running is taken over, any other refuses the run.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from .errors import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: the O_EXCL file alone
    fcntl = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


class OutputLock:
    """`with OutputLock(path, output):` holds the lock for the block; a second holder exits 2."""

    def __init__(self, path: str | Path, output: str | Path):
        self.path = Path(path)
        self.output = str(output)
        self._fd: int | None = None

    def _busy(self, holder: dict) -> UsageError:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        return UsageError(f"{self.output} is being written by another augcli run ({who}); wait for it or "
                          f"remove {self.path} if it is gone")

    def _holder(self) -> dict:
        """The holder's pid and host; it writes them just after taking the lock, so wait a moment."""
        for _ in range(40):
            holder = _read(self.path)
            if holder.get("pid"):
                return holder
            time.sleep(0.025)
        return holder

    def _say_stale(self, holder: dict) -> None:
        if holder.get("pid"):
            print(f"warning: {self.output}: taking over the lock of an augcli run that is no longer running "
                  f"(pid {holder['pid']} on {holder.get('host', '?')})", file=sys.stderr)

    def acquire(self) -> "OutputLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        if fcntl is not None:
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    os.close(fd)
                    if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise self._busy(self._holder()) from None
                    break  # flock not supported here: fall back to O_EXCL below
                try:  # the holder may have removed the file between our open and our flock
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
                self._say_stale(_read(self.path))
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(me).encode())
                self._fd = fd
                return self
        while True:  # O_EXCL: the file's existence is the lock
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read(self.path)
                if holder.get("host") == me["host"] and isinstance(holder.get("pid"), int) \
                        and not _alive(holder["pid"]):
                    self._say_stale(holder)
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise self._busy(holder) from None
            os.write(fd, json.dumps(me).encode())
            self._fd = fd
            return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()  # while still holding it: a waiting opener sees another inode and retries
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        if self.path.parent.name == ".augcli":
            try:
                self.path.parent.rmdir()  # only when nothing else is in it (a refused run leaves no trace)
            except OSError:
                pass

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class RemoteLock:
    """OUTPUT/.augcli/lock on an object store (s3://...): no flock and no O_EXCL there, so the lock
    is an object naming its holder (pid, host, a token). One naming a process of this host that is
    no longer running (a client killed with kill -9) is taken over; any other refuses the run. The
    holder reads its token back after writing, so of two runs starting together at most one goes on
    (the store's own conditional write is not used: not every S3 API server has it)."""

    def __init__(self, path, output):
        self.path = path  # a storage.RemotePath
        self.output = str(output)
        self._held = False

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_bytes().decode("utf-8") or "{}")
        except FileNotFoundError:
            return {}
        except ValueError:
            return {"pid": "?", "host": "?"}

    def acquire(self) -> "RemoteLock":
        import uuid

        holder = self._holder()
        if holder:
            if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int) \
                    and not _alive(holder["pid"]):
                print(f"warning: {self.output}: taking over the lock of an augcli run that is no longer running "
                      f"(pid {holder['pid']} on {holder['host']})", file=sys.stderr)
            else:
                raise self._busy(holder)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "token": uuid.uuid4().hex}
        self.path.put(json.dumps(me).encode())
        time.sleep(0.05)
        if self._holder().get("token") != me["token"]:
            raise self._busy(self._holder())
        self._held = True
        return self

    def _busy(self, holder: dict) -> UsageError:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        return UsageError(f"{self.output} is being written by another augcli run ({who}); wait for it or "
                          f"remove {self.path} if it is gone")

    def release(self) -> None:
        if self._held:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
            self._held = False
