import math

import cv2
import numpy as np
import pytest
from conftest import photo

from augcli.errors import RecipeError
from augcli.transforms.image import Pipeline, validate_steps


def pipe(steps, fuse=True):
    return Pipeline(validate_steps(steps, "transforms"), fuse=fuse)


def marked(h=101, w=121, y=None, x=None):
    img = np.zeros((h, w, 3), np.uint8)
    y = h // 2 if y is None else y
    x = w // 2 if x is None else x
    img[y - 1:y + 2, x - 1:x + 2] = 255
    return img


def spot(img):
    g = img if img.ndim == 2 else img.max(axis=2)
    ys, xs = np.nonzero(g > 100)
    return float(ys.mean()), float(xs.mean())


def apply(steps, img, seed=0, fuse=True):
    return pipe(steps, fuse)(img, np.random.default_rng(seed))


def test_hflip_moves_pixel_to_mirror_position():
    out, ops = apply([{"hflip": {"p": 1}}], marked(x=20, y=30))
    assert ops == [{"name": "hflip"}]
    assert spot(out) == (30, 121 - 1 - 20)


def test_vflip_moves_pixel_to_mirror_position():
    out, _ = apply([{"vflip": {"p": 1}}], marked(x=20, y=30))
    assert spot(out) == (101 - 1 - 30, 20)


def test_rotate_90_turns_counter_clockwise():
    # a point right of the centre goes above it
    img = marked(101, 101, y=50, x=80)
    out, ops = apply([{"rotate": {"degrees": [90, 90], "fill": "constant"}}], img)
    assert ops[0]["angle"] == 90
    y, x = spot(out)
    assert abs(y - 20) < 0.6 and abs(x - 50) < 0.6


def test_shift_moves_by_fraction():
    img = marked(100, 200, y=50, x=50)
    out, _ = apply([{"shift": {"width": [0.25, 0.25], "height": [-0.1, -0.1], "fill": "constant"}}], img)
    y, x = spot(out)
    assert abs(x - 100) < 0.6 and abs(y - 40) < 0.6


def test_zoom_scales_distance_from_centre():
    img = marked(101, 101, y=50, x=70)  # 20 px right of the centre
    out, _ = apply([{"zoom": {"range": [2, 2]}}], img)
    y, x = spot(out)
    assert abs(x - 90) < 0.6 and abs(y - 50) < 0.6


def test_shear_tilts_rows_by_tan():
    img = marked(101, 101, y=80, x=50)  # 30 px below the centre
    out, _ = apply([{"shear": {"degrees": [20, 20], "fill": "constant"}}], img)
    y, x = spot(out)
    assert abs(x - (50 + 30 * math.tan(math.radians(20)))) < 0.6 and abs(y - 80) < 0.6


def test_random_crop_is_the_window_it_records():
    img = photo(60, 80, seed=3)
    out, ops = apply([{"random_crop": {"size": [30, 40]}}], img, seed=5)
    p = ops[0]
    assert out.shape == (30, 40, 3)
    assert np.array_equal(out, img[p["y"]:p["y"] + 30, p["x"]:p["x"] + 40])


def test_center_crop_and_resize_sizes():
    img = photo(60, 80)
    out, _ = apply([{"center_crop": {"size": [0.5, 0.5]}}], img)
    assert np.array_equal(out, img[15:45, 20:60])
    out, _ = apply([{"resize": {"height": 30}}], img)
    assert out.shape == (30, 40, 3)
    out, _ = apply([{"random_resized_crop": {"size": [32, 32]}}], img)
    assert out.shape == (32, 32, 3)


def test_fused_warp_equals_sequential_warps():
    img = photo(120, 160, seed=1)
    steps = [{"hflip": {"p": 1}}, {"rotate": {"degrees": 15}}, {"shift": {"width": 0.05}},
             {"shear": {"degrees": 5}}, {"zoom": {"range": [1.1, 1.2]}}]
    fused, ops_f = apply(steps, img, seed=9, fuse=True)
    seq, ops_s = apply(steps, img, seed=9, fuse=False)
    assert ops_f == ops_s  # same sampled parameters
    inner = (slice(15, -15), slice(20, -20))  # borders differ by reflect-of-reflect
    diff = np.abs(fused[inner].astype(int) - seq[inner].astype(int))
    assert diff.mean() < 1.5 and np.percentile(diff, 99) < 8
    # and the fusion is one interpolation: the fused result is sharper (not equal to a blur)
    assert np.abs(fused.astype(int) - img[:, ::-1].astype(int)).mean() > 1


