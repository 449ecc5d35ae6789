"""Annotation formats: the registry, which one an input holds (auto-detection), opening one.

The modality (modalities/annotated.py) and the inspection commands use only these functions and
the interface of format.Format; no format name is tested outside this package.
"""
from __future__ import annotations

from ..errors import UsageError
from .format import Format
from .options import spec


def registry() -> dict[str, type[Format]]:
    """The formats in the order `auto` tries them."""
    from .coco import CocoFormat
    from .masks import MasksFormat
    from .voc import VocFormat
    from .yolo import YoloFormat

    return {f.name: f for f in (YoloFormat, CocoFormat, VocFormat, MasksFormat)}


def detect(cfg) -> Format | None:
    """The format `cfg` runs on (not yet loaded), or None (plain images). Cheap, never raises (a
    format asked for but missing is reported by `missing`)."""
    fmt = spec(cfg.annotations)["format"]
    if fmt == "none" or cfg.csv or not cfg.input:
        return None
    from ..storage import location

    root = location(cfg.input)  # a local Path, or a RemotePath (s3://...)
    found = registry()
    if fmt == "auto" and getattr(cfg, "coco", None):  # a COCO file given: it is what the user means
        found = {"coco": found["coco"]}
    for name, cls in found.items():
        try:
            here = fmt in ("auto", name) and cls.present(root, cfg)
        except Exception:  # noqa: BLE001 - a URL that cannot be read: discovery says why, in one line
            if not hasattr(root, "put"):
                raise
            return None
        if here:
            return cls(root, fmt == "auto", cfg)
    return None


def missing(cfg) -> str | None:
    """Why an asked-for format cannot run on cfg's input; None when it can."""
    fmt = spec(cfg.annotations)["format"]
    if fmt in ("auto", "none") or not (cfg.input or cfg.csv):
        return None
    if cfg.csv:
        return "a CSV listing is not supported with annotations yet"
    from ..storage import location

    root = location(cfg.input)
    try:
        return registry()[fmt].missing(root, cfg)
    except Exception:  # noqa: BLE001 - a URL that cannot be read: the run says why, in one line
        if not hasattr(root, "put"):
            raise
        return None


def open_input(cfg) -> Format | None:
    """The loaded format of cfg's input, or None."""
    f = detect(cfg)
    return None if f is None else f.load()


def open_output(out: Path) -> Format | None:
    """The format of a dataset augcli wrote (for report and stats), loaded; None for plain images."""
    from types import SimpleNamespace

    return open_input(SimpleNamespace(input=str(out), csv=None, annotations=None))


def check_unique(paths, fmt: Format) -> None:
    """No two outputs share an image or an annotation file (a.jpg and a.png would share a.txt)."""
    from collections import Counter

    images = Counter(paths)
    beside = Counter(p for img in images for p in fmt.side_paths(img))
    dup = [p for p, n in images.items() if n > 1] or [p for p, n in beside.items() if n > 1]
    if dup:
        raise UsageError(f"output name {dup[0]!r} would be written for two images (same name with another "
                         "extension, or an image of the input's val/test folder named like one held out by "
                         "--val-split); rename one of them")
