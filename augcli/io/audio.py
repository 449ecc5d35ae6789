"""Audio reading and writing through soundfile (libsndfile).

Samples are float arrays of shape (frames, channels), full scale = 1.0. Reading keeps what the
writer needs to reproduce the input: container, subtype (PCM_16/24/32, FLOAT, ...), sample rate
and channel count. Writing integer PCM (and lossy codecs) never wraps around: samples beyond
full scale are handled by the clip policy (limit | normalize | error) and reported.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

import numpy as np

# container per extension (as soundfile names them)
CONTAINERS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".mp3": "MP3",
              ".aif": "AIFF", ".aiff": "AIFF"}
EXTENSIONS = set(CONTAINERS)
# what libsndfile may report for a file whose extension claims the container (RIFF variants are .wav)
SAME_CONTAINER = {"WAV": ("WAV", "WAVEX", "RF64")}
FORMATS = ("same", "wav", "flac", "ogg", "mp3")
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile command (sndfile.h)


class AudioReadError(ValueError):
    """A file that cannot be used as audio: the message says why."""


@dataclass
class Clip:
    data: np.ndarray  # (frames, channels) float32 (float64 for 32-bit integer or double input)
    sr: int
    container: str
    subtype: str


def _sf():
    import soundfile  # lazy: keeps `augcli --help` fast

    return soundfile


def libsndfile_info() -> tuple[str, bool]:
    """(libsndfile's version, whether this build reads and writes MP3)."""
    sf = _sf()
    return sf.__libsndfile_version__, "MP3" in sf.available_formats()


def _check_truncated(log: str) -> None:
    """libsndfile reads a WAV/AIFF whose audio chunk is cut short and only notes it in its log
    ("data : 52202 (should be 56)"): a file cut in a copy or a download. Refuse it. A declared
    size of 0 or 0xFFFFFFFF is a stream written without knowing its length, not a truncation."""
    for m in re.finditer(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.M):
        declared, present = int(m.group(2)), int(m.group(3))
        if declared not in (0, 0xFFFFFFFF) and present < declared:
            raise AudioReadError(f"truncated: the header declares {declared:,} bytes of audio, "
                                 f"the file holds {present:,}")


def read_audio(path: str) -> tuple[Clip, bytes]:
    """Decode a file; returns the clip and the file's bytes (for lossless copies of originals)."""
    sf = _sf()
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        raise AudioReadError("empty file (0 bytes)")
    try:
        with sf.SoundFile(io.BytesIO(raw)) as snd:
            _check_truncated(snd.extra_info)
            subtype = snd.subtype
            dtype = "float64" if subtype in ("PCM_32", "DOUBLE") else "float32"
            data = snd.read(dtype=dtype, always_2d=True)
            info = (snd.samplerate, snd.format, subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        msg = re.sub(r"^Error opening <[^>]*>: ", "", " ".join(str(e).split()))  # no object address
        raise AudioReadError(f"not a readable audio file ({msg})")
    if data.shape[0] == 0:
        raise AudioReadError("zero-length audio (no samples)")
    if not np.isfinite(data).all():
        raise AudioReadError("contains NaN or infinite samples")
    sr, container, subtype = info
    return Clip(np.ascontiguousarray(data), int(sr), container, subtype), raw


def claimed_container(ext: str, container: str) -> bool:
    """Whether the content's container (as libsndfile detected it) is the one `ext` claims: an MP3
    named .wav is not (a copy of its bytes would be MP3 data under a WAV name)."""
    claimed = CONTAINERS.get(ext.lower())
    return claimed is not None and container in SAME_CONTAINER.get(claimed, (claimed,))


def output_ext(suffix: str, fmt: str) -> str:
    suffix = suffix.lower()
    if fmt == "same":
        return ".ogg" if suffix == ".oga" else (".aiff" if suffix == ".aif" else suffix)
    return "." + fmt


def out_subtype(container: str, subtype: str) -> str:
    """The input's subtype when the output container can hold it, else the closest one."""
    sf = _sf()
    lossy = subtype in ("VORBIS", "OPUS") or subtype.startswith("MPEG_")
    if lossy and container not in ("OGG", "MP3"):
        return "PCM_16"  # a decoded lossy stream into a lossless container
    if sf.check_format(container, subtype):
        return subtype
    if container in ("OGG",):
        return "VORBIS"
    if container == "MP3":
        return "MPEG_LAYER_III"
    for st in ("PCM_24", "PCM_16") if subtype in FLOAT_SUBTYPES + ("PCM_32", "PCM_24") else ("PCM_16",):
        if sf.check_format(container, st):
            return st
    return sf.default_subtype(container)


def resample(data: np.ndarray, sr_in: float, sr_out: int) -> np.ndarray:
    import soxr

    y = soxr.resample(np.ascontiguousarray(data), sr_in, sr_out, quality="HQ")
    return y.reshape(-1, data.shape[1]) if y.ndim == 1 else y


def apply_clip_policy(data: np.ndarray, subtype: str, policy: str) -> tuple[np.ndarray, dict | None]:
    """Keep samples within full scale for integer and lossy subtypes; returns (data, report)."""
    if subtype in FLOAT_SUBTYPES:
        return data, None
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if peak <= 1.0:
        return data, None
    n = int(np.count_nonzero(np.abs(data) > 1.0))
    report = {"name": "clipping", "policy": policy, "peak": round(peak, 6), "samples": n}
    if policy == "error":
        raise ValueError(f"result exceeds full scale (peak {peak:.3f}, {n} samples) and clip policy is 'error'")
    if policy == "normalize":
        return data * (1.0 / peak), report
    return np.clip(data, -1.0, 1.0), report


def encode(data: np.ndarray, sr: int, ext: str, subtype: str, policy: str, serial: int = 1) -> tuple[bytes, dict | None]:
    """Encode to the container of `ext`; `serial` fixes the Ogg stream serial (determinism)."""
    sf = _sf()
    container = CONTAINERS[ext]
    st = out_subtype(container, subtype)
    data, report = apply_clip_policy(data, st, policy)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", sr, data.shape[1], st, format=container) as f:
        if st in FLOAT_SUBTYPES and container in ("WAV", "AIFF"):
            # no PEAK chunk: it holds a time stamp, which would make equal audio differ in bytes
            sf._snd.sf_command(f._file, SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        f.write(data)
    out = buf.getvalue()
    if container == "OGG":
        out = set_ogg_serial(out, serial)
    return out, report


# --------------------------------------------------------------------------------------------
# Ogg: libsndfile picks a random stream serial number per file (time-seeded), so the same
# audio would give different bytes on every run. We rewrite it with a value derived from the
# output's identity and recompute each page's CRC.
# --------------------------------------------------------------------------------------------
def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _ogg_crc_table()


def _ogg_crc(page: bytes | bytearray) -> int:
    crc, t = 0, _CRC
    for b in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ t[((crc >> 24) ^ b) & 0xFF]
    return crc


def set_ogg_serial(data: bytes, serial: int) -> bytes:
    out = bytearray(data)
    pos, serial_b = 0, (serial & 0xFFFFFFFF).to_bytes(4, "little")
    while pos < len(out):
        if out[pos:pos + 4] != b"OggS":
            raise ValueError("internal: unexpected Ogg page layout")
        nseg = out[pos + 26]
        body = sum(out[pos + 27:pos + 27 + nseg])
        end = pos + 27 + nseg + body
        out[pos + 14:pos + 18] = serial_b
        out[pos + 22:pos + 26] = b"\x00\x00\x00\x00"
        out[pos + 22:pos + 26] = _ogg_crc(memoryview(out)[pos:end]).to_bytes(4, "little")
        pos = end
    return bytes(out)


def list_audio(folder: str) -> list[str]:
    """Audio files directly or deeper inside a folder, sorted, hidden ones skipped."""
    found = []
    for dirpath, dirnames, files in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in files:
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in EXTENSIONS:
                found.append(os.path.join(dirpath, f))
    return sorted(found)
