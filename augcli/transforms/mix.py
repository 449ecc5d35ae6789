"""Mixing steps: Mixup (images, audio) and CutMix (images), with soft labels; Mosaic (annotated images).

A mix step's draws (does it fire, the partner, lambda, CutMix's box) come from their own stream,
seeded by the copy's seed and the step's position, so the parent can make them while planning:
the output file then goes under the class that dominates its soft label (an ImageFolder loader
sees the majority label), and the workers make exactly the same draws.

- Partners come from the training split only (never val), never the source itself; `partner:
  any | other_class | same_class`.
- lambda ~ Beta(alpha, alpha). Mixup: out = lambda * source + (1 - lambda) * partner. CutMix: a box
  of sides sqrt(1 - lambda) x the image's, centred uniformly, clipped to the image, is pasted from
  the partner; lambda is then recomputed from the box's real pixel area.
- Soft label: {source class: lambda, partner class: 1 - lambda} (one entry when equal classes).
- mixup and cutmix may share a `one_of` (timm's switch_prob): `- one_of: {steps: [{mixup: {p: 1}},
  {cutmix: {p: 1}}], weights: [0.5, 0.5]}`. It stays the copy's one mixing step: its p, the pick
  and the chosen step's p are drawn while planning from the same stream, and the manifest names
  the chosen step (a child's own p still counts: mixup's and cutmix's default is 0.5).

In the terms of the step contract (transforms/base.py): `sample(rng, MixContext)` makes the draws
(while planning, from the copy's mix stream: `decide`); each modality's subclass gives
`apply((sample, partner), params)`, pure, and `op(params, data)`, the manifest op (partner, its
label, lambda, and CutMix's box in pixels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import RecipeError
from .base import Param, Step

PARTNER = Param("partner", "choice", "any", choices=("any", "other_class", "same_class"),
                doc="which training samples may be mixed in")


@dataclass(frozen=True)
class MixContext:
    """What a mix step samples from: the copy's source, its label and the training partners."""

    source: str
    label: object
    partners: "Partners"


class MixStep(Step):
    MIX = True
    GEOMETRIC = False
    COLOR = False
    STRETCH = False
    DEFAULT_P = 0.5

    def sample(self, rng, ctx: MixContext) -> dict:
        """The partner, lambda, an offset (audio: where the partner is cropped) and CutMix's box, or
        {"skipped": why} when the split holds no partner of the asked kind."""
        a = self.cfg["alpha"]
        u_partner, lam, u1, u2, offset = rng.random(), float(rng.beta(a, a)), *rng.random(3)
        partner = ctx.partners.draw(ctx.source, ctx.label, self.cfg["partner"], u_partner)
        if partner is None:
            return {"skipped": f"no {self.cfg['partner'].replace('_', ' ')} partner in the training split"}
        d = {"partner": partner.source, "partner_path": partner.path, "partner_label": partner.label,
             "lambda": round(lam, 6), "offset": round(float(offset), 6)}
        if self.NAME == "cutmix":
            r = math.sqrt(max(0.0, 1.0 - lam))
            d["box"] = [round(float(u1), 6), round(float(u2), 6), round(r, 6)]
            fx = min(1.0, u1 + r / 2) - max(0.0, u1 - r / 2)
            fy = min(1.0, u2 + r / 2) - max(0.0, u2 - r / 2)
            d["lambda_estimate"] = 1.0 - fx * fy  # before rounding to pixels; the worker's value is exact
        return d

    def op(self, params: dict, data) -> dict:
        """The manifest op of a mix that `apply` made from `data` (the pair it got)."""
        return {"name": self.NAME, "partner": params["partner"], "partner_label": params["partner_label"],
                "lambda": params["lambda"]}


class MixUp(MixStep):
    NAME = "mixup"
    DOC = "blend with a partner from the training split: lambda * this + (1 - lambda) * partner; soft labels"
    PARAMS = (Param("alpha", "float", 0.4, lo=0.001, hi=100, doc="lambda ~ Beta(alpha, alpha)"), PARTNER)


