"""Image steps.

Images are numpy arrays as OpenCV decodes them: HxW (grey) or HxWxC with C = 3 (BGR) or
4 (BGRA), dtype uint8 or uint16 (float32 also works). Every step keeps shape rank, channel
count and dtype. Parameters given "on the 0-255 scale" are scaled for 16-bit images.

Speed: consecutive geometric steps (flips, rotate, shift, shear, zoom, crops, resize) are
composed into ONE affine matrix and applied with ONE warp; consecutive colour steps
(brightness, contrast, saturation, hue, color_jitter, channel_shift, grayscale) are composed
into ONE colour matrix and applied with one `cv2.transform`. See `Pipeline`.
"""
from __future__ import annotations

import importlib
import json
import math
import sys

import numpy as np

from ..errors import RecipeError
from ..io.image import Planes
from . import planar
from .mix import CutMix, MixUp, cutmix_box, mix_positions
from .base import FILL_MODES, OneOfBase, Param, Step, fill_levels, fire, parse_steps, uniform

LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601, as Pillow and torchvision use


def _cv2():
    import cv2  # lazy: keeps `augcli --help` fast

    return cv2


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


# --------------------------------------------------------------------------------------------
# geometric steps: each returns a 3x3 matrix mapping current pixel coords -> new pixel coords
# --------------------------------------------------------------------------------------------
def _about_center(A: np.ndarray, w: int, h: int) -> np.ndarray:
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    T = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], float)
    Ti = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], float)
    return T @ A @ Ti


FILL_PARAMS = (
    Param("fill", "choice", None, choices=FILL_MODES,
          doc="how to fill pixels from outside the image (default reflect)"),
    Param("fill_value", "fill", None, doc="constant fill: grey level or per-channel [r, g, b] on the 0-255 scale (default 0)"),
)


class Geometric(Step):
    GEOMETRIC = True
    COLOR = False

    def sample(self, rng, w: int, h: int) -> dict:
        return {}

    def matrix(self, prm: dict, w: int, h: int):
        raise NotImplementedError

    @classmethod
    def check(cls, cfg, where):
        if cfg.get("fill_value") == "random":
            raise RecipeError(f"{where}.fill_value: 'random' is not allowed for a geometric step; allowed: a number or [r, g, b]")


class HFlip(Geometric):
    NAME = "hflip"
    DOC = "mirror left-right"
    DEFAULT_P = 0.5

    def matrix(self, prm, w, h):
        return np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], float), w, h


class VFlip(Geometric):
    NAME = "vflip"
    DOC = "mirror top-bottom"
    DEFAULT_P = 0.5

    def matrix(self, prm, w, h):
        return np.array([[1, 0, 0], [0, -1, h - 1], [0, 0, 1]], float), w, h


class Rotate(Geometric):
    NAME = "rotate"
    DOC = "rotate about the centre; positive angles turn counter-clockwise"
    PARAMS = (Param("degrees", "range", [-20, 20], lo=-360, hi=360, doc="angle range in degrees"),) + FILL_PARAMS

    def sample(self, rng, w, h):
        return {"angle": uniform(rng, self.cfg["degrees"])}

    def matrix(self, prm, w, h):
        t = math.radians(prm["angle"])
        c, s = math.cos(t), math.sin(t)
        # y points down, so a counter-clockwise turn on screen is [[c, s], [-s, c]]
        return _about_center(np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]), w, h), w, h


class Shift(Geometric):
    NAME = "shift"
    DOC = "translate by a fraction of the width / height"
    PARAMS = (
        Param("width", "range", [-0.1, 0.1], lo=-1, hi=1, doc="horizontal shift, fraction of the width"),
        Param("height", "range", [-0.1, 0.1], lo=-1, hi=1, doc="vertical shift, fraction of the height"),
    ) + FILL_PARAMS

    def sample(self, rng, w, h):
        return {"dx": uniform(rng, self.cfg["width"]), "dy": uniform(rng, self.cfg["height"])}

    def matrix(self, prm, w, h):
        return np.array([[1, 0, prm["dx"] * w], [0, 1, prm["dy"] * h], [0, 0, 1]], float), w, h


class Shear(Geometric):
    NAME = "shear"
    DOC = "shear about the centre (x: lines tilt sideways; y: lines tilt up/down)"
    PARAMS = (
        Param("degrees", "range", [-10, 10], lo=-80, hi=80, doc="horizontal shear angle"),
        Param("degrees_y", "range", [0, 0], lo=-80, hi=80, doc="vertical shear angle"),
    ) + FILL_PARAMS

    def sample(self, rng, w, h):
        return {"x": uniform(rng, self.cfg["degrees"]), "y": uniform(rng, self.cfg["degrees_y"])}

    def matrix(self, prm, w, h):
        A = np.array([[1, math.tan(math.radians(prm["x"])), 0], [math.tan(math.radians(prm["y"])), 1, 0], [0, 0, 1]])
        return _about_center(A, w, h), w, h


