"""COCO instances JSON (issue 15): `--annotations coco --coco FILE.json`. Shapes are painted into
real photos (test_annotations' helpers) and written as COCO boxes, polygons (two parts), RLE masks
(compressed and uncompressed), keypoints, iscrowd and custom fields; every geometric step runs on
them; pycocotools loads each written instances file and its masks are compared with the pixels."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_cli, tree_hashes
from test_annotations import (POLY, RECTS, ROTATING, STEPS, _box_px, _ops, area_scale, augment, bbox_of, dot_centre,
                              ellipse_pts, fill_poly, iou, manifest, photo, raster, region)

from augcli.annotations import formats

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools, numpy 2

SCALE = 2.0
BLUE = ((0.38, 0.38, 0.5, 0.52), (255, 0, 0))  # a box-only object
GREEN_PARTS = [(0.55, 0.08, 0.66, 0.4), [(0.70, 0.4), (0.88, 0.4), (0.79, 0.06)]]  # a rectangle and a triangle
DOTS = [(0.19, 0.25), (0.12, 0.165), (0.262, 0.34)]  # keypoints on the magenta box: centre, left, right
DOT_COLOURS = [(255, 255, 255), (128, 255, 128), (0, 255, 128)]  # green-bright: magenta has none
COLOURS = {1: RECTS[0][1], 2: RECTS[1][1], 3: RECTS[2][1], 4: POLY[2], 6: BLUE[1]}
CATS = [{"id": 1, "name": "magenta", "supercategory": "shape", "keypoints": ["centre", "left", "right"],
         "skeleton": [[1, 2], [1, 3]]},
        {"id": 2, "name": "green", "supercategory": "shape"}, {"id": 3, "name": "cyan", "supercategory": "shape"},
        {"id": 4, "name": "yellow", "supercategory": "shape"}, {"id": 6, "name": "blue", "supercategory": "shape"}]
OPTS = {"format": "coco", "flip_pairs": [[1, 2]]}


def list_counts(mask) -> list:
    """COCO's uncompressed RLE runs (column-major, first run of zeros)."""
    flat, runs, cur, n = mask.ravel(order="F"), [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    return runs + [n]


def paint(img, ids):
    """The shapes painted into img; their annotations (ids from `ids`, an iterator)."""
    from pycocotools import mask as mask_utils

    h, w = img.shape[:2]
    x0, y0, x1, y1 = _box_px(RECTS[0][0], w, h)
    img[y0:y1, x0:x1] = RECTS[0][1]
    kpts = []
    for (dx, dy), colour, v in zip(DOTS, DOT_COLOURS, (2, 2, 1)):
        i, j = int(dx * w), int(dy * h)
        img[j - 2:j + 3, i - 2:i + 3] = colour
        kpts += [i + 0.5, j + 0.5, v]
    anns = [{"id": next(ids), "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
             "iscrowd": 0, "keypoints": kpts, "num_keypoints": 3, "attributes": {"occluded": False}}]
    a0, b0, a1, b1 = _box_px(GREEN_PARTS[0], w, h)
    img[b0:b1, a0:a1] = RECTS[1][1]
    tri = [(x * w, y * h) for x, y in GREEN_PARTS[1]]
    fill_poly(img, tri, RECTS[1][1])
    polys = [[a0, b0, a1, b0, a1, b1, a0, b1], [v for p in tri for v in p]]
    anns.append({"id": next(ids), "category_id": 2, "segmentation": polys, "bbox": [a0, b0, tri[1][0] - a0, b1 - b0],
                 "area": 1.0, "iscrowd": 0})
    x0, y0, x1, y1 = _box_px(RECTS[2][0], w, h)
    img[y0:y1, x0:x1] = RECTS[2][1]
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    anns.append({"id": next(ids), "category_id": 3, "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                 "bbox": [x0, y0, x1 - x0, y1 - y0], "area": int(m.sum()), "iscrowd": 1})
    _, (cx, cy, rx, ry), colour = POLY
    m = np.zeros((h, w), np.uint8)
    fill_poly(m, ellipse_pts(cx * w, cy * h, rx * w, ry * h), 1)
    img[m > 0] = colour
    b = [float(v) for v in bbox_of(m > 0)]
    anns.append({"id": next(ids), "category_id": 4, "segmentation": {"counts": list_counts(m), "size": [h, w]},
                 "area": int(m.sum()), "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "iscrowd": 0, "source": "painted"})
    x0, y0, x1, y1 = _box_px(BLUE[0], w, h)
    img[y0:y1, x0:x1] = BLUE[1]
    anns.append({"id": next(ids), "category_id": 6, "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                 "segmentation": [], "iscrowd": 0, "note": "box only"})
    return anns


def make_coco(root: Path, split_folders: bool = False) -> Path:
    """3 photos with 5 painted objects each, a background image (no annotations), an image file the
    JSON does not list, and a JSON image without its file. Returns the JSON's path (beside INPUT)."""
    root.mkdir(parents=True)
    images, anns, ids = [], [], iter(range(1000, 2000, 7))
    for k, name in enumerate(("coffee.jpg", "astronaut.jpg", "chelsea_the_cat.jpg", "hubble_deep_field.jpg")):
        img = photo(name, SCALE)
        folder = ("val/" if k == 2 else "train/") if split_folders else ""
        fname = f"{folder}{Path(name).stem}.png"
        iid = 500 - 11 * k
        if "hubble" not in name:
            anns += [{"image_id": iid, **a} for a in paint(img, ids)]
        (root / fname).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / fname), img)
        images.append({"id": iid, "file_name": fname, "width": img.shape[1], "height": img.shape[0], "license": 3,
                       "coco_url": f"http://example.org/{fname}"})
    images.append({"id": 7, "file_name": "gone.png", "width": 10, "height": 10})
    cv2.imwrite(str(root / "unlisted.png"), photo("rocket.jpg", 0.5))
    data = {"info": {"description": "painted shapes"}, "licenses": [{"id": 3, "name": "CC0"}], "custom_top": [1, 2],
            "images": images, "annotations": anns, "categories": CATS}
    path = root.parent / f"{root.name}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("coco")
    return {"flat": make_coco(base / "flat"), "splits": make_coco(base / "splits", True), "tmp": base}


def load_coco(path: Path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def check_ids(d: dict):
    assert [im["id"] for im in d["images"]] == list(range(1, len(d["images"]) + 1))
    assert [a["id"] for a in d["annotations"]] == list(range(1, len(d["annotations"]) + 1))
    assert {a["image_id"] for a in d["annotations"]} <= {im["id"] for im in d["images"]}


# ------------------------------------------------------------------------------------------------
# every geometric step: boxes, polygons, RLE masks, keypoints
# ------------------------------------------------------------------------------------------------
def check_mask_object(coco, a, seen, box, found, where):
    m = coco.annToMask(a).astype(bool)
    assert iou(m, seen) >= 0.95, where
    assert iou(box, found) >= 0.9, (where, box, found)
    seg = a["segmentation"]
    if a["category_id"] == 2:
        assert len(seg) == 2 and iou(raster(np.reshape(seg[0], (-1, 2)), *m.shape[::-1])
                                     | raster(np.reshape(seg[1], (-1, 2)), *m.shape[::-1]), seen) >= 0.95, where
        return
    assert isinstance(seg["counts"], str if a["category_id"] == 3 else list), where  # the input's RLE form
    assert seg["size"] == list(m.shape) and a["area"] == int(m.sum()), where


def check_keypoints(img, a, mirrored, where):
    kps = np.reshape(a["keypoints"], (-1, 3))
    assert a["num_keypoints"] == int((kps[:, 2] > 0).sum())
    order = [0, 2, 1] if mirrored else [0, 1, 2]  # flip_pairs [[1, 2]]
    for k, (x, y, v) in enumerate(kps):
        if v == 0:
            assert x == y == 0, where
            continue
        assert v == (1 if order[k] == 2 else 2), where
        centre = dot_centre(img, DOT_COLOURS[order[k]], (x, y))
        if centre is not None:
            assert abs(centre[0] - x) < 0.3 and abs(centre[1] - y) < 0.3, (where, k, (x, y), centre)


def check_step(out: Path, src: Path, step: str):
    rows = [r for r in manifest(out) if r["augmented"] == "1"]
    assert rows and all(r["status"] == "ok" for r in rows)
    coco = load_coco(out / "annotations/instances_train.json")
    check_ids(coco.dataset)
    by_name = {im["file_name"]: im for im in coco.dataset["images"]}
    for r in rows:
        before, img = cv2.imread(str(src / r["source"])), cv2.imread(str(out / r["path"]))
        rec = by_name[r["path"].split("/", 2)[2]]
        assert (rec["width"], rec["height"]) == img.shape[1::-1] and rec["coco_url"].endswith(r["source"])
        anns = {a["category_id"]: a for a in coco.imgToAnns[rec["id"]]}
        op = _ops(r)[-1]
        assert op["objects_out"] == len(anns)
        if "hubble" in r["source"]:
            assert anns == {}
            continue
        scale = area_scale(_ops(r), before.shape[1], before.shape[0])
        for cid, colour in COLOURS.items():
            seen, where = region(img, colour), f"{step} {r['path']} category {cid}"
            visible = seen.sum() / (region(before, colour).sum() * scale)
            if cid not in anns:
                assert visible < 0.27, (where, visible)
                continue
            assert visible > 0.23, (where, visible)
            a = anns[cid]
            x, y, bw, bh = a["bbox"]
            box, found = (x, y, x + bw, y + bh), bbox_of(seen)
            if cid in (2, 3, 4):
                check_mask_object(coco, a, seen, box, found, where)
            elif step in ROTATING:  # a box without polygon: the box of its turned corners holds it
                assert box[0] <= found[0] + 1 and box[1] <= found[1] + 1 and box[2] >= found[2] - 1 \
                    and box[3] >= found[3] - 1, (where, box, found)
            else:
                assert iou(box, found) >= 0.9 and a["area"] == pytest.approx(bw * bh, rel=1e-3), (where, box, found)
        if 1 in anns:
            check_keypoints(img, anns[1], op.get("mirrored", False), f"{step} {r['path']}")
            assert anns[1]["attributes"] == {"occluded": False}
        assert anns.get(3, {"iscrowd": 1})["iscrowd"] == 1 and anns.get(6, {"note": "box only"})["note"] == "box only"


@pytest.mark.parametrize("step", list(STEPS))
def test_objects_follow_every_geometric_step(data, step):
    out = data["tmp"] / f"steps-{step}"
    res = augment(data["flat"].with_suffix(""), out, STEPS[step], coco=str(data["flat"]), annotations=OPTS)
    assert res.exit_code == 0
    check_step(out, data["flat"].with_suffix(""), step)


# ------------------------------------------------------------------------------------------------
# the dataset: layout, ids, fields carried through, splits, background, warnings
# ------------------------------------------------------------------------------------------------
def _plain(anns):
    return [{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in anns]


def test_layout_ids_fields_splits_and_background(data, tmp_path):
    src, out = data["splits"].with_suffix(""), tmp_path / "out"
    r = run_cli("image", src, out, "--coco", data["splits"], "--copies", "2", "--val-split", "0.34", "--seed", "5",
                check=0)
    assert f"annotations: coco (detected: {data['splits']} for the images in {src}), 5 images, 15 annotations, " \
           "5 categories, keypoints 3" in r.stderr
    assert "splits.json: 1 image(s) listed are not image files" in r.stderr and "(e.g. gone.png)" in r.stderr
    assert "1 image file(s) not in splits.json: not augmented" in r.stderr and "(e.g. unlisted.png)" in r.stderr
    src_json = json.loads(data["splits"].read_text())
    src_anns = {im["file_name"]: [a for a in src_json["annotations"] if a["image_id"] == im["id"]]
                for im in src_json["images"]}
    rows = manifest(out)
    for split in ("train", "val"):
        d = json.loads((out / f"annotations/instances_{split}.json").read_text())
        coco = load_coco(out / f"annotations/instances_{split}.json")
        check_ids(d)
        assert list(d) == ["info", "licenses", "custom_top", "images", "annotations", "categories"]
        assert [d[k] for k in ("info", "licenses", "custom_top", "categories")] == \
            [src_json[k] for k in ("info", "licenses", "custom_top", "categories")]
        paths = [r["path"] for r in rows if r["split"] == split]
        assert [f"images/{split}/{im['file_name']}" for im in d["images"]] == paths  # plan order
        for im, row in zip(d["images"], (r for r in rows if r["split"] == split)):
            assert im["license"] == 3 and im["coco_url"].endswith(row["source"])
            if row["augmented"] == "0":  # an original: its file and annotations as they were
                assert (out / row["path"]).read_bytes() == (src / row["source"]).read_bytes()
                assert _plain(coco.imgToAnns[im["id"]]) == _plain(src_anns[row["source"]])
            if "hubble" in row["source"]:
                assert coco.imgToAnns[im["id"]] == []
    val = [r for r in rows if r["split"] == "val"]
    assert sorted(r["source"] for r in val) == ["train/astronaut.png", "val/chelsea_the_cat.png"]
    assert all(r["augmented"] == "0" for r in val) and (out / "images/val/chelsea_the_cat.png").is_file()
    assert not list(out.glob("images/val/*__aug*"))
    fmt = formats.open_output(out)  # the inspection commands read the dataset back
    ann = fmt.read_output("images/train/coffee__aug1.png")
    assert fmt.name == "coco" and fmt.kpt_shape == (3, 3) and ann.info["file_name"] == "coffee__aug1.png"
    assert len(ann.objs) == len(json.loads(fmt.write(ann, 1, 1, "images/train/x.png", "")
                                           [".augcli/coco/images/train/x.png.json"])["annotations"])


MALFORMED = {
    "size": ({"bbox": [10, 10, 0, 5]}, "a box of zero or negative size (0.0 x 5.0)"),
    "points": ({"segmentation": [[10, 10, 40, 40]], "bbox": [10, 10, 30, 30]}, "a polygon with fewer than 3 points"),
    "category": ({"category_id": 99, "bbox": [10, 10, 5, 5]}, "category_id 99 is not in categories"),
    "number": ({"bbox": [10, "x", 5, 5]}, "bbox value 'x' is not a number"),
    "fields": ({"bbox": [10, 10, 5]}, "bbox [10, 10, 5] is not allowed; allowed: [x, y, width, height]"),
    "outside": ({"bbox": [10, 10, 300, 5]}, "bbox x + width 310.0 is outside the image (0..160)"),
    "rle": ({"segmentation": {"size": [10, 10], "counts": [100]}}, "RLE size [10, 10] is not its image's 160x106"),
    "runs": ({"segmentation": {"size": [106, 160], "counts": [5, 6]}}, "RLE runs cover 11 pixels"),
    "keypoints": ({"bbox": [10, 10, 5, 5], "keypoints": [1, 2, 2, 3]}, "keypoints of 4 values"),
    "visibility": ({"bbox": [10, 10, 5, 5], "keypoints": [1, 2, 7] * 3}, "keypoint 0 visibility 7.0 is not allowed"),
}


def test_malformed_annotations_fail_their_image_naming_file_and_annotation(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    img = photo("coffee.jpg", 0.5)
    h, w = img.shape[:2]
    images, anns = [], []
    cases = {**MALFORMED, "hair": ({"bbox": [-0.4, 10, 30.6, 20], "segmentation": [[-0.3, 10, 160.5, 10, 80, 50]],
                                    "keypoints": [-0.2, 5, 2] + [0, 0, 0] * 2}, "")}
    for i, (name, (fields, _)) in enumerate(cases.items()):
        cv2.imwrite(str(root / f"{name}.png"), img)
        images.append({"id": i, "file_name": f"{name}.png", "width": w, "height": h})
        anns.append({"id": 100 + i, "image_id": i, "category_id": 2, "bbox": [1, 1, 5, 5]})  # a good one
        anns.append({"id": 200 + i, "image_id": i, "category_id": 1, **fields})
    cv2.imwrite(str(root / "wrong_size.png"), img)
    images.append({"id": 99, "file_name": "wrong_size.png", "width": w + 1, "height": h})
    (tmp_path / "c.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": CATS}))
    out = tmp_path / "out"
    r = run_cli("image", root, out, "--coco", tmp_path / "c.json", "--copies", "1", check=1)
    err = {row["source"]: row["error"] for row in manifest(out) if row["status"] == "failed"}
    assert set(err) == {f"{n}.png" for n in MALFORMED} | {"wrong_size.png"}
    for i, (name, (_, msg)) in enumerate(MALFORMED.items()):
        assert err[f"{name}.png"].startswith(f"c.json annotation id {200 + i} (image '{name}.png'): {msg}"), \
            err[f"{name}.png"]
    assert err["wrong_size.png"] == ("c.json image id 99 ('wrong_size.png'): width x height 161x106, the image file "
                                     "is 160x106; allowed: the image's own size")
    assert "c.json annotation id 200 (image 'size.png')" in r.stdout
    d = json.loads((out / "annotations/instances_train.json").read_text())
    hair = [a for a in d["annotations"] if a["category_id"] == 1]  # a hair outside: clipped, not an error
    assert len(d["images"]) == 2 and len(hair) == 2
    assert hair[0]["bbox"] == [0.0, 10.0, 30.2, 20.0] and hair[0]["segmentation"] == [[0.0, 10.0, 160.0, 10.0, 80.0, 50.0]]
    assert hair[0]["keypoints"][:3] == [0.0, 5.0, 2] and hair[0]["num_keypoints"] == 1


@pytest.mark.parametrize("content, args, message", [
    ("{not json", [], "c.json: not JSON"),
    ('{"annotations": []}', [], "c.json: no `images` list"),
    ('{"images": [{"id": 1, "width": 5, "height": 5}], "categories": []}', [],
     "images[0]: file_name None is not allowed"),
    ('{"images": [], "categories": []}', ["--annotations", "coco", "--coco", "missing.json"],
     "annotations: 'coco' cannot run: --coco missing.json: file not found"),
])
def test_errors_of_the_whole_file_are_usage_errors(tmp_path, content, args, message):
    root = tmp_path / "in"
    root.mkdir()
    cv2.imwrite(str(root / "a.png"), photo("coffee.jpg", 0.25))
    (tmp_path / "c.json").write_text(content)
    r = run_cli("image", root, tmp_path / "out", *(args or ["--coco", tmp_path / "c.json"]), cwd=tmp_path, check=2)
    assert message in r.stderr, r.stderr


def test_coco_asked_for_without_a_file_is_refused_and_none_turns_it_off(data, tmp_path):
    src = data["flat"].with_suffix("")
    r = run_cli("image", src, tmp_path / "out", "--annotations", "coco", check=2)
    assert "annotations: 'coco' is used without --coco: --coco FILE.json is required with annotations: coco" in r.stderr
    r = run_cli("image", src, tmp_path / "out", "--coco", data["flat"], "--annotations", "none", "--dry-run", check=0)
    assert "annotations" not in r.stderr


# ------------------------------------------------------------------------------------------------
# the engine's guarantees: workers, kill -9 + resume
# ------------------------------------------------------------------------------------------------
RECIPE = """modality: image
annotations: {format: coco, flip_pairs: [[1, 2]]}
transforms:
  - hflip: {p: 0.5}
  - rotate: {degrees: 15, fill: constant}
  - zoom: {range: [0.8, 1.2], fill: constant}
  - color_jitter: {brightness: 0.2}
"""


def test_one_or_two_workers_write_the_same_instances_files(data, tmp_path):
    (tmp_path / "r.yaml").write_text(RECIPE)
    args = ["--coco", data["splits"], "--copies", "3", "--seed", "11", "-r", tmp_path / "r.yaml", "--val-split", "0.34"]
    src = data["splits"].with_suffix("")
    run_cli("image", src, tmp_path / "w1", "--workers", "1", *args, check=0)
    run_cli("image", src, tmp_path / "w2", "--workers", "2", *args, check=0)
    assert tree_hashes(tmp_path / "w1") == tree_hashes(tmp_path / "w2")
    assert (tmp_path / "w1/manifest.csv").read_bytes() == (tmp_path / "w2/manifest.csv").read_bytes()
    assert {"annotations/instances_train.json", "annotations/instances_val.json"} <= set(tree_hashes(tmp_path / "w1"))


def test_kill_9_then_resume_gives_the_instances_files_of_a_clean_run(data, tmp_path):
    (tmp_path / "r.yaml").write_text(RECIPE)
    args = ["image", data["flat"].with_suffix(""), tmp_path / "out", "--coco", data["flat"], "--copies", "20",
            "--workers", "2", "--seed", "2", "-r", tmp_path / "r.yaml"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "augcli", *map(str, args), "--quiet"], env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        m = tmp_path / "out" / "manifest.csv"
        if m.exists() and m.read_text().count("\n") > 12:
            break
        time.sleep(0.01)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    assert 0 < len(manifest(tmp_path / "out")) < 4 * 21, "the run was expected to be cut off mid-way"
    assert list((tmp_path / "out/.augcli/coco/images/train").glob("*.json"))
    r = run_cli(*args, check=0)
    assert "already done" in r.stdout
    run_cli(*args[:2], tmp_path / "ref", *args[3:7], "--workers", "1", *args[9:], check=0)
    hashes = tree_hashes(tmp_path / "out")
    assert hashes == tree_hashes(tmp_path / "ref") and "annotations/instances_train.json" in hashes
    assert not [q for q in (tmp_path / "out").rglob("*") if ".augtmp" in q.name]
    check_ids(json.loads((tmp_path / "out/annotations/instances_train.json").read_text()))


def test_an_image_whose_part_is_gone_is_made_again_and_overwrite_clears_the_parts(data, tmp_path):
    out = tmp_path / "out"
    args = ["image", data["flat"].with_suffix(""), out, "--coco", data["flat"], "--copies", "1"]
    run_cli(*args, check=0)
    before = tree_hashes(out)
    (out / ".augcli/coco/images/train/coffee__aug0.png.json").unlink()
    r = run_cli(*args, check=0)
    assert "coffee__aug0.png: its annotation is missing; made again" in r.stderr and tree_hashes(out) == before
    (out / ".augcli/coco/images/train/stale.json").write_text("{}")
    run_cli(*args, "--overwrite", check=0)
    assert not (out / ".augcli/coco/images/train/stale.json").exists() and tree_hashes(out) == before


def test_keypoints_of_an_rle_object_move_with_its_mask():
    from augcli.annotations import geometry
    from augcli.annotations.model import Obj

    opts = {"min_visibility": 0.25, "min_area": 1, "min_width": 1, "min_height": 1, "bbox_rotation": "corners",
            "flip_classes": []}
    m = np.zeros((20, 40), np.uint8)
    m[5:15, 2:12] = 1
    ob = Obj(1, "mask", (2, 5, 12, 15), kpts=[[3.5, 6.5, 2], [10.5, 14.5, 1], [0, 0, 0]], mask=m)
    hflip = ((-1.0, 0.0, 40.0, 0.0, 1.0, 0.0), 40, 20)  # continuous: x' = 40 - x
    (new,), info = geometry.Follower([hflip], [[28, 13, 3, 3]], opts, [[0, 1]]).run([ob])
    assert info["mirrored"] and new.box == (28.0, 5.0, 38.0, 15.0) and new.mask[5:15, 28:38].all()
    # mirrored: keypoints 0 and 1 swap (flip_pairs); the one now at (29.5, 14.5) is under the hole
    assert new.kpts == [[29.5, 14.5, 0], [36.5, 6.5, 2], [0, 0, 0]]
