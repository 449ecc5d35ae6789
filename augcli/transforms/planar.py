"""Image steps on a JPEG's own YCbCr 4:2:0 planes (`io.image.Planes`).

A JPEG -> JPEG job whose steps all have a planar form skips four whole-image passes: chroma
upsampling and YCbCr->BGR on decode, BGR->YCbCr and chroma downsampling on encode. The steps
sample exactly the same parameters (the manifest is the same); only where pixels are computed
differs:

- geometry: one warp of the luma plane with the fused matrix M, one of the interleaved chroma
  plane with M carried into chroma coordinates (JFIF sites a chroma sample at the centre of
  its 2x2 luma block: x_c = x/2 - 1/4);
- colour: every colour step's RGB matrix becomes, in YCbCr, a luma gain + offset (a lookup
  table) and a 2x2 chroma matrix + offset: brightness, contrast, saturation, hue (a rotation
  of the chroma plane), channel shift and grayscale never mix luma with chroma;
- Gaussian noise: per-channel RGB noise of std s is, in YCbCr, luma noise of std s * |LUMA|
  and chroma noise of std s * |K_c| / 2 (the encoder of the RGB path averages 2x2 chroma);
  grey noise is luma noise of std s;
- blur: sigma on luma, sigma / 2 on chroma; cutout: the hole on luma, the chroma samples
  whose 2x2 block it covers (at least half) on chroma.
"""
from __future__ import annotations

import math

import numpy as np

from ..io.image import Planes

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


def chroma_size(w: int, h: int) -> tuple[int, int]:
    return (w + 1) // 2, (h + 1) // 2


def shares(a: Planes, b: Planes) -> bool:
    return np.may_share_memory(a.y, b.y) or np.may_share_memory(a.c, b.c)


def warp(p: Planes, M: np.ndarray, w: int, h: int, fill: str, fill_value, warp_plane) -> Planes:
    """`warp_plane` is image.warp, for one array."""
    v = ycc(_rgb_fill(fill_value))
    y = warp_plane(p.y, M, w, h, fill, border_value=(v[0],) * 4)
    cw, ch = chroma_size(w, h)
    c = warp_plane(p.c, _S @ M @ _S_INV, cw, ch, fill, border_value=(v[1], v[2], 0.0, 0.0))
    return Planes(y, c)


def _rgb_fill(fill_value) -> list[float]:
    if fill_value is None:
        return [0.0] * 3
    v = fill_value if isinstance(fill_value, list) else [fill_value]
    return [float(x) for x in (v * 3 if len(v) == 1 else v[:3])]


def color(p: Planes, M: np.ndarray, inplace: bool) -> Planes:
    """Apply the 3x4 RGB matrix M (0-255 scale) as a luma LUT and a chroma 2x3 matrix."""
    cv2 = _cv2()
    A = np.vstack([M, [0, 0, 0, 1]])
    Y = _T @ A @ _T_INV
    if max(abs(Y[0, 1]), abs(Y[0, 2]), abs(Y[1, 0]), abs(Y[2, 0])) > 1e-6:
        raise ValueError("colour matrix mixes luma and chroma: no planar form")  # no step makes one
    y = p.y
    if abs(Y[0, 0] - 1) > 1e-9 or abs(Y[0, 3]) > 1e-9:
        lut = np.clip(np.rint(np.arange(256) * Y[0, 0] + Y[0, 3]), 0, 255).astype(np.uint8)
        y = cv2.LUT(p.y, lut, dst=p.y if inplace else None)
    c = p.c
    m = np.hstack([Y[1:3, 1:3], Y[1:3, 3:4]])
    if not np.allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-9):
        c = cv2.transform(p.c, m.astype(np.float32), dst=p.c if inplace else None)
    return Planes(y, c)


def mean_rgb(p: Planes) -> np.ndarray:
    """Mean colour (r, g, b) from strided samples of the planes (~16k luma samples)."""
    cv2 = _cv2()
    H, W = p.y.shape
    step = max(1, int(math.sqrt(H * W / 16384)))
    my = cv2.mean(np.ascontiguousarray(p.y[::step, ::step]))[0]
    cs = max(1, step // 2)
    mc = cv2.mean(np.ascontiguousarray(p.c[::cs, ::cs]))
    return K_INV @ np.array([my, mc[0] - 128, mc[1] - 128])


def noise(p: Planes, std: float, per_channel: bool, offset: int, buffer, inplace: bool) -> Planes:
    """`buffer`: image.NOISE (int16, units of 1/UNIT sigma)."""
    cv2 = _cv2()
    unit = buffer.UNIT
    ny = buffer.get(p.y.size, offset).reshape(p.y.shape)
    y = cv2.addWeighted(p.y, 1.0, ny, std * (NOISE_Y if per_channel else 1.0) / unit, 0.0,
                        dst=p.y if inplace else None, dtype=cv2.CV_8U)
    if not per_channel:
        return Planes(y, p.c)
    nc = buffer.get(p.y.size + p.c.size, offset)[p.y.size:].reshape(p.c.shape)
    c = cv2.addWeighted(p.c, 1.0, nc, std * NOISE_C / unit, 0.0, dst=p.c if inplace else None, dtype=cv2.CV_8U)
    return Planes(y, c)


def blur(p: Planes, sigma: float) -> Planes:
    cv2 = _cv2()
    return Planes(cv2.GaussianBlur(p.y, (0, 0), sigma, borderType=cv2.BORDER_REFLECT),
                  cv2.GaussianBlur(p.c, (0, 0), sigma / 2, borderType=cv2.BORDER_REFLECT))


def cutout(p: Planes, holes: list, fill_rgb, inplace: bool) -> Planes:
    out = p if inplace else Planes(p.y.copy(), p.c.copy())
    v = np.clip(np.rint(ycc(_rgb_fill(fill_rgb))), 0, 255).astype(np.uint8)
    for x, y, w, h in holes:
        out.y[y:y + h, x:x + w] = v[0]
        out.c[(y + 1) // 2:(y + h + 1) // 2, (x + 1) // 2:(x + w + 1) // 2] = v[1:]
    return out
