"""The recipe: a YAML file naming the modality, input, output, options and transforms.

Everything is validated up front: an unknown key, a value of the wrong type or out of range,
an unknown transform or parameter fails before any work with one message naming the key, the
value and what is allowed (exit code 2). CLI options use the same names and override the recipe.
Relative paths in a recipe are relative to the current directory (as in a Makefile).
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import modalities
from .annotations.options import AnnotationsParam
from .errors import RecipeError
from .transforms.base import Param, suggest

MODALITIES = modalities.recipe_names()  # image, audio, text, tabular (see modalities/)
ALL_FORMATS = tuple(dict.fromkeys(f for m in modalities.all_modalities() for f in m.formats))

OPTIONS: dict[str, Param] = {p.name: p for p in (
    Param("modality", "choice", "image", choices=MODALITIES, doc="what the input holds"),
    Param("input", "str", None, doc="input folder (class-per-subfolder or flat)"),
    Param("output", "str", None, doc="output folder"),
    Param("copies", "int", 1, lo=0, hi=100000, doc="augmented copies per source"),
    Param("balance", "bool", False, doc="top every class up to the largest class"),
    Param("target_per_class", "int", None, lo=1, hi=10**9, doc="explicit size of every class in train (implies balance)"),
    Param("val_split", "float", 0.0, lo=0.0, hi=0.95, doc="fraction of originals held out (stratified) in OUTPUT/val"),
    Param("no_originals", "bool", False, doc="do not write the training originals"),
    Param("seed", "int", 0, lo=0, hi=2**63 - 1, doc="run seed: same seed, same bytes"),
    Param("workers", "int", None, lo=1, hi=1024, doc="worker processes (default: all cores; --scheduler local: "
          "the cluster's worker processes)"),
    Param("scheduler", "str", "processes", doc="where the jobs run: processes (this machine's process pool), "
          "local (a Dask cluster started on this machine) or tcp://HOST:PORT (a running Dask scheduler)"),
    Param("format", "choice", "same", choices=ALL_FORMATS, doc="output format (image: same|jpg|png|webp|tif|npy; "
          "audio: same|wav|flac|ogg|mp3)"),
    Param("quality", "int", 95, lo=1, hi=100, doc="JPEG/WebP quality"),
    Param("rescale", "float", None, lo=-1e9, hi=1e9, doc="factor applied to npy output (e.g. 0.00392156862745098 for 1/255)"),
    Param("max_pixels", "int", 100_000_000, lo=1, hi=10**12, doc="refuse images with more pixels (decompression bombs)"),
    AnnotationsParam("annotations", "any", "auto", doc="image: auto|none|yolo|coco|voc|masks, or a mapping {format, "
                     "min_visibility, min_area, min_width, min_height, bbox_rotation, on_cut, max_tries, flip_pairs, "
                     "flip_classes, mask_fill}"),
    Param("coco", "str", None, doc="image: COCO instances JSON of the images under INPUT (annotations: coco)"),
    Param("sample_rate", "int", None, lo=1000, hi=768000, doc="audio: resample every output to this rate (soxr)"),
    Param("clip", "choice", "limit", choices=("limit", "normalize", "error"),
          doc="audio: samples beyond full scale in integer/lossy output are limited, the clip normalised, or an error"),
    Param("text_column", "str", "text", doc="text: the column (or JSONL key) holding the text"),
    Param("id_column", "str", None, doc="text: column whose value goes into aug_of (default: the row index)"),
    Param("encoding", "str", "utf-8", doc="text and tabular: the input's encoding"),
    Param("protect", "list", [], doc="text: regexes of tokens never altered (numbers, URLs, e-mails, @mentions always are)"),
    Param("lexicon", "str", None, doc="text: a TSV of word<TAB>synonym, synonym, ... "),
    Param("lexicon_mode", "choice", "extend", choices=("extend", "replace"), doc="text: the user lexicon extends or replaces WordNet"),
    Param("max_tries", "int", 10, lo=1, hi=1000, doc="text: draws before a copy identical to its source (or a sibling) is dropped"),
    Param("target", "str", None, doc="tabular: the class column"),
    Param("method", "choice", "auto", choices=("auto", "smote", "borderline-smote", "svm-smote", "kmeans-smote",
                                                "adasyn", "random", "smotenc", "smoten", "noise"),
          doc="tabular: oversampling method (auto: smote / smotenc / smoten by column types)"),
    Param("strategy", "any", None, doc="tabular: auto|not-majority|minority|all, a ratio, or {class: count}"),
    Param("k_neighbors", "int", 5, lo=1, hi=1000, doc="tabular: neighbours for SMOTE-like methods"),
    Param("categorical", "any", None, doc="tabular: columns to treat as categorical (list or a,b)"),
    Param("exclude", "any", None, doc="tabular: columns not used (ids, free text); synthetic values empty"),
    Param("impute", "choice", None, choices=("median", "most-frequent", "drop"),
          doc="tabular: how missing values feed the synthesis (originals are written unchanged)"),
    Param("flag_column", "str", "_synthetic", doc="tabular: name of the 0/1 column marking synthetic rows"),
    Param("no_flag", "bool", False, doc="tabular: no flag column"),
    Param("shrinkage", "float", None, lo=0, hi=100, doc="tabular: random: smoothed bootstrap (jitter) width"),
    Param("noise_scale", "float", 0.1, lo=0, hi=100, doc="tabular: noise: std as a fraction of each column's std"),
    Param("evaluate", "bool", False, doc="tabular: cross-validated check of whether oversampling helps"),
    Param("drop_missing_target", "bool", False,
          doc="tabular: rows with an empty target are left out of the synthesis (kept unchanged in the output)"),
    Param("force_overwrite", "bool", False, doc="tabular: replace OUTPUT even if augcli did not write it"),
    Param("overwrite", "bool", False, doc="delete a previous augcli output in OUTPUT and start fresh"),
    Param("dry_run", "bool", False, doc="print the plan and exit"),
    Param("csv", "str", None, doc="CSV listing image files (and labels) instead of a folder"),
    Param("path_column", "str", "path", doc="CSV column with the file paths"),
    Param("label_column", "str", None, doc="CSV column with the labels"),
    Param("root", "str", None, doc="folder the CSV paths are relative to (default: the CSV's folder)"),
    Param("storage_options", "any", None, doc="options of the filesystem of a URL INPUT/OUTPUT/csv (s3://, gs://, "
          "az://): a mapping, e.g. {endpoint_url: 'http://minio:9000'}; on the command line --storage-option KEY=VALUE"),
    Param("follow_links", "bool", False, doc="follow symlinked folders in the input (never into a folder already read)"),
)}
KEYS = tuple(OPTIONS) + ("transforms",)

@dataclass
class Config:
    modality: str = "image"
    input: str | None = None
    output: str | None = None
    copies: int = 1
    balance: bool = False
    target_per_class: int | None = None
    val_split: float = 0.0
    no_originals: bool = False
    seed: int = 0
    workers: int | None = None
    scheduler: str = "processes"
    format: str = "same"
    quality: int = 95
    rescale: float | None = None
    max_pixels: int = 100_000_000
    annotations: Any = "auto"  # validated: the mapping annotations/options.py makes
    coco: str | None = None
    sample_rate: int | None = None
    clip: str = "limit"
    text_column: str = "text"
    id_column: str | None = None
    encoding: str = "utf-8"
    protect: list = field(default_factory=list)
    lexicon: str | None = None
    lexicon_mode: str = "extend"
    max_tries: int = 10
    target: str | None = None
    method: str = "auto"
    strategy: Any = None
    k_neighbors: int = 5
    categorical: Any = None
    exclude: Any = None
    impute: str | None = None
    flag_column: str = "_synthetic"
    no_flag: bool = False
    shrinkage: float | None = None
    noise_scale: float = 0.1
    evaluate: bool = False
    drop_missing_target: bool = False
    force_overwrite: bool = False
    explicit: frozenset = frozenset()  # the keys the recipe or the command line set
    overwrite: bool = False
    dry_run: bool = False
    csv: str | None = None
    path_column: str = "path"
    label_column: str | None = None
    root: str | None = None
    follow_links: bool = False
    storage_options: Any = None  # validated: a mapping of str keys (see _check_storage)
    transforms: list = field(default_factory=list)  # validated [(name, cfg)]
    transforms_raw: list = field(default_factory=list)

    def n_workers(self) -> int:
        if self.workers:
            return self.workers
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides) -> "Config":
        """A recipe file, validated, with keyword overrides (the CLI's option names)."""
        return load_config(str(path), overrides)

    @classmethod
    def from_dict(cls, recipe: dict, **overrides) -> "Config":
        """A recipe given as a mapping (the YAML's keys), validated, with keyword overrides."""
        return build_config(recipe, overrides)


Recipe = Config  # the name the Python API uses


def load_yaml(path: str | Path) -> dict:
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found")
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{path}: cannot read recipe ({e})")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise RecipeError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: the recipe must be a mapping of keys (modality, input, output, transforms, ...)")
    return data


