"""What every annotation format reads into and writes from: objects in pixels, and a semantic mask.

Coordinates are continuous pixels (x in [0, width]; pixel i spans [i, i + 1]). An object is a
box, one or more polygons, a box with keypoints, or a mask of its own (COCO run-length masks);
`extra` carries a format's other fields through unchanged (COCO's `iscrowd` and custom keys,
VOC's `difficult`, `pose` ...). Imports nothing heavy.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class LabelError(ValueError):
    """A malformed annotation file or line; the message names the file (and line) and the problem."""


@dataclass
class Obj:
    cls: int | str  # a class id (YOLO, COCO category_id, mask value) or a class name (VOC)
    kind: str  # "box", "polygon", "pose" or "mask"
    box: tuple | None  # (x0, y0, x1, y1) in pixels; None for a YOLO polygon (made from it when moved)
    polys: list | None = None  # [[(x, y), ...], ...]: the object's polygons (segmentation)
    kpts: list | None = None  # [[x, y, v], ...] in pixels; v 0 (not labelled / not visible), 1 or 2
    mask: object = None  # an object's own mask (numpy uint8, the image's size), COCO RLE objects
    extra: dict = field(default_factory=dict)  # the format's other fields, written back unchanged

    @property
    def poly(self) -> list | None:
        """The first polygon (YOLO segmentation lines hold one)."""
        return self.polys[0] if self.polys else None


@dataclass
class Annotation:
    """One image's annotation: its objects and/or its semantic mask (masks.Mask)."""

    objs: list = field(default_factory=list)
    mask: object = None
    raw: bytes | None = None  # the input file's bytes when an original may be a byte copy of them
    info: dict = field(default_factory=dict)  # the format's per-image record (COCO image fields, VOC XML)
