"""JPEGs decoded at reduced scale for a recipe that shrinks them (io/reduced.py): the same draws
and ops as a full decode (plus a `decode` op), pixels close to an area-averaged full-resolution
reference, EXIF orientation honoured, the same bytes for 1 and 2 workers, other formats as before."""
import csv
import json

import cv2
import numpy as np
import pytest
from conftest import ROOT, photo, run_cli, tree_hashes

from augcli.io.image import Planes, _orient, planar_available, read_image
from augcli.io.reduced import Encoded, open_image, orient_matrix, reduction
from augcli.transforms.image import Pipeline, validate_steps
from augcli.transforms.image.warp import resize_matrix

EXAMPLE = [{"hflip": {"p": 0.5}}, {"rotate": {"degrees": 20, "fill": "reflect"}}, {"zoom": {"range": [0.9, 1.1]}}]


def camera_photo(path, size=(1200, 1600), seed=0, orientation=1, quality=92):
    """A photo-like JPEG >= 1 MP made from a real photo of sample_data/: a random crop scaled up,
    with mild sensor noise (fine detail a careless downscale would alias)."""
    from PIL import Image

    srcs = sorted((ROOT / "sample_data/images").rglob("*.jpg"))
    rng = np.random.default_rng(seed)
    img = cv2.imread(str(srcs[seed % len(srcs)]))
    sh, sw = img.shape[:2]
    ch, cw = int(sh * 0.8), int(sw * 0.8)
    y, x = rng.integers(0, sh - ch + 1), rng.integers(0, sw - cw + 1)
    img = cv2.resize(img[y:y + ch, x:x + cw], size[::-1], interpolation=cv2.INTER_CUBIC)
    img = cv2.add(img, rng.normal(0, 3.0, img.shape).astype(np.float32), dtype=cv2.CV_8U)
    pil = Image.fromarray(img[..., ::-1])
    exif = pil.getexif()
    if orientation != 1:
        exif[0x0112] = orientation
    pil.save(path, quality=quality, exif=exif.tobytes())
    return path


def psnr(a, b) -> float:
    a, b = (x.bgr() if isinstance(x, Planes) else x for x in (a, b))
    return float(10 * np.log10(255 ** 2 / max(np.mean((a.astype(float) - b.astype(float)) ** 2), 1e-12)))


def run_both(steps, path, seed=0, planes=False):
    """(reduced result, its ops, full-decode result, its ops) for one seed."""
    pipe = Pipeline(validate_steps(steps, "transforms"))
    enc = open_image(path, 10**9, planes)[0]
    assert isinstance(enc, Encoded)
    a, ops_a = pipe(enc, np.random.default_rng(seed))
    b, ops_b = pipe(read_image(path, 10**9, planes)[0], np.random.default_rng(seed))
    return a, ops_a, b, ops_b


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matrix_moves_pixels_as_exif_orientation_does(orientation):
    H, W = 5, 7
    idx = np.arange(H * W, dtype=np.int32).reshape(H, W).astype(np.float32)
    out = _orient(idx, orientation)
    O = orient_matrix(orientation, W, H)
    for y in range(H):
        for x in range(W):
            u, v, _ = O @ (x, y, 1)
            assert out[int(round(v)), int(round(u))] == idx[y, x]


