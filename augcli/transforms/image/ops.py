"""Pixel ops with Pillow's semantics (PIL.ImageOps, PIL.ImageEnhance), as torchvision's policies
use them: equalize, autocontrast, posterize, solarize, invert, sharpness; and the Pillow-exact
enhancers brightness, contrast and colour (`enhance`) that the policies (policies.py) need.

Each op works per colour channel through a lookup table (cv2.LUT for 8-bit, indexing for 16-bit);
an alpha channel is kept as it is. 16-bit images use the same rules on the 0-65535 scale
(parameters given on the 0-255 scale are scaled). Blends truncate like Pillow's Image.blend.
"""
from __future__ import annotations

import numpy as np

from ..base import Param, uniform
from .common import _cv2, maxval
from .pixel import PixelStep


# ------------------------------------------------------------------------------------------------
# lookup tables
# ------------------------------------------------------------------------------------------------
def _as_int(img: np.ndarray):
    """(integer image, back): float images (0-1) go through 16-bit and back."""
    if img.dtype in (np.uint8, np.uint16):
        return img, lambda x: x
    dtype = img.dtype
    return (np.clip(np.rint(img * 65535.0), 0, 65535).astype(np.uint16),
            lambda x: (x.astype(np.float64) / 65535.0).astype(dtype))


def _colour(img: np.ndarray) -> int:
    """The number of colour channels (alpha excluded)."""
    return 1 if img.ndim == 2 else min(3, img.shape[2])


def _planes(img: np.ndarray) -> list[np.ndarray]:
    return [img] if img.ndim == 2 else [img[..., i] for i in range(_colour(img))]


def apply_luts(img: np.ndarray, luts: list[np.ndarray]) -> np.ndarray:
    """img with one table per colour channel (alpha kept); tables of vmax + 1 entries."""
    if img.ndim == 2:
        return _cv2().LUT(img, luts[0]) if img.dtype == np.uint8 else luts[0][img]
    c = img.shape[2]
    if img.dtype == np.uint8:
        ident = np.arange(256, dtype=np.uint8)
        table = np.stack([luts[i] if i < len(luts) else ident for i in range(c)], axis=1)
        return _cv2().LUT(img, table.reshape(256, 1, c))
    out = img.copy()
    for i, lut in enumerate(luts):
        out[..., i] = lut[img[..., i]]
    return out


def _per_channel(img, make_lut) -> np.ndarray:
    """The image with make_lut(plane, vmax) applied to each colour channel."""
    work, back = _as_int(img)
    vmax = int(maxval(work))
    return back(apply_luts(work, [make_lut(p, vmax) for p in _planes(work)]))


def _same_lut(img, lut_of_vmax) -> np.ndarray:
    work, back = _as_int(img)
    lut = lut_of_vmax(int(maxval(work)))
    return back(apply_luts(work, [lut] * _colour(work)))


