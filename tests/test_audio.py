"""Audio: the signal is checked, not only that a file appeared."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, run_cli, tree_hashes

from augcli.errors import RecipeError
from augcli.transforms.audio import Pipeline, validate_steps

SR = 16000


def pipe(steps, fuse=True):
    return Pipeline(validate_steps(steps, "transforms"), fuse=fuse)


def sine(freq=440.0, seconds=2.0, sr=SR, amp=0.5, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def speechlike(seconds=2.0, sr=SR, seed=0):
    """Harmonic tones with a syllable-like envelope: a realistic test signal for the stretcher."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)) ** 2
    return (0.2 * x * env).astype(np.float32)[:, None]


def peak_freq(x, sr=SR):
    x = x[:, 0] if x.ndim == 2 else x
    x = x[len(x) // 4: 3 * len(x) // 4]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 20))
    return np.fft.rfftfreq(1 << 20, 1 / sr)[spec.argmax()]


def manifest(out: Path) -> list[dict]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("rate", [0.8, 1.25, 1.5])
def test_time_stretch_changes_duration_by_the_rate_and_keeps_pitch(rate):
    x = sine(440)
    y, ops = pipe([{"time_stretch": {"rate": [rate, rate]}}])(x, SR, np.random.default_rng(0))
    assert ops == [{"name": "time_stretch", "rate": rate}]
    assert abs(len(y) / (len(x) / rate) - 1) < 0.01
    assert abs(12 * np.log2(peak_freq(y) / 440)) < 0.2


@pytest.mark.parametrize("semitones,fast", [(-3.0, False), (2.0, False), (5.0, False), (4.0, True)])
def test_pitch_shift_moves_the_peak_by_the_semitones_and_keeps_duration(semitones, fast):
    x = sine(440)
    y, _ = pipe([{"pitch_shift": {"semitones": [semitones, semitones], "fast": fast}}])(x, SR, np.random.default_rng(0))
    assert len(y) == len(x)
    assert abs(12 * np.log2(peak_freq(y) / 440) - semitones) < 0.2


def test_fused_stretch_and_pitch_equal_the_two_effects():
    x = sine(440)
    steps = [{"time_stretch": {"rate": [0.8, 0.8]}}, {"pitch_shift": {"semitones": [3, 3]}}]
    for fuse in (True, False):
        y, _ = pipe(steps, fuse)(x, SR, np.random.default_rng(0))
        assert abs(len(y) / (len(x) / 0.8) - 1) < 0.01
        assert abs(12 * np.log2(peak_freq(y) / 440) - 3) < 0.2


@pytest.mark.parametrize("factor", [0.9, 1.2])
def test_speed_changes_duration_and_pitch_together(factor):
    x = sine(440)
    y, _ = pipe([{"speed": {"factor": [factor, factor]}}])(x, SR, np.random.default_rng(0))
    assert abs(len(y) / (len(x) / factor) - 1) < 0.01
    assert abs(12 * np.log2(peak_freq(y) / 440) - 12 * np.log2(factor)) < 0.2


def test_noise_snr_achieves_the_sampled_snr():
    x = speechlike()
    p = pipe([{"noise_snr": {"snr_db": [0, 30]}}])
    for seed in range(5):
        y, ops = p(x, SR, np.random.default_rng(seed))
        want = ops[0]["snr_db"]
        got = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
        assert abs(got - want) < 0.5


@pytest.mark.parametrize("mode", ["zero", "roll"])
def test_shift_moves_an_impulse_by_the_recorded_samples(mode):
    x = np.zeros((8000, 2), np.float32)
    x[1000] = [1.0, -0.5]
    y, ops = pipe([{"shift": {"fraction": [-0.3, 0.3], "mode": mode}}])(x, SR, np.random.default_rng(4))
    k = ops[0]["samples"]
    assert k == round(ops[0]["fraction"] * 8000) and k != 0
    where = (1000 + k) % 8000 if mode == "roll" else 1000 + k
    assert np.flatnonzero(y[:, 0]).tolist() == [where]
    assert y[where, 1] == -0.5  # both channels alike


def test_gain_time_mask_polarity():
    x = sine(300, channels=2)
    y, ops = pipe([{"gain": {"db": [6, 6]}}])(x, SR, np.random.default_rng(0))
    assert np.allclose(y, x * 10 ** (6 / 20), atol=1e-6)
    y, ops = pipe([{"polarity_inversion": {"p": 1}}])(x, SR, np.random.default_rng(0))
    assert np.array_equal(y, -x)
    y, ops = pipe([{"time_mask": {"fraction": [0.2, 0.2], "fade": 0}}])(x, SR, np.random.default_rng(0))
    s, n = ops[0]["start"], ops[0]["length"]
    assert n == round(0.2 * len(x))
    assert not y[s:s + n].any() and np.array_equal(y[:s], x[:s]) and np.array_equal(y[s + n:], x[s + n:])


def test_background_noise_mixes_at_the_snr_and_loops_short_noise(tmp_path):
    noise_dir = tmp_path / "noise"
    noise_dir.mkdir()
    sf.write(noise_dir / "hum.wav", 0.3 * sine(50, seconds=0.5)[:, 0], SR, subtype="FLOAT")
    x = speechlike(seconds=2.0)
    y, ops = pipe([{"background_noise": {"folder": str(noise_dir), "snr_db": [10, 10]}}])(
        x, SR, np.random.default_rng(1))
    assert ops[0]["file"] == "hum.wav"
    got = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert abs(got - 10) < 0.5
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecipeError, match="holds no audio files"):
        validate_steps([{"background_noise": {"folder": str(empty)}}], "transforms")
    (noise_dir / "bad.wav").write_bytes(b"RIFF garbage")
    with pytest.raises(RecipeError, match="bad.wav"):
        validate_steps([{"background_noise": {"folder": str(noise_dir)}}], "transforms")


