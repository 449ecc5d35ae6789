"""Objects through the warps the image pipeline made (transforms/image/pipeline.py records each
warp's 3x3 matrix and output size): exactly the pixels' geometry, then the border rules.

Coordinates. The pipeline's matrices map pixel centres (OpenCV's convention: pixel i's centre
is at i); labels are continuous (pixel i spans [i, i + 1], its centre at i + 0.5). A matrix M
becomes, for continuous coordinates, q' = M (q - 0.5) + 0.5 (`continuous`). A projective matrix
(perspective, alone or fused) moves points with the homogeneous divide; as it maps straight
lines to straight lines, a polygon's moved vertices are still exactly its outline, and its
moved area is measured on the moved, unclipped polygon (a mask's: the area scale at its centre).

Each object is followed as a polygon: its own (segmentation), else its box's four corners, or,
under a rotation or shear and with `bbox_rotation: ellipse`, the box's inscribed ellipse (72
points). After every warp the polygon is clipped to that warp's image (Sutherland-Hodgman),
as pixels moved out of an image are lost to the next warp. Then:

- dropped when nothing is left ("outside"), when what is left, less what cutout holes hide, is
  under `min_visibility` of the moved (unclipped) area, or when its box is under `min_width`,
  `min_height` or `min_area` pixels; its keypoints go with it;
- keypoints keep their count and order: one that leaves an image, or lies under a hole, gets
  visibility 0 (written 0 0 0);
- a mirror (the composed matrix's determinant < 0: hflip, vflip, or any fused chain with an odd
  number of them) swaps the keypoints of `flip_pairs` and the classes of `flip_classes` once.
"""
from __future__ import annotations

import math
from dataclasses import replace

ELLIPSE_POINTS = 72
EPS = 1e-9
EPS_P = 1e-12  # a matrix with a last row further than this from [0, 0, 1] is projective


def continuous(M) -> tuple:
    """(a, b, c, d, e, f): x' = a x + b y + c, y' = d x + e y + f, for continuous coordinates,
    of the pixel-centre matrix M (3x3 or 2x3); a projective M (perspective) gives the 9 entries
    of its 3x3 matrix for continuous coordinates, row by row (last one 1)."""
    (a, b, c), (d, e, f) = M[0][:3], M[1][:3]
    a, b, c, d, e, f = (float(v) for v in (a, b, c, d, e, f))
    if len(M) > 2 and (abs(M[2][0]) > EPS_P or abs(M[2][1]) > EPS_P or abs(M[2][2] - 1) > EPS_P):
        return _shifted([a, b, c, d, e, f, *(float(v) for v in M[2][:3])], 0.5)
    return a, b, c + 0.5 - 0.5 * (a + b), d, e, f + 0.5 - 0.5 * (d + e)


def pixel_centre(t: tuple) -> tuple:
    """The inverse of `continuous`: the pixel-centre matrix (a, b, c, d, e, f) of a continuous
    affine (9 entries for a projective one)."""
    if len(t) == 9:
        return _shifted(list(t), -0.5)
    a, b, c, d, e, f = t
    return a, b, c - 0.5 + 0.5 * (a + b), d, e, f - 0.5 + 0.5 * (d + e)


def _shifted(m: list, s: float) -> tuple:
    """T(s) m T(-s), T(s) the translation by (s, s), normalised so the last entry is 1."""
    a, b, c, d, e, f, g, h, i = m
    c2 = c - s * (a + b) + s * (i - s * (g + h))
    f2 = f - s * (d + e) + s * (i - s * (g + h))
    a2, b2 = a + s * g, b + s * h
    d2, e2 = d + s * g, e + s * h
    i2 = i - s * (g + h)
    return tuple(v / i2 for v in (a2, b2, c2, d2, e2, f2, g, h, i2))


def _full(t: tuple) -> tuple:
    return t if len(t) == 9 else (*t, 0.0, 0.0, 1.0)


