"""Issue 15, around it: preview, report and stats show annotated datasets' labels. draw() puts
each class's colour on its outlines (masks translucent); preview's tiles carry those colours;
report counts objects per class as the label files on disk hold them, and drops as the manifest
says; stats counts the input's label lines per class."""
import csv
import json
import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli

import augcli
from augcli.annotations.draw import ALPHA, colour, draw, widths
from augcli.annotations.masks import Mask
from augcli.annotations.model import Annotation, Obj

NAMES = ["alpha", "beta", "gamma"]
W, H = 160, 120
# per image: its grey level and its label lines (None: no label file, a background image)
IMAGES = {
    "a": (110, ["0 0.300000 0.400000 0.300000 0.400000", "1 0.700000 0.600000 0.250000 0.300000"]),
    "b": (120, ["1 0.200000 0.200000 0.400000 0.250000 0.300000 0.450000",  # a polygon
                "2 0.930000 0.500000 0.120000 0.300000"]),  # near the right border: shifts drop it
    "c": (130, ["0 0.500000 0.500000 0.400000 0.500000", "2 0.060000 0.300000 0.100000 0.200000",
                "2 0.500000 0.850000 0.200000 0.200000"]),
    "d": (140, None),
}


def make_yolo(root: Path) -> Path:
    """Uniform grey PNGs (no colour of their own) with YOLO labels, a background image, data.yaml."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name, (grey, lines) in IMAGES.items():
        cv2.imwrite(str(root / "images" / f"{name}.png"), np.full((H, W, 3), grey, np.uint8))
        if lines is not None:
            (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(f"names: {json.dumps(NAMES)}\n")
    return root


@pytest.fixture(scope="module")
def yolo(tmp_path_factory):
    return make_yolo(tmp_path_factory.mktemp("labels") / "in")


def near(img, bgr, tol=40):
    return np.linalg.norm(img.astype(np.float32) - np.array(bgr, np.float32), axis=-1) < tol


def label_counts(folder: Path) -> Counter:
    """Objects per class id in the YOLO label files under folder."""
    return Counter(int(line.split()[0]) for p in folder.rglob("*.txt") for line in p.read_text().splitlines()
                   if line.strip())


# ------------------------------------------------------------------------------------------------
# draw
# ------------------------------------------------------------------------------------------------
def test_a_box_gets_its_class_colour_on_its_edge_and_nothing_inside():
    img = np.full((H, W, 3), 128, np.uint8)
    x0, y0, x1, y1 = 40, 50, 120, 100
    out = draw(img, Annotation([Obj(1, "box", (float(x0), float(y0), float(x1), float(y1)))]), {1: "beta"})
    assert (img == 128).all(), "draw changed its input"
    col = colour(1)
    for y, x in [(y0, 80), (y1 - 1, 80), (75, x0), (75, x1 - 1)]:  # the box's edge pixels
        assert tuple(out[y, x]) == col, (y, x, out[y, x])
    t = widths(H, W)[0]
    assert (out[y0 + t:y1 - t, x0 + t:x1 - t] == 128).all()  # the label is above the box: room there
    assert near(out[:y0, x0:x1], col, 1).any(), "no label of the class's colour above the box"
    # a box at the top: its label goes inside, in its top rows only
    out = draw(img, Annotation([Obj(0, "box", (10.0, 0.0, 150.0, 110.0))]), {0: "alpha"})
    inner = out[t:110 - t, 10 + t:150 - t]
    changed = np.flatnonzero((inner != 128).any(axis=(1, 2)))
    assert changed.size and changed.max() < 25 and tuple(out[0, 80]) == colour(0)


def test_masks_are_translucent_and_void_is_not_coloured():
    img = np.full((H, W, 3), 100, np.uint8)
    arr = np.zeros((H, W), np.uint8)
    arr[10:40, 10:60] = 3
    arr[60:90, 10:60] = 255  # void
    own = np.zeros((H, W), np.uint8)
    own[70:110, 100:150] = 1
    ann = Annotation([Obj(5, "mask", (100.0, 70.0, 150.0, 110.0), mask=own)], Mask(arr, "L", None, None))
    out = draw(img, ann, {})
    for (y, x), cls in (((25, 35), 3), ((90, 125), 5)):
        want = np.round(100 * (1 - ALPHA) + np.array(colour(cls)) * ALPHA)
        assert np.abs(out[y, x].astype(int) - want).max() <= 1, (cls, out[y, x], want)
        lo, hi = np.minimum(100, colour(cls)), np.maximum(100, colour(cls))
        assert ((out[y, x] >= lo) & (out[y, x] <= hi)).all() and tuple(out[y, x]) != colour(cls)
    assert (out[65:85, 15:55] == 100).all() and (out[45:55, 70:90] == 100).all()  # void and background


def test_keypoints_of_visibility_0_are_not_drawn():
    img = np.full((H, W, 3), 128, np.uint8)
    ann = Annotation([Obj(0, "pose", (20.0, 40.0, 140.0, 110.0), kpts=[[50.5, 70.5, 2], [110.5, 80.5, 0]])])
    out = draw(img, ann, {})
    assert tuple(out[70, 50]) == colour(0)
    assert (out[75:86, 105:116] == 128).all()


# ------------------------------------------------------------------------------------------------
# preview
# ------------------------------------------------------------------------------------------------
def test_preview_of_a_yolo_dataset_draws_the_class_colours_on_its_tiles(yolo, tmp_path):
    recipe = tmp_path / "r.yaml"
    steps = [{"hflip": {"p": 0.5}}, {"zoom": {"range": [0.9, 1.1], "fill": "constant", "fill_value": 128}}]
    recipe.write_text(json.dumps({"modality": "image", "input": str(yolo), "seed": 3, "transforms": steps}))
    sheet, plain = tmp_path / "sheet.png", tmp_path / "plain.png"
    augcli.preview(str(recipe), samples=3, variants=2, out=sheet)
    augcli.preview(str(recipe), samples=3, variants=2, out=plain, annotations="none")
    img, bare = cv2.imread(str(sheet)), cv2.imread(str(plain))
    assert img.shape == bare.shape == ((200 + 30) * 3, 200 * 3, 3)
    colours = [colour(c) for c in range(3)]
    for c, bgr in enumerate(colours):
        assert near(img, bgr).sum() > 200, f"class {c}'s colour is not on the sheet"
        assert not near(bare, bgr).any(), "the plain preview has a class colour"
    for r in range(3):
        for c in range(3):
            tile = img[r * 230:r * 230 + 200, c * 200:(c + 1) * 200]
            assert any(near(tile, bgr).sum() > 20 for bgr in colours), f"tile {r}, {c} has no drawn label"


def test_preview_of_a_masks_dataset_tints_the_mask_classes(tmp_path):
    root = tmp_path / "m"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(2):
        cv2.imwrite(str(root / "images" / f"{k}.png"), np.full((H, W, 3), 120, np.uint8))
        mask = np.zeros((H, W), np.uint8)
        mask[20:60, 20:80], mask[70:110, 90:150] = 1, 2
        cv2.imwrite(str(root / "masks" / f"{k}.png"), mask)
    sheet = tmp_path / "sheet.png"
    augcli.preview("image", str(root), samples=2, variants=1, out=sheet,
                   transforms=[{"hflip": {"p": 1}}])
    img = cv2.imread(str(sheet))
    for c in (1, 2):
        tint = 120 * (1 - ALPHA) + np.array(colour(c)) * ALPHA
        assert near(img, tint, 6).sum() > 4 * 1000, f"class {c} is not tinted on the sheet"


# ------------------------------------------------------------------------------------------------
# report and stats
# ------------------------------------------------------------------------------------------------
def table(stdout: str, heading: str) -> dict:
    """{class id: the numbers on its line} of the table under the line starting with `heading`."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = {}
    for line in lines[start + 2:]:
        m = re.match(r"  \S+ \((\d+)\)\s+(\d+)\s+(\d+)$", line)
        if not m:
            break
        out[int(m[1])] = (int(m[2]), int(m[3]))
    return out


