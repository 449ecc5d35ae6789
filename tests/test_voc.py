"""Pascal VOC (issue 15): JPEGImages/ + Annotations/*.xml (+ SegmentationClass/ palette PNGs).
Rectangles (one with a part inside it) and a segmentation mask are painted into real photos;
every geometric step runs on them; the painted shapes are found again in the output pixels and
compared with the XML (and PNG) written beside them. The helpers are test_annotations.py's."""
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli, tree_hashes
from test_annotations import (BOXED_ELLIPSE, RECTS, STEPS, _box_px, _ops, area_scale, augment, bbox_of, iou,
                              manifest, photo, region)

import augcli
from augcli.annotations import formats, voc
from augcli.annotations.model import LabelError

NAMES = {0: "magenta", 1: "green", 2: "cyan"}
POSES = {0: "Left", 1: "Frontal", 2: "Unspecified"}
PART = ((0.1, 0.15, 0.22, 0.32), BOXED_ELLIPSE[2])  # a "head" inside rectangle 0, painted blue
PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * 3 * 251 + [224, 224, 192]
VALUES = {0, 1, 2, 3, 255}
PHOTOS = ("coffee.jpg", "astronaut.jpg", "chelsea_the_cat.jpg")
COORDS = ("xmin", "ymin", "xmax", "ymax")


def voc_box(box, tabs: int) -> str:
    """A 0-based painted region [x0, x1) x [y0, y1) as a VOC bndbox (1-based, inclusive)."""
    x0, y0, x1, y1 = box
    return "".join("\t" * tabs + f"<{t}>{v}</{t}>\n" for t, v in zip(COORDS, (x0 + 1, y0 + 1, x1, y1)))


def voc_xml(filename: str, w: int, h: int, boxes: dict, part) -> str:
    objs = ""
    for c, box in boxes.items():
        inner = (f"\t\t<part>\n\t\t\t<name>head</name>\n\t\t\t<bndbox>\n{voc_box(part, 4)}\t\t\t</bndbox>\n\t\t</part>\n"
                 if c == 0 else "")
        objs += (f"\t<object>\n\t\t<name>{NAMES[c]}</name>\n\t\t<pose>{POSES[c]}</pose>\n\t\t<truncated>0</truncated>\n"
                 f"\t\t<difficult>{int(c == 2)}</difficult>\n\t\t<bndbox>\n{voc_box(box, 3)}"
                 f"\t\t</bndbox>\n{inner}\t</object>\n")
    return (f"<annotation verified=\"yes\">\n\t<folder>VOC2012</folder>\n\t<filename>{filename}</filename>\n"
            f"\t<source>\n\t\t<database>painted</database>\n\t</source>\n\t<!-- kept -->\n"
            f"\t<size>\n\t\t<width>{w}</width>\n\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
            f"\t<segmented>1</segmented>\n{objs}</annotation>\n")


def save_mask(path: Path, arr) -> None:
    from PIL import Image

    im = Image.fromarray(arr, "P")
    im.putpalette(PALETTE)
    im.save(path)


def make_voc(root: Path, scale: float = 2.0) -> Path:
    """3 photos with 3 rectangles (objects magenta, green, cyan; magenta holds a blue part
    "head"), class masks for the first two (255 around the green rectangle), and a photo
    without XML (a background image)."""
    for d in ("JPEGImages", "Annotations", "SegmentationClass"):
        (root / d).mkdir(parents=True)
    for k, name in enumerate(PHOTOS):
        img = photo(name, scale)
        h, w = img.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        boxes = {}
        for c, (rel, colour) in RECTS.items():
            x0, y0, x1, y1 = boxes[c] = _box_px(rel, w, h)
            if c == 1:  # void (255) around it, as VOC marks object borders
                mask[y0 - 2:y1 + 2, x0 - 2:x1 + 2] = 255
            img[y0:y1, x0:x1] = colour
            mask[y0:y1, x0:x1] = c + 1
        part = _box_px(PART[0], w, h)
        img[part[1]:part[3], part[0]:part[2]] = PART[1]
        stem = Path(name).stem
        cv2.imwrite(str(root / "JPEGImages" / f"{stem}.png"), img)
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.png", w, h, boxes, part))
        if k < 2:
            save_mask(root / "SegmentationClass" / f"{stem}.png", mask)
    cv2.imwrite(str(root / "JPEGImages" / "hubble.png"), photo("hubble_deep_field.jpg", scale / 2))
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("voc")
    return {"voc": make_voc(base / "voc"), "tmp": base}


