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

from .model import LabelError, Obj

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
