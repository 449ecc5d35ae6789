"""Audio filters: Butterworth low/high/band-pass and band-stop, RBJ cookbook biquads (peaking,
low and high shelf) and a seven-band parametric EQ (audiomentations' names in the docs).

Decisions: filtering is causal (scipy.signal.sosfilt, in SOS form, float64), like an analogue
or real-time filter: phase shifts and a short onset transient included, no look-ahead; the
Butterworth `order` is the filter's order (a band filter of order n has 2n poles). Frequencies
are drawn uniformly on a log scale (each octave alike) and recorded after clamping to 0.45 x the
sample rate (below Nyquist, for low rates). Band filters take `bandwidth` as a fraction of the
centre (audiomentations' bandwidth_fraction): edges at centre x (1 -+ bandwidth / 2).
"""
from __future__ import annotations

import math

import numpy as np

from .audio_core import AudioStep, Sound, log_uniform, max_hz, rbj, sos_filter
from .base import Param, r6, uniform

ORDER = Param("order", "int", 4, lo=1, hi=10, doc="Butterworth order (6 dB per octave per order)")
Q = Param("q", "range", [0.5, 2.0], lo=0.05, hi=20, center=None, doc="quality factor range")
GAIN = Param("gain_db", "range", [-12, 12], lo=-40, hi=40, doc="gain range in dB")


def butter_sos(order: int, edges, btype: str, sr: int) -> np.ndarray:
    from scipy.signal import butter

    return butter(order, edges, btype=btype, fs=sr, output="sos")


class _Cutoff(AudioStep):
    BTYPE = ""

    def sample(self, rng, snd):
        return {"cutoff_hz": r6(min(log_uniform(rng, self.cfg["cutoff_hz"]), max_hz(snd.sr)))}

    def apply(self, snd, prm):
        f = min(prm["cutoff_hz"], max_hz(snd.sr))
        return Sound(sos_filter(snd.x, butter_sos(self.cfg["order"], f, self.BTYPE, snd.sr)), snd.sr)


class LowPass(_Cutoff):
    NAME = "low_pass"
    BTYPE = "lowpass"
    DOC = "Butterworth low-pass at a random cutoff [LowPassFilter]"
    PARAMS = (Param("cutoff_hz", "range", [150, 7500], lo=1, hi=100000, center=None, doc="cutoff range in Hz"),
              ORDER)


class HighPass(_Cutoff):
    NAME = "high_pass"
    BTYPE = "highpass"
    DOC = "Butterworth high-pass at a random cutoff [HighPassFilter]"
    PARAMS = (Param("cutoff_hz", "range", [20, 2400], lo=1, hi=100000, center=None, doc="cutoff range in Hz"),
              ORDER)


class _Band(AudioStep):
    BTYPE = ""
    PARAMS = (Param("center_hz", "range", [200, 4000], lo=1, hi=100000, center=None, doc="centre range in Hz"),
              Param("bandwidth", "range", [0.5, 1.99], lo=0.01, hi=1.99, center=None,
                    doc="bandwidth range as a fraction of the centre"),
              ORDER)

    def sample(self, rng, snd):
        bw = uniform(rng, self.cfg["bandwidth"])
        top = max_hz(snd.sr) / (1.0 + bw / 2.0)  # the upper edge stays below 0.45 x the rate
        return {"center_hz": r6(min(log_uniform(rng, self.cfg["center_hz"]), top)), "bandwidth": bw}

    def apply(self, snd, prm):
        c, bw = prm["center_hz"], prm["bandwidth"]
        edges = [c * (1.0 - bw / 2.0), min(c * (1.0 + bw / 2.0), max_hz(snd.sr))]
        if edges[0] >= edges[1]:
            return snd
        return Sound(sos_filter(snd.x, butter_sos(self.cfg["order"], edges, self.BTYPE, snd.sr)), snd.sr)


class BandPass(_Band):
    NAME = "band_pass"
    BTYPE = "bandpass"
    DOC = "Butterworth band-pass around a random centre, bandwidth a fraction of it [BandPassFilter]"