def read_voc(path: Path):
    """(root, {name: (continuous box, {part: box}, element)}) of a written XML."""
    root = ET.parse(path).getroot()
    objs = {}
    for o in root.findall("object"):
        def box(el):
            xmin, ymin, xmax, ymax = (int(el.find("bndbox").findtext(t)) for t in COORDS)
            assert 1 <= xmin <= xmax and 1 <= ymin <= ymax
            return xmin - 1, ymin - 1, xmax, ymax
        objs[o.findtext("name")] = (box(o), {p.findtext("name"): box(p) for p in o.findall("part")}, o)
    return root, objs


def xml_of(out: Path, image: str) -> Path:
    return out / "Annotations" / (Path(image).stem + ".xml")


# ------------------------------------------------------------------------------------------------
# every geometric step: boxes, parts, truncated, kept elements, masks
# ------------------------------------------------------------------------------------------------
def check_objects(out: Path, r: dict, src: Path, step: str) -> None:
    before = cv2.imread(str(src / r["source"]), cv2.IMREAD_COLOR)
    img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    root, written = read_voc(xml_of(out, r["path"]))
    assert root.findtext("filename") == Path(r["path"]).name and root.get("verified") == "yes"
    assert [root.findtext(f"size/{t}") for t in ("width", "height", "depth")] == [str(w), str(h), "3"]
    assert root.findtext("folder") == "VOC2012" and root.findtext("source/database") == "painted"
    assert "<!-- kept -->" in xml_of(out, r["path"]).read_text()
    op = _ops(r)[-1]
    assert op["objects_out"] == len(written) + sum(len(p) for _, p, _ in written.values())
    scale = area_scale(_ops(r), before.shape[1], before.shape[0])
    shapes = {NAMES[c]: (col, None) for c, (_, col) in RECTS.items()} | {"magenta/head": (PART[1], "magenta")}
    for name, (colour, parent) in shapes.items():
        seen = region(img, colour)
        visible = seen.sum() / (region(before, colour).sum() * scale)
        where = f"{step} {r['path']} {name}"
        got = written[parent][1].get("head") if parent else written.get(name, (None,))[0]
        if parent and parent not in written:
            continue  # the object dropped takes its part
        if got is None:
            assert visible < 0.27, (where, visible)
            continue
        assert visible > 0.23, (where, visible)
        assert iou(got, bbox_of(seen)) >= 0.9, (where, got, bbox_of(seen))
    for c, name in NAMES.items():
        if name in written:
            o = written[name][2]
            box = written[name][0]
            at_edge = box[0] == 0 or box[1] == 0 or box[2] == w or box[3] == h
            assert o.findtext("truncated") == ("1" if at_edge else "0"), (step, name, box)
            assert o.findtext("pose") == POSES[c] and o.findtext("difficult") == str(int(c == 2))
            assert [e.tag for e in o][:5] == ["name", "pose", "truncated", "difficult", "bndbox"]


def check_mask(out: Path, r: dict, step: str) -> None:
    from PIL import Image

    img = cv2.imread(str(out / r["path"]), cv2.IMREAD_COLOR)
    png = out / "SegmentationClass" / (Path(r["path"]).stem + ".png")
    if "coffee" not in r["source"] and "astronaut" not in r["source"]:
        assert not png.exists()
        return
    with Image.open(png) as im:
        assert im.mode == "P" and im.getpalette()[:12] == PALETTE[:12]
        mask = np.asarray(im)
    assert mask.shape == img.shape[:2] and set(np.unique(mask)) <= VALUES
    for c, colour in {1: RECTS[0][1], 2: RECTS[1][1], 3: RECTS[2][1]}.items():
        seen = region(img, colour) | (region(img, PART[1]) if c == 1 else False)
        if seen.sum() > 200:
            assert iou(mask == c, seen) >= 0.95, (step, r["path"], c)


