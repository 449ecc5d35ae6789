"""Mosaic, Mixup and CutMix on annotated (YOLO) datasets, and `on_cut: resample` (issue 15): the
partners' objects come along, placed, scaled and clipped exactly like their pixels.

Each photo gets one rectangle of its own colour (its class = the photo's index), so every object
can be found again in an output, whichever image it came from."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import augcli
from test_annotations import bbox_of, iou, manifest, photo, read_labels, region

from conftest import run_cli

COLOURS = [(255, 0, 255), (0, 255, 0), (255, 255, 0), (0, 255, 255), (255, 0, 0)]
NAMES = ("chelsea_the_cat.jpg", "coffee.jpg", "astronaut.jpg", "rocket.jpg", "cameraman.png")
BOXES = [(0.2, 0.25, 0.7, 0.75), (0.1, 0.1, 0.5, 0.6), (0.45, 0.3, 0.9, 0.8), (0.3, 0.5, 0.8, 0.9),
         (0.25, 0.2, 0.75, 0.6)]


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """5 photos of different sizes, each with one rectangle of its colour, labelled class k."""
    root = tmp_path_factory.mktemp("mixing") / "det"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for k, (name, rel, colour) in enumerate(zip(NAMES, BOXES, COLOURS)):
        img = photo(name, 0.6 + 0.15 * k)
        h, w = img.shape[:2]
        x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(rel, (w, h, w, h)))
        img[y0:y1, x0:x1] = colour
        cv2.imwrite(str(root / "images" / f"p{k}.png"), img)
        (root / "labels" / f"p{k}.txt").write_text(
            f"{k} {(x0 + x1) / 2 / w:.8f} {(y0 + y1) / 2 / h:.8f} {(x1 - x0) / w:.8f} {(y1 - y0) / h:.8f}\n")
    (root / "data.yaml").write_text("names: [magenta, green, cyan, yellow, blue]\n")
    return root


def _run(src, out, steps, **kw):
    return augcli.augment(src, out, transforms=steps, copies=kw.pop("copies", 2), seed=kw.pop("seed", 5),
                          workers=kw.pop("workers", 1), overwrite=True, no_originals=True, **kw)


def _check(out: Path, min_visible: float = 0.25):
    """Every written box matches its colour's pixels; every object whose colour shows enough is written."""
    rows = manifest(out)
    assert rows and all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for r in rows:
        img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        lab = Path(str(out / r["path"].replace("images/", "labels/", 1)).rsplit(".", 1)[0] + ".txt")
        written = read_labels(lab, w, h)
        op = json.loads(r["ops"])[-1]
        assert op["objects_out"] == len(written), r["path"]
        for c, colour in enumerate(COLOURS):
            seen = region(img, colour)
            if c in written:
                assert iou(written[c][0], bbox_of(seen)) >= 0.9, (r["path"], c, written[c][0], bbox_of(seen))
            else:
                assert seen.sum() < 0.3 * (w * h) * 0.01 or op.get("dropped"), (r["path"], c)
    return rows


def test_mosaic_places_four_images_and_their_objects(four, tmp_path):
    out = tmp_path / "o"
    _run(four, out, [{"mosaic": {"size": 400, "center": [0.5, 0.5]}}], copies=1)
    rows = _check(out)
    for r in rows:
        ops = json.loads(r["ops"])
        assert ops[0]["name"] == "mosaic" and len(ops[0]["partners"]) == 3 and ops[0]["center"] == [0.5, 0.5]
        img = cv2.imread(str(out / r["path"]))
        assert img.shape == (400, 400, 3)
        written = read_labels(Path(str(out / r["path"].replace("images/", "labels/", 1)).rsplit(".", 1)[0] + ".txt"),
                              400, 400)
        me = int(Path(r["source"]).stem[1])
        if me in written:  # this image's object: in the top-left quadrant
            x0, y0, x1, y1 = written[me][0]
            assert x1 <= 200.5 and y1 <= 200.5
    assert sum(json.loads(r["ops"])[-1]["objects_out"] for r in rows) >= len(rows)


