"""Ultralytics YOLO label files: one `.txt` per image, one object per line, all normalised:

    class cx cy w h                      a box (detection)
    class x1 y1 x2 y2 x3 y3 ...          a polygon (segmentation; 3 points or more)
    class cx cy w h px1 py1 [v1] ...     a box with keypoints (pose: data.yaml's kpt_shape)

Reading is strict: a wrong field count, a value that is not a number, a class id not in the
names, a box of zero or negative size, a polygon of fewer than 3 points (or no area), a value
outside [0, 1] by 1e-3 or more: `LabelError` naming the file and line. A value a hair outside
(less than 1e-3) is clipped silently; a box reaching out of the image is clipped to it.
Objects are kept in pixels (continuous coordinates: x in [0, width], a pixel's centre at i + 0.5).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .format import Format
from .model import Annotation, LabelError, Obj

TOLERANCE = 1e-3


class _Line:
    """One line's numbers, checked against [0, 1] with the tolerance (clipping noted)."""

    def __init__(self, where: str, fields: list[str]):
        self.where, self.clipped = where, False
        try:
            self.v = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_float(f))
            raise LabelError(f"{where}: {bad!r} is not a number; allowed: class id then normalised numbers")
        if any(x != x or x in (float("inf"), float("-inf")) for x in self.v):
            raise LabelError(f"{where}: {' '.join(fields)!r} holds a non-finite number; allowed: finite numbers")

    def unit(self, i: int) -> float:
        x = self.v[i]
        if 0.0 <= x <= 1.0:
            return x
        if -TOLERANCE < x < 1.0 + TOLERANCE:
            self.clipped = True
            return min(1.0, max(0.0, x))
        raise LabelError(f"{self.where}: value {i + 1} ({x!r}) is outside [0, 1]; allowed: normalised values "
                         f"(within {TOLERANCE} of [0, 1] are clipped)")


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _class(ln: _Line, names: dict) -> int:
    c = ln.v[0]
    if not float(c).is_integer() or c < 0:
        raise LabelError(f"{ln.where}: class {c!r} is not allowed; allowed: a class id, an integer >= 0")
    c = int(c)
    if names and c not in names:
        raise LabelError(f"{ln.where}: class {c} is not in the names of data.yaml; allowed: "
                         f"{_ids(names)}")
    return c


def _ids(names: dict) -> str:
    ids = sorted(names)
    return f"{ids[0]}..{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2 else \
        ", ".join(map(str, ids))


def _box(ln: _Line, w: int, h: int) -> tuple:
    cx, cy, bw, bh = (ln.unit(i) for i in range(1, 5))
    if bw <= 0 or bh <= 0:
        raise LabelError(f"{ln.where}: a box of zero or negative size ({bw!r} x {bh!r}); allowed: width and "
                         "height > 0")
    x0, x1 = max(0.0, cx - bw / 2) * w, min(1.0, cx + bw / 2) * w
    y0, y1 = max(0.0, cy - bh / 2) * h, min(1.0, cy + bh / 2) * h
    return x0, y0, x1, y1


def parse_line(ln: _Line, n: int, w: int, h: int, names: dict, kpt_shape) -> Obj:
    c = _class(ln, names)
    if kpt_shape:
        k, d = kpt_shape
        if n != 5 + k * d:
            raise LabelError(f"{ln.where}: {n} fields is a wrong field count; allowed: {5 + k * d} "
                             f"(class cx cy w h and {k} keypoints of {d} values, data.yaml's kpt_shape)")
        kpts = []
        for j in range(k):
            i = 5 + j * d
            x, y = ln.unit(i), ln.unit(i + 1)
            v = ln.v[i + 2] if d == 3 else (0.0 if x == y == 0 else 2.0)  # (0, 0): not labelled
            if v not in (0.0, 1.0, 2.0):
                raise LabelError(f"{ln.where}: keypoint {j} visibility {v!r} is not allowed; allowed: 0, 1 or 2")
            kpts.append([x * w, y * h, int(v)])
        return Obj(c, "pose", _box(ln, w, h), kpts=kpts)
    if n == 5:
        return Obj(c, "box", _box(ln, w, h))
    if n < 7 or n % 2 == 0:
        why = "a polygon with fewer than 3 points" if n in (3,) else f"{n} fields is a wrong field count"
        raise LabelError(f"{ln.where}: {why}; allowed: 5 fields (class cx cy w h) or class and 3 or more "
                         "x y points (an odd count >= 7)")
    pts = [(ln.unit(i) * w, ln.unit(i + 1) * h) for i in range(1, n, 2)]
    from .geometry import area

    if area(pts) <= 0:
        raise LabelError(f"{ln.where}: a polygon with no area (its points are on one line); allowed: "
                         "3 or more points enclosing an area")
    return Obj(c, "polygon", None, polys=[pts])