class BandStop(_Band):
    NAME = "band_stop"
    BTYPE = "bandstop"
    DOC = "Butterworth band-stop (notch band) around a random centre [BandStopFilter]"


class PeakingEQ(AudioStep):
    NAME = "peaking_eq"
    DOC = "RBJ peaking biquad: boost or cut around a random centre [PeakingFilter]"
    PARAMS = (Param("center_hz", "range", [50, 7500], lo=1, hi=100000, center=None, doc="centre range in Hz"),
              GAIN, Q)

    def sample(self, rng, snd):
        return {"center_hz": r6(min(log_uniform(rng, self.cfg["center_hz"]), max_hz(snd.sr))),
                "gain_db": uniform(rng, self.cfg["gain_db"]), "q": uniform(rng, self.cfg["q"])}

    def apply(self, snd, prm):
        sos = rbj("peaking", prm["center_hz"], snd.sr, prm["gain_db"], prm["q"])
        return Sound(sos_filter(snd.x, sos), snd.sr)


class _Shelf(AudioStep):
    KIND = ""

    def sample(self, rng, snd):
        return {"cutoff_hz": r6(min(log_uniform(rng, self.cfg["cutoff_hz"]), max_hz(snd.sr))),
                "gain_db": uniform(rng, self.cfg["gain_db"]), "q": uniform(rng, self.cfg["q"])}

    def apply(self, snd, prm):
        sos = rbj(self.KIND, prm["cutoff_hz"], snd.sr, prm["gain_db"], prm["q"])
        return Sound(sos_filter(snd.x, sos), snd.sr)


SHELF_Q = Param("q", "range", [0.5, 1.0], lo=0.05, hi=20, center=None, doc="quality factor range (0.707: no bump)")


class LowShelf(_Shelf):
    NAME = "low_shelf"
    KIND = "low_shelf"
    DOC = "RBJ low-shelf biquad: boost or cut below a random corner [LowShelfFilter]"
    PARAMS = (Param("cutoff_hz", "range", [50, 4000], lo=1, hi=100000, center=None, doc="corner range in Hz"),
              GAIN, SHELF_Q)


class HighShelf(_Shelf):
    NAME = "high_shelf"
    KIND = "high_shelf"
    DOC = "RBJ high-shelf biquad: boost or cut above a random corner [HighShelfFilter]"
    PARAMS = (Param("cutoff_hz", "range", [300, 7500], lo=1, hi=100000, center=None, doc="corner range in Hz"),
              GAIN, SHELF_Q)


# audiomentations' SevenBandParametricEQ: a low shelf, five peaking filters, a high shelf
SEVEN_BANDS = ((42, 95), (91, 204), (196, 441), (421, 948), (909, 2045), (1957, 4404), (4216, 9486))


class SevenBandEQ(AudioStep):
    NAME = "seven_band_eq"
    DOC = ("low shelf, five peaking biquads, high shelf; each band's centre drawn in audiomentations' "
           "ranges (42-95 Hz ... 4216-9486 Hz), its gain and Q at random [SevenBandParametricEQ]")
    PARAMS = (GAIN, Param("q", "range", [0.5, 1.33], lo=0.05, hi=20, center=None, doc="peaking Q range"))

    def sample(self, rng, snd):
        bands = []
        for lo, hi in SEVEN_BANDS:
            bands.append([r6(min(log_uniform(rng, [lo, hi]), max_hz(snd.sr))), uniform(rng, self.cfg["gain_db"]),
                          uniform(rng, self.cfg["q"])])
        return {"bands": bands}

    def apply(self, snd, prm):
        rows = []
        for i, (f, g, q) in enumerate(prm["bands"]):
            kind = "low_shelf" if i == 0 else ("high_shelf" if i == len(prm["bands"]) - 1 else "peaking")
            rows.append(rbj(kind, f, snd.sr, g, math.sqrt(0.5) if kind != "peaking" else q))
        return Sound(sos_filter(snd.x, np.concatenate(rows)), snd.sr)


STEPS = (LowPass, HighPass, BandPass, BandStop, PeakingEQ, LowShelf, HighShelf, SevenBandEQ)
