"""Annotated images: YOLO labels (boxes, polygons, keypoints) or semantic masks beside the images,
moved with exactly the pixels' geometry and written in the input's format and layout.

The same recipe name as plain images (`modality: image`); registered before them, it runs a
config whose input holds images/ + labels/ or images/ + masks/ (`annotations: auto`), or the
format asked for. It is the image modality with three differences:

- plan: the images under INPUT/images, their split folder kept (val and test written unchanged),
  outputs under OUTPUT/images/<split>/..., and the annotation next to each under labels/ or masks/;
- worker: load reads the image's annotation too (a malformed one fails the source, naming file
  and line); each output's annotation is written (atomically) before its image, from the warps
  the pipeline records (annotations/geometry.py, annotations/masks.py); the manifest's ops end
  with an `annotations` op (objects in and out, drops by reason);
- work: data.yaml for the output (YOLO); on resume an image whose annotation is missing is made again.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path, PurePosixPath

from ..errors import RecipeError, UsageError
from ..filework import FileWork
from .image import ImageModality, ImageWorker

ALLOWED_STEPS = "geometric, colour, gamma, noise, blur and cutout (after the geometric steps)"


def _layout():
    from ..annotations import layout

    return layout


def _step_classes(steps_module, name: str, cfg: dict) -> list:
    """The step classes an entry of the recipe may run (a one_of: its children)."""
    cls = steps_module.STEPS[steps_module.ALIASES.get(name, name)]
    if name == "one_of":
        return [c for n, c_cfg in cfg["steps"] for c in _step_classes(steps_module, n, c_cfg)]
    return [cls]


class AnnotatedModality(ImageModality):
    name = "image-annotated"
    recipe_name = "image"

    def accepts(self, cfg) -> bool:
        return _layout().detect(cfg) is not None

    def check(self, cfg, where: str, require_io: bool) -> None:
        super().check(cfg, where, require_io)
        layout = _layout()
        why = layout.missing(cfg)
        if why:
            fmt = layout.spec(cfg.annotations)["format"]
            raise RecipeError(f"{where}: annotations: {fmt!r} {why}; allowed: auto, none, or a format whose "
                              "folders INPUT holds")
        lay = layout.detect(cfg)
        if lay is None:
            return
        if cfg.balance:
            raise RecipeError(f"{where}: balance: true is not supported with annotations yet (an image holds "
                              "objects of several classes: there is no image class to balance); allowed: copies")
        self._check_steps(cfg, where)
        self._check_flips(cfg, layout.read_yaml(lay), where)

    def _check_steps(self, cfg, where: str) -> None:
        mod = self.steps()
        geometric_at, cutout_at = [], []
        for i, (name, step_cfg) in enumerate(cfg.transforms):
            for cls in _step_classes(mod, name, step_cfg):
                if getattr(cls, "MIX", False) or cls.NAME == "custom":
                    raise RecipeError(f"{where}: transforms[{i}].{name}: {cls.NAME} is not supported with "
                                      "annotations yet (it cannot move boxes, polygons, keypoints or masks); "
                                      f"allowed: {ALLOWED_STEPS}")
                if cls.GEOMETRIC:
                    geometric_at.append(i)
                if cls.NAME == "cutout":
                    cutout_at.append(i)
        if cutout_at and geometric_at and max(geometric_at) > min(cutout_at):
            i, j = min(cutout_at), max(geometric_at)
            raise RecipeError(f"{where}: transforms[{i}].{cfg.transforms[i][0]}: a cutout before a geometric step "
                              f"(transforms[{j}].{cfg.transforms[j][0]}) is not supported with annotations yet; "
                              "allowed: cutout after the last geometric step")

    @staticmethod
    def _check_flips(cfg, lay, where: str) -> None:
        opts = _layout().spec(cfg.annotations)
        k = lay.kpt_shape[0] if lay.kpt_shape else 0
        for pair in opts["flip_pairs"]:
            if max(pair) >= k:
                raise RecipeError(f"{where}: annotations.flip_pairs: {pair!r} is not allowed; allowed: keypoint "
                                  f"indices below {k} (data.yaml's kpt_shape)")
        for pair in opts["flip_classes"]:
            if lay.names and not set(pair) <= set(lay.names):
                raise RecipeError(f"{where}: annotations.flip_classes: {pair!r} is not allowed; allowed: class ids "
                                  "of data.yaml's names")

    def describe(self, cfg) -> str:
        lay = _layout().detect(cfg)
        return super().describe(cfg) + ("" if lay is None else f"; annotations: {lay.format}")

    def fingerprint(self, cfg) -> dict:
        fp = super().fingerprint(cfg)
        layout = _layout()
        lay = layout.detect(cfg)
        if lay is not None:
            lay = layout.read_yaml(lay)
            yaml_hash = hashlib.sha256(lay.yaml_path.read_bytes()).hexdigest() if lay.yaml_path else None
            fp["annotations"] = {**layout.spec(cfg.annotations), "format": lay.format, "data_yaml": yaml_hash}
        return fp

    def discover(self, cfg):
        layout = _layout()
        lay = layout.detect(cfg)
        if lay is None:
            return super().discover(cfg)
        from ..sources import check_output

        items, warnings = layout.discover(lay, self.extensions(), cfg.follow_links)
        if cfg.output:
            check_output(lay.root, Path(cfg.output))
        return items, warnings

    def plan(self, cfg):
        from ..plan import Job, Output, fingerprint, make_plan
        from ..sources import deduplicate_names

        layout = _layout()
        lay = layout.read_yaml(layout.detect(cfg))
        items, warnings = self.discover(cfg)
        if not items:
            raise UsageError(f"{lay.images}: no {self.noun} found (looked for {', '.join(sorted(self.extensions()))})")
        fixed = {it.source: layout.split_of(it.source)[0] for it in items}
        pool = [it for it in items if fixed[it.source] == "train"]
        plan = make_plan(pool, cfg, self, [lay.note()] + self._fill_notes(cfg) + warnings)
        for job in plan.jobs:
            for o in job.outputs:
                o.path = "images/" + o.path
        ext_of = lambda it: self.output_ext(PurePosixPath(it.source).suffix, cfg.format)  # noqa: E731
        for split in ("val", "test"):
            for it in deduplicate_names([it for it in items if fixed[it.source] == split], ext_of):
                plan.jobs.append(Job(it.path, it.source, None, split,
                                     [Output(f"images/{split}/{it.out_key}{ext_of(it)}", None, None)]))
                plan.counts.setdefault((split, None), {"originals": 0, "augmented": 0})["originals"] += 1
        plan.jobs.sort(key=lambda j: j.source)
        _check_unique(plan, lay.format)
        plan.fingerprint = fingerprint({"plan": plan.fingerprint,
                                        "fixed": sorted((s, f) for s, f in fixed.items() if f != "train")})
        return plan

    def _fill_notes(self, cfg) -> list[str]:
        """A warning when warps fill the border with reflected (or wrapped) pixels: objects mirrored
        in from the border carry no label."""
        pipe = self.steps().Pipeline(cfg.transforms)
        fills = set()
        for (kind, steps), fill in zip(pipe.blocks, pipe.fills):
            for st in steps:
                for s in getattr(st, "children", [st]):
                    if s.GEOMETRIC and "fill" in s.cfg:  # a step that brings in pixels from outside
                        fills.add(fill[0] if kind == "geo" else s.cfg["fill"] or "reflect")
        bad = sorted(fills & {"reflect", "wrap"})
        if not bad:
            return []
        return [f"transforms: warps fill the border with {bad[0]!r}: objects copied in from the border get no "
                "label; fill: constant (with fill_value) avoids that"]

    def work(self, cfg, plan):
        if _layout().detect(cfg) is None:
            return super().work(cfg, plan)
        return AnnotatedWork(cfg, plan, self)

    def worker(self, cfg):
        layout = _layout()
        lay = layout.detect(cfg)
        if lay is None:
            return super().worker(cfg)
        return AnnotatedWorker(cfg, self.steps().Pipeline(cfg.transforms), layout.read_yaml(lay),
                               layout.spec(cfg.annotations))


def _check_unique(plan, fmt: str) -> None:
    """No two outputs share an image or an annotation file (a.jpg and a.png would share a.txt)."""
    from collections import Counter

    images = Counter(o.path for j in plan.jobs for o in j.outputs)
    beside = Counter(beside_path(p, fmt) for p in images)
    dup = [p for p, n in images.items() if n > 1] or [p for p, n in beside.items() if n > 1]
    if dup:
        raise UsageError(f"output name {dup[0]!r} would be written for two images (same name with another "
                         "extension, or an image of the input's val/test folder named like one held out by "
                         "--val-split); rename one of them")


def beside_path(image_path: str, fmt: str) -> str:
    """images/<split>/<name>.<ext> -> labels/<split>/<name>.txt (YOLO) or masks/<split>/<name>.png."""
    p = PurePosixPath(image_path)
    return str(PurePosixPath(_layout().BESIDE[fmt], *p.parts[1:]).with_suffix(".txt" if fmt == "yolo" else ".png"))


class AnnotatedWorker(ImageWorker):
    """The image worker, with each source's annotation read in `load` and written beside each output."""

    def __init__(self, cfg, pipeline, lay, opts: dict):
        super().__init__(cfg, pipeline)
        self.lay, self.opts = lay, opts
        self.pairs = _layout().flip_pairs(lay, opts)
        self.kdim = lay.kpt_shape[1] if lay.kpt_shape else None
        self.out: Path | None = None  # OUTPUT in a run's workers; None (a preview): nothing is written beside
        self.job = None  # the job being run (for the original's output path)

    def load(self, src: str):
        img, data, orientation = super().load(src)
        return img, data, orientation, self._annotation(src, img.shape[1], img.shape[0])

    def _annotation(self, src: str, w: int, h: int):
        rel = PurePosixPath(Path(src).relative_to(self.lay.images).as_posix())
        if self.lay.format == "masks":
            from ..annotations.masks import read_mask

            name = rel.with_suffix(".png")
            try:
                data = (self.lay.beside / name).read_bytes()
            except FileNotFoundError:
                raise ValueError(f"masks/{name}: no mask for this image; allowed: a mask PNG of the same name")
            return read_mask(data, f"masks/{name}", w, h)
        from ..annotations.yolo import LabelError, parse

        name = rel.with_suffix(".txt")
        try:
            data = (self.lay.beside / name).read_bytes()
        except FileNotFoundError:
            data = b""  # a background image
        try:
            objs, clipped = parse(data, f"labels/{name}", w, h, self.lay.names, self.lay.kpt_shape)
        except LabelError as e:
            raise ValueError(str(e)) from None
        return objs, (None if clipped else data)

    def original(self, state, src: str, ext: str, seed_key: int):
        data, ops = super().original(state[:3], src, ext, seed_key)
        if self.out is not None:
            o = next(o for o in self.job.outputs if o.copy is None)
            ann = state[3]
            if self.lay.format == "masks":
                side = ann.data
            else:
                from ..annotations.yolo import format_objects

                objs, raw = ann
                side = raw if raw is not None else format_objects(objs, state[0].shape[1], state[0].shape[0],
                                                                 self.kdim)
            self._write_beside(o.path, side)
        return data, ops

    def augment(self, state, job, o, ext: str, seed_key: int):
        import numpy as np

        from ..io.image import encode

        img, ann = state[0], state[3]
        warps: list = []
        aug, ops = self.pipeline(img, np.random.default_rng(o.seed), None, warps)
        side, op = self._follow(ann, warps, ops, aug)
        ops.append(op)
        if self.out is not None:
            self._write_beside(o.path, side)
        return encode(aug, ext, self.cfg.quality, self.cfg.rescale), ops

    def _follow(self, ann, warps: list, ops: list, aug) -> tuple[bytes, dict]:
        """The output's annotation file and the manifest's `annotations` op."""
        if self.lay.format == "masks":
            from ..annotations.masks import encode_mask, warp_mask

            fill = self.opts["mask_fill"]
            return encode_mask(ann, warp_mask(ann.arr, warps, fill)), {"name": "annotations", "mask": "nearest",
                                                                       "fill": fill}
        from ..annotations.geometry import Follower, continuous
        from ..annotations.yolo import format_objects

        holes = [hole for op in ops if op["name"] == "cutout" for hole in op["holes"]]
        follower = Follower([(continuous(M), w, h) for _, M, w, h in warps], holes, self.opts, self.pairs)
        kept, info = follower.run(ann[0])
        return format_objects(kept, aug.shape[1], aug.shape[0], self.kdim), info

    def _write_beside(self, image_path: str, data: bytes) -> None:
        from ..io import atomic_write

        dst = self.out / beside_path(image_path, self.lay.format)
        dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dst, data)