def test_colour_steps_move_statistics_the_right_way():
    img = photo(80, 80, seed=2)
    bright, _ = apply([{"brightness": {"factor": [1.3, 1.3]}}], img)
    assert bright.mean() > img.mean() * 1.2
    low, _ = apply([{"contrast": {"factor": [0.5, 0.5]}}], img)
    grey_mean = (img.astype(float) @ [0.114, 0.587, 0.299]).mean()  # BGR
    assert low.std() < img.std() * 0.6 and abs(low.mean() - (0.5 * img.mean() + 0.5 * grey_mean)) < 1
    grey, _ = apply([{"saturation": {"factor": [0, 0]}}], img)
    assert np.abs(grey[..., 0].astype(int) - grey[..., 2]).max() <= 1
    g2, _ = apply([{"grayscale": {}}], img)
    assert np.abs(g2[..., 0].astype(int) - g2[..., 1]).max() <= 1
    soft = (img // 2 + 64).astype(np.uint8)  # no clipping: hue rotation keeps (Rec. 601) luma
    hue, _ = apply([{"hue": {"shift": [0.3, 0.3]}}], soft)
    luma = lambda a: (a[..., :3].astype(float) @ [0.114, 0.587, 0.299]).mean()  # noqa: E731 (BGR)
    assert abs(luma(hue) - luma(soft)) < 1 and np.abs(hue.astype(int) - soft).mean() > 10
    red = np.full((8, 8, 3), (90, 90, 170), np.uint8)  # BGR: a soft red
    turned, _ = apply([{"hue": {"shift": [1 / 6, 1 / 6]}}], red)  # a sixth of a turn: towards yellow
    hsv = lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2HSV_FULL)[0, 0].astype(int)  # noqa: E731 (hue 0-255)
    assert hsv(red)[0] in (0, 255) and 25 < hsv(turned)[0] < 60  # 60 deg = 42.5: red -> yellow
    dark, _ = apply([{"gamma": {"gamma": [2, 2]}}], img)
    assert dark.mean() < img.mean() * 0.8
    shifted, ops = apply([{"channel_shift": {"intensity": [10, 10]}}], img)
    assert abs(shifted.astype(float).mean() - img.mean() - 10) < 1


def test_fused_colour_equals_sequential_colour():
    img = photo(80, 80, seed=4)
    steps = [{"brightness": {"factor": 0.2}}, {"contrast": {"factor": 0.2}}, {"saturation": {"factor": 0.3}},
             {"hue": {"shift": 0.05}}]
    a, _ = apply(steps, img, seed=3, fuse=True)
    b, _ = apply(steps, img, seed=3, fuse=False)
    assert np.abs(a.astype(int) - b).mean() < 1.0


def test_cutout_covers_the_requested_fraction():
    img = np.full((100, 200, 3), 200, np.uint8)
    out, ops = apply([{"cutout": {"holes": 1, "size": [0.25, 0.25], "fill": 0}}], img)
    assert (out.max(axis=2) == 0).sum() == 25 * 50
    x, y, w, h = ops[0]["holes"][0]
    assert (out[y:y + h, x:x + w] == 0).all()
    out, _ = apply([{"random_erasing": {"holes": [3, 3], "size": [0.1, 0.1], "fill": "random"}}], img)
    assert (out != 200).any(axis=2).sum() > 0.9 * 3 * 10 * 20 * 0.5


def test_gaussian_noise_has_the_sampled_std():
    img = np.full((200, 200, 3), 128, np.uint8)
    out, ops = apply([{"gaussian_noise": {"std": [8, 8]}}], img)
    d = out.astype(float) - img
    assert abs(d.std() - 8) < 0.3 and abs(d.mean()) < 0.3


@pytest.mark.parametrize("kind", ["grey", "rgba", "uint16"])
def test_modes_and_depth_are_kept(kind):
    if kind == "grey":
        img = photo(64, 64, channels=1)
    elif kind == "rgba":
        img = photo(64, 64, channels=4)
    else:
        img = photo(64, 64, dtype=np.uint16)
    steps = [{"hflip": {"p": 1}}, {"rotate": {}}, {"color_jitter": {"brightness": 0.3, "saturation": 0.3}},
             {"gamma": {}}, {"gaussian_noise": {"p": 1}}, {"gaussian_blur": {}}, {"cutout": {}}]
    out, _ = apply(steps, img)
    assert out.dtype == img.dtype and out.shape == img.shape
    if kind == "uint16":
        assert out.max() > 255  # not squashed to 8 bits
    if kind == "rgba":
        col, _ = apply([{"color_jitter": {"brightness": 0.5, "hue": 0.2}}], img)
        assert np.array_equal(col[..., 3], img[..., 3])


def test_one_of_picks_one_step():
    img = photo(50, 50)
    names = set()
    for s in range(30):
        _, ops = apply([{"one_of": {"steps": [{"hflip": {"p": 1}}, {"vflip": {"p": 1}}]}}], img, seed=s)
        assert len(ops) == 1
        names.add(ops[0]["name"])
    assert names == {"hflip", "vflip"}


def test_probability_zero_never_runs_and_one_always_runs():
    img = photo(50, 50)
    for s in range(10):
        assert apply([{"rotate": {"p": 0}}], img, seed=s)[1] == []
        assert len(apply([{"gaussian_blur": {"p": 1}}], img, seed=s)[1]) == 1