# --------------------------------------------------------------------------------------------
# through the CLI
# --------------------------------------------------------------------------------------------
def audio_dataset(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir(parents=True)
    sf.write(root / "a" / "mono16.wav", speechlike(seed=1), SR, subtype="PCM_16")
    sf.write(root / "a" / "stereo24.flac", np.repeat(speechlike(seed=2), 2, axis=1) * [1, 0.5], 22050,
             subtype="PCM_24")
    sf.write(root / "b" / "float.wav", speechlike(seed=3), SR, subtype="FLOAT")
    sf.write(root / "b" / "vorbis.ogg", speechlike(seed=4), SR, format="OGG", subtype="VORBIS")
    return root


def test_formats_subtypes_rates_and_channels_are_kept(tmp_path):
    src = audio_dataset(tmp_path / "in")
    out = tmp_path / "out"
    run_cli("audio", src, out, "--copies", "2", "--seed", "1", check=0)
    for path in src.rglob("*.*"):
        i = sf.info(path)
        rel = path.relative_to(src)
        for k in (0, 1):
            o = sf.info(out / "train" / rel.parent / f"{path.stem}__aug{k}{path.suffix}")
            assert (o.format, o.subtype, o.samplerate, o.channels) == (i.format, i.subtype, i.samplerate, i.channels)
        assert (out / "train" / rel).read_bytes() == path.read_bytes()  # originals are byte copies
    # stereo: both channels got the same treatment (right = 0.5 * left survives every step)
    y, _ = sf.read(out / "train/a/stereo24__aug0.flac")
    assert np.allclose(y[:, 1], 0.5 * y[:, 0], atol=2e-3)


def test_sample_rate_and_format_options(tmp_path):
    src = audio_dataset(tmp_path / "in")
    out = tmp_path / "out"
    run_cli("audio", src, out, "--sample-rate", "8000", "--format", "flac", "--seed", "1", check=0)
    for f in out.rglob("*.flac"):
        assert sf.info(f).samplerate == 8000
    assert sf.info(out / "train/a/stereo24.flac").subtype == "PCM_24"
    assert sf.info(out / "train/b/float.flac").subtype == "PCM_24"  # FLAC holds no float: 24-bit
    x, sr = sf.read(out / "train/a/mono16.flac")
    assert abs(len(x) - 2 * 8000) <= 1


def test_same_seed_same_bytes_with_1_or_2_workers(tmp_path):
    src = audio_dataset(tmp_path / "in")
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli("audio", src, a, "--copies", "3", "--seed", "9", "--workers", "1", check=0)
    run_cli("audio", src, b, "--copies", "3", "--seed", "9", "--workers", "2", check=0)
    ha, hb = tree_hashes(a), tree_hashes(b)
    assert ha == hb and len(ha) == 16
    assert any(k.endswith("__aug0.ogg") for k in ha)  # Ogg serial numbers are fixed too


def test_clip_policies(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "loud.wav", sine(440, amp=0.9)[:, 0], SR, subtype="PCM_16")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: audio\ntransforms:\n  - gain: {db: [12, 12]}\n")
    out = tmp_path / "limit"
    run_cli("audio", src, out, "--recipe", recipe, "--no-originals", check=0)
    y, _ = sf.read(out / "train/loud__aug0.wav", dtype="int16")
    assert y.max() == 32767 and y.min() <= -32767  # limited, never wrapped around
    ops = json.loads(manifest(out)[0]["ops"])
    assert ops[-1]["name"] == "clipping" and ops[-1]["policy"] == "limit" and ops[-1]["peak"] > 3
    out = tmp_path / "norm"
    run_cli("audio", src, out, "--recipe", recipe, "--no-originals", "--clip", "normalize", check=0)
    y, _ = sf.read(out / "train/loud__aug0.wav")
    assert 0.99 < np.abs(y).max() <= 1.0
    out = tmp_path / "err"
    run_cli("audio", src, out, "--recipe", recipe, "--no-originals", "--clip", "error", check=1)
    row = manifest(out)[0]
    assert row["status"] == "failed" and "full scale" in row["error"]
    assert not (out / "train/loud__aug0.wav").exists()


def test_corrupt_empty_and_zero_length_files_fail_with_a_reason(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "good.wav", speechlike(), SR)
    (src / "empty.wav").write_bytes(b"")
    (src / "junk.flac").write_bytes(b"this is not audio at all" * 10)
    sf.write(src / "zero.wav", np.zeros((0, 1), np.float32), SR)
    whole = (src / "good.wav").read_bytes()
    (src / "cut.wav").write_bytes(whole[:len(whole) // 2])  # a copy cut short: libsndfile reads it silently
    stream = bytearray(whole)  # written by a pipe that did not know the length: fine
    stream[4:8] = stream[whole.find(b"data") + 4:whole.find(b"data") + 8] = b"\xff\xff\xff\xff"
    (src / "stream.wav").write_bytes(bytes(stream))
    out = tmp_path / "out"
    p = run_cli("audio", src, out, check=1)
    errs = {r["source"]: r["error"] for r in manifest(out) if r["status"] == "failed"}
    assert set(errs) == {"empty.wav", "junk.flac", "zero.wav", "cut.wav"}
    assert "empty file" in errs["empty.wav"] and "zero-length" in errs["zero.wav"]
    assert "not a readable audio file" in errs["junk.flac"] and "0x" not in errs["junk.flac"]
    assert errs["cut.wav"].startswith(f"truncated: the header declares {len(whole) - 44:,} bytes of audio")
    assert (out / "train/stream__aug0.wav").exists()
    assert "junk.flac" in p.stdout
    assert (out / "train/good__aug0.wav").exists()


def test_recipe_errors_name_the_key(tmp_path):
    r = tmp_path / "r.yaml"
    r.write_text("modality: audio\ninput: x\noutput: y\nformat: jpg\n")
    p = run_cli("validate", r, check=2)
    assert "format" in p.stderr and "wav" in p.stderr
    r.write_text("modality: audio\ninput: x\noutput: y\ntransforms:\n  - pitch_shfit: {}\n")
    p = run_cli("validate", r, check=2)
    assert "did you mean 'pitch_shift'" in p.stderr


def test_sample_data_demo_and_transforms_listing(tmp_path):
    out = tmp_path / "out"
    run_cli("audio", ROOT / "sample_data/audio", out, "--copies", "2", "--val-split", "0.2", check=0)
    rows = manifest(out)
    assert {r["label"] for r in rows} == {"yes", "no"} and all(r["status"] == "ok" for r in rows)
    p = run_cli("transforms", "audio", check=0)
    for name in ("noise_snr", "background_noise", "time_stretch", "pitch_shift", "speed", "time_mask", "mp3"):
        assert name in p.stdout


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3")
def test_mp3_in_and_out(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "talk.mp3", np.repeat(speechlike(), 2, axis=1), 44100, format="MP3")
    out = tmp_path / "out"
    run_cli("audio", src, out, "--seed", "2", check=0)
    i = sf.info(out / "train/talk__aug0.mp3")
    assert (i.format, i.channels, i.samplerate) == ("MP3", 2, 44100)
    run_cli("audio", src, tmp_path / "wav", "--format", "wav", check=0)
    assert sf.info(tmp_path / "wav/train/talk__aug0.wav").subtype == "PCM_16"


def test_csv_listing_of_audio_files(tmp_path):
    src = audio_dataset(tmp_path / "in")
    listing = tmp_path / "list.csv"
    listing.write_text("file,kind\na/mono16.wav,speech\nb/float.wav,speech\nb/vorbis.ogg,other\n")
    out = tmp_path / "out"
    run_cli("audio", "--csv", listing, "--path-column", "file", "--label-column", "kind", "--root", src, out,
            "--copies", "1", check=0)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*") if ".augcli" not in p.parts
                  and p.name != "manifest.csv") == ["train/other/vorbis.ogg", "train/other/vorbis__aug0.ogg",
                                                    "train/speech/float.wav", "train/speech/float__aug0.wav",
                                                    "train/speech/mono16.wav", "train/speech/mono16__aug0.wav"]
