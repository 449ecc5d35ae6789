"""Annotations drawn on an image, for the inspection commands (preview's contact sheet, the
report's sample grid): a pure function, no I/O.

    draw(img_bgr_uint8, ann, names) -> a new BGR uint8 image

- boxes: an outline in the class's colour (a fixed palette of 20: see `colour`), drawn on the
  box's edge pixels;
- polygons: their outlines;
- masks (an object's own, and the semantic mask): a translucent overlay (ALPHA) with a thin
  outline, value 0 (background) and the void value (255; 65535 in a 16-bit mask) not coloured;
- keypoints: dots (visibility 2 filled, 1 a ring; 0 not drawn);
- class names: on a small filled label above the object (inside it when there is no room above).

Line widths, dot sizes and the label's font grow with the image, so they stay visible once the
image is shrunk to a thumbnail of about 200 pixels. OpenCV and numpy are imported inside the
functions. `class_name` and `box_of` serve the inspection commands' counts too.
"""
from __future__ import annotations

ALPHA = 0.4
# BGR; Ultralytics' 20-colour palette (distinct, saturated: far from most photos' greys)
PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72),
           (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0), (168, 153, 44), (255, 194, 0),
           (147, 69, 52), (255, 115, 100), (236, 24, 0), (255, 56, 132), (133, 0, 82), (255, 56, 203),
           (200, 149, 255), (199, 55, 255)]


def colour(cls) -> tuple:
    """The BGR colour of a class: ids 0-19 (an int, or its string) in the palette's order; other
    ids (16-bit mask values such as 1000, 2000 ...) and names by their CRC-32."""
    import zlib

    if isinstance(cls, str) and cls.isdigit():
        cls = int(cls)
    if isinstance(cls, int) and not isinstance(cls, bool) and 0 <= cls < len(PALETTE):
        return PALETTE[cls]
    return PALETTE[zlib.crc32(str(cls).encode("utf-8")) % len(PALETTE)]


def class_name(names: dict, cls) -> str:
    """The name of class `cls` (an id, its string as the manifest holds it, or a name) in `names`."""
    names = names or {}
    if cls in names:
        return str(names[cls])
    if isinstance(cls, str) and cls.lstrip("-").isdigit() and int(cls) in names:
        return str(names[int(cls)])
    return str(cls)


def box_of(ob) -> tuple | None:
    """(x0, y0, x1, y1) of an object in pixels: its box, else its polygons' extent, else its mask's."""
    if ob.box is not None:
        return tuple(float(v) for v in ob.box)
    pts = [p for poly in ob.polys or [] for p in poly]
    if pts:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)
    if ob.mask is not None:
        import numpy as np

        rows, cols = np.flatnonzero(ob.mask.any(1)), np.flatnonzero(ob.mask.any(0))
        if rows.size:
            return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)
    return None


def widths(h: int, w: int) -> tuple[int, float]:
    """(line width in pixels, font scale) for an image of h x w: about 2 pixels and 9-pixel text
    once the image is shrunk to 200 pixels."""
    import math

    side = max(h, w)
    return max(2, math.ceil(side / 100)), max(0.35, side / 480)


def draw(img, ann, names: dict | None = None):
    """`img` (BGR uint8; grey or BGRA are converted) with `ann` (model.Annotation, in img's pixels)
    drawn on a copy: masks first (translucent), then outlines, keypoints and class names."""
    import cv2
    import numpy as np

    if img.ndim == 2:
        out = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        out = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    else:
        out = np.ascontiguousarray(img[:, :, :3]).copy()
    if ann is None:
        return out
    h, w = out.shape[:2]
    t, scale = widths(h, w)
    if ann.mask is not None and getattr(ann.mask, "arr", None) is not None and ann.mask.arr.shape[:2] == (h, w):
        _semantic(out, ann.mask.arr, t)
    for ob in ann.objs:
        if ob.mask is not None and getattr(ob.mask, "shape", None) == (h, w):
            _overlay(out, np.asarray(ob.mask) != 0, np.array(colour(ob.cls), np.float32))
    for ob in ann.objs:
        _outline(out, ob, t)
    for ob in ann.objs:
        box = box_of(ob)
        if box is not None:
            _label(out, class_name(names, ob.cls), box, colour(ob.cls), t, scale)
    return out


