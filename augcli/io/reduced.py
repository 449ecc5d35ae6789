"""A JPEG whose decode waits for the first warp, which then decodes it at reduced scale.

Most offline augmentation ends in a resize: a 1-12 MP photo stored at 224-640 px. When the
first block of a recipe is geometric (one fused 3x3 matrix M, full-resolution input pixel
coordinates -> output), the worker hands the pipeline an `Encoded` JPEG instead of pixels. The
steps sample their parameters from the header's size (the same draws, the same ops as a full
decode); then `for_warp(M, w, h)` picks the largest libjpeg reduction 1/d (d = 2, 4, 8) that
still leaves every direction of the output at or below the decoded image's resolution (the
warp never upsamples what was decoded small), decodes at 1/d in the DCT domain (the scaled
IDCT: 1/d of the work after entropy decoding, and a low-pass of its own), and returns M with
the reduction folded in, so one warp goes straight to the output size. When the output keeps
a small window of the image (random_crop, center_crop, random_resized_crop at small scales, a
zoom), only that window is decoded (`Encoded.region`: libjpeg-turbo's jpeg_crop_scanline and
jpeg_skip_scanlines through augcli._planes.decode_region; nothing below the window is read),
at 1/d too when the window allows it. The `decode` op (`denom`, and `region` [x, y, w, h] in
the stored 1/d decode) comes first in the output's ops; the steps' ops are those of a full decode.

Only JPEGs have a scaled decode here: OpenCV's IMREAD_REDUCED_* for BGR (libjpeg's
scale_denom; for other formats OpenCV decodes in full and resizes, which saves nothing) and
augcli._planes for YCbCr planes. PNG has no reduced decode in its format; WebP has one in
libwebp, but neither OpenCV nor Pillow exposes it: both take the full decode, and the warp
area-averages first when it shrinks by more than 2 (warp.py). The scale depends only on the
header's size and the sampled matrix, never on the worker: the same bytes for 1 or N workers.
"""
from __future__ import annotations

import math

import numpy as np

from .image import Planes, _orient, decode_full, decode_planes, header, jpeg_header, read_bytes

DENOMS = (8, 4, 2)
REGION = 0.5  # decode a window when it is at most this share of the image (times the copies)


def reduced_enabled() -> bool:
    """Off with AUGCLI_REDUCED=0 (every JPEG then decoded in full, as before; for comparisons)."""
    import os

    return os.environ.get("AUGCLI_REDUCED", "1") != "0"


def orient_matrix(orientation: int, W: int, H: int) -> np.ndarray:
    """Pixel coordinates of a W x H image as stored -> as shown after EXIF `orientation` (_orient)."""
    fx = [[-1, 0, W - 1], [0, 1, 0], [0, 0, 1]]
    fy = [[1, 0, 0], [0, -1, H - 1], [0, 0, 1]]
    t = [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    m = {2: fx, 3: np.array(fx) @ fy, 4: fy, 5: t,
         6: [[0, -1, H - 1], [1, 0, 0], [0, 0, 1]],
         7: [[0, -1, H - 1], [-1, 0, W - 1], [0, 0, 1]],
         8: [[0, 1, 0], [-1, 0, W - 1], [0, 0, 1]]}.get(orientation, np.eye(3))
    return np.array(m, float)


def footprint(M: np.ndarray, w: int, h: int):
    """(largest singular value of M's Jacobian where the output looks, the input points of the
    output's 4 corner pixels) for M (projective in general) -> a w x h output; None when the
    output sees M's horizon or M is singular. The Jacobian is taken at the input points of the
    output's corners and centre (its extremes over a quadrilateral lie at the corners)."""
    try:
        inv = np.linalg.inv(M).tolist()
    except np.linalg.LinAlgError:
        return None
    m = M.tolist()
    worst, corners = 0.0, []
    for ox, oy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), ((w - 1) / 2, (h - 1) / 2)):
        x, y, z = (r[0] * ox + r[1] * oy + r[2] for r in inv)
        if not abs(z) > 1e-12:
            return None
        x, y = x / z, y / z
        den = m[2][0] * x + m[2][1] * y + m[2][2]
        if not den > 0:
            return None  # the output sees the horizon (or a matrix that is not finite)
        a, b = (m[0][0] - ox * m[2][0]) / den, (m[0][1] - ox * m[2][1]) / den
        c, d = (m[1][0] - oy * m[2][0]) / den, (m[1][1] - oy * m[2][1]) / den
        sq = a * a + b * b + c * c + d * d
        worst = max(worst, math.sqrt((sq + math.sqrt(max(0.0, sq * sq - 4 * (a * d - b * c) ** 2))) / 2))
        corners.append((x, y))
    return worst, corners[:4]


