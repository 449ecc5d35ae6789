"""What the file engine needs from each modality: which files are inputs, how outputs are
named, how a source is loaded once and turned into the bytes of each of its outputs.

A `Kind` lives in a worker: `load` decodes a source once; `original` and `augment` return
(bytes to write, ops for the manifest). `augment` may raise `Dropped` (the output is not
written; the manifest says why). Heavy libraries are imported here lazily, per modality.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from .recipe import Config


class Dropped(Exception):
    """An output deliberately not written (e.g. a text copy identical to its source)."""


class FileKind:
    """Extensions, output names and the pipeline come from the modality's io and transforms modules."""

    noun = ""
    IO = ""  # e.g. "augcli.io.image": EXTENSIONS, output_ext()
    TRANSFORMS = ""  # e.g. "augcli.transforms.image": Pipeline

    @classmethod
    def extensions(cls) -> set[str]:
        return importlib.import_module(cls.IO).EXTENSIONS

    @classmethod
    def output_ext(cls, suffix: str, fmt: str) -> str:
        return importlib.import_module(cls.IO).output_ext(suffix, fmt)

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.pipeline = importlib.import_module(self.TRANSFORMS).Pipeline(cfg.transforms)


class ImageKind(FileKind):
    noun = "image files"
    IO, TRANSFORMS = "augcli.io.image", "augcli.transforms.image"

    def load(self, src: str):
        from .io.image import output_ext, read_image

        # JPEG -> JPEG with steps that all run on YCbCr planes: decode to planes (io.image.Planes)
        planes = self.pipeline.planar and output_ext(Path(src).suffix, self.cfg.format) in (".jpg", ".jpeg")
        return read_image(src, self.cfg.max_pixels, planes=planes)

    def original(self, state, src: str, ext: str, seed_key: int):
        from .io.image import encode

        img, data, orientation = state
        ops = [{"name": "exif_orientation", "value": orientation}] if orientation != 1 else []
        if not ops and self.cfg.format == "same" and ext == Path(src).suffix.lower():
            return data, ops  # byte copy: lossless
        return encode(img, ext, self.cfg.quality, self.cfg.rescale), ops

    def augment(self, state, job, o, ext: str, seed_key: int):
        import numpy as np

        from .io.image import encode

        mix = None
        if o.mix is not None:
            mix = dict(o.mix)
            if "skipped" not in mix:
                mix["image"] = self._partner(mix)
        aug, ops = self.pipeline(state[0], np.random.default_rng(o.seed), mix)
        return encode(aug, ext, self.cfg.quality, self.cfg.rescale), ops


    def _partner(self, mix: dict):
        from .io.image import read_image

        try:
            return read_image(mix["partner_path"], self.cfg.max_pixels)[0]
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"{mix['name']} partner {mix['partner']}: {' '.join(str(e).split())}")


class AudioKind(FileKind):
    noun = "audio files"
    IO, TRANSFORMS = "augcli.io.audio", "augcli.transforms.audio"

    def load(self, src: str):
        from .io.audio import read_audio, resample

        clip, raw = read_audio(src)
        ops = []
        if self.cfg.sample_rate and self.cfg.sample_rate != clip.sr:
            ops.append({"name": "resample", "from": clip.sr, "to": self.cfg.sample_rate})
            clip.data = resample(clip.data, clip.sr, self.cfg.sample_rate).astype(clip.data.dtype, copy=False)
            clip.sr = self.cfg.sample_rate
        return clip, raw, ops

    def _partner(self, mix: dict, sr: int):
        from .io.audio import read_audio, resample

        try:
            p, _ = read_audio(mix["partner_path"])
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"mixup partner {mix['partner']}: {' '.join(str(e).split())}")
        data = p.data if p.sr == sr else resample(p.data, p.sr, sr)
        return data

    def _encode(self, clip, data, ext, seed_key, ops):
        from .io.audio import encode

        out, report = encode(data, clip.sr, ext, clip.subtype, self.cfg.clip, serial=seed_key)
        return out, ops + ([report] if report else [])

    def original(self, state, src: str, ext: str, seed_key: int):
        from .io.audio import claimed_container

        clip, raw, ops = state
        suffix = Path(src).suffix.lower()
        if not claimed_container(suffix, clip.container):  # e.g. MP3 data named .wav: written as WAV
            ops = [{"name": "reencode", "from": clip.container.lower()}] + list(ops)
        elif not ops and self.cfg.format == "same" and ext == suffix:
            return raw, []  # byte copy: lossless
        return self._encode(clip, clip.data, ext, seed_key, list(ops))

    def augment(self, state, job, o, ext: str, seed_key: int):
        import numpy as np

        clip, _, pre = state
        mix = None
        if o.mix is not None:
            mix = dict(o.mix)
            if "skipped" not in mix:
                mix["audio"] = self._partner(mix, clip.sr)
        y, ops = self.pipeline(clip.data, clip.sr, np.random.default_rng(o.seed), mix)
        if y.shape[0] == 0:
            raise ValueError("the transforms left no samples")
        return self._encode(clip, y, ext, seed_key, list(pre) + ops)


class TextKind:
    """A folder of .txt files, one sample per file (tables go through `texttable`)."""

    noun = "text files (.txt)"

    @staticmethod
    def extensions() -> set[str]:
        return {".txt"}

    @staticmethod
    def output_ext(suffix: str, fmt: str) -> str:
        return ".txt"

    def __init__(self, cfg: Config):
        from .transforms.text import Pipeline

        self.cfg = cfg
        self.pipeline = Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode)

    def load(self, src: str):
        from .io.text import decode

        with open(src, "rb") as f:
            raw = f.read()
        text = decode(raw, self.cfg.encoding, src)
        return {"raw": raw, "text": text, "doc": self.pipeline.parse(text), "copies": {}}

    def original(self, state, src: str, ext: str, seed_key: int):
        return state["raw"], []

    def augment(self, state, job, o, ext: str, seed_key: int):
        from .seeds import copy_seed

        for k in range(o.copy + 1):  # earlier copies (maybe written by an interrupted run) first
            if k not in state["copies"]:
                state["copies"][k] = self._copy(state, copy_seed(self.cfg.seed, job.source, k))
        text, ops, err = state["copies"][o.copy]
        if text is None:
            raise Dropped(err)
        return text.encode("utf-8"), ops

    def _copy(self, state, seed: int):
        from .transforms.text import unique_copy

        earlier = {t for t, _, _ in state["copies"].values() if t is not None}
        return unique_copy(self.pipeline, state["doc"], state["text"], earlier, seed, self.cfg.max_tries)


KINDS = {"image": ImageKind, "audio": AudioKind, "text": TextKind}


def kind_of(modality: str):
    return KINDS[modality]
