"""COCO instances JSON: the file read once (its structure checked), one annotation into an Obj
(strictly), an Obj back into an annotation record (bbox and area from its geometry), RLE both ways.

Coordinates are COCO's pixels, continuous as in model.py (x in [0, width]): bbox [x, y, w, h],
polygons [x1, y1, x2, y2, ...], keypoints [x, y, v] * K. A coordinate less than 1 pixel outside
the image (TOLERANCE) is clipped silently; farther out is an error. Run-length masks (RLE,
`{size: [h, w], counts}`) come uncompressed (a list of runs) or compressed (COCO's string); the
runs are checked to cover exactly the image before anything is decoded.

Errors of the whole file (not JSON, no `images`, an image record without file_name ...) are a
UsageError naming the file; errors of one annotation are a LabelError naming the file, the
annotation's id and its image (the image's source fails, the run goes on).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .geometry import area
from .model import LabelError, Obj

TOLERANCE = 1.0  # pixels: a coordinate less than this outside the image is clipped
GEOMETRY = ("id", "image_id", "category_id", "bbox", "area", "segmentation", "keypoints", "num_keypoints")
RLE_FORM = "\0rle"  # an Obj.extra key (never written): "compressed" or "list", the input RLE's form
KEYS = "\0keys"  # an Obj.extra key (never written): the record's keys in the input's order
ALLOWED = "COCO instances JSON (an object with images, annotations and categories lists)"


@dataclass
class CocoFile:
    path: Path
    name: str  # how messages name the file
    top: dict  # the file's top-level keys in order (images and annotations: None), carried to the output
    images: dict  # source (path under the root) -> image record
    anns: dict  # source -> [annotation records], in the file's order
    cats: dict  # category id -> category record
    digest: str
    orphans: list = field(default_factory=list)  # ids of annotations whose image_id is no image's


_CACHE: dict = {}


def load(path: Path, name: str, prefix: str = "") -> CocoFile:
    """The file at `path` (read once per process while it is unchanged); sources are `prefix` +
    each image's file_name."""
    try:
        st = path.stat()
    except OSError as e:
        raise UsageError(f"{path}: cannot read the COCO file ({e.strerror or e})")
    key = (str(path.resolve()), prefix, st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        import gc

        _CACHE.clear()  # one dataset at a time (a 100 MB file is ~1 GB of objects)
        enabled = gc.isenabled()
        gc.disable()  # millions of new containers: the cyclic collector would more than double the time
        try:
            _CACHE[key] = _read(path, name, prefix)
        finally:
            if enabled:
                gc.enable()
        gc.freeze()  # kept for the process (and forked workers): never scanned again
    return _CACHE[key]


def _read(path: Path, name: str, prefix: str) -> CocoFile:
    import hashlib
    import json

    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as e:
        raise UsageError(f"{path}: cannot read the COCO file ({e.strerror or e})")
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{path}: not JSON ({' '.join(str(e).split())[:160]}); allowed: {ALLOWED}")
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a JSON {type(data).__name__}, not an object; allowed: {ALLOWED}")
    by_id, images = _images(data, path, prefix)
    anns, orphans = _annotations(data, path, by_id)
    cats = _categories(data, path)
    top = {k: (None if k in ("images", "annotations") else v) for k, v in data.items()}
    return CocoFile(path, name, top, images, anns, cats, hashlib.sha256(raw).hexdigest(), orphans)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()


def _source(file_name: str, where: str, prefix: str) -> str:
    p = PurePosixPath(file_name.replace("\\", "/"))
    parts = [q for q in p.parts if q != "."]
    if p.is_absolute() or ".." in parts or not parts:
        raise UsageError(f"{where}: file_name {file_name!r} is not allowed; allowed: a path relative to INPUT")
    return prefix + str(PurePosixPath(*parts))


def _images(data: dict, path: Path, prefix: str) -> tuple[dict, dict]:
    recs = data.get("images")
    if not isinstance(recs, list):
        raise UsageError(f"{path}: no `images` list; allowed: {ALLOWED}")
    by_id, images = {}, {}
    for i, rec in enumerate(recs):
        where = f"{path}: images[{i}]"
        if not isinstance(rec, dict):
            raise UsageError(f"{where}: not an object; allowed: {{id, file_name, width, height, ...}}")
        iid, fname, w, h = (rec.get(k) for k in ("id", "file_name", "width", "height"))
        if not is_int(iid):
            raise UsageError(f"{where}: id {iid!r} is not allowed; allowed: an integer")
        if not isinstance(fname, str):
            raise UsageError(f"{where}: file_name {fname!r} is not allowed; allowed: a path relative to INPUT")
        if not (is_int(w) and is_int(h) and w > 0 and h > 0):
            raise UsageError(f"{where}: width {w!r}, height {h!r} are not allowed; allowed: integers > 0")
        source = _source(fname, where, prefix)
        if iid in by_id:
            raise UsageError(f"{where}: id {iid!r} is also the id of {by_id[iid]!r}; allowed: unique image ids")
        if source in images:
            raise UsageError(f"{where}: file_name {fname!r} is listed twice; allowed: one record per image")
        by_id[iid] = source
        images[source] = rec
    return by_id, images


def _annotations(data: dict, path: Path, by_id: dict) -> tuple[dict, list]:
    recs = data.get("annotations", [])
    if not isinstance(recs, list):
        raise UsageError(f"{path}: `annotations` is a {type(recs).__name__}; allowed: a list")
    anns: dict = {}
    orphans = []
    for i, a in enumerate(recs):
        if not isinstance(a, dict):
            raise UsageError(f"{path}: annotations[{i}]: not an object; allowed: {{image_id, category_id, bbox, ...}}")
        iid = a.get("image_id")
        source = by_id.get(iid) if is_int(iid) else None
        if source is None:
            orphans.append(a.get("id", f"[{i}]"))
        else:
            anns.setdefault(source, []).append(a)
    return anns, orphans


def _categories(data: dict, path: Path) -> dict:
    recs = data.get("categories")
    if not isinstance(recs, list):
        raise UsageError(f"{path}: no `categories` list; allowed: {ALLOWED}")
    cats: dict = {}
    for i, c in enumerate(recs):
        ok = isinstance(c, dict) and is_int(c.get("id")) and isinstance(c.get("name"), str)
        kp = c.get("keypoints") if ok else None
        if not ok or not (kp is None or isinstance(kp, list)):
            raise UsageError(f"{path}: categories[{i}]: {str(c)[:80]} is not allowed; allowed: {{id: integer, "
                             "name: text, keypoints: [names] (optional), ...}")
        if int(c["id"]) in cats:
            raise UsageError(f"{path}: categories[{i}]: id {c['id']!r} is listed twice; allowed: unique ids")
        cats[int(c["id"])] = c
    return cats


# -- one annotation ---------------------------------------------------------------------------
class _Values:
    """An annotation's numbers, checked: finite, inside the image (a hair outside: clipped, noted)."""

    def __init__(self, where: str, w: int, h: int):
        self.where, self.size, self.clipped = where, (w, h), False

    def fail(self, what: str, allowed: str):
        raise LabelError(f"{self.where}: {what}; allowed: {allowed}")

    def num(self, v, what: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(f"{what} {v!r} is not a number", "finite numbers")
        return float(v)

    def coord(self, v, axis: int, what: str) -> float:
        x, size = self.num(v, what), self.size[axis]
        if 0.0 <= x <= size:
            return x
        if -TOLERANCE < x < size + TOLERANCE:
            self.clipped = True
            return min(float(size), max(0.0, x))
        self.fail(f"{what} {x!r} is outside the image (0..{size})",
                  f"coordinates in the image (less than {TOLERANCE:g} pixel outside is clipped)")


def _bbox(b, p: _Values):
    if b is None:
        return None
    if not isinstance(b, list) or len(b) != 4:
        p.fail(f"bbox {str(b)[:60]} is not allowed", "[x, y, width, height] in pixels")
    x, y, bw, bh = (p.num(v, "bbox value") for v in b)
    if bw <= 0 or bh <= 0:
        p.fail(f"a box of zero or negative size ({bw!r} x {bh!r})", "width and height > 0")
    box = (p.coord(x, 0, "bbox x"), p.coord(y, 1, "bbox y"), p.coord(x + bw, 0, "bbox x + width"),
           p.coord(y + bh, 1, "bbox y + height"))
    if box[2] <= box[0] or box[3] <= box[1]:
        p.fail("a box outside the image", "a box in the image")
    return box


def _polygons(seg: list, p: _Values) -> list:
    polys = []
    for poly in seg:
        if not isinstance(poly, list):
            p.fail(f"segmentation part {str(poly)[:40]} is not allowed", "polygons [x1, y1, x2, y2, ...] or an RLE")
        if len(poly) < 6:
            p.fail("a polygon with fewer than 3 points", "3 or more x, y points")
        if len(poly) % 2:
            p.fail(f"a polygon of {len(poly)} values (an odd count)", "x, y pairs")
        pts = [(p.coord(poly[i], 0, "polygon x"), p.coord(poly[i + 1], 1, "polygon y")) for i in range(0, len(poly), 2)]
        if area(pts) <= 0:
            p.fail("a polygon with no area (its points are on one line)", "3 or more points enclosing an area")
        polys.append(pts)
    return polys


def counts_of_string(s: str) -> list[int]:
    """The runs of COCO's compressed RLE string (pycocotools' rleFrString); ValueError if malformed."""
    counts: list[int] = []
    i, n = 0, len(s)
    while i < n:
        x, k, more = 0, 0, True
        while more:
            if i >= n:
                raise ValueError("it ends inside a number")
            c = ord(s[i]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {s[i]!r}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i, k = i + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _rle(seg: dict, p: _Values):
    """(the mask, uint8 0/1 of the image's size, and the RLE's form) of an RLE segmentation."""
    import numpy as np

    w, h = p.size
    size, counts = seg.get("size"), seg.get("counts")
    if size != [h, w]:
        p.fail(f"RLE size {size!r} is not its image's {w}x{h}", f"[{h}, {w}] (height, width of the image)")
    if isinstance(counts, str):
        try:
            runs, form = counts_of_string(counts), "compressed"
        except ValueError as e:
            p.fail(f"RLE counts cannot be read ({e})", "COCO's compressed RLE string or a list of runs")
    elif isinstance(counts, list) and all(is_int(c) for c in counts):
        runs, form = [int(c) for c in counts], "list"
    else:
        p.fail(f"RLE counts {str(counts)[:40]} are not allowed", "COCO's compressed RLE string or a list of runs")
    if any(r < 0 for r in runs) or sum(runs) != w * h:
        p.fail(f"RLE runs cover {sum(runs)} pixels (or hold a negative run), its image {w * h}",
               "runs covering the image exactly")
    mask = np.repeat((np.arange(len(runs)) % 2).astype(np.uint8), runs).reshape(w, h).T
    if not mask.any():
        p.fail("an empty mask (no pixel)", "a mask of at least one pixel")
    return np.ascontiguousarray(mask), form


def _keypoints(k, p: _Values, cat: dict):
    if k is None or k == []:
        return None
    if not isinstance(k, list) or len(k) % 3:
        p.fail(f"keypoints of {len(k) if isinstance(k, list) else str(k)[:40]} values", "x, y, v for each keypoint")
    n = len(cat.get("keypoints") or [])
    if n and len(k) != 3 * n:
        p.fail(f"{len(k) // 3} keypoints, its category {cat['name']!r} has {n}", f"{n} keypoints (x, y, v each)")
    kpts = []
    for j in range(0, len(k), 3):
        v = p.num(k[j + 2], "keypoint visibility")
        if v not in (0.0, 1.0, 2.0):
            p.fail(f"keypoint {j // 3} visibility {v!r} is not allowed", "0, 1 or 2")
        if v:
            kpts.append([p.coord(k[j], 0, "keypoint x"), p.coord(k[j + 1], 1, "keypoint y"), int(v)])
        else:
            kpts.append([0.0, 0.0, 0])
    return kpts


def parse_annotation(a: dict, where: str, w: int, h: int, cats: dict) -> tuple[Obj, bool]:
    """(the Obj of annotation record `a` in an image of w x h, whether a value was clipped)."""
    p = _Values(where, w, h)
    cid = a.get("category_id")
    if not is_int(cid) or int(cid) not in cats:
        ids = sorted(cats)
        p.fail(f"category_id {cid!r} is not in categories", f"{', '.join(map(str, ids[:12]))}{' ...' * (len(ids) > 12)}")
    cid = int(cid)
    box, seg = _bbox(a.get("bbox"), p), a.get("segmentation")
    polys = mask = None
    extra = {k: v for k, v in a.items() if k not in GEOMETRY}
    extra[KEYS] = list(a)
    if isinstance(seg, dict):
        mask, extra[RLE_FORM] = _rle(seg, p)
    elif isinstance(seg, list) and seg:
        polys = _polygons(seg, p)
    elif seg is not None:
        extra["segmentation"] = seg  # [] (or another empty value) of a box: carried through as it is
    kpts = _keypoints(a.get("keypoints"), p, cats[cid])
    if box is None:
        box = _box_of(polys, mask, p)
    kind = "mask" if mask is not None else "pose" if kpts is not None else "polygon" if polys else "box"
    return Obj(cid, kind, box, polys=polys, kpts=kpts, mask=mask, extra=extra), p.clipped


def _box_of(polys, mask, p: _Values) -> tuple:
    import numpy as np

    from .geometry import bbox

    if polys:
        return bbox([q for poly in polys for q in poly])
    if mask is not None:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)
    p.fail("no bbox and no segmentation", "a bbox [x, y, width, height], polygons or an RLE")


# -- writing ------------------------------------------------------------------------------------
def r2(v: float) -> float:
    """Rounded to 2 decimals (stable bytes), never -0.0."""
    return round(float(v), 2) + 0.0


def encode_rle(mask, form: str) -> dict:
    """The RLE of a uint8 0/1 mask: COCO's compressed string, or the list of runs."""
    import numpy as np

    h, w = mask.shape
    if form == "compressed":
        from pycocotools import mask as mask_utils

        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": [h, w], "counts": rle["counts"].decode("ascii")}
    flat = mask.ravel(order="F")
    bounds = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]])
    runs = np.diff(bounds).tolist()
    return {"size": [h, w], "counts": ([0] if flat.size and flat[0] else []) + runs}


