"""Errors the CLI turns into one-line messages and exit codes."""


class AugError(Exception):
    """A problem with the user's input or environment: printed as one line, exit code `code`."""

    code = 1

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(AugError):
    """Bad recipe, bad option, refused path: nothing was done (exit code 2)."""

    code = 2


class RecipeError(UsageError):
    pass


class Dropped(Exception):
    """An output deliberately not written (e.g. a text copy identical to its source): a `dropped`
    manifest row with the reason, not a failure."""


class OutputDiskError(AugError):
    """The output's device failed (full, read-only, no permission): the run stopped with the
    manifest whole; free space (or fix the permission) and run the same command again (exit 3)."""

    code = 3


# errno values that mean the output's device or folder is the problem, not one file
DISK_ERRNOS = {28, 30, 13, 122, 27}  # ENOSPC, EROFS, EACCES, EDQUOT, EFBIG


def is_disk_error(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_ERRNOS


def disk_message(output, e: OSError, done: int, unit: str = "files") -> str:
    import os

    what = {28: "no space left on the device", 30: "the device is read-only", 13: "permission denied",
            122: "disk quota exceeded", 27: "file too large for the device"}.get(e.errno, os.strerror(e.errno))
    fix = {28: "free space", 122: "free space", 27: "free space", 30: "make it writable",
           13: "fix the permissions"}.get(e.errno, "fix it")
    return f"{output}: {what} after {done} {unit}; {fix} and run the same command again to resume"