class CutMix(MixStep):
    NAME = "cutmix"
    DOC = "paste a box of a training partner; its area fraction sets the soft labels"
    PARAMS = (Param("alpha", "float", 1.0, lo=0.001, hi=100, doc="lambda ~ Beta(alpha, alpha); box side sqrt(1 - lambda)"),
              PARTNER)


class Mosaic(MixStep):
    """YOLO's mosaic: this image and 3 training partners, each scaled so its longest side is `size`,
    meet at a centre drawn in the `center` fraction of the size x size output, in the order
    top-left (this image), top-right, bottom-left, bottom-right (as Ultralytics places them).
    For annotated (detection) datasets: their objects are moved and clipped with them."""

    NAME = "mosaic"
    DOC = "4 images in a 2x2 grid around a random centre (YOLO's mosaic); for annotated datasets"
    DEFAULT_P = 1.0
    PARAMS = (Param("size", "int", 640, lo=8, hi=16384, doc="output side in pixels; each image's longest side"),
              Param("center", "range", [0.25, 0.75], lo=0, hi=1, center=None,
                    doc="where the 4 images meet, as a fraction of the side (Ultralytics: [0, 1])"),
              Param("fill_value", "int", 114, lo=0, hi=255, doc="grey level where no image reaches"))

    def sample(self, rng, ctx: MixContext) -> dict:
        """The 3 partners (any class, never this source, distinct while the split has enough) and the centre."""
        lo, hi = self.cfg["center"]
        u = rng.random(5)
        found = ctx.partners.distinct(ctx.source, [float(v) for v in u[:3]])
        if found is None:
            return {"skipped": "no partner in the training split"}
        return {"partners": [{"partner": p.source, "partner_path": p.path} for p in found],
                "center": [round(lo + (hi - lo) * float(v), 6) for v in u[3:]]}

    def op(self, params: dict, data) -> dict:
        return {"name": self.NAME, "partners": [p["partner"] for p in params["partners"]],
                "center": params["center"], "size": self.cfg["size"]}


MIX_NAMES = ("mixup", "cutmix", "mosaic")  # the steps that mix sources (drawn while planning)


SWITCHABLE = ("mixup", "cutmix")  # may share a one_of (timm's switch_prob): one mix per copy either way


def mix_positions(steps: list[tuple[str, dict]], where: str, allowed: tuple[str, ...],
                  switch: bool = False) -> int | None:
    """Index of the (single, top-level) mix step, or None; errors for mix steps where not allowed.
    `switch`: a one_of whose steps are all mixup / cutmix counts as the mix step (it picks one
    per copy, while planning: `decide`)."""
    found = None
    for i, (name, cfg) in enumerate(steps):
        mixing = name in MIX_NAMES
        if name == "one_of":
            kids = [child for child, _ in cfg["steps"]]
            if any(k in MIX_NAMES for k in kids):
                if not (switch and all(k in SWITCHABLE and k in allowed for k in kids)):
                    bad = next(k for k in kids if k in MIX_NAMES)
                    ok = (f"a one_of of only {' and '.join(s for s in SWITCHABLE if s in allowed)} steps, or "
                          if switch else "")
                    raise RecipeError(f"{where}[{i}]: {bad} inside one_of is not allowed here; allowed: {ok}"
                                      f"{bad} as a step of its own (with its own p)")
                mixing = True
        if mixing:
            if name not in allowed and name != "one_of":
                raise RecipeError(f"{where}[{i}]: {name} is not available here; allowed: {', '.join(allowed)}")
            if found is not None:
                raise RecipeError(f"{where}[{i}]: a second mixing step; allowed: one mixup or cutmix per recipe "
                                  "(or one one_of of them)")
            found = i
    return found


@dataclass(frozen=True)
class Candidate:
    path: str
    source: str
    label: str | None


