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

import numpy as np


@dataclass
class Mask:
    arr: np.ndarray  # uint8 or uint16 class indices, h x w
    mode: str  # Pillow's mode as read: L, I;16, 1, P
    palette: list | None
    transparency: object
    data: bytes  # the file's bytes (an original is a byte copy)


_MODES = {"L": np.uint8, "P": np.uint8, "1": np.uint8, "I;16": np.uint16, "I;16B": np.uint16, "I": np.uint16}


def read_mask(data: bytes, where: str, w: int, h: int) -> Mask:
    """The mask in `data` (a PNG), checked: a class-index image of the image's size w x h."""
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
    return Mask(np.ascontiguousarray(arr.astype(_MODES[mode])), mode, palette, transparency, data)


def warp_mask(arr: np.ndarray, warps: list, fill: int) -> np.ndarray:
    """`warps`: the pipeline's [(ops before, 3x3 matrix, w, h)] in order."""
    import cv2

    fill = min(int(fill), int(np.iinfo(arr.dtype).max))
    for _, M, w, h in warps:
        arr = cv2.warpAffine(arr, np.asarray(M, float)[:2], (int(w), int(h)), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return arr


def encode_mask(mask: Mask, arr: np.ndarray) -> bytes:
    """`arr` as a PNG of the mask's mode (palette and transparency kept)."""
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
