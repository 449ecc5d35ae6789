"""Pascal VOC: INPUT/JPEGImages/<name>.<ext> + INPUT/Annotations/<name>.xml (+ SegmentationClass/<name>.png).

Coordinates. A VOC `bndbox` holds 1-based pixel indices, both ends inclusive: xmin..xmax are the
columns the box covers. In the continuous pixels of model.py (pixel i spans [i, i + 1], 0-based)
that box is [xmin - 1, xmax] x [ymin - 1, ymax]; written back as xmin = round(x0) + 1, xmax =
round(x1) (integers, within 1..width, xmax >= xmin). A value up to 1 px outside the image is
clipped silently (0-based writers put xmin 0); more is an error.

Reading is strict (model.LabelError naming the file and the object): not XML, a DOCTYPE or
ENTITY declaration (refused: entity expansion), a root other than <annotation>, an object without
name or bndbox, a missing or non-numeric coordinate, xmax < xmin, a box more than 1 px outside
the image, a <size> other than the image's. An image without XML is a background image (written
with an XML holding no object). Obj.cls is the object's `name`.

Writing keeps every element and attribute it does not change, in order (pose, difficult,
occluded, source, owner, comments ...): `filename` becomes the output's name, `size` its width
and height, each moved `bndbox` its new box, and `truncated` 1 when the transform brought the box
to the image's border (the input's value otherwise, and for a box that touched the border
already: the annotator judged that one). Parts (a person's head, hand, foot with their own
bndbox) move as boxes of their own, counted as class "<object>/<part>": a part dropped by the
rules (outside, min_visibility ...) is removed from its object, an object dropped takes its parts
(the manifest still counts such a part as kept). Not changed by a mirror: `pose` (Left stays
Left); `flip_classes` (class ids) does not apply to VOC's class names.

SegmentationClass/<name>.png (palette, 255 = void) is the image's semantic mask when present:
warped by nearest neighbour with fill `mask_fill` (default 0; 255 marks void in VOC). Resume
checks the XML only: the mask is written before it, the image after both. SegmentationObject/
(instance ids in object order) is not written: dropped objects would renumber it.

Splits: ImageSets/Main/{train,val,trainval,test}.txt (else ImageSets/Segmentation/) when present:
an image listed in val.txt is val, in test.txt test (train.txt wins over both); the rest is the
training pool (--val-split holds out more). The output keeps the flat layout and lists each
split's images in ImageSets/Main/<split>.txt (trainval.txt with train and val), and those with
a mask in ImageSets/Segmentation/.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .format import Format
from .model import Annotation, LabelError, Obj

COORDS = ("xmin", "ymin", "xmax", "ymax")
EDGE = 1e-3  # px: a moved box this close to the border touches it
BLANK = "<annotation>\n\t<filename />\n\t<size>\n\t\t<width />\n\t\t<height />\n\t\t<depth />\n\t</size>\n" \
        "\t<segmented>0</segmented>\n</annotation>"


# -- reading ----------------------------------------------------------------------------------------
class _Refused(Exception):
    pass


def _refuse(*_):
    raise _Refused


def parse_xml(data: bytes, where: str):
    """The root element of `data`, comments kept; LabelError for what is not XML or declares a DTD."""
    import xml.etree.ElementTree as ET
    from xml.parsers import expat

    check = expat.ParserCreate()
    check.StartDoctypeDeclHandler = check.EntityDeclHandler = _refuse
    try:
        check.Parse(data, True)
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
        parser.feed(data)
        root = parser.close()
    except _Refused:
        raise LabelError(f"{where}: a DOCTYPE or ENTITY declaration is refused (entity expansion); allowed: "
                         "a plain Pascal VOC XML file")
    except (expat.ExpatError, ET.ParseError) as e:
        raise LabelError(f"{where}: not XML ({e}); allowed: a Pascal VOC annotation XML file")
    if root.tag != "annotation":
        raise LabelError(f"{where}: root element <{root.tag}>; allowed: <annotation>")
    return root


def _number(parent, tag: str, where: str) -> float:
    el = parent.find(tag)
    text = (el.text or "").strip() if el is not None else ""
    if not text:
        raise LabelError(f"{where}: no {tag}; allowed: a bndbox with xmin, ymin, xmax, ymax")
    try:
        v = float(text)
    except ValueError:
        raise LabelError(f"{where}: {tag} {text!r} is not a number; allowed: pixel coordinates")
    if not math.isfinite(v):
        raise LabelError(f"{where}: {tag} {text!r} is not finite; allowed: pixel coordinates")
    return v


def read_box(el, where: str, w: int, h: int) -> tuple[tuple, bool]:
    """(the continuous box of el's bndbox, clipped to the image; whether a value was a hair outside)."""
    bb = el.find("bndbox")
    if bb is None:
        raise LabelError(f"{where}: no bndbox; allowed: a bndbox with xmin, ymin, xmax, ymax")
    xmin, ymin, xmax, ymax = (_number(bb, t, f"{where} bndbox") for t in COORDS)
    for lo, hi, a, b in ((xmin, xmax, "xmin", "xmax"), (ymin, ymax, "ymin", "ymax")):
        if hi < lo:
            raise LabelError(f"{where} bndbox: {b} ({hi:g}) < {a} ({lo:g}); allowed: {a} <= {b} (1-based pixels, "
                             "inclusive)")
    box = (xmin - 1, ymin - 1, xmax, ymax)
    for v, given, lim, tag in zip(box, (xmin, ymin, xmax, ymax), (w, h, w, h), COORDS):
        if v < -1 or v > lim + 1:
            raise LabelError(f"{where} bndbox: {tag} ({given:g}) is more than 1 px outside the {w}x{h} image; "
                             f"allowed: 1..{lim} (a pixel outside is clipped)")
    inside = (max(0.0, box[0]), max(0.0, box[1]), min(float(w), box[2]), min(float(h), box[3]))
    if inside[2] <= inside[0] or inside[3] <= inside[1]:
        raise LabelError(f"{where} bndbox: the box lies outside the {w}x{h} image; allowed: a box inside it")
    return inside, inside != box


def _touches(box, w: int, h: int) -> bool:
    return box[0] <= EDGE or box[1] <= EDGE or box[2] >= w - EDGE or box[3] >= h - EDGE


def read_objects(root, where: str, w: int, h: int) -> tuple[list[Obj], bool]:
    """(the objects of the annotation and their parts, in order; whether a value was clipped)."""
    objs, clipped = [], False
    for i, el in enumerate(root.findall("object"), start=1):
        name = (el.findtext("name") or "").strip()
        at = f"{where} object {i}" + (f" ({name})" if name else "")
        if not name:
            raise LabelError(f"{at}: no name; allowed: an object with a class name and a bndbox")
        box, cut = read_box(el, at, w, h)
        clipped |= cut
        objs.append(Obj(name, "box", box, extra={"voc": el, "box": None if cut else box, "edge": _touches(box, w, h)}))
        for j, part in enumerate(el.findall("part")):
            pname = (part.findtext("name") or "").strip() or "part"
            pbox, cut = read_box(part, f"{at} part {j + 1} ({pname})", w, h)
            clipped |= cut
            objs.append(Obj(f"{name}/{pname}", "box", pbox,
                            extra={"voc": part, "parent": el, "part": j, "box": None if cut else pbox}))
    return objs, clipped


def _size(root, where: str, w: int, h: int) -> bool:
    """Whether <size> is whole (width, height, depth); LabelError when it is not the image's."""
    size = root.find("size")
    if size is None:
        return False
    for tag, v in (("width", w), ("height", h)):
        text = (size.findtext(tag) or "").strip()
        if not text:
            return False
        try:
            ok = float(text) == v
        except ValueError:
            raise LabelError(f"{where} size: {tag} {text!r} is not a number; allowed: the image's {tag} {v}")
        if not ok:
            raise LabelError(f"{where} size: {tag} {text} but the image is {w}x{h}; allowed: the image's size")
    return bool((size.findtext("depth") or "").strip())


def _depth(src: str) -> int:
    """The image's channels, from its header."""
    from PIL import Image

    try:
        with Image.open(src) as im:
            return len(im.getbands())
    except Exception:  # noqa: BLE001 - only for an XML that lacks <depth>
        return 3


# -- writing ----------------------------------------------------------------------------------------
def _indent(parent) -> str:
    """The whitespace before parent's first child ("" when it has none or holds text)."""
    return parent.text if parent.text and not parent.text.strip() else ""


def _child(parent, tag: str, text: str, before: tuple = ()):
    """parent's <tag> set to text; a new one goes before the first of `before` (else last), indented."""
    import xml.etree.ElementTree as ET

    el = parent.find(tag)
    if el is None:
        el = ET.Element(tag)
        kids = list(parent)
        at = next((i for i, k in enumerate(kids) if k.tag in before), len(kids))
        if at == len(kids) and kids:
            el.tail, kids[-1].tail = kids[-1].tail, _indent(parent) or kids[-1].tail
        else:
            el.tail = _indent(parent) or None
        parent.insert(at, el)
    el.text = text
    return el


def _remove(parent, el) -> None:
    """el out of parent; the closing whitespace of a last child moves to the one before it."""
    kids = list(parent)
    i = kids.index(el)
    if i == len(kids) - 1 and i:
        kids[i - 1].tail = el.tail
    parent.remove(el)


def _pixels(box, w: int, h: int) -> tuple:
    """A continuous box as VOC's 1-based inclusive integers within the image."""
    x0, y0, x1, y1 = box
    xmin, ymin = min(w, max(1, math.floor(x0 + 0.5) + 1)), min(h, max(1, math.floor(y0 + 0.5) + 1))
    return xmin, ymin, max(xmin, min(w, math.floor(x1 + 0.5))), max(ymin, min(h, math.floor(y1 + 0.5)))


def _set_box(el, ob: Obj, w: int, h: int) -> bool:
    """el's bndbox set to ob's box; False (untouched) when the box is the one read."""
    if ob.box == ob.extra.get("box"):
        return False
    bb = el.find("bndbox")
    if bb is None:
        bb = _child(el, "bndbox", "")
    for tag, v in zip(COORDS, _pixels(ob.box, w, h)):
        _child(bb, tag, str(v))
    return True


def _object_element(ob: Obj, parts: dict, w: int, h: int):
    """The output's <object> of ob: its input element (a copy), box, truncated and kept parts updated."""
    import xml.etree.ElementTree as ET

    src = ob.extra.get("voc")
    el = copy.deepcopy(src) if src is not None else ET.fromstring("<object><name /></object>")
    if src is None:
        el.find("name").text = str(ob.cls)
    if _set_box(el, ob, w, h) and _touches(ob.box, w, h) and not ob.extra.get("edge", False):
        _child(el, "truncated", "1", before=("difficult", "occluded", "bndbox", "part"))
    kept = parts.get(id(src), {})
    for j, part in reversed(list(enumerate(el.findall("part")))):
        if j in kept:
            _set_box(part, kept[j], w, h)
        else:
            _remove(el, part)
    return el


def _splice(root, objects: list) -> None:
    """root's <object> children replaced by `objects`, where the first one was (else at the end)."""
    kids = list(root)
    closing = kids[-1].tail if kids else "\n"
    inner = (_indent(root) if kids else "\n\t") or None  # None: a compact file
    at = next((i for i, k in enumerate(kids) if k.tag == "object"), len(kids))
    for k in kids:
        if k.tag == "object":
            root.remove(k)
    for k, el in enumerate(objects):
        el.tail = inner
        root.insert(at + k, el)
    for el in list(root)[:-1]:  # the old last child, now inside: the siblings' whitespace
        if el.tail == closing and closing != inner and not (el.tail or "").strip():
            el.tail = inner
    if len(root):
        root[-1].tail = closing


def write_xml(ann: Annotation, w: int, h: int, filename: str) -> bytes:
    """The output's XML: the input's (or a blank one) with filename, size and objects updated."""
    import xml.etree.ElementTree as ET

    info = ann.info
    root = copy.deepcopy(info["root"]) if info.get("root") is not None else ET.fromstring(BLANK)
    _child(root, "filename", filename, before=("path", "source", "owner", "size", "segmented", "object"))
    size, made = root.find("size"), root.find("size") is None
    if made:
        size = _child(root, "size", None, before=("segmented", "object"))
    for tag, v in (("width", w), ("height", h)):
        _child(size, tag, str(v), before=("depth",))
    if not (size.findtext("depth") or "").strip():
        _child(size, "depth", str(info.get("depth", 3)))
    if made:
        ET.indent(size, space=_indent(root).lstrip("\n") or "\t", level=1)
    if info.get("root") is None and ann.mask is not None:
        root.find("segmented").text = "1"
    parts, tops = {}, []
    for ob in ann.objs:
        if "parent" in ob.extra:
            parts.setdefault(id(ob.extra["parent"]), {})[ob.extra["part"]] = ob
        else:
            tops.append(ob)
    _splice(root, [_object_element(ob, parts, w, h) for ob in tops])
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if info.get("decl") else ""
    return (head + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


# -- the format ---------------------------------------------------------------------------------------
SET_NAMES = ("train", "val", "trainval", "test")


def read_sets(root: Path) -> tuple[dict, str | None]:
    """({image stem: "val" or "test"}, the folder read) of ImageSets/Main (else Segmentation)."""
    for sub in ("Main", "Segmentation"):
        d = root / "ImageSets" / sub
        if d.is_dir():
            break
    else:
        return {}, None
    sets = {}
    for name in SET_NAMES:
        p = d / f"{name}.txt"
        try:
            text = p.read_text(encoding="utf-8", errors="replace") if p.is_file() else ""
        except OSError as e:
            raise UsageError(f"{p}: cannot read it ({e.strerror})")
        sets[name] = [line.split()[0] for line in text.splitlines() if line.split()]
    split = {s: "test" for s in sets["test"]} | {s: "val" for s in sets["val"]}
    for s in sets["train"]:
        split.pop(s, None)
    return split, f"ImageSets/{sub}"


class VocFormat(Format):
    """INPUT/JPEGImages/<name>.<ext> + INPUT/Annotations/<name>.xml (+ SegmentationClass/<name>.png)."""

    name, images_dir, side_dir = "voc", "JPEGImages", "Annotations"
    mask_dir = "SegmentationClass"
    sets: dict = {}  # image stem -> "val" / "test" (ImageSets)
    sets_from: str | None = None

    def load(self) -> "VocFormat":
        self.sets, self.sets_from = read_sets(self.root)
        return self

    def note(self) -> str:
        what = super().note()
        if self.sets_from:
            n = {s: sum(v == s for v in self.sets.values()) for s in ("val", "test")}
            what += f", splits from {self.sets_from} ({n['val']} val, {n['test']} test)"
        if (self.root / self.mask_dir).is_dir():
            what += f", {self.mask_dir}/ masks"
        if (self.root / "SegmentationObject").is_dir():
            what += ", SegmentationObject/ not written"
        return what

    def _stem(self, image: str) -> str:
        """An image's path under JPEGImages/, without extension."""
        return str(PurePosixPath(*PurePosixPath(image).parts[1:]).with_suffix(""))

    def split_of(self, source: str) -> tuple[str, str]:
        rel = str(PurePosixPath(*PurePosixPath(source).parts[1:]))
        return self.sets.get(str(PurePosixPath(rel).with_suffix("")), "train"), rel

    def output_image(self, path: str) -> str:
        return str(PurePosixPath(self.images_dir, *PurePosixPath(path).parts[1:]))

    def side_paths(self, image_out: str) -> list[str]:
        return [f"{self.side_dir}/{self._stem(image_out)}.xml"]

    def read(self, src: str, source: str, w: int, h: int) -> Annotation:
        where = self.side_paths(source)[0]
        try:
            data = (self.root / where).read_bytes()
        except FileNotFoundError:
            data = None  # a background image
        info: dict = {"root": None}
        objs, raw = [], None
        if data is not None:
            root = parse_xml(data, where)
            objs, clipped = read_objects(root, where, w, h)
            whole = _size(root, where, w, h)
            info.update(root=root, decl=data.lstrip().startswith(b"<?xml"), filename=root.findtext("filename"))
            raw = None if clipped or not whole else data
        if raw is None:
            info["depth"] = _depth(src)
        ann = Annotation(objs, raw=raw, info=info)
        mask = f"{self.mask_dir}/{self._stem(source)}.png"
        if (self.root / mask).is_file():
            from .masks import read_mask

            info["mask_raw"] = (self.root / mask).read_bytes()
            ann.mask = info["mask_in"] = read_mask(info["mask_raw"], mask, w, h)
        return ann

    def write(self, ann: Annotation, w: int, h: int, image_out: str, source: str) -> dict[str, bytes]:
        files = {}
        if ann.mask is not None:  # first: the XML (checked on resume) is written after it
            from .masks import encode_mask

            same = ann.mask is ann.info.get("mask_in")
            files[f"{self.mask_dir}/{self._stem(image_out)}.png"] = \
                ann.info["mask_raw"] if same else encode_mask(ann.mask, ann.mask.arr)
        name = PurePosixPath(image_out).name
        same = ann.raw is not None and ann.info.get("filename") == name
        files[self.side_paths(image_out)[0]] = ann.raw if same else write_xml(ann, w, h, name)
        return files

    def finish(self, out: Path, plan, done: bool) -> None:
        """ImageSets/Main/<split>.txt (and trainval.txt) of the outputs on disk, in plan order;
        ImageSets/Segmentation/ likewise for those with a mask."""
        from ..io import atomic_write

        main: dict = {}
        seg: dict = {}
        for job in plan.jobs:
            for o in job.outputs:
                if not (out / o.path).exists():
                    continue
                stem = self._stem(o.path)
                sets = [job.split] + (["trainval"] if job.split in ("train", "val") else [])
                has_mask = (out / self.mask_dir / f"{stem}.png").exists()
                for s in sets:
                    main.setdefault(s, []).append(stem)
                    if has_mask:
                        seg.setdefault(s, []).append(stem)
        for sub, lists in (("Main", main), ("Segmentation", seg)):
            if "trainval" in lists and not ("train" in lists and "val" in lists):
                del lists["trainval"]
            for s, stems in lists.items():
                d = out / "ImageSets" / sub
                d.mkdir(parents=True, exist_ok=True)
                atomic_write(d / f"{s}.txt", "".join(f"{x}\n" for x in stems).encode())