def test_reduction_is_the_largest_that_never_upsamples():
    assert reduction(resize_matrix(224 / 1600, 224 / 1200), 224, 224, 1600, 1200) == 4  # 400 x 300 >= 224 x 224
    assert reduction(resize_matrix(224 / 1024, 224 / 768), 224, 224, 1024, 768) == 2  # 1/4: 192 rows < 224
    assert reduction(resize_matrix(100 / 4000, 100 / 4000), 100, 100, 4000, 4000) == 8
    assert reduction(resize_matrix(0.6, 0.6), 60, 60, 100, 100) == 1
    assert reduction(resize_matrix(0.2, 0.9), 20, 90, 100, 100) == 1  # one direction barely shrinks: none
    assert reduction(resize_matrix(224 / 1333, 224 / 1001), 224, 224, 1333, 1001) == 4  # inside: any size
    c, s = np.cos(0.5), np.sin(0.5)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    assert reduction(resize_matrix(0.24, 0.24) @ R, 100, 100, 400, 400) == 4
    # the output sees past the edge (a rotation's corners): only a d that divides both sides
    assert reduction(resize_matrix(0.24, 0.24) @ R, 100, 100, 404, 402) == 2
    assert reduction(resize_matrix(0.24, 0.24) @ R, 100, 100, 403, 400) == 1
    P = resize_matrix(0.2, 0.2).copy()
    P[2] = (0.004, 0, 1)  # projective: 0.2 at the origin, but sheared to 0.28 at the output's (0, 39)
    assert reduction(P, 40, 40, 2000, 2000) == 2
    assert reduction(P, 40, 10, 2000, 2000) == 4
    assert reduction(P, 200, 200, 2000, 2000) == 1  # the output sees the horizon


@pytest.mark.parametrize("planes", [False, True])
def test_resize_to_224_is_close_to_an_area_averaged_reference_with_the_same_ops(tmp_path, planes):
    if planes and not planar_available():
        pytest.skip("augcli._planes is not built here")
    steps = [*EXAMPLE, {"resize": {"height": 224, "width": 224}}]
    for i, size in enumerate([(1200, 1600), (1080, 1440), (1008, 1344), (1001, 1333)]):
        path = camera_photo(tmp_path / f"p{i}.jpg", size, seed=i)
        a, ops_a, b, ops_b = run_both(steps, path, seed=i, planes=planes)
        if size[0] % 2:  # the rotation's corners see past the edge: only a d dividing both sides
            assert ops_a == ops_b and psnr(a, b) > 60
        else:
            assert ops_a[0] == {"name": "decode", "denom": 4 if size[0] >= 4 * 224 * 1.1 else 2}
            assert ops_a[1:] == ops_b
        assert isinstance(a, Planes) == planes and a.shape == b.shape == (224, 224, 3)
        assert psnr(a, b) >= 35, (size, psnr(a, b))
        # a plain resize: against cv2's area average of the full decode
        a, ops_a, _, _ = run_both([{"resize": {"height": 224, "width": 224}}], path, planes=planes)
        ref = cv2.resize(read_image(path, 10**9)[0], (224, 224), interpolation=cv2.INTER_AREA)
        assert ops_a[0]["name"] == "decode" and psnr(a, ref) >= 35, psnr(a, ref)


