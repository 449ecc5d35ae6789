"""Colour image steps: each declares `rgb_matrix(params, mean_rgb, vmax)`, a 3x4 matrix acting on
(r, g, b, 1) (mean_rgb: the mean colour of the image it gets, for contrast; vmax: full scale).

The pipeline composes the matrices of consecutive colour steps into one and applies it in one
pass (`apply_color_matrix`: `cv2.transform`, a lookup table for grey, a luma table and a chroma
matrix for YCbCr planes); `apply` is the step alone.
"""
from __future__ import annotations

import math

import numpy as np

from ...io.image import Planes
from ..base import Param, Step, uniform
from .planar import K, K_INV
from .planar import color as planar_color
from .planar import mean_rgb as planar_mean_rgb
from .common import LUMA, _cv2, channels, maxval


class ColorStep(Step):
    GEOMETRIC = False
    COLOR = True
    INPLACE = True

    def sample(self, rng, ctx) -> dict:
        return {}

    def rgb_matrix(self, prm: dict, mean_rgb: np.ndarray, vmax: float) -> np.ndarray:
        raise NotImplementedError

    def apply(self, img, prm: dict, inplace: bool = False):
        """The step alone: its matrix for this image's mean colour, in one pass."""
        return apply_color_matrix(img, self.rgb_matrix(prm, mean_rgb(img), maxval(img)), inplace=inplace)


_EYE = np.eye(3)
_GREY = np.outer(np.ones(3), LUMA)  # every row the luma weights: the grey of (r, g, b)


def _affine(A: np.ndarray, offset) -> np.ndarray:
    """The 3x4 matrix [A | offset] (offset: a number for every channel, or three)."""
    M = np.empty((3, 4))
    M[:, :3] = A
    M[:, 3] = offset
    return M


def _scale(f: float) -> np.ndarray:
    return _affine(_EYE * f, 0.0)


def _contrast(c: float, mean_rgb) -> np.ndarray:
    return _affine(_EYE * c, (1 - c) * float(LUMA @ mean_rgb))


def _saturation_3x3(s: float) -> np.ndarray:
    return s * _EYE + (1 - s) * _GREY


def _saturation(s: float) -> np.ndarray:
    return _affine(_saturation_3x3(s), 0.0)


# K_INV @ R @ K with R the rotation of the chroma plane by t, as A + cos(t) B + sin(t) C
_HUE = [K_INV @ np.diag([1.0, 0.0, 0.0]) @ K, K_INV @ np.diag([0.0, 1.0, 1.0]) @ K,
        K_INV @ np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]) @ K]


_EYE_FLAT, _GREY_FLAT = _EYE.ravel().tolist(), _GREY.ravel().tolist()
_HUE_GREY = list(zip(*(m.ravel().tolist() for m in _HUE), _GREY_FLAT))  # per entry: (A, B, C, grey)


def _hue_3x3(h: float, k: float = 1.0) -> np.ndarray:
    """k times the hue rotation by h turns."""
    t = 2 * math.pi * h
    return k * _HUE[0] + (k * math.cos(t)) * _HUE[1] + (k * math.sin(t)) * _HUE[2]


def _hue(h: float) -> np.ndarray:
    """Rotate hue by h turns about the grey axis, keeping Rec. 601 luma: a rotation of the
    (Cb, Cr) chroma plane (red -> yellow -> green for h > 0, as CSS hue-rotate and HSV)."""
    return _affine(_hue_3x3(h), 0.0)


