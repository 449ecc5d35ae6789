"""Semantic masks: a class-index PNG beside each image (masks/<same path>.png), of the image's size.

Read with Pillow: 8-bit grey (L), 16-bit grey (I;16), 1-bit, or palette (P, whose palette and
transparency are kept). Warped with the image's own matrices (the pipeline's warps, pixel
centres) by nearest neighbour, fill `mask_fill` (default 0): never blended, so no class value
appears that the mask or the fill did not hold. Written as PNG of the same mode (a 1-bit mask
as 8-bit 0/1). Cutout holes leave masks as they are (the object is hidden, not gone).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath

from .format import Format
from .model import Annotation


@dataclass
class Mask:
    arr: object  # numpy uint8 or uint16 class indices, h x w
    mode: str  # Pillow's mode as read: L, I;16, 1, P
    palette: list | None
    transparency: object


_MODES = {"L": "uint8", "P": "uint8", "1": "uint8", "I;16": "uint16", "I;16B": "uint16", "I": "uint16"}


def read_mask(data: bytes, where: str, w: int, h: int) -> Mask:
    """The mask in `data` (a PNG), checked: a class-index image of the image's size w x h."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise ValueError(f"{where}: a {im.format} file; allowed: a PNG class-index map")
            mode = im.mode
            if mode not in _MODES:
                raise ValueError(f"{where}: mode {mode} is not a class-index map; allowed: 8- or 16-bit grey, "
                                 "or palette PNG")
            if im.size != (w, h):
                raise ValueError(f"{where}: mask is {im.size[0]}x{im.size[1]}, its image {w}x{h}; allowed: "
                                 "a mask of its image's size")
            arr = np.asarray(im)
            palette = im.getpalette() if mode == "P" else None
            transparency = im.info.get("transparency")
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"{where}: cannot read the mask ({' '.join(str(e).split())})")
    if mode == "I" and (arr.min() < 0 or arr.max() > 65535):
        raise ValueError(f"{where}: 32-bit mask values beyond 0..65535; allowed: 8- or 16-bit class indices")
    return Mask(np.ascontiguousarray(arr.astype(_MODES[mode])), mode, palette, transparency)


def warp_mask(arr, warps: list, fill: int):
    """`warps`: the pipeline's [(ops before, 3x3 matrix, w, h)] in order."""
    import cv2
    import numpy as np

    fill = min(int(fill), int(np.iinfo(arr.dtype).max))
    for _, M, w, h in warps:
        M = np.asarray(M, float)
        if M.shape[0] == 3 and (abs(M[2, 0]) > 1e-12 or abs(M[2, 1]) > 1e-12 or abs(M[2, 2] - 1) > 1e-12):
            arr = cv2.warpPerspective(arr, M, (int(w), int(h)), flags=cv2.INTER_NEAREST,  # perspective
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
            continue
        arr = cv2.warpAffine(arr, M[:2], (int(w), int(h)), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return arr


def encode_mask(mask: Mask, arr) -> bytes:
    """`arr` as a PNG of the mask's mode (palette and transparency kept)."""
    import numpy as np
    from PIL import Image

    if mask.mode == "P":
        im = Image.frombytes("P", (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes())
        im.putpalette(mask.palette)
        b = io.BytesIO()
        kw = {} if mask.transparency is None else {"transparency": mask.transparency}
        im.save(b, format="PNG", **kw)
        return b.getvalue()
    import cv2

    if mask.mode == "1":
        arr = arr.astype(np.uint8)
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise ValueError(f"cannot encode a {arr.dtype} mask as PNG")
    return buf.tobytes()


class MasksFormat(Format):
    """INPUT/images/... + INPUT/masks/<same path>.png: a semantic mask per image."""

    name, images_dir, side_dir = "masks", "images", "masks"

    def side_paths(self, image_out: str) -> list[str]:
        p = PurePosixPath(image_out)
        return [str(PurePosixPath(self.side_dir, *p.parts[1:]).with_suffix(".png"))]

    def read(self, src: str, source: str, w: int, h: int) -> Annotation:
        name = self.side_paths(source)[0]
        try:
            data = (self.root / name).read_bytes()
        except FileNotFoundError:
            raise ValueError(f"{name}: no mask for this image; allowed: a mask PNG of the same name")
        return Annotation(mask=read_mask(data, name, w, h), raw=data)

    def write(self, ann: Annotation, w: int, h: int, image_out: str, source: str) -> dict[str, bytes]:
        data = ann.raw if ann.raw is not None else encode_mask(ann.mask, ann.mask.arr)
        return {self.side_paths(image_out)[0]: data}
