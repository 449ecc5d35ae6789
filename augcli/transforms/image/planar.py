"""Image steps on a JPEG's own YCbCr 4:2:0 planes (`io.image.Planes`).

A JPEG -> JPEG job whose steps all have a planar form skips four whole-image passes: chroma
upsampling and YCbCr->BGR on decode, BGR->YCbCr and chroma downsampling on encode. The steps
sample exactly the same parameters (the manifest is the same); only where pixels are computed
differs:

- geometry: one warp of the luma plane with the fused matrix M, one of each chroma plane with
  M carried into chroma coordinates (JFIF sites a chroma sample at the centre of its 2x2 luma
  block: x_c = x/2 - 1/4);
- colour: every colour step's RGB matrix becomes, in YCbCr, a luma gain + offset (a lookup
  table) and a 2x2 chroma matrix + offset (one weighted sum per chroma plane): brightness,
  contrast, saturation, hue (a rotation in the Cb/Cr plane), channel shift and grayscale
  never mix luma with chroma;
- Gaussian noise: per-channel RGB noise of std s is, in YCbCr, luma noise of std s * |K_y|
  and chroma noise of std s * |K_c| / 2 (the encoder of the RGB path averages 2x2 chroma);
  grey noise is luma noise of std s; the mean colour (for contrast) is that of the planes;
- blur: sigma on luma, sigma / 2 on chroma; cutout: the hole on luma, the chroma samples
  whose 2x2 block it covers (at least half) on chroma.
"""
from __future__ import annotations

import math

import numpy as np

from ...io.image import Planes, chroma_size
from ..base import fill_levels

# JFIF: full-range BT.601. ycc = K @ rgb + (0, 128, 128)
K = np.array([[0.299, 0.587, 0.114],
              [-0.168736, -0.331264, 0.5],
              [0.5, -0.418688, -0.081312]])
K_INV = np.linalg.inv(K)
_T = np.eye(4)
_T[:3, :3], _T[:3, 3] = K, (0, 128, 128)
_T_INV = np.linalg.inv(_T)
# luma coordinates -> chroma coordinates (and back)
_S = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1]])
_S_INV = np.linalg.inv(_S)
NOISE_Y = math.sqrt(float(K[0] @ K[0]))  # 0.659
NOISE_C = math.sqrt(float(K[1] @ K[1] + K[2] @ K[2]) / 2) / 2  # 0.320 (RMS of Cb and Cr, halved)


def _cv2():
    import cv2

    return cv2


def ycc(rgb) -> np.ndarray:
    """(Y, Cb, Cr) of an RGB triple on the 0-255 scale."""
    return K @ np.asarray(rgb, float) + (0, 128, 128)


def shares(a: Planes, b: Planes) -> bool:
    return any(np.may_share_memory(x, z) for x, z in ((a.y, b.y), (a.cb, b.cb), (a.cr, b.cr)))


def warp(p: Planes, M: np.ndarray, w: int, h: int, fill: str, fill_value, warp_plane) -> Planes:
    """`warp_plane` is warp.warp, for one array."""
    v = ycc(fill_levels(fill_value)[:3])
    cw, ch = chroma_size(w, h)
    Mc = _S @ M @ _S_INV
    return Planes(warp_plane(p.y, M, w, h, fill, border_value=(v[0],) * 4),
                  warp_plane(p.cb, Mc, cw, ch, fill, border_value=(v[1],) * 4),
                  warp_plane(p.cr, Mc, cw, ch, fill, border_value=(v[2],) * 4))


def color(p: Planes, M: np.ndarray, inplace: bool) -> Planes:
    """Apply the 3x4 RGB matrix M (0-255 scale) as a luma lookup table and a 2x2 chroma matrix."""
    cv2 = _cv2()
    Y = _T @ np.vstack([M, [0, 0, 0, 1]]) @ _T_INV
    if max(abs(Y[0, 1]), abs(Y[0, 2]), abs(Y[1, 0]), abs(Y[2, 0])) > 1e-6:
        raise ValueError("colour matrix mixes luma and chroma: no planar form")  # no step makes one
    y = p.y
    if abs(Y[0, 0] - 1) > 1e-9 or abs(Y[0, 3]) > 1e-9:
        lut = np.clip(np.rint(np.arange(256) * Y[0, 0] + Y[0, 3]), 0, 255).astype(np.uint8)
        y = cv2.LUT(p.y, lut, dst=p.y if inplace else None)
    (a, b, e), (c, d, f) = Y[1, 1:].tolist(), Y[2, 1:].tolist()
    if max(abs(a - 1), abs(b), abs(c), abs(d - 1), abs(e), abs(f)) <= 1e-9:
        return Planes(y, p.cb, p.cr)
    # (the offsets e, f already hold the 128 centring); rounded and saturated, one pass per plane
    cb = cv2.addWeighted(p.cb, a, p.cr, b, e)
    cr = cv2.addWeighted(p.cb, c, p.cr, d, f, dst=p.cr if inplace else None)
    return Planes(y, cb, cr)


def mean_rgb(p: Planes) -> np.ndarray:
    """Mean colour (r, g, b) of the planes."""
    cv2 = _cv2()
    return K_INV @ np.array([cv2.mean(p.y)[0], cv2.mean(p.cb)[0] - 128, cv2.mean(p.cr)[0] - 128])


def noise(p: Planes, std: float, per_channel: bool, offset: int, buffer, inplace: bool) -> Planes:
    """`buffer`: pixel.NOISE (int16, units of 1/UNIT sigma)."""
    cv2 = _cv2()
    unit = buffer.UNIT
    n = buffer.get(p.y.size + 2 * p.cb.size, offset)
    y = cv2.addWeighted(p.y, 1.0, n[:p.y.size].reshape(p.y.shape), std * (NOISE_Y if per_channel else 1.0) / unit,
                        0.0, dst=p.y if inplace else None, dtype=cv2.CV_8U)
    if not per_channel:
        return Planes(y, p.cb, p.cr)
    out = [y]
    for i, plane in enumerate((p.cb, p.cr)):
        k = p.y.size + i * plane.size
        out.append(cv2.addWeighted(plane, 1.0, n[k:k + plane.size].reshape(plane.shape), std * NOISE_C / unit, 0.0,
                                   dst=plane if inplace else None, dtype=cv2.CV_8U))
    return Planes(*out)


def blur(p: Planes, sigma: float) -> Planes:
    cv2 = _cv2()
    return Planes(*(cv2.GaussianBlur(a, (0, 0), s, borderType=cv2.BORDER_REFLECT)
                    for a, s in ((p.y, sigma), (p.cb, sigma / 2), (p.cr, sigma / 2))))


def cutout(p: Planes, holes: list, fill_rgb, inplace: bool) -> Planes:
    out = p if inplace else Planes(p.y.copy(), p.cb.copy(), p.cr.copy())
    v = np.clip(np.rint(ycc(fill_levels(fill_rgb)[:3])), 0, 255).astype(np.uint8)
    for x, y, w, h in holes:
        out.y[y:y + h, x:x + w] = v[0]
        rows, cols = slice((y + 1) // 2, (y + h + 1) // 2), slice((x + 1) // 2, (x + w + 1) // 2)
        out.cb[rows, cols] = v[1]
        out.cr[rows, cols] = v[2]
    return out
