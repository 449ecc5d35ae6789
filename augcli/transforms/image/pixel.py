"""Pixel image steps, applied one by one: gamma, Gaussian noise, Gaussian blur, cutout (random
erasing) and `custom` (the user's own function).

Gaussian noise and cutout declare INPLACE: the pipeline lets them write into an image it made
itself (never the decoded source that the copies of a source share). Noise and blur have a form
on YCbCr planes (planar.py), and so has cutout with a colour fill.
"""
from __future__ import annotations

import json

import numpy as np

from ...errors import RecipeError
from ...io.image import Planes
from ..base import Param, Step, load_callable, uniform
from .common import _cv2, channels, fill_tuple, maxval
from .planar import blur as planar_blur
from .planar import cutout as planar_cutout
from .planar import noise as planar_noise


class PixelStep(Step):
    GEOMETRIC = False
    COLOR = False
    INPLACE = False  # True: apply() takes `inplace` and may then write into img (see Pipeline)

    def sample(self, rng, ctx) -> dict:
        return {}

    def apply(self, img: np.ndarray, prm: dict) -> np.ndarray:
        raise NotImplementedError


class Gamma(PixelStep):
    NAME = "gamma"
    DOC = "out = max * (in / max) ** gamma"
    PARAMS = (Param("gamma", "range", [0.8, 1.25], lo=0.05, hi=20, center=None, doc="gamma range"),)

    def sample(self, rng, ctx):
        return {"gamma": uniform(rng, self.cfg["gamma"])}

    def apply(self, img, prm):
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

    def sample(self, rng, ctx):
        return {"std": uniform(rng, self.cfg["std"]), "offset": int(rng.integers(0, _NoiseBuffer.CHUNK))}

    def apply(self, img, prm, inplace=False):
        if isinstance(img, Planes):
            return planar_noise(img, prm["std"], self.cfg["per_channel"], prm["offset"], NOISE, inplace)
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

    def sample(self, rng, ctx):
        return {"sigma": uniform(rng, self.cfg["sigma"])}

    def apply(self, img, prm):
        if isinstance(img, Planes):
            return planar_blur(img, prm["sigma"])
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

    def sample(self, rng, ctx):
        w, h = ctx
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

    def apply(self, img, prm, inplace=False):
        fill = self.cfg["fill"]
        if isinstance(img, Planes):
            return planar_cutout(img, prm["holes"], fill, inplace)
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
        val = np.array(fill_tuple(img, fill)[:channels(img)], dtype=img.dtype)
        for x, y, w, h in prm["holes"]:
            out[y:y + h, x:x + w] = val if img.ndim == 3 else val[0]
        return out


class Custom(PixelStep):
    """`- custom: {function: "pkg.mod:func", any: params}` calls func(image, rng, **params).

    The image is RGB(A) or grey, HxW[xC], in its own dtype; the function must return an array of
    the same dtype and channel count (the size may change). `rng` is a numpy Generator seeded with
    `rng_seed`, drawn when sampling: the function, its params and the seed go into the manifest,
    and the same ones give the same image."""

    NAME = "custom"
    ANNOTATIONS = False  # what a user's function does to the geometry is unknown
    DOC = "your own function (image, rng, **params) -> image; image is RGB(A) or grey in its dtype"
    PARAMS = (Param("function", "str", None, required=True, doc="'package.module:function'"),)
    OPEN_PARAMS = True  # any other key is a parameter of the function
    RESERVED = ("p", "function", "rng_seed")

    @classmethod
    def validate(cls, raw, where):
        if not isinstance(raw, dict):
            raise RecipeError(f"{where}: {raw!r} has the wrong type; allowed: a mapping with 'function'")
        if "rng_seed" in raw:
            raise RecipeError(f"{where}.rng_seed: {raw['rng_seed']!r} is not allowed; allowed: parameters of the "
                              "function named other than p, function and rng_seed (augcli records the seed there)")
        extra = {k: v for k, v in raw.items() if k not in cls.RESERVED}
        try:
            json.dumps(extra)
        except TypeError:
            raise RecipeError(f"{where}: {extra!r} is not allowed; allowed: parameters that are plain YAML values "
                              "(numbers, strings, lists, mappings)")
        cfg = super().validate({k: v for k, v in raw.items() if k in ("p", "function")}, where)
        load_callable(cfg["function"], f"{where}.function")
        cfg["params"] = extra
        return cfg

    def __post_init__(self):
        self._fn = None

    def sample(self, rng, ctx):
        return {"function": self.cfg["function"], **self.cfg["params"], "rng_seed": int(rng.integers(0, 2**31))}

    def apply(self, img, prm):
        cv2 = _cv2()
        if self._fn is None:
            self._fn = load_callable(self.cfg["function"], "custom.function")
        c = channels(img)
        conv = {3: (cv2.COLOR_BGR2RGB, cv2.COLOR_RGB2BGR), 4: (cv2.COLOR_BGRA2RGBA, cv2.COLOR_RGBA2BGRA)}.get(c)
        x = cv2.cvtColor(img, conv[0]) if conv else img.copy()  # the function may write into its input
        y = self._fn(x, np.random.default_rng(prm["rng_seed"]), **self.cfg["params"])
        if not isinstance(y, np.ndarray) or y.dtype != img.dtype or channels(y) != c or y.ndim != img.ndim:
            got = f"{type(y).__name__}" if not isinstance(y, np.ndarray) else f"{y.dtype} array of shape {y.shape}"
            raise ValueError(f"custom function {self.cfg['function']} returned {got}; "
                             f"expected a {img.dtype} array with {c} channel(s)")
        y = np.ascontiguousarray(y)
        return cv2.cvtColor(y, conv[1]) if conv else y
