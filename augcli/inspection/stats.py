"""`augcli stats`: per-channel mean and std of an image dataset, for normalisation.

On an annotated dataset (YOLO, masks ...: formats.open_input finds one) the same workers also
read each image's annotation: objects per class (with their names) and the images holding each,
images without objects (background), and the distribution of box sizes in pixels (width and
height: min, median, max; area in COCO's buckets: small < 32², medium < 96², large).
"""
from __future__ import annotations

import sys
from collections import Counter

from ..errors import UsageError
from ..executors import LocalExecutor, quiet_worker
from ..worker import one_line

_W: dict = {}
SMALL, MEDIUM = 32 * 32, 96 * 96  # COCO's area buckets (pixels)


def _stats_job(task: tuple):
    """(path, (pixels, sums, sums of squares, dtype) or None, error, objects of its annotation or
    None, the annotation's error) of one image (path, its source path under INPUT)."""
    import numpy as np

    from ..io.image import read_image
    from ..transforms.image import maxval

    path, source = task
    try:
        img, _, _ = read_image(path, _W.get("max_pixels", 100_000_000))
    except Exception as e:  # noqa: BLE001
        return path, None, one_line(e), None, ""
    objects, ann_err = None, ""
    if _W.get("fmt") is not None:
        try:
            objects = _objects_of(_W["fmt"].read(path, source, img.shape[1], img.shape[0]))
        except Exception as e:  # noqa: BLE001 - a malformed annotation: reported, the pixels still count
            ann_err = one_line(e)
    if img.ndim == 2:
        img = img[:, :, None].repeat(3, axis=2)
    x = img[:, :, :3][:, :, ::-1].reshape(-1, 3).astype(np.float64) / maxval(img)
    n = x.shape[0]
    return path, (n, x.sum(axis=0), np.square(x).sum(axis=0), str(img.dtype)), "", objects, ann_err


def _objects_of(ann) -> dict:
    """What stats keeps of one image's annotation: objects per class, box sizes, whether it is a
    background image (no object, no class in its mask)."""
    from ..annotations.draw import box_of

    classes, sizes = Counter(), []
    for ob in ann.objs:
        classes[str(ob.cls)] += 1
        box = box_of(ob)
        if box is not None:
            sizes.append((box[2] - box[0], box[3] - box[1]))
    empty = not ann.objs
    if empty and ann.mask is not None:
        arr = ann.mask.arr
        void = 255 if arr.dtype.itemsize == 1 else 65535
        empty = not ((arr != 0) & (arr != void)).any()
    return {"classes": dict(classes), "sizes": sizes, "empty": empty}


def _init_stats(max_pixels, fmt=None):
    import cv2

    quiet_worker()
    cv2.setNumThreads(0)
    _W["max_pixels"] = max_pixels
    _W["fmt"] = fmt


class _Objects:
    """The objects of the images read so far, summed."""

    def __init__(self, fmt):
        self.fmt, self.images, self.background = fmt, 0, 0
        self.objects, self.per_image, self.sizes = Counter(), Counter(), []

    def add(self, objects: dict) -> None:
        self.images += 1
        self.background += objects["empty"]
        self.objects.update(objects["classes"])
        self.per_image.update(objects["classes"].keys())
        self.sizes += objects["sizes"]

    def summary(self) -> dict:
        from ..annotations.draw import class_name

        names = self.fmt.names or {}
        keys = set(self.objects) | {str(k) for k in names}
        order = sorted(keys, key=lambda c: (0, int(c), c) if c.isdigit() else (1, 0, c))
        return {"format": self.fmt.name, "images": self.images, "objects": sum(self.objects.values()),
                "background": self.background,
                "classes": {c: {"name": class_name(names, c), "objects": self.objects[c], "images": self.per_image[c]}
                            for c in order},
                "boxes": _sizes(self.sizes)}


def _sizes(sizes: list) -> dict | None:
    """Box width and height (pixels): min, median, max; the boxes' areas in COCO's buckets."""
    import numpy as np

    if not sizes:
        return None
    wh = np.asarray(sizes, np.float64)
    area = wh[:, 0] * wh[:, 1]

    def spread(v):
        return {"min": round(float(v.min()), 2), "median": round(float(np.median(v)), 2), "max": round(float(v.max()), 2)}

    return {"width": spread(wh[:, 0]), "height": spread(wh[:, 1]), "small": int((area < SMALL).sum()),
            "medium": int(((area >= SMALL) & (area < MEDIUM)).sum()), "large": int((area >= MEDIUM).sum())}


def stats(cfg, modality) -> dict:
    """Per-channel (R, G, B) mean and std over every pixel of the dataset, on the 0-1 scale; and,
    for an annotated dataset, its objects ("annotations", see _Objects.summary)."""
    import numpy as np

    from ..annotations import formats

    items, warnings = modality.discover(cfg)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        raise UsageError(f"{cfg.csv or cfg.input}: no image files found")
    fmt = formats.open_input(cfg)
    objs = _Objects(fmt) if fmt is not None else None
    n, s, s2, failed, unread, dtypes = 0, np.zeros(3), np.zeros(3), [], 0, Counter()
    tasks = [(it.path, it.source) for it in items]
    workers = max(1, min(cfg.n_workers(), len(tasks)))
    with LocalExecutor(workers).map_unordered(_stats_job, tasks, _init_stats, (cfg.max_pixels, fmt), 4) as results:
        for path, r, err, objects, ann_err in results:
            if r is None:
                failed.append((path, err))
                unread += 1
                continue
            n += r[0]
            s += r[1]
            s2 += r[2]
            dtypes[r[3]] += 1
            if ann_err:
                failed.append((path, ann_err))
            elif objects is not None:
                objs.add(objects)
    mean = s / max(n, 1)
    std = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0))
    out = {"images": len(items) - unread, "pixels": int(n), "mean": mean.round(6).tolist(),
           "std": std.round(6).tolist(), "dtypes": dict(dtypes), "failed": sorted(failed)}
    if objs is not None:
        out["annotations"] = objs.summary()
    return out


def annotation_lines(st: dict) -> list[str]:
    """The lines `augcli stats` prints about an annotated dataset's objects (none for plain images)."""
    a = st.get("annotations")
    if a is None:
        return []
    lines = [f"annotations ({a['format']}): {a['objects']} objects in {a['images']} images, "
             f"{a['background']} without objects (background)"]
    if a["classes"]:
        lines.append(f"  {'class':<30} {'objects':>8} {'images':>8}")
        for c, info in a["classes"].items():
            label = info["name"] if info["name"] == c else f"{info['name']} ({c})"
            lines.append(f"  {label:<30} {info['objects']:>8} {info['images']:>8}")
    b = a["boxes"]
    if b:
        lines.append(f"box size (pixels) {'min':>13} {'median':>8} {'max':>8}")
        for k in ("width", "height"):
            lines.append(f"  {k:<16} {b[k]['min']:>12.1f} {b[k]['median']:>8.1f} {b[k]['max']:>8.1f}")
        lines.append(f"box area: {b['small']} small (< 32x32), {b['medium']} medium (< 96x96), {b['large']} large")
    return lines
