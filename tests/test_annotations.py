"""Annotated images (issue 15, first slice): YOLO boxes, polygons and keypoints, and semantic masks,
move with the pixels. Solid shapes are painted into real photos (sample_data/images) at known
places and written as labels / masks; every geometric step runs on them; then the shapes are
found again in the output pixels and compared with what augcli wrote beside them."""
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
import yaml
from conftest import ROOT, run_cli, tree_hashes

import augcli
from augcli.annotations import geometry
from augcli.annotations.model import Obj

PHOTOS = ROOT / "sample_data" / "images"
FILL = {"fill": "constant"}
STEPS = {
    "hflip": [{"hflip": {"p": 1}}],
    "vflip": [{"vflip": {"p": 1}}],
    "rotate": [{"rotate": {"degrees": [25, 35], **FILL}}],
    "shift": [{"shift": {"width": [0.05, 0.08], "height": [-0.07, -0.04], **FILL}}],
    "shear": [{"shear": {"degrees": [12, 16], "degrees_y": [-7, -4], **FILL}}],
    "zoom": [{"zoom": {"range": [0.72, 0.8], "independent": True, **FILL}}],
    "random_crop": [{"random_crop": {"size": [0.8, 0.85]}}],
    "center_crop": [{"center_crop": {"size": [0.7, 0.8]}}],
    "random_resized_crop": [{"random_resized_crop": {"size": [300, 360], "scale": [0.6, 0.9]}}],
    "resize": [{"resize": {"width": 411}}],
    # two warps (a colour step between): the first's clipping must carry into the second
    "chain": [{"hflip": {"p": 1}}, {"rotate": {"degrees": [-20, -10], **FILL}}, {"zoom": {"range": [0.85, 0.9], **FILL}},
              {"color_jitter": {"brightness": 0.1}}, {"shear": {"degrees": [5, 8], **FILL}}, {"resize": {"height": 380}}],
    # out and back in two warps: what left the image in the first is gone (black), not back
    "there_and_back": [{"shift": {"width": [0.4, 0.4], "height": 0, **FILL}}, {"gamma": {"gamma": 1}},
                       {"shift": {"width": [-0.4, -0.4], "height": 0, **FILL}}],
    # a one_of of a geometric and a pixel step: the geometric one warps alone (and is followed)
    "one_of": [{"one_of": {"steps": [{"rotate": {"degrees": [-30, -20], **FILL}}, {"gaussian_blur": {}}],
                           "weights": [1, 0]}}],
    # a projective warp, alone and fused with affine steps into one homography
    "perspective": [{"perspective": {"scale": [0.08, 0.1]}}],
    "perspective_chain": [{"rotate": {"degrees": [10, 15], **FILL}}, {"perspective": {"scale": [0.05, 0.08], **FILL}},
                          {"hflip": {"p": 1}}],
}
ROTATING = {"rotate", "shear", "chain", "one_of", "perspective", "perspective_chain"}

# BGR paint colours, far from anything in the photos (checked by the fixture)
RECTS = {0: ((0.08, 0.1, 0.3, 0.4), (255, 0, 255)), 1: ((0.55, 0.12, 0.8, 0.35), (0, 255, 0)),
         2: ((0.1, 0.6, 0.35, 0.9), (255, 255, 0))}
POLY = (3, (0.68, 0.7, 0.13, 0.17), (0, 255, 255))  # an ellipse written as a polygon
BOXED_ELLIPSE = (4, (0.45, 0.45, 0.07, 0.1), (255, 0, 0))  # an ellipse labelled by its box only
TOL = 90


# ------------------------------------------------------------------------------------------------
# painting and finding
# ------------------------------------------------------------------------------------------------
def photo(name: str, scale: float = 2.0) -> np.ndarray:
    img = cv2.imread(str(next(PHOTOS.rglob(name))), cv2.IMREAD_COLOR)
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def ellipse_pts(cx, cy, rx, ry, n=64):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def fill_poly(img, pts, value):
    """Pixels whose centre is inside the polygon (continuous coordinates)."""
    p = np.round((np.asarray(pts) - 0.5) * 256).astype(np.int32)
    cv2.fillPoly(img, [p], value, lineType=cv2.LINE_8, shift=8)


def region(img, colour, tol=TOL):
    return np.linalg.norm(img.astype(np.float32) - np.array(colour, np.float32), axis=2) < tol


def bbox_of(mask):
    ys, xs = np.nonzero(mask)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if xs.size else None


def iou(a, b):
    if isinstance(a, np.ndarray):
        return (a & b).sum() / max(1, (a | b).sum())
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix
    return ix / area


