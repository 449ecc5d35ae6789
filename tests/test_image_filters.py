"""The filter steps (augcli/transforms/image/filters.py): each one's effect on a real photo,
16-bit and grey inputs, alpha kept. (The contract itself: tests/test_transform_contract.py.)"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from augcli.transforms.image import STEPS, Size

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "sample_data/images/everyday/coffee.jpg"


@pytest.fixture(scope="module")
def bgr():
    img = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA))


def step(name, **cfg):
    cls = STEPS[name]
    return cls(cls.validate({**cfg, "p": 1}, name))


def run(name, img, seed=0, **cfg):
    st = step(name, **cfg)
    prm = st.sample(np.random.default_rng(seed), Size(img.shape[1], img.shape[0]))
    return st.apply(img, prm), prm


def lap_var(img):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    return float(cv2.Laplacian(g.astype(np.float64), cv2.CV_64F).var())


def variants(bgr):
    """The photo as BGR 8-bit, grey 8-bit, BGR 16-bit, BGRA 8-bit."""
    alpha = np.full(bgr.shape[:2] + (1,), 77, np.uint8)
    return {"bgr8": bgr, "grey8": cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
            "bgr16": bgr.astype(np.uint16) * 257, "bgra8": np.concatenate([bgr, alpha], axis=2)}


def test_sharpen_raises_the_laplacian_variance(bgr):
    for label, img in variants(bgr).items():
        out, prm = run("sharpen", img, alpha=[0.5, 0.5], lightness=[1, 1])
        assert out.shape == img.shape and out.dtype == img.dtype, label
        assert lap_var(out[..., :3] if out.ndim == 3 else out) > 1.5 * lap_var(img[..., :3] if img.ndim == 3 else img)
    bgra = variants(bgr)["bgra8"]
    assert (run("sharpen", bgra)[0][..., 3] == 77).all()


def test_sharpen_kernel_is_albumentations():
    k = STEPS["sharpen"].kernel(0.3, 0.7)
    ref = 0.7 * np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]) + 0.3 * np.array([[-1, -1, -1], [-1, 8.7, -1], [-1, -1, -1]])
    assert np.allclose(k, ref, atol=1e-6)


@pytest.mark.parametrize("dtype,kernel", [(np.uint8, [3, 7]), (np.uint16, [5, 5]), (np.uint16, [7, 7])])
def test_median_blur_removes_salt_and_pepper(bgr, dtype, kernel):
    img = bgr.astype(dtype) * (257 if dtype == np.uint16 else 1)
    vmax = 65535 if dtype == np.uint16 else 255
    noisy = img.copy()
    rng = np.random.default_rng(1)
    ys, xs = rng.integers(0, img.shape[0], 300), rng.integers(0, img.shape[1], 300)
    noisy[ys[:150], xs[:150]] = vmax
    noisy[ys[150:], xs[150:]] = 0
    for seed in range(3):
        out, prm = run("median_blur", noisy, seed, kernel=kernel)
        assert prm["kernel"] % 2 == 1 and kernel[0] <= prm["kernel"] <= kernel[1]
        assert out.dtype == dtype and out.shape == img.shape
        err_in = np.abs(noisy[ys, xs].astype(float) - img[ys, xs]).mean()  # at the dots
        err_out = np.abs(out[ys, xs].astype(float) - img[ys, xs]).mean()
        assert err_out < 0.1 * err_in, (seed, prm)
        assert ((out == vmax) | (out == 0)).sum() <= ((img == vmax) | (img == 0)).sum() + 5


def test_median_blur_numpy_matches_opencv():
    from augcli.transforms.image.filters import _median_numpy

    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for k in (3, 5, 7):
        assert (_median_numpy(img, k) == cv2.medianBlur(img, k)).all(), k
    assert (_median_numpy(img[..., 0].copy(), 7) == cv2.medianBlur(img[..., 0].copy(), 7)).all()


@pytest.mark.parametrize("seed", range(8))
def test_motion_blur_of_a_dot_is_a_line_at_the_drawn_angle_and_length(seed):
    for dtype in (np.uint8, np.uint16):
        vmax = 65535 if dtype == np.uint16 else 255
        img = np.zeros((41, 41), dtype)
        img[20, 20] = vmax
        out, prm = run("motion_blur", img, seed, kernel=[5, 15])
        k, angle = prm["kernel"], prm["angle"]
        assert k % 2 == 1 and 5 <= k <= 15 and 0 <= angle <= 360
        w = out.astype(float)
        assert abs(w.sum() - vmax) < 0.05 * vmax  # the kernel is normalised
        ys, xs = np.nonzero(w > 0)
        wt = w[ys, xs]
        dx, dy = xs - 20.0, -(ys - 20.0)  # y up: angles counter-clockwise as seen
        cov = np.cov(np.stack([dx, dy]), aweights=wt)
        evals, evecs = np.linalg.eigh(cov)
        axis = math.degrees(math.atan2(evecs[1, 1], evecs[0, 1])) % 180
        err = abs(axis - angle % 180)
        assert min(err, 180 - err) < 4, (prm, axis)
        along = dx * math.cos(math.radians(angle)) + dy * math.sin(math.radians(angle))
        assert k - 1 <= along.max() - along.min() <= k + 1, (prm, along.max() - along.min())
        assert evals[0] < 0.1 * evals[1]  # thin


def local_contrast(img):
    """Mean local standard deviation (9x9 windows) of the grey image, on the 0-1 scale."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    g = g.astype(np.float64) / (65535.0 if img.dtype == np.uint16 else 255.0)
    m = cv2.blur(g, (9, 9))
    return float(np.sqrt(np.maximum(cv2.blur(g * g, (9, 9)) - m * m, 0)).mean())


