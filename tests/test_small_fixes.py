"""Issue 13, the smaller items: preview's default file, report on an interrupted text table,
the report's sample rows, and originals written in the container their extension claims."""
import csv
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import run_cli


# --------------------------------------------------------------------------------------------
# audio: an MP3 named .wav
# --------------------------------------------------------------------------------------------
@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3")
def test_an_mp3_named_wav_is_written_as_a_real_wav_and_the_manifest_says_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    t = np.arange(22050) / 22050
    sf.write(src / "talk.mp3", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, format="MP3")
    (src / "talk.mp3").rename(src / "talk.wav")
    sf.write(src / "real.wav", (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050, subtype="PCM_16")
    i = sf.info(src / "talk.wav")
    assert i.format == "MP3"  # libsndfile detects the container from the content
    out = tmp_path / "out"
    run_cli("audio", src, out, "--seed", "1", check=0)
    data = (out / "train/talk.wav").read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    o = sf.info(out / "train/talk.wav")
    assert (o.format, o.frames, o.samplerate, o.channels) == ("WAV", i.frames, i.samplerate, i.channels)
    with open(out / "manifest.csv", newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    assert json.loads(rows["train/talk.wav"]["ops"]) == [{"name": "reencode", "from": "mp3"}]
    assert (out / "train/real.wav").read_bytes() == (src / "real.wav").read_bytes()  # a real WAV: byte copy
    assert json.loads(rows["train/real.wav"]["ops"]) == []