def histogram(plane: np.ndarray, n: int) -> np.ndarray:
    if plane.dtype == np.uint8:
        return _cv2().calcHist([np.ascontiguousarray(plane)], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return np.bincount(plane.ravel(), minlength=n)


def equalize_lut(plane: np.ndarray, vmax: int) -> np.ndarray:
    """PIL.ImageOps.equalize's table for one channel (torchvision's F.equalize is the same)."""
    n = vmax + 1
    h = histogram(plane, n)
    nz = h[h > 0]
    ident = np.arange(n)
    if nz.size <= 1:
        return ident.astype(plane.dtype)
    before = np.concatenate([[0], np.cumsum(h)[:-1]])
    if vmax != 255:  # 16-bit: the same rule with an exact step (a whole one would be 0 or 1 here)
        step = (int(nz.sum()) - int(nz[-1])) / vmax
        return np.minimum(np.floor((step / 2 + before) / step), vmax).astype(plane.dtype)
    step = (int(nz.sum()) - int(nz[-1])) // vmax
    if not step:
        return ident.astype(plane.dtype)
    return np.minimum((step // 2 + before) // step, vmax).astype(plane.dtype)


def autocontrast_lut(plane: np.ndarray, vmax: int) -> np.ndarray:
    """PIL.ImageOps.autocontrast's table (cutoff 0): the channel's min..max stretched to 0..vmax."""
    lo, hi = int(plane.min()), int(plane.max())
    ident = np.arange(vmax + 1)
    if hi <= lo:
        return ident.astype(plane.dtype)
    scale = vmax / (hi - lo)
    return np.clip(np.trunc(ident * scale - lo * scale), 0, vmax).astype(plane.dtype)


def equalize(img):
    return _per_channel(img, equalize_lut)


def autocontrast(img):
    return _per_channel(img, autocontrast_lut)


def posterize(img, bits: int):
    """Keep the `bits` high bits of each colour channel (of 8, or of 16 for 16-bit images)."""
    def lut(vmax):
        depth = 8 if vmax == 255 else 16
        return (np.arange(vmax + 1) & ~((1 << (depth - int(bits))) - 1)).astype(np.uint8 if vmax == 255 else np.uint16)

    return _same_lut(img, lut)


def solarize(img, threshold: float):
    """Invert the levels >= threshold (threshold on the 0-255 scale)."""
    def lut(vmax):
        t = threshold * vmax / 255.0
        i = np.arange(vmax + 1)
        return np.where(i >= t, vmax - i, i).astype(np.uint8 if vmax == 255 else np.uint16)

    return _same_lut(img, lut)


def invert(img):
    return _same_lut(img, lambda vmax: (vmax - np.arange(vmax + 1)).astype(np.uint8 if vmax == 255 else np.uint16))


# ------------------------------------------------------------------------------------------------
# blends (PIL.ImageEnhance): out = degenerate + factor * (image - degenerate), truncated
# ------------------------------------------------------------------------------------------------
def _blend_table(d: np.ndarray, x: np.ndarray, factor: float, vmax: float, dtype) -> np.ndarray:
    """Pillow's blend of degenerate d and image x, float32 as Pillow computes it, truncated."""
    d = d.astype(np.float32)
    res = x.astype(np.float32) - d
    res *= np.float32(factor)
    res += d
    np.clip(res, 0, vmax, out=res)
    return res.astype(dtype)  # (float -> int truncates, as Pillow)


def _blend(img: np.ndarray, degenerate, factor: float) -> np.ndarray:
    """Pillow's Image.blend(degenerate, img, factor) on the colour channels (alpha kept);
    `degenerate`: a level, or an image of the colour channels (or one grey plane) in img's dtype.
    8-bit images go through tables: one of 256 entries, or 256 x 256 for an image degenerate."""
    work, back = _as_int(img)
    vmax = maxval(work)
    c = _colour(work)
    col = work if work.ndim == 2 else work[..., :c]
    if np.isscalar(degenerate):
        levels = np.arange(vmax + 1)
        lut = _blend_table(np.float32(degenerate), levels, factor, vmax, work.dtype)
        return back(apply_luts(work, [lut] * c))
    d = degenerate if degenerate.ndim == col.ndim else degenerate[..., None]
    if work.dtype == np.uint8:
        i = np.arange(256)
        table = _blend_table(i[:, None], i[None, :], factor, vmax, np.uint8).ravel()
        res = table[(d.astype(np.uint16) << 8) | col]
    else:
        res = _blend_table(d, col, factor, vmax, work.dtype)
    if work.ndim == 3 and work.shape[2] > c:
        res = np.concatenate([res, work[..., c:]], axis=2)
    return back(res)


def grey(img: np.ndarray) -> np.ndarray:
    """Pillow's convert("L") of the colour channels (ITU-R 601-2 luma, fixed point for 8-bit)."""
    if img.ndim == 2:
        return img
    cv2 = _cv2()
    x = img[..., :3].astype(np.float32)
    if img.dtype == np.uint8:  # (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16: exact in float32 (< 2 ** 24)
        s = cv2.transform(x, np.array([[7471, 38470, 19595]], np.float32))
        return ((s + 32768.0) * (1.0 / 65536.0)).astype(np.uint8)
    s = cv2.transform(x, np.array([[0.114, 0.587, 0.299]], np.float32))
    return np.clip(np.rint(s), 0, maxval(img)).astype(img.dtype)


def enhance(img: np.ndarray, kind: str, factor: float) -> np.ndarray:
    """PIL.ImageEnhance.{Brightness, Contrast, Color, Sharpness}(img).enhance(factor)."""
    work, back = _as_int(img)
    if kind == "brightness":
        deg = 0.0
    elif kind == "contrast":
        deg = float(int(grey(work).mean() + 0.5))
    elif kind == "color":
        deg = grey(work)
    elif kind == "sharpness":
        deg = smooth(work)
    else:
        raise ValueError(kind)
    return back(_blend(work, deg, factor))


def smooth(img: np.ndarray) -> np.ndarray:
    """PIL.ImageFilter.SMOOTH ([[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13) on the colour channels, rounded
    (never a tie: the sums are integers over 13); border rows and columns unchanged."""
    cv2 = _cv2()
    c = _colour(img)
    col = np.ascontiguousarray(img if img.ndim == 2 else img[..., :c])
    if min(img.shape[:2]) < 3:
        return col.copy()
    depth = cv2.CV_16U if img.dtype == np.uint8 else cv2.CV_32F
    total = cv2.boxFilter(col, depth, (3, 3), normalize=False, borderType=cv2.BORDER_REPLICATE)
    if img.dtype == np.uint8:  # sums <= 13 * 255: a table of the rounded quotients
        total += col.astype(np.uint16) << 2
        out = ((np.arange(13 * 255 + 1) + 6) // 13).astype(np.uint8)[total]
    else:
        total += 4.0 * col.astype(np.float32)
        out = np.clip(np.rint(total / 13.0), 0, maxval(img)).astype(img.dtype)
    for edge in ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)):
        out[edge] = col[edge]
    return out


def sharpness(img, factor: float):
    return enhance(img, "sharpness", factor)


# ------------------------------------------------------------------------------------------------
# the steps
# ------------------------------------------------------------------------------------------------
class Equalize(PixelStep):
    NAME = "equalize"
    DOC = "equalise the histogram of each colour channel (PIL.ImageOps.equalize)"

    def apply(self, img, prm):
        return equalize(img)


class AutoContrast(PixelStep):
    NAME = "autocontrast"
    DOC = "stretch each colour channel's min..max to the full range (PIL.ImageOps.autocontrast)"

    def apply(self, img, prm):
        return autocontrast(img)


class Posterize(PixelStep):
    NAME = "posterize"
    DOC = "keep the high `bits` bits of each channel (PIL.ImageOps.posterize)"
    PARAMS = (Param("bits", "irange", [4, 8], lo=1, hi=8, center=None, doc="bits kept (of 8; 16-bit scaled)"),)

    def sample(self, rng, ctx):
        lo, hi = self.cfg["bits"]
        return {"bits": int(rng.integers(lo, hi + 1))}

    def apply(self, img, prm):
        return posterize(img, prm["bits"])


class Solarize(PixelStep):
    NAME = "solarize"
    DOC = "invert the levels at or above a threshold (PIL.ImageOps.solarize)"
    PARAMS = (Param("threshold", "range", [128, 128], lo=0, hi=256, center=None,
                    doc="threshold range on the 0-255 scale (256: nothing inverted)"),)

    def sample(self, rng, ctx):
        return {"threshold": uniform(rng, self.cfg["threshold"])}

    def apply(self, img, prm):
        return solarize(img, prm["threshold"])


class Invert(PixelStep):
    NAME = "invert"
    DOC = "invert the colour channels (PIL.ImageOps.invert)"

    def apply(self, img, prm):
        return invert(img)


class Sharpness(PixelStep):
    NAME = "sharpness"
    DOC = "blend with the 3x3 SMOOTH-filtered image (PIL.ImageEnhance.Sharpness; < 1 blurs, > 1 sharpens)"
    PARAMS = (Param("factor", "range", [0.1, 1.9], lo=0, hi=10, center=1.0, doc="factor range (0.9 means [0.1, 1.9])"),)

    def sample(self, rng, ctx):
        return {"factor": uniform(rng, self.cfg["factor"])}

    def apply(self, img, prm):
        return sharpness(img, prm["factor"])


OPS = (Equalize, AutoContrast, Posterize, Solarize, Invert, Sharpness)
