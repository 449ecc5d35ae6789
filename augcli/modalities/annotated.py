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

import sys
from pathlib import Path, PurePosixPath

from ..errors import RecipeError, UsageError
from ..filework import FileWork, numbered
from .image import ImageModality, ImageWorker

ALLOWED_STEPS = ("geometric, colour, gamma, noise, blur, pixel steps; randaugment, trivialaugment, autoaugment; "
                 "mosaic (first); cutout, mixup and cutmix (after the geometric steps and policies)")


def _formats():
    from ..annotations import formats

    return formats


def _step_classes(steps_module, name: str, cfg: dict) -> list:
    """The step classes an entry of the recipe may run (a one_of: its children)."""
    cls = steps_module.STEPS[steps_module.ALIASES.get(name, name)]
    if name == "one_of":
        return [c for n, c_cfg in cfg["steps"] for c in _step_classes(steps_module, n, c_cfg)]
    return [cls]


class AnnotatedModality(ImageModality):
    name = "image-annotated"
    recipe_name = "image"

    def mosaic_allowed(self, cfg) -> bool:
        return not (cfg.input or cfg.csv) or _formats().detect(cfg) is not None

    def accepts(self, cfg) -> bool:
        return _formats().detect(cfg) is not None

    def check(self, cfg, where: str, require_io: bool) -> None:
        super().check(cfg, where, require_io)
        formats = _formats()
        why = formats.missing(cfg)
        if why:
            fmt = formats.spec(cfg.annotations)["format"]
            raise RecipeError(f"{where}: annotations: {fmt!r} {why}; allowed: auto, none, or a format whose "
                              "folders INPUT holds")
        fmt = formats.detect(cfg)
        if fmt is None:
            return
        if cfg.balance:
            raise RecipeError(f"{where}: balance: true is not supported with annotations yet (an image holds "
                              "objects of several classes: there is no image class to balance); allowed: copies")
        self._check_steps(cfg, where)
        if require_io:
            self._check_flips(fmt.load(), where)

    def _check_steps(self, cfg, where: str) -> None:
        """Steps that cannot move annotations are refused, and those whose place matters: cutout and
        mixup/cutmix after the last geometric step, mosaic first."""
        mod = self.steps()
        geometric_at, after = [], []
        for i, (name, step_cfg) in enumerate(cfg.transforms):
            for cls in _step_classes(mod, name, step_cfg):
                if not cls.ANNOTATIONS:
                    raise RecipeError(f"{where}: transforms[{i}].{name}: {cls.NAME} is not supported with "
                                      "annotations (it cannot move boxes, polygons, keypoints or masks); "
                                      f"allowed: {ALLOWED_STEPS}")
                if cls.NAME == "mosaic" and i:
                    raise RecipeError(f"{where}: transforms[{i}].{name}: mosaic must be the first step with "
                                      "annotations (its partners are taken as read); allowed: mosaic first")
                if cls.GEOMETRIC or getattr(cls, "MOVES", False):  # (a policy moves objects too)
                    geometric_at.append(i)
                if cls.NAME in ("cutout", "mixup", "cutmix"):
                    after.append(i)
        if after and geometric_at and max(geometric_at) > min(after):
            i, j = min(after), max(geometric_at)
            raise RecipeError(f"{where}: transforms[{i}].{cfg.transforms[i][0]}: a {cfg.transforms[i][0]} before a "
                              f"geometric step (transforms[{j}].{cfg.transforms[j][0]}) is not supported with "
                              f"annotations; allowed: {cfg.transforms[i][0]} after the last geometric step")

    @staticmethod
    def _check_flips(fmt, where: str) -> None:
        shape = getattr(fmt, "kpt_shape", None)
        k = shape[0] if shape else 0
        for pair in fmt.opts["flip_pairs"]:
            if max(pair) >= k:
                raise RecipeError(f"{where}: annotations.flip_pairs: {pair!r} is not allowed; allowed: keypoint "
                                  f"indices below {k} (data.yaml's kpt_shape)")
        for pair in fmt.opts["flip_classes"]:
            if fmt.names and not set(pair) <= set(fmt.names):
                raise RecipeError(f"{where}: annotations.flip_classes: {pair!r} is not allowed; allowed: class ids "
                                  "of data.yaml's names")

    def describe(self, cfg) -> str:
        fmt = _formats().detect(cfg)
        return super().describe(cfg) + ("" if fmt is None else f"; annotations: {fmt.name}")

    def fingerprint(self, cfg) -> dict:
        fp = super().fingerprint(cfg)
        fmt = _formats().open_input(cfg)
        if fmt is not None:
            fp["annotations"] = {**fmt.opts, "format": fmt.name, **fmt.fingerprint()}
        return fp

    def discover(self, cfg):
        fmt = _formats().open_input(cfg)
        if fmt is None:
            return super().discover(cfg)
        from ..sources import check_output

        items, warnings = fmt.discover(self.extensions(), cfg.follow_links)
        if cfg.output:
            check_output(cfg.input, cfg.output)
        return items, warnings

    def plan(self, cfg):
        from ..plan import Job, Output, fingerprint, make_plan
        from ..sources import deduplicate_names

        formats = _formats()
        fmt = formats.open_input(cfg)
        items, warnings = self.discover(cfg)
        if not items:
            raise UsageError(f"{fmt.images}: no {self.noun} found (looked for {', '.join(sorted(self.extensions()))})")
        fixed = {it.source: fmt.split_of(it.source)[0] for it in items}
        pool = [it for it in items if fixed[it.source] == "train"]
        plan = make_plan(pool, cfg, self, [fmt.note()] + self._fill_notes(cfg) + warnings)
        plan.jobs = list(plan.jobs)  # Job objects kept: their output paths are the format's
        for job in plan.jobs:
            for o in job.outputs:
                o.path = fmt.output_image(o.path)
        ext_of = lambda source: self.output_ext(PurePosixPath(source).suffix, cfg.format)  # noqa: E731
        for split in ("val", "test"):
            for it in deduplicate_names([it for it in items if fixed[it.source] == split], ext_of):
                plan.jobs.append(Job(it.path, it.source, None, split,
                                     [Output(fmt.output_image(f"{split}/{it.out_key}{ext_of(it.source)}"), None, None)]))
                plan.counts.setdefault((split, None), {"originals": 0, "augmented": 0})["originals"] += 1
        plan.jobs.sort(key=lambda j: j.source)
        formats.check_unique([o.path for j in plan.jobs for o in j.outputs], fmt)
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
        if _formats().detect(cfg) is None:
            return super().work(cfg, plan)
        return AnnotatedWork(cfg, plan, self)

    def worker(self, cfg):
        fmt = _formats().open_input(cfg)
        if fmt is None:
            return super().worker(cfg)
        return AnnotatedWorker(cfg, self.steps().Pipeline(cfg.transforms), fmt)