class Zoom(Geometric):
    NAME = "zoom"
    DOC = "scale about the centre; factors > 1 magnify (zoom in), < 1 shrink (zoom out)"
    PARAMS = (
        Param("range", "range", [0.9, 1.1], lo=0.05, hi=20, center=1.0, doc="scale factor range"),
        Param("independent", "bool", False, doc="sample x and y factors independently"),
    ) + FILL_PARAMS

    def sample(self, rng, w, h):
        zx = uniform(rng, self.cfg["range"])
        zy = uniform(rng, self.cfg["range"]) if self.cfg["independent"] else zx
        return {"zx": zx, "zy": zy}

    def matrix(self, prm, w, h):
        return _about_center(np.diag([prm["zx"], prm["zy"], 1.0]), w, h), w, h


def _crop_matrix(x0: int, y0: int) -> np.ndarray:
    return np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)


def _resize_matrix(sx: float, sy: float) -> np.ndarray:
    # pixel centres: x_out + 0.5 = s * (x_in + 0.5), as cv2.resize does
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], float)


SIZE = Param("size", "size", None, required=True, doc="[height, width]: pixels, or fractions of the side when <= 1")


class RandomCrop(Geometric):
    NAME = "random_crop"
    DOC = "crop a window of `size` at a random place (clamped to the image)"
    PARAMS = (SIZE,)

    def sample(self, rng, w, h):
        ch, cw = min(px(self.cfg["size"][0], h), h), min(px(self.cfg["size"][1], w), w)
        return {"x": int(rng.integers(0, w - cw + 1)), "y": int(rng.integers(0, h - ch + 1)), "w": cw, "h": ch}

    def matrix(self, prm, w, h):
        return _crop_matrix(prm["x"], prm["y"]), prm["w"], prm["h"]