def compose(p: tuple, q: tuple) -> tuple:
    """The affine (or projective) p after q."""
    if len(p) == 9 or len(q) == 9:
        P, Q = _full(p), _full(q)
        r = [sum(P[3 * i + k] * Q[3 * k + j] for k in range(3)) for i in range(3) for j in range(3)]
        return tuple(v / r[8] for v in r)
    a, b, c, d, e, f = p
    A, B, C, D, E, F = q
    return a * A + b * D, a * B + b * E, a * C + b * F + c, d * A + e * D, d * B + e * E, d * C + e * F + f


def det(t: tuple) -> float:
    """The area scale of an affine; of a projective map, its 3x3 determinant (the sign: mirrored)."""
    if len(t) == 9:
        a, b, c, d, e, f, g, h, i = t
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return t[0] * t[4] - t[1] * t[3]


def scale_at(t: tuple, x: float, y: float) -> float:
    """|det| of the map's Jacobian at (x, y): how much it scales areas there."""
    if len(t) != 9:
        return abs(det(t))
    w = t[6] * x + t[7] * y + t[8]
    return abs(det(t) / w ** 3) if w else 0.0


def apply(t: tuple, pts) -> list:
    if len(t) == 9:
        a, b, c, d, e, f, g, h, i = t
        out = []
        for x, y in pts:
            w = g * x + h * y + i
            w = w if abs(w) > EPS else EPS  # (a point on the horizon: far away)
            out.append(((a * x + b * y + c) / w, (d * x + e * y + f) / w))
        return out
    a, b, c, d, e, f = t
    return [(a * x + b * y + c, d * x + e * y + f) for x, y in pts]


def area(pts) -> float:
    """The area of a simple polygon (shoelace)."""
    s = 0.0
    n = len(pts)
    for i in range(n):
        x0, y0 = pts[i - 1]
        x1, y1 = pts[i]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0


def _cut(pts, axis: int, bound: float, keep_low: bool) -> list:
    """One Sutherland-Hodgman pass: the part of pts on one side of the line coord[axis] = bound."""
    out = []
    n = len(pts)
    for i in range(n):
        p, q = pts[i - 1], pts[i]
        pin = p[axis] <= bound if keep_low else p[axis] >= bound
        qin = q[axis] <= bound if keep_low else q[axis] >= bound
        if qin != pin:
            t = (bound - p[axis]) / (q[axis] - p[axis])
            o = p[1 - axis] + t * (q[1 - axis] - p[1 - axis])
            out.append((bound, o) if axis == 0 else (o, bound))
        if qin:
            out.append(q)
    return out


def clip(pts, x0: float, y0: float, x1: float, y1: float) -> list:
    """pts clipped to the rectangle [x0, x1] x [y0, y1], repeated points removed."""
    if all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in pts):
        return list(pts)  # inside (the common case)
    for axis, bound, low in ((0, x0, False), (0, x1, True), (1, y0, False), (1, y1, True)):
        if not pts:
            return []
        pts = _cut(pts, axis, bound, low)
    out = []
    for p in pts:
        if not out or abs(p[0] - out[-1][0]) > EPS or abs(p[1] - out[-1][1]) > EPS:
            out.append(p)
    if len(out) > 1 and abs(out[0][0] - out[-1][0]) <= EPS and abs(out[0][1] - out[-1][1]) <= EPS:
        out.pop()
    return out


