"""The step contract (augcli/transforms/base.py), checked for every registered step of every modality.

The steps are found by walking the registries (every modality that takes transforms, its steps
module's STEPS), so a new step is covered without touching this file; a step whose required
parameter has no fixture below, or a modality with no kit, fails loudly. For every step:
- `sample` gives plain JSON (json.dumps round-trips it equal);
- replaying the params the pipeline recorded (the manifest's op) through `apply` reproduces the
  pipeline's output bytes, and `apply` is pure (same bytes twice; data and params untouched);
- with p=0 it never fires, with p=1 it always does (through the pipeline, ops as recorded);
- bad parameters (unknown, wrong type, out of range) give the one error sentence
  `<where>: <value> <reason>; allowed: ...`;
- and, for image steps with a form on a JPEG's YCbCr planes, the replay holds on planes too.
"""
from __future__ import annotations

import copy
import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from augcli import modalities
from augcli.errors import RecipeError
from augcli.transforms.base import OneOfBase
from augcli.transforms.mix import Candidate, MixContext, Partners, decide

from conftest import photo
from text_fakes import VECTORS

ROOT = Path(__file__).resolve().parent.parent
SEEDS = range(6)


def noisy_darken(image, rng, amount=1):
    """The `custom` step's fixture: uses its rng, so the recorded seed must reproduce it."""
    return (image // 2 + rng.integers(0, 16 * amount, image.shape)).astype(image.dtype)


# ---------------------------------------------------------------------------------------------
# per modality: data, how the pipeline runs, what a step's context and data are, output bytes
# ---------------------------------------------------------------------------------------------
class ImageKit:
    one_of = [{"hflip": {"p": 1}}, {"gamma": {"p": 1}}]
    partner_key = "image"

    def samples(self):
        return {"rgb8": photo(48, 64, seed=1), "grey16": photo(48, 64, seed=2, channels=1, dtype=np.uint16)}

    def pipeline(self, mod, steps):
        return mod.Pipeline(mod.validate_steps(steps, "transforms"))

    def rng(self, seed):
        return np.random.default_rng(seed)

    def run(self, pipe, data, seed, mix=None):
        return pipe(data, self.rng(seed), mix)

    def context(self, mod, pipe, data):
        return mod.Size(data.shape[1], data.shape[0])

    def step_data(self, pipe, data):
        return data

    def partner(self, data):
        return photo(40, 56, seed=3, channels=3)

    def pair(self, data, partner):
        return data, partner

    def out_bytes(self, out):
        return (out.shape, str(out.dtype), out.tobytes())

    def data_bytes(self, data):
        return self.out_bytes(data)


class AudioKit:
    one_of = [{"gain": {"p": 1}}, {"time_stretch": {"p": 1}}]
    partner_key = "audio"
    SR = 16000

    def samples(self):
        t = np.arange(self.SR // 2) / self.SR
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
        noise = (0.1 * np.random.default_rng(0).standard_normal((self.SR // 2, 2))).astype(np.float32)
        return {"tone_mono": tone, "noise_stereo": noise}

    def pipeline(self, mod, steps):
        return mod.Pipeline(mod.validate_steps(steps, "transforms"))

    def rng(self, seed):
        return np.random.default_rng(seed)

    def run(self, pipe, data, seed, mix=None):
        return pipe(data, self.SR, self.rng(seed), mix)

    def context(self, mod, pipe, data):
        return mod.Sound(data, self.SR)

    def step_data(self, pipe, data):
        from augcli.transforms.audio import Sound

        return Sound(data, self.SR)

    def partner(self, data):
        return (0.2 * np.cos(np.arange(self.SR // 3) * 0.01)).astype(np.float32)[:, None]

    def pair(self, data, partner):
        from augcli.transforms.audio import Sound

        return data, Sound(partner, data.sr)

    def out_bytes(self, out):
        x = out.x if hasattr(out, "x") else out
        return (x.shape, str(x.dtype), x.tobytes())

    data_bytes = out_bytes


class TextKit:
    one_of = [{"random_swap": {"p": 1}}, {"char_noise": {"p": 1}}]
    partner_key = None

    def samples(self):
        return {"english": "The quick brown fox jumps over the lazy dog near the river. It was a happy day!"}

    def pipeline(self, mod, steps):
        return mod.Pipeline(mod.validate_steps(steps, "transforms"))

    def rng(self, seed):
        from augcli.transforms.text import PyRng

        return PyRng(seed)

    def run(self, pipe, data, seed, mix=None):
        return pipe(data, self.rng(seed))

    def context(self, mod, pipe, data):
        return mod.TextContext(pipe.parse(data), pipe.lexicon)

    def step_data(self, pipe, data):
        return pipe.parse(data)

    def out_bytes(self, out):
        return out if isinstance(out, str) else out.text()

    def data_bytes(self, doc):
        return (doc.lead, list(doc.words), list(doc.seps), doc.trail, list(doc.protected))


KITS = {"augcli.transforms.image": ImageKit(), "augcli.transforms.audio": AudioKit(),
        "augcli.transforms.text": TextKit()}


def step_modules() -> list[str]:
    return sorted({m.steps_module for m in modalities.all_modalities() if m.takes_transforms})


def registered() -> list[tuple[str, str]]:
    return [(mod, name) for mod in step_modules() for name in importlib.import_module(mod).STEPS]


CASES = registered()
IDS = [f"{mod.rsplit('.', 1)[1]}:{name}" for mod, name in CASES]


def test_every_modality_with_steps_has_a_kit():
    assert step_modules() and set(step_modules()) <= set(KITS), "give the new modality a kit in this test"
    assert len(CASES) >= 40


def fixture_cfg(mod: str, name: str) -> dict:
    """A valid recipe mapping for the step: its required (or otherwise unusable) parameters."""
    cls = importlib.import_module(mod).STEPS[name]
    given = {
        ("size", "size"): [24, 32],
        ("function", "str"): f"{__name__}:noisy_darken",
        ("folder", "str"): str(ROOT / "sample_data/noise"),
        ("steps", "list"): KITS[mod].one_of,
        ("height", "int"): 24,  # resize: needs height or width
        ("model", "str"): str(ROOT / "tests"),  # text plug-ins: any folder, for the fake backend below
        ("back_model", "str"): str(ROOT / "tests"),
        ("vectors", "str"): str(VECTORS),
    }
    raw = {}
    for p in cls.PARAMS:
        if p.default is None and (p.name, p.kind) in given:
            raw[p.name] = copy.deepcopy(given[(p.name, p.kind)])
        elif p.required:
            pytest.fail(f"{name}.{p.name} is required: give it a fixture in this test")
    return {**raw, **copy.deepcopy(PLUGIN_BACKENDS.get(name, {}))}


# steps that run the user's own model (no model ships): the fake of tests/text_fakes.py
PLUGIN_BACKENDS = {"back_translation": {"backend": "text_fakes:load"}, "paraphrase": {"backend": "text_fakes:load"}}


def names_it_records(step) -> set[str]:
    if isinstance(step, OneOfBase):
        return set().union(*(names_it_records(c) for c in step.children))
    return {step.NAME}


def made_by(step, name: str):
    """The step (a one_of's child) whose op the pipeline recorded."""
    if isinstance(step, OneOfBase):
        return next(s for c in step.children if (s := made_by(c, name)) is not None)
    return step if step.NAME == name else None


def roundtrip(params):
    return json.loads(json.dumps(params))


class Mixing:
    """Mix steps sample while planning (transforms/mix.py: decide); the partner is a fixture."""

    partners = Partners([Candidate("/in/cat/a", "cat/a", "cat"), Candidate("/in/dog/b", "dog/b", "dog"),
                         Candidate("/in/dog/c", "dog/c", "dog")])

    @classmethod
    def draws(cls, name, cfg, seed):
        return decide(name, cfg, seed, 0, "cat/a", "cat", cls.partners)

    @classmethod
    def run(cls, kit, pipe, data, name, cfg, seed):
        d = cls.draws(name, cfg, seed)
        mix = None if d is None else {**d, kit.partner_key: kit.partner(data)}
        out, ops = kit.run(pipe, data, seed, mix)
        return out, ops, d


def run_one(mod, name, raw, data, seed):
    """(step, output, ops, mix draws) of a pipeline holding just this step."""
    kit = KITS[mod]
    pipe = kit.pipeline(importlib.import_module(mod), [{name: raw}])
    step = importlib.import_module(mod).make_step(*importlib.import_module(mod).validate_steps([{name: raw}], "t")[0])
    if getattr(step, "MIX", False):
        out, ops, d = Mixing.run(kit, pipe, data, name, step.cfg, seed)
        return step, pipe, out, ops, d
    out, ops = kit.run(pipe, data, seed)
    return step, pipe, out, ops, None


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mod,name", CASES, ids=IDS)
def test_replaying_the_recorded_params_through_apply_gives_the_same_bytes(mod, name):
    kit = KITS[mod]
    raw = {**fixture_cfg(mod, name), "p": 1}
    for label, data in kit.samples().items():
        for seed in SEEDS:
            step, pipe, out, ops, draws = run_one(mod, name, raw, data, seed)
            assert len(ops) == 1, (label, seed, ops)
            op = ops[0]
            assert roundtrip(op) == op, f"{name}: the recorded op is not plain JSON: {op!r}"
            sd = kit.step_data(pipe, data)
            before = kit.data_bytes(sd)
            if draws is not None:  # mix: the draws made while planning, the partner beside the data
                if "skipped" in draws:
                    continue
                params = roundtrip({k: v for k, v in draws.items() if k != "name"})
                data_in, st = kit.pair(sd, kit.partner(data)), step
            else:
                params = roundtrip({k: v for k, v in op.items() if k != "name"})
                data_in, st = sd, made_by(step, op["name"])
            frozen = copy.deepcopy(params)
            again = st.apply(data_in, params)
            assert kit.out_bytes(again) == kit.out_bytes(out), f"{name} ({label}, seed {seed}): replay differs"
            assert kit.out_bytes(st.apply(data_in, params)) == kit.out_bytes(again), f"{name}: apply is not deterministic"
            assert params == frozen, f"{name}: apply changed its params"
            assert kit.data_bytes(sd) == before, f"{name}: apply wrote into its data"
            if draws is not None:
                assert st.op(params, data_in) == op


@pytest.mark.parametrize("mod,name", CASES, ids=IDS)
def test_sample_gives_plain_json_and_apply_takes_it(mod, name):
    kit, m = KITS[mod], importlib.import_module(mod)
    raw = {**fixture_cfg(mod, name), "p": 1}
    step = m.make_step(*m.validate_steps([{name: raw}], "t")[0])
    pipe = kit.pipeline(m, [{name: raw}])
    for label, data in kit.samples().items():
        for seed in SEEDS:
            if getattr(step, "MIX", False):
                ctx = MixContext("cat/a", "cat", Mixing.partners)
                data_in = kit.pair(kit.step_data(pipe, data), kit.partner(data))
            else:
                ctx = kit.context(m, pipe, data)
                data_in = kit.step_data(pipe, data)
            params = step.sample(kit.rng(seed), ctx)
            assert isinstance(params, dict) and roundtrip(params) == params, f"{name}: {params!r} is not plain JSON"
            if "skipped" in params:
                continue
            frozen = copy.deepcopy(params)
            a = kit.out_bytes(step.apply(data_in, params))
            assert params == frozen, f"{name}: apply changed its params"
            assert kit.out_bytes(step.apply(data_in, roundtrip(params))) == a, f"{name} ({label}, seed {seed})"


@pytest.mark.parametrize("mod,name", CASES, ids=IDS)
def test_p0_never_fires_and_p1_always_does(mod, name):
    kit = KITS[mod]
    for label, data in kit.samples().items():
        for seed in range(20):
            step, pipe, out, ops, _ = run_one(mod, name, {**fixture_cfg(mod, name), "p": 0}, data, seed)
            assert ops == [], (label, seed, ops)
            assert kit.out_bytes(out) == kit.out_bytes(data), f"{name} (p=0) changed the data"
            step, pipe, out, ops, _ = run_one(mod, name, {**fixture_cfg(mod, name), "p": 1}, data, seed)
            assert len(ops) == 1 and ops[0]["name"] in names_it_records(step), (label, seed, ops)


def bad_values(p) -> list:
    """(value, reason) pairs the parameter must refuse."""
    wrong = {"str": 5, "list": 5, "choice": "no_such_choice"}.get(p.kind, "no_such_value")
    out = [(wrong, "is not allowed" if p.kind == "choice" else None)]
    if p.kind == "prob":
        out.append((1.5, "is out of range"))
    elif p.kind in ("float", "int") and p.lo is not None:
        out.append((p.lo - 1, "is out of range"))
    elif p.kind in ("float", "int") and p.hi is not None:
        out.append((p.hi + 1, "is out of range"))
    elif p.kind in ("range", "irange") and p.lo is not None:
        out.append(([p.lo - 1, p.lo], "is out of range"))
    elif p.kind in ("range", "irange") and p.hi is not None:
        out.append(([p.hi, p.hi + 1], "is out of range"))
    return out


@pytest.mark.parametrize("mod,name", CASES, ids=IDS)
def test_bad_parameters_give_the_uniform_sentence(mod, name):
    m = importlib.import_module(mod)
    cls, good = m.STEPS[name], fixture_cfg(mod, name)
    where = f"transforms[0].{name}"

    def refused(raw) -> str:
        with pytest.raises(RecipeError) as e:
            m.validate_steps([{name: raw}], "transforms")
        return str(e.value)

    msg = refused(7)
    assert re.fullmatch(rf"{re.escape(where)}: 7 has the wrong type; allowed: .+", msg), msg
    if not cls.OPEN_PARAMS:
        msg = refused({**good, "no_such_param": 1})
        assert re.fullmatch(rf"{re.escape(where)}\.no_such_param: unknown parameter.*; allowed: p(, .+)?", msg), msg
    for p in cls.all_params():
        if p.kind == "any":
            continue
        for value, reason in bad_values(p):
            msg = refused({**good, p.name: value})
            why = re.escape(reason) if reason else "(has the wrong type|is not allowed)"
            assert re.fullmatch(rf"{re.escape(where)}\.{p.name}: {re.escape(repr(value))} {why}; allowed: .+", msg), msg


@pytest.mark.parametrize("name", list(importlib.import_module("augcli.transforms.image").STEPS))
def test_on_jpeg_planes_apply_replays_the_pipeline_too(name):
    """The planar path (JPEG -> JPEG on YCbCr planes) is an optimisation of the same contract."""
    import cv2

    from augcli.io.image import decode_planes, planar_available

    m = importlib.import_module("augcli.transforms.image")
    raw = {**fixture_cfg(m.__name__, name), "p": 1}
    pipe = m.Pipeline(m.validate_steps([{name: raw}], "transforms"))
    if not (pipe.planar and planar_available()):
        pytest.skip("no planar form" if not pipe.planar else "augcli._planes not built")
    step = m.make_step(*m.validate_steps([{name: raw}], "t")[0])
    planes = decode_planes(cv2.imencode(".jpg", photo(48, 64, seed=4))[1].tobytes())

    def planes_bytes(p):
        return tuple(a.tobytes() for a in (p.y, p.cb, p.cr))

    before = planes_bytes(planes)
    for seed in SEEDS:
        out, ops = pipe(planes, np.random.default_rng(seed))
        params = roundtrip({k: v for k, v in ops[0].items() if k != "name"})
        assert planes_bytes(made_by(step, ops[0]["name"]).apply(planes, params)) == planes_bytes(out), (name, seed)
        assert planes_bytes(planes) == before
