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


def read_image(path: str | Path, max_pixels: int) -> tuple[np.ndarray, bytes, int]:
    """Decode an image keeping its depth and channels (grey, BGR, BGRA; 8 or 16 bit) and apply
    EXIF orientation. Returns (array, file bytes, orientation). Raises ImageReadError."""
    import cv2
    from PIL import Image, UnidentifiedImageError

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageReadError("file not found")
    except OSError as e:
        raise ImageReadError(f"cannot read file ({e.strerror or e})")
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    orientation, pil_ok = 1, False
    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with our own message
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            pil_ok = True
            if w * h > max_pixels:
                raise ImageReadError(f"image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                                     "(possible decompression bomb; raise --max-pixels to allow)")
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image
                orientation = 1
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise ImageReadError("truncated or corrupt JPEG (no end-of-image marker)")
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None and pil_ok:  # formats OpenCV does not read (e.g. GIF): Pillow
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.seek(0)
                mode = "RGBA" if ("A" in im.getbands() or "transparency" in im.info) else (
                    "L" if im.mode in ("1", "L", "P") and im.getpalette() is None else "RGB")
                arr = np.asarray(im.convert(mode))
            img = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if mode == "RGBA" else cv2.COLOR_RGB2BGR)
        except Exception as e:  # noqa: BLE001
            raise ImageReadError(f"cannot decode image ({e})")
    if img is None:
        raise ImageReadError("cannot decode: not an image, or a corrupt one")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.shape[0] * img.shape[1] > max_pixels:
        raise ImageReadError(f"image is {img.shape[1]}x{img.shape[0]} pixels, over the limit of {max_pixels:,}")
    return _orient(img, orientation), data, orientation


def to_8bit(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def encode(img: np.ndarray, ext: str, quality: int = 95, rescale: float | None = None) -> bytes:
    """Encode to the container named by `ext`. JPEG/WebP are 8-bit (16-bit is scaled down);
    JPEG has no alpha (dropped). `.npy` holds float32 RGB(A)/grey values times `rescale`."""
    import cv2

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