class AnnotatedWorker(ImageWorker):
    """The image worker, with each source's annotation read in `load` and written beside each output.
    `last`: the annotation of the output made last, in its pixels (preview draws it)."""

    def __init__(self, cfg, pipeline, fmt):
        super().__init__(cfg, pipeline)
        self.fmt, self.opts = fmt, fmt.opts
        self.pairs = fmt.flip_pairs() if hasattr(fmt, "flip_pairs") else []
        self.out: Path | None = None  # OUTPUT in a run's workers; None (a preview): nothing is written beside
        self.job = None  # the job being run (for the original's output path)
        self.last = None

    def load(self, src: str):
        img, data, orientation = super().load(src)
        # the job's source (src may be a local copy of a remote file); a preview has no job
        source = self.job.source if self.job is not None else Path(src).relative_to(self.fmt.root).as_posix()
        return img, data, orientation, self.fmt.read(src, source, img.shape[1], img.shape[0]), source

    def original(self, state, src: str, ext: str, seed_key: int):
        data, ops = super().original(state[:3], src, ext, seed_key)
        self.last = state[3]
        if state[3].objs:
            from ..annotations.geometry import counts

            ops.append(counts(state[3].objs, state[3].objs))
        if self.out is not None:
            o = next(o for o in self.job.outputs if o.copy is None)
            self._write_beside(state[3], state[0], o.path, state[4])
        return data, ops

    def augment(self, state, job, o, ext: str, seed_key: int):
        """The copy and its annotation; with `on_cut: resample`, drawn again (new pipeline draws, the
        same partners) while an object is cut, up to max_tries, then dropped."""
        import numpy as np

        from ..annotations.follow import follow
        from ..errors import Dropped
        from ..io.image import encode

        img, ann = state[0], state[3]
        mix = self._mix_input(o, img)
        tries = self.opts["max_tries"] if self.opts["on_cut"] == "resample" else 1
        for t in range(tries):
            warps: list = []
            rng = self._rng(o.seed) if t == 0 else np.random.default_rng([o.seed, t])  # (ImageWorker's reseeder)
            aug, ops = self.pipeline(img, rng, mix, warps)
            self.last, op, cut = follow(ann, mix, warps, ops, (aug.shape[1], aug.shape[0]), self.opts, self.pairs)
            if not (cut and tries > 1):
                break
        else:
            raise Dropped(f"on_cut: resample: each of {tries} draws cut an object (border, hole or box)")
        if tries > 1:
            op["tries"] = t + 1
        ops.append(op)
        if self.out is not None:
            self._write_beside(self.last, aug, o.path, state[4])
        return encode(aug, ext, self.cfg.quality, self.cfg.rescale), ops

    def _mix_input(self, o, img) -> dict | None:
        """The mix step's draws with the partners' images and annotations read (None: no mix)."""
        if o.mix is None:
            return None
        mix = dict(o.mix)
        if "skipped" in mix:
            return mix
        from ..io.image import read_image

        found = mix.get("partners") or [{"partner": mix["partner"], "partner_path": mix["partner_path"]}]
        images, anns = [], []
        for p in found:
            try:
                im = read_image(p["partner_path"], self.cfg.max_pixels)[0]
                anns.append(self.fmt.read(p["partner_path"], p["partner"], im.shape[1], im.shape[0]))
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"{mix['name']} partner {p['partner']}: {' '.join(str(e).split())}")
            images.append(im)
        mix["image"] = images if "partners" in mix else images[0]
        mix.update(shape=img.shape[:2], partner_anns=anns, partner_shapes=[im.shape[:2] for im in images])
        return mix

    def _write_beside(self, ann, img, image_path: str, source: str) -> None:
        from ..io import atomic_write

        for rel, data in self.fmt.write(ann, img.shape[1], img.shape[0], image_path, source).items():
            dst = self.out / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dst, data)


