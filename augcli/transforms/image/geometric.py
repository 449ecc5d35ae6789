"""Geometric image steps: each declares `matrix(params, w, h)`, the 3x3 matrix mapping the
pixel coordinates of the image it gets to those of the image it makes (and that image's size).

The pipeline composes the matrices of consecutive geometric steps into one and warps once
(warp.warp); `apply` is the step alone: its own matrix, one warp, its own fill.
"""
from __future__ import annotations

import json
import math

import numpy as np

from ...errors import RecipeError
from ..base import FILL_MODES, Param, Step, uniform
from .common import px
from .warp import resize_matrix, warp


def _about_center(a: float, b: float, c: float, d: float, w: int, h: int) -> np.ndarray:
    """The linear map [[a, b], [c, d]] about the image centre, as a 3x3 matrix
    (T(centre) @ A @ T(-centre), written out)."""
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    return np.array([[a, b, cx - a * cx - b * cy], [c, d, cy - c * cx - d * cy], [0.0, 0.0, 1.0]])


FILL_PARAMS = (
    Param("fill", "choice", None, choices=FILL_MODES,
          doc="how to fill pixels from outside the image (default reflect)"),
    Param("fill_value", "fill", None, doc="constant fill: grey level or per-channel [r, g, b] on the 0-255 scale (default 0)"),
)


class Geometric(Step):
    GEOMETRIC = True
    COLOR = False

    def sample(self, rng, ctx) -> dict:
        return {}

    def matrix(self, prm: dict, w: int, h: int):
        """(3x3 matrix, output width, output height) for an input of w x h."""
        raise NotImplementedError

    def apply(self, img, prm: dict):
        """The step alone: its matrix, one warp, its own fill."""
        H, W = img.shape[:2]
        A, w, h = self.matrix(prm, W, H)
        return warp(img, A, w, h, *fused_fill([self]))

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

    def sample(self, rng, ctx):
        return {"angle": uniform(rng, self.cfg["degrees"])}

    def matrix(self, prm, w, h):
        t = math.radians(prm["angle"])
        c, s = math.cos(t), math.sin(t)
        # y points down, so a counter-clockwise turn on screen is [[c, s], [-s, c]]
        return _about_center(c, s, -s, c, w, h), w, h


class Shift(Geometric):
    NAME = "shift"
    DOC = "translate by a fraction of the width / height (or by pixels: unit: pixels)"
    PARAMS = (
        Param("width", "range", [-0.1, 0.1], lo=-65535, hi=65535, doc="horizontal shift (fraction of the width: within [-1, 1])"),
        Param("height", "range", [-0.1, 0.1], lo=-65535, hi=65535, doc="vertical shift (fraction of the height: within [-1, 1])"),
        Param("unit", "choice", "fraction", choices=("fraction", "pixels"), doc="what width and height count"),
    ) + FILL_PARAMS

    @classmethod
    def check(cls, cfg, where):
        super().check(cfg, where)
        for key in ("width", "height"):
            if cfg["unit"] == "fraction" and max(abs(v) for v in cfg[key]) > 1:
                raise RecipeError(f"{where}.{key}: {cfg[key]!r} is out of range; allowed: fractions within [-1, 1] "
                                  "(or unit: pixels)")

    def sample(self, rng, ctx):
        return {"dx": uniform(rng, self.cfg["width"]), "dy": uniform(rng, self.cfg["height"])}

    def matrix(self, prm, w, h):
        sx, sy = (1, 1) if self.cfg.get("unit") == "pixels" else (w, h)
        return np.array([[1, 0, prm["dx"] * sx], [0, 1, prm["dy"] * sy], [0, 0, 1]], float), w, h


class Shear(Geometric):
    NAME = "shear"
    DOC = "shear about the centre (x: lines tilt sideways; y: lines tilt up/down)"
    PARAMS = (
        Param("degrees", "range", [-10, 10], lo=-80, hi=80, doc="horizontal shear angle"),
        Param("degrees_y", "range", [0, 0], lo=-80, hi=80, doc="vertical shear angle"),
    ) + FILL_PARAMS

    def sample(self, rng, ctx):
        return {"x": uniform(rng, self.cfg["degrees"]), "y": uniform(rng, self.cfg["degrees_y"])}

    def matrix(self, prm, w, h):
        return _about_center(1.0, math.tan(math.radians(prm["x"])), math.tan(math.radians(prm["y"])), 1.0, w, h), w, h


class Zoom(Geometric):
    NAME = "zoom"
    DOC = "scale about the centre; factors > 1 magnify (zoom in), < 1 shrink (zoom out)"
    PARAMS = (
        Param("range", "range", [0.9, 1.1], lo=0.05, hi=20, center=1.0, doc="scale factor range"),
        Param("independent", "bool", False, doc="sample x and y factors independently"),
    ) + FILL_PARAMS

    def sample(self, rng, ctx):
        zx = uniform(rng, self.cfg["range"])
        zy = uniform(rng, self.cfg["range"]) if self.cfg["independent"] else zx
        return {"zx": zx, "zy": zy}

    def matrix(self, prm, w, h):
        return _about_center(prm["zx"], 0.0, 0.0, prm["zy"], w, h), w, h


def _crop_matrix(x0: int, y0: int) -> np.ndarray:
    return np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)


SIZE = Param("size", "size", None, required=True, doc="[height, width]: pixels, or fractions of the side when <= 1")


class RandomCrop(Geometric):
    NAME = "random_crop"
    DOC = "crop a window of `size` at a random place (clamped to the image)"
    PARAMS = (SIZE,)

    def sample(self, rng, ctx):
        w, h = ctx
        ch, cw = min(px(self.cfg["size"][0], h), h), min(px(self.cfg["size"][1], w), w)
        return {"x": int(rng.integers(0, w - cw + 1)), "y": int(rng.integers(0, h - ch + 1)), "w": cw, "h": ch}

    def matrix(self, prm, w, h):
        return _crop_matrix(prm["x"], prm["y"]), prm["w"], prm["h"]


class CenterCrop(Geometric):
    NAME = "center_crop"
    DOC = "crop a centred window of `size` (clamped to the image)"
    PARAMS = (SIZE,)

    def sample(self, rng, ctx):
        w, h = ctx
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

    def sample(self, rng, ctx):
        w, h = ctx
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
        S = resize_matrix(prm["out_w"] / prm["w"], prm["out_h"] / prm["h"])
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

    def sample(self, rng, ctx):
        w, h = ctx
        oh, ow = self.cfg["height"], self.cfg["width"]
        if oh is None:
            oh = max(1, int(round(h * ow / w)))
        if ow is None:
            ow = max(1, int(round(w * oh / h)))
        return {"out_w": ow, "out_h": oh}

    def matrix(self, prm, w, h):
        return resize_matrix(prm["out_w"] / w, prm["out_h"] / h), prm["out_w"], prm["out_h"]


def fused_fill(steps) -> tuple:
    """The (fill, fill_value) of a run of geometric steps warped together (one_of groups count by
    their children): they must agree; reflect and black by default."""
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
