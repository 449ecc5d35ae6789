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