class CenterCrop(Geometric):
    NAME = "center_crop"
    DOC = "crop a centred window of `size` (clamped to the image)"
    PARAMS = (SIZE,)

    def sample(self, rng, w, h):
        ch, cw = min(px(self.cfg["size"][0], h), h), min(px(self.cfg["size"][1], w), w)
        return {"x": (w - cw) // 2, "y": (h - ch) // 2, "w": cw, "h": ch}

    matrix = RandomCrop.matrix


class RandomResizedCrop(Geometric):
    NAME = "random_resized_crop"
    DOC = "crop a random area/aspect window and resize it to `size` (torchvision's algorithm)"
    PARAMS = (
        SIZE,
        Param("scale", "range", [0.08, 1.0], lo=0.001, hi=1, center=None, doc="area of the window, fraction of the image"),
        Param("ratio", "range", [3 / 4, 4 / 3], lo=0.01, hi=100, center=None, doc="aspect ratio (w/h) of the window"),
    )

    def sample(self, rng, w, h):
        area = w * h
        lr = (math.log(self.cfg["ratio"][0]), math.log(self.cfg["ratio"][1]))
        cw, ch = None, None
        for _ in range(10):
            a = area * rng.uniform(*self.cfg["scale"])
            ar = math.exp(rng.uniform(*lr))
            tw, th = int(round(math.sqrt(a * ar))), int(round(math.sqrt(a / ar)))
            if 0 < tw <= w and 0 < th <= h:
                cw, ch = tw, th
                x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                break
        if cw is None:  # fallback: centre crop at the clamped ratio
            r = w / h
            cw, ch = (w, h)
            if r < self.cfg["ratio"][0]:
                ch = int(round(w / self.cfg["ratio"][0]))
            elif r > self.cfg["ratio"][1]:
                cw = int(round(h * self.cfg["ratio"][1]))
            x, y = (w - cw) // 2, (h - ch) // 2
        oh, ow = px(self.cfg["size"][0], h), px(self.cfg["size"][1], w)
        return {"x": x, "y": y, "w": cw, "h": ch, "out_w": ow, "out_h": oh}

    def matrix(self, prm, w, h):
        S = _resize_matrix(prm["out_w"] / prm["w"], prm["out_h"] / prm["h"])
        return S @ _crop_matrix(prm["x"], prm["y"]), prm["out_w"], prm["out_h"]


class Resize(Geometric):
    NAME = "resize"
    DOC = "resize to height x width; give one of them to keep the aspect ratio"
    PARAMS = (
        Param("height", "int", None, lo=1, hi=65535, doc="output height in pixels"),
        Param("width", "int", None, lo=1, hi=65535, doc="output width in pixels"),
    )

    @classmethod
    def check(cls, cfg, where):
        if cfg["height"] is None and cfg["width"] is None:
            raise RecipeError(f"{where}: needs height, width or both; allowed: integers within [1, 65535]")

    def sample(self, rng, w, h):
        oh, ow = self.cfg["height"], self.cfg["width"]
        if oh is None:
            oh = max(1, int(round(h * ow / w)))
        if ow is None:
            ow = max(1, int(round(w * oh / h)))
        return {"out_w": ow, "out_h": oh}

    def matrix(self, prm, w, h):
        return _resize_matrix(prm["out_w"] / w, prm["out_h"] / h), prm["out_w"], prm["out_h"]


_BORDER = {"constant": "BORDER_CONSTANT", "nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT", "wrap": "BORDER_WRAP"}


def _fill_tuple(img, fill_value) -> tuple:
    """A constant fill on the 0-255 scale, given as grey or RGB, as an OpenCV scalar for img."""
    k = maxval(img) / 255.0
    v = [x * k for x in fill_levels(fill_value)]
    c = channels(img)
    if c == 1:
        return (float(LUMA @ np.array(v[:3])),) * 4 if len(set(v[:3])) > 1 else (v[0],) * 4
    bgr = [v[2], v[1], v[0]] + ([v[3]] if len(v) > 3 else [maxval(img)])
    return tuple(bgr[:c]) + (0.0,) * (4 - c)


def _near(A: np.ndarray, ref) -> bool:
    """A (2x3) equals ref within 1e-9 (plain floats: np.allclose costs ~0.1 ms a call)."""
    return all(abs(a - b) <= 1e-9 * (1 + abs(b)) for a, b in zip(A.ravel().tolist(), (v for row in ref for v in row)))


def warp(img: np.ndarray, M: np.ndarray, w: int, h: int, fill: str = "reflect", fill_value=None,
         border_value: tuple | None = None) -> np.ndarray:
    """Apply the 3x3 matrix M (input pixel coords -> output pixel coords) with one interpolation.
    `border_value`: the OpenCV scalar for a constant fill, instead of one made from fill_value."""
    if isinstance(img, Planes):
        return planar.warp(img, M, w, h, fill, fill_value, warp)
    cv2 = _cv2()
    H, W = img.shape[:2]
    A = M[:2]
    if (w, h) == (W, H):
        if _near(A, [[1, 0, 0], [0, 1, 0]]):
            return img
        for code, ref in ((1, [[-1, 0, W - 1], [0, 1, 0]]), (0, [[1, 0, 0], [0, -1, H - 1]]),
                          (-1, [[-1, 0, W - 1], [0, -1, H - 1]])):
            if _near(A, ref):
                return cv2.flip(img, code)
    if abs(A[0, 1]) < 1e-12 and abs(A[1, 0]) < 1e-12 and A[0, 0] > 0 and A[1, 1] > 0:
        # axis-aligned: a crop (+ resize) when the source window is whole pixels inside the image
        sx, sy = A[0, 0], A[1, 1]
        x0, y0 = 0.5 - (A[0, 2] + 0.5) / sx, 0.5 - (A[1, 2] + 0.5) / sy
        cw, ch = w / sx, h / sy
        vals = [x0, y0, cw, ch]
        if all(abs(v - round(v)) <= 1e-6 for v in vals):
            x0, y0, cw, ch = (int(round(v)) for v in vals)
            if x0 >= 0 and y0 >= 0 and x0 + cw <= W and y0 + ch <= H:
                win = img[y0:y0 + ch, x0:x0 + cw]
                if (cw, ch) == (w, h):
                    return win.copy()
                interp = cv2.INTER_AREA if (w < cw and h < ch) else cv2.INTER_LINEAR
                return cv2.resize(win, (w, h), interpolation=interp)
    scale = math.sqrt(abs(np.linalg.det(A[:, :2])))
    if scale < 0.5:
        # strong downscale: area-average first so the warp does not alias
        f = min(1.0, 2.0 * scale)
        sw, sh = max(1, int(round(W * f))), max(1, int(round(H * f)))
        img = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        M = M @ np.linalg.inv(_resize_matrix(sw / W, sh / H))
        A = M[:2]
    border = getattr(cv2, _BORDER[fill])
    value = _fill_tuple(img, fill_value) if border_value is None else border_value
    if channels(img) == 1:
        out = _padded_warp(img, A, w, h, border, value)
        if out is not None:
            return out
    return cv2.warpAffine(img, A, (w, h), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)


def _padded_warp(img: np.ndarray, A: np.ndarray, w: int, h: int, border: int, value) -> np.ndarray | None:
    """A one-channel warp as one border pass + a warp that reads only real pixels. The padding
    holds what the fill mode gives outside the image, so the values are those of a warp with
    that border; it is faster because OpenCV samples near-border pixels one at a time (reflect:
    1.3-2x; with 2-4 channels the border pass costs what it saves). 8-bit planes then go to
    augcli._planes.warp (~1.8x faster than OpenCV on the padded plane; 1/256-pixel weights,
    within 1 grey level of OpenCV's); others to OpenCV (bit-identical to warping with the
    border). None when the padding would exceed the image itself."""
    from ..io.image import _planar_codec

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


# --------------------------------------------------------------------------------------------
# colour steps: each returns a 3x4 matrix acting on (r, g, b, 1)
# --------------------------------------------------------------------------------------------
class ColorStep(Step):
    GEOMETRIC = False
    COLOR = True

    def sample(self, rng, w, h) -> dict:
        return {}

    def rgb_matrix(self, prm: dict, mean_rgb: np.ndarray, vmax: float) -> np.ndarray:
        raise NotImplementedError


def _scale(f: float) -> np.ndarray:
    M = np.zeros((3, 4))
    M[:, :3] = np.eye(3) * f
    return M


def _contrast(c: float, mean_rgb) -> np.ndarray:
    M = _scale(c)
    M[:, 3] = (1 - c) * float(LUMA @ mean_rgb)
    return M


def _saturation(s: float) -> np.ndarray:
    M = np.zeros((3, 4))
    M[:, :3] = s * np.eye(3) + (1 - s) * np.outer(np.ones(3), LUMA)
    return M


def _hue(h: float) -> np.ndarray:
    """Rotate hue by h turns about the grey axis, keeping Rec. 601 luma: a rotation of the
    (Cb, Cr) chroma plane (red -> yellow -> green for h > 0, as CSS hue-rotate and HSV)."""
    t = 2 * math.pi * h
    c, s = math.cos(t), math.sin(t)
    R = np.eye(3)
    R[1:, 1:] = [[c, -s], [s, c]]
    M = np.zeros((3, 4))
    M[:, :3] = planar.K_INV @ R @ planar.K
    return M


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """3x4 composition: second after first."""
    A = np.vstack([first, [0, 0, 0, 1]])
    B = np.vstack([second, [0, 0, 0, 1]])
    return (B @ A)[:3]


def _apply_rgb(M: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    return M[:, :3] @ rgb + M[:, 3]


FACTOR = dict(kind="range", lo=0, hi=10, center=1.0)


class Brightness(ColorStep):
    NAME = "brightness"
    DOC = "multiply intensities by a factor"
    PARAMS = (Param("factor", default=[0.8, 1.2], doc="factor range (0.2 means [0.8, 1.2])", **FACTOR),)

    def sample(self, rng, w, h):
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

    def sample(self, rng, w, h):
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

    def sample(self, rng, w, h):
        return {k: uniform(rng, self.cfg[k]) for k in ("brightness", "contrast", "saturation", "hue")}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        M = _scale(prm["brightness"])
        M = _then(M, _contrast(prm["contrast"], _apply_rgb(M, mean_rgb)))
        M = _then(M, _saturation(prm["saturation"]))
        return _then(M, _hue(prm["hue"]))


class ChannelShift(ColorStep):
    NAME = "channel_shift"
    DOC = "add a random offset to each channel (Keras' channel_shift_range)"
    PARAMS = (Param("intensity", "range", [-20, 20], lo=-255, hi=255, doc="offset range on the 0-255 scale"),)

    def sample(self, rng, w, h):
        return {"rgb": [uniform(rng, self.cfg["intensity"]) for _ in range(3)]}

    def rgb_matrix(self, prm, mean_rgb, vmax):
        M = _scale(1.0)
        M[:, 3] = np.array(prm["rgb"]) * vmax / 255.0
        return M


class Grayscale(ColorStep):
    NAME = "grayscale"
    DOC = "convert to grey (channel count and mode are kept)"

    def rgb_matrix(self, prm, mean_rgb, vmax):
        M = np.zeros((3, 4))
        M[:, :3] = np.outer(np.ones(3), LUMA)
        return M


def mean_rgb(img: np.ndarray) -> np.ndarray:
    """Mean colour (r, g, b) from a strided sample of about 16k pixels."""
    if isinstance(img, Planes):
        return planar.mean_rgb(img)
    H, W = img.shape[:2]
    step = max(1, int(math.sqrt(H * W / 16384)))
    sub = np.ascontiguousarray(img[::step, ::step])
    if sub.ndim == 2:
        return np.full(3, float(sub.mean()))
    m = _cv2().mean(sub)
    return np.array([m[2], m[1], m[0]], float)


def apply_color_matrix(img: np.ndarray, M: np.ndarray, inplace: bool = False) -> np.ndarray:
    """img with the 3x4 RGB matrix M applied; `inplace`: write into img (the caller owns it)."""
    if isinstance(img, Planes):
        return planar.color(img, M, inplace)
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
    perm = [2, 1, 0]
    m = np.zeros((c, c + 1), np.float32)
    m[:3, :3] = M[perm][:, perm]
    m[:3, c] = M[perm, 3]
    if c == 4:
        m[3, 3] = 1.0
    return cv2.transform(img, m, dst=dst)


# --------------------------------------------------------------------------------------------
# other pixel steps
# --------------------------------------------------------------------------------------------
class PixelStep(Step):
    GEOMETRIC = False
    COLOR = False
    INPLACE = False  # True: apply() takes `inplace` and may then write into img (see Pipeline)

    def sample(self, rng, w, h) -> dict:
        return {}

    def apply(self, img: np.ndarray, prm: dict, rng) -> np.ndarray:
        raise NotImplementedError


class Gamma(PixelStep):
    NAME = "gamma"
    DOC = "out = max * (in / max) ** gamma"
    PARAMS = (Param("gamma", "range", [0.8, 1.25], lo=0.05, hi=20, center=None, doc="gamma range"),)

    def sample(self, rng, w, h):
        return {"gamma": uniform(rng, self.cfg["gamma"])}

    def apply(self, img, prm, rng):
        if img.dtype not in (np.uint8, np.uint16):
            return np.power(np.clip(img, 0, 1), prm["gamma"]).astype(img.dtype)
        vmax = int(maxval(img))
        lut = np.rint(vmax * (np.arange(vmax + 1) / vmax) ** prm["gamma"]).astype(img.dtype)
        return _cv2().LUT(img, lut) if img.dtype == np.uint8 else lut[img]


class _NoiseBuffer:
    """Standard-normal noise generated once per worker (fixed seed, fixed chunks), then sliced
    at a random offset per image: ~2 ms instead of ~40-170 ms to draw fresh noise for a photo.
    Stored as int16 in units of 1/256 standard deviation (half the memory of float32 and a
    faster add; the step is far below one grey level for any std < 256). The buffer's content
    never depends on growth history, so slices are identical in any worker."""

    CHUNK = 1 << 20
    UNIT = 256.0

    def __init__(self):
        self.buf = np.empty(0, np.int16)

    def get(self, n: int, offset: int) -> np.ndarray:
        need = n + offset
        if need > self.buf.size:
            chunks = [self.buf]
            for i in range(self.buf.size // self.CHUNK, -(-need // self.CHUNK)):
                z = np.random.default_rng([0x5EED, i]).standard_normal(self.CHUNK, np.float32)
                chunks.append(np.clip(np.rint(z * self.UNIT), -32767, 32767).astype(np.int16))
            self.buf = np.concatenate(chunks)
        return self.buf[offset:offset + n]


NOISE = _NoiseBuffer()


class GaussianNoise(PixelStep):
    NAME = "gaussian_noise"
    DOC = "add Gaussian noise with a random standard deviation"
    INPLACE = True
    PARAMS = (
        Param("std", "range", [0, 10], lo=0, hi=255, center=None, doc="standard deviation range on the 0-255 scale"),
        Param("per_channel", "bool", True, doc="independent noise per channel (false: the same grey noise)"),
    )

    def sample(self, rng, w, h):
        return {"std": uniform(rng, self.cfg["std"]), "offset": int(rng.integers(0, _NoiseBuffer.CHUNK))}

    def apply(self, img, prm, rng, inplace=False):
        if isinstance(img, Planes):
            return planar.noise(img, prm["std"], self.cfg["per_channel"], prm["offset"], NOISE, inplace)
        cv2 = _cv2()
        scale = prm["std"] * maxval(img) / 255.0 / _NoiseBuffer.UNIT
        c = channels(img)
        H, W = img.shape[:2]
        if self.cfg["per_channel"] or c == 1:
            noise = NOISE.get(img.size, prm["offset"]).reshape(img.shape)
        else:
            g = NOISE.get(H * W, prm["offset"]).reshape(H, W)
            noise = cv2.merge([g] * c)
        if c == 4:
            noise = noise.copy()
            noise[..., 3] = 0
        if img.dtype in (np.uint8, np.uint16):
            # one pass: img + scale * noise, rounded and saturated
            return cv2.addWeighted(img, 1.0, noise, scale, 0.0, dst=img if inplace else None,
                                   dtype=cv2.CV_8U if img.dtype == np.uint8 else cv2.CV_16U)
        return (img + noise * np.float32(scale)).astype(img.dtype)


class GaussianBlur(PixelStep):
    NAME = "gaussian_blur"
    DOC = "Gaussian blur with a random sigma (kernel size follows sigma)"
    PARAMS = (Param("sigma", "range", [0.1, 2.0], lo=0.01, hi=50, center=None, doc="sigma range in pixels"),)

    def sample(self, rng, w, h):
        return {"sigma": uniform(rng, self.cfg["sigma"])}

    def apply(self, img, prm, rng):
        if isinstance(img, Planes):
            return planar.blur(img, prm["sigma"])
        return _cv2().GaussianBlur(img, (0, 0), prm["sigma"], borderType=_cv2().BORDER_REFLECT)


class Cutout(PixelStep):
    NAME = "cutout"
    DOC = "erase rectangular holes (random erasing): each hole's sides are a fraction of the image's"
    INPLACE = True
    PARAMS = (
        Param("holes", "irange", [1, 1], lo=1, hi=1000, center=None, doc="number of holes"),
        Param("size", "range", [0.1, 0.3], lo=0.001, hi=1, center=None, doc="hole side as a fraction of the image side"),
        Param("fill", "fill", 0, doc='grey level, [r, g, b] (0-255 scale) or "random" noise'),
    )

    def sample(self, rng, w, h):
        n = int(rng.integers(self.cfg["holes"][0], self.cfg["holes"][1] + 1))
        holes = []
        for _ in range(n):
            s = uniform(rng, self.cfg["size"])
            hh, hw = max(1, int(round(s * h))), max(1, int(round(s * w)))
            holes.append([int(rng.integers(0, w - hw + 1)), int(rng.integers(0, h - hh + 1)), hw, hh])
        prm = {"holes": holes}
        if self.cfg["fill"] == "random":
            prm["fill_seed"] = int(rng.integers(0, 2**31))
        return prm

    def apply(self, img, prm, rng, inplace=False):
        fill = self.cfg["fill"]
        if isinstance(img, Planes):
            return planar.cutout(img, prm["holes"], fill, inplace)
        out = img if inplace else img.copy()
        if fill == "random":
            g = np.random.default_rng(prm["fill_seed"])
            vmax = maxval(img)
            for x, y, w, h in prm["holes"]:
                shape = (h, w) + img.shape[2:]
                if img.dtype in (np.uint8, np.uint16):
                    out[y:y + h, x:x + w] = g.integers(0, int(vmax) + 1, shape, dtype=img.dtype)
                else:
                    out[y:y + h, x:x + w] = g.random(shape, dtype=np.float32)
            return out
        val = np.array(_fill_tuple(img, fill)[:channels(img)], dtype=img.dtype)
        for x, y, w, h in prm["holes"]:
            out[y:y + h, x:x + w] = val if img.ndim == 3 else val[0]
        return out


def load_callable(spec: str, where: str):
    if not isinstance(spec, str) or ":" not in spec:
        raise RecipeError(f"{where}: {spec!r} is not allowed; allowed: 'package.module:function'")
    mod_name, _, fn_name = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the user's own module beside the recipe / current directory
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's to see
        raise RecipeError(f"{where}: cannot import module {mod_name!r} ({type(e).__name__}: {e}); "
                          "allowed: an importable 'package.module:function'")
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise RecipeError(f"{where}: {mod_name!r} has no callable {fn_name!r}; allowed: 'package.module:function'")
    return fn


class Custom(PixelStep):
    """`- custom: {function: "pkg.mod:func", any: params}` calls func(image, rng, **params).

    The image is RGB(A) or grey, HxW[xC], in its own dtype; the function must return an array of
    the same dtype and channel count (the size may change). Its params go into the manifest."""

    NAME = "custom"
    DOC = "your own function (image, rng, **params) -> image; image is RGB(A) or grey in its dtype"
    PARAMS = (Param("function", "str", None, required=True, doc="'package.module:function'"),)

    @classmethod
    def validate(cls, raw, where):
        if not isinstance(raw, dict):
            raise RecipeError(f"{where}: {raw!r} has the wrong type; allowed: a mapping with 'function'")
        extra = {k: v for k, v in raw.items() if k not in ("p", "function")}
        try:
            json.dumps(extra)
        except TypeError:
            raise RecipeError(f"{where}: parameters must be plain YAML values (numbers, strings, lists, mappings)")
        cfg = super().validate({k: v for k, v in raw.items() if k in ("p", "function")}, where)
        load_callable(cfg["function"], f"{where}.function")
        cfg["params"] = extra
        return cfg

    def __post_init__(self):
        self._fn = None

    def sample(self, rng, w, h):
        return {"function": self.cfg["function"], **self.cfg["params"]}

    def apply(self, img, prm, rng):
        cv2 = _cv2()
        if self._fn is None:
            self._fn = load_callable(self.cfg["function"], "custom.function")
        c = channels(img)
        conv = {3: (cv2.COLOR_BGR2RGB, cv2.COLOR_RGB2BGR), 4: (cv2.COLOR_BGRA2RGBA, cv2.COLOR_RGBA2BGRA)}.get(c)
        x = cv2.cvtColor(img, conv[0]) if conv else img
        y = self._fn(x, rng, **self.cfg["params"])
        if not isinstance(y, np.ndarray) or y.dtype != img.dtype or channels(y) != c or y.ndim != img.ndim:
            got = f"{type(y).__name__}" if not isinstance(y, np.ndarray) else f"{y.dtype} array of shape {y.shape}"
            raise ValueError(f"custom function {self.cfg['function']} returned {got}; "
                             f"expected a {img.dtype} array with {c} channel(s)")
        y = np.ascontiguousarray(y)
        return cv2.cvtColor(y, conv[1]) if conv else y


class OneOf(OneOfBase):
    """`- one_of: {steps: [...], weights: [...], p: 1}`: pick one step (by weight), then run it
    (subject to its own p). A group of only geometric (or only colour) steps fuses like one."""

    def __post_init__(self):
        super().__post_init__()
        self.GEOMETRIC = all(ch.GEOMETRIC for ch in self.children)
        self.COLOR = all(ch.COLOR for ch in self.children)


STEPS: dict[str, type[Step]] = {
    cls.NAME: cls
    for cls in (HFlip, VFlip, Rotate, Shift, Shear, Zoom, RandomCrop, CenterCrop, RandomResizedCrop, Resize,
                Brightness, Contrast, Saturation, Hue, ColorJitter, ChannelShift, Grayscale, Gamma,
                GaussianNoise, GaussianBlur, Cutout, Custom, OneOf, MixUp, CutMix)
}
ALIASES = {"random_erasing": "cutout"}


def _planar_ok(st: Step) -> bool:
    """Whether the step has a form on YCbCr planes (see transforms/planar.py)."""
    if isinstance(st, OneOf):
        return all(_planar_ok(ch) for ch in st.children)
    if isinstance(st, Cutout):
        return st.cfg["fill"] != "random"
    return isinstance(st, (Geometric, ColorStep, GaussianNoise, GaussianBlur))


def make_step(name: str, cfg: dict) -> Step:
    return STEPS[ALIASES.get(name, name)](cfg)


def validate_steps(raw, where: str) -> list[tuple[str, dict]]:
    """Validate a YAML list of image steps. Returns [(name, cfg)]."""
    out = parse_steps(raw, where, STEPS, ALIASES)
    mix_positions(out, where, ("mixup", "cutmix"))
    Pipeline(out)  # checks that fused groups agree on their fill
    return out


# --------------------------------------------------------------------------------------------
# the pipeline: fusing and running
# --------------------------------------------------------------------------------------------
class Pipeline:
    """Runs validated steps on an image with a job's Generator; returns (image, ops).

    Consecutive geometric steps form one block (one warp), consecutive colour steps one block
    (one colour matrix). `fuse=False` runs every step on its own (for tests and comparison)."""

    def __init__(self, steps: list[tuple[str, dict]], fuse: bool = True):
        self.blocks: list[tuple[str, list[Step]]] = []
        for name, cfg in steps:
            st = make_step(name, cfg)
            kind = "mix" if getattr(st, "MIX", False) else "geo" if st.GEOMETRIC else "color" if st.COLOR else "pixel"
            if fuse and kind != "pixel" and self.blocks and self.blocks[-1][0] == kind:
                self.blocks[-1][1].append(st)
            else:
                self.blocks.append((kind, [st]))
        self.fills = [self._block_fill(b) if k == "geo" else None for k, b in self.blocks]
        # every step has a form on YCbCr 4:2:0 planes: JPEG -> JPEG jobs may run on planes
        self.planar = all(_planar_ok(st) for _, b in self.blocks for st in b)

    @staticmethod
    def _block_fill(steps):
        fills, values = set(), set()
        for st in steps:
            for s in getattr(st, "children", [st]):
                if s.cfg.get("fill") is not None:
                    fills.add(s.cfg["fill"])
                if s.cfg.get("fill_value") is not None:
                    values.add(json.dumps(s.cfg["fill_value"]))
        if len(fills) > 1 or len(values) > 1:
            names = ", ".join(s.NAME for s in steps)
            raise RecipeError(f"transforms: the fused geometric steps ({names}) ask for different fills "
                              f"({', '.join(sorted(fills | values))}); allowed: one fill per group of consecutive geometric steps")
        return (fills.pop() if fills else "reflect"), (json.loads(values.pop()) if values else None)

    _fire = staticmethod(fire)

    def __call__(self, img: np.ndarray, rng, mix: dict | None = None) -> tuple[np.ndarray, list[dict]]:
        """`mix`: the mix step's draws made while planning (see transforms/mix.py), with the
        decoded partner under "image"; None when the step does not fire for this copy."""
        ops: list[dict] = []
        given = img  # never written to: copies of one decoded image share it
        for (kind, steps), fill in zip(self.blocks, self.fills):
            H, W = img.shape[:2]
            # made by an earlier step: may be written
            owned = not (planar.shares(img, given) if isinstance(img, Planes) else np.may_share_memory(img, given))
            if kind == "mix":
                if mix is not None and "skipped" in mix:
                    ops.append({"name": mix["name"], "skipped": mix["skipped"]})
                elif mix is not None:
                    img, op = apply_mix(img, mix)
                    ops.append(op)
                continue
            if kind == "geo":
                M, w, h = np.eye(3), W, H
                for st in steps:
                    st = self._fire(st, rng)
                    if st is None:
                        continue
                    prm = st.sample(rng, w, h)
                    A, w, h = st.matrix(prm, w, h)
                    M = A @ M
                    ops.append({"name": st.NAME, **prm})
                img = warp(img, M, w, h, *fill)
            elif kind == "color":
                vmax = maxval(img)
                mean0 = mean = None
                M = None
                for st in steps:
                    st = self._fire(st, rng)
                    if st is None:
                        continue
                    if mean0 is None:
                        mean0 = mean = mean_rgb(img)
                    prm = st.sample(rng, W, H)
                    Mi = st.rgb_matrix(prm, mean, vmax)
                    M = Mi if M is None else _then(M, Mi)
                    mean = _apply_rgb(M, mean0)
                    ops.append({"name": st.NAME, **prm})
                if M is not None:
                    img = apply_color_matrix(img, M, inplace=owned)
            else:
                st = self._fire(steps[0], rng)
                if st is None:
                    continue
                prm = st.sample(rng, W, H)
                if st.GEOMETRIC:  # a one_of mixing kinds picked a geometric step: its own warp
                    A, w, h = st.matrix(prm, W, H)
                    fl = self._block_fill([st])
                    img = warp(img, A, w, h, *fl)
                elif st.COLOR:
                    img = apply_color_matrix(img, st.rgb_matrix(prm, mean_rgb(img), maxval(img)), inplace=owned)
                elif st.INPLACE and owned:
                    img = st.apply(img, prm, rng, inplace=True)
                else:
                    img = st.apply(img, prm, rng)
                ops.append({"name": st.NAME, **prm})
        return img, ops


def match_partner(partner: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The partner with `like`'s channels, dtype and size (resized: area when shrinking)."""
    cv2 = _cv2()
    c, pc = channels(like), channels(partner)
    if pc != c:
        if pc == 1:
            partner = cv2.cvtColor(partner, cv2.COLOR_GRAY2BGR if c == 3 else cv2.COLOR_GRAY2BGRA)
        elif c == 1:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGR2GRAY if pc == 3 else cv2.COLOR_BGRA2GRAY)
        elif c == 4:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGR2BGRA)
        else:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGRA2BGR)
    if partner.dtype != like.dtype:
        partner = (partner.astype(np.float64) * (maxval(like) / maxval(partner))).astype(like.dtype)
    H, W = like.shape[:2]
    if partner.shape[:2] != (H, W):
        shrink = partner.shape[0] * partner.shape[1] > H * W
        partner = cv2.resize(partner, (W, H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return partner.reshape(like.shape)


def apply_mix(img: np.ndarray, mix: dict) -> tuple[np.ndarray, dict]:
    partner = match_partner(mix["image"], img)
    H, W = img.shape[:2]
    op = {"name": mix["name"], "partner": mix["partner"], "partner_label": mix["partner_label"]}
    if mix["name"] == "mixup":
        lam = mix["lambda"]
        out = _cv2().addWeighted(img, lam, partner, 1.0 - lam, 0.0)
        op["lambda"] = lam
        return out, op
    x1, y1, x2, y2 = cutmix_box(mix["box"], W, H)
    out = img.copy()
    out[y1:y2, x1:x2] = partner[y1:y2, x1:x2]
    op["box"] = [x1, y1, x2, y2]
    op["lambda"] = 1.0 - (x2 - x1) * (y2 - y1) / float(W * H)  # the real pasted area fraction
    return out, op