def corners(box) -> list:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def ellipse(box, n: int = ELLIPSE_POINTS) -> list:
    """The box's inscribed ellipse as n points on it (the extreme points among them)."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)]


def bbox(pts) -> tuple:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def hidden_area(pts, holes) -> float:
    """The area of the polygon under the union of the holes ([x, y, w, h] in pixels): the holes
    cut into disjoint bands and runs, each clipped exactly."""
    bx0, by0, bx1, by1 = bbox(pts)
    rects = [(max(x, bx0), max(y, by0), min(x + w, bx1), min(y + h, by1)) for x, y, w, h in holes]
    rects = [r for r in rects if r[0] < r[2] and r[1] < r[3]]
    if not rects:
        return 0.0
    ys = sorted({v for r in rects for v in (r[1], r[3])})
    total = 0.0
    for ya, yb in zip(ys, ys[1:]):
        runs = sorted((r[0], r[2]) for r in rects if r[1] <= ya and r[3] >= yb)
        merged: list = []
        for xa, xb in runs:
            if merged and xa <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], xb)
            else:
                merged.append([xa, xb])
        for xa, xb in merged:
            piece = clip(pts, xa, ya, xb, yb)
            total += area(piece) if len(piece) >= 3 else 0.0
    return total


def _under(x: float, y: float, holes) -> bool:
    return any(hx <= x < hx + hw and hy <= y < hy + hh for hx, hy, hw, hh in holes)


def _keypoints(kpts, t: tuple, w: int, h: int) -> None:
    for k in kpts:
        if k[2]:
            (x, y), = apply(t, [(k[0], k[1])])
            k[0], k[1] = x, y
            if not (0.0 <= x <= w and 0.0 <= y <= h):
                k[2] = 0


def _hide(kpts, window) -> None:
    """Keypoints outside the window get visibility 0."""
    x0, y0, x1, y1 = window
    for k in kpts:
        if k[2] and not (x0 <= k[0] <= x1 and y0 <= k[1] <= y1):
            k[2] = 0


class Follower:
    """Moves a copy's objects through its warps (continuous affines with their output sizes) and
    applies the border rules; `opts` is the recipe's annotations mapping, `pairs` the keypoint
    pairs a mirror swaps."""

    def __init__(self, warps: list, holes: list, opts: dict, pairs: list, window: tuple | None = None):
        self.warps, self.holes, self.opts, self.window = warps, holes, opts, window
        self.cut = 0  # objects dropped or not wholly visible (on_cut: resample draws the copy again)
        self.aligned = all(len(t) == 6 and abs(t[1]) < EPS and abs(t[3]) < EPS for t, _, _ in warps)
        self.projective = any(len(t) == 9 for t, _, _ in warps)
        total = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        for t, _, _ in warps:
            total = compose(t, total)
        self.mirrored = det(total) < 0
        self.swap_cls = {a: b for a, b in opts["flip_classes"]} | {b: a for a, b in opts["flip_classes"]}
        self.pairs = pairs

    def shapes(self, ob) -> list:
        """The polygons followed for the object: its own, or made from its box."""
        if ob.polys is not None:
            return [list(p) for p in ob.polys]
        if self.aligned or self.opts["bbox_rotation"] == "corners":
            return [corners(ob.box)]
        return [ellipse(ob.box)]

    def move(self, ob):
        """(the object as it ends up, an Obj, "") or (None, why it was dropped)."""
        if ob.mask is not None:
            return self._move_mask(ob)
        shapes = self.shapes(ob)
        full = sum(area(p) for p in shapes)
        whole = shapes if self.projective else None  # unclipped: a projective map's area scale varies
        kpts = [list(k) for k in ob.kpts] if ob.kpts is not None else None
        for t, w, h in self.warps:
            shapes = [p for p in (clip(apply(t, p), 0.0, 0.0, w, h) for p in shapes) if len(p) >= 3]
            if whole is not None:
                whole = [apply(t, p) for p in whole]
                full = sum(area(p) for p in whole)
            else:
                full *= abs(det(t))
            if kpts is not None:
                _keypoints(kpts, t, w, h)
            if not shapes:
                return None, "outside"
        if self.window is not None:  # a CutMix partner's objects: only what the box shows
            shapes = [p for p in (clip(p, *self.window) for p in shapes) if len(p) >= 3]
            if kpts is not None:
                _hide(kpts, self.window)
        seen = sum(area(p) for p in shapes)
        if seen <= 0:
            return None, "outside"
        if self.holes:
            seen -= sum(hidden_area(p, self.holes) for p in shapes)
        box = bbox([q for p in shapes for q in p])
        why = self._rules(seen, full, box)
        if why:
            return None, why
        if kpts is not None and self.holes:
            for k in kpts:
                if k[2] and _under(k[0], k[1], self.holes):
                    k[2] = 0
        cls = self._mirror(ob.cls, kpts)
        return replace(ob, cls=cls, box=box, kpts=kpts, polys=shapes if ob.polys is not None else None), ""

    def _rules(self, seen: float, full: float, box: tuple) -> str:
        """Why an object that covers `seen` of its moved area `full`, with this box, is dropped ("" if kept)."""
        if seen < full * (1 - 1e-6):
            self.cut += 1
        if seen < self.opts["min_visibility"] * full:
            return "min_visibility"
        x0, y0, x1, y1 = box
        for reason, value in (("min_width", x1 - x0), ("min_height", y1 - y0), ("min_area", (x1 - x0) * (y1 - y0))):
            if value < self.opts[reason]:
                return reason
        return ""

    def _mirror(self, cls, kpts):
        """The class after the copy's mirror (flip_classes), keypoints of flip_pairs swapped in place."""
        if not self.mirrored:
            return cls
        for i, j in self.pairs:
            if kpts is not None and max(i, j) < len(kpts):
                kpts[i], kpts[j] = kpts[j], kpts[i]
        return self.swap_cls.get(cls, cls)

    def _move_mask(self, ob):
        """An object with its own mask (COCO RLE): the mask warped by nearest neighbour, its box
        from the pixels it keeps, visibility counted in pixels; its keypoints as a polygon's."""
        import cv2
        import numpy as np

        m = ob.mask
        full = float(np.count_nonzero(m))
        kpts = [list(k) for k in ob.kpts] if ob.kpts is not None else None
        for t, w, h in self.warps:
            if len(t) == 9:  # perspective: the area scale at the mask's centre
                ys, xs = np.nonzero(m)
                full *= scale_at(t, float(xs.mean()) + 0.5, float(ys.mean()) + 0.5) if len(xs) else 0.0
                m = cv2.warpPerspective(m, np.asarray(pixel_centre(t)).reshape(3, 3), (int(w), int(h)),
                                        flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            else:
                m = cv2.warpAffine(m, np.asarray(pixel_centre(t)).reshape(2, 3), (int(w), int(h)),
                                   flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                full *= abs(det(t))
            if kpts is not None:
                _keypoints(kpts, t, w, h)
        if self.window is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in self.window)
            m = m.copy()
            m[:y0], m[y1:], m[:, :x0], m[:, x1:] = 0, 0, 0, 0
            if kpts is not None:
                _hide(kpts, self.window)
        seen = float(np.count_nonzero(m))
        if seen <= 0:
            return None, "outside"
        if self.holes:
            shown = m.copy()
            for x, y, hw, hh in self.holes:
                shown[max(0, int(y)):max(0, int(y + hh)), max(0, int(x)):max(0, int(x + hw))] = 0
            seen = float(np.count_nonzero(shown))
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
        why = self._rules(seen, full, box)
        if why:
            return None, why
        for k in kpts or []:
            if k[2] and _under(k[0], k[1], self.holes):
                k[2] = 0
        return replace(ob, cls=self._mirror(ob.cls, kpts), box=box, mask=m, kpts=kpts), ""

    def run(self, objs: list) -> tuple[list, dict]:
        """The objects kept, and the manifest's record: objects in and out, drops by reason, how
        boxes without polygon were made under a rotation/shear, whether the copy is mirrored."""
        kept, dropped = [], {}
        for ob in objs:
            new, why = self.move(ob)
            if new is None:
                self.cut += why == "outside"  # the other reasons counted it in _rules
                dropped[why] = dropped.get(why, 0) + 1
            else:
                kept.append(new)
        info = counts(objs, kept)
        if dropped:
            info["dropped"] = dict(sorted(dropped.items()))
        if not self.aligned and any(ob.polys is None and ob.mask is None for ob in objs):
            info["boxes"] = self.opts["bbox_rotation"]
        if self.mirrored:
            info["mirrored"] = True
        return kept, info


def counts(objs: list, kept: list) -> dict:
    """The manifest's `annotations` op of a copy: objects in and out, and per class [in, out]."""
    per: dict = {}
    for ob in objs:
        per.setdefault(str(ob.cls), [0, 0])[0] += 1
    for ob in kept:
        per.setdefault(str(ob.cls), [0, 0])[1] += 1
    return {"name": "annotations", "objects_in": len(objs), "objects_out": len(kept),
            "classes": dict(sorted(per.items()))}