def record(ob: Obj) -> dict:
    """The annotation record of an object (without id and image_id): bbox and area from its
    geometry, segmentation (polygons, or an RLE in its input's form), keypoints, other fields."""
    import numpy as np

    x0, y0, x1, y1 = ob.box
    r: dict = {"category_id": ob.cls}
    extra = dict(ob.extra)
    form, keys = extra.pop(RLE_FORM, "compressed"), extra.pop(KEYS, [])
    if ob.mask is not None:
        r["segmentation"] = encode_rle(ob.mask, form)
        r["area"] = int(np.count_nonzero(ob.mask))
    elif ob.polys is not None:
        r["segmentation"] = [[r2(v) for pt in poly for v in pt] for poly in ob.polys]
        r["area"] = r2(sum(area(poly) for poly in ob.polys))
    else:
        r["area"] = r2((x1 - x0) * (y1 - y0))
    r["bbox"] = [r2(x0), r2(y0), r2(x1 - x0), r2(y1 - y0)]
    if ob.kpts is not None:
        r["keypoints"] = [v for x, y, s in ob.kpts for v in ((r2(x), r2(y), int(s)) if s else (0, 0, 0))]
        r["num_keypoints"] = sum(1 for k in ob.kpts if k[2])
    r.update(extra)
    first = [k for k in keys if k in r]  # the input's order, then what it did not have
    return {k: r[k] for k in first + [k for k in r if k not in first]}