def test_the_reduction_is_folded_where_the_pixels_are(tmp_path):
    """A crop of the right half, shrunk 4x: the reduced path shows that half, not another."""
    img = np.zeros((1200, 1600, 3), np.uint8)
    img[:, 800:] = (0, 0, 255)
    img[600:, 800:] = (255, 0, 0)
    cv2.imwrite(str(tmp_path / "q.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    steps = [{"center_crop": {"size": [1200, 800]}}, {"resize": {"height": 150, "width": 100}}]
    pipe = Pipeline(validate_steps(steps, "transforms"))
    enc = open_image(tmp_path / "q.jpg", 10**9)[0]
    out, ops = pipe(enc, np.random.default_rng(0))
    assert ops[0] == {"name": "decode", "denom": 8} and out.shape == (150, 100, 3)
    assert out[:, :48].max() < 40  # the left of the crop: black
    assert out[:70, 52:, 2].min() > 200 and out[80:, 52:, 0].min() > 200  # red above blue, as in the file


@pytest.mark.parametrize("orientation", [3, 6, 8, 5])
@pytest.mark.parametrize("planes", [False, True])
def test_exif_rotated_jpegs_come_out_turned_like_a_full_decode(tmp_path, orientation, planes):
    if planes and not planar_available():
        pytest.skip("augcli._planes is not built here")
    cases = [((1000, 1504), [{"rotate": {"degrees": 10}}, {"resize": {"height": 200, "width": 150}}]),
             ((1001, 1502), [{"resize": {"height": 200, "width": 150}}])]  # partial last blocks, inside
    for size, steps in cases:
        path = camera_photo(tmp_path / "t.jpg", size, seed=orientation, orientation=orientation)
        a, ops_a, b, ops_b = run_both(steps, path, seed=3, planes=planes)
        assert ops_a[0] == {"name": "decode", "denom": 4} and ops_a[1:] == ops_b
        assert a.shape == b.shape == (200, 150, 3) and psnr(a, b) >= 35, (size, psnr(a, b))


def test_grey_jpeg_and_upscales_and_pngs(tmp_path):
    grey = tmp_path / "g.jpg"
    cv2.imwrite(str(grey), cv2.cvtColor(cv2.imread(str(camera_photo(tmp_path / "c.jpg"))), cv2.COLOR_BGR2GRAY))
    a, ops_a, b, ops_b = run_both([{"resize": {"height": 300, "width": 400}}], grey)
    assert ops_a[0] == {"name": "decode", "denom": 4} and a.shape == b.shape == (300, 400) and psnr(a, b) >= 35
    a, ops_a, b, ops_b = run_both([{"resize": {"height": 900, "width": 1200}}], grey)  # shrinks < 2x: full decode
    assert ops_a == ops_b and np.array_equal(a, b)
    png = tmp_path / "p.png"
    cv2.imwrite(str(png), photo(1000, 1200))
    assert isinstance(open_image(png, 10**9)[0], np.ndarray)  # PNG: no reduced decode, the area-averaged warp


def _rows(out):
    with open(out / "manifest.csv", newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def test_cli_same_bytes_for_1_and_2_workers_ops_as_the_full_path_and_pngs_untouched(tmp_path):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    for i, size in enumerate([(1200, 1600), (864, 1152), (1080, 1440)]):
        camera_photo(src / "a" / f"p{i}.jpg", size, seed=i, orientation=6 if i == 2 else 1)
    cv2.imwrite(str(src / "a" / "lossless.png"), photo(960, 1280, seed=5))
    recipe = tmp_path / "r.yaml"
    steps = "\n".join(f"  - {json.dumps(s)}" for s in [*EXAMPLE, {"resize": {"height": 224, "width": 224}}])
    recipe.write_text(f"modality: image\ncopies: 2\nseed: 4\ntransforms:\n{steps}\n")
    run_cli("run", recipe, "--input", src, "--output", tmp_path / "w1", "--workers", 1, check=0)
    run_cli("run", recipe, "--input", src, "--output", tmp_path / "w2", "--workers", 2, check=0)
    assert tree_hashes(tmp_path / "w1") == tree_hashes(tmp_path / "w2")
    import os

    os.environ["AUGCLI_REDUCED"] = "0"
    try:
        run_cli("run", recipe, "--input", src, "--output", tmp_path / "full", "--workers", 1, check=0)
    finally:
        del os.environ["AUGCLI_REDUCED"]
    red, full = _rows(tmp_path / "w1"), _rows(tmp_path / "full")
    assert red.keys() == full.keys() and len(red) == 12
    for p, r in red.items():
        ops_r, ops_f = json.loads(r["ops"]), json.loads(full[p]["ops"])
        if r["augmented"] == "1" and p.endswith(".jpg"):
            assert ops_r[0]["name"] == "decode" and ops_r[1:] == ops_f, p
            a, b = (cv2.imread(str(d / p)) for d in (tmp_path / "w1", tmp_path / "full"))
            assert a.shape == b.shape == (224, 224, 3) and psnr(a, b) >= 33  # (both JPEG q95 again)
        else:  # originals (byte copies) and the PNG's copies: as before
            assert ops_r == ops_f and (tmp_path / "w1" / p).read_bytes() == (tmp_path / "full" / p).read_bytes()


def test_npy_with_rescale_and_resize_takes_the_reduced_path(tmp_path):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    camera_photo(src / "a" / "p.jpg", (1200, 1600), seed=2)
    recipe = tmp_path / "r.yaml"
    recipe.write_text('modality: image\ncopies: 1\nno_originals: true\nseed: 1\ntransforms:\n'
                      '  - resize: {height: 224, width: 224}\n')
    run_cli("run", recipe, "--input", src, "--output", tmp_path / "o", "--format", "npy",
            "--rescale", str(1 / 255), check=0)
    (row,) = _rows(tmp_path / "o").values()
    assert json.loads(row["ops"])[0] == {"name": "decode", "denom": 4}
    arr = np.load(tmp_path / "o" / row["path"])
    ref = cv2.resize(read_image(src / "a" / "p.jpg", 10**9)[0], (224, 224), interpolation=cv2.INTER_AREA)
    ref = cv2.cvtColor(ref, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    assert arr.dtype == np.float32 and arr.shape == (224, 224, 3) and arr.max() <= 1.0
    assert psnr(arr * 255, ref * 255) >= 35


@pytest.mark.skipif(not planar_available(), reason="augcli._planes is not built here")
@pytest.mark.parametrize("denom", [2, 4, 8])
def test_planes_decode_at_reduced_scale_matches_libjpegs_colour_decode(tmp_path, denom):
    from augcli.io.image import decode_planes

    data = camera_photo(tmp_path / "p.jpg", (777, 1001), seed=denom).read_bytes()
    p = decode_planes(data, denom)
    ref = cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, f"IMREAD_REDUCED_COLOR_{denom}"))
    assert p.y.shape == ref.shape[:2] == (-(-777 // denom), -(-1001 // denom))
    assert p.cb.shape == (-(-p.y.shape[0] // 2), -(-p.y.shape[1] // 2))
    assert np.abs(p.y.astype(int) - cv2.cvtColor(ref, cv2.COLOR_BGR2YCrCb)[..., 0]).max() <= 2
    assert psnr(p, ref) >= 35
    from augcli import _planes

    with pytest.raises(ValueError):
        _planes.decode(data, 3)


@pytest.mark.skipif(not planar_available(), reason="augcli._planes is not built here")
@pytest.mark.parametrize("orientation", [1, 6, 3, 7])
def test_crops_decode_only_their_window(tmp_path, orientation):
    path = camera_photo(tmp_path / "c.jpg", (1200, 1600), seed=orientation, orientation=orientation)
    a, ops_a, b, ops_b = run_both([{"random_crop": {"size": [300, 300]}}], path, seed=orientation)
    op = ops_a[0]
    assert op["name"] == "decode" and op["denom"] == 1 and ops_a[1:] == ops_b
    x, y, w, h = op["region"]
    assert w * h < 0.1 * 1600 * 1200 and w >= 300 and h >= 300  # whole iMCU columns around the window
    assert a.shape == b.shape == (300, 300, 3) and psnr(a, b) >= 45  # the same pixels (within libjpeg versions)
    steps = [{"random_resized_crop": {"size": [224, 224], "scale": [0.08, 0.3]}}]
    for planes in (False, True):
        a, ops_a, b, ops_b = run_both(steps, path, seed=orientation, planes=planes)
        assert "region" in ops_a[0] and ops_a[1:] == ops_b and psnr(a, b) >= 35, psnr(a, b)


def test_a_window_is_not_decoded_for_each_of_many_outputs(tmp_path):
    """Whole-image decodes are shared by a source's outputs, windows are not: with 4 outputs a
    window of 30% of the image would cost more than one decode of all of it."""
    path = camera_photo(tmp_path / "c.jpg", (1200, 1600))
    pipe = Pipeline(validate_steps([{"center_crop": {"size": [650, 870]}}], "transforms"))  # ~30% of it
    enc = open_image(path, 10**9)[0]
    assert "region" in pipe(enc, np.random.default_rng(0))[1][0]
    enc.uses = 4
    assert pipe(enc, np.random.default_rng(0))[1][0]["name"] == "center_crop"  # decoded in full


@pytest.mark.parametrize("kind", ["progressive", "444", "422"])
def test_progressive_and_other_samplings(tmp_path, kind):
    flags = {"progressive": [cv2.IMWRITE_JPEG_PROGRESSIVE, 1],
             "444": [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
             "422": [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422]}[kind]
    img = cv2.imread(str(camera_photo(tmp_path / "c.jpg", (1080, 1440), seed=4)))
    cv2.imwrite(str(tmp_path / "k.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92, *flags])
    for steps in ([{"rotate": {"degrees": 10}}, {"resize": {"height": 224, "width": 224}}],
                  [{"random_crop": {"size": [300, 300]}}]):
        for planes in (False, True) if planar_available() else (False,):
            a, ops_a, b, ops_b = run_both(steps, tmp_path / "k.jpg", planes=planes)
            assert ops_a[0]["name"] == "decode" and ops_a[1:] == ops_b and psnr(a, b) >= 40, (steps, planes)


def test_preview_shows_the_bytes_a_run_writes_with_reduced_decodes(tmp_path):
    from augcli.inspection import preview as pv
    from augcli.recipe import load_config

    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    for i in range(2):
        camera_photo(src / "a" / f"p{i}.jpg", (1200, 1600), seed=i, orientation=6 if i else 1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: image\ncopies: 2\nseed: 5\ntransforms:\n  - rotate: {degrees: 10}\n"
                      "  - resize: {height: 224, width: 224}\n  - color_jitter: {brightness: 0.2}\n")
    run_cli("run", recipe, "--input", src, "--output", tmp_path / "run", check=0)
    cfg = load_config(str(recipe), {"input": str(src)}, require_io=False)
    made = pv._variants(cfg, 2, 2)
    for job, _, variants in made:
        for o, data, ops in variants:
            assert ops[0]["name"] == "decode" and (tmp_path / "run" / o.path).read_bytes() == data
    assert sum(len(v) for _, _, v in made) == 4
    run_cli("preview", recipe, src, "--samples", "2", "--variants", "2", "--out", tmp_path / "p.png", check=0)


def test_frame_header_components():
    from augcli.io.reduced import jpeg_components

    img = photo(64, 64)
    assert jpeg_components(cv2.imencode(".jpg", img)[1].tobytes()) == 3
    assert jpeg_components(cv2.imencode(".jpg", img[..., 0])[1].tobytes()) == 1
    data = bytearray(cv2.imencode(".jpg", img)[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 4] = 12  # 12-bit samples: not for the reduced path
    assert jpeg_components(bytes(data)) == 0
    assert jpeg_components(cv2.imencode(".png", img)[1].tobytes()) == 0


def test_a_resumed_run_makes_the_same_bytes(tmp_path):
    """Whether a window is decoded depends on the recipe's copies, not on the outputs a resumed
    job has left: the files remade after a stop are those of an uninterrupted run."""
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    for i in range(2):
        camera_photo(src / "a" / f"p{i}.jpg", (1200, 1600), seed=i)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: image\ncopies: 3\nseed: 2\ntransforms:\n  - center_crop: {size: [600, 800]}\n"
                      "  - resize: {height: 300, width: 400}\n")
    for out in ("ref", "out"):
        run_cli("run", recipe, "--input", src, "--output", tmp_path / out, check=0)
    gone = sorted((tmp_path / "out").rglob("*__aug1.jpg"))
    assert len(gone) == 2
    for p in gone:  # as if the run had stopped before these
        p.unlink()
    run_cli("run", recipe, "--input", src, "--output", tmp_path / "out", check=0)
    assert tree_hashes(tmp_path / "out") == tree_hashes(tmp_path / "ref")
    rows = _rows(tmp_path / "ref")
    assert all("region" not in json.loads(r["ops"])[0] for r in rows.values() if r["augmented"] == "1")
