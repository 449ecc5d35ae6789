"""The image registry and pipeline: which steps exist (STEPS), checking a recipe's list
(validate_steps), and running it on an image with fusion.

Consecutive geometric steps form one block (their matrices composed, one warp: geometric.py,
warp.py); consecutive colour steps one block (their matrices composed, one colour pass:
colour.py); every other step is a block of its own (its `apply`, in place on an image the
pipeline made). A JPEG -> JPEG job runs on YCbCr planes when every step has a planar form.
"""
from __future__ import annotations

import numpy as np

from ...io.image import Planes
from ...io.reduced import Encoded
from ..base import OneOfBase, Step, fire, parse_steps
from ..mix import MIX_NAMES, mix_positions
from .colour import (Brightness, ChannelShift, ColorJitter, ColorStep, Contrast, Grayscale, Hue, Saturation,
                     apply_color_matrix, apply_rgb, compose, mean_rgb)
from .common import Size, maxval
from .geometric import (CenterCrop, Geometric, HFlip, RandomCrop, RandomResizedCrop, Resize, Rotate, Shear, Shift,
                        VFlip, Zoom, fused_fill)
from .distort import DISTORT
from .filters import FILTERS
from .perspective import Perspective
from .mixing import CutMix, MixUp, Mosaic
from .ops import OPS as PIXEL_OPS
from .pixel import Custom, Cutout, GaussianBlur, GaussianNoise, Gamma
from .policies import POLICIES
from .planar import shares as planes_share
from .warp import warp


class OneOf(OneOfBase):
    """`- one_of: {steps: [...], weights: [...], p: 1}`: pick one step (by weight), then run it
    (subject to its own p). A group of only geometric (or only colour) steps fuses like one."""

    @classmethod
    def parse(cls, raw, where):
        # (no mix_positions here: mixup and cutmix may share a one_of; the recipe's list checks it)
        out = parse_steps(raw, where, STEPS, ALIASES)
        Pipeline(out)
        return out

    @classmethod
    def build(cls, name, cfg):
        return make_step(name, cfg)

    def __post_init__(self):
        super().__post_init__()
        self.GEOMETRIC = all(ch.GEOMETRIC for ch in self.children)
        self.COLOR = all(ch.COLOR for ch in self.children)
        self.MIX = all(getattr(ch, "MIX", False) for ch in self.children)  # mixup / cutmix: drawn while planning

    def chosen(self, name: str) -> Step:
        """The child the planning draws picked (transforms/mix.py decide), by its name."""
        return next(ch for ch in self.children if ch.NAME == name)


STEPS: dict[str, type[Step]] = {
    cls.NAME: cls
    for cls in (HFlip, VFlip, Rotate, Shift, Shear, Zoom, RandomCrop, CenterCrop, RandomResizedCrop, Resize, Perspective,
                Brightness, Contrast, Saturation, Hue, ColorJitter, ChannelShift, Grayscale, Gamma,
                GaussianNoise, GaussianBlur, Cutout, *PIXEL_OPS, *FILTERS, *DISTORT, *POLICIES, Custom, OneOf, MixUp, CutMix, Mosaic)
}
ALIASES = {"random_erasing": "cutout"}


def _planar_ok(st: Step) -> bool:
    """Whether the step has a form on YCbCr planes (see planar.py)."""
    if isinstance(st, OneOf):
        return all(_planar_ok(ch) for ch in st.children)
    if isinstance(st, Cutout):
        return st.cfg["fill"] != "random"
    return isinstance(st, (Geometric, ColorStep, GaussianNoise, GaussianBlur))


def make_step(name: str, cfg: dict) -> Step:
    return STEPS[ALIASES.get(name, name)](cfg)


def validate_steps(raw, where: str) -> list[tuple[str, dict]]:
    """Validate a YAML list of image steps. Returns [(name, cfg)]."""
    out = parse_steps(raw, where, STEPS, ALIASES)
    mix_positions(out, where, MIX_NAMES, switch=True)
    Pipeline(out)  # checks that fused groups agree on their fill
    return out


