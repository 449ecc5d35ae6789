"""Images: JPEG, PNG, WebP, TIFF, BMP ... in, the same (or --format) out; OpenCV in the workers."""
from __future__ import annotations

import os
from pathlib import Path

from .base import FileModality


class ImageModality(FileModality):
    name = recipe_name = "image"
    noun = "image files"
    formats = ("same", "jpg", "png", "webp", "tif", "npy")
    default_transforms = [
        {"hflip": {"p": 0.5}},
        {"rotate": {"degrees": 20, "fill": "reflect"}},
        {"zoom": {"range": [0.9, 1.1]}},
        {"color_jitter": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05}},
        {"gaussian_noise": {"std": [0, 10], "p": 0.3}},
        {"cutout": {"holes": 1, "size": [0.1, 0.3], "p": 0.5}},
    ]
    steps_module = "augcli.transforms.image"
    io_module = "augcli.io.image"
    mixing = True
    preview_kind = "image"

    def mosaic_allowed(self, cfg) -> bool:
        """Mosaic places objects: annotated datasets only (modalities/annotated.py)."""
        return False

    def check(self, cfg, where: str, require_io: bool) -> None:
        super().check(cfg, where, require_io)
        for i, (name, _) in enumerate(cfg.transforms):
            if name == "mosaic" and not self.mosaic_allowed(cfg):
                from ..errors import RecipeError

                raise RecipeError(f"{where}: transforms[{i}].mosaic: mosaic is for annotated datasets (it places "
                                  "the objects of 4 images); allowed: with annotations (INPUT/images + labels, "
                                  "--coco, VOC)")

    def fingerprint(self, cfg) -> dict:
        from ..io.image import planar_available
        from ..io.reduced import reduced_enabled

        # JPEG -> JPEG jobs on YCbCr planes, JPEGs decoded at reduced scale: other bytes
        return {"jpeg_planes": planar_available(), "jpeg_reduced": reduced_enabled()}

    def worker_setup(self) -> None:
        import cv2

        from ..executors import reuse_heap

        cv2.setNumThreads(0)  # one process per core: OpenCV's own threads would oversubscribe
        reuse_heap()

    def before_fork(self, cfg) -> None:
        """OpenCV imported (it starts no thread until an operation runs; worker_setup sets its
        threads in each worker), numpy.random and the readers imported, and the Gaussian noise
        buffer's first two chunks drawn when a step adds noise (what any offset plus a 224-512 px
        output takes): ~30 ms + ~35 ms of CPU that each worker paid before its first output."""
        import cv2  # noqa: F401
        import numpy.random  # noqa: F401

        from ..io import image, reduced  # noqa: F401

        if any(name == "gaussian_noise" for name, _ in cfg.transforms):
            from ..transforms.image.pixel import NOISE

            NOISE.get(NOISE.CHUNK, NOISE.CHUNK)  # the values any worker draws (seeded by chunk)

    def worker(self, cfg):
        return ImageWorker(cfg, self.steps().Pipeline(cfg.transforms))


class ImageWorker:
    OUTPUT_KEY = False  # (the worker's per-output key: images do not use it)

    def __init__(self, cfg, pipeline):
        from ..io.image import encode, output_ext, read_image
        from ..io.reduced import open_image
        from ..seeds import reseeder
        from ..sources import suffix

        self.cfg, self.pipeline = cfg, pipeline
        # default_rng(seed)'s streams from one Generator re-seeded per output; what runs per source
        # and per output imported once
        self._rng, self._encode = reseeder(), encode
        self._read = open_image if self.reduced_decode() else read_image
        # JPEG -> JPEG with steps that all run on YCbCr planes: decode to planes (io.image.Planes)
        self._planes_for = (lambda src: output_ext(suffix(src), cfg.format) in (".jpg", ".jpeg")) \
            if pipeline.planar else (lambda src: False)

    def load(self, src: str):
        """read_image's (image, bytes, orientation); the image an io.reduced.Encoded JPEG when
        reduced_decode() (decided once per worker)."""
        return self._read(src, self.cfg.max_pixels, planes=self._planes_for(os.fspath(src)))

    def reduced_decode(self) -> bool:
        """Whether a JPEG's decode waits for the first warp, which decodes it at reduced scale
        (io/reduced.py): when the recipe starts with a geometric block (and AUGCLI_REDUCED is not 0). Not for workers that
        override `augment` (annotated datasets read the decoded image's pixels and geometry)."""
        from ..io.reduced import reduced_enabled

        blocks = self.pipeline.blocks
        return reduced_enabled() and type(self).augment is ImageWorker.augment and bool(blocks) and blocks[0][0] == "geo"

    def original(self, state, src: str, ext: str, seed_key: int):
        from ..io.image import encode

        img, data, orientation = state
        img = img.full() if hasattr(img, "full") else img
        ops = [{"name": "exif_orientation", "value": orientation}] if orientation != 1 else []
        if not ops and self.cfg.format == "same" and ext == Path(src).suffix.lower():
            return data, ops  # byte copy: lossless
        return encode(img, ext, self.cfg.quality, self.cfg.rescale), ops

    def augment(self, state, job, o, ext: str, seed_key: int):
        mix = None
        if o.mix is not None:
            mix = dict(o.mix)
            if "skipped" not in mix:
                mix["image"] = self._partner(mix)
        if hasattr(state[0], "uses"):  # not decoded yet (io/reduced.py): a window of it pays for one output
            # the recipe's copies, not len(job.outputs): a resumed job holds only
            # the outputs left, and the bytes of an output must not depend on which those are
            state[0].uses = max(1, int(getattr(self.cfg, "copies", 1) or 1))
        aug, ops = self.pipeline(state[0], self._rng(o.seed), mix)
        return self._encode(aug, ext, self.cfg.quality, self.cfg.rescale), ops

    def _partner(self, mix: dict):
        from ..io.image import read_image

        try:
            return read_image(mix["partner_path"], self.cfg.max_pixels)[0]
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"{mix['name']} partner {mix['partner']}: {' '.join(str(e).split())}")
