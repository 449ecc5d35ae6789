"""Mixing on images: how mixup and cutmix (transforms/mix.py, which draws them while planning)
apply to an image and its partner. A step's data is the pair (image, partner image); the partner
is first given the image's channels, dtype and size (`match_partner`)."""
from __future__ import annotations

import numpy as np

from ..mix import CutMix as CutMixDraws
from ..mix import MixUp as MixUpDraws
from ..mix import cutmix_box
from .common import _cv2, channels, maxval


def match_partner(partner: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The partner with `like`'s channels, dtype and size (resized: area when shrinking)."""
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
