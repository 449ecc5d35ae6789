"""Mixing on images: how mixup, cutmix and mosaic (transforms/mix.py, which draws them while planning)
apply to an image and its partner. A step's data is the pair (image, partner image); the partner
is first given the image's channels, dtype and size (`match_partner`)."""
from __future__ import annotations

import numpy as np

from ..mix import CutMix as CutMixDraws
from ..mix import MixUp as MixUpDraws
from ..mix import Mosaic as MosaicDraws
from ..mix import cutmix_box
from .common import _cv2, channels, maxval
from .warp import resize_matrix


def match_partner(partner: np.ndarray, like: np.ndarray, resize: bool = True) -> np.ndarray:
    """The partner with `like`'s channels, dtype and (unless not `resize`) size (area when shrinking)."""
    cv2 = _cv2()
    c, pc = channels(like), channels(partner)
    if pc != c:
        if pc == 1:
            partner = cv2.cvtColor(partner, cv2.COLOR_GRAY2BGR if c == 3 else cv2.COLOR_GRAY2BGRA)
        elif c == 1:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGR2GRAY if pc == 3 else cv2.COLOR_BGRA2GRAY)
        elif c == 4:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGR2BGRA)
        else:
            partner = cv2.cvtColor(partner, cv2.COLOR_BGRA2BGR)
    if partner.dtype != like.dtype:
        partner = (partner.astype(np.float64) * (maxval(like) / maxval(partner))).astype(like.dtype)
    H, W = like.shape[:2]
    if not resize:
        return partner.reshape(partner.shape[:2] + like.shape[2:])
    if partner.shape[:2] != (H, W):
        shrink = partner.shape[0] * partner.shape[1] > H * W
        partner = cv2.resize(partner, (W, H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return partner.reshape(like.shape)


class MixUp(MixUpDraws):
    def apply(self, data, params: dict) -> np.ndarray:
        """lambda * image + (1 - lambda) * partner."""
        img, partner = data
        lam = params["lambda"]
        return _cv2().addWeighted(img, lam, match_partner(partner, img), 1.0 - lam, 0.0)


class CutMix(CutMixDraws):
    def apply(self, data, params: dict) -> np.ndarray:
        """The image with the partner's pixels in the drawn box."""
        img, partner = data
        H, W = img.shape[:2]
        x1, y1, x2, y2 = cutmix_box(params["box"], W, H)
        out = img.copy()
        out[y1:y2, x1:x2] = match_partner(partner, img)[y1:y2, x1:x2]
        return out

    def op(self, params: dict, data) -> dict:
        """The box in pixels, and lambda recomputed from its real area."""
        H, W = data[0].shape[:2]
        x1, y1, x2, y2 = cutmix_box(params["box"], W, H)
        return {"name": self.NAME, "partner": params["partner"], "partner_label": params["partner_label"],
                "box": [x1, y1, x2, y2], "lambda": 1.0 - (x2 - x1) * (y2 - y1) / float(W * H)}


def mosaic_layout(params: dict, size: int, shapes: list) -> list:
    """For each of the 4 images (shapes (h, w): this one, then the partners), (3x3 matrix from its
    pixels to the output's, its integer size once scaled (w', h'), its offset (x, y)): scaled so
    its longest side is `size`, its inner corner at the centre."""
    cx, cy = (int(round(c * size)) for c in params["center"])
    out = []
    for k, (h, w) in enumerate(shapes):
        f = size / max(h, w)
        sw, sh = max(1, int(round(w * f))), max(1, int(round(h * f)))
        ox = cx - sw if k in (0, 2) else cx
        oy = cy - sh if k in (0, 1) else cy
        M = resize_matrix(sw / w, sh / h)
        M[0, 2] += ox
        M[1, 2] += oy
        out.append((M, (sw, sh), (ox, oy)))
    return out


class Mosaic(MosaicDraws):
    def apply(self, data, params: dict) -> np.ndarray:
        """The size x size grid of this image and its 3 partners (each resized once: area when
        shrinking), `fill_value` where none reaches."""
        cv2 = _cv2()
        img, partners = data
        size = self.cfg["size"]
        images = [img] + [match_partner(p, img, resize=False) for p in partners]
        canvas = np.empty((size, size) + img.shape[2:], img.dtype)
        canvas[...] = self.cfg["fill_value"] * maxval(img) // 255
        for im, (_, (sw, sh), (ox, oy)) in zip(images, mosaic_layout(params, size, [i.shape[:2] for i in images])):
            x0, y0, x1, y1 = max(0, ox), max(0, oy), min(size, ox + sw), min(size, oy + sh)
            if x0 >= x1 or y0 >= y1:
                continue
            shrink = sw * sh < im.shape[0] * im.shape[1]
            scaled = cv2.resize(im, (sw, sh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            canvas[y0:y1, x0:x1] = scaled.reshape((sh, sw) + img.shape[2:])[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        return canvas
