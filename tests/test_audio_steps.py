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