@pytest.mark.parametrize("step", list(STEPS))
def test_boxes_parts_and_masks_follow_every_geometric_step(data, step):
    out = data["tmp"] / f"voc-{step}"
    res = augment(data["voc"], out, STEPS[step], copies=1, annotations={"format": "voc", "mask_fill": 255})
    assert res.exit_code == 0
    rows = [r for r in manifest(out) if r["augmented"] == "1"]
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    for r in rows:
        if "hubble" in r["source"]:
            assert read_voc(xml_of(out, r["path"]))[1] == {} and _ops(r)[-1]["objects_in"] == 0
            continue
        check_objects(out, r, data["voc"], step)
        check_mask(out, r, step)


def test_a_moved_part_that_leaves_is_dropped_and_boxes_cut_by_the_border_get_truncated(data):
    out = data["tmp"] / "voc-left"
    # 20% of the width to the left: magenta (x 0.08-0.3) keeps 45%, its head (0.1-0.22) 17%,
    # cyan (0.1-0.35) 60%; green (0.55-0.8) is whole
    augment(data["voc"], out, [{"shift": {"width": [-0.2, -0.2], "height": 0, "fill": "constant"}}], copies=1)
    for r in (r for r in manifest(out) if r["augmented"] == "1" and "hubble" not in r["source"]):
        assert _ops(r)[-1]["dropped"] == {"min_visibility": 1}
        _, objs = read_voc(xml_of(out, r["path"]))
        assert objs["magenta"][1] == {} and objs["magenta"][2].find("part") is None
        assert {n: o.findtext("truncated") for n, (_, _, o) in objs.items()} == \
            {"magenta": "1", "green": "0", "cyan": "1"}
        assert objs["magenta"][0][0] == 0 and objs["cyan"][0][0] == 0


def test_originals_are_byte_copies_and_a_background_image_gets_an_xml(data, tmp_path):
    out = tmp_path / "out"
    augment(data["voc"], out, [{"hflip": {"p": 1}}], copies=1)
    for stem in ("coffee", "astronaut", "chelsea_the_cat"):
        assert (out / f"Annotations/{stem}.xml").read_bytes() == (data["voc"] / f"Annotations/{stem}.xml").read_bytes()
    for stem in ("coffee", "astronaut"):
        assert (out / f"SegmentationClass/{stem}.png").read_bytes() == \
            (data["voc"] / f"SegmentationClass/{stem}.png").read_bytes()
    for name in ("hubble.xml", "hubble__aug0.xml"):
        root = ET.parse(out / "Annotations" / name).getroot()
        img = cv2.imread(str(out / "JPEGImages" / name.replace(".xml", ".png")))
        assert root.findall("object") == [] and root.findtext("filename") == name.replace(".xml", ".png")
        assert [root.findtext(f"size/{t}") for t in ("width", "height", "depth")] == \
            [str(img.shape[1]), str(img.shape[0]), "3"]
    assert (out / "ImageSets/Main/train.txt").read_text().split() == \
        ["astronaut", "astronaut__aug0", "chelsea_the_cat", "chelsea_the_cat__aug0", "coffee", "coffee__aug0",
         "hubble", "hubble__aug0"]
    assert (out / "ImageSets/Segmentation/train.txt").read_text().split() == \
        ["astronaut", "astronaut__aug0", "coffee", "coffee__aug0"]
    # the output reads back (report, stats): the same boxes as the XML holds
    fmt = formats.open_output(out)
    assert fmt.name == "voc"
    ann = fmt.read_output("JPEGImages/coffee__aug0.png")
    _, objs = read_voc(out / "Annotations/coffee__aug0.xml")
    assert {o.cls: o.box for o in ann.objs} == {"magenta": objs["magenta"][0], "green": objs["green"][0],
                                                "cyan": objs["cyan"][0], "magenta/head": objs["magenta"][1]["head"]}
    assert ann.mask is not None and ann.mask.arr.shape == (426, 640)
    st = augcli.api.stats(out, workers=1)["annotations"]
    assert st["format"] == "voc" and st["classes"]["magenta/head"]["objects"] == 6  # 3 originals, 3 copies


