"""augcli: offline dataset augmentation, deterministic and resumable, with a manifest.

The Python API (see api.py and the README): `augment`, `run`, `Recipe`, `preview`,
`read_manifest`, `read_soft_labels`, `validate`, `list_transforms`, `report`, `stats`, `Result`, `AugError`.
Imported on first use, so that `augcli --version` and the CLI's start stay fast.
"""
__version__ = "0.1.0"

_API = {"augment": "api", "run": "api", "preview": "api", "read_manifest": "api", "validate": "api",
        "list_transforms": "api", "report": "api", "stats": "api", "Recipe": "recipe", "Config": "recipe", "Result": "runner",
        "AugError": "errors", "UsageError": "errors", "read_soft_labels": "manifest"}


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"augcli.{_API[name]}"), name)
    raise AttributeError(f"module 'augcli' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))


__all__ = ["__version__", *_API]
