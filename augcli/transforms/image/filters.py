"""Filter image steps (issue 17): sharpen, median_blur, motion_blur, clahe, jpeg_quality, downscale,
random_grayscale, channel_shuffle. Pixel steps, applied one by one (no planar form: a JPEG job
with one of them takes the BGR path); they keep annotations valid.

Each works on the colour channels of a grey, BGR or BGRA image, uint8 or uint16 (float32 0-1
where OpenCV takes it); an alpha channel is kept as it is. Notes on 16-bit images:
- median_blur: OpenCV's medianBlur takes only kernels 3 and 5 beyond 8-bit; larger ones use an
  exact numpy median (slower, in row strips);
- clahe: colour images go through float Lab (OpenCV's 8-bit Lab is 8-bit only), L on 16 bits
  (float images through 16 bits);
- jpeg_quality: a JPEG holds 8 bits, so 16-bit (and float) images are converted to 8 bits,
  encoded and decoded, and converted back (the 8-bit quantisation is part of the effect).
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import RecipeError
from ..base import Param, uniform
from .common import _cv2, channels, maxval
from .pixel import PixelStep


def _split(img: np.ndarray):
    """(colour part, alpha or None): the colour part is grey (HxW) or BGR (HxWx3)."""
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[..., :3]), img[..., 3:]
    return img, None


def _join(col: np.ndarray, alpha) -> np.ndarray:
    if alpha is None:
        return col
    return np.concatenate([col, alpha], axis=2)


def _odd(rng, lo: int, hi: int) -> int:
    """An odd integer within [lo, hi], uniformly (the recipe's check makes sure there is one)."""
    a, b = lo + (lo % 2 == 0), hi - (hi % 2 == 0)
    return int(a + 2 * rng.integers(0, (b - a) // 2 + 1))


class _OddKernel(PixelStep):
    """A step whose `kernel` range must hold an odd size."""

    @classmethod
    def check(cls, cfg, where):
        lo, hi = cfg["kernel"]
        if lo == hi and lo % 2 == 0:
            spec = next(p for p in cls.PARAMS if p.name == "kernel")
            raise RecipeError(f"{where}.kernel: {cfg['kernel']!r} holds no odd size; allowed: {spec.allowed()}, "
                              "holding an odd size")


def _to8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    return np.clip(np.rint(img.astype(np.float32) * (255.0 / maxval(img))), 0, 255).astype(np.uint8)


def _from8(img8: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.dtype == np.uint8:
        return img8
    if like.dtype == np.uint16:
        return img8.astype(np.uint16) * np.uint16(257)
    return (img8.astype(np.float32) / 255.0).astype(like.dtype)


# ------------------------------------------------------------------------------------------------
class Sharpen(PixelStep):
    """Albumentations' Sharpen (method "kernel", as imgaug's): the kernel
    (1 - alpha) * identity + alpha * [[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]],
    saturated to the image's range."""

    NAME = "sharpen"
    DOC = "sharpen with a 3x3 kernel blended with the identity (Albumentations' Sharpen)"
    PARAMS = (
        Param("alpha", "range", [0.2, 0.5], lo=0, hi=1, center=None, doc="blend of the sharpening kernel"),
        Param("lightness", "range", [0.5, 1.0], lo=0, hi=10, center=None, doc="centre weight beyond 8"),
    )

    def sample(self, rng, ctx):
        return {"alpha": uniform(rng, self.cfg["alpha"]), "lightness": uniform(rng, self.cfg["lightness"])}

    @staticmethod
    def kernel(alpha: float, lightness: float) -> np.ndarray:
        effect = -np.ones((3, 3), np.float32)
        effect[1, 1] = 8 + lightness
        ident = np.zeros((3, 3), np.float32)
        ident[1, 1] = 1
        return ((1 - alpha) * ident + alpha * effect).astype(np.float32)

    def apply(self, img, prm):
        cv2 = _cv2()
        col, alpha = _split(img)
        out = cv2.filter2D(col, -1, self.kernel(prm["alpha"], prm["lightness"]), borderType=cv2.BORDER_REFLECT_101)
        if out.dtype not in (np.uint8, np.uint16):
            out = np.clip(out, 0, 1)
        return _join(out, alpha)


def _median_numpy(col: np.ndarray, k: int) -> np.ndarray:
    """The exact k x k median (replicated border, as cv2.medianBlur), in row strips."""
    r = k // 2
    pad = [(r, r), (r, r)] + ([(0, 0)] if col.ndim == 3 else [])
    src = np.pad(col, pad, mode="edge")
    out = np.empty_like(col)
    H, W = col.shape[:2]
    rows = max(1, (1 << 22) // max(1, W * channels(col) * k * k))
    mid = k * k // 2
    for y in range(0, H, rows):
        y1 = min(H, y + rows)
        win = np.lib.stride_tricks.sliding_window_view(src[y:y1 + 2 * r], (k, k), axis=(0, 1))
        flat = win.reshape(win.shape[:-2] + (k * k,))
        out[y:y1] = np.partition(flat, mid, axis=-1)[..., mid]
    return out


class MedianBlur(_OddKernel):
    NAME = "median_blur"
    DOC = "median filter with a random odd kernel size (16-bit beyond 5: an exact numpy median, slower)"
    PARAMS = (Param("kernel", "irange", [3, 7], lo=3, hi=99, center=None, doc="kernel size range (odd sizes drawn)"),)

    def sample(self, rng, ctx):
        return {"kernel": _odd(rng, *self.cfg["kernel"])}

    def apply(self, img, prm):
        k = int(prm["kernel"])
        col, alpha = _split(img)
        if col.dtype == np.uint8 or k <= 5:
            out = _cv2().medianBlur(np.ascontiguousarray(col), k)
        else:
            out = _median_numpy(col, k)
        return _join(out, alpha)


class MotionBlur(_OddKernel):
    """A k x k kernel holding a line of length k through its centre at `angle` degrees
    (counter-clockwise from the x axis, as the image is seen: y points down), normalised."""

    NAME = "motion_blur"
    DOC = "blur along a line of random length (odd, pixels) and angle (degrees, counter-clockwise)"
    PARAMS = (
        Param("kernel", "irange", [3, 9], lo=3, hi=99, center=None, doc="line length range (odd sizes drawn)"),
        Param("angle", "range", [0, 360], lo=-360, hi=360, center=None, doc="angle range in degrees"),
    )

    def sample(self, rng, ctx):
        return {"kernel": _odd(rng, *self.cfg["kernel"]), "angle": uniform(rng, self.cfg["angle"])}

    @staticmethod
    def kernel(k: int, angle: float) -> np.ndarray:
        """Points every 1/8 pixel along the segment, splatted bilinearly (an exact angle even for a
        small kernel, and symmetric about the centre), normalised to sum 1."""
        c = r = (k - 1) / 2
        t = math.radians(angle)
        s = np.linspace(-r, r, 8 * (k - 1) + 1)
        x, y = c + s * math.cos(t), c - s * math.sin(t)
        x0, y0 = np.floor(x), np.floor(y)
        fx, fy = x - x0, y - y0
        ker = np.zeros((k + 1, k + 1))
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            np.add.at(ker, ((y0 + dy).astype(int), (x0 + dx).astype(int)), w)
        ker = ker[:k, :k]
        return (ker / ker.sum()).astype(np.float32)

    def apply(self, img, prm):
        cv2 = _cv2()
        col, alpha = _split(img)
        out = cv2.filter2D(col, -1, self.kernel(int(prm["kernel"]), prm["angle"]), borderType=cv2.BORDER_REFLECT_101)
        return _join(out, alpha)


class Clahe(PixelStep):
    NAME = "clahe"
    DOC = "contrast-limited adaptive histogram equalisation (on Lab's L for colour images)"
    PARAMS = (
        Param("clip_limit", "range", [1, 4], lo=0.01, hi=100, center=None, doc="clip limit range"),
        Param("tile", "int", 8, lo=1, hi=256, doc="tiles per side (tile x tile grid)"),
    )

    def sample(self, rng, ctx):
        return {"clip_limit": uniform(rng, self.cfg["clip_limit"])}

    def apply(self, img, prm):
        cv2 = _cv2()
        t = self.cfg["tile"]
        clahe = cv2.createCLAHE(clipLimit=prm["clip_limit"], tileGridSize=(t, t))
        col, alpha = _split(img)
        work = col if col.dtype in (np.uint8, np.uint16) else _to16(col)
        if work.ndim == 2:
            out = clahe.apply(np.ascontiguousarray(work))
        elif work.dtype == np.uint8:
            lab = cv2.cvtColor(work, cv2.COLOR_BGR2Lab)
            lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
            out = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
        else:  # 16-bit: float Lab (L in 0-100), L equalised on 16 bits
            lab = cv2.cvtColor(work.astype(np.float32) / 65535.0, cv2.COLOR_BGR2Lab)
            L = np.clip(np.rint(lab[..., 0] * 655.35), 0, 65535).astype(np.uint16)
            lab[..., 0] = clahe.apply(L).astype(np.float32) / 655.35
            bgr = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
            out = np.clip(np.rint(bgr * 65535.0), 0, 65535).astype(np.uint16)
        if out.dtype != col.dtype:
            out = (out.astype(np.float32) / 65535.0).astype(col.dtype)
        return _join(out, alpha)


def _to16(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img.astype(np.float32) * 65535.0), 0, 65535).astype(np.uint16)


class JpegQuality(PixelStep):
    NAME = "jpeg_quality"
    DOC = "JPEG compression artefacts: encode and decode at a random quality (16-bit: through 8 bits)"
    PARAMS = (Param("quality", "irange", [30, 90], lo=1, hi=100, center=None, doc="JPEG quality range"),)

    def sample(self, rng, ctx):
        lo, hi = self.cfg["quality"]
        return {"quality": int(rng.integers(lo, hi + 1))}

    def apply(self, img, prm):
        cv2 = _cv2()
        col, alpha = _split(img)
        ok, buf = cv2.imencode(".jpg", _to8(col), [cv2.IMWRITE_JPEG_QUALITY, int(prm["quality"])])
        if not ok:
            raise ValueError("jpeg_quality: OpenCV could not encode the image as JPEG")
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if col.ndim == 2 else cv2.IMREAD_COLOR)
        return _join(_from8(dec, col), alpha)


class Downscale(PixelStep):
    NAME = "downscale"
    DOC = "lose detail: scale down (area) by a random factor, then back up (bilinear) to the same size"
    PARAMS = (Param("scale", "range", [0.25, 0.5], lo=0.01, hi=1, center=None, doc="scale factor range"),)

    def sample(self, rng, ctx):
        return {"scale": uniform(rng, self.cfg["scale"])}

    def apply(self, img, prm):
        cv2 = _cv2()
        col, alpha = _split(img)
        H, W = col.shape[:2]
        w, h = max(1, int(round(W * prm["scale"]))), max(1, int(round(H * prm["scale"])))
        small = cv2.resize(col, (w, h), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
        return _join(out.reshape(col.shape), alpha)


class RandomGrayscale(PixelStep):
    NAME = "random_grayscale"
    DOC = "make a colour image grey, kept as 3 channels (alpha kept); grey images unchanged"
    DEFAULT_P = 0.1

    def apply(self, img, prm):
        if img.ndim == 2:
            return img
        cv2 = _cv2()
        col, alpha = _split(img)
        return _join(cv2.cvtColor(cv2.cvtColor(col, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), alpha)


class ChannelShuffle(PixelStep):
    """Records `order`, a permutation of [0, 1, 2] in RGB terms: output channel i (r, g, b) is
    input channel order[i]; alpha stays. A grey image is unchanged."""

    NAME = "channel_shuffle"
    DOC = "permute the colour channels at random (alpha stays); grey images unchanged"

    def sample(self, rng, ctx):
        return {"order": [int(i) for i in rng.permutation(3)]}

    def apply(self, img, prm):
        if img.ndim == 2:
            return img
        rgb = prm["order"]
        idx = [2 - rgb[2 - j] for j in range(3)] + list(range(3, img.shape[2]))
        return np.ascontiguousarray(img[..., idx])


FILTERS = (Sharpen, MedianBlur, MotionBlur, Clahe, JpegQuality, Downscale, RandomGrayscale, ChannelShuffle)