# ------------------------------------------------------------------------------------------------
# splits, names, auto-detection
# ------------------------------------------------------------------------------------------------
def test_imagesets_give_the_splits_val_is_written_unchanged_and_listed(data, tmp_path):
    src = tmp_path / "in"
    shutil.copytree(data["voc"], src)
    shutil.copy(src / "JPEGImages/coffee.png", src / "JPEGImages/mug.png")
    shutil.copy(src / "Annotations/coffee.xml", src / "Annotations/mug.xml")
    sets = src / "ImageSets/Main"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("coffee\nastronaut\n")
    (sets / "val.txt").write_text("chelsea_the_cat\nastronaut\n")  # astronaut: in train too, so train
    (sets / "trainval.txt").write_text("astronaut\nchelsea_the_cat\ncoffee\n")
    (sets / "test.txt").write_text("mug\n")
    (sets / "magenta_train.txt").write_text("coffee  1\n")  # per-class lists: not splits
    out = tmp_path / "out"
    r = run_cli("image", src, out, "--copies", "2", "--seed", "3", check=0)
    assert "annotations: voc (detected: JPEGImages/ + Annotations/" in r.stderr
    assert "splits from ImageSets/Main (1 val, 1 test)" in r.stderr and "SegmentationClass/ masks" in r.stderr
    rows = manifest(out)
    split = {Path(row["path"]).stem: row["split"] for row in rows}
    assert split["chelsea_the_cat"] == "val" and split["mug"] == "test" and split["hubble"] == "train"
    assert not [row for row in rows if row["split"] != "train" and row["augmented"] == "1"]
    for stem in ("chelsea_the_cat", "mug"):
        assert (out / f"JPEGImages/{stem}.png").read_bytes() == (src / f"JPEGImages/{stem}.png").read_bytes()
        want = (src / f"Annotations/{stem}.xml").read_bytes().replace(b">coffee.png<", b">mug.png<")
        assert (out / f"Annotations/{stem}.xml").read_bytes() == want  # the same bytes, filename updated
    lists = {p.stem: p.read_text().split() for p in (out / "ImageSets/Main").glob("*.txt")}
    train = [f"{s}{k}" for s in ("astronaut", "coffee", "hubble") for k in ("", "__aug0", "__aug1")]
    assert lists == {"train": train, "val": ["chelsea_the_cat"], "test": ["mug"],
                     "trainval": train[:3] + ["chelsea_the_cat"] + train[3:]}
    assert {p.name for p in (out / "JPEGImages").iterdir()} == {f"{s}.png" for s in split}


def test_auto_detection_says_voc_and_val_split_holds_out_of_the_pool(data, tmp_path):
    r = run_cli("image", data["voc"], tmp_path / "o", "--val-split", "0.5", "--seed", "1", "--dry-run", check=0)
    assert "annotations: voc (detected: JPEGImages/ + Annotations/" in r.stderr
    run_cli("image", data["voc"], tmp_path / "o", "--val-split", "0.5", "--seed", "1", "--copies", "1", check=0)
    lists = {p.stem: p.read_text().split() for p in (tmp_path / "o/ImageSets/Main").glob("*.txt")}
    assert len(lists["val"]) == 2 and not [s for s in lists["val"] if "__aug" in s]
    assert sorted(lists["trainval"]) == sorted(lists["train"] + lists["val"])