def build_config(raw: dict, overrides: dict | None = None, where: str = "recipe",
                 require_io: bool = True) -> Config:
    """Validate recipe keys and CLI overrides (same names) into a Config."""
    merged: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise RecipeError(f"{where}: key {key!r} is unknown{suggest(key, KEYS)}; allowed: {', '.join(KEYS)}")
        merged[key] = (value, f"{where}: {key}")
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = (value, f"--{key.replace('_', '-')}")
    cfg = Config()
    for key, (value, w) in merged.items():
        if key in ("transforms", "format") or value is None:
            continue
        setattr(cfg, key, OPTIONS[key].validate(value, w))
    modality = modalities.for_recipe(cfg.modality)
    if merged.get("format", (None,))[0] is not None:  # checked once the modality is known
        value, w = merged["format"]
        cfg.format = Param("format", "choice", "same", choices=modality.formats).validate(value, w)
    raw_steps = merged.get("transforms", (None, None))[0]
    if raw_steps is None:
        raw_steps = modality.default_transforms
    cfg.transforms_raw = raw_steps
    _check_storage(cfg, merged)
    cfg.transforms = modality.validate_steps(raw_steps, f"{where}: transforms" if "transforms" in raw else "transforms")
    if cfg.target_per_class is not None:
        cfg.balance = True
    _check_text_options(cfg, merged)
    _check_scheduler(cfg, merged)
    cfg.explicit = frozenset(k for k, (v, _) in merged.items() if v is not None)
    modality.check(cfg, where, require_io)
    if require_io:
        if not cfg.input and not cfg.csv:
            raise RecipeError(f"{where}: input is missing; allowed: a folder path (or csv: a listing)")
        if not cfg.output:
            raise RecipeError(f"{where}: output is missing; allowed: a folder path")
    if cfg.csv and cfg.input and cfg.root is None:
        # `augcli image --csv list.csv INPUT OUTPUT`: INPUT is the root of the listed paths
        cfg.root = cfg.input
    return cfg


