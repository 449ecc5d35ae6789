"""Image policy presets, as torchvision's v2 transforms define them (torchvision >= 0.16, the
tv_tensors API: torchvision/transforms/v2/_auto_augment.py read at commit 0152ce41; the spaces and
sub-policies are the same in 0.15's beta, commit a6ed2d33): randaugment, trivialaugment
(TrivialAugmentWide), autoaugment (imagenet, cifar10, svhn: the 25 published sub-policies of
each) and augmix.

The same op set, magnitude bins, signed magnitudes (a coin flip, `rand <= 0.5`, negates), default
interpolation (nearest; bilinear for augmix) and default fill (0) as torchvision; the op tables
are in policy_tables.py. `sample` draws the ops and their magnitudes, recorded in the manifest as
`ops: [{op, magnitude}]` (augmix: `weights` and `chains`); `apply` replays them and draws nothing.

Op semantics (`apply_op`): geometric ops are one warp each (ShearX/Y about the top-left corner,
`x' = x - m * y`, as torchvision's F.affine with center [0, 0]; TranslateX/Y by int(m) pixels;
Rotate about the centre, counter-clockwise); the others are Pillow's (ops.py: ImageEnhance's
Brightness, Color, Contrast, Sharpness with factor 1 + m; ImageOps' posterize, solarize at
m * 255, autocontrast, equalize, invert), which torchvision's functionals follow (on PIL images
exactly; on tensors within a level: e.g. contrast there blends with the unrounded grey mean).

Annotations: randaugment, trivialaugment and autoaugment move them (MOVES: `warps` gives the
matrix of each geometric op drawn, which the pipeline records like a geometric step's warp);
augmix cannot (a blend of copies moved differently): ANNOTATIONS = False, refused.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import RecipeError
from ..base import Param, r6
from .common import _cv2, fill_tuple, maxval
from .ops import autocontrast, enhance, equalize, invert, posterize, solarize
from .pixel import PixelStep
from .policy_tables import AUTOAUGMENT, SPACES
from .warp import warp


# ------------------------------------------------------------------------------------------------
# magnitudes and ops
# ------------------------------------------------------------------------------------------------
def magnitudes(entry, num_bins: int, w: int, h: int) -> np.ndarray | None:
    """The magnitude of every bin of one op of a space (policy_tables.py), in float32 like torch."""
    kind, a, b, _ = entry
    if kind == "none":
        return None
    if kind == "bits":
        return np.rint(a - np.arange(num_bins) / ((num_bins - 1) / b)).astype(np.int64).astype(np.float32)
    hi = b * w if kind == "lin_w" else b * h if kind == "lin_h" else b
    return np.linspace(a, hi, num_bins, dtype=np.float32)


def draw_op(rng, space: dict, op: str, bins: int, index: int, w: int, h: int) -> dict:
    """{op, magnitude}: bin `index` of the op, negated on a coin flip when the op is signed."""
    entry = space[op]
    mags = magnitudes(entry, bins, w, h)
    m = 0.0
    if mags is not None:
        m = float(mags[index])
        if entry[3] and rng.random() <= 0.5:
            m = -m
    return {"op": op, "magnitude": r6(m) + 0.0}


def _corner(A: np.ndarray) -> np.ndarray:
    """A about the top-left corner of the image (pixel-centre coordinates: the corner is -0.5)."""
    T = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    Ti = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return T @ A @ Ti


def op_matrix(op: str, m: float, w: int, h: int) -> np.ndarray | None:
    """The 3x3 matrix (input pixel -> output pixel) of a geometric op; None for the others."""
    if op == "ShearX":
        return _corner(np.array([[1, -m, 0], [0, 1, 0], [0, 0, 1]], float))
    if op == "ShearY":
        return _corner(np.array([[1, 0, 0], [-m, 1, 0], [0, 0, 1]], float))
    if op == "TranslateX":
        return np.array([[1, 0, int(m)], [0, 1, 0], [0, 0, 1]], float)
    if op == "TranslateY":
        return np.array([[1, 0, 0], [0, 1, int(m)], [0, 0, 1]], float)
    if op == "Rotate":
        t = math.radians(m)
        c, s = math.cos(t), math.sin(t)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        A = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
        return np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]]) @ A @ np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    return None


_PIXEL = {
    "Identity": lambda img, m: img,
    "Brightness": lambda img, m: enhance(img, "brightness", 1.0 + m),
    "Color": lambda img, m: enhance(img, "color", 1.0 + m),
    "Contrast": lambda img, m: enhance(img, "contrast", 1.0 + m),
    "Sharpness": lambda img, m: enhance(img, "sharpness", 1.0 + m),
    "Posterize": lambda img, m: posterize(img, int(m)),
    "Solarize": lambda img, m: solarize(img, 255.0 * m),
    "AutoContrast": lambda img, m: autocontrast(img),
    "Equalize": lambda img, m: equalize(img),
    "Invert": lambda img, m: invert(img),
}


def apply_op(img: np.ndarray, op: str, m: float, interpolation: str = "nearest", fill_value=None) -> np.ndarray:
    """One op of the policies with magnitude m (torchvision's _apply_image_or_video_transform)."""
    H, W = img.shape[:2]
    M = op_matrix(op, m, W, H)
    if M is None:
        return _PIXEL[op](img, m)
    if interpolation == "bilinear":
        return warp(img, M, W, H, "constant", fill_value)
    cv2 = _cv2()
    return cv2.warpAffine(img, M[:2], (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill_tuple(img, fill_value))


# ------------------------------------------------------------------------------------------------
# the steps
# ------------------------------------------------------------------------------------------------
def _geometry_params(interpolation: str = "nearest"):
    return (Param("interpolation", "choice", interpolation, choices=("nearest", "bilinear"),
                  doc="interpolation of the geometric ops (torchvision's default)"),
            Param("fill_value", "fill", None, doc="fill of the geometric ops: grey level or [r, g, b], 0-255 (default 0)"))


class Policy(PixelStep):
    """A policy: `sample` draws {ops: [{op, magnitude}]}, `apply` runs them in order."""

    MOVES = True  # its geometric ops' matrices: `warps` (the pipeline records them for annotations)
    SPACE = ""

    @classmethod
    def check(cls, cfg, where):
        if cfg.get("fill_value") == "random":
            raise RecipeError(f"{where}.fill_value: 'random' is not allowed for {cls.NAME}; allowed: a number or [r, g, b]")

    def run(self, img: np.ndarray, chain: list[dict]) -> np.ndarray:
        for o in chain:
            img = apply_op(img, o["op"], o["magnitude"], self.cfg["interpolation"], self.cfg["fill_value"])
        return img

    def apply(self, img, prm):
        return self.run(img, prm["ops"])

    def warps(self, prm: dict, w: int, h: int) -> list[tuple]:
        """[(3x3 matrix, w, h)] of the geometric ops in prm, in order (the size never changes)."""
        mats = (op_matrix(o["op"], o["magnitude"], w, h) for o in prm["ops"])
        return [(M, w, h) for M in mats if M is not None]


class RandAugment(Policy):
    NAME = "randaugment"
    DOC = "RandAugment (torchvision v2, >= 0.16): num_ops ops drawn uniformly, all at one magnitude bin"
    SPACE = "randaugment"
    PARAMS = (Param("num_ops", "int", 2, lo=0, hi=20, doc="ops applied in a row"),
              Param("magnitude", "int", 9, lo=0, hi=999, doc="magnitude bin (< num_magnitude_bins)"),
              Param("num_magnitude_bins", "int", 31, lo=2, hi=1000, doc="number of magnitude bins")) + _geometry_params()

    @classmethod
    def check(cls, cfg, where):
        super().check(cfg, where)
        if cfg["magnitude"] >= cfg["num_magnitude_bins"]:
            raise RecipeError(f"{where}.magnitude: {cfg['magnitude']} is out of range; allowed: an integer within "
                              f"[0, {cfg['num_magnitude_bins'] - 1}] (below num_magnitude_bins)")

    def sample(self, rng, ctx):
        space = SPACES[self.SPACE]
        names = list(space)
        return {"ops": [draw_op(rng, space, names[int(rng.integers(len(names)))], self.cfg["num_magnitude_bins"],
                                self.cfg["magnitude"], ctx.w, ctx.h) for _ in range(self.cfg["num_ops"])]}


class TrivialAugment(Policy):
    NAME = "trivialaugment"
    DOC = "TrivialAugmentWide (torchvision v2, >= 0.16): one op, a uniformly drawn magnitude bin"
    SPACE = "trivialaugment"
    PARAMS = (Param("num_magnitude_bins", "int", 31, lo=2, hi=1000, doc="number of magnitude bins"),) + _geometry_params()

    def sample(self, rng, ctx):
        space = SPACES[self.SPACE]
        names = list(space)
        op = names[int(rng.integers(len(names)))]
        bins = self.cfg["num_magnitude_bins"]
        index = int(rng.integers(bins)) if space[op][0] != "none" else 0
        return {"ops": [draw_op(rng, space, op, bins, index, ctx.w, ctx.h)]}


class AutoAugment(Policy):
    NAME = "autoaugment"
    DOC = "AutoAugment (torchvision v2, >= 0.16): one of the 25 published sub-policies of two ops"
    SPACE = "autoaugment"
    PARAMS = (Param("policy", "choice", "imagenet", choices=tuple(AUTOAUGMENT), doc="the published policy"),
              ) + _geometry_params()

    def sample(self, rng, ctx):
        subs = AUTOAUGMENT[self.cfg["policy"]]
        i = int(rng.integers(len(subs)))
        chain = []
        for op, prob, index in subs[i]:
            if not rng.random() <= prob:
                continue
            chain.append(draw_op(rng, SPACES[self.SPACE], op, 10, index or 0, ctx.w, ctx.h))
        return {"sub_policy": i, "ops": chain}


class AugMix(Policy):
    NAME = "augmix"
    DOC = "AugMix (torchvision v2, >= 0.16): `width` chains of 1-3 ops mixed with the image by Dirichlet weights"
    SPACE = "augmix"
    ANNOTATIONS = False  # a blend of copies moved differently: no one place for an object
    MOVES = False
    PARAMS = (Param("severity", "int", 3, lo=1, hi=10, doc="magnitude bins drawn from (of 10)"),
              Param("width", "int", 3, lo=1, hi=10, doc="number of chains"),
              Param("depth", "int", -1, lo=-1, hi=10, doc="ops per chain (-1 or 0: 1 to 3, drawn)"),
              Param("alpha", "float", 1.0, lo=0.01, hi=100, doc="Dirichlet / Beta concentration"),
              Param("all_ops", "bool", True, doc="also brightness, color, contrast, sharpness"),
              ) + _geometry_params("bilinear")

    def sample(self, rng, ctx):
        a, k = self.cfg["alpha"], self.cfg["width"]
        m = rng.dirichlet([a, a])
        w = rng.dirichlet([a] * k) * m[1]
        space = SPACES["augmix" if self.cfg["all_ops"] else "augmix_partial"]
        names = list(space)
        chains = []
        for _ in range(k):
            depth = self.cfg["depth"] if self.cfg["depth"] > 0 else int(rng.integers(1, 4))
            chain = []
            for _ in range(depth):
                op = names[int(rng.integers(len(names)))]
                index = int(rng.integers(self.cfg["severity"])) if space[op][0] != "none" else 0
                chain.append(draw_op(rng, space, op, 10, index, ctx.w, ctx.h))
            chains.append(chain)
        return {"weights": [r6(m[0])] + [r6(x) for x in w], "chains": chains}

    def apply(self, img, prm):
        wts = np.float32(prm["weights"])
        mix = img.astype(np.float32) * wts[0]
        for wt, chain in zip(wts[1:], prm["chains"]):
            mix += self.run(img, chain).astype(np.float32) * wt
        if img.dtype in (np.uint8, np.uint16):  # (float -> int truncates, as torchvision's .to(dtype))
            out = np.clip(mix, 0, maxval(img)).astype(img.dtype)
        else:
            out = mix.astype(img.dtype)
        if img.ndim == 3 and img.shape[2] == 4:
            out[..., 3] = img[..., 3]  # alpha as it was
        return out


POLICIES = (RandAugment, TrivialAugment, AutoAugment, AugMix)