def test_same_seed_same_result_and_different_seed_differs():
    img = photo(80, 100)
    steps = [{"rotate": {}}, {"color_jitter": {"brightness": 0.3}}, {"gaussian_noise": {"p": 1}}]
    a, _ = apply(steps, img, seed=1)
    b, _ = apply(steps, img, seed=1)
    c, _ = apply(steps, img, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("steps,needle", [
    ([{"rotat": {}}], "unknown transform 'rotat' (did you mean 'rotate'?)"),
    ([{"rotate": {"degree": 3}}], "transforms[0].rotate.degree: unknown parameter"),
    ([{"rotate": {"degrees": "a lot"}}], "transforms[0].rotate.degrees: 'a lot' has the wrong type"),
    ([{"zoom": {"range": [1.2, 0.9]}}], "min > max"),
    ([{"hflip": {"p": 2}}], "transforms[0].hflip.p: 2 is out of range; allowed: a number within [0, 1]"),
    ([{"rotate": {"fill": "mirror"}}], "allowed: one of constant, nearest, reflect, wrap"),
    ([{"rotate": {"fill": "wrap"}}, {"zoom": {"fill": "constant"}}], "different fills"),
    ([{"one_of": {"steps": [{"hflip": {}}], "weights": [1, 2]}}], "weights"),
])
def test_bad_steps_name_the_key_and_what_is_allowed(steps, needle):
    with pytest.raises(RecipeError) as e:
        validate_steps(steps, "transforms")
    assert needle in str(e.value)


@pytest.mark.parametrize("steps", [
    [{"cutout": {"p": 1, "size": [0.3, 0.5]}}, {"gaussian_noise": {"p": 1, "std": [5, 10]}}],
    [{"color_jitter": {"brightness": 0.5}}, {"cutout": {"p": 1}}],
    [{"rotate": {"degrees": 10}}, {"color_jitter": {"contrast": 0.5}}, {"gaussian_noise": {"p": 1}}, {"cutout": {"p": 1}}],
])
def test_steps_never_write_into_the_input_image(steps):
    # copies of one decoded image share it: steps may work in place only on their own arrays
    img = photo(64, 80)
    before = img.copy()
    out, _ = apply(steps, img, seed=3)
    assert np.array_equal(img, before)
    assert not np.array_equal(out, before)


def test_jpeg_header_matches_pillow_in_both_byte_orders():
    import io
    import struct

    from PIL import Image

    from augcli.io.image import jpeg_header

    def with_exif(orientation, order, kind=3):  # kind 3: SHORT (the standard), 4: LONG (seen in the wild)
        fmt = "<" if order == b"II" else ">"
        value = struct.pack(fmt + "HH", orientation, 0) if kind == 3 else struct.pack(fmt + "I", orientation)
        ifd = struct.pack(fmt + "H", 1) + struct.pack(fmt + "HHI", 0x0112, kind, 1) + value + b"\0\0\0\0"
        tiff = order + struct.pack(fmt + "HI", 42, 8) + ifd
        b = io.BytesIO()
        Image.fromarray(photo(30, 50)).save(b, "JPEG", exif=b"Exif\0\0" + tiff)
        return b.getvalue()

    for order, kind in ((b"II", 3), (b"MM", 3), (b"II", 4), (b"MM", 4)):
        for o in range(1, 9):
            data = with_exif(o, order, kind)
            with Image.open(io.BytesIO(data)) as im:
                assert im.getexif().get(0x0112) == o
            assert jpeg_header(data) == (50, 30, o)
    plain = io.BytesIO()
    Image.fromarray(photo(30, 50)).save(plain, "JPEG", progressive=True)
    assert jpeg_header(plain.getvalue()) == (50, 30, 1)
    assert jpeg_header(plain.getvalue()[:20]) is None  # cut before the frame header: Pillow decides
    assert jpeg_header(b"\x89PNG\r\n") is None


def test_png_size_from_its_header_and_its_exif_orientation_through_pillow(tmp_path):
    from PIL import Image

    from augcli.io.image import ImageReadError, png_header, read_image

    rgb = photo(20, 30)  # 20 high, 30 wide
    plain, turned = tmp_path / "plain.png", tmp_path / "turned.png"
    Image.fromarray(rgb).save(plain)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    Image.fromarray(rgb).save(turned, exif=exif.tobytes())
    assert png_header(plain.read_bytes()) == (30, 20, 1)
    assert png_header(turned.read_bytes()) is None  # an eXIf chunk: Pillow reads the orientation
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    assert np.array_equal(read_image(plain, 10**6)[0], bgr)
    img, _, orientation = read_image(turned, 10**6)
    assert orientation == 6 and np.array_equal(img, cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE))
    with pytest.raises(ImageReadError, match="600 pixels, over the limit of 599"):
        read_image(plain, 599)  # refused from the header, before any decode