def load_config(recipe: str | None, overrides: dict, require_io: bool = True) -> Config:
    raw = load_yaml(recipe) if recipe else {}
    return build_config(raw, overrides, where=str(recipe) if recipe else "options", require_io=require_io)


_TCP = re.compile(r"tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})")


def _check_scheduler(cfg: Config, merged: dict) -> None:
    s = cfg.scheduler
    m = _TCP.fullmatch(s)
    if s not in ("processes", "local") and not (m and 0 < int(m.group(2)) < 65536):
        raise RecipeError(f"{merged['scheduler'][1]}: {s!r} is not a scheduler; allowed: processes, local, "
                          "tcp://HOST:PORT (a Dask scheduler)")


def _check_storage(cfg: Config, merged: dict) -> None:
    """storage_options: a mapping, or (command line) KEY=VALUE strings whose values read as YAML
    scalars (true, 3, http://...). Remote INPUT/OUTPUT need the filesystem's package (checked here)."""
    raw = cfg.storage_options
    w = merged.get("storage_options", (None, "storage_options"))[1]
    if isinstance(raw, (list, tuple)):
        import yaml

        opts = {}
        for item in raw:
            key, eq, value = str(item).partition("=")
            if not eq or not key.strip():
                raise RecipeError(f"{w}: {item!r} is not KEY=VALUE; e.g. --storage-option endpoint_url=http://host:9000")
            try:
                opts[key.strip()] = yaml.safe_load(value) if value else ""
            except yaml.YAMLError:
                opts[key.strip()] = value
        raw = opts
    if raw is not None and not (isinstance(raw, dict) and all(isinstance(k, str) for k in raw)):
        raise RecipeError(f"{w}: {raw!r} is not a mapping of option names to values; "
                          "allowed: e.g. {endpoint_url: 'http://host:9000', anon: false}")
    cfg.storage_options = raw or {}
    from .storage import configure

    configure(cfg.storage_options)  # before the steps are checked: a noise folder may be a URL


def _check_text_options(cfg: Config, merged: dict) -> None:
    import codecs
    import re

    for i, pat in enumerate(cfg.protect):
        w = merged["protect"][1]
        try:
            if not isinstance(pat, str):
                raise TypeError
            re.compile(pat)
        except (TypeError, re.error) as e:
            raise RecipeError(f"{w}[{i}]: {pat!r} is not a valid regular expression ({e}); allowed: a list of regexes")
    try:
        codecs.lookup(cfg.encoding)
    except LookupError:
        raise RecipeError(f"{merged['encoding'][1]}: {cfg.encoding!r} is not an encoding Python knows; "
                          "allowed: e.g. utf-8, latin-1, cp1252")
    if cfg.lexicon:
        from .transforms.text import read_user_lexicon

        read_user_lexicon(cfg.lexicon)
