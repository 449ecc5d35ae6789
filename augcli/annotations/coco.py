"""COCO instances JSON (`--annotations coco --coco FILE.json`): the images under INPUT, found by
each image record's `file_name` (relative to INPUT), their annotations in one JSON file.

Reading (cocojson.py): the file once, its structure checked (UsageError naming it); one image's
annotations strictly when its source is loaded (LabelError naming the file, the annotation id
and the image: that source fails). Boxes are `box` objects, polygons `polygon` (every polygon of
the segmentation), keypoints `pose`, RLE masks `mask` (an object's own mask, warped by nearest
neighbour); every other field (iscrowd, custom keys) rides along in Obj.extra.

Writing: each output's image record and annotations go to a part file OUTPUT/.augcli/coco/<image
path>.json as the output is made (so a killed run resumes: an image without its part is made
again); `finish` assembles OUTPUT/annotations/instances_<split>.json from the parts of the
outputs on disk, in plan order: image ids 1..N, annotation ids 1..M, the input's other top-level
keys (info, licenses, categories ...) carried through. The same bytes for any worker count and
after a resume.

A dataset augcli wrote (OUTPUT/images/<split>/... + OUTPUT/annotations/instances_<split>.json) is
found without --coco too: the inspection commands read it back, and it can be augmented again.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from . import cocojson
from .format import SPLITS, Format
from .model import Annotation, LabelError

PARTS = ".augcli/coco"  # OUTPUT's state folder: kept across resume, cleared by --overwrite


_FETCHED: dict = {}  # URL -> a local copy, fetched once per process


def _local(p):
    """A local path of a COCO file: a remote one is fetched once per process (and kept)."""
    if not hasattr(p, "put"):
        return p
    if p.url not in _FETCHED:
        from ..storage import fetch, reported

        with reported(p.url):
            _FETCHED[p.url] = Path(fetch(p.url))
    return _FETCHED[p.url]


def _dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _instances(root: Path) -> list[tuple[str, Path]]:
    """(split, path) of root/annotations/instances_<split>.json (a dataset augcli wrote)."""
    folder = root / "annotations"
    if not folder.is_dir():
        return []
    found = sorted((p.name[len("instances_"):-len(".json")], p) for p in folder.iterdir()
                   if p.name.startswith("instances_") and p.name.endswith(".json"))
    return [(s, p) for s, p in found if s in ("train", "val", "test")]


class CocoFormat(Format):
    """Images under INPUT + a COCO instances JSON (--coco): boxes, polygons, RLE masks, keypoints."""

    name, images_dir, side_dir = "coco", "", ""

    def __init__(self, root: Path, detected: bool, cfg=None):
        super().__init__(root, detected, cfg)
        coco = getattr(cfg, "coco", None)
        from ..storage import location

        self.json_path = location(coco) if coco else None  # a local file, or a RemotePath
        if self.json_path is None:  # a dataset augcli wrote: images/<split>/ + annotations/instances_<split>.json
            self.images_dir = "images"
        self.files: list = []  # cocojson.CocoFile, one (--coco) or one per split (a written dataset)

    # -- finding the layout ----------------------------------------------------------------
    @classmethod
    def present(cls, root: Path, cfg) -> bool:
        if getattr(cfg, "coco", None):
            return True
        return (root / "images").is_dir() and bool(_instances(root))

    @classmethod
    def missing(cls, root: Path, cfg) -> str | None:
        coco = getattr(cfg, "coco", None)
        if coco:
            from ..storage import location

            return None if location(coco).is_file() else f"cannot run: --coco {coco}: file not found"
        if cls.present(root, cfg):
            return None
        return "is used without --coco: --coco FILE.json is required with annotations: coco"

    def load(self) -> "CocoFormat":
        if self.files:
            return self
        if self.json_path is not None:
            self.files = [cocojson.load(_local(self.json_path), self.json_path.name)]
        else:
            self.files = [cocojson.load(_local(p), f"annotations/{p.name}", f"images/{s}/")
                          for s, p in _instances(self.root)]
        for f in self.files:
            self.names.update({cid: str(c["name"]) for cid, c in f.cats.items()})
        return self

    @property
    def kpt_shape(self) -> tuple[int, int] | None:
        k = max((len(c.get("keypoints") or []) for f in self.files for c in f.cats.values()), default=0)
        return (k, 3) if k else None

    def flip_pairs(self) -> list:
        """The keypoint pairs a mirror swaps: the recipe's flip_pairs (COCO declares none)."""
        return self.opts["flip_pairs"]

    def note(self) -> str:
        how = "detected" if self.detected else "asked for"
        where = f"{self.json_path} for the images in {self.root}" if self.json_path else \
            f"annotations/instances_*.json in {self.root}"
        n_img = sum(len(f.images) for f in self.files)
        n_ann = sum(len(a) for f in self.files for a in f.anns.values())
        what = f"annotations: coco ({how}: {where}), {n_img} images, {n_ann} annotations, {len(self.names)} categories"
        if self.kpt_shape:
            what += f", keypoints {self.kpt_shape[0]}"
        return what

    def fingerprint(self) -> dict:
        return {"coco": [f.digest for f in self.files]}

    # -- the plan ------------------------------------------------------------------------------
    def discover(self, exts: set[str], follow_links: bool):
        """The JSON's images found under the root (sorted by file_name); warnings for images listed
        but not found, image files not listed (not augmented), annotations of no image."""
        from ..sources import Item, list_files

        files, warnings = list_files(self.images, exts, follow_links)
        prefix = f"{self.images_dir}/" if self.images_dir else ""
        on_disk = {prefix + r for _, r in files}
        listed = {s for f in self.files for s in f.images}
        items, gone = [], []
        for source in sorted(listed):
            if source in on_disk:
                rel = self.split_of(source)[1]
                items.append(Item(str(self.root / source), source, None, str(PurePosixPath(rel).with_suffix(""))))
            else:
                gone.append(source)
        name = " and ".join(f.name for f in self.files)
        if gone:
            warnings.append(f"{name}: {len(gone)} image(s) listed are not image files under {self.root}, skipped "
                            f"(e.g. {gone[0]})")
        unlisted = sorted(on_disk - listed)
        if unlisted:
            warnings.append(f"{self.root}: {len(unlisted)} image file(s) not in {name}: not augmented, not written "
                            f"(e.g. {unlisted[0]})")
        for f in self.files:
            if f.orphans:
                warnings.append(f"{f.name}: {len(f.orphans)} annotation(s) of no listed image (image_id not in "
                                f"images), ignored (e.g. annotation id {f.orphans[0]})")
        return items, warnings

    def side_paths(self, image_out: str) -> list[str]:
        return [f"{PARTS}/{image_out}.json"]

    # -- one image -------------------------------------------------------------------------------
    def _file(self, source: str):
        f = next((f for f in self.files if source in f.images), None)
        if f is None:
            raise LabelError(f"{' and '.join(g.name for g in self.files)}: no image record of {source!r}")
        return f

    def read(self, src: str, source: str, w: int, h: int) -> Annotation:
        f = self._file(source)
        rec = f.images[source]
        what = f"{f.name} image id {rec['id']} ({rec['file_name']!r})"
        if (int(rec["width"]), int(rec["height"])) != (w, h):
            raise LabelError(f"{what}: width x height {rec['width']}x{rec['height']}, the image file is {w}x{h}; "
                             "allowed: the image's own size")
        objs, clipped = [], False
        anns = f.anns.get(source, [])
        for a in anns:
            where = f"{f.name} annotation id {a.get('id')} (image {rec['file_name']!r})"
            ob, c = cocojson.parse_annotation(a, where, w, h, f.cats)
            objs.append(ob)
            clipped |= c
        raw = None if clipped else _dumps([{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in anns])
        return Annotation(objs, raw=raw, info=rec)

    def write(self, ann: Annotation, w: int, h: int, image_out: str, source: str) -> dict[str, bytes]:
        """The output's part: its image record (file_name relative to images/<split>/, the input
        record's other fields) and its annotations (an original's as they were; else from the
        moved objects: bbox, area, segmentation and keypoints recomputed)."""
        rel = str(PurePosixPath(*PurePosixPath(image_out).parts[2:]))
        image = {"file_name": rel, "width": w, "height": h}
        image.update({k: v for k, v in ann.info.items() if k not in ("id", "file_name", "width", "height")})
        anns = json.loads(ann.raw) if ann.raw is not None else [cocojson.record(ob) for ob in ann.objs]
        return {self.side_paths(image_out)[0]: _dumps({"image": image, "annotations": anns})}

    # -- the whole dataset -------------------------------------------------------------------------
    def finish(self, out: Path, plan, done: bool) -> None:
        """OUTPUT/annotations/instances_<split>.json of each split of the plan, from the parts of the
        outputs on disk, in plan order (also after an interrupted run: what is there)."""
        from ..io import atomic_write

        splits: dict = {}
        for job in plan.jobs:
            for o in job.outputs:
                split = PurePosixPath(o.path).parts[1]
                splits.setdefault(SPLITS.get(split, split), []).append(o.path)
        (out / "annotations").mkdir(parents=True, exist_ok=True)
        for split, paths in sorted(splits.items()):
            atomic_write(out / "annotations" / f"instances_{split}.json", self._assemble(out, paths))

    def _assemble(self, out: Path, paths: list[str]) -> bytes:
        from ..storage import exists_fn

        images, anns, there = [], [], exists_fn(out)
        for path in paths:
            part = out / self.side_paths(path)[0]
            if not there(path) or not there(self.side_paths(path)[0]):
                continue
            p = json.loads(part.read_bytes())
            iid = len(images) + 1
            images.append({"id": iid, **p["image"]})
            anns.extend({"id": len(anns) + 1, "image_id": iid, **a} for a in p["annotations"])
        top = dict(self.files[0].top) if self.files else {"categories": []}
        top["images"], top["annotations"] = images, anns
        return _dumps(top)