def _inside(corners, W: int, H: int) -> bool:
    e = 1e-6
    return all(-0.5 - e <= x <= W - 0.5 + e and -0.5 - e <= y <= H - 0.5 + e for x, y in corners)


def reduction(M: np.ndarray, w: int, h: int, W: int, H: int, fp=False) -> int:
    """The largest d in 8, 4, 2 (else 1) such that M (a W x H image -> w x h) shrinks by d or more
    in every direction wherever the output looks (footprint). When the output sees past the
    image's edge (a fill), d must also divide W and H: libjpeg's last sample of a side that is
    not a multiple of d covers padding, so the edge (where reflect, wrap, nearest and constant
    fills start) would move by up to d - 1 pixels."""
    fp = footprint(M, w, h) if fp is False else fp  # (given by a caller that has it)
    if fp is None:
        return 1
    inside = _inside(fp[1], W, H)
    return next((d for d in DENOMS if fp[0] * d <= 1 + 1e-9 and (inside or (W % d == 0 and H % d == 0))), 1)


class Encoded:
    """A JPEG's bytes, its header read (size checked against max_pixels, EXIF orientation) and
    its decodes kept by scale: copies of one source share them. `shape` is the full oriented
    image's, so steps sample as they would on the decoded image."""

    def __init__(self, data: bytes, head, info: tuple, max_pixels: int, planes: bool, channels: int):
        self.data, self.head, self.info, self.max_pixels, self.planes = data, head, info, max_pixels, planes
        self.raw, self.orientation = (info[0], info[1]), info[2]  # (width, height) as stored
        w, h = self.raw[::-1] if self.orientation in (5, 6, 7, 8) else self.raw  # as shown
        self.shape = (h, w, 3) if channels == 3 else (h, w)
        self._cache: dict[int, np.ndarray | Planes] = {}
        self.uses = 1  # outputs made from this source, as the recipe plans them (the worker sets it): see region()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def full(self) -> np.ndarray | Planes:
        if 1 not in self._cache:
            self._cache[1] = decode_full(self.data, self.head, self.info, self.max_pixels, self.planes)
        return self._cache[1]

    def at(self, d: int) -> np.ndarray | Planes | None:
        """Decoded at 1/d and oriented; None when libjpeg cannot (then the caller decodes in full)."""
        if d == 1:
            return self.full()
        if d not in self._cache:
            self._cache[d] = self._decode(d)
        return self._cache[d]

    def _decode(self, d: int):
        import cv2

        o = self.orientation
        if self.planes:
            p = decode_planes(self.data, d)
            if p is not None and (o == 1 or not (p.y.shape[0] % 2 or p.y.shape[1] % 2)):
                return Planes(*(_orient(a, o) for a in (p.y, p.cb, p.cr)))
        flag = {2: "REDUCED_{}_2", 4: "REDUCED_{}_4", 8: "REDUCED_{}_8"}[d].format("COLOR" if self.ndim == 3 else "GRAYSCALE")
        img = cv2.imdecode(np.frombuffer(self.data, np.uint8), getattr(cv2, "IMREAD_" + flag) | cv2.IMREAD_IGNORE_ORIENTATION)
        W, H = self.raw
        if img is None or img.shape[:2] != (-(-H // d), -(-W // d)):
            return None
        return _orient(img, o)

    def _stored(self, d: int) -> np.ndarray:
        """Full oriented pixel coordinates -> those of the 1/d decode as stored. libjpeg's 1/d
        sample i covers stored pixels d*i .. d*i + d - 1 (x_d + 0.5 = (x + 0.5) / d)."""
        W, H = self.raw
        R = np.array([[1 / d, 0, 0.5 / d - 0.5], [0, 1 / d, 0.5 / d - 0.5], [0, 0, 1]])
        return R @ np.linalg.inv(orient_matrix(self.orientation, W, H))

    def fold(self, d: int) -> np.ndarray:
        """Full oriented pixel coordinates -> those of the oriented 1/d decode."""
        W, H = self.raw
        return orient_matrix(self.orientation, -(-W // d), -(-H // d)) @ self._stored(d)

    def for_warp(self, M: np.ndarray, w: int, h: int) -> tuple[np.ndarray | Planes, np.ndarray, dict | None]:
        """(image, matrix, op): the decode at the reduction M allows (or only the window of it the
        output needs: region), M from its pixels, and the `decode` op to record (None: in full)."""
        fp = footprint(M, w, h)
        d = reduction(M, w, h, self.shape[1], self.shape[0], fp)
        got = self.region(M, fp, d)
        if got is not None:
            return got
        img = self.at(d) if d > 1 else None
        if img is None:
            return self.full(), M, None
        return img, M @ np.linalg.inv(self.fold(d)), {"name": "decode", "denom": d}

    def region(self, M: np.ndarray, fp, d: int):
        """for_warp's answer from a window of the 1/d decode (libjpeg-turbo's crop and skip: the
        IDCT and colour conversion of the window only, and nothing below it read at all), when
        the output stays inside the image and the window, times the recipe's copies (`uses`: the
        decodes of the whole image are shared, windows are not), is at most REGION of it."""
        from .image import _planar_codec

        codec = _planar_codec()
        if codec is None or not hasattr(codec, "decode_region") or fp is None or not _inside(fp[1], *self.shape[1::-1]):
            return None
        W, H = self.raw
        Wd, Hd = -(-W // d), -(-H // d)
        S = self._stored(d)
        pts = [(S[0] @ (x, y, 1), S[1] @ (x, y, 1)) for x, y in fp[1]]
        x0, y0 = max(0, math.floor(min(p[0] for p in pts)) - 2), max(0, math.floor(min(p[1] for p in pts)) - 2)
        x1, y1 = min(Wd, math.ceil(max(p[0] for p in pts)) + 3), min(Hd, math.ceil(max(p[1] for p in pts)) + 3)
        if self.uses * (x1 - x0) * (y1 - y0) > REGION * Wd * Hd:
            return None
        out = codec.decode_region(self.data, d, x0, y0, x1 - x0, y1 - y0)
        if out is None:
            return None
        buf, xs, width, ch = out
        img = np.frombuffer(buf, np.uint8).reshape(y1 - y0, width, ch)
        img = _orient(img[:, :, 0] if ch == 1 else img, self.orientation)
        T = np.array([[1, 0, -xs], [0, 1, -y0], [0, 0, 1]], float)
        F = orient_matrix(self.orientation, width, y1 - y0) @ T @ S
        return img, M @ np.linalg.inv(F), {"name": "decode", "denom": d, "region": [xs, y0, width, y1 - y0]}


def open_image(path, max_pixels: int, planes: bool = False):
    """read_image's (image, bytes, orientation), with the image an `Encoded` for a colour or
    grey baseline/progressive JPEG (its decode then waits for the pipeline's first warp)."""
    data = read_bytes(path)
    head = jpeg_header(data)
    info = header(data, head, max_pixels)
    channels = jpeg_components(data) if head is not None else 0
    if channels in (1, 3):
        return Encoded(data, head, info, max_pixels, planes and channels == 3, channels), data, info[2]
    return decode_full(data, head, info, max_pixels, planes), data, info[2]


def jpeg_components(data: bytes) -> int:
    """The number of components in a JPEG's frame header (0 when not found, or not 8-bit)."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker in (0xC0, 0xC1, 0xC2) and pos + 9 < len(data):  # baseline, extended, progressive Huffman
            return data[pos + 9] if data[pos + 4] == 8 else 0  # 8-bit samples only
        if marker in (0xDA, 0xD9) or 0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return 0
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return 0
