"""Audio: WAV, FLAC, Ogg Vorbis, AIFF, MP3 through libsndfile (soundfile); soxr for resampling."""
from __future__ import annotations

from pathlib import Path

from .base import FileModality


class AudioModality(FileModality):
    name = recipe_name = "audio"
    noun = "audio files"
    formats = ("same", "wav", "flac", "ogg", "mp3")
    default_transforms = [
        {"gain": {"db": [-6, 6]}},
        {"time_stretch": {"rate": [0.9, 1.1], "p": 0.5}},
        {"pitch_shift": {"semitones": [-2, 2], "p": 0.5}},
        {"shift": {"fraction": [-0.1, 0.1], "mode": "zero", "p": 0.5}},
        {"noise_snr": {"snr_db": [15, 40], "p": 0.5}},
    ]
    steps_module = "augcli.transforms.audio"
    io_module = "augcli.io.audio"
    mixing = True
    preview_kind = "audio"

    def listing_note(self) -> str:
        from ..io.audio import libsndfile_info

        version, mp3 = libsndfile_info()
        return (f"\nformats: wav, flac, ogg (vorbis), aiff{', mp3' if mp3 else ''} read and written "
                f"(libsndfile {version}{'' if mp3 else '; no MP3 support in this build'})")

    def worker(self, cfg):
        return AudioWorker(cfg, self.steps().Pipeline(cfg.transforms))


class AudioWorker:
    def __init__(self, cfg, pipeline):
        self.cfg, self.pipeline = cfg, pipeline

    def load(self, src: str):
        from ..io.audio import read_audio, resample

        clip, raw = read_audio(src)
        ops = []
        if self.cfg.sample_rate and self.cfg.sample_rate != clip.sr:
            ops.append({"name": "resample", "from": clip.sr, "to": self.cfg.sample_rate})
            clip.data = resample(clip.data, clip.sr, self.cfg.sample_rate).astype(clip.data.dtype, copy=False)
            clip.sr = self.cfg.sample_rate
        return clip, raw, ops

    def _partner(self, mix: dict, sr: int):
        from ..io.audio import read_audio, resample

        try:
            p, _ = read_audio(mix["partner_path"])
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"mixup partner {mix['partner']}: {' '.join(str(e).split())}")
        return p.data if p.sr == sr else resample(p.data, p.sr, sr)

    def _encode(self, clip, data, ext, seed_key, ops, sr=None):
        """`sr`: the samples' rate when a step (resample) changed it."""
        from ..io.audio import encode

        out, report = encode(data, sr or clip.sr, ext, clip.subtype, self.cfg.clip, serial=seed_key)
        return out, ops + ([report] if report else [])

    def original(self, state, src: str, ext: str, seed_key: int):
        from ..io.audio import claimed_container

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
        snd, ops = self.pipeline.run(clip.data, clip.sr, np.random.default_rng(o.seed), mix)
        if snd.x.shape[0] == 0:
            raise ValueError("the transforms left no samples")
        return self._encode(clip, snd.x, ext, seed_key, list(pre) + ops, snd.sr)
