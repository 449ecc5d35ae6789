"""elastic and grid_distortion (augcli/transforms/image/distort.py): their effect on a photo.
(The contract itself: tests/test_transform_contract.py.)"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from augcli.errors import RecipeError
from augcli.transforms.image import STEPS, Size
from augcli.transforms.image.distort import elastic_field, grid_axis

from test_image_filters import PHOTO, bgr, run, step  # noqa: F401 - the photo fixture and step helpers


def test_elastic_with_zero_alpha_is_the_identity(bgr):
    out, prm = run("elastic", bgr, alpha=0)
    assert prm["alpha"] == 0 and isinstance(prm["seed"], int)
    assert np.array_equal(out, bgr)


def test_elastic_field_is_smooth_and_of_the_expected_size():
    dx, dy = elastic_field(7, 400, 300, alpha=40.0, sigma=6.0)
    assert dx.shape == (300, 400) and dx.dtype == np.float32
    std = float(np.concatenate([dx.ravel(), dy.ravel()]).std())
    assert 0.5 * 40 * 0.16 / 6 < std < 2 * 40 * 0.16 / 6  # the docstring's rule of thumb
    # smooth: neighbours differ far less than the field itself varies
    assert float(np.abs(np.diff(dx, axis=1)).mean()) < 0.25 * std
    assert not np.array_equal(dx, dy)


def test_elastic_moves_a_grid_by_about_alpha_over_sigma(bgr):
    # a pattern of thin lines: where a line lands tells how far pixels moved
    img = np.zeros((200, 200), np.uint8)
    img[:, ::10] = 255
    st = step("elastic", alpha=[60, 60], sigma=[6, 6])
    prm = st.sample(np.random.default_rng(3), Size(200, 200))
    out = st.apply(img, prm)
    assert out.shape == img.shape
    dx, _ = elastic_field(prm["seed"], 200, 200, 60.0, 6.0)
    # the output at (x, y) reads the input at x + dx: rebuilt by hand, nearest to the sampled point
    ys, xs = np.mgrid[20:180, 20:180]
    expect = img[ys, np.clip(np.rint(xs + dx[20:180, 20:180]).astype(int), 0, 199)]
    agree = np.mean((out[20:180, 20:180] > 127) == (expect > 127))
    assert agree > 0.9
    assert np.mean(out != img) > 0.2  # and it did move things


def test_elastic_same_params_same_bytes_and_seed_matters(bgr):
    st = step("elastic")
    prm = st.sample(np.random.default_rng(1), Size(160, 120))
    assert st.apply(bgr, prm).tobytes() == st.apply(bgr, dict(prm)).tobytes()
    other = dict(prm, seed=prm["seed"] + 1)
    assert st.apply(bgr, other).tobytes() != st.apply(bgr, prm).tobytes()


@pytest.mark.parametrize("kind", ["grey8", "bgr16", "bgra8"])
def test_distortions_keep_shape_dtype_and_alpha(bgr, kind):
    img = {"grey8": cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), "bgr16": bgr.astype(np.uint16) * 257,
           "bgra8": np.concatenate([bgr, np.full(bgr.shape[:2] + (1,), 77, np.uint8)], axis=2)}[kind]
    for name in ("elastic", "grid_distortion"):
        out, _ = run(name, img)
        assert out.shape == img.shape and out.dtype == img.dtype
        if kind == "bgra8":
            assert (out[..., 3] == 77).all()


def test_grid_axis_identity_and_edges():
    assert np.allclose(grid_axis([1, 1, 1, 1], 100), np.arange(100), atol=1e-4)
    src = grid_axis([2, 1, 1], 90)  # the first third of the output shows the first half of the input
    # pixel centres: output x + 0.5 maps to source 1.5 (x + 0.5) in the first cell, 0.75 per pixel in the others
    assert abs(src[0] - 0.25) < 0.01 and abs(src[-1] - 89.125) < 0.01  # edges stay put
    assert abs(float(src[30]) - 44.875) < 0.01
    assert np.all(np.diff(src) > 0)


def test_grid_distortion_zero_limit_is_the_identity(bgr):
    out, prm = run("grid_distortion", bgr, distort_limit=0)
    assert set(prm["x_steps"]) == {1.0} and len(prm["x_steps"]) == 5
    assert np.array_equal(out, bgr)


def test_grid_distortion_moves_columns_by_the_drawn_widths():
    img = np.tile(np.arange(200, dtype=np.uint8), (50, 1))  # value = x: the output shows where it read
    st = step("grid_distortion", num_steps=4)
    prm = {"x_steps": [1.5, 0.5, 1.0, 1.0], "y_steps": [1.0] * 4}
    out = st.apply(img, prm)
    # output column 50 (end of the first cell) reads source x = 1.5 / 4 * 200 = 75
    assert abs(int(out[25, 50]) - 75) <= 1
    assert abs(int(out[25, 100]) - 100) <= 1  # the cells after the second cancel: back in place
    assert (out[:, 0] == 0).all() and abs(int(out[25, 199]) - 199) <= 1


def test_distortions_are_refused_with_annotations(tmp_path):
    from augcli.modalities.annotated import _step_classes  # noqa: F401 (the check names the step)

    assert STEPS["elastic"].ANNOTATIONS is False and STEPS["grid_distortion"].ANNOTATIONS is False
    with pytest.raises(RecipeError, match="random"):
        STEPS["elastic"].validate({"fill_value": "random"}, "t.elastic")


# ------------------------------------------------------------------------------------------------
# perspective (augcli/transforms/image/perspective.py): a projective matrix, fused with the affine steps
# ------------------------------------------------------------------------------------------------
def test_perspective_draws_albumentations_corners_and_zero_scale_is_the_identity(bgr):
    st = step("perspective", scale=[0.05, 0.1])
    for seed in range(50):
        prm = st.sample(np.random.default_rng(seed), Size(160, 120))
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = prm["corners"]
        assert 0.05 <= prm["scale"] <= 0.1
        # every corner moved inward by less than 0.32 of the side
        assert max(x0, y0, 1 - x1, y1, 1 - x2, 1 - y2, x3, 1 - y3) < 0.32
    out, prm = run("perspective", bgr, scale=0)
    assert prm["corners"] == [[0, 0], [1, 0], [1, 1], [0, 1]]
    assert np.array_equal(out, bgr)


def test_a_known_homography_moves_a_painted_square_where_expected():
    from augcli.transforms.image.perspective import homography

    img = np.zeros((200, 300), np.uint8)
    img[90:110, 190:210] = 255  # a square centred on (200, 100) in continuous coordinates
    st = step("perspective")
    prm = {"scale": 0.1, "corners": [[0.1, 0.05], [0.85, 0.1], [0.95, 0.9], [0.05, 0.8]]}
    M, w, h = st.matrix(prm, 300, 200)
    assert (w, h) == (300, 200) and abs(M[2, 0]) + abs(M[2, 1]) > 1e-6  # projective
    # the quadrilateral's corners land on the image's corners
    H = homography([(x * 300, y * 200) for x, y in prm["corners"]], [(0, 0), (300, 0), (300, 200), (0, 200)])
    p = H @ [200, 100, 1]
    want = p[:2] / p[2]
    out = st.apply(img, prm)
    ys, xs = np.nonzero(out > 127)
    assert abs(xs.mean() + 0.5 - want[0]) < 1.0 and abs(ys.mean() + 0.5 - want[1]) < 1.0
    # and not where an affine approximation would put it: the map is really projective
    assert abs(want[0] - 200) > 5


def test_perspective_fused_with_rotate_equals_the_two_warps(bgr):
    from augcli.transforms.image import Pipeline, validate_steps

    img = cv2.GaussianBlur(bgr, (0, 0), 2)  # smooth: two interpolations differ little from one
    steps = validate_steps([{"rotate": {"degrees": [8, 12], "p": 1}},
                            {"perspective": {"scale": [0.08, 0.1], "p": 1}}], "t")
    fused, unfused = Pipeline(steps), Pipeline(steps, fuse=False)
    assert len(fused.blocks) == 1 and len(unfused.blocks) == 2
    for seed in range(3):
        a, ops_a = fused(img, np.random.default_rng(seed))
        b, ops_b = unfused(img, np.random.default_rng(seed))
        assert ops_a == ops_b
        diff = np.abs(a.astype(float) - b.astype(float))[10:-10, 10:-10]  # (borders: the fill differs)
        assert diff.mean() < 1.5 and np.percentile(diff, 99) < 12
        assert np.abs(a.astype(float) - img.astype(float)).mean() > 5  # it did move things


def test_perspective_on_jpeg_planes_matches_the_bgr_path():
    from augcli.io.image import decode_planes, encode_planes, planar_available
    from augcli.transforms.image import Pipeline, validate_steps

    if not planar_available():
        pytest.skip("augcli._planes not built")
    img = cv2.GaussianBlur(cv2.imread(str(PHOTO), cv2.IMREAD_COLOR), (0, 0), 1.5)
    data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    pipe = Pipeline(validate_steps([{"zoom": {"range": [1.1, 1.1]}}, {"perspective": {"p": 1}}], "t"))
    assert pipe.planar
    planes = decode_planes(data)
    bgr_img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    a, _ = pipe(planes, np.random.default_rng(4))
    b, _ = pipe(bgr_img, np.random.default_rng(4))
    a = cv2.imdecode(np.frombuffer(encode_planes(a, 95), np.uint8), cv2.IMREAD_COLOR)
    diff = np.abs(a.astype(float) - b.astype(float))
    assert diff.mean() < 2.5
