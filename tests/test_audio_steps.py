"""Issue 17's audio steps: what each does to the signal, measured on short synthetic tones."""
from __future__ import annotations

import numpy as np
import pytest

from augcli.transforms import audio as A

SR = 16000


def tone(hz: float, seconds: float = 1.0, sr: int = SR, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.repeat((amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)[:, None], channels, axis=1)


def step(name: str, **raw):
    return A.make_step(*A.validate_steps([{name: {"p": 1, **raw}}], "t")[0])


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-30)


def gain_db(name: str, prm: dict, hz: float, sr: int = SR, **raw) -> float:
    """The steady-state gain of a step at `hz` (its first 0.25 s, the transient, left out)."""
    x = tone(hz, sr=sr)
    y = step(name, **raw).apply(A.Sound(x, sr), prm).x
    k = sr // 4
    return rms_db(y[k:]) - rms_db(x[k:])


# ---------------------------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------------------------
def test_low_pass_1khz_order4_keeps_200hz_and_cuts_4khz_by_20db():
    prm = {"cutoff_hz": 1000.0}
    assert abs(gain_db("low_pass", prm, 200, order=4)) < 1.0
    assert gain_db("low_pass", prm, 4000, order=4) <= -20.0


def test_high_pass_1khz_keeps_4khz_and_cuts_200hz():
    prm = {"cutoff_hz": 1000.0}
    assert abs(gain_db("high_pass", prm, 4000, order=4)) < 1.0
    assert gain_db("high_pass", prm, 200, order=4) <= -20.0


def test_band_pass_and_band_stop_around_1khz():
    prm = {"center_hz": 1000.0, "bandwidth": 0.5}  # edges 750 and 1250 Hz
    assert abs(gain_db("band_pass", prm, 1000)) < 1.0
    assert gain_db("band_pass", prm, 250) <= -20.0 and gain_db("band_pass", prm, 4000) <= -20.0
    assert gain_db("band_stop", prm, 1000) <= -20.0
    assert abs(gain_db("band_stop", prm, 250)) < 1.0 and abs(gain_db("band_stop", prm, 4000)) < 1.0


@pytest.mark.parametrize("g", [-9.0, 6.0])
def test_peaking_eq_gain_at_the_centre_is_gain_db(g):
    prm = {"center_hz": 1000.0, "gain_db": g, "q": 1.0}
    assert abs(gain_db("peaking_eq", prm, 1000) - g) < 0.5
    assert abs(gain_db("peaking_eq", prm, 7000)) < 0.5  # far from the centre: unchanged


def test_shelves_boost_their_side_only():
    prm = {"cutoff_hz": 1000.0, "gain_db": 8.0, "q": 0.707}
    assert abs(gain_db("low_shelf", prm, 60) - 8.0) < 0.5 and abs(gain_db("low_shelf", prm, 7000)) < 0.5
    assert abs(gain_db("high_shelf", prm, 7000) - 8.0) < 0.5 and abs(gain_db("high_shelf", prm, 60)) < 0.5


def test_seven_band_eq_bands_in_audiomentations_ranges_and_gain_bounds():
    st = step("seven_band_eq", gain_db=[-12, 12])
    x = tone(1000)
    for seed in range(5):
        prm = st.sample(np.random.default_rng(seed), A.Sound(x, SR))
        assert len(prm["bands"]) == 7
        for (f, g, q), (lo, hi) in zip(prm["bands"], [(42, 95), (91, 204), (196, 441), (421, 948), (909, 2045),
                                                     (1957, 4404), (4216, 9486)]):
            assert lo <= f <= hi and -12 <= g <= 12
    flat = {"bands": [[f, 0.0, 1.0] for f in (60, 150, 300, 600, 1500, 3000, 6000)]}
    assert abs(gain_db("seven_band_eq", flat, 440)) < 0.01  # all gains 0 dB: unchanged


