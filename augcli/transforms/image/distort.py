"""Non-affine image warps (issue 17): elastic (Simard et al. 2003, as Albumentations'
ElasticTransform) and grid_distortion (Albumentations' GridDistortion). Each is one `cv2.remap`
by a displacement field; neither is a matrix, so they do not fuse with the geometric steps
around them and they have no planar form (a JPEG job with one of them takes the BGR path).

Annotations: both are refused on annotated datasets (ANNOTATIONS = False: boxes, polygons and
keypoints would need the inverse of the field, which a remap does not give).

Parameters recorded in the manifest are small: elastic records alpha, sigma and a `seed` from
which `apply` regenerates the random field (numpy's PCG64, the same on every platform);
grid_distortion records the per-cell stretch factors. `apply` draws nothing from the job's rng.
"""
from __future__ import annotations

import numpy as np

from ...errors import RecipeError
from ..base import FILL_MODES, Param, Step, r6, uniform
from .common import _cv2, fill_tuple

_BORDER = {"constant": "BORDER_CONSTANT", "nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT_101",
           "wrap": "BORDER_WRAP"}

FILL = (
    Param("fill", "choice", "reflect", choices=FILL_MODES, doc="how to fill pixels pulled from outside the image"),
    Param("fill_value", "fill", None, doc="constant fill: grey level or per-channel [r, g, b] on the 0-255 scale (default 0)"),
)


class Remap(Step):
    """A pixel step made of one remap: `maps(params, w, h)` gives float32 (map_x, map_y), the
    source pixel-centre coordinates of every output pixel."""

    GEOMETRIC = False
    COLOR = False
    ANNOTATIONS = False
    PARAMS = FILL

    @classmethod
    def check(cls, cfg, where):
        if cfg.get("fill_value") == "random":
            raise RecipeError(f"{where}.fill_value: 'random' is not allowed for {cls.NAME}; allowed: a number or [r, g, b]")

    def maps(self, prm: dict, w: int, h: int):
        raise NotImplementedError

    def apply(self, img, prm):
        cv2 = _cv2()
        h, w = img.shape[:2]
        mx, my = self.maps(prm, w, h)
        border = getattr(cv2, _BORDER[self.cfg["fill"]])
        return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=border,
                         borderValue=fill_tuple(img, self.cfg["fill_value"]))


def elastic_field(seed: int, w: int, h: int, alpha: float, sigma: float):
    """(dx, dy), float32 h x w: uniform noise in [-1, 1] from `seed`, Gaussian-smoothed with
    `sigma` pixels (reflected border), times `alpha` pixels."""
    cv2 = _cv2()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        d = rng.random((h, w), dtype=np.float32) * 2 - 1
        if sigma > 0:
            d = cv2.GaussianBlur(d, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        out.append(d * np.float32(alpha))
    return out


class Elastic(Remap):
    """Elastic deformation (Simard et al., 2003; Albumentations' ElasticTransform): two fields of
    uniform noise in [-1, 1] are smoothed by a Gaussian of `sigma` pixels and scaled by `alpha`;
    output pixel (x, y) takes the input at (x + dx, y + dy). alpha and sigma are in pixels
    of the image the step gets: a displacement's standard deviation is about
    alpha * 0.16 / sigma (Albumentations' own default, alpha 1 and sigma 50, barely moves a
    pixel; Simard's MNIST setting is alpha 34, sigma 4). The field is made from a seed drawn
    while sampling (recorded), so a replay gives the same bytes."""

    NAME = "elastic"
    DOC = "elastic deformation: a random smooth displacement field (Simard et al.; Albumentations' ElasticTransform)"
    PARAMS = (
        Param("alpha", "range", [30, 60], lo=0, hi=100000, center=None, doc="scale of the displacements in pixels"),
        Param("sigma", "range", [5, 5], lo=0.5, hi=1000, center=None,
              doc="smoothness: the Gaussian's standard deviation in pixels"),
    ) + FILL

    def sample(self, rng, ctx):
        return {"alpha": uniform(rng, self.cfg["alpha"]), "sigma": uniform(rng, self.cfg["sigma"]),
                "seed": int(rng.integers(0, 2**31))}

    def maps(self, prm, w, h):
        dx, dy = elastic_field(prm["seed"], w, h, prm["alpha"], prm["sigma"])
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return gx + dx, gy + dy


def grid_axis(steps: list, n: int) -> np.ndarray:
    """The source coordinate (pixel centres) of each of n output pixels along one axis: the axis
    is cut into len(steps) equal cells; cell k of the output shows a source cell of width
    proportional to steps[k], the widths rescaled to fill the axis (edges stay put)."""
    k = len(steps)
    widths = np.asarray(steps, float)
    src = np.concatenate([[0.0], np.cumsum(widths / widths.sum() * n)])
    dst = np.linspace(0.0, n, k + 1)
    return (np.interp(np.arange(n) + 0.5, dst, src) - 0.5).astype(np.float32)


class GridDistortion(Remap):
    """Albumentations' GridDistortion (normalized): the image is cut into num_steps x num_steps
    cells; each column (row) of cells shows a source strip whose width is scaled by 1 + d, d drawn
    in `distort_limit` per column (row), the widths then rescaled to fill the image, so its edges
    stay where they are; within a cell the mapping is linear."""

    NAME = "grid_distortion"
    DOC = "stretch and squeeze a grid of cells at random (Albumentations' GridDistortion)"
    PARAMS = (
        Param("num_steps", "int", 5, lo=1, hi=64, doc="cells per side"),
        Param("distort_limit", "range", [-0.3, 0.3], lo=-0.95, hi=10, doc="d: each cell's width times 1 + d"),
    ) + FILL

    def sample(self, rng, ctx):
        n, lim = self.cfg["num_steps"], self.cfg["distort_limit"]
        xs = [r6(1 + v) for v in rng.uniform(lim[0], lim[1], n)]
        ys = [r6(1 + v) for v in rng.uniform(lim[0], lim[1], n)]
        return {"x_steps": xs, "y_steps": ys}

    def maps(self, prm, w, h):
        mx = np.broadcast_to(grid_axis(prm["x_steps"], w)[None, :], (h, w))
        my = np.broadcast_to(grid_axis(prm["y_steps"], h)[:, None], (h, w))
        return np.ascontiguousarray(mx), np.ascontiguousarray(my)


DISTORT = (Elastic, GridDistortion)