def compose(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """3x4 composition: second after first."""
    M = second[:, :3] @ first
    M[:, 3] += second[:, 3]
    return M


def apply_rgb(M: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    return M[:, :3] @ rgb + M[:, 3]


FACTOR = dict(kind="range", lo=0, hi=10, center=1.0)


class Brightness(ColorStep):
    NAME = "brightness"
    DOC = "multiply intensities by a factor"
    PARAMS = (Param("factor", default=[0.8, 1.2], doc="factor range (0.2 means [0.8, 1.2])", **FACTOR),)

    def sample(self, rng, ctx):
        return {"factor": uniform(rng, self.cfg["factor"])}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        return _scale(prm["factor"])


class Contrast(ColorStep):
    NAME = "contrast"
    DOC = "blend with the mean grey level by a factor"
    PARAMS = (Param("factor", default=[0.8, 1.2], doc="factor range", **FACTOR),)

    sample = Brightness.sample

    def rgb_matrix(self, prm, mean_rgb, vmax):
        return _contrast(prm["factor"], mean_rgb)


class Saturation(ColorStep):
    NAME = "saturation"
    DOC = "blend with the grey version by a factor (0 = grey, > 1 = more vivid)"
    PARAMS = (Param("factor", default=[0.8, 1.2], doc="factor range", **FACTOR),)

    sample = Brightness.sample

    def rgb_matrix(self, prm, mean_rgb, vmax):
        return _saturation(prm["factor"])


class Hue(ColorStep):
    NAME = "hue"
    DOC = "rotate hue about the grey axis (a rotation of the Cb/Cr plane), keeping Rec. 601 luma"
    PARAMS = (Param("shift", "range", [-0.05, 0.05], lo=-0.5, hi=0.5, doc="shift in turns of the colour circle"),)

    def sample(self, rng, ctx):
        return {"shift": uniform(rng, self.cfg["shift"])}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        return _hue(prm["shift"])


class ColorJitter(ColorStep):
    NAME = "color_jitter"
    DOC = "brightness, contrast, saturation and hue in that order (torchvision's ColorJitter ranges)"
    PARAMS = (
        Param("brightness", default=[1, 1], doc="factor range (0.2 means [0.8, 1.2])", **FACTOR),
        Param("contrast", default=[1, 1], doc="factor range", **FACTOR),
        Param("saturation", default=[1, 1], doc="factor range", **FACTOR),
        Param("hue", "range", [0, 0], lo=-0.5, hi=0.5, doc="hue shift range in turns"),
    )

    def sample(self, rng, ctx):
        cfg = self.cfg  # (the four draws in this order)
        return {"brightness": uniform(rng, cfg["brightness"]), "contrast": uniform(rng, cfg["contrast"]),
                "saturation": uniform(rng, cfg["saturation"]), "hue": uniform(rng, cfg["hue"])}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        # hue(saturation(contrast(brightness))) in closed form: saturation and hue keep grey, so
        # contrast's offset (towards the brightened mean's luma) passes through them unchanged
        # and hue @ saturation(s) = s hue + (1 - s) grey (hue keeps grey). On Python floats, entry
        # by entry: the arithmetic numpy did on the 3x3 arrays, in its order (the same numbers),
        # without a dozen small arrays
        b, c, s, h = prm["brightness"], prm["contrast"], prm["saturation"], prm["hue"]
        k = b * c
        ks, kg, off = k * s, k * (1 - s), (1 - c) * b * float(LUMA @ mean_rgb)
        if h:
            t = 2 * math.pi * h
            cos, sin = math.cos(t), math.sin(t)
            A = [ks * ((h0 + cos * h1) + sin * h2) + kg * g for h0, h1, h2, g in _HUE_GREY]
        else:
            A = [ks * e + kg * g for e, g in zip(_EYE_FLAT, _GREY_FLAT)]
        return np.array([[*A[0:3], off], [*A[3:6], off], [*A[6:9], off]])


class ChannelShift(ColorStep):
    NAME = "channel_shift"
    DOC = "add a random offset to each channel (Keras' channel_shift_range)"
    PARAMS = (Param("intensity", "range", [-20, 20], lo=-255, hi=255, doc="offset range on the 0-255 scale"),)

    def sample(self, rng, ctx):
        return {"rgb": [uniform(rng, self.cfg["intensity"]) for _ in range(3)]}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        M = _scale(1.0)
        M[:, 3] = np.array(prm["rgb"]) * vmax / 255.0
        return M


class Grayscale(ColorStep):
    NAME = "grayscale"
    DOC = "convert to grey (channel count and mode are kept)"

    def rgb_matrix(self, prm, mean_rgb, vmax):
        return _affine(_GREY, 0.0)


def mean_rgb(img: np.ndarray) -> np.ndarray:
    """Mean colour (r, g, b) from a strided sample of about 16k pixels."""
    if isinstance(img, Planes):
        return planar_mean_rgb(img)
    H, W = img.shape[:2]
    step = max(1, int(math.sqrt(H * W / 16384)))
    sub = img if step == 1 else np.ascontiguousarray(img[::step, ::step])
    if sub.ndim == 2:
        return np.full(3, float(sub.mean()))
    m = _cv2().mean(sub)
    return np.array([m[2], m[1], m[0]], float)


def apply_color_matrix(img: np.ndarray, M: np.ndarray, inplace: bool = False) -> np.ndarray:
    """img with the 3x4 RGB matrix M applied; `inplace`: write into img (the caller owns it)."""
    if isinstance(img, Planes):
        return planar_color(img, M, inplace)
    cv2 = _cv2()
    dst = img if inplace else None
    c = channels(img)
    if c == 1:
        a = float(LUMA @ M[:, :3].sum(axis=1))
        b = float(LUMA @ M[:, 3])
        if img.dtype in (np.uint8, np.uint16):
            vmax = int(maxval(img))
            lut = np.clip(np.rint(np.arange(vmax + 1) * a + b), 0, vmax).astype(img.dtype)
            return lut[img] if img.dtype == np.uint16 else cv2.LUT(img, lut, dst=dst)
        return img * a + b
    if c == 3:
        m = M.take(_BGR1).reshape(3, 4).astype(np.float32)  # RGB -> OpenCV's BGR order, rows and columns
    else:
        m = np.zeros((c, c + 1), np.float32)
        m[:3, :3] = M[2::-1, 2::-1]
        m[:3, c] = M[2::-1, 3]
        m[3, 3] = 1.0
    return cv2.transform(img, m, dst=dst)


# the entries of a 3x4 RGB matrix (flat) in BGR order: rows and columns reversed, the offsets last
_BGR1 = np.array([10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3])
