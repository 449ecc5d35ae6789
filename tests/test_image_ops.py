"""The Pillow-semantics pixel ops (transforms/image/ops.py) against Pillow itself on real photos,
16-bit input, and the policies (transforms/image/policies.py): replay, single ops, coverage."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from augcli.transforms.image import Size, ops

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


# ------------------------------------------------------------------------------------------------
# policies (torchvision v2 _auto_augment.py, >= 0.16)
# ------------------------------------------------------------------------------------------------
from augcli.transforms.image.policy_tables import AUTOAUGMENT, SPACES  # noqa: E402

OP_SET = {"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
          "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"}


def policy(name, **cfg):
    from augcli.transforms.image import make_step, validate_steps

    return make_step(*validate_steps([{name: cfg}], "t")[0])


def coffee():
    return load(ROOT / "sample_data/images/everyday/coffee.jpg")


def test_the_op_sets_are_torchvisions():
    assert set(SPACES["randaugment"]) == OP_SET == set(SPACES["trivialaugment"])
    assert set(SPACES["autoaugment"]) == OP_SET - {"Identity"} | {"Invert"}
    assert all(len(v) == 25 for v in AUTOAUGMENT.values())


@pytest.mark.parametrize("name", ["randaugment", "trivialaugment", "autoaugment", "augmix"])
def test_recorded_ops_replay_to_the_same_pixels(name):
    from augcli.transforms.image import Pipeline, validate_steps

    bgr, _ = coffee()
    pipe = Pipeline(validate_steps([{name: {}}], "t"))
    st = policy(name)
    for seed in range(8):
        out, recorded = pipe(bgr, np.random.default_rng(seed))
        prm = json.loads(json.dumps({k: v for k, v in recorded[0].items() if k != "name"}))
        assert np.array_equal(st.apply(bgr, prm), out)


def test_randaugment_draws_cover_the_op_set_at_the_published_magnitudes():
    st = policy("randaugment")
    rng = np.random.default_rng(0)
    seen, signs = {}, set()
    for _ in range(600):
        prm = st.sample(rng, Size(331, 200))
        assert len(prm["ops"]) == 2
        for o in prm["ops"]:
            seen.setdefault(o["op"], set()).add(abs(o["magnitude"]))
            signs.add((o["op"], o["magnitude"] < 0))
    assert set(seen) == OP_SET
    # bin 9 of 31 (torchvision's defaults)
    assert seen["Rotate"] == {9.0} and seen["ShearX"] == {0.09} and seen["Brightness"] == {0.27}
    assert seen["Posterize"] == {7.0} and seen["Solarize"] == {0.7} and seen["Equalize"] == {0.0}
    assert seen["TranslateX"] == {45.0} and seen["TranslateY"] == {round(150 / 331 * 200 * 0.3, 6)}
    assert ("Rotate", True) in signs and ("Rotate", False) in signs and ("Solarize", True) not in signs


def test_trivialaugment_and_autoaugment_draws():
    rng = np.random.default_rng(1)
    st = policy("trivialaugment")
    draws = [st.sample(rng, Size(64, 48))["ops"] for _ in range(1500)]
    assert all(len(d) == 1 for d in draws) and {d[0]["op"] for d in draws} == OP_SET
    rot = {abs(d[0]["magnitude"]) for d in draws if d[0]["op"] == "Rotate"}
    assert max(rot) == 135.0 and len(rot) > 15
    assert {d[0]["magnitude"] for d in draws if d[0]["op"] == "Posterize"} <= {2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}
    st = policy("autoaugment", policy="cifar10")
    subs = [st.sample(rng, Size(64, 48)) for _ in range(1000)]
    assert {s["sub_policy"] for s in subs} == set(range(25))
    for s in subs:
        published = [op for op, _, _ in AUTOAUGMENT["cifar10"][s["sub_policy"]]]
        assert [o["op"] for o in s["ops"]] in ([], published[:1], published[1:], published)


def test_a_forced_single_op_equals_the_op_alone():
    bgr, pil = coffee()
    st = policy("randaugment", num_ops=1)

    def one(op, m):
        return st.apply(bgr, {"ops": [{"op": op, "magnitude": m}]})

    assert np.array_equal(one("Equalize", 0.0), ops.equalize(bgr))
    assert np.array_equal(one("Identity", 0.0), bgr)
    assert diff(one("Brightness", 0.5), ImageEnhance.Brightness(pil).enhance(1.5)) == 0
    assert diff(one("Color", -0.3), ImageEnhance.Color(pil).enhance(0.7)) == 0
    assert diff(one("Contrast", 0.27), ImageEnhance.Contrast(pil).enhance(1.27)) == 0
    assert diff(one("Sharpness", 0.9), ImageEnhance.Sharpness(pil).enhance(1.9)) <= 1
    assert diff(one("Posterize", 5.0), ImageOps.posterize(pil, 5)) == 0
    assert diff(one("Solarize", 0.4), ImageOps.solarize(pil, 102)) == 0


def near_equal(ours, ref) -> float:
    ref = np.asarray(ref)[..., ::-1]
    return float((np.abs(ours.astype(int) - ref.astype(int)).max(axis=2) <= 2).mean())


def test_geometric_ops_move_pixels_as_pillows_affine_with_nearest_and_black_fill():
    """torchvision on a PIL image: ShearX is Image.transform(AFFINE, (1, m, 0, 0, 1, 0)) (its own
    comment, after the official AutoAugment), Rotate is Image.rotate, TranslateX by int(m)."""
    bgr, pil = coffee()
    st = policy("randaugment")
    nearest = Image.Resampling.NEAREST
    for op, m, ref in [
        ("ShearX", 0.23, pil.transform(pil.size, Image.Transform.AFFINE, (1, 0.23, 0, 0, 1, 0), nearest)),
        ("ShearY", -0.17, pil.transform(pil.size, Image.Transform.AFFINE, (1, 0, 0, -0.17, 1, 0), nearest)),
        ("TranslateX", 30.7, pil.transform(pil.size, Image.Transform.AFFINE, (1, 0, -30, 0, 1, 0), nearest)),
        ("TranslateY", -12.2, pil.transform(pil.size, Image.Transform.AFFINE, (1, 0, 0, 0, 1, 12), nearest)),
        ("Rotate", 25.0, pil.rotate(25.0, nearest)),
    ]:
        out = st.apply(bgr, {"ops": [{"op": op, "magnitude": m}]})
        assert near_equal(out, ref) > 0.995, op  # (magnitudes away from nearest's rounding ties)


def test_augmix_mixes_the_chains_by_its_weights():
    bgr, _ = coffee()
    st = policy("augmix")
    prm = st.sample(np.random.default_rng(3), Size(bgr.shape[1], bgr.shape[0]))
    assert len(prm["chains"]) == 3 and all(1 <= len(c) <= 3 for c in prm["chains"])
    assert abs(sum(prm["weights"]) - 1) < 1e-5
    ident = {"weights": [0.25, 0.75], "chains": [[{"op": "Identity", "magnitude": 0.0}]]}
    assert np.abs(st.apply(bgr, ident).astype(int) - bgr).max() <= 1
    inv = {"weights": [0.5, 0.5], "chains": [[{"op": "Invert", "magnitude": 0.0}]]}
    assert np.abs(st.apply(bgr, inv).astype(int) - 127).max() <= 1


def test_sixteen_bit_and_grey_images_run_through_the_policies():
    bgr, _ = coffee()
    for img in (bgr.astype(np.uint16) * 257, bgr[..., 0].copy()):
        for name in ("randaugment", "trivialaugment", "autoaugment", "augmix"):
            st = policy(name)
            for seed in range(5):
                prm = st.sample(np.random.default_rng(seed), Size(img.shape[1], img.shape[0]))
                out = st.apply(img, prm)
                assert out.shape == img.shape and out.dtype == img.dtype


def yolo_dataset(root):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    img = np.zeros((120, 160, 3), np.uint8)
    img[50:70, 60:80] = 255
    cv2.imwrite(str(root / "images/a.png"), img)
    (root / "labels/a.txt").write_text("0 0.4375 0.5 0.125 0.1666667\n")  # the white square


def run_recipe(tmp_path, steps, check):
    from conftest import run_cli

    root = tmp_path / "in"
    if not root.exists():
        yolo_dataset(root)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"modality: image\ninput: {root}\noutput: {tmp_path / 'o'}\ncopies: 16\nseed: 2\n"
                      f"transforms: {steps}\n")
    return run_cli("run", recipe, check=check)


def test_policies_are_listed_and_augmix_is_refused_with_annotations(tmp_path):
    from conftest import run_cli

    r = run_cli("transforms", "image", check=0)
    for name in ("randaugment", "trivialaugment", "autoaugment", "augmix", "equalize", "posterize", "sharpness"):
        assert f"\n{name}  " in "\n" + r.stdout, name
    r = run_recipe(tmp_path, "[{equalize: {}}, {augmix: {}}]", 2)
    assert "transforms[1].augmix: augmix is not supported with annotations" in r.stderr, r.stderr
    r = run_recipe(tmp_path, "[{cutout: {}}, {randaugment: {}}]", 2)
    assert "transforms[0].cutout: a cutout before a geometric step (transforms[1].randaugment)" in r.stderr


def test_policies_move_annotations_with_their_geometric_ops(tmp_path):
    """The warps a policy records are where its pixels went: the white square's centre, mapped by
    them, is the centre of the white pixels of the output; and a YOLO run writes the moved box."""
    from augcli.transforms.image import Pipeline, validate_steps

    img = np.zeros((120, 160), np.uint8)
    img[50:70, 60:80] = 255
    moved = 0
    for name in ("trivialaugment", "randaugment", "autoaugment"):
        pipe = Pipeline(validate_steps([{name: {"interpolation": "bilinear"}}], "t"))
        for seed in range(40):
            warps = []
            out, recorded = pipe(img, np.random.default_rng(seed), None, warps)
            kinds = {o["op"] for o in recorded[0]["ops"]}
            if not kinds or not kinds <= {"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}:
                continue
            M = np.eye(3)
            for _, A, w, h in warps:
                M = A @ M
            cx, cy, _ = M @ [69.5, 59.5, 1]
            if not (15 < cx < 145 and 15 < cy < 105):
                continue
            ys, xs = np.nonzero(out > 128)
            assert abs(xs.mean() - cx) < 1 and abs(ys.mean() - cy) < 1, (name, seed, recorded)
            moved += bool(warps)
    assert moved >= 10
    run_recipe(tmp_path, "[{randaugment: {num_ops: 1}}]", 0)
    import csv

    checked = 0
    for row in csv.DictReader((tmp_path / "o/manifest.csv").open()):
        op = json.loads(row["ops"])[0]
        if row["augmented"] != "1" or op["ops"][0]["op"] not in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"):
            continue
        out = cv2.imread(str(tmp_path / "o" / row["path"]), cv2.IMREAD_GRAYSCALE)
        ys, xs = np.nonzero(out > 128)
        lab = (tmp_path / "o" / row["path"].replace("images/", "labels/", 1)).with_suffix(".txt")
        _, x, y, w, h = (float(v) for v in lab.read_text().split())
        got = [(x - w / 2) * 160, (y - h / 2) * 120, (x + w / 2) * 160, (y + h / 2) * 120]
        assert np.allclose(got, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1.5), (op, got)
        checked += 1
    assert checked >= 2


def test_bad_magnitude_bin_is_refused():
    from augcli.errors import RecipeError
    from augcli.transforms.image import validate_steps

    with pytest.raises(RecipeError, match=r"t\[0\]\.randaugment\.magnitude: 31 is out of range"):
        validate_steps([{"randaugment": {"magnitude": 31}}], "t")


def test_shift_translates_by_pixels_or_fractions():
    from augcli.errors import RecipeError
    from augcli.transforms.image import Pipeline, validate_steps

    img = np.zeros((60, 80), np.uint8)
    img[20, 30] = 255
    for cfg, (dx, dy) in [({"width": [12, 12], "height": [-7, -7], "unit": "pixels"}, (12, -7)),
                          ({"width": [0.25, 0.25], "height": [0.5, 0.5]}, (20, 30))]:
        out, _ = Pipeline(validate_steps([{"shift": {**cfg, "fill": "constant"}}], "t"))(img, np.random.default_rng(0))
        assert tuple(np.argwhere(out == 255)[0]) == (20 + dy, 30 + dx)
    with pytest.raises(RecipeError, match=r"t\[0\]\.shift\.width: \[-12.0, 12.0\] is out of range; allowed: fractions"):
        validate_steps([{"shift": {"width": 12}}], "t")
