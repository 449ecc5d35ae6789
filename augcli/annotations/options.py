"""The recipe's `annotations:` value: a format name, or a mapping of the format and its options.

    annotations: auto            # yolo when INPUT has images/ + labels/, masks for images/ + masks/
    annotations: {format: yolo, min_visibility: 0.25, bbox_rotation: ellipse, flip_pairs: [[1, 2]]}

Validated once with the recipe (one sentence per mistake, as every option); the value kept in
the Config is the normalised mapping with every key filled in (parsing it again gives it back).
Imports nothing heavy.
"""
from __future__ import annotations

from ..errors import RecipeError
from ..transforms.base import Param, suggest

FORMATS = ("auto", "none", "yolo", "coco", "voc", "masks")

OPTION_PARAMS = (
    Param("format", "choice", "auto", choices=FORMATS, doc="auto-detect, plain images, YOLO labels, or semantic masks"),
    Param("min_visibility", "float", 0.25, lo=0, hi=1,
          doc="drop an object when less than this fraction of its (moved) area stays in the image"),
    Param("min_area", "float", 1.0, lo=0, hi=1e12, doc="drop an object whose box is smaller (pixels)"),
    Param("min_width", "float", 1.0, lo=0, hi=1e6, doc="drop an object whose box is narrower (pixels)"),
    Param("min_height", "float", 1.0, lo=0, hi=1e6, doc="drop an object whose box is lower (pixels)"),
    Param("bbox_rotation", "choice", "corners", choices=("corners", "ellipse"),
          doc="a box without polygon under rotation/shear: box of its corners, or of its inscribed ellipse"),
    Param("on_cut", "choice", "drop", choices=("drop", "resample"),
          doc="an object cut by the border or a hole: drop it (by the rules above), or draw the copy again"),
    Param("max_tries", "int", 10, lo=1, hi=1000,
          doc="on_cut: resample: draws per copy before the copy is dropped"),
    Param("flip_pairs", "list", [], doc="keypoint index pairs swapped by a mirror, e.g. [[1, 2], [3, 4]]"),
    Param("flip_classes", "list", [], doc="class id pairs swapped by a mirror, e.g. [[0, 1]]"),
    Param("mask_fill", "int", 0, lo=0, hi=65535, doc="mask value of pixels from outside the image"),
)
_PARAMS = {p.name: p for p in OPTION_PARAMS}
DEFAULTS = {p.name: p.default for p in OPTION_PARAMS}


def _format(value, where: str) -> str:
    return _PARAMS["format"].validate(value, where)


def _pairs(value, where: str) -> list:
    """[[a, b], ...] of distinct non-negative integers, none in two pairs."""
    allowed = "a list of [a, b] pairs of distinct non-negative integers, each index in one pair at most"
    seen = set()
    for pair in value:
        ok = (isinstance(pair, list) and len(pair) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair) and pair[0] != pair[1])
        if not ok or seen & set(pair):
            raise RecipeError(f"{where}: {pair!r} is not allowed; allowed: {allowed}")
        seen |= set(pair)
    return [list(p) for p in value]


def parse(value, where: str) -> dict:
    """The normalised mapping of a recipe's (or --annotations') value; RecipeError naming `where`."""
    if not isinstance(value, dict):
        return {**DEFAULTS, "format": _format(value, where)}
    out = dict(DEFAULTS)
    for key, v in value.items():
        if key not in _PARAMS:
            raise RecipeError(f"{where}.{key}: unknown option{suggest(key, _PARAMS)}; allowed: {', '.join(_PARAMS)}")
        w = f"{where}.{key}"
        if key == "format":
            out[key] = _format(v, w)
        else:
            out[key] = _PARAMS[key].validate(v, w)
        if key in ("flip_pairs", "flip_classes"):
            out[key] = _pairs(out[key], w)
    return out


def spec(value) -> dict:
    """The normalised mapping of a Config's `annotations` (its default is the string "auto")."""
    return parse("auto" if value is None else value, "annotations")


class AnnotationsParam(Param):
    """The `annotations` option of a recipe (and --annotations): a format or a mapping."""

    def allowed(self) -> str:
        return f"one of {', '.join(FORMATS)}, or a mapping of {', '.join(_PARAMS)}"

    def validate(self, value, where: str):
        return parse(value, where)