def parse(data: bytes, where: str, w: int, h: int, names: dict, kpt_shape) -> tuple[list[Obj], bool]:
    """(objects, whether any value was clipped) of a label file's bytes; LabelError naming
    `where` (the file, relative to INPUT) and the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LabelError(f"{where}: not UTF-8 text (byte {e.start}); allowed: a YOLO label text file")
    objs, clipped = [], False
    for i, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        ln = _Line(f"{where} line {i}", fields)
        objs.append(parse_line(ln, len(fields), w, h, names, kpt_shape))
        clipped |= ln.clipped
    return objs, clipped


def _f(v: float) -> str:
    return f"{min(1.0, max(0.0, v)):.6f}"


def format_objects(objs: list[Obj], w: int, h: int, kpt_dim: int | None) -> bytes:
    """The label file of `objs` in an image of w x h: 6 decimals, every value within [0, 1]."""
    lines = []
    for ob in objs:
        if ob.kind == "polygon":
            lines.append(f"{ob.cls} " + " ".join(f"{_f(x / w)} {_f(y / h)}" for x, y in ob.poly))
            continue
        x0, y0, x1, y1 = ob.box
        parts = [str(ob.cls), _f((x0 + x1) / 2 / w), _f((y0 + y1) / 2 / h), _f((x1 - x0) / w), _f((y1 - y0) / h)]
        for x, y, v in ob.kpts or []:
            xy = [_f(x / w), _f(y / h)] if v else ["0.000000", "0.000000"]
            parts += xy + ([str(int(v))] if kpt_dim == 3 else [])
        lines.append(" ".join(parts))
    return "".join(line + "\n" for line in lines).encode()


# -- the format: Ultralytics' layout ------------------------------------------------------------
YAML_NAMES = ("data.yaml", "dataset.yaml")


class YoloFormat(Format):
    """INPUT/images/... + INPUT/labels/<same path>.txt (+ data.yaml): boxes, polygons, keypoints."""

    name, images_dir, side_dir = "yolo", "images", "labels"
    extra: dict = {}  # the input data.yaml's other keys (kpt_shape, flip_idx, nc, ...)
    yaml_path: Path | None = None

    def load(self) -> "YoloFormat":
        self.names, self.extra, self.yaml_path = read_yaml(self.root)
        _check_keypoints(self.extra, self.yaml_path)
        return self

    @property
    def kpt_shape(self) -> tuple[int, int] | None:
        k = self.extra.get("kpt_shape")
        return (int(k[0]), int(k[1])) if k else None

    def flip_pairs(self) -> list:
        """The keypoint pairs a mirror swaps: the recipe's flip_pairs, else those of data.yaml's flip_idx."""
        if self.opts["flip_pairs"]:
            return self.opts["flip_pairs"]
        f = self.extra.get("flip_idx") or []
        return [[i, j] for i, j in enumerate(f) if i < j]

    def note(self) -> str:
        what = super().note()
        if self.yaml_path is not None:
            what += f", {len(self.names)} classes from {self.yaml_path.name}"
        else:
            what += ", no data.yaml: classes named by their ids"
        if self.kpt_shape:
            what += f", keypoints {self.kpt_shape[0]}x{self.kpt_shape[1]}"
        return what

    def fingerprint(self) -> dict:
        import hashlib

        return {"data_yaml": hashlib.sha256(self.yaml_path.read_bytes()).hexdigest() if self.yaml_path else None}

    def side_paths(self, image_out: str) -> list[str]:
        p = PurePosixPath(image_out)
        return [str(PurePosixPath(self.side_dir, *p.parts[1:]).with_suffix(".txt"))]

    def read(self, src: str, source: str, w: int, h: int) -> Annotation:
        name = self.side_paths(source)[0]
        try:
            data = (self.root / name).read_bytes()
        except FileNotFoundError:
            data = b""  # a background image
        objs, clipped = parse(data, name, w, h, self.names, self.kpt_shape)
        return Annotation(objs, raw=None if clipped else data)

    def write(self, ann: Annotation, w: int, h: int, image_out: str, source: str) -> dict[str, bytes]:
        kdim = self.kpt_shape[1] if self.kpt_shape else None
        data = ann.raw if ann.raw is not None else format_objects(ann.objs, w, h, kdim)
        return {self.side_paths(image_out)[0]: data}

    def begin(self, out: Path, plan) -> None:
        """OUTPUT/data.yaml, before the first image."""
        from ..io import atomic_write

        splits = {j.split for j in plan.jobs}
        ids = set() if self.names else class_ids(self, [j.source for j in plan.jobs])
        atomic_write(out / "data.yaml", output_yaml(self, splits, ids))


def read_yaml(root: Path) -> tuple[dict, dict, Path | None]:
    """(names, other keys, path) of root/data.yaml (or dataset.yaml); ({}, {}, None) without one."""
    import yaml

    for name in YAML_NAMES:
        p = root / name
        if p.is_file():
            break
    else:
        return {}, {}, None
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise UsageError(f"{p}: cannot read it as YAML ({' '.join(str(e).split())[:200]})")
    if not isinstance(data, dict):
        raise UsageError(f"{p}: not a mapping; allowed: keys such as names, kpt_shape, flip_idx")
    extra = {k: v for k, v in data.items() if k not in ("names", "path", "train", "val", "test", "download")}
    return _names(data.get("names"), p), extra, p


def _names(raw, p: Path) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {i: str(n) for i, n in enumerate(raw)}
    if isinstance(raw, dict) and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in raw):
        return {int(k): str(v) for k, v in sorted(raw.items())}
    raise UsageError(f"{p}: names: {raw!r} is not allowed; allowed: a list of names, or a mapping id: name")


def _check_keypoints(extra: dict, p: Path | None) -> None:
    k = extra.get("kpt_shape")
    if k is not None and not (isinstance(k, list) and len(k) == 2 and all(isinstance(v, int) for v in k)
                              and k[0] >= 1 and k[1] in (2, 3)):
        raise UsageError(f"{p}: kpt_shape: {k!r} is not allowed; allowed: [keypoints, 2 or 3]")
    f = extra.get("flip_idx")
    if f is not None and (k is None or not isinstance(f, list) or sorted(f) != list(range(k[0]))):
        raise UsageError(f"{p}: flip_idx: {f!r} is not allowed; allowed: a permutation of the {k and k[0]} "
                         "keypoint indices (with kpt_shape)")


def class_ids(fmt: YoloFormat, sources: list[str]) -> set[int]:
    """The class ids the label files of `sources` use (for names when the input has no data.yaml;
    malformed lines are skipped here: the run reports them)."""
    ids = set()
    for source in sources:
        try:
            text = (fmt.root / fmt.side_paths(source)[0]).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            first = line.split(maxsplit=1)[:1]
            if first and first[0].isdigit():
                ids.add(int(first[0]))
    return ids


def output_yaml(fmt: YoloFormat, splits: set, ids: set) -> bytes:
    """OUTPUT/data.yaml: the splits written (paths relative to the file), the input's names (or
    the ids used, named by number), and the input data.yaml's other keys (kpt_shape, flip_idx, ...)."""
    import yaml

    data: dict = {s: f"images/{s}" for s in ("train", "val", "test") if s in splits}
    data["names"] = fmt.names or {i: str(i) for i in range(max(ids) + 1 if ids else 0)}
    data.update(fmt.extra)
    head = "# Written by augcli: the augmented dataset in Ultralytics' layout; paths are relative to this file.\n"
    return (head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)).encode()
