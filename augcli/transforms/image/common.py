"""What every image module shares: the array conventions, the lazy OpenCV import, the context
a step samples from, and the fill colour of a warp or a hole.

Images are numpy arrays as OpenCV decodes them: HxW (grey) or HxWxC with C = 3 (BGR) or 4 (BGRA),
dtype uint8 or uint16 (float32 also works), or a JPEG's own YCbCr planes (`io.image.Planes`).
Parameters given "on the 0-255 scale" are scaled for 16-bit images.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import fill_levels

LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601, as Pillow and torchvision use


def _cv2():
    import cv2  # lazy: keeps `augcli --help` fast

    return cv2


class Size(NamedTuple):
    """An image step's context: the width and height of the image the step will see (in a run
    of fused geometric steps, the size the earlier steps' matrices lead to)."""

    w: int
    h: int


def maxval(img: np.ndarray) -> float:
    if img.dtype == np.uint8:
        return 255.0
    if img.dtype == np.uint16:
        return 65535.0
    return 1.0


def channels(img: np.ndarray) -> int:
    return 1 if img.ndim == 2 else img.shape[2]


def px(v: float | int, full: int) -> int:
    """A size value: fraction of `full` when float <= 1, else pixels."""
    if isinstance(v, float) and v <= 1.0:
        return max(1, int(round(v * full)))
    return int(v)


def fill_tuple(img, fill_value) -> tuple:
    """A constant fill on the 0-255 scale, given as grey or RGB, as an OpenCV scalar for img."""
    k = maxval(img) / 255.0
    v = [x * k for x in fill_levels(fill_value)]
    c = channels(img)
    if c == 1:
        return (float(LUMA @ np.array(v[:3])),) * 4 if len(set(v[:3])) > 1 else (v[0],) * 4
    bgr = [v[2], v[1], v[0]] + ([v[3]] if len(v) > 3 else [maxval(img)])
    return tuple(bgr[:c]) + (0.0,) * (4 - c)
