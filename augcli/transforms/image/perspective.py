"""perspective: a random four-point warp (Albumentations' Perspective, keep_size: true), the one
geometric step whose matrix is projective (a 3x3 homography with a last row other than
[0, 0, 1]). It composes with the affine steps around it like any geometric step: the pipeline
multiplies the matrices and warp.warp makes one cv2.warpPerspective of the product; on a JPEG's
YCbCr planes the same homography is carried into chroma coordinates (planar.warp), and
annotations follow it point by point with the homogeneous divide (annotations/geometry.py).
"""
from __future__ import annotations

import numpy as np

from ..base import Param, uniform
from .geometric import FILL_PARAMS, Geometric

UNIT_CORNERS = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))  # top-left, top-right, bottom-right, bottom-left
MAX_JITTER = 0.32  # Albumentations: a corner's jitter is |N(0, scale)| modulo 0.32


def homography(src, dst) -> np.ndarray:
    """The 3x3 matrix H (H[2, 2] = 1) that maps the 4 points src to the 4 points dst."""
    A, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    h = np.linalg.solve(np.array(A, float), np.array(b, float))
    return np.append(h, 1.0).reshape(3, 3)


def _shift(d: float) -> np.ndarray:
    return np.array([[1, 0, d], [0, 1, d], [0, 0, 1]], float)


class Perspective(Geometric):
    """Albumentations' Perspective (keep_size: true, fit_output: false): a jitter is drawn for
    each coordinate of the 4 corners, |N(0, s)| modulo 0.32 with s drawn in `scale`, as a
    fraction of the width (x) or height (y); each corner moves inward by its jitter, and the
    quadrilateral they make is stretched onto the whole image (so the output shows no border,
    a part of the image seen at an angle). `corners` in the manifest: the quadrilateral's
    corners (top-left, top-right, bottom-right, bottom-left) as fractions of the input's side."""

    NAME = "perspective"
    DOC = "random four-point perspective warp (Albumentations' Perspective; fuses with the affine steps)"
    PARAMS = (Param("scale", "range", [0.05, 0.1], lo=0, hi=1, center=None,
                    doc="standard deviation of the corners' jitter, fraction of the side"),) + FILL_PARAMS

    def sample(self, rng, ctx):
        s = uniform(rng, self.cfg["scale"])
        jitter = np.mod(np.abs(rng.normal(0.0, s, (4, 2))), MAX_JITTER) if s > 0 else np.zeros((4, 2))
        corners = [[round(abs(cx - jx), 6), round(abs(cy - jy), 6)]
                   for (cx, cy), (jx, jy) in zip(UNIT_CORNERS, jitter.tolist())]
        return {"scale": s, "corners": corners}

    def matrix(self, prm, w, h):
        src = [(x * w, y * h) for x, y in prm["corners"]]
        dst = [(x * w, y * h) for x, y in UNIT_CORNERS]
        # continuous coordinates (pixel i spans [i, i + 1]) -> the pipeline's pixel centres
        return _shift(-0.5) @ homography(src, dst) @ _shift(0.5), w, h

