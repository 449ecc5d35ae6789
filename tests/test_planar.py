"""JPEG -> JPEG jobs on YCbCr 4:2:0 planes (augcli._planes + transforms/image/planar.py): same sampled
parameters as the BGR path, pixels within JPEG noise of it, and every other kind of file on
the BGR path."""
import csv

import cv2
import numpy as np
import pytest
from conftest import ROOT, make_dataset, photo, run_cli, tree_hashes

from augcli.io.image import Planes, decode_planes, encode_planes, planar_available, read_image
from augcli.transforms.image import Pipeline, validate_steps

pytestmark = pytest.mark.skipif(not planar_available(), reason="augcli._planes is not built here")


def jpeg(img, *flags):
    flags = [cv2.IMWRITE_JPEG_QUALITY, 95, *flags]
    return cv2.imencode(".jpg", img, flags)[1].tobytes()


def decoded(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).astype(int)


def both_paths(steps, img, seed=0):
    """(planar result, BGR result), each encoded as JPEG q95 and decoded (the ops must agree)."""
    data = jpeg(img)
    pipe = Pipeline(validate_steps(steps, "transforms"))
    assert pipe.planar
    planes = decode_planes(data)
    out_p, ops_p = pipe(planes, np.random.default_rng(seed))
    out_b, ops_b = pipe(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), np.random.default_rng(seed))
    assert isinstance(out_p, Planes) and ops_p == ops_b
    return decoded(encode_planes(out_p, 95)), decoded(jpeg(out_b))