def test_clahe_raises_local_contrast_and_keeps_size_and_dtype(bgr):
    for label, img in variants(bgr).items():
        vmax = 65535 if img.dtype == np.uint16 else 255
        flat = (img.astype(np.float64) * 0.25 + 0.4 * vmax).astype(img.dtype)  # low contrast
        if flat.ndim == 3 and flat.shape[2] == 4:
            flat[..., 3] = 77
        out, prm = run("clahe", flat, clip_limit=[3, 4])
        assert out.shape == flat.shape and out.dtype == flat.dtype, label
        c_in, c_out = local_contrast(flat[..., :3] if flat.ndim == 3 else flat), local_contrast(
            out[..., :3] if out.ndim == 3 else out)
        assert c_out > 1.3 * c_in, (label, c_in, c_out)
        if label == "bgra8":
            assert (out[..., 3] == 77).all()


def psnr(a, b, vmax):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(vmax * vmax / mse)


def test_jpeg_quality_lowers_psnr_more_at_lower_quality(bgr):
    for label, img in variants(bgr).items():
        vmax = 65535 if img.dtype == np.uint16 else 255
        lo, _ = run("jpeg_quality", img, quality=[10, 10])
        hi, _ = run("jpeg_quality", img, quality=[90, 90])
        for out in (lo, hi):
            assert out.shape == img.shape and out.dtype == img.dtype, label
            assert not np.array_equal(out, img), label
        assert psnr(img, lo, vmax) < psnr(img, hi, vmax) - 3, label
        if label == "bgra8":
            assert (lo[..., 3] == 77).all()
    out, prm = run("jpeg_quality", bgr, seed=3)
    assert 30 <= prm["quality"] <= 90
    ref = cv2.imdecode(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, prm["quality"]])[1], cv2.IMREAD_COLOR)
    assert np.array_equal(out, ref)  # real JPEG artefacts


def hf_energy(img):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 and img.shape[2] == 3 else img
    if g.ndim == 3:
        g = cv2.cvtColor(g[..., :3], cv2.COLOR_BGR2GRAY)
    f = np.abs(np.fft.fftshift(np.fft.fft2(g.astype(np.float64)))) ** 2
    h, w = g.shape
    yy, xx = np.mgrid[0:h, 0:w]
    far = np.hypot((yy - h / 2) / h, (xx - w / 2) / w) > 0.25
    return float(f[far].sum() / f.sum())


def test_downscale_lowers_high_frequency_energy_and_keeps_size(bgr):
    for label, img in variants(bgr).items():
        for seed in range(3):
            out, prm = run("downscale", img, seed)
            assert 0.25 <= prm["scale"] <= 0.5
            assert out.shape == img.shape and out.dtype == img.dtype, label
            assert hf_energy(out) < 0.5 * hf_energy(img), (label, prm)
        if label == "bgra8":
            assert (out[..., 3] == 77).all()


def test_random_grayscale_makes_the_three_channels_equal(bgr):
    assert STEPS["random_grayscale"].validate({}, "t")["p"] == 0.1
    for label, img in variants(bgr).items():
        out, prm = run("random_grayscale", img)
        assert out.shape == img.shape and out.dtype == img.dtype, label
        if img.ndim == 2:
            assert np.array_equal(out, img)
            continue
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2]), label
        ref = cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_BGR2GRAY)
        assert np.array_equal(out[..., 0], ref)
        if label == "bgra8":
            assert (out[..., 3] == 77).all()


def test_channel_shuffle_output_channels_are_a_permutation_of_the_input(bgr):
    seen = set()
    for label, img in variants(bgr).items():
        for seed in range(12):
            out, prm = run("channel_shuffle", img, seed)
            order = prm["order"]
            assert sorted(order) == [0, 1, 2]
            seen.add(tuple(order))
            assert out.shape == img.shape and out.dtype == img.dtype
            if img.ndim == 2:
                assert np.array_equal(out, img)
                continue
            rgb_in, rgb_out = img[..., 2::-1], out[..., 2::-1]
            for i in range(3):  # output r, g, b is input channel order[i]
                assert np.array_equal(rgb_out[..., i], rgb_in[..., order[i]]), (label, order)
            if label == "bgra8":
                assert (out[..., 3] == 77).all()
    assert len(seen) == 6


FILTERS = ["sharpen", "median_blur", "motion_blur", "clahe", "jpeg_quality", "downscale", "random_grayscale",
           "channel_shuffle"]


def test_filters_are_registered_keep_annotations_and_take_the_bgr_path():
    from augcli.transforms.image import Pipeline, validate_steps

    for name in FILTERS:
        assert STEPS[name].ANNOTATIONS, name
        assert not Pipeline(validate_steps([{name: {}}], "transforms")).planar, name  # no planar form


def test_a_kernel_range_without_an_odd_size_is_refused():
    from augcli.errors import RecipeError
    from augcli.transforms.image import validate_steps

    for name in ("median_blur", "motion_blur"):
        with pytest.raises(RecipeError, match=rf"transforms\[0\]\.{name}\.kernel: \[4, 4\] holds no odd size; allowed: "):
            validate_steps([{name: {"kernel": [4, 4]}}], "transforms")
        st = step(name, kernel=[4, 5])
        assert {st.sample(np.random.default_rng(s), Size(9, 9))["kernel"] for s in range(10)} == {5}