def raster(poly, w, h):
    m = np.zeros((h, w), np.uint8)
    fill_poly(m, poly, 1)
    return m.astype(bool)


def read_labels(path: Path, w, h):
    """{class: (box in pixels, polygon in pixels or None, keypoints [(x, y, v)] or None)}."""
    out = {}
    for line in path.read_text().splitlines():
        v = [float(x) for x in line.split()]
        c, rest = int(v[0]), v[1:]
        coords = rest[:4] + [x for i, x in enumerate(rest[4:]) if i % 3 != 2] if len(rest) == 13 else rest
        assert all(0 <= x <= 1 for x in coords), line
        if len(rest) == 4 or len(rest) == 4 + 9:
            cx, cy, bw, bh = rest[:4]
            box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
            kp = [(rest[i] * w, rest[i + 1] * h, rest[i + 2]) for i in range(4, len(rest), 3)] or None
            out[c] = (box, None, kp)
        else:
            poly = np.array(rest).reshape(-1, 2) * (w, h)
            out[c] = ((*poly.min(0), *poly.max(0)), poly, None)
    return out


def manifest(out: Path):
    import csv

    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def augment(src, out, steps, **kw):
    kw.setdefault("annotations", "auto")
    return augcli.augment(src, out, transforms=steps, copies=kw.pop("copies", 2), seed=kw.pop("seed", 3),
                          workers=1, overwrite=True, **kw)


# ------------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------------
def _box_px(rel, w, h):
    return tuple(int(round(v * s)) for v, s in zip(rel, (w, h, w, h)))


def make_detection(root: Path):
    """3 photos with 3 rectangles (box lines), an ellipse (polygon line), an ellipse labelled by
    its box; 1 photo without a label file (a background image); a data.yaml."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name in ("coffee.jpg", "astronaut.jpg", "chelsea_the_cat.jpg"):
        img = photo(name)
        h, w = img.shape[:2]
        for c, (_, colour) in {**RECTS, 3: (0, POLY[2]), 4: (0, BOXED_ELLIPSE[2])}.items():
            assert not region(img, colour, TOL + 20).any(), f"{name} holds a colour near the paint of class {c}"
        lines = []
        for c, (rel, colour) in RECTS.items():
            x0, y0, x1, y1 = _box_px(rel, w, h)
            img[y0:y1, x0:x1] = colour
            lines.append(f"{c} {(x0 + x1) / 2 / w:.8f} {(y0 + y1) / 2 / h:.8f} {(x1 - x0) / w:.8f} {(y1 - y0) / h:.8f}")
        c, (cx, cy, rx, ry), colour = POLY
        pts = ellipse_pts(cx * w, cy * h, rx * w, ry * h)
        fill_poly(img, pts, colour)
        lines.append(f"{c} " + " ".join(f"{x / w:.8f} {y / h:.8f}" for x, y in pts))
        c, (cx, cy, rx, ry), colour = BOXED_ELLIPSE
        fill_poly(img, ellipse_pts(cx * w, cy * h, rx * w, ry * h, 180), colour)
        lines.append(f"{c} {cx:.8f} {cy:.8f} {2 * rx:.8f} {2 * ry:.8f}")
        stem = Path(name).stem
        cv2.imwrite(str(root / "images" / f"{stem}.png"), img)
        (root / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    cv2.imwrite(str(root / "images" / "hubble.png"), photo("hubble_deep_field.jpg", 1))
    (root / "data.yaml").write_text("names: [magenta, green, cyan, yellow, blue]\n")
    return root


POSE_BOX, POSE_DOTS = (0.4, 0.3, 0.95, 0.75), [(0.5, 0.4), (0.62, 0.62), (0.9, 0.5)]
DOT_COLOURS = [(255, 255, 255), (0, 255, 0), (255, 255, 0)]


def make_pose(root: Path):
    """2 photos, each with a magenta box (class 0) holding 3 dots of 3 colours (its keypoints,
    visibility 2, 2, 1); kpt_shape [3, 3], flip_idx swaps keypoints 1 and 2."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name in ("coffee.jpg", "astronaut.jpg"):
        img = photo(name)
        h, w = img.shape[:2]
        x0, y0, x1, y1 = _box_px(POSE_BOX, w, h)
        img[y0:y1, x0:x1] = RECTS[0][1]
        parts = ["0", f"{(x0 + x1) / 2 / w:.8f}", f"{(y0 + y1) / 2 / h:.8f}", f"{(x1 - x0) / w:.8f}", f"{(y1 - y0) / h:.8f}"]
        for (dx, dy), colour, v in zip(POSE_DOTS, DOT_COLOURS, (2, 2, 1)):
            i, j = int(dx * w), int(dy * h)
            img[j - 2:j + 3, i - 2:i + 3] = colour  # a 5x5 dot centred on pixel (i, j): at (i + 0.5, j + 0.5)
            parts += [f"{(i + 0.5) / w:.8f}", f"{(j + 0.5) / h:.8f}", str(v)]
        cv2.imwrite(str(root / "images" / f"{Path(name).stem}.png"), img)
        (root / "labels" / f"{Path(name).stem}.txt").write_text(" ".join(parts) + "\n")
    (root / "data.yaml").write_text("names: {0: left_thing, 1: right_thing}\nkpt_shape: [3, 3]\nflip_idx: [0, 2, 1]\n")
    return root