class Partners:
    """The training sources, grouped by class, for O(1) partner draws of each mode."""

    def __init__(self, items: list[Candidate]):
        self.items = sorted(items, key=lambda c: (str(c.label), c.source))
        self.index = {c.source: i for i, c in enumerate(self.items)}
        self.block: dict = {}
        for i, c in enumerate(self.items):
            s, _ = self.block.get(c.label, (i, i))
            self.block[c.label] = (s, i + 1)

    def draw(self, source: str, label, mode: str, u: float) -> Candidate | None:
        n = len(self.items)
        me = self.index.get(source)
        s, e = self.block.get(label, (0, 0))
        if mode == "same_class":
            pool = e - s - (1 if me is not None else 0)
            if pool <= 0:
                return None
            k = s + int(u * pool)
            return self.items[k + 1 if me is not None and k >= me else k]
        if mode == "other_class":
            pool = n - (e - s)
            if pool <= 0:
                return None
            k = int(u * pool)
            return self.items[k if k < s else k + (e - s)]
        pool = n - (1 if me is not None else 0)
        if pool <= 0:
            return None
        k = int(u * pool)
        return self.items[k + 1 if me is not None and k >= me else k]


    def distinct(self, source: str, us: list[float]) -> list[Candidate] | None:
        """One partner per u, never `source`, none twice until every other one is taken (O(k^2))."""
        import bisect

        me = self.index.get(source)
        base = [] if me is None else [me]
        taken, out = list(base), []
        for u in us:
            if len(self.items) - len(taken) <= 0:
                taken = list(base)
                if len(self.items) - len(taken) <= 0:
                    return None
            k = int(u * (len(self.items) - len(taken)))
            for e in taken:  # rank k among the free ones -> index
                if k >= e:
                    k += 1
            out.append(self.items[k])
            bisect.insort(taken, k)
        return out


def decide(name: str, cfg: dict, copy_seed: int, position: int, source: str, label, partners: Partners) -> dict | None:
    """The mix step's draws for one copy (its p, then its `sample`): None when it does not fire.
    A one_of of mix steps: its p, the pick (by weight), the chosen step's p, then its `sample`,
    all from the same stream; the draws name the chosen step."""
    import numpy as np

    from ..seeds import mix_seed

    rng = np.random.default_rng(mix_seed(copy_seed, position))
    if rng.random() >= cfg["p"]:
        return None
    if name == "one_of":
        w = cfg["weights"] or [1.0] * len(cfg["steps"])
        name, cfg = cfg["steps"][int(rng.choice(len(w), p=[x / sum(w) for x in w]))]
        if rng.random() >= cfg["p"]:
            return None
    return {"name": name, **STEPS[name](cfg).sample(rng, MixContext(source, label, partners))}


def dominant(d: dict | None, label):
    """The class an output goes under: the source's unless the partner's weight is larger."""
    if not d or "skipped" in d or "lambda" not in d:
        return label
    lam = d.get("lambda_estimate", d["lambda"])
    return d["partner_label"] if lam < 0.5 and d["partner_label"] is not None else label


def soft_label(label, partner_label, lam: float) -> dict:
    if label is None:
        return {}
    if partner_label is None or partner_label == label:
        return {label: 1.0}
    return {label: round(lam, 6), partner_label: round(1.0 - round(lam, 6), 6)}


def cutmix_box(box: list[float], w: int, h: int) -> tuple[int, int, int, int]:
    """Pixel box (x1, y1, x2, y2) of a CutMix draw for a w x h image, clipped to the image."""
    u1, u2, r = box
    cw, ch = w * r, h * r
    cx, cy = u1 * w, u2 * h
    x1, x2 = int(round(min(max(cx - cw / 2, 0), w))), int(round(min(max(cx + cw / 2, 0), w)))
    y1, y2 = int(round(min(max(cy - ch / 2, 0), h))), int(round(min(max(cy + ch / 2, 0), h)))
    return x1, y1, x2, y2


STEPS = {cls.NAME: cls for cls in (MixUp, CutMix, Mosaic)}