def test_cutoffs_are_clamped_below_nyquist_at_low_rates():
    x = tone(300, sr=8000)
    for name, raw in (("low_pass", {"cutoff_hz": [7000, 7500]}), ("high_pass", {"cutoff_hz": [5000, 6000]}),
                      ("band_pass", {"center_hz": [3800, 3900]}), ("peaking_eq", {"center_hz": [7000, 7500]})):
        st = step(name, **raw)
        prm = st.sample(np.random.default_rng(0), A.Sound(x, 8000))
        f = prm.get("cutoff_hz", prm.get("center_hz"))
        assert f <= 0.45 * 8000
        y = st.apply(A.Sound(x, 8000), prm).x
        assert np.isfinite(y).all()


def test_filters_take_stereo_alike_per_channel():
    x = np.concatenate([tone(200), tone(4000)], axis=1)
    y = step("low_pass").apply(A.Sound(x, SR), {"cutoff_hz": 1000.0}).x
    assert y.shape == x.shape and y.dtype == x.dtype
    assert rms_db(y[4000:, 1]) - rms_db(x[4000:, 1]) < -20 and abs(rms_db(y[4000:, 0]) - rms_db(x[4000:, 0])) < 1


# ---------------------------------------------------------------------------------------------
# distortions and simple effects
# ---------------------------------------------------------------------------------------------
def test_clipping_distortion_cuts_the_percentile():
    x = tone(440)
    y = step("clipping_distortion").apply(A.Sound(x, SR), {"percentile": 20.0}).x
    hi = np.percentile(x, 90)
    assert abs(y.max() - hi) < 1e-6 and abs(y.min() + hi) < 1e-3
    assert 0.19 <= np.mean(np.abs(y) >= hi - 1e-6) <= 0.21  # 20 % of the samples sit at the clip level


def harmonics_db(y: np.ndarray, f0: float = 440.0) -> float:
    """Power at 3 x f0 relative to f0 (odd harmonics: what symmetric clipping makes)."""
    spec = np.abs(np.fft.rfft(y[:, 0] * np.hanning(len(y))))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    at = lambda hz: spec[np.argmin(np.abs(f - hz))]  # noqa: E731
    return 20 * np.log10(at(3 * f0) / at(f0))


def test_tanh_distortion_adds_harmonics_with_the_amount_and_keeps_rms():
    x = tone(440)
    light = step("tanh_distortion").apply(A.Sound(x, SR), {"distortion": 0.05}).x
    heavy = step("tanh_distortion").apply(A.Sound(x, SR), {"distortion": 0.7}).x
    assert harmonics_db(heavy) > harmonics_db(light) + 10 and harmonics_db(heavy) > -25  # -22.6 vs -34.1 dB
    assert abs(rms_db(heavy) - rms_db(x)) < 0.01


def test_bit_crush_leaves_2_to_the_bits_levels():
    x = tone(440, amp=0.99)
    y = step("bit_crush").apply(A.Sound(x, SR), {"bits": 4}).x
    assert len(np.unique(y)) <= 2 ** 4 + 1
    assert np.allclose(y * 8, np.round(y * 8))
    # quantisation noise of 4 bits: SNR near 6.02 * 4 + 1.76 dB
    assert 20 < rms_db(x) - rms_db(y - x) < 32


def test_aliasing_folds_a_tone_above_the_new_nyquist():
    x = tone(6000)
    y = step("aliasing").apply(A.Sound(x, SR), {"rate": 8000.0}).x
    spec = np.abs(np.fft.rfft(y[:, 0] * np.hanning(len(y))))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    assert abs(f[spec.argmax()] - 2000) < 5  # 6 kHz sampled at 8 kHz appears at 8 - 6 = 2 kHz


def spectral_slope_db_per_octave(noise: np.ndarray) -> float:
    f = np.fft.rfftfreq(len(noise), 1 / SR)
    p = np.abs(np.fft.rfft(noise[:, 0])) ** 2
    band = (f > 100) & (f < 6000)
    return float(np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0])


@pytest.mark.parametrize("slope,db_per_octave", [("white", 0.0), ("pink", -3.01), ("brown", -6.02)])
def test_color_noise_has_its_spectral_slope_and_snr(slope, db_per_octave):
    x = np.zeros((2 * SR, 1), np.float32)
    x[::400] = 0.5  # a click train: any signal with power
    st = step("color_noise", slope=slope)
    prm = {"snr_db": 10.0, "noise_seed": 3}
    y = st.apply(A.Sound(x, SR), prm).x
    noise = y - x
    assert abs(spectral_slope_db_per_octave(noise) - db_per_octave) < 0.3
    assert abs(rms_db(x) - rms_db(noise) - 10.0) < 1e-3