MASK_SHAPES = {1: (RECTS[0][0], RECTS[0][1]), 2: (RECTS[1][0], RECTS[1][1])}


MASK_MODES = {"chelsea_the_cat": ("L", 1), "coffee": ("P", 1), "astronaut": ("I;16", 1000)}  # mode, value of class 1


def make_masks(root: Path):
    """3 photos with a rectangle (class 1), a rectangle (class 2) and an ellipse (class 3) painted
    and their class-index masks: 8-bit grey, palette, and 16-bit grey (classes 1000, 2000, 3000)."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k, name in enumerate(("chelsea_the_cat.jpg", "coffee.jpg", "astronaut.jpg")):
        img = photo(name)
        h, w = img.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        for c, (rel, colour) in MASK_SHAPES.items():
            x0, y0, x1, y1 = _box_px(rel, w, h)
            img[y0:y1, x0:x1] = colour
            mask[y0:y1, x0:x1] = c
        _, (cx, cy, rx, ry), colour = POLY
        pts = ellipse_pts(cx * w, cy * h, rx * w, ry * h)
        fill_poly(img, pts, colour)
        fill_poly(mask, pts, 3)
        stem = Path(name).stem
        cv2.imwrite(str(root / "images" / f"{stem}.png"), img)
        if k == 0:
            cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
        elif k == 2:
            cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask.astype(np.uint16) * 1000)
        else:
            im = Image.fromarray(mask, "L").convert("P")
            im.putpalette([0, 0, 0, 200, 0, 200, 0, 200, 0, 220, 220, 0] + [0] * (256 - 4) * 3)
            im.save(root / "masks" / f"{stem}.png")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("annotated")
    return {"det": make_detection(base / "det"), "pose": make_pose(base / "pose"), "masks": make_masks(base / "masks"),
            "tmp": base}


# ------------------------------------------------------------------------------------------------
# boxes, polygons, boxes of ellipses: every geometric step
# ------------------------------------------------------------------------------------------------
def _ops(row):
    return json.loads(row["ops"])


def area_scale(ops, w, h) -> float:
    """|determinant| of the geometric ops together: how the area of an object changed."""
    from augcli.transforms.image import STEPS as IMAGE_STEPS

    s = 1.0
    for op in ops:
        cls = IMAGE_STEPS.get(op["name"])
        if cls is not None and cls.GEOMETRIC:
            A, w, h = cls({}).matrix(op, w, h)
            # (a projective matrix: its area scale at the image's centre)
            s *= abs(np.linalg.det(A) / (A[2] @ [(w - 1) / 2, (h - 1) / 2, 1]) ** 3)
    return s


def check_detection(out: Path, mode: str, step: str, src: Path):
    rows = [r for r in manifest(out) if r["augmented"] == "1"]
    assert rows and all(r["status"] == "ok" for r in rows)
    for r in rows:
        before = cv2.imread(str(src / r["source"]), cv2.IMREAD_COLOR)
        img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        lab = out / r["path"].replace("images/", "labels/", 1).rsplit(".", 1)[0]
        written = read_labels(Path(str(lab) + ".txt"), w, h)
        op = _ops(r)[-1]
        assert op["name"] == "annotations" and op["objects_out"] == len(written)
        if "hubble" in r["source"]:
            assert written == {} and op["objects_in"] == 0
            continue
        assert op["objects_in"] - op["objects_out"] == sum(op.get("dropped", {}).values())
        colours = {c: col for c, (_, col) in RECTS.items()} | {POLY[0]: POLY[2], BOXED_ELLIPSE[0]: BOXED_ELLIPSE[2]}
        scale = area_scale(_ops(r), before.shape[1], before.shape[0])
        for c, colour in colours.items():
            seen = region(img, colour)
            where = f"{step}/{mode} {r['path']} class {c}"
            visible = seen.sum() / (region(before, colour).sum() * scale)  # of the moved area
            if c not in written:  # dropped: less than min_visibility (0.25) left
                assert visible < 0.27, (where, visible)
                continue
            assert visible > 0.23, (where, visible)
            box, poly, _ = written[c]
            found = bbox_of(seen)
            assert found is not None, where
            if poly is not None:
                assert iou(raster(poly, w, h), seen) >= 0.95, where
            if step in ROTATING and (mode == "corners") == (c == BOXED_ELLIPSE[0]):
                # corners: the box of the moved corners holds the ellipse, loosely; ellipse: the
                # box of the inscribed ellipse lies inside the moved rectangle
                inner, outer = (found, box) if mode == "corners" else (box, found)
                assert outer[0] <= inner[0] + 1 and outer[1] <= inner[1] + 1 and outer[2] >= inner[2] - 1 \
                    and outer[3] >= inner[3] - 1, (where, box, found)
                assert op["boxes"] == mode
            else:
                assert iou(box, found) >= 0.9, (where, box, found)


@pytest.mark.parametrize("step", list(STEPS))
def test_boxes_and_polygons_follow_every_geometric_step(data, step):
    out = data["tmp"] / f"det-{step}"
    res = augment(data["det"], out, STEPS[step] + [{"gaussian_noise": {"std": 2, "p": 0.5}}])
    assert res.exit_code == 0
    check_detection(out, "corners", step, data["det"])
    if step in ROTATING:  # a box without polygon: the box of its inscribed ellipse is tight
        out = data["tmp"] / f"det-{step}-ellipse"
        augment(data["det"], out, STEPS[step], annotations={"format": "yolo", "bbox_rotation": "ellipse"})
        check_detection(out, "ellipse", step, data["det"])
        assert all(_ops(r)[-1]["boxes"] == "ellipse" for r in manifest(out)
                   if r["augmented"] == "1" and "hubble" not in r["source"])


# ------------------------------------------------------------------------------------------------
# keypoints: sub-pixel, flips with flip_pairs / flip_classes, leaving the image
# ------------------------------------------------------------------------------------------------
def dot_centre(img, colour, near, r=9):
    """The centre of a dot on the magenta box: pixels weighted by how much of the dot they hold
    (None when the window around `near` is not whole inside the image)."""
    x, y = int(near[0]), int(near[1])
    if not (r <= x < img.shape[1] - r and r <= y < img.shape[0] - r):
        return None
    win = img[y - r:y + r + 1, x - r:x + r + 1].astype(np.float64)
    b, d = np.array(RECTS[0][1], float), np.array(colour, float)
    a = np.clip(((win - b) @ (d - b)) / ((d - b) @ (d - b)), 0, 1)
    a[a < 0.05] = 0
    ys, xs = np.mgrid[y - r:y + r + 1, x - r:x + r + 1]
    return (a * (xs + 0.5)).sum() / a.sum(), (a * (ys + 0.5)).sum() / a.sum()


POSE_STEPS = ["hflip", "vflip", "rotate", "zoom", "shear", "resize", "random_resized_crop", "chain", "perspective_chain"]


@pytest.mark.parametrize("step", POSE_STEPS)
def test_keypoints_follow_to_a_fraction_of_a_pixel_and_swap_on_mirrors(data, step):
    out = data["tmp"] / f"pose-{step}"
    augment(data["pose"], out, STEPS[step], annotations={"format": "yolo", "flip_classes": [[0, 1]], "min_visibility": 0.1})
    for r in (r for r in manifest(out) if r["augmented"] == "1"):
        img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        written = read_labels(out / r["path"].replace("images/", "labels/", 1).replace(".png", ".txt"), w, h)
        op = _ops(r)[-1]
        mirrored = op.get("mirrored", False)
        assert mirrored == (step in ("hflip", "vflip", "chain", "perspective_chain"))
        assert set(written) == ({1} if mirrored else {0})  # flip_classes: left <-> right
        _, _, kps = next(iter(written.values()))
        order = [0, 2, 1] if mirrored else [0, 1, 2]  # flip_idx: keypoints 1 and 2 swap
        for k, (x, y, v) in enumerate(kps):
            colour = DOT_COLOURS[order[k]]
            if v == 0:
                assert x == y == 0 and not region(img, colour, 40).any(), (step, k)
                continue
            assert v == (1 if order[k] == 2 else 2)
            centre = dot_centre(img, colour, (x, y))
            if centre is None:  # at the border (a crop cut the dot): its pixels, within 1.5 px
                ys, xs = np.nonzero(region(img, colour, 60))
                assert xs.size and np.hypot(xs + 0.5 - x, ys + 0.5 - y).min() < 1.5, (step, r["path"], k)
                continue
            assert abs(centre[0] - x) < 0.3 and abs(centre[1] - y) < 0.3, (step, r["path"], k, (x, y), centre)


def test_a_keypoint_leaving_the_image_gets_visibility_0_and_keeps_its_place(data):
    out = data["tmp"] / "pose-out"
    augment(data["pose"], out, [{"shift": {"width": [0.12, 0.12], "height": 0, **FILL}}])
    for r in (r for r in manifest(out) if r["augmented"] == "1"):
        line = (out / r["path"].replace("images/", "labels/", 1).replace(".png", ".txt")).read_text().split()
        assert len(line) == 5 + 9  # still 3 keypoints, in order
        assert line[-3:] == ["0.000000", "0.000000", "0"]  # the dot at x = 0.9 left the image
        assert line[7] == "2" and line[10] == "2"


# ------------------------------------------------------------------------------------------------
# masks
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", list(STEPS))
def test_masks_follow_every_geometric_step_by_nearest_neighbour(data, step):
    from PIL import Image

    out = data["tmp"] / f"masks-{step}"
    augment(data["masks"], out, STEPS[step])
    rows = [r for r in manifest(out) if r["augmented"] == "1"]
    assert rows and all(r["status"] == "ok" for r in rows)
    for r in rows:
        img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
        with Image.open(out / r["path"].replace("images/", "masks/", 1)) as im:
            mode, palette, mask = im.mode, im.getpalette(), np.asarray(im)
        src_mode, unit = MASK_MODES[Path(r["source"]).stem]
        assert mode == src_mode and mask.shape == img.shape[:2]
        if mode == "P":
            assert palette[:12] == [0, 0, 0, 200, 0, 200, 0, 200, 0, 220, 220, 0]
        assert set(np.unique(mask)) <= {0, unit, 2 * unit, 3 * unit}  # no blended values
        for c, colour in {1: MASK_SHAPES[1][1], 2: MASK_SHAPES[2][1], 3: POLY[2]}.items():
            seen = region(img, colour)
            if seen.sum() > 200:
                assert iou(mask == c * unit, seen) >= 0.95, (step, r["path"], c)
        assert _ops(r)[-1] == {"name": "annotations", "mask": "nearest", "fill": 0}


def test_mask_of_another_size_and_missing_mask_fail_their_source(tmp_path):
    root = tmp_path / "in"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    img = photo("coffee.jpg", 1)
    for n in ("a", "b", "c"):
        cv2.imwrite(str(root / "images" / f"{n}.png"), img)
    cv2.imwrite(str(root / "masks" / "a.png"), np.zeros(img.shape[:2], np.uint8))
    cv2.imwrite(str(root / "masks" / "b.png"), np.zeros((10, 10), np.uint8))
    res = augment(root, tmp_path / "out", [{"hflip": {"p": 1}}])
    assert res.exit_code == 1
    err = {r["source"]: r["error"] for r in manifest(tmp_path / "out") if r["status"] == "failed"}
    assert set(err) == {"images/b.png", "images/c.png"}
    assert "masks/b.png: mask is 10x10, its image 320x213" in err["images/b.png"]
    assert "masks/c.png: no mask" in err["images/c.png"]


# ------------------------------------------------------------------------------------------------
# the border: min_visibility, outside, drops in the manifest
# ------------------------------------------------------------------------------------------------
def test_objects_leaving_the_frame_are_dropped_with_their_reason(data):
    out = data["tmp"] / "leave"
    # 40% of the width to the right: rect 1 (x 0.55-0.8) keeps 0.05/0.25 = 20% (< 25%), the
    # ellipse (x 0.55-0.81) keeps ~10%; rect 0 (x 0.08-0.3) is whole, the boxed ellipse cut
    augment(data["det"], out, [{"shift": {"width": [0.4, 0.4], "height": 0, **FILL}}], copies=1)
    rows = [r for r in manifest(out) if r["augmented"] == "1" and "hubble" not in r["source"]]
    for r in rows:
        op = _ops(r)[-1]
        assert op["objects_in"] == 5 and op["objects_out"] == 3
        assert op["dropped"] == {"min_visibility": 2}
        w = cv2.imread(str(out / r["path"])).shape[1]
        written = read_labels(out / r["path"].replace("images/", "labels/", 1).replace(".png", ".txt"), w, 1)
        assert set(written) == {0, 2, 4}
    out2 = data["tmp"] / "leave-all"
    augment(data["det"], out2, [{"shift": {"width": [0.95, 0.95], "height": 0, **FILL}}], copies=1)
    for r in (r for r in manifest(out2) if r["augmented"] == "1" and "hubble" not in r["source"]):
        assert _ops(r)[-1]["dropped"] == {"outside": 5}
        assert (out2 / r["path"].replace("images/", "labels/", 1).replace(".png", ".txt")).read_bytes() == b""


def test_small_objects_are_dropped_by_min_width_and_holes_by_visibility(data):
    out = data["tmp"] / "small"
    augment(data["det"], out, [{"resize": {"width": 64}}], copies=1,
            annotations={"format": "yolo", "min_width": 20})
    for r in (r for r in manifest(out) if r["augmented"] == "1" and "hubble" not in r["source"]):
        assert _ops(r)[-1]["dropped"] == {"min_width": 5}
    out = data["tmp"] / "hidden"  # a hole over the whole image hides every object
    augment(data["det"], out, [{"hflip": {"p": 1}}, {"cutout": {"size": [1, 1], "p": 1}}], copies=1)
    for r in (r for r in manifest(out) if r["augmented"] == "1" and "hubble" not in r["source"]):
        assert _ops(r)[-1]["dropped"] == {"min_visibility": 5}


def test_cutout_hides_objects_and_keypoints_by_visibility():
    opts = {"min_visibility": 0.25, "min_area": 1, "min_width": 1, "min_height": 1, "bbox_rotation": "corners",
            "flip_classes": []}
    box = Obj(0, "pose", (100, 100, 200, 200), kpts=[[150, 150, 2], [110, 110, 2]])
    kept, info = geometry.Follower([], [[100, 100, 100, 80]], opts, []).run([box])  # 80% hidden
    assert kept == [] and info["dropped"] == {"min_visibility": 1}
    kept, _ = geometry.Follower([], [[100, 100, 40, 40], [120, 120, 20, 20]], opts, []).run([box])  # 16% hidden
    assert kept[0].box == (100, 100, 200, 200) and kept[0].kpts == [[150, 150, 2], [110, 110, 0]]
    # overlapping holes are not counted twice: 2 holes of 60% each over the same place
    assert geometry.hidden_area(geometry.corners((100, 100, 200, 200)), [[100, 100, 60, 100]] * 2) == 6000


def test_polygons_are_clipped_to_the_image_exactly():
    tri = [(-50.0, 50.0), (150.0, -50.0), (150.0, 150.0)]
    c = geometry.clip(tri, 0, 0, 100, 100)
    assert all(0 <= x <= 100 and 0 <= y <= 100 for x, y in c)
    grid = np.mgrid[0:100:0.25, 0:100:0.25].reshape(2, -1).T + 0.125  # the triangle's area in the square
    inside = [cv2.pointPolygonTest(np.float32(tri), (float(x), float(y)), False) >= 0 for x, y in grid[::7]]
    assert abs(geometry.area(c) - 10000 * np.mean(inside)) < 60


# ------------------------------------------------------------------------------------------------
# the dataset: background images, splits, data.yaml, malformed labels, refused recipes
# ------------------------------------------------------------------------------------------------
def test_layout_data_yaml_val_split_and_background(data, tmp_path):
    out = tmp_path / "out"
    r = run_cli("image", data["det"], out, "--copies", "1", "--val-split", "0.25", "--seed", "5", check=0)
    assert "annotations: yolo (detected: images/ + labels/" in r.stderr and "5 classes from data.yaml" in r.stderr
    meta = yaml.safe_load((out / "data.yaml").read_text())
    assert meta == {"train": "images/train", "val": "images/val",
                    "names": {0: "magenta", 1: "green", 2: "cyan", 3: "yellow", 4: "blue"}}
    rows = manifest(out)
    val = [r for r in rows if r["split"] == "val"]
    assert len(val) == 1 and val[0]["augmented"] == "0"  # by image, never augmented
    for row in rows:
        lab = out / row["path"].replace("images/", "labels/", 1).replace(".png", ".txt")
        assert lab.is_file()
        if row["augmented"] == "0":  # originals: their label file as it was (empty for background)
            src = data["det"] / row["source"].replace("images/", "labels/", 1).replace(".png", ".txt")
            assert lab.read_bytes() == (src.read_bytes() if src.exists() else b"")
    assert (out / "labels/train/hubble__aug0.txt").read_bytes() == b"" or \
        (out / "labels/val/hubble.txt").read_bytes() == b""


def test_split_folders_of_the_input_are_kept_and_val_is_not_augmented(tmp_path):
    root = tmp_path / "in"
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for n in range(2):
            cv2.imwrite(str(root / "images" / split / f"{split}{n}.jpg"), photo("coffee.jpg", 1))
            (root / "labels" / split / f"{split}{n}.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    out = tmp_path / "out"
    run_cli("image", root, out, "--copies", "2", check=0)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*") if ".augcli" not in p.parts)
    assert "images/val/val0.jpg" in files and "labels/val/val1.txt" in files
    assert not [f for f in files if f.startswith("images/val/") and "__aug" in f]
    assert len([f for f in files if f.startswith("labels/train/") and "__aug" in f]) == 4
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "0"}  # no data.yaml: ids


def test_two_images_that_would_share_a_label_file_are_refused(tmp_path):
    root = tmp_path / "in"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for ext in (".jpg", ".png"):
        cv2.imwrite(str(root / "images" / f"a{ext}"), photo("coffee.jpg", 1))
    r = run_cli("image", root, tmp_path / "out", check=2)
    assert "output name 'labels/train/a.txt' would be written for two images" in r.stderr


MALFORMED = {
    "fields": ("0 0.5 0.5 0.2\n", "line 1: 4 fields is a wrong field count"),
    "number": ("0 0.5 0.5 0.2 0.2\n1 0.5 abc 0.2 0.2\n", "line 2: 'abc' is not a number"),
    "class": ("7 0.5 0.5 0.2 0.2\n", "line 1: class 7 is not in the names of data.yaml"),
    "size": ("0 0.5 0.5 0.0 0.2\n", "line 1: a box of zero or negative size"),
    "points": ("0 0.5 0.5\n", "line 1: a polygon with fewer than 3 points"),
    "range": ("\n\n0 0.5 0.5 0.2 1.02\n", "line 3: value 5 (1.02) is outside [0, 1]"),
}


def test_malformed_label_files_fail_their_source_naming_file_and_line(tmp_path):
    root = tmp_path / "in"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    img = photo("coffee.jpg", 1)
    for name, (text, _) in {**MALFORMED, "hair": ("0 0.5 0.5 0.2 1.0004\n1 -0.0003 0.1 0.5 0.2 0.5 0.3\n", "")}.items():
        cv2.imwrite(str(root / "images" / f"{name}.png"), img)
        (root / "labels" / f"{name}.txt").write_text(text)
    (root / "data.yaml").write_text("names: [a, b]\n")
    out = tmp_path / "out"
    r = run_cli("image", root, out, "--copies", "1", check=1)
    err = {row["source"]: row["error"] for row in manifest(out) if row["status"] == "failed"}
    assert set(err) == {f"images/{n}.png" for n in MALFORMED}
    for name, (_, msg) in MALFORMED.items():
        assert err[f"images/{name}.png"].startswith(f"labels/{name}.txt {msg}"), err[f"images/{name}.png"]
    assert "labels/fields.txt line 1" in r.stdout
    hair = (out / "labels/train/hair.txt").read_text().split("\n")  # a hair outside: clipped, not an error
    assert hair[0] == "0 0.500000 0.500000 0.200000 1.000000" and hair[1].startswith("1 0.000000 0.100000")


@pytest.mark.parametrize("args, message", [
    (["--annotations", "yoloo"], "--annotations: 'yoloo' is not allowed; allowed: "),
    (["--balance"], "balance: true is not supported with annotations yet"),
])
def test_unsupported_options_are_refused_at_validation(data, tmp_path, args, message):
    r = run_cli("image", data["det"], tmp_path / "o", *args, check=2)
    assert message in r.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize("steps, message", [
    ("[{one_of: {steps: [{hflip: {}}, {custom: {function: 'os.path:join'}}]}}]",
     "transforms[0].one_of: custom is not supported with annotations (it cannot move"),
    ("[{cutout: {}}, {rotate: {}}]", "transforms[0].cutout: a cutout before a geometric step (transforms[1].rotate)"),
    ("[{hflip: {}}]\nannotations: {format: yolo, min_visibilty: 0.5}", "annotations.min_visibilty: unknown option"),
    ("[{hflip: {}}]\nannotations: {flip_pairs: [[0, 9]]}", "annotations.flip_pairs: [0, 9] is not allowed; allowed: "
     "keypoint indices below 3"),
])
def test_steps_that_cannot_move_annotations_are_refused_naming_them(data, tmp_path, steps, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"modality: image\ninput: {data['pose']}\noutput: {tmp_path / 'o'}\ntransforms: {steps}\n")
    r = run_cli("run", recipe, check=2)
    assert message in r.stderr, r.stderr


def test_plain_images_are_unchanged_and_none_turns_detection_off(data, tmp_path):
    r = run_cli("image", PHOTOS, tmp_path / "plain", "--dry-run", check=0)
    assert "annotations" not in r.stderr + r.stdout and "everyday" in r.stdout
    r = run_cli("image", data["det"], tmp_path / "none", "--annotations", "none", "--dry-run", check=0)
    assert "annotations" not in r.stderr and "images" in r.stdout  # plain: images/ and labels/ are classes


# ------------------------------------------------------------------------------------------------
# the engine's guarantees: planar = BGR, workers, kill -9 + resume
# ------------------------------------------------------------------------------------------------
def test_jpeg_planes_and_bgr_give_the_same_labels(tmp_path):
    from augcli.io.image import planar_available

    if not planar_available():
        pytest.skip("no augcli._planes extension")
    root = tmp_path / "in"
    make_detection(root)
    for p in (root / "images").glob("*.png"):  # as JPEG: JPEG -> JPEG runs on YCbCr planes
        cv2.imwrite(str(p.with_suffix(".jpg")), cv2.imread(str(p)), [cv2.IMWRITE_JPEG_QUALITY, 95])
        p.unlink()
    steps = STEPS["chain"][:3] + [{"color_jitter": {"hue": 0.05}}, {"gaussian_noise": {"std": 3}}]
    augment(root, tmp_path / "planes", steps, copies=3)
    augment(root, tmp_path / "bgr", steps, copies=3, format="png")
    assert json.loads((tmp_path / "planes/.augcli/run.json").read_text())["jpeg_planes"] is True
    a, b = manifest(tmp_path / "planes"), manifest(tmp_path / "bgr")
    assert [r["ops"] for r in a] == [r["ops"] for r in b]
    for ra in a:
        lab = ra["path"].replace("images/", "labels/", 1).replace(".jpg", ".txt")
        assert (tmp_path / "planes" / lab).read_bytes() == (tmp_path / "bgr" / lab).read_bytes()


def _labels(out: Path) -> dict:
    return {k: v for k, v in tree_hashes(out).items() if not k.startswith("images/")}


def test_one_or_two_workers_write_the_same_labels_and_manifest(data, tmp_path):
    args = ["--copies", "3", "--seed", "11", "-r", ROOT / "examples" / "detection.yaml", "--val-split", "0.25"]
    run_cli("image", data["det"], tmp_path / "w1", "--workers", "1", *args, check=0)
    run_cli("image", data["det"], tmp_path / "w2", "--workers", "2", *args, check=0)
    assert tree_hashes(tmp_path / "w1") == tree_hashes(tmp_path / "w2")
    assert (tmp_path / "w1/manifest.csv").read_bytes() == (tmp_path / "w2/manifest.csv").read_bytes()
    assert any(k.startswith("labels/val/") for k in _labels(tmp_path / "w1"))


def test_kill_9_then_resume_gives_the_labels_of_a_clean_run(data, tmp_path):
    src = tmp_path / "in"
    make_detection(src)
    args = ["image", src, tmp_path / "out", "--copies", "30", "--workers", "2", "--seed", "2",
            "-r", ROOT / "examples" / "detection.yaml"]
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
    assert 0 < len(manifest(tmp_path / "out")) < 3 * 31 + 1, "the run was expected to be cut off mid-way"
    r = run_cli(*args, check=0)
    assert "already done" in r.stdout
    run_cli(*args[:2], tmp_path / "ref", *args[3:5], "--workers", "1", *args[7:], check=0)
    assert tree_hashes(tmp_path / "out") == tree_hashes(tmp_path / "ref")
    assert not [q for q in (tmp_path / "out").rglob("*") if ".augtmp" in q.name]


def test_an_image_whose_label_file_is_gone_is_made_again(data, tmp_path):
    out = tmp_path / "out"
    args = ["image", data["det"], out, "--copies", "2", "-r", ROOT / "examples" / "detection.yaml"]
    run_cli(*args, check=0)
    before = tree_hashes(out)
    (out / "labels/train/coffee__aug1.txt").unlink()
    r = run_cli(*args, check=0)
    assert "coffee__aug1.png: its annotation is missing; made again" in r.stderr
    assert "1 written" in r.stdout and tree_hashes(out) == before
