"""One interpolation of an image by a 3x3 matrix: what every geometric step, alone or fused, ends in.

`warp` picks the cheapest exact way: nothing (identity), a flip, a crop (+ resize) when the matrix
is axis-aligned on whole pixels, else one `cv2.warpAffine` (an area pre-shrink first when the
matrix shrinks strongly; one-channel images through a padded border and, for 8-bit planes, the
augcli._planes warp); a projective matrix (perspective) one `cv2.warpPerspective`. YCbCr planes
are warped plane by plane (planar.warp), projective ones too.
"""
from __future__ import annotations

import math

import numpy as np

from ...io.image import Planes
from .common import _cv2, channels, fill_tuple
from .planar import warp as warp_planes


def resize_matrix(sx: float, sy: float) -> np.ndarray:
    # pixel centres: x_out + 0.5 = s * (x_in + 0.5), as cv2.resize does
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], float)


_BORDER = {"constant": "BORDER_CONSTANT", "nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT", "wrap": "BORDER_WRAP"}


def _near(a: list, ref) -> bool:
    """a (a 2x3 matrix's six numbers, as floats) equals ref within 1e-9 (plain floats: np.allclose
    costs ~0.1 ms a call)."""
    return all(abs(x - y) <= 1e-9 * (1 + abs(y)) for x, y in zip(a, ref))


def warp(img: np.ndarray, M: np.ndarray, w: int, h: int, fill: str = "reflect", fill_value=None,
         border_value: tuple | None = None) -> np.ndarray:
    """Apply the 3x3 matrix M (input pixel coords -> output pixel coords) with one interpolation.
    `border_value`: the OpenCV scalar for a constant fill, instead of one made from fill_value."""
    if isinstance(img, Planes):
        return warp_planes(img, M, w, h, fill, fill_value, warp)
    cv2 = _cv2()
    (a, b, tx), (c, d, ty), last = M.tolist()
    if abs(last[0]) > 1e-12 or abs(last[1]) > 1e-12 or abs(last[2] - 1) > 1e-12:
        return _projective(img, M, w, h, fill, fill_value, border_value)
    H, W = img.shape[:2]
    A = M[:2]
    six = [a, b, tx, c, d, ty]
    if (w, h) == (W, H) and abs(b) < 1e-9 and abs(c) < 1e-9 and abs(abs(a) - 1) < 1e-9:
        if _near(six, (1, 0, 0, 0, 1, 0)):
            return img
        for code, ref in ((1, (-1, 0, W - 1, 0, 1, 0)), (0, (1, 0, 0, 0, -1, H - 1)), (-1, (-1, 0, W - 1, 0, -1, H - 1))):
            if _near(six, ref):
                return cv2.flip(img, code)
    if abs(b) < 1e-12 and abs(c) < 1e-12 and a > 0 and d > 0:
        # axis-aligned: a crop (+ resize) when the source window is whole pixels inside the image
        x0, y0 = 0.5 - (tx + 0.5) / a, 0.5 - (ty + 0.5) / d
        cw, ch = w / a, h / d
        vals = [x0, y0, cw, ch]
        if all(abs(v - round(v)) <= 1e-6 for v in vals):
            x0, y0, cw, ch = (int(round(v)) for v in vals)
            if x0 >= 0 and y0 >= 0 and x0 + cw <= W and y0 + ch <= H:
                win = img[y0:y0 + ch, x0:x0 + cw]
                if (cw, ch) == (w, h):
                    return win.copy()
                interp = cv2.INTER_AREA if (w < cw and h < ch) else cv2.INTER_LINEAR
                return cv2.resize(win, (w, h), interpolation=interp)
    scale = math.sqrt(abs(a * d - b * c))
    if scale < 0.5:
        # strong downscale: area-average first so the warp does not alias
        f = min(1.0, 2.0 * scale)
        sw, sh = max(1, int(round(W * f))), max(1, int(round(H * f)))
        img = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        M = M @ np.linalg.inv(resize_matrix(sw / W, sh / H))
        A = M[:2]
    border = getattr(cv2, _BORDER[fill])
    # (a fill colour only for a constant border: the others read the image's own pixels)
    value = border_value if border_value is not None else fill_tuple(img, fill_value) if fill == "constant" else 0
    if channels(img) == 1:
        out = _padded_warp(img, A, w, h, border, value)
        if out is not None:
            return out
    return cv2.warpAffine(img, A, (w, h), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)


def _projective(img: np.ndarray, M: np.ndarray, w: int, h: int, fill: str, fill_value, border_value) -> np.ndarray:
    """A homography (perspective, alone or fused with affine steps): one cv2.warpPerspective
    (no area pre-shrink: the scale varies over the image; a perspective step keeps the size)."""
    cv2 = _cv2()
    value = fill_tuple(img, fill_value) if border_value is None else border_value
    return cv2.warpPerspective(img, M / M[2, 2], (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=getattr(cv2, _BORDER[fill]), borderValue=value)


def _padded_warp(img: np.ndarray, A: np.ndarray, w: int, h: int, border: int, value) -> np.ndarray | None:
    """A one-channel warp as one border pass + a warp that reads only real pixels. The padding
    holds what the fill mode gives outside the image, so the values are those of a warp with
    that border; it is faster because OpenCV samples near-border pixels one at a time (reflect:
    1.3-2x; with 2-4 channels the border pass costs what it saves). 8-bit planes then go to
    augcli._planes.warp (~1.8x faster than OpenCV on the padded plane; 1/256-pixel weights,
    within 1 grey level of OpenCV's); others to OpenCV (bit-identical to warping with the
    border). None when the padding would exceed the image itself."""
    from ...io.image import _planar_codec

    cv2 = _cv2()
    native = _planar_codec() if img.dtype == np.uint8 else None
    if native is None and border == cv2.BORDER_CONSTANT:
        return None  # OpenCV's constant border is fast already
    H, W = img.shape[:2]
    inv = cv2.invertAffineTransform(A)
    xs = inv[0, 0] * np.array([0, w - 1, 0, w - 1]) + inv[0, 1] * np.array([0, 0, h - 1, h - 1]) + inv[0, 2]
    ys = inv[1, 0] * np.array([0, w - 1, 0, w - 1]) + inv[1, 1] * np.array([0, 0, h - 1, h - 1]) + inv[1, 2]
    left, top = max(0, math.ceil(-xs.min()) + 2), max(0, math.ceil(-ys.min()) + 2)
    right, bottom = max(0, math.ceil(xs.max() - (W - 1)) + 2), max(0, math.ceil(ys.max() - (H - 1)) + 2)
    if max(left, right) > W or max(top, bottom) > H:
        return None
    if left or top or right or bottom:
        img = cv2.copyMakeBorder(img, top, bottom, left, right, border, value=value)
        inv[:, 2] += (left, top)
    if (native is not None and min(img.shape) >= 2 and max(img.shape + (w, h)) <= 30000
            and max(abs(inv[0, 0]), abs(inv[1, 0])) <= 64):  # (the extension's limits)
        out = np.empty((h, w), np.uint8)
        native.warp(img, tuple(inv.ravel().tolist()), out)
        return out
    return cv2.warpAffine(img, inv, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT)
