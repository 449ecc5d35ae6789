"""The tiny-image worker's cheaper forms give the very numbers of the forms they replace
(outputs and manifests byte-identical): ColorJitter's matrix on Python floats, the BGR matrix
handed to OpenCV, the ops JSON."""
import json
import math
import random

import numpy as np

from augcli.manifest import OPS_JSON
from augcli.transforms.image.colour import _EYE, _GREY, _HUE, ColorJitter, apply_color_matrix
from augcli.transforms.image.common import LUMA


def _jitter_matrix_numpy(prm, mean_rgb):
    """ColorJitter.rgb_matrix as it was: numpy on 3x3 arrays."""
    b, c, s = prm["brightness"], prm["contrast"], prm["saturation"]
    k = b * c
    if prm["hue"]:
        t = 2 * math.pi * prm["hue"]
        hue = 1.0 * _HUE[0] + (1.0 * math.cos(t)) * _HUE[1] + (1.0 * math.sin(t)) * _HUE[2]
    else:
        hue = _EYE
    M = np.empty((3, 4))
    M[:, :3] = (k * s) * hue + (k * (1 - s)) * _GREY
    M[:, 3] = (1 - c) * b * float(LUMA @ mean_rgb)
    return M


def test_color_jitter_matrix_is_the_numpy_one():
    step = ColorJitter(ColorJitter.validate({"brightness": 0.4, "contrast": 0.4, "saturation": 0.9, "hue": 0.5}, "t"))
    rng = np.random.default_rng(3)
    for i in range(3000):
        prm = step.sample(rng, None)
        if i % 5 == 0:
            prm["hue"] = 0.0
        mean = rng.random(3) * 255
        got, want = step.rgb_matrix(prm, mean, 255.0), _jitter_matrix_numpy(prm, mean)
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), prm


def test_colour_matrix_bgr_order():
    rng = np.random.default_rng(4)
    for c in (3, 4):
        img = rng.integers(0, 256, (9, 7, c), dtype=np.uint8)
        M = rng.random((3, 4)) * 2 - 0.5
        m = np.zeros((c, c + 1), np.float32)  # the matrix as it was built
        m[:3, :3] = M[2::-1, 2::-1]
        m[:3, c] = M[2::-1, 3]
        if c == 4:
            m[3, 3] = 1.0
        import cv2

        assert np.array_equal(apply_color_matrix(img, M), cv2.transform(img, m))


def test_ops_json_is_json_dumps():
    r = random.Random(2)
    for _ in range(500):
        ops = [{"name": "hflip"}, {"name": "rotate", "angle": round(r.uniform(-20, 20), 6)},
               {"name": "résumé", "x": [1, 2.5, None, True], "s": "a\"b\\c\n\u2028", "n": {"k": -0.0}},
               {"name": "big", "v": r.getrandbits(70), "f": r.random() * 1e20, "inf": float("inf")}]
        assert OPS_JSON(ops) == json.dumps(ops, ensure_ascii=False, separators=(",", ":"))
    assert OPS_JSON([]) == "[]"
