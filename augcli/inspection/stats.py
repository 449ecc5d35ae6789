"""`augcli stats`: per-channel mean and std of an image dataset, for normalisation."""
from __future__ import annotations

import sys
from collections import Counter

from ..errors import UsageError
from ..executors import LocalExecutor, quiet_worker
from ..worker import one_line

_W: dict = {}


def _stats_job(path: str):
    import numpy as np

    from ..io.image import read_image
    from ..transforms.image import maxval

    try:
        img, _, _ = read_image(path, _W.get("max_pixels", 100_000_000))
    except Exception as e:  # noqa: BLE001
        return path, None, one_line(e)
    if img.ndim == 2:
        img = img[:, :, None].repeat(3, axis=2)
    x = img[:, :, :3][:, :, ::-1].reshape(-1, 3).astype(np.float64) / maxval(img)
    n = x.shape[0]
    return path, (n, x.sum(axis=0), np.square(x).sum(axis=0), str(img.dtype)), ""


def _init_stats(max_pixels):
    import cv2

    quiet_worker()
    cv2.setNumThreads(0)
    _W["max_pixels"] = max_pixels


def stats(cfg, modality) -> dict:
    """Per-channel (R, G, B) mean and std over every pixel of the dataset, on the 0-1 scale."""
    import numpy as np

    items, warnings = modality.discover(cfg)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        raise UsageError(f"{cfg.csv or cfg.input}: no image files found")
    n, s, s2, failed, dtypes = 0, np.zeros(3), np.zeros(3), [], Counter()
    paths = [it.path for it in items]
    workers = max(1, min(cfg.n_workers(), len(paths)))
    with LocalExecutor(workers).map_unordered(_stats_job, paths, _init_stats, (cfg.max_pixels,), 4) as results:
        for path, r, err in results:
            if r is None:
                failed.append((path, err))
                continue
            n += r[0]
            s += r[1]
            s2 += r[2]
            dtypes[r[3]] += 1
    mean = s / max(n, 1)
    std = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0))
    return {"images": len(items) - len(failed), "pixels": int(n), "mean": mean.round(6).tolist(),
            "std": std.round(6).tolist(), "dtypes": dict(dtypes), "failed": failed}
