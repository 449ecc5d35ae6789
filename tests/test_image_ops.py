"""The Pillow-semantics pixel ops (transforms/image/ops.py) against Pillow itself on real photos,
16-bit input, and the policies (transforms/image/policies.py): replay, single ops, coverage."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from augcli.transforms.image import ops

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "sample_data/images").rglob("*.*"))
PHOTOS = [p for p in PHOTOS if p.suffix.lower() in (".jpg", ".png")][:4]


def load(path):
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if bgr.ndim == 3 and bgr.shape[2] == 4:
        bgr = bgr[..., :3]
    rgb = bgr[..., ::-1] if bgr.ndim == 3 else bgr
    return np.ascontiguousarray(bgr), Image.fromarray(np.ascontiguousarray(rgb))


def diff(ours, ref) -> int:
    ref = np.asarray(ref)
    ref = ref[..., ::-1] if ref.ndim == 3 else ref
    assert ours.shape == ref.shape and ours.dtype == ref.dtype
    return int(np.abs(ours.astype(int) - ref.astype(int)).max())


PIL_OPS = {
    "equalize": (ops.equalize, ImageOps.equalize, 0),
    "autocontrast": (ops.autocontrast, ImageOps.autocontrast, 0),
    "posterize3": (lambda x: ops.posterize(x, 3), lambda p: ImageOps.posterize(p, 3), 0),
    "posterize6": (lambda x: ops.posterize(x, 6), lambda p: ImageOps.posterize(p, 6), 0),
    "solarize100": (lambda x: ops.solarize(x, 100), lambda p: ImageOps.solarize(p, 100), 0),
    "invert": (ops.invert, ImageOps.invert, 0),
    "sharpness0.2": (lambda x: ops.sharpness(x, 0.2), lambda p: ImageEnhance.Sharpness(p).enhance(0.2), 1),
    "sharpness1.8": (lambda x: ops.sharpness(x, 1.8), lambda p: ImageEnhance.Sharpness(p).enhance(1.8), 1),
}


@pytest.mark.parametrize("path", PHOTOS, ids=[p.name for p in PHOTOS])
@pytest.mark.parametrize("name", list(PIL_OPS))
def test_ops_match_pillow_on_photos(path, name):
    ours, ref, tol = PIL_OPS[name]
    bgr, pil = load(path)
    assert diff(ours(bgr), ref(pil)) <= tol


@pytest.mark.parametrize("path", PHOTOS, ids=[p.name for p in PHOTOS])
@pytest.mark.parametrize("kind,cls", [("brightness", ImageEnhance.Brightness), ("contrast", ImageEnhance.Contrast),
                                      ("color", ImageEnhance.Color), ("sharpness", ImageEnhance.Sharpness)])
def test_enhancers_match_pillow(path, kind, cls):
    bgr, pil = load(path)
    if kind == "color" and bgr.ndim == 2:
        pytest.skip("grey")
    for f in (0.1, 0.55, 1.0, 1.45, 1.99):
        assert diff(ops.enhance(bgr, kind, f), cls(pil).enhance(f)) <= 1, (kind, f)


@pytest.mark.parametrize("path", PHOTOS[:2], ids=[p.name for p in PHOTOS[:2]])
def test_sixteen_bit_follows_the_eight_bit_result(path):
    bgr, _ = load(path)
    b16 = bgr.astype(np.uint16) * 257
    for name, f in [("equalize", ops.equalize), ("autocontrast", ops.autocontrast), ("invert", ops.invert),
                    ("posterize", lambda x: ops.posterize(x, 4)), ("solarize", lambda x: ops.solarize(x, 128)),
                    ("sharpness", lambda x: ops.sharpness(x, 1.6))]:
        o16, o8 = f(b16), f(bgr)
        assert o16.dtype == np.uint16 and o16.shape == b16.shape
        assert np.abs(o16 / 257.0 - o8).max() <= 1.5, name


def test_alpha_is_kept():
    bgr, _ = load(ROOT / "sample_data/images/everyday/coffee.jpg")
    alpha = np.full(bgr.shape[:2] + (1,), 77, np.uint8)
    bgra = np.concatenate([bgr, alpha], axis=2)
    for f in (ops.equalize, ops.invert, lambda x: ops.sharpness(x, 1.5), lambda x: ops.enhance(x, "color", 0.3)):
        out = f(bgra)
        assert out.shape == bgra.shape and (out[..., 3] == 77).all()
        assert np.array_equal(out[..., :3], f(bgr))


def test_steps_sample_their_parameters_within_range():
    from augcli.transforms.image import make_step, validate_steps

    rng = np.random.default_rng(0)
    st = make_step(*validate_steps([{"posterize": {"bits": [2, 5]}}], "t")[0])
    assert {st.sample(rng, None)["bits"] for _ in range(200)} == {2, 3, 4, 5}
    st = make_step(*validate_steps([{"solarize": {"threshold": [64, 192]}}], "t")[0])
    assert all(64 <= st.sample(rng, None)["threshold"] <= 192 for _ in range(100))
    st = make_step(*validate_steps([{"sharpness": {}}], "t")[0])
    assert all(0.1 <= st.sample(rng, None)["factor"] <= 1.9 for _ in range(100))