class Pipeline:
    """Runs validated steps on an image with a job's Generator; returns (image, ops).

    Consecutive geometric steps form one block (one warp), consecutive colour steps one block
    (one colour matrix). `fuse=False` runs every step on its own (for tests and comparison)."""

    def __init__(self, steps: list[tuple[str, dict]], fuse: bool = True):
        self.blocks: list[tuple[str, list[Step]]] = []
        for name, cfg in steps:
            st = make_step(name, cfg)
            kind = "mix" if getattr(st, "MIX", False) else "geo" if st.GEOMETRIC else "color" if st.COLOR else "pixel"
            if fuse and kind != "pixel" and self.blocks and self.blocks[-1][0] == kind:
                self.blocks[-1][1].append(st)
            else:
                self.blocks.append((kind, [st]))
        self.fills = [fused_fill(b) if k == "geo" else None for k, b in self.blocks]
        # every step has a form on YCbCr 4:2:0 planes: JPEG -> JPEG jobs may run on planes
        self.planar = all(_planar_ok(st) for _, b in self.blocks for st in b)

    _block_fill = staticmethod(fused_fill)
    _fire = staticmethod(fire)

    def __call__(self, img: np.ndarray, rng, mix: dict | None = None,
                 geometry: list | None = None) -> tuple[np.ndarray, list[dict]]:
        """`mix`: the mix step's draws made while planning (see transforms/mix.py), with the
        decoded partner under "image"; None when the step does not fire for this copy.
        `geometry`: a list that receives, for every warp made, (number of ops before it, the 3x3
        matrix, output width, output height): exactly what moved the pixels, in pixel-centre
        coordinates (annotations follow it: augcli/annotations/)."""
        ops: list[dict] = []
        given = img  # never written to: copies of one decoded image share it
        for (kind, steps), fill in zip(self.blocks, self.fills):
            if isinstance(img, Encoded):  # a JPEG not decoded yet (io/reduced.py): the first warp decodes it
                if kind == "geo" and geometry is None:
                    img, given = self._reduced(steps, img, rng, fill, ops)
                    continue
                img = given = img.full()
            if kind == "mix":
                img = self._mix(steps[0], img, mix, ops)
                continue
            if kind == "geo":  # (a warp writes a new image)
                img = self._geometric(steps, img, rng, fill, ops, geometry)
                continue
            # made by an earlier step: may be written
            owned = not (planes_share(img, given) if isinstance(img, Planes) else np.may_share_memory(img, given))
            if kind == "color":
                img = self._colour(steps, img, rng, owned, ops)
            else:
                st = self._fire(steps[0], rng)
                if st is None:
                    continue
                prm = st.sample(rng, Size(img.shape[1], img.shape[0]))
                ops.append({"name": st.NAME, **prm})
                if geometry is not None and st.GEOMETRIC:  # a geometric step a mixed one_of chose: its own warp
                    geometry.append((len(ops) - 1, *st.matrix(prm, img.shape[1], img.shape[0])))
                elif geometry is not None and getattr(st, "MOVES", False):  # a policy: its geometric ops' warps
                    geometry.extend((len(ops) - 1, *w) for w in st.warps(prm, img.shape[1], img.shape[0]))
                img = st.apply(img, prm, inplace=True) if st.INPLACE and owned else st.apply(img, prm)
        return img, ops

    def _geometric(self, steps, img, rng, fill, ops, geometry=None, decoded=None):
        """One warp: the steps' matrices composed (recorded in `geometry` when one is given).
        `decoded`: a list that receives (decoded image, its decode op or None) when `img` is Encoded."""
        H, W = img.shape[:2]
        M, w, h = None, W, H
        n = len(ops)
        for st in steps:
            st = self._fire(st, rng)
            if st is None:
                continue
            prm = st.sample(rng, Size(w, h))
            A, w, h = st.matrix(prm, w, h)
            M = A if M is None else A @ M
            ops.append({"name": st.NAME, **prm})
        if M is None:
            M = np.eye(3)
        if geometry is not None and len(ops) > n:
            geometry.append((n, M, w, h))
        if decoded is not None:
            img, M, op = img.for_warp(M, w, h)
            decoded.append((img, op))
        return warp(img, M, w, h, *fill)

    def _reduced(self, steps, src: Encoded, rng, fill, ops):
        """_geometric on a JPEG decoded at the reduction its matrix allows (Encoded.for_warp), the
        steps sampled from its full size; its {"name": "decode", ...} op first unless decoded in full.
        Returns (image, the decode it came from: never written to)."""
        n = len(ops)
        got = []
        img = self._geometric(steps, src, rng, fill, ops, decoded=got)
        if got[0][1] is not None:
            ops.insert(n, got[0][1])
        return img, got[0][0]

    def _colour(self, steps, img, rng, owned, ops):
        """One colour pass: the steps' matrices composed (each one's mean colour is the first's
        mean carried through the matrices before it)."""
        vmax = maxval(img)
        size = Size(img.shape[1], img.shape[0])
        mean0 = mean = M = None
        for st in steps:
            st = self._fire(st, rng)
            if st is None:
                continue
            if mean0 is None:
                mean0 = mean = mean_rgb(img)
            elif mean is None:  # the mean after the steps so far (made only when a step follows)
                mean = apply_rgb(M, mean0)
            prm = st.sample(rng, size)
            Mi = st.rgb_matrix(prm, mean, vmax)
            M = Mi if M is None else compose(M, Mi)
            mean = None
            ops.append({"name": st.NAME, **prm})
        return img if M is None else apply_color_matrix(img, M, inplace=owned)

    @staticmethod
    def _mix(st, img, mix, ops):
        if mix is None:
            return img
        if "skipped" in mix:
            ops.append({"name": mix["name"], "skipped": mix["skipped"]})
            return img
        if isinstance(st, OneOf):
            st = st.chosen(mix["name"])
        prm = {k: v for k, v in mix.items() if k not in ("name", "image")}
        data = (img, mix["image"])
        ops.append(st.op(prm, data))
        return st.apply(data, prm)
