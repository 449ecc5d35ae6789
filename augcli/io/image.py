"""Reading and writing image files (OpenCV for speed, Pillow for headers and odd formats)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".gif"}
WRITABLE = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"}
FORMAT_EXT = {"jpg": ".jpg", "png": ".png", "webp": ".webp", "tif": ".tif", "npy": ".npy"}


class ImageReadError(Exception):
    pass


def chroma_size(w: int, h: int) -> tuple[int, int]:
    """Width and height of the 4:2:0 chroma planes of a w x h image."""
    return (w + 1) // 2, (h + 1) // 2


class Planes:
    """A JPEG's own YCbCr 4:2:0 samples: `y` (h x w), `cb` and `cr` (ceil(h/2) x ceil(w/2)),
    full range as JFIF defines them. Steps that can run on planes do (transforms/image/planar.py),
    which saves the colour conversions and chroma resampling at both ends of a JPEG -> JPEG job.
    `shape`, `ndim` and `dtype` read like those of the 8-bit BGR array the planes stand for."""

    __slots__ = ("y", "cb", "cr")
    ndim, dtype = 3, np.dtype(np.uint8)

    def __init__(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray):
        self.y, self.cb, self.cr = y, cb, cr

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.y.shape[0], self.y.shape[1], 3

    def bgr(self) -> np.ndarray:
        """The BGR image, as a decoder would give it (chroma upsampled linearly, centred)."""
        import cv2

        h, w = self.y.shape
        ch, cw = self.cb.shape
        up = [cv2.resize(p, (2 * cw, 2 * ch), interpolation=cv2.INTER_LINEAR)[:h, :w] for p in (self.cr, self.cb)]
        return cv2.cvtColor(cv2.merge([self.y, *up]), cv2.COLOR_YCrCb2BGR)


# Below this size the BGR path is the faster one: the planar path's fixed cost per plane
# (three warps instead of one, ...) outweighs its savings. Measured, one core, the example
# recipe: planar/BGR time 1.18 at 128x128, 1.04 at 160x160, 0.97 at 192x192, 0.83 at 256x256.
PLANAR_MIN_PIXELS = 1 << 15  # ~181 x 181


def _planar_codec():
    """augcli._planes (built from augcli/_planes.c against libjpeg), or None: not built, or
    turned off with AUGCLI_PLANAR=0 (then every image goes through OpenCV alone)."""
    import os

    if os.environ.get("AUGCLI_PLANAR", "1") == "0":
        return None
    try:
        from .. import _planes
    except ImportError:
        return None
    return _planes


def planar_available() -> bool:
    return _planar_codec() is not None


def decode_planes(data: bytes, denom: int = 1) -> Planes | None:
    """The 4:2:0 planes of a baseline or progressive YCbCr JPEG. Chroma stored at a higher
    resolution (4:2:2, 4:4:4, 4:4:0) is averaged over 2x2 luma blocks, as a JPEG encoder does
    for 4:2:0 output. None for any other JPEG (grey, CMYK, ...) or a damaged one, which then
    take the ordinary path. `denom` 2, 4, 8: decoded at that reduction (libjpeg's scaled IDCT)."""
    codec = _planar_codec()
    try:
        out = None if codec is None else codec.decode(data, denom) if denom > 1 else codec.decode(data)
    except TypeError:  # an extension built before `denom` existed: the caller decodes another way
        out = None
    if out is None:
        return None
    w, h, y, ys, cb, cr, cs, hd, vd = out
    cw, ch = chroma_size(w, h)
    chroma = [np.frombuffer(a, np.uint8).reshape(-1, cs)[:-(-h // vd), :-(-w // hd)] for a in (cb, cr)]
    if (hd, vd) != (2, 2):
        import cv2

        # repeat the last column / row of an odd side, then average 2x2 (or 2x1, 1x2) exactly
        pad = ((0, (2 // vd) * ch - chroma[0].shape[0]), (0, (2 // hd) * cw - chroma[0].shape[1]))
        chroma = [cv2.resize(np.pad(a, pad, mode="edge"), (cw, ch), interpolation=cv2.INTER_AREA) for a in chroma]
    return Planes(np.frombuffer(y, np.uint8).reshape(-1, ys)[:h, :w], *chroma)


def encode_planes(p: Planes, quality: int) -> bytes:
    h, w = p.y.shape
    return _planar_codec().encode(*(np.ascontiguousarray(a) for a in (p.y, p.cb, p.cr)), w, h, int(quality))


def output_ext(src_ext: str, fmt: str) -> str:
    if fmt == "same":
        e = src_ext.lower()
        return e if e in WRITABLE else ".png"
    return FORMAT_EXT[fmt]


def _orient(img: np.ndarray, orientation: int) -> np.ndarray:
    import cv2

    ops = {
        2: lambda a: cv2.flip(a, 1),
        3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
        4: lambda a: cv2.flip(a, 0),
        5: lambda a: cv2.transpose(a),
        6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
        7: lambda a: cv2.flip(cv2.transpose(a), -1),
        8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    return ops[orientation](img) if orientation in ops else img


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _exif_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 in an Exif TIFF block (1 when absent or unreadable)."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    for i in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        e = ifd + 2 + 12 * i
        if e + 12 > len(tiff):
            break
        if int.from_bytes(tiff[e:e + 2], order) == 0x0112:
            kind = int.from_bytes(tiff[e + 2:e + 4], order)  # SHORT as the standard says; some write LONG
            v = int.from_bytes(tiff[e + 8:e + (10 if kind == 3 else 12)], order) if kind in (3, 4) else 1
            return v if 1 <= v <= 8 else 1
    return 1


def jpeg_header(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, EXIF orientation) from a JPEG's markers, or None when the file is not a
    plain JPEG we can read this way (then Pillow parses it). ~20 us instead of ~0.5 ms."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, n, orientation, size = 2, len(data), 1, None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        seg = data[pos + 4:pos + 2 + length]
        if length < 2 or len(seg) != length - 2:
            return None
        if marker == 0xE1 and seg[:6] == b"Exif\x00\x00":
            orientation = _exif_orientation(seg[6:])
        elif marker in _SOF:
            if len(seg) < 5 or size is not None:
                return None
            size = int.from_bytes(seg[3:5], "big"), int.from_bytes(seg[1:3], "big")
            if not all(size):  # height 0: defined later (DNL)
                return None
        elif marker == 0xDA:  # start of scan: every header marker has been seen
            return None if size is None else (size[0], size[1], orientation)
        elif marker == 0xD9:
            return None
        pos += 2 + length
    return None


def png_header(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, 1) from a PNG's IHDR when no chunk of it is eXIf (walked by the chunks'
    lengths, nothing inflated), else None (then Pillow parses it, orientation included)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    pos, n = 8, len(data)
    while pos + 8 <= n:
        kind = data[pos + 4:pos + 8]
        if kind == b"eXIf":
            return None
        if kind == b"IEND":
            return (w, h, 1) if w and h else None
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
    return None


def _check_size(w: int, h: int, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise ImageReadError(f"image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                             "(possible decompression bomb; raise --max-pixels to allow)")


def _header(data: bytes, head, max_pixels: int) -> tuple[int, int, int, bool]:
    """(width, height, EXIF orientation, whether the header was readable), the size checked
    against max_pixels before any decode: from the JPEG or PNG header, else through Pillow."""
    if head is None:
        head = png_header(data)
    if head is not None:
        _check_size(head[0], head[1], max_pixels)
        return head[0], head[1], head[2], True
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with our own message
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            _check_size(w, h, max_pixels)
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image
                orientation = 1
            return w, h, orientation, True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return 0, 0, 1, False


def read_image(path: str | Path, max_pixels: int, planes: bool = False) -> tuple[np.ndarray | Planes, bytes, int]:
    """Decode an image keeping its depth and channels (grey, BGR, BGRA; 8 or 16 bit) and apply
    EXIF orientation. Returns (array, file bytes, orientation). Raises ImageReadError.
    `planes`: a YCbCr colour JPEG of at least PLANAR_MIN_PIXELS comes back as its 4:2:0
    `Planes` instead (turned by its EXIF orientation when both sides are even)."""
    data = read_bytes(path)
    head = jpeg_header(data)
    w, h, orientation, pil_ok = header(data, head, max_pixels)
    return decode_full(data, head, (w, h, orientation, pil_ok), max_pixels, planes), data, orientation


def read_bytes(path: str | Path) -> bytes:
    try:
        with open(path, "rb", buffering=0) as f:  # (unbuffered: one read, no buffer object)
            data = f.readall()
    except FileNotFoundError:
        raise ImageReadError("file not found")
    except OSError as e:
        raise ImageReadError(f"cannot read file ({e.strerror or e})")
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    return data


def header(data: bytes, head, max_pixels: int) -> tuple[int, int, int, bool]:
    """_header, and a JPEG without its end-of-image marker refused (before any decode)."""
    out = _header(data, head, max_pixels)
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise ImageReadError("truncated or corrupt JPEG (no end-of-image marker)")
    return out


def decode_full(data: bytes, head, info: tuple, max_pixels: int, planes: bool = False) -> np.ndarray | Planes:
    """The whole image of read_image, from the file's bytes and `header`'s `info`."""
    import cv2

    w, h, orientation, pil_ok = info
    if planes and head is not None and w * h >= PLANAR_MIN_PIXELS:
        p = decode_planes(data)
        if p is not None and (orientation == 1 or not (p.y.shape[0] % 2 or p.y.shape[1] % 2)):
            # (EXIF turns and flips move whole 2x2 blocks only when both sides are even)
            return Planes(*(_orient(a, orientation) for a in (p.y, p.cb, p.cr)))
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None and pil_ok:  # formats OpenCV does not read (e.g. GIF): Pillow
        img = _pillow_decode(data)
    if img is None:
        raise ImageReadError("cannot decode: not an image, or a corrupt one")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.shape[0] * img.shape[1] > max_pixels:
        raise ImageReadError(f"image is {img.shape[1]}x{img.shape[0]} pixels, over the limit of {max_pixels:,}")
    return _orient(img, orientation)


def _pillow_decode(data: bytes) -> np.ndarray:
    import cv2
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)
            mode = "RGBA" if ("A" in im.getbands() or "transparency" in im.info) else (
                "L" if im.mode in ("1", "L", "P") and im.getpalette() is None else "RGB")
            arr = np.asarray(im.convert(mode))
        return arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if mode == "RGBA" else cv2.COLOR_RGB2BGR)
    except Exception as e:  # noqa: BLE001
        raise ImageReadError(f"cannot decode image ({e})")


def to_8bit(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def encode(img: np.ndarray | Planes, ext: str, quality: int = 95, rescale: float | None = None) -> bytes:
    """Encode to the container named by `ext`. JPEG/WebP are 8-bit (16-bit is scaled down);
    JPEG has no alpha (dropped). `.npy` holds float32 RGB(A)/grey values times `rescale`.
    `Planes` are always written as JPEG (they are only decoded for JPEG -> JPEG jobs)."""
    import cv2

    if isinstance(img, Planes):
        return encode_planes(img, quality)

    if ext == ".npy":
        c = 1 if img.ndim == 2 else img.shape[2]
        rgb = img if c == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB if c == 3 else cv2.COLOR_BGRA2RGBA)
        arr = rgb.astype(np.float32)
        if rescale is not None:
            arr *= np.float32(rescale)
        b = io.BytesIO()
        np.save(b, arr, allow_pickle=False)
        return b.getvalue()
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        img = to_8bit(img)
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[:, :, :3]
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".webp":
        img = to_8bit(img)
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    elif ext in (".ppm", ".pgm", ".pbm", ".pnm", ".bmp"):
        img = to_8bit(img) if ext == ".bmp" else img
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise ValueError(f"cannot encode {img.dtype} image with {img.shape} as {ext}")
    return buf.tobytes()