def test_two_outputs_of_one_name_are_refused(data, tmp_path):
    src = tmp_path / "in"
    shutil.copytree(data["voc"], src)
    shutil.copy(src / "JPEGImages/coffee.png", src / "JPEGImages/coffee__aug0.png")  # a val image named like a copy
    (src / "ImageSets/Main").mkdir(parents=True)
    (src / "ImageSets/Main/val.txt").write_text("coffee__aug0\n")
    r = run_cli("image", src, tmp_path / "out", check=2)
    assert "output name 'JPEGImages/coffee__aug0.png' would be written for two images" in r.stderr
    (src / "JPEGImages/coffee__aug0.png").unlink()
    shutil.copy(src / "JPEGImages/hubble.png", src / "JPEGImages/hubble.jpg")  # one XML for two images
    r = run_cli("image", src, tmp_path / "out", check=2)
    assert "output name 'Annotations/hubble.xml' would be written for two images" in r.stderr


# ------------------------------------------------------------------------------------------------
# malformed input
# ------------------------------------------------------------------------------------------------
def _obj(box: str, name: str = "magenta") -> str:
    return f"<object><name>{name}</name><bndbox>{box}</bndbox></object>"


BOX = "<xmin>10</xmin><ymin>10</ymin><xmax>50</xmax><ymax>40</ymax>"
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
          "<annotation><filename>&lol2;</filename></annotation>")
MALFORMED = {
    "notxml": ("<annotation><object></annotation>", "Annotations/notxml.xml: not XML (mismatched tag: line 1"),
    "laughs": (LAUGHS, "Annotations/laughs.xml: a DOCTYPE or ENTITY declaration is refused"),
    "root": ("<voc/>", "Annotations/root.xml: root element <voc>; allowed: <annotation>"),
    "noname": (f"<annotation>{_obj(BOX, '')}</annotation>", "Annotations/noname.xml object 1: no name"),
    "nobox": ("<annotation><object><name>a</name></object></annotation>",
              "Annotations/nobox.xml object 1 (a): no bndbox"),
    "missing": (f"<annotation>{_obj(BOX)}{_obj('<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>')}</annotation>",
                "Annotations/missing.xml object 2 (magenta) bndbox: no ymax"),
    "number": (f"<annotation>{_obj(BOX.replace('>50<', '>5O<'))}</annotation>",
               "Annotations/number.xml object 1 (magenta) bndbox: xmax '5O' is not a number"),
    "order": (f"<annotation>{_obj(BOX.replace('>40<', '>9<'))}</annotation>",
              "Annotations/order.xml object 1 (magenta) bndbox: ymax (9) < ymin (10)"),
    "outside": (f"<annotation>{_obj(BOX.replace('>50<', '>322<'))}</annotation>",
                "Annotations/outside.xml object 1 (magenta) bndbox: xmax (322) is more than 1 px outside the "
                "320x213 image"),
    "part": (f"<annotation><object><name>p</name><bndbox>{BOX}</bndbox><part><name>hand</name><bndbox>"
             "<xmin>3</xmin><ymin>x</ymin><xmax>5</xmax><ymax>6</ymax></bndbox></part></object></annotation>",
             "Annotations/part.xml object 1 (p) part 1 (hand) bndbox: ymin 'x' is not a number"),
    "size": ("<annotation><size><width>500</width><height>213</height></size></annotation>",
             "Annotations/size.xml size: width 500 but the image is 320x213"),
    "mask": ("<annotation/>", "SegmentationClass/mask.png: mask is 10x10, its image 320x213"),
}