def test_mosaic_then_warps_and_cutout_move_every_object(four, tmp_path):
    out = tmp_path / "o"
    steps = [{"mosaic": {"size": 360}}, {"hflip": {"p": 0.5}},
             {"rotate": {"degrees": [-8, 8], "fill": "constant", "fill_value": 114}},
             {"zoom": {"range": [0.8, 1.2], "fill": "constant", "fill_value": 114}}]
    _run(four, out, steps, copies=3)
    rows = _check(out)
    ops = [json.loads(r["ops"]) for r in rows]
    assert sum(o[-1]["objects_in"] for o in ops) == 4 * len(rows)  # 4 images, 1 object each
    assert any(o[-1].get("dropped") for o in ops) or all(o[-1]["objects_out"] == 4 for o in ops)


def test_mixup_keeps_both_sets_of_objects_and_cutmix_splits_them_by_its_box(four, tmp_path):
    out = tmp_path / "mixup"
    _run(four, out, [{"hflip": {"p": 1}}, {"mixup": {"p": 1}}])
    for r in manifest(out):
        op = json.loads(r["ops"])[-1]
        assert op["objects_in"] == 2 and op["objects_out"] == 2 and len(op["classes"]) == 2
        assert r["mix_source"] and r["mix_lambda"]
    out = tmp_path / "cutmix"
    _run(four, out, [{"cutmix": {"p": 1}}], copies=3)
    for r in manifest(out):
        ops = json.loads(r["ops"])
        x0, y0, x1, y1 = ops[0]["box"]
        img = cv2.imread(str(out / r["path"]))
        h, w = img.shape[:2]
        written = read_labels(Path(str(out / r["path"].replace("images/", "labels/", 1)).rsplit(".", 1)[0] + ".txt"),
                              w, h)
        partner = int(Path(ops[0]["partner"]).stem[1])
        if partner in written:  # the partner's object: inside the box only
            bx0, by0, bx1, by1 = written[partner][0]
            assert bx0 >= x0 - 0.5 and by0 >= y0 - 0.5 and bx1 <= x1 + 0.5 and by1 <= y1 + 0.5
            assert iou(written[partner][0], bbox_of(region(img, COLOURS[partner]))) >= 0.9
        me = int(Path(r["source"]).stem[1])
        seen = region(img, COLOURS[me]).sum()
        assert (me in written) == (seen > 0) or ops[-1].get("dropped")


def test_on_cut_resample_draws_again_until_no_object_is_cut_then_drops(four, tmp_path):
    out = tmp_path / "o"
    shift = {"shift": {"width": [-0.35, 0.35], "height": 0, "fill": "constant"}}
    _run(four, out, [shift], copies=3, annotations={"on_cut": "resample", "max_tries": 20})
    rows = manifest(out)
    ok = [r for r in rows if r["status"] == "ok"]
    assert ok and all(json.loads(r["ops"])[-1]["objects_out"] == 1 for r in ok)
    assert any(json.loads(r["ops"])[-1]["tries"] > 1 for r in ok)
    _check(out)
    out2 = tmp_path / "o2"
    _run(four, out2, [{"shift": {"width": [0.9, 0.9], "height": 0, "fill": "constant"}}], copies=1,
         annotations={"on_cut": "resample", "max_tries": 3})
    rows = manifest(out2)
    assert rows and all(r["status"] == "dropped" and "each of 3 draws cut an object" in r["error"] for r in rows)
    assert not list((out2 / "images").rglob("*.png")) and not list((out2 / "labels").rglob("*.txt"))


def test_mosaic_labels_are_the_same_bytes_for_1_and_2_workers(four, tmp_path):
    steps = [{"mosaic": {"size": 300}}, {"rotate": {"degrees": 10, "fill": "constant"}}, {"cutout": {"p": 1}}]
    for n in (1, 2):
        _run(four, tmp_path / f"w{n}", steps, copies=3, workers=n)
    a, b = tmp_path / "w1", tmp_path / "w2"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and ".augcli" not in p.parts)
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and ".augcli" not in p.parts)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


