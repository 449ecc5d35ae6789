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