def _overlay(out, m, col) -> None:
    """Blend `col` (one colour, or one per pixel of m) into the pixels of out where m is true."""
    import numpy as np

    if not m.any():
        return
    px = out[m].astype(np.float32)
    c = col if col.ndim == 1 else col[m]
    out[m] = np.clip(px * (1 - ALPHA) + c * ALPHA + 0.5, 0, 255).astype(np.uint8)


def _semantic(out, arr, t: int) -> None:
    """The semantic mask's classes, each in its colour (translucent, its regions outlined thinly);
    background (0) and void left as they are."""
    import cv2
    import numpy as np

    void = 255 if arr.dtype == np.uint8 else 65535
    vals, inv = np.unique(arr, return_inverse=True)
    cols = np.array([colour(int(v)) for v in vals], np.float32)
    keep = (vals != 0) & (vals != void)
    inv = inv.reshape(arr.shape)
    _overlay(out, keep[inv], cols[inv])
    for i in np.flatnonzero(keep):
        contours, _ = cv2.findContours((inv == i).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, colour(int(vals[i])), max(1, t // 2), cv2.LINE_AA)


def _pt(x: float, y: float) -> tuple[int, int]:
    """A continuous coordinate (pixel i spans [i, i + 1]) as OpenCV's fixed point (shift 4) of pixel centres."""
    return int(round((x - 0.5) * 16)), int(round((y - 0.5) * 16))


def _outline(out, ob, t: int) -> None:
    import cv2
    import numpy as np

    col = colour(ob.cls)
    if ob.polys:
        for poly in ob.polys:
            pts = np.array([_pt(x, y) for x, y in poly], np.int32)
            cv2.polylines(out, [pts], True, col, t, cv2.LINE_AA, shift=4)
    elif ob.mask is not None:
        contours, _ = cv2.findContours((np.asarray(ob.mask) != 0).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, col, max(1, t // 2), cv2.LINE_AA)
    if ob.box is not None and not ob.polys:
        x0, y0, x1, y1 = ob.box
        # the first and last pixel rows/columns inside the box: the outline covers the box's edge pixels
        cv2.rectangle(out, _pt(x0 + 0.5, y0 + 0.5), _pt(x1 - 0.5, y1 - 0.5), col, t, cv2.LINE_8, shift=4)
    r = 2 * t
    for x, y, v in ob.kpts or []:
        if v:
            cv2.circle(out, _pt(x, y), r * 16, col, -1 if v >= 2 else max(1, t // 2), cv2.LINE_AA, shift=4)
            if v >= 2:
                cv2.circle(out, _pt(x, y), r * 16, (255, 255, 255), 1, cv2.LINE_AA, shift=4)


def _label(out, text: str, box: tuple, col: tuple, t: int, scale: float) -> None:
    """`text` on a filled label of the class's colour at the box's left: above the box, else below
    it, else inside its top (no room outside), kept within the image."""
    import cv2

    h, w = out.shape[:2]
    thick = max(1, t // 2)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(1, t // 2)
    lw, lh = tw + 2 * pad, th + base + 2 * pad
    x0, y0, y1 = int(box[0]), int(box[1]), int(round(box[3]))
    clear = (t + 1) // 2  # clear of the outline
    top = y0 - clear - lh
    if top < 0:
        top = y1 + clear if y1 + clear + lh <= h else y0 + clear
    left = max(0, min(x0, w - lw))
    top = max(0, min(top, h - lh))
    cv2.rectangle(out, (left, top), (left + lw - 1, top + lh - 1), col, -1)
    ink = (0, 0, 0) if 0.114 * col[0] + 0.587 * col[1] + 0.299 * col[2] > 140 else (255, 255, 255)
    cv2.putText(out, text, (left + pad, top + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thick, cv2.LINE_AA)