def test_gain_transition_ramps_in_db_between_the_gains():
    x = np.full((SR, 1), 0.5, np.float32)
    prm = {"db_start": -20.0, "db_end": 0.0, "start": 4000, "length": 8000}
    y = step("gain_transition").apply(A.Sound(x, SR), prm).x[:, 0]
    db = 20 * np.log10(y / 0.5)
    assert np.allclose(db[:4000], -20, atol=1e-4) and np.allclose(db[12000:], 0, atol=1e-4)
    assert abs(db[8000] + 10) < 0.01  # half way: half the dB


def test_reverse_plays_backwards():
    x = np.arange(10, dtype=np.float32)[:, None].repeat(2, axis=1)
    assert np.array_equal(step("reverse").apply(A.Sound(x, SR), {}).x, x[::-1])


def test_trim_cuts_silence_like_librosa():
    x = np.concatenate([np.zeros((SR, 1)), tone(440, 0.5), np.zeros((SR, 1))]).astype(np.float32)
    y = step("trim").apply(A.Sound(x, SR), {"top_db": 30.0}).x
    # kept: the tone and at most about a frame (2048) of the silence on each side
    assert 0.5 * SR <= len(y) <= 0.5 * SR + 2 * 2048 + 512
    assert np.allclose(y[np.abs(y[:, 0]) > 0][[0, -1]].shape, (2, 1))
    silent = np.zeros((SR, 1), np.float32)
    assert step("trim").apply(A.Sound(silent, SR), {"top_db": 30.0}).x.shape == silent.shape


def test_adjust_duration_pads_and_crops_to_the_target():
    x = tone(440, 1.0)
    st = step("adjust_duration", seconds=[0.5, 0.5])
    prm = st.sample(np.random.default_rng(0), A.Sound(x, SR))
    assert prm == {"frames": 8000, "offset": 0}
    assert np.array_equal(st.apply(A.Sound(x, SR), prm).x, x[:8000])
    st = step("adjust_duration", seconds=[1.5, 1.5], position="start")
    prm = st.sample(np.random.default_rng(0), A.Sound(x, SR))
    y = st.apply(A.Sound(x, SR), prm).x
    assert len(y) == 24000 and not y[:8000].any() and np.array_equal(y[8000:], x)
    st = step("adjust_duration", seconds=[1.5, 1.5], mode="crop")  # crop only: a short clip stays
    assert st.sample(np.random.default_rng(0), A.Sound(x, SR))["frames"] == SR


def test_resample_changes_the_rate_and_keeps_the_pitch():
    x = tone(440, 1.0)
    st = step("resample", rate=[8000, 8000])
    prm = st.sample(np.random.default_rng(0), A.Sound(x, SR))
    out = st.apply(A.Sound(x, SR), prm)
    assert prm == {"rate": 8000} and out.sr == 8000 and len(out.x) == 8000
    spec = np.abs(np.fft.rfft(out.x[:, 0] * np.hanning(8000)))
    assert abs(np.fft.rfftfreq(8000, 1 / 8000)[spec.argmax()] - 440) < 2
    draws = {step("resample", rate=[11000, 30000]).sample(np.random.default_rng(s), A.Sound(x, SR))["rate"]
             for s in range(40)}
    assert draws == {11025, 12000, 16000, 22050, 24000}


def test_resample_through_the_writer_gives_files_at_the_new_rate(tmp_path):
    import soundfile as sf

    from conftest import run_cli

    src = tmp_path / "in" / "a"
    src.mkdir(parents=True)
    sf.write(src / "t.wav", tone(440, 0.5)[:, 0], SR, subtype="PCM_16")
    sf.write(src / "t.flac", tone(440, 0.5)[:, 0], SR, subtype="PCM_16")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: audio\ntransforms:\n  - resample: {rate: [22050, 22050]}\n"
                      "  - low_pass: {cutoff_hz: [2000, 2000]}\n")
    run_cli("audio", tmp_path / "in", tmp_path / "out", "--recipe", recipe, "--no-originals", check=0)
    for f in ("t__aug0.wav", "t__aug0.flac"):
        info = sf.info(tmp_path / "out/train/a" / f)
        assert info.samplerate == 22050 and abs(info.frames - 11025) <= 1


