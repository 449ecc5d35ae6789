"""What an annotation format does for the engine: the base class of every format.

A format (a subclass of `Format`, registered in formats.py) knows its layout under INPUT, reads one
image's annotation into model.Annotation (in pixels), writes one output's annotation files, and
writes what the whole dataset needs at the end (YOLO's data.yaml, COCO's instances JSON, VOC's
ImageSets). The modality (modalities/annotated.py) and the inspection commands use only this
interface; no format name is tested outside this package.

Images live under one folder of INPUT (`images/`, VOC's `JPEGImages/`, or INPUT itself for COCO);
an optional first folder level there names the split: train, val (valid, validation) or test.
Images of val and test are written unchanged (never augmented) to OUTPUT's same split; the rest
is the training pool, from which --val-split holds out more.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from .options import spec

SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


class Format:
    """One annotation format on one dataset folder (INPUT, or an OUTPUT for the inspection commands)."""

    name = ""
    images_dir = "images"  # where the images are, under the root
    side_dir = ""  # the folder of per-image annotation files beside images_dir (YOLO labels/, masks/ ...)

    def __init__(self, root: Path, detected: bool, cfg=None):
        self.root = root if hasattr(root, "put") else Path(root)  # a local folder, or a storage.RemotePath
        self.detected, self.cfg = detected, cfg
        self.names: dict = {}  # class id (or name) -> class name
        self.opts = spec(getattr(cfg, "annotations", None))

    # -- finding the layout ----------------------------------------------------------------
    @classmethod
    def present(cls, root: Path, cfg) -> bool:
        """Whether root holds this format's layout (for `annotations: auto`): a few stat calls."""
        return (root / cls.images_dir).is_dir() and (root / cls.side_dir).is_dir()

    @classmethod
    def missing(cls, root: Path, cfg) -> str | None:
        """Why this format, asked for, cannot run on root (None when it can)."""
        for sub in (cls.images_dir, cls.side_dir):
            if not (root / sub).is_dir():
                return f"needs INPUT/{cls.images_dir} and INPUT/{cls.side_dir} side by side; {root / sub} is not a folder"
        return None

    def load(self) -> "Format":
        """Read what the whole dataset declares (class names, the COCO file); UsageError naming the file."""
        return self

    @property
    def images(self) -> Path:
        return self.root / self.images_dir if self.images_dir else self.root

    def note(self) -> str:
        """The plan's line saying what was found."""
        how = "detected" if self.detected else "asked for"
        return f"annotations: {self.name} ({how}: {self.images_dir}/ + {self.side_dir}/ in {self.root})"

    def fingerprint(self) -> dict:
        """What, beside the images, decides the outputs (hashes of shared files): resume checks it."""
        return {}

    # -- the plan ------------------------------------------------------------------------------
    def discover(self, exts: set[str], follow_links: bool):
        """The images as plan items (source: their path under the root; output name: their path
        inside their split folder, without extension), and warnings."""
        from ..sources import Item, list_files

        files, warnings = list_files(self.images, exts, follow_links)
        items = []
        for p, r in files:
            source = str(PurePosixPath(self.images_dir) / r)
            rel = self.split_of(source)[1]
            items.append(Item(p, source, None, str(PurePosixPath(rel).with_suffix(""))))
        return items, warnings

    def split_of(self, source: str) -> tuple[str, str]:
        """(split the image belongs to by its folder, its path inside that folder):
        ("val", "a/b.jpg") for images/valid/a/b.jpg; ("train", rest) otherwise."""
        parts = PurePosixPath(source).parts[1 if self.images_dir else 0:]
        if len(parts) > 1 and parts[0] in SPLITS:
            return SPLITS[parts[0]], str(PurePosixPath(*parts[1:]))
        return "train", str(PurePosixPath(*parts))

    def output_image(self, path: str) -> str:
        """Where an output image goes, from the plan's <split>/<name>.<ext>."""
        return f"{self.images_dir or 'images'}/{path}"

    def side_paths(self, image_out: str) -> list[str]:
        """The files written beside an output image (resume makes an image again when one is missing)."""
        return []

    # -- one image -------------------------------------------------------------------------------
    def read(self, src: str, source: str, w: int, h: int):
        """The annotation of the image at src (its source path `source`) of w x h: model.Annotation;
        ValueError (or model.LabelError) naming the file (and line) and the problem."""
        raise NotImplementedError

    def write(self, ann, w: int, h: int, image_out: str, source: str) -> dict[str, bytes]:
        """{path under OUTPUT: bytes} of an output's annotation (ann in the output's pixels); an
        original may hand back ann.raw."""
        raise NotImplementedError

    # -- the whole dataset -------------------------------------------------------------------------
    def begin(self, out: Path, plan) -> None:
        """Files for the whole output known before any image is made (YOLO's data.yaml)."""

    def finish(self, out: Path, plan, done: bool) -> None:
        """Files for the whole output (data.yaml, COCO JSON, VOC ImageSets); `done`: every output is written."""

    def read_output(self, image_rel: str):
        """For the inspection commands: the annotation of an image of a dataset this format wrote
        (root = OUTPUT); None when it has none."""
        from ..io.image import read_image

        img = read_image(str(self.root / image_rel), getattr(self.cfg, "max_pixels", None) or 10**12)[0]
        return self.read(str(self.root / image_rel), image_rel, img.shape[1], img.shape[0])