def init_annotated_worker(cfg, out_dir: str, modality) -> None:
    """Once per worker process: the image worker's set-up, and where annotations are written."""
    from .. import worker

    worker.init_worker(cfg, out_dir, modality)
    worker._W["kind"].out = Path(out_dir)


def run_annotated_job(job):
    from .. import worker

    worker._W["kind"].job = job
    return worker.run_job(job)


class AnnotatedWork(FileWork):
    """A file plan's work, plus data.yaml (YOLO) and images without their annotation made again."""

    unit_fn, init_fn = staticmethod(run_annotated_job), staticmethod(init_annotated_worker)

    def resume(self, out: Path, res):
        layout = _layout()
        lay = layout.read_yaml(layout.detect(self.cfg))
        if lay.format == "yolo":
            from ..io import atomic_write

            splits = {j.split for j in self.plan.jobs}
            ids = set() if lay.names else layout.class_ids(lay, [j.source for j in self.plan.jobs])
            atomic_write(out / "data.yaml", layout.output_yaml(lay, splits, ids))
        if (out / "manifest.csv").exists():
            for job in self.plan.jobs:
                for o in job.outputs:
                    img = out / o.path
                    if img.exists() and not (out / beside_path(o.path, lay.format)).exists():
                        print(f"warning: {img}: its annotation is missing; made again", file=sys.stderr)
                        img.unlink()
        return super().resume(out, res)
