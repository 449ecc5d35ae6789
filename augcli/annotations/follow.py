"""One augmented copy's annotation: the source's objects (and mask) through the pipeline's warps,
with those of the partners a mixing step brought in, then the border and visibility rules.

Groups, each followed by its own geometry.Follower:
- the source: every warp the pipeline made (after mosaic's placement of it, when there is one);
  a CutMix box hides it like a cutout hole;
- mosaic's 3 partners: their placement (scaled, offset), then every warp;
- the Mixup / CutMix partner: scaled to the image's size at the mix (mixing steps come after the
  last geometric step with annotations), CutMix's only inside its box.
Cutout holes (after the last geometric step) hide objects of every group. A semantic mask follows
the same placements by nearest neighbour (mosaic: the 4 masks in the grid; CutMix: the partner's
inside the box; Mixup keeps the source's: a blend of class maps has no meaning); a partner without
a mask brings `mask_fill` (void) where its pixels go.
"""
from __future__ import annotations

from dataclasses import replace

from .geometry import Follower, continuous
from .model import Annotation


def _merge(infos: list[dict]) -> dict:
    """The `annotations` op of the groups together: counts added, drops by reason added."""
    out = dict(infos[0])
    for info in infos[1:]:
        out["objects_in"] += info["objects_in"]
        out["objects_out"] += info["objects_out"]
        classes = dict(out["classes"])
        for c, (a, b) in info["classes"].items():
            x, y = classes.get(c, (0, 0))
            classes[c] = [x + a, y + b]
        out["classes"] = dict(sorted(classes.items()))
        for why, n in info.get("dropped", {}).items():
            out.setdefault("dropped", {})
            out["dropped"][why] = out["dropped"].get(why, 0) + n
        if "boxes" in info:
            out["boxes"] = info["boxes"]
    if "dropped" in out:
        out["dropped"] = dict(sorted(out["dropped"].items()))
    return out


def groups(ann, mix: dict | None, warps: list, ops: list, size: tuple) -> list:
    """[(objects, [(3x3 matrix, w, h)], window, extra holes)] of the copy: see the module's doc.
    `size`: the output's (w, h); `mix`: the worker's mix input: the source's "shape" (h, w), the
    partners' annotations ("partner_anns") and shapes ("partner_shapes")."""
    pipeline = [(M, w, h) for _, M, w, h in warps]
    op = next((o for o in ops if o["name"] in ("mosaic", "mixup", "cutmix") and "skipped" not in o), None)
    if op is None:
        return [(ann.objs, pipeline, None, [])]
    partners = mix["partner_anns"]
    if op["name"] == "mosaic":
        from ..transforms.image.mixing import mosaic_layout

        s = op["size"]
        layout = mosaic_layout(op, s, [mix["shape"]] + mix["partner_shapes"])
        return [(a.objs, [(M, s, s)] + pipeline, None, []) for a, (M, _, _) in zip([ann] + partners, layout)]
    from ..transforms.image.warp import resize_matrix

    W, H = size
    (p,) = partners
    ph, pw = mix["partner_shapes"][0]
    S = [(resize_matrix(W / pw, H / ph), W, H)]
    if op["name"] == "mixup":
        return [(ann.objs, pipeline, None, []), (p.objs, S, None, [])]
    x0, y0, x1, y1 = op["box"]
    box = [[x0, y0, x1 - x0, y1 - y0]]
    return [(ann.objs, pipeline, None, box), (p.objs, S, tuple(float(v) for v in (x0, y0, x1, y1)), [])]


def follow(ann, mix: dict | None, warps: list, ops: list, size: tuple, opts: dict, pairs: list):
    """(the copy's Annotation in its pixels, the manifest's `annotations` op, objects cut)."""
    holes = [hole for op in ops if op["name"] == "cutout" for hole in op["holes"]]
    kept, infos, cut = [], [], 0
    for objs, chain, window, extra in groups(ann, mix, warps, ops, size):
        f = Follower([(continuous(M), w, h) for M, w, h in chain], holes + extra, opts, pairs, window)
        k, info = f.run(objs)
        kept += k
        infos.append(info)
        cut += f.cut
    info = _merge(infos)
    mask = None
    if ann.mask is not None:
        mask = replace(ann.mask, arr=_mask(ann, mix, warps, ops, size, opts["mask_fill"]))
        if not any(i["objects_in"] for i in infos):
            info = {"name": "annotations"}  # a semantic mask alone: no objects to count
        info.update(mask="nearest", fill=opts["mask_fill"])
    return Annotation(kept, mask, None, dict(ann.info)), info, cut


def _mask(ann, mix, warps: list, ops: list, size: tuple, fill: int):
    """The semantic mask of the copy (nearest neighbour, `fill` where no image reaches)."""
    import cv2
    import numpy as np

    from .masks import warp_mask

    op = next((o for o in ops if o["name"] in ("mosaic", "cutmix") and "skipped" not in o), None)
    if op is None:
        return warp_mask(ann.mask.arr, warps, fill)
    # a partner without a mask (VOC: not every image is segmented): its pixels get `fill` (mask_fill; 255 = void)
    void = min(int(fill), int(np.iinfo(ann.mask.arr.dtype).max))
    partners = [np.full(shape, void, ann.mask.arr.dtype) if a.mask is None else a.mask.arr
                for a, shape in zip(mix["partner_anns"], mix["partner_shapes"])]
    if op["name"] == "cutmix":
        arr = warp_mask(ann.mask.arr, warps, fill)
        x0, y0, x1, y1 = op["box"]
        p = cv2.resize(partners[0], (arr.shape[1], arr.shape[0]), interpolation=cv2.INTER_NEAREST_EXACT)
        arr[y0:y1, x0:x1] = p[y0:y1, x0:x1]
        return arr
    from ..transforms.image.mixing import mosaic_layout

    s = op["size"]
    masks = [ann.mask.arr] + partners
    canvas = np.full((s, s), min(fill, np.iinfo(masks[0].dtype).max), masks[0].dtype)
    for m, (_, (sw, sh), (ox, oy)) in zip(masks, mosaic_layout(op, s, [m.shape[:2] for m in masks])):
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(s, ox + sw), min(s, oy + sh)
        if x0 < x1 and y0 < y1:
            scaled = cv2.resize(m, (sw, sh), interpolation=cv2.INTER_NEAREST_EXACT)
            canvas[y0:y1, x0:x1] = scaled[y0 - oy:y1 - oy, x0 - ox:x1 - ox].astype(canvas.dtype)
    return warp_mask(canvas, warps, fill)