@pytest.mark.parametrize("h,w", [(120, 160), (77, 101), (16, 16), (1, 1), (33, 48)])
def test_planes_decode_and_encode_any_size(h, w):
    img = photo(h, w, seed=h)
    data = jpeg(img)
    p = decode_planes(data)
    assert p.shape == (h, w, 3) and p.y.shape == (h, w) and p.cb.shape == p.cr.shape == ((h + 1) // 2, (w + 1) // 2)
    ref = decoded(data)
    assert np.abs(p.bgr().astype(int) - ref).mean() < 1.5  # what a decoder gives
    again = decoded(encode_planes(p, 95))
    assert again.shape == ref.shape and np.abs(again - ref).mean() < 1.5


def test_colour_jpegs_of_any_sampling_decode_to_420_planes_and_others_do_not(tmp_path):
    img = photo(63, 81, seed=4)  # odd sides
    for sampling in ("420", "422", "444", "440"):
        flag = getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")
        data = jpeg(img, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, flag)
        p = decode_planes(data)
        assert p.y.shape == (63, 81) and p.cb.shape == p.cr.shape == (32, 41), sampling
        assert np.abs(p.bgr().astype(int) - decoded(data)).mean() < 1.0, sampling
    assert decode_planes(jpeg(img[..., 0])) is None  # grey
    assert decode_planes(cv2.imencode(".png", img)[1].tobytes()) is None
    data = jpeg(img)
    assert decode_planes(data[:len(data) // 2] + b"\xff\xd9") is None  # corrupt: the ordinary path reports it
    f = tmp_path / "x.jpg"
    f.write_bytes(data)  # 63 x 81: below PLANAR_MIN_PIXELS, where the BGR path is the faster
    assert isinstance(read_image(f, 10**8, planes=True)[0], np.ndarray)
    f.write_bytes(jpeg(photo(182, 181)))
    assert isinstance(read_image(f, 10**8, planes=True)[0], Planes)
    assert isinstance(read_image(f, 10**8)[0], np.ndarray)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_turns_and_flips_apply_to_planes_when_both_sides_are_even(tmp_path, orientation):
    from PIL import Image

    for h, w in ((192, 240), (191, 240)):
        pil = Image.fromarray(photo(h, w, seed=orientation)[..., ::-1])
        exif = pil.getexif()
        exif[0x0112] = orientation
        f = tmp_path / "turned.jpg"
        pil.save(f, quality=95, exif=exif.tobytes())
        got, _, o = read_image(f, 10**8, planes=True)
        ref, _, _ = read_image(f, 10**8)
        assert o == orientation and got.shape == ref.shape  # turned upright either way
        if h % 2:
            assert isinstance(got, np.ndarray)  # odd side: decoded and turned the ordinary way
        else:
            assert isinstance(got, Planes) and np.abs(got.bgr().astype(int) - ref).mean() < 1.5


@pytest.mark.parametrize("steps", [
    [{"hflip": {"p": 1}}],
    [{"rotate": {"degrees": [17, 17], "fill": "reflect"}}, {"zoom": {"range": [0.9, 0.9]}}],
    [{"rotate": {"degrees": [10, 10], "fill": "constant", "fill_value": [0, 128, 255]}}],
    [{"shift": {"width": [0.1, 0.1], "height": [0.05, 0.05], "fill": "wrap"}}],
    [{"random_resized_crop": {"size": [57, 75]}}],
    [{"center_crop": {"size": [61, 79]}}],
    [{"color_jitter": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.5, "hue": 0.1}}],
    [{"channel_shift": {"intensity": [-30, 30]}}, {"grayscale": {"p": 0.5}}],
    [{"gaussian_blur": {"sigma": [1.5, 1.5]}}],
    [{"cutout": {"holes": 3, "size": [0.1, 0.3], "fill": 40}}],  # colour fills: see the next test
    [{"one_of": {"steps": [{"rotate": {"degrees": 30}}, {"saturation": {"factor": [0, 0]}}]}}],
])
def test_planar_steps_give_the_pixels_of_the_bgr_path(steps):
    img = photo(120, 160, seed=7)
    for seed in range(3):
        a, b = both_paths(steps, img, seed)
        assert a.shape == b.shape
        inner = np.abs(a[3:-3, 3:-3] - b[3:-3, 3:-3])  # edges: reflections of half-resolution chroma
        # (a hole's colour edge may sit one pixel apart: chroma has half the resolution)
        assert inner.mean() < 2.0 and np.percentile(inner, 97) < 10, (steps, seed)


def test_planar_cutout_paints_the_fill_colour():
    img = np.full((96, 128, 3), 128, np.uint8)
    a, _ = both_paths([{"cutout": {"holes": 1, "size": [0.5, 0.5], "fill": [255, 0, 0]}}], img)
    b, g, r = a[48, 64]  # the hole is half the image: its centre is inside for any position
    assert r > 235 and g < 20 and b < 20


@pytest.mark.parametrize("per_channel", [True, False])
def test_planar_noise_is_as_strong_as_rgb_noise(per_channel):
    img = np.full((256, 256, 3), 128, np.uint8)
    a, b = both_paths([{"gaussian_noise": {"std": [12, 12], "per_channel": per_channel}}], img)
    sa, sb = a.reshape(-1, 3).std(axis=0), b.reshape(-1, 3).std(axis=0)
    assert np.all(np.abs(sa / sb - 1) < 0.15), (sa, sb)


def test_steps_without_a_planar_form_keep_the_bgr_path():
    for steps in ([{"gamma": {}}], [{"cutout": {"fill": "random"}}], [{"mixup": {}}],
                  [{"one_of": {"steps": [{"hflip": {}}, {"gamma": {}}]}}]):
        assert not Pipeline(validate_steps(steps, "transforms")).planar


def test_cli_planar_and_bgr_runs_agree_and_do_not_mix_on_resume(tmp_path, monkeypatch):
    src = make_dataset(tmp_path / "in", {"cat": 3}, size=(192, 256), ext=".jpeg")  # planar-sized
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: image\ntransforms:\n  - hflip: {p: 0.5}\n  - rotate: {degrees: 20}\n"
                      "  - color_jitter: {brightness: 0.2, hue: 0.05}\n")
    args = ("--recipe", recipe, "--copies", 2, "--format", "jpg")
    run_cli("image", src, tmp_path / "p", *args, check=0)
    monkeypatch.setenv("AUGCLI_PLANAR", "0")  # OpenCV's BGR decode for everything
    run_cli("image", src, tmp_path / "b", *args, check=0)
    rows = {m: sorted((r["path"], r["ops"]) for r in csv.DictReader(open(tmp_path / m / "manifest.csv")))
            for m in ("p", "b")}
    assert rows["p"] == rows["b"] and len(rows["p"]) == 9
    for path, _ in rows["p"]:
        assert path.endswith(".jpg")  # originals re-encoded from planes too (.jpeg -> .jpg)
        a, b = decoded((tmp_path / "p" / path).read_bytes()), decoded((tmp_path / "b" / path).read_bytes())
        assert np.abs(a - b).mean() < 2.0
    # a run begun with one decoder is not finished with the other (the bytes would differ)
    p = run_cli("image", src, tmp_path / "p", *args, check=2)
    assert "other settings" in p.stderr


def test_native_warp_gives_the_same_bytes_with_and_without_avx2_and_follows_opencv():
    from augcli.io.image import _planar_codec
    from augcli.transforms.image import warp

    native = _planar_codec()
    rng = np.random.default_rng(5)
    src = cv2.GaussianBlur(rng.integers(0, 256, (203, 301), np.uint8), (0, 0), 2)  # odd sizes
    for _ in range(20):
        t, z = rng.uniform(-0.5, 0.5), rng.uniform(0.7, 1.3)
        M = np.eye(3)
        M[:2, :2] = [[z * np.cos(t), z * np.sin(t)], [-z * np.sin(t), z * np.cos(t)]]
        M[:2, 2] = (150, 101) - M[:2, :2] @ (150, 101) + rng.uniform(-9, 9, 2)
        w, h = int(rng.integers(1, 330)), int(rng.integers(1, 230))
        a, b = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
        inv = tuple(cv2.invertAffineTransform(M[:2]).ravel())
        native.warp(src, inv, a, simd=True)  # (samples outside are clamped: the same in both)
        native.warp(src, inv, b, simd=False)
        assert np.array_equal(a, b)
        for fill, border in (("reflect", cv2.BORDER_REFLECT), ("wrap", cv2.BORDER_WRAP),
                             ("nearest", cv2.BORDER_REPLICATE), ("constant", cv2.BORDER_CONSTANT)):
            ref = cv2.warpAffine(src, M[:2], (w, h), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(9,) * 4)
            got = warp(src, M, w, h, fill, 9)  # padded by the fill, then the native warp
            d = np.abs(got.astype(int) - ref)
            # weights in 1/256 pixel against OpenCV's 1/32: 1 grey level apart, a little more
            # only across the step from the picture to a constant fill
            assert d.max() <= (1 if fill != "constant" else 4) and np.mean(d > 1) < 0.01, fill
    with pytest.raises(ValueError):
        native.warp(np.zeros((1, 5), np.uint8), (1, 0, 0, 0, 1, 0), np.empty((4, 4), np.uint8))


def test_a_run_mixing_planar_and_bgr_files_is_byte_identical_for_1_and_2_workers(tmp_path):
    from PIL import Image

    src = make_dataset(tmp_path / "in", {"a": 3, "b": 2}, size=(192, 256))  # 4:2:0 colour JPEGs: planar
    make_dataset(src, {"b": 1}, size=(96, 128))  # ... but small: BGR path (b/img000.jpg, overwritten)
    cv2.imwrite(str(src / "a" / "grey.jpg"), photo(192, 240, seed=9)[..., 0])  # grey JPEG: BGR path
    cv2.imwrite(str(src / "b" / "full.jpg"), photo(192, 240, seed=8),
                [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])  # 4:4:4: planar
    cv2.imwrite(str(src / "b" / "lossless.png"), photo(192, 240, seed=7))
    for name, h in (("turned", 192), ("odd", 191)):  # EXIF rotation: planar when both sides are even
        pil = Image.fromarray(photo(h, 240, seed=h)[..., ::-1])
        exif = pil.getexif()
        exif[0x0112] = 8
        pil.save(src / "a" / f"{name}.jpg", quality=95, exif=exif.tobytes())
    args = ("--recipe", ROOT / "examples" / "image.yaml", "--copies", 2, "--seed", 3)
    run_cli("image", src, tmp_path / "w1", *args, "--workers", 1, check=0)
    run_cli("image", src, tmp_path / "w2", *args, "--workers", 2, check=0)
    h1, h2 = tree_hashes(tmp_path / "w1"), tree_hashes(tmp_path / "w2")
    assert h1 == h2 and len(h1) > 20
    for name, h in (("turned", 192), ("odd", 191)):
        assert cv2.imread(str(next((tmp_path / "w1").glob(f"*/a/{name}*.jpg")))).shape[:2] == (240, h)