def test_malformed_files_fail_their_source_naming_file_and_element(tmp_path):
    root = tmp_path / "in"
    for d in ("JPEGImages", "Annotations", "SegmentationClass"):
        (root / d).mkdir(parents=True)
    img = photo("coffee.jpg", 1)
    hair = f"<annotation><filename>x</filename>{_obj('<xmin>0</xmin><ymin>1</ymin><xmax>321</xmax><ymax>213</ymax>')}" \
           "</annotation>"
    for name, (text, _) in {**MALFORMED, "hair": (hair, "")}.items():
        cv2.imwrite(str(root / "JPEGImages" / f"{name}.png"), img)
        (root / "Annotations" / f"{name}.xml").write_text(text)
    save_mask(root / "SegmentationClass/mask.png", np.zeros((10, 10), np.uint8))
    out = tmp_path / "out"
    r = run_cli("image", root, out, "--copies", "1", check=1)
    err = {row["source"]: row["error"] for row in manifest(out) if row["status"] == "failed"}
    assert set(err) == {f"JPEGImages/{n}.png" for n in MALFORMED}
    for name, (_, msg) in MALFORMED.items():
        assert err[f"JPEGImages/{name}.png"].startswith(msg), err[f"JPEGImages/{name}.png"]
    assert "Annotations/outside.xml object 1" in r.stdout
    _, objs = read_voc(out / "Annotations/hair.xml")  # a pixel outside: clipped, not an error
    assert objs["magenta"][0] == (0, 0, 320, 213)
    assert ET.parse(out / "Annotations/hair.xml").getroot().findtext("filename") == "hair.png"
    assert "<width>320</width>" in (out / "Annotations/hair.xml").read_text()  # the size it lacked


def test_coordinates_are_1_based_and_inclusive():
    el = ET.fromstring(f"<object><bndbox>{BOX}</bndbox></object>")
    assert voc.read_box(el, "x", 100, 100) == ((9.0, 9.0, 50.0, 40.0), False)
    assert voc._pixels((9.0, 9.0, 50.0, 40.0), 100, 100) == (10, 10, 50, 40)
    assert voc._pixels((9.4, 0.0, 9.6, 100.0), 100, 100) == (10, 1, 10, 100)  # never xmax < xmin
    full = ET.fromstring("<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>100</xmax><ymax>1</ymax></bndbox></object>")
    assert voc.read_box(full, "x", 100, 100) == ((0.0, 0.0, 100.0, 1.0), False)
    with pytest.raises(LabelError, match="x bndbox: xmin .-1. is more than 1 px outside"):
        voc.read_box(ET.fromstring("<o><bndbox><xmin>-1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></o>"),
                     "x", 100, 100)


# ------------------------------------------------------------------------------------------------
# the engine's guarantees: workers, resume
# ------------------------------------------------------------------------------------------------
STEPS_RUN = [{"hflip": {"p": 0.5}}, {"rotate": {"degrees": 15, "fill": "constant"}},
             {"zoom": {"range": [0.8, 1.2], "fill": "constant"}}, {"color_jitter": {"brightness": 0.2}}]


def _run(src, out, workers, **kw):
    return augcli.augment(src, out, transforms=STEPS_RUN, copies=2, seed=7, val_split=0.25, workers=workers,
                          annotations={"format": "voc", "mask_fill": 255}, **kw)


def test_one_or_two_workers_write_the_same_bytes_and_a_resume_completes_a_cut_run(data, tmp_path):
    _run(data["voc"], tmp_path / "w1", 1)
    _run(data["voc"], tmp_path / "w2", 2)
    ref = tree_hashes(tmp_path / "w1")
    assert ref == tree_hashes(tmp_path / "w2")
    assert (tmp_path / "w1/manifest.csv").read_bytes() == (tmp_path / "w2/manifest.csv").read_bytes()
    assert "ImageSets/Main/val.txt" in ref and "ImageSets/Segmentation/train.txt" in ref
    # a cut run: an image lost, an XML lost (its image is made again), the listings gone
    out = tmp_path / "w2"
    copies = [r["path"] for r in manifest(out) if r["augmented"] == "1"]
    (out / copies[0]).unlink()
    xml_of(out, copies[-1]).unlink()
    shutil.rmtree(out / "ImageSets")
    res = _run(data["voc"], out, 2)
    assert res.exit_code == 0 and tree_hashes(out) == ref
    def rows(d):
        return sorted((r["path"], r["ops"], r["status"]) for r in manifest(d))

    assert rows(out) == rows(tmp_path / "w1")  # every output once, with the ops of a clean run