def test_report_counts_objects_per_class_as_on_disk_and_drops_as_the_manifest(yolo, tmp_path):
    out = tmp_path / "out"
    steps = [{"shift": {"width": [0.15, 0.25], "height": 0, "fill": "constant"}}]
    augcli.augment(yolo, out, transforms=steps, copies=3, seed=5, val_split=0.25, workers=1, overwrite=True)
    p = run_cli("report", out, "--html", tmp_path / "r.html", check=0)
    per_class = table(p.stdout, "objects per class")
    want_in, want_out = label_counts(yolo / "labels"), label_counts(out / "labels")
    assert {c: v[0] for c, v in per_class.items()} == dict(want_in)
    assert {c: v[1] for c, v in per_class.items()} == dict(want_out)
    assert list(per_class) == [0, 1, 2] and "alpha (0)" in p.stdout
    with open(out / "manifest.csv", newline="") as f:
        dropped = Counter()
        for r in csv.DictReader(f):
            for op in json.loads(r["ops"] or "[]"):
                dropped.update(op.get("dropped", {}) if op["name"] == "annotations" else {})
    assert dropped, "the shifts dropped nothing: the test proves nothing"
    got = dict((m[2], int(m[1])) for m in re.finditer(r"^\s+(\d+) x (\S+)$", p.stdout.split("objects dropped")[1], re.M))
    assert got == dict(dropped)
    page = (tmp_path / "r.html").read_text()
    assert "Objects per class" in page and "labels drawn" in page and "alpha (0)" in page


def test_stats_counts_the_label_lines_per_class_and_the_box_sizes(yolo):
    p = run_cli("stats", yolo, check=0)
    assert "4 images" in p.stdout and "1 without objects (background)" in p.stdout
    counts = table(p.stdout, "annotations (yolo)")
    assert {c: v[0] for c, v in counts.items()} == dict(label_counts(yolo / "labels"))
    assert counts[2][1] == 2  # class 2: 3 objects in 2 images
    st = augcli.api.stats(yolo, workers=2)
    boxes = st["annotations"]["boxes"]
    # boxes: 48x48, 40x36, polygon 32x30 (its extent), 19.2x36, 64x60, 16x24, 32x24 (pixels)
    assert boxes["width"]["min"] == pytest.approx(16) and boxes["width"]["max"] == pytest.approx(64)
    assert boxes["height"]["median"] == pytest.approx(36)
    assert (boxes["small"], boxes["medium"], boxes["large"]) == (4, 3, 0)
    assert st["annotations"]["classes"]["1"] == {"name": "beta", "objects": 2, "images": 2}
