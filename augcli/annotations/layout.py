"""Which annotations an input holds, its class names, and its images with their splits.

Layouts (INPUT is the folder that holds them):

    INPUT/images/...  + INPUT/labels/...  (+ data.yaml)   YOLO (Ultralytics): labels/<same path>.txt
    INPUT/images/...  + INPUT/masks/...                    semantic masks: masks/<same path>.png

Under images/ an optional first folder level names the split: train, val (valid, validation) or
test. Images of val and test are written unchanged (never augmented) to OUTPUT's same split;
the rest is the training pool, from which --val-split holds out more.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .options import spec

BESIDE = {"yolo": "labels", "masks": "masks"}
SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
YAML_NAMES = ("data.yaml", "dataset.yaml")


@dataclass
class Layout:
    format: str  # "yolo" or "masks"
    root: Path  # INPUT
    detected: bool  # found by `auto` (else asked for)
    names: dict = field(default_factory=dict)  # class id -> name (from data.yaml; empty without one)
    extra: dict = field(default_factory=dict)  # the input data.yaml's other keys (kpt_shape, flip_idx, nc, ...)
    yaml_path: Path | None = None

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def beside(self) -> Path:
        return self.root / BESIDE[self.format]

    @property
    def kpt_shape(self) -> tuple[int, int] | None:
        k = self.extra.get("kpt_shape")
        return (int(k[0]), int(k[1])) if k else None

    def note(self) -> str:
        """The plan's line saying what was found."""
        how = "detected" if self.detected else "asked for"
        what = f"{self.format} ({how}: images/ + {BESIDE[self.format]}/ in {self.root})"
        if self.format == "yolo":
            if self.yaml_path is not None:
                what += f", {len(self.names)} classes from {self.yaml_path.name}"
            else:
                what += ", no data.yaml: classes named by their ids"
            if self.kpt_shape:
                what += f", keypoints {self.kpt_shape[0]}x{self.kpt_shape[1]}"
        return f"annotations: {what}"


def detect(cfg) -> Layout | None:
    """The annotated layout `cfg` runs on, or None (plain images). Cheap, never raises: a few
    stat calls (a layout asked for but missing is reported by `missing`)."""
    fmt = spec(cfg.annotations)["format"]
    if fmt == "none" or cfg.csv or not cfg.input:
        return None
    root = Path(cfg.input)
    if not (root / "images").is_dir():
        return None
    found = [f for f in ("yolo", "masks") if (root / BESIDE[f]).is_dir()]
    if fmt == "auto":
        return Layout(found[0], root, True) if found else None
    return Layout(fmt, root, False) if fmt in found else None


def missing(cfg) -> str | None:
    """Why an asked-for format (yolo, masks) cannot run on cfg's input; None when it can."""
    fmt = spec(cfg.annotations)["format"]
    if fmt in ("auto", "none") or not (cfg.input or cfg.csv):
        return None
    if cfg.csv:
        return "a CSV listing is not supported with annotations yet"
    root = Path(cfg.input)
    for sub in ("images", BESIDE[fmt]):
        if not (root / sub).is_dir():
            return f"needs INPUT/images and INPUT/{BESIDE[fmt]} side by side; {root / sub} is not a folder"
    return None


def read_yaml(lay: Layout) -> Layout:
    """Fill in names and the other keys from INPUT/data.yaml (or dataset.yaml), when there is one."""
    import yaml

    for name in YAML_NAMES:
        p = lay.root / name
        if p.is_file():
            break
    else:
        return lay
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise UsageError(f"{p}: cannot read it as YAML ({' '.join(str(e).split())[:200]})")
    if not isinstance(data, dict):
        raise UsageError(f"{p}: not a mapping; allowed: keys such as names, kpt_shape, flip_idx")
    lay.names = _names(data.get("names"), p)
    lay.extra = {k: v for k, v in data.items() if k not in ("names", "path", "train", "val", "test", "download")}
    lay.yaml_path = p
    _check_keypoints(lay.extra, p)
    return lay


def _names(raw, p: Path) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {i: str(n) for i, n in enumerate(raw)}
    if isinstance(raw, dict) and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in raw):
        return {int(k): str(v) for k, v in sorted(raw.items())}
    raise UsageError(f"{p}: names: {raw!r} is not allowed; allowed: a list of names, or a mapping id: name")


def _check_keypoints(extra: dict, p: Path) -> None:
    k = extra.get("kpt_shape")
    if k is not None and not (isinstance(k, list) and len(k) == 2 and all(isinstance(v, int) for v in k)
                              and k[0] >= 1 and k[1] in (2, 3)):
        raise UsageError(f"{p}: kpt_shape: {k!r} is not allowed; allowed: [keypoints, 2 or 3]")
    f = extra.get("flip_idx")
    if f is not None and (k is None or not isinstance(f, list) or sorted(f) != list(range(k[0]))):
        raise UsageError(f"{p}: flip_idx: {f!r} is not allowed; allowed: a permutation of the {k and k[0]} "
                         "keypoint indices (with kpt_shape)")


def flip_pairs(lay: Layout, opts: dict) -> list:
    """The keypoint pairs a mirror swaps: the recipe's flip_pairs, else those of data.yaml's flip_idx."""
    if opts["flip_pairs"]:
        return opts["flip_pairs"]
    f = lay.extra.get("flip_idx") or []
    return [[i, j] for i, j in enumerate(f) if i < j]


def split_of(source: str) -> tuple[str, str]:
    """(split the image belongs to by its folder, its path inside that folder) for a source
    images/<...>: ("val", "a/b.jpg") for images/valid/a/b.jpg; ("train", rest) otherwise."""
    parts = PurePosixPath(source).parts[1:]
    if len(parts) > 1 and parts[0] in SPLITS:
        return SPLITS[parts[0]], str(PurePosixPath(*parts[1:]))
    return "train", str(PurePosixPath(*parts))


def discover(lay: Layout, exts: set[str], follow_links: bool):
    """The images under INPUT/images as plan items (source images/<path>, no class label, the
    output name their path inside their split folder), and warnings."""
    from ..sources import Item, _Walker

    files, warnings = _Walker(lay.images, exts, follow_links).run()
    items = []
    for p in files:
        source = "images/" + p.relative_to(lay.images).as_posix()
        rel = split_of(source)[1]
        items.append(Item(str(p), source, None, str(PurePosixPath(rel).with_suffix(""))))
    return items, warnings


def class_ids(lay: Layout, sources: list[str]) -> set[int]:
    """The class ids the label files of `sources` use (for names when the input has no data.yaml;
    malformed lines are skipped here: the run reports them)."""
    ids = set()
    for source in sources:
        rel = PurePosixPath(source).relative_to("images").with_suffix(".txt")
        try:
            text = (lay.beside / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            first = line.split(maxsplit=1)[:1]
            if first and first[0].isdigit():
                ids.add(int(first[0]))
    return ids


def output_yaml(lay: Layout, splits: set, ids: set) -> bytes:
    """OUTPUT/data.yaml: the splits written (paths relative to the file), the input's names (or
    the ids used, named by number), and the input data.yaml's other keys (kpt_shape, flip_idx, ...)."""
    import yaml

    data: dict = {s: f"images/{s}" for s in ("train", "val", "test") if s in splits}
    data["names"] = lay.names or {i: str(i) for i in range(max(ids) + 1 if ids else 0)}
    data.update(lay.extra)
    head = "# Written by augcli: the augmented dataset in Ultralytics' layout; paths are relative to this file.\n"
    return (head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)).encode()
