"""The transform contract, shared by every step of every modality, and the parameter specs.

A *step* is one entry of a recipe's `transforms:` list. Each modality's steps module
(augcli.transforms.image, .audio, .text) registers its steps by name in `STEPS` (with `ALIASES`),
checks a recipe's list with `validate_steps` and runs it with a `Pipeline`. Every step follows
one contract:

1. Configure, once: `cfg = Step.validate(raw, where)` checks the recipe's mapping against the
   step's `Param`s (an unknown parameter, a wrong type, a value out of range: one sentence,
   `<where>: <value> <reason>; allowed: <what is allowed>`, see `Param.validate`) and fills in
   the defaults; `Step(cfg)` is built once per process.
2. Fire: the pipeline draws `rng.random() < p` (`fire`); a `one_of` then picks one of its steps,
   which draws its own p (`resolve`).
3. Sample: `params = step.sample(rng, context)`. Every random draw of the step is made here, from
   the job's random stream `rng`, looking only at `context`: for images the `Size` of the image
   the step gets, for audio the `Sound` (samples and rate), for text the parsed text and the
   lexicon (`TextContext`). `params` is plain JSON (numbers, strings, lists, dicts; json.dumps
   round-trips it equal), and the manifest records it as the op `{"name": NAME, **params}`. A
   step that needs random numbers while applying (noise, a shuffle, a custom function) draws a
   seed here and records it.
4. Apply: `data = step.apply(data, params)` is the step's effect alone and pure: it draws
   nothing, changes neither `data` nor `params`, and the same data and params give the same
   bytes, so the manifest's ops replay an output. It may read the step's `cfg` (fixed since
   step 1) and what cfg names outside the data (a noise folder, a function).

The rng's type may differ per modality: numpy's Generator for images and audio; `PyRng`,
SplitMix64 in plain Python, for text, where a Generator per text would cost more than the edits.
What the shared code draws works with both: random() for p, choice(n, p=...) for a one_of.

Optimisations the pipelines apply to steps that declare them; never a different contract, as
every step's `apply` still gives its effect alone:
- fusion: consecutive image steps that declare `matrix(params, w, h)` (geometric) become one
  warp (affine, or projective once a perspective is among them), those that declare `rgb_matrix(params, mean_rgb, vmax)` (colour) one colour
  matrix; consecutive audio steps that declare `stretch_args(params)` (time_stretch,
  pitch_shift) one Signalsmith pass. A fused result equals the chain of the steps' applies up
  to rounding and clipping between steps (one interpolation instead of several);
- planes: a JPEG -> JPEG image job runs on the JPEG's YCbCr planes when every step has a
  planar form (image/planar.py);
- in place: a step that declares INPLACE also takes `apply(data, params, inplace=True)` and
  may then write into `data`; the pipeline asks for it only on data it made itself.

Two kinds of step resolve differently, within the same contract:
- `one_of` (and text's `eda`) samples `{"step": i, "params": params of step i, or None when its
  p said no}`; the pipeline resolves it first (`fire`), so the manifest records, and fusion
  sees, the chosen step itself;
- mixing steps (mixup, cutmix: transforms/mix.py) sample while planning, from the copy's own
  stream, so that the class folder of a mixed copy is known before any pixel is made; their
  data is the pair (sample, partner) and the manifest records partner, lambda and box.

tests/test_transform_contract.py checks all of this for every registered step of every modality.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Sequence

from ..errors import RecipeError

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def fill_levels(fill_value) -> list[float]:
    """A fill given as grey or [r, g, b(, a)] on the 0-255 scale, as [r, g, b(, a)] (None: black)."""
    v = [0.0] if fill_value is None else ([fill_value] if not isinstance(fill_value, list) else list(fill_value))
    return [float(x) for x in (v * 3 if len(v) == 1 else v)]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class Param:
    """One parameter of a step.

    kind:
      prob    float in [0, 1]
      float   a number in [lo, hi]
      int     an integer in [lo, hi]
      bool    true/false
      choice  one of `choices`
      range   a number x or [a, b]; x means [center - x, center + x] (or [x, x] when center is None)
      irange  like range, integers
      size    [height, width]; values <= 1.0 are fractions of the image side, larger ones pixels
      fill    a number (grey level on the 8-bit scale), a list of per-channel numbers, or "random"
      str     any string
    """

    name: str
    kind: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: Sequence[str] = ()
    center: float | None = 0.0
    doc: str = ""
    required: bool = False

    def allowed(self) -> str:
        bounds = ""
        if self.lo is not None or self.hi is not None:
            lo = "-inf" if self.lo is None else _fmt(self.lo)
            hi = "inf" if self.hi is None else _fmt(self.hi)
            bounds = f" within [{lo}, {hi}]"
        if self.kind == "prob":
            return "a number within [0, 1]"
        if self.kind in ("float", "int"):
            return f"{'an integer' if self.kind == 'int' else 'a number'}{bounds}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind in ("range", "irange"):
            what = "an integer" if self.kind == "irange" else "a number"
            if self.center is None:
                return f"{what} or [min, max]{bounds}"
            if self.center == 0:
                return f"{what} x (meaning [-x, x]) or [min, max]{bounds}"
            c = _fmt(self.center)
            return f"{what} x (meaning [{c}-x, {c}+x]) or [min, max]{bounds}"
        if self.kind == "size":
            return "[height, width] (pixels, or fractions of the image side when <= 1)"
        if self.kind == "fill":
            return 'a number (0-255 scale), a list of per-channel numbers, or "random"'
        if self.kind == "str":
            return "a string"
        if self.kind == "list":
            return "a list"
        if self.kind == "any":
            return self.doc or "a value"
        return self.kind

    def describe_default(self) -> str:
        d = self.default
        if d is None:
            return "required" if self.required else "-"
        return _fmt(d)

    # -- validation -------------------------------------------------------------------------
    def validate(self, value: Any, where: str) -> Any:
        """Return the normalised value or raise RecipeError naming `where`, the value and what is
        allowed, in one sentence: `<where>: <value> <reason>; allowed: <what is allowed>`."""

        def bad(reason: str = "is not allowed"):
            raise RecipeError(f"{where}: {value!r} {reason}; allowed: {self.allowed()}")

        check = _CHECKS.get(self.kind)
        if check is None:
            raise AssertionError(self.kind)
        return check(self, value, bad)

    def _check_bounds(self, v, bad):
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            bad("is out of range")


def _v_prob(p: Param, value, bad):
    if not _is_num(value) or not 0 <= value <= 1:
        bad("is out of range" if _is_num(value) else "has the wrong type")
    return float(value)


def _v_number(p: Param, value, bad):
    if not _is_num(value) or (p.kind == "int" and not float(value).is_integer()):
        bad("has the wrong type")
    p._check_bounds(value, bad)
    return int(value) if p.kind == "int" else float(value)


def _v_bool(p: Param, value, bad):
    if not isinstance(value, bool):
        bad("has the wrong type")
    return value


def _v_choice(p: Param, value, bad):
    if value not in p.choices:
        bad()
    return value


def _v_range(p: Param, value, bad):
    if _is_num(value):
        if p.center is None:
            lo, hi = value, value
        else:
            if value < 0:
                bad("is negative")
            lo, hi = p.center - value, p.center + value
    elif isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_num(v) for v in value):
        lo, hi = value
        if lo > hi:
            bad("has min > max")
    else:
        bad("has the wrong type")
    if p.kind == "irange" and not (float(lo).is_integer() and float(hi).is_integer()):
        bad("has the wrong type")
    for v in (lo, hi):
        p._check_bounds(v, bad)
    return [int(lo), int(hi)] if p.kind == "irange" else [float(lo), float(hi)]


def _v_size(p: Param, value, bad):
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_num(v) and v > 0 for v in value)):
        bad("has the wrong type")
    return [float(v) if v <= 1 else int(v) for v in value]


def _v_fill(p: Param, value, bad):
    if value == "random" or (_is_num(value) and value >= 0):
        return value
    if isinstance(value, (list, tuple)) and 1 <= len(value) <= 4 and all(_is_num(v) and v >= 0 for v in value):
        return [float(v) for v in value]
    bad("has the wrong type")


def _v_str(p: Param, value, bad):
    if not isinstance(value, str) or not value:
        bad("has the wrong type")
    return value


def _v_list(p: Param, value, bad):
    if not isinstance(value, list):
        bad("has the wrong type")
    return list(value)


_CHECKS = {"prob": _v_prob, "float": _v_number, "int": _v_number, "bool": _v_bool, "choice": _v_choice,
           "range": _v_range, "irange": _v_range, "size": _v_size, "fill": _v_fill, "str": _v_str,
           "list": _v_list, "any": lambda p, value, bad: value}


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Step:
    """Base of all steps. Subclasses set NAME, PARAMS, DOC and implement `sample` / `apply`
    (the contract in this module's docstring)."""

    cfg: dict = field(default_factory=dict)

    NAME = ""
    DOC = ""
    PARAMS: tuple[Param, ...] = ()
    DEFAULT_P = 1.0
    INPLACE = False  # True: apply() also takes inplace=True and may then write into its data
    OPEN_PARAMS = False  # True: keys other than PARAMS are accepted (custom: the function's parameters)
    # images: True when the step keeps annotations valid (pixel steps) or moves them (geometric steps,
    # whose matrices the pipeline records); False: refused on annotated datasets (custom)
    ANNOTATIONS = True

    def __post_init__(self):
        """Subclasses prepare derived state here."""

    def sample(self, rng, ctx) -> dict:
        """Every random draw of the step, as plain JSON (the default: none)."""
        return {}

    def apply(self, data, params: dict):
        """The step's effect alone: pure, draws nothing."""
        raise NotImplementedError


    @classmethod
    def all_params(cls) -> tuple[Param, ...]:
        return (Param("p", "prob", cls.DEFAULT_P, doc="probability that the step runs"),) + tuple(cls.PARAMS)

    @classmethod
    def validate(cls, raw: dict | None, where: str) -> dict:
        """Validate a recipe mapping for this step; returns cfg with every default filled in."""
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise RecipeError(f"{where}: {raw!r} has the wrong type; allowed: a mapping of parameters")
        params = {p.name: p for p in cls.all_params()}
        for key in raw:
            if key not in params:
                raise RecipeError(
                    f"{where}.{key}: unknown parameter{suggest(key, params)}; allowed: {', '.join(params)}"
                )
        cfg = {}
        for name, prm in params.items():
            if name in raw and raw[name] is not None:
                cfg[name] = prm.validate(raw[name], f"{where}.{name}")
            elif prm.required:
                raise RecipeError(f"{where}.{name}: missing; allowed: {prm.allowed()}")
            else:
                cfg[name] = prm.default if prm.default is None else prm.validate(prm.default, f"{where}.{name}")
        cls.check(cfg, where)
        return cfg

    @classmethod
    def check(cls, cfg: dict, where: str) -> None:
        """Cross-parameter checks (override)."""

    @property
    def p(self) -> float:
        return self.cfg["p"]


def r6(x: float) -> float:
    """Sampled values are rounded so that the manifest holds exactly what was applied."""
    return round(float(x), 6)


def uniform(rng, rng_range) -> float:
    """rng.uniform(lo, hi), rounded: numpy computes it as lo + (hi - lo) * rng.random(), the same
    number, which this writes out (~1 us less a draw)."""
    lo = float(rng_range[0])
    return round(lo + (float(rng_range[1]) - lo) * rng.random(), 6)  # (r6, inlined: a float already)


def parse_steps(raw, where: str, steps: dict, aliases: dict) -> list[tuple[str, dict]]:
    """Validate a YAML list of steps (`- name: {params}` or `- name`) against a registry."""
    if not isinstance(raw, list):
        raise RecipeError(f"{where}: {raw!r} has the wrong type; allowed: a list of steps")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
        else:
            raise RecipeError(f"{w}: {item!r} is not allowed; allowed: '- name: {{params}}' with one step name")
        cls = steps.get(aliases.get(name, name))
        if cls is None:
            names = sorted(set(steps) | set(aliases))
            raise RecipeError(f"{w}: unknown transform {name!r}{suggest(name, names)}; allowed: {', '.join(names)}")
        out.append((name, cls.validate(params, f"{w}.{name}")))
    return out


class Probabilities(list):
    """A one_of's probabilities, as `p` for any rng's choice(); `cum`, their running sums, spares
    text's PyRng from summing them on every draw (numpy's Generator reads the list)."""

    def __init__(self, values):
        super().__init__(values)
        self.cum = list(accumulate(self))


class OneOfBase(Step):
    """`- one_of: {steps: [...], weights: [...], p: 1}`: pick one step (by weight), then run it
    (subject to its own p). Subclasses give `parse` (validate the child steps) and `build` (make
    one), from their modality's registry."""

    NAME = "one_of"
    DOC = "pick one of several steps at random (optionally weighted)"
    PARAMS = (Param("steps", "list", None, required=True, doc="list of steps, as in `transforms`"),
              Param("weights", "list", None, doc="relative weights, one per step (default equal)"))

    @classmethod
    def parse(cls, raw, where) -> list[tuple[str, dict]]:
        raise NotImplementedError

    @classmethod
    def build(cls, name, cfg) -> Step:
        raise NotImplementedError

    @classmethod
    def validate(cls, raw, where):
        if not isinstance(raw, dict):
            raise RecipeError(f"{where}: {raw!r} has the wrong type; allowed: a mapping with 'steps'")
        for key in raw:
            if key not in ("p", "steps", "weights"):
                raise RecipeError(f"{where}.{key}: unknown parameter{suggest(key, ['p', 'steps', 'weights'])}; "
                                  "allowed: p, steps, weights")
        steps = raw.get("steps")
        if not isinstance(steps, list) or not steps:
            raise RecipeError(f"{where}.steps: {steps!r} is not allowed; allowed: a non-empty list of steps")
        children = cls.parse(steps, f"{where}.steps")
        if any(name == "one_of" for name, _ in children):
            raise RecipeError(f"{where}.steps: one_of inside one_of is not allowed; allowed: plain steps")
        weights = raw.get("weights")
        if weights is not None:
            if (not isinstance(weights, list) or len(weights) != len(children)
                    or not all(_is_num(w) and w >= 0 for w in weights) or sum(weights) <= 0):
                raise RecipeError(f"{where}.weights: {weights!r} is not allowed; allowed: "
                                  f"{len(children)} non-negative numbers, not all zero")
            weights = [float(w) for w in weights]
        p = Param("p", "prob", 1.0).validate(raw.get("p", 1.0), f"{where}.p")
        return {"p": p, "steps": children, "weights": weights}

    def __post_init__(self):
        self.children = [self.build(n, c) for n, c in self.cfg["steps"]]
        w = self.cfg["weights"] or [1.0] * len(self.children)
        self.probs = Probabilities(x / sum(w) for x in w)

    def pick(self, rng) -> int:
        """Index of the chosen step: one draw, `rng.choice(n, p=probs)` (any modality's rng)."""
        return int(rng.choice(len(self.children), p=self.probs))

    def resolve(self, rng) -> Step | None:
        st = self
        while isinstance(st, OneOfBase):  # a preset (e.g. text's eda) may sit inside a one_of
            st = st.children[rng.choice(len(st.children), p=st.probs)]  # (pick, inlined: hot)
            if rng.random() >= st.p:
                return None
        return st

    def sample(self, rng, ctx) -> dict:
        """The same draws as `resolve` then the chosen step's `sample`."""
        i = self.pick(rng)
        child = self.children[i]
        return {"step": i, "params": None if rng.random() >= child.p else child.sample(rng, ctx)}

    def apply(self, data, params: dict):
        if params["params"] is None:
            return data
        return self.children[params["step"]].apply(data, params["params"])


def fire(st: Step, rng) -> Step | None:
    """Draw whether a step runs; a one_of resolves to its chosen step. Returns a step or None."""
    if rng.random() >= st.p:
        return None
    return st.resolve(rng) if isinstance(st, OneOfBase) else st


def load_callable(spec: str, where: str):
    """The function a recipe names as 'package.module:function' (a `custom` step, a text model loader);
    RecipeError naming `where` when it cannot be imported or is not callable."""
    import importlib
    import sys

    if not isinstance(spec, str) or ":" not in spec:
        raise RecipeError(f"{where}: {spec!r} is not allowed; allowed: 'package.module:function'")
    mod_name, _, fn_name = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the user's own module beside the recipe / current directory
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's to see
        raise RecipeError(f"{where}: cannot import module {mod_name!r} ({type(e).__name__}: {e}); "
                          "allowed: an importable 'package.module:function'")
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise RecipeError(f"{where}: {mod_name!r} has no callable {fn_name!r}; allowed: 'package.module:function'")
    return fn