@pytest.mark.parametrize("steps, message", [
    ("[{hflip: {}}, {mosaic: {}}]", "transforms[1].mosaic: mosaic must be the first step with annotations"),
    ("[{mixup: {}}, {rotate: {}}]", "transforms[0].mixup: a mixup before a geometric step (transforms[1].rotate)"),
    ("[{cutmix: {}}, {hflip: {}}]", "transforms[0].cutmix: a cutmix before a geometric step"),
])
def test_mixing_in_a_place_that_cannot_move_annotations_is_refused(four, tmp_path, steps, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"modality: image\ninput: {four}\noutput: {tmp_path / 'o'}\ntransforms: {steps}\n")
    r = run_cli("run", recipe, check=2)
    assert message in r.stderr and not (tmp_path / "o").exists()


def test_mosaic_on_plain_images_is_refused(tmp_path):
    from conftest import ROOT

    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: image\ntransforms: [{mosaic: {}}]\n")
    r = run_cli("image", ROOT / "sample_data/images", tmp_path / "o", "--recipe", recipe, check=2)
    assert "mosaic is for annotated datasets" in r.stderr


def test_a_partner_without_a_mask_brings_the_void_value_into_mosaic_and_cutmix():
    from augcli.annotations.follow import _mask
    from augcli.annotations.masks import Mask
    from augcli.annotations.model import Annotation

    src = Annotation(mask=Mask(np.full((40, 60), 3, np.uint8), "L", None, None))
    partner = Annotation()
    mix = {"partner_anns": [partner] * 3, "partner_shapes": [(50, 50)] * 3, "shape": (40, 60)}
    ops = [{"name": "mosaic", "partners": ["a", "b", "c"], "center": [0.5, 0.5], "size": 20}]
    m = _mask(src, mix, [], ops, (20, 20), 255)
    assert m.shape == (20, 20) and set(np.unique(m[:10, :10])) == {3} and set(np.unique(m[10:, :])) == {255}
    mix = {"partner_anns": [partner], "partner_shapes": [(50, 50)], "shape": (40, 60)}
    m = _mask(src, mix, [], [{"name": "cutmix", "box": [10, 5, 30, 25]}], (60, 40), 255)
    assert (m[5:25, 10:30] == 255).all() and (m[:5] == 3).all() and (m[25:] == 3).all()


def test_mixup_and_cutmix_in_one_one_of_move_the_objects_of_the_one_drawn(four, tmp_path):
    out = tmp_path / "switch"
    switch = {"one_of": {"steps": [{"mixup": {"p": 1}}, {"cutmix": {"p": 1}}], "weights": [0.5, 0.5]}}
    _run(four, out, [{"hflip": {"p": 1}}, switch], copies=4)
    rows = manifest(out)
    assert rows and all(r["status"] == "ok" for r in rows)
    kinds = {json.loads(r["ops"])[1]["name"] for r in rows}
    assert kinds == {"mixup", "cutmix"}
    for r in rows:
        ops = json.loads(r["ops"])
        assert r["mix_source"] and ops[-1]["objects_in"] == 2
        if ops[1]["name"] == "mixup":
            assert ops[-1]["objects_out"] == 2
            continue
        x0, y0, x1, y1 = ops[1]["box"]  # cutmix: the partner's object inside the box only, on its pixels
        img = cv2.imread(str(out / r["path"]))
        h, w = img.shape[:2]
        written = read_labels(Path(str(out / r["path"].replace("images/", "labels/", 1)).rsplit(".", 1)[0] + ".txt"),
                              w, h)
        partner = int(Path(ops[1]["partner"]).stem[1])
        if partner in written:
            bx0, by0, bx1, by1 = written[partner][0]
            assert bx0 >= x0 - 0.5 and by0 >= y0 - 0.5 and bx1 <= x1 + 0.5 and by1 <= y1 + 0.5
            assert iou(written[partner][0], bbox_of(region(img, COLOURS[partner]))) >= 0.9
    a, b = tmp_path / "a", tmp_path / "b"
    _run(four, a, [{"hflip": {"p": 1}}, switch], copies=3, workers=1)
    _run(four, b, [{"hflip": {"p": 1}}, switch], copies=3, workers=2)
    files = sorted(p.relative_to(a) for d in ("images", "labels") for p in (a / d).rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