# ---------------------------------------------------------------------------------------------
# MP3
# ---------------------------------------------------------------------------------------------
def speechlike(seconds: float = 1.0, sr: int = SR, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return np.repeat((0.2 * x).astype(np.float32)[:, None], channels, axis=1)


@pytest.mark.parametrize("sr,channels", [(16000, 1), (44100, 2), (20000, 3)])
def test_mp3_compression_keeps_length_correlates_and_differs(sr, channels):
    x = speechlike(sr=sr, channels=channels)
    y = step("mp3_compression").apply(A.Sound(x, sr), {"bitrate": 32}).x
    assert y.shape == x.shape and y.dtype == x.dtype
    for c in range(channels):
        r = np.corrcoef(x[:, c], y[:, c])[0, 1]
        assert r > 0.9, r  # aligned: no codec delay left
    assert not np.allclose(x, y, atol=1e-3)
    assert abs(rms_db(y) - rms_db(x)) < 0.1  # the level kept (libsndfile's 0.95 undone)
    err32 = rms_db(y - x)
    err128 = rms_db(step("mp3_compression").apply(A.Sound(x, sr), {"bitrate": 128}).x - x)
    assert err128 < err32 - 3  # a higher bitrate is closer to the input


def test_mp3_bitrate_gives_the_file_size():
    import io

    import soundfile as sf

    from augcli.transforms.audio_codecs import mp3_level

    x = speechlike(2.0, sr=44100)
    for kbps in (32, 64, 128):
        buf = io.BytesIO()
        with sf.SoundFile(buf, "w", 44100, 1, "MPEG_LAYER_III", format="MP3",
                          compression_level=mp3_level(kbps, 44100), bitrate_mode="CONSTANT") as f:
            f.write(x)
        assert abs(len(buf.getvalue()) * 8 / 2.0 / 1000 - kbps) / kbps < 0.1


def test_mp3_at_a_bitrate_without_gapless_info_is_still_aligned():
    x = speechlike(sr=16000)
    y = step("mp3_compression").apply(A.Sound(x, 16000), {"bitrate": 8}).x  # the decoder keeps 1105 samples of delay
    lag = np.argmax(np.correlate(y[:, 0], x[:, 0], "full")) - (len(x) - 1)
    assert lag == 0 and np.corrcoef(x[:, 0], y[:, 0])[0, 1] > 0.95


# ---------------------------------------------------------------------------------------------
# loudness
# ---------------------------------------------------------------------------------------------
def sample_clips():
    import soundfile as sf

    from conftest import ROOT

    files = sorted((ROOT / "sample_data/audio").rglob("*.*")) + sorted((ROOT / "sample_data/noise").glob("*"))
    return [(f.name, *sf.read(f, always_2d=True)) for f in files]


def test_loudness_of_a_997hz_full_scale_sine_is_minus_3_lufs():
    from augcli.transforms.audio_loudness import integrated_loudness

    for sr in (16000, 44100, 48000):
        x = tone(997, 2.0, sr=sr, amp=1.0).astype(np.float64)
        assert abs(integrated_loudness(x, sr) + 3.01) < 0.1  # BS.1770: -3.01; measured -3.08 (16 kHz), -3.05 (48 kHz)
    assert integrated_loudness(np.zeros((SR, 1)), SR) == -np.inf


def test_loudness_matches_pyloudnorm_within_0_1_lu_on_the_sample_clips():
    pyloudnorm = pytest.importorskip("pyloudnorm")
    from augcli.transforms.audio_loudness import integrated_loudness

    for name, x, sr in sample_clips():
        ours, theirs = integrated_loudness(x, sr), pyloudnorm.Meter(sr).integrated_loudness(x)
        assert abs(ours - theirs) < 0.1, (name, ours, theirs)


@pytest.mark.parametrize("target", [-31.0, -23.0, -13.0])
def test_loudness_normalize_reaches_the_target(target):
    from augcli.transforms.audio_loudness import integrated_loudness

    for name, x, sr in sample_clips():
        y = step("loudness_normalize").apply(A.Sound(x, sr), {"lufs": target}).x
        assert abs(integrated_loudness(y, sr) - target) < 0.01, name
    silent = np.zeros((SR, 1), np.float32)
    assert not step("loudness_normalize").apply(A.Sound(silent, SR), {"lufs": -20.0}).x.any()


# ---------------------------------------------------------------------------------------------
# impulse responses
# ---------------------------------------------------------------------------------------------
def test_a_unit_impulse_convolved_gives_the_impulse_response():
    import soundfile as sf

    from conftest import ROOT

    folder = ROOT / "sample_data/impulse_responses"
    st = step("impulse_response", folder=str(folder))
    assert st.cfg["files"] == ["hall.wav", "medium_room.wav", "small_room.wav"]
    for f in st.cfg["files"]:
        ir, sr = sf.read(folder / f, dtype="float32", always_2d=True)
        assert sr == SR and ir.shape[1] == 1 and (folder / f).stat().st_size < 50_000
        x = np.zeros((2 * SR, 2), np.float32)
        x[0] = 0.5
        y = st.apply(A.Sound(x, SR), {"file": f, "wet": 1.0}).x
        want = ir[:, 0] * (0.5 / np.abs(ir).max())  # the IR, scaled to the input's peak
        assert np.allclose(y[:len(ir), 0], want, atol=1e-6) and np.allclose(y[:, 1], y[:, 0])
        assert np.abs(y[len(ir):]).max() < 1e-6


def test_impulse_response_keeps_length_and_peak_and_mixes_the_dry_share(tmp_path):
    import soundfile as sf

    ir = np.zeros(800, np.float32)
    ir[0], ir[400] = 1.0, 0.5  # direct sound and one echo 25 ms later
    sf.write(tmp_path / "echo.wav", ir, SR)
    st = step("impulse_response", folder=str(tmp_path))
    x = np.zeros((SR, 1), np.float32)
    x[1000] = 0.8
    y = st.apply(A.Sound(x, SR), {"file": "echo.wav", "wet": 0.5}).x[:, 0]
    assert len(y) == SR and abs(np.abs(y).max() - 0.8) < 1e-6
    assert abs(y[1400] / y[1000] - 0.25) < 1e-4  # wet 0.5: direct 0.5 + 0.5 (dry), echo 0.5 x 0.5


def test_impulse_response_folder_errors_are_recipe_errors(tmp_path):
    from augcli.errors import RecipeError

    with pytest.raises(RecipeError, match="holds no audio files"):
        step("impulse_response", folder=str(tmp_path))
    with pytest.raises(RecipeError, match="is not a folder"):
        step("impulse_response", folder=str(tmp_path / "missing"))


def test_a_mixup_after_resample_gets_its_partner_at_the_new_rate():
    x = tone(440, 1.0)
    partner = tone(1000, 1.0)  # at the input's rate, as the worker reads it
    p = A.Pipeline(A.validate_steps([{"resample": {"rate": [8000, 8000]}}, {"mixup": {"p": 1.0}}], "t"))
    mix = {"name": "mixup", "partner": "b/x.wav", "partner_label": "b", "lambda": 0.5, "offset": 0.0, "audio": partner}
    snd, ops = p.run(x, SR, np.random.default_rng(0), mix)
    assert snd.sr == 8000 and len(snd.x) == 8000 and [o["name"] for o in ops] == ["resample", "mixup"]
    spec = np.abs(np.fft.rfft(snd.x[:, 0] * np.hanning(8000)))
    f = np.fft.rfftfreq(8000, 1 / 8000)
    top2 = sorted(f[np.argsort(spec)[-2:]])
    assert abs(top2[0] - 440) < 2 and abs(top2[1] - 1000) < 2  # the partner kept its pitch