def init_annotated_worker(cfg, out_dir: str, modality) -> None:
    """Once per worker process: the image worker's set-up, and where annotations are written."""
    from .. import worker

    from ..storage import location

    worker.init_worker(cfg, out_dir, modality)
    worker._W["kind"].out = location(out_dir)


def run_annotated_job(job):
    from .. import worker

    worker._W["kind"].job = job
    return numbered(job, worker.run_job(job))


class AnnotatedWork(FileWork):
    """A file plan's work, plus the format's files for the whole dataset (data.yaml, COCO JSON ...),
    and images without their annotation made again on resume."""

    unit_fn, init_fn = staticmethod(run_annotated_job), staticmethod(init_annotated_worker)

    def __init__(self, cfg, plan, modality):
        super().__init__(cfg, plan, modality)
        self.fmt = _formats().open_input(cfg)

    def resume(self, out: Path, res):
        from ..storage import exists_fn

        self.fmt.begin(out, self.plan)
        if (out / "manifest.csv").exists():
            there = exists_fn(out)  # (an object store: one listing)
            for job in self.plan.jobs:
                for o in job.outputs:
                    img = out / o.path
                    if there(o.path) and not all(there(p) for p in self.fmt.side_paths(o.path)):
                        print(f"warning: {img}: its annotation is missing; made again", file=sys.stderr)
                        img.unlink()
        return super().resume(out, res)

    def finish(self, out: Path, res) -> None:
        super().finish(out, res)
        self.fmt.finish(out, self.plan, not res.failed)

    def stop(self, out: Path, res) -> None:
        super().stop(out, res)
        self.fmt.finish(out, self.plan, False)
