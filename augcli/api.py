"""The Python API: what the command line does, callable from a notebook or a script.

    import augcli
    res = augcli.augment("sample_data/images", "out/images", copies=2, val_split=0.2, seed=42)
    res = augcli.augment(recipe="examples/image.yaml", seed=7)        # a recipe, options override it
    cfg = augcli.Recipe.from_yaml("examples/image.yaml", copies=3)     # a validated recipe
    res = augcli.run(cfg)
    path = augcli.preview("examples/image.yaml", samples=3, variants=4, out="sheet.png")
    rows = augcli.read_manifest("out/images")                          # list of dicts
    paths, classes, Y = augcli.read_soft_labels("out/images")         # soft labels for training

Every function raises `augcli.AugError` (with `.code`, the CLI's exit code) for bad input, never
exits. `augment` and `run` return a `Result` (written, skipped, failed, ..., `exit_code`).
"""
from __future__ import annotations

from pathlib import Path

from . import modalities
from .errors import AugError, UsageError
from .recipe import Config, load_config
from .runner import Result


def run(cfg: Config, quiet: bool = True, executor=None) -> Result:
    """Run a validated recipe (a `Recipe`/`Config`): plan, augment, write the output and manifest.
    `executor`: where the jobs run (default: a local process pool of `cfg.workers` processes)."""
    from .storage import configure

    configure(cfg.storage_options)
    m = modalities.resolve(cfg)
    m.check_remote(cfg)
    return m.run(cfg, quiet, executor)


def augment(input: str | Path | None = None, output: str | Path | None = None, recipe: str | Path | None = None,
            *, modality: str | None = None, quiet: bool = True, **options) -> Result:
    """Augment INPUT into OUTPUT (or what `recipe` declares; keyword options override it, with the
    CLI's option names: copies, balance, val_split, seed, workers, format, transforms, ...).
    Without a recipe, `modality` defaults to "image"."""
    over = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    if input is not None:
        over["input"] = str(input)
    if output is not None:
        over["output"] = str(output)
    if modality is not None:
        over["modality"] = modality
    transforms = over.pop("transforms", None)
    if transforms is not None:  # steps given in Python: validated like a recipe's
        from .recipe import build_config, load_yaml

        raw = dict(load_yaml(recipe)) if recipe else {}
        raw["transforms"] = transforms
        cfg = build_config(raw, over, where=str(recipe) if recipe else "options")
    else:
        cfg = load_config(str(recipe) if recipe else None, over)
    return run(cfg, quiet=quiet)


def preview(what: str, input: str | None = None, *, samples: int = 4, variants: int = 6,
            out: str | Path | None = None, **options) -> Path | None:
    """Show what a recipe (a .yaml path) or a modality's default steps do to a few sources,
    with the seeds a run uses. Writes a PNG (text: an HTML page when `out` is given; else the
    terminal) and returns its path."""
    from .inspection import preview as pv

    o = {k: v for k, v in {"input": input, **options}.items() if v is not None}
    if what in modalities.recipe_names():
        cfg = load_config(None, {**o, "modality": what}, require_io=False)
        recipe = None
    elif str(what).endswith((".yaml", ".yml")):
        cfg, recipe = load_config(what, o, require_io=False), what
    else:
        raise UsageError(f"{what!r} is neither a recipe (.yaml) nor a modality; allowed: a recipe file, "
                         f"{', '.join(modalities.recipe_names())}")
    if not cfg.input and not cfg.csv:
        raise UsageError("INPUT is missing; allowed: a folder or file (or a recipe with input:)")
    modalities.for_recipe(cfg.modality).check(cfg, "options", require_io=True)  # e.g. tabular: --target
    _local_only(cfg, "preview")
    if samples < 1 or variants < 1:
        raise UsageError("--samples and --variants must be at least 1")
    return pv.preview(cfg, samples, variants, Path(out) if out else None, recipe=recipe)


def read_manifest(output: str | Path) -> list[dict]:
    """The rows of OUTPUT/manifest.csv (or a manifest file): path, source, label, split, augmented,
    copy, seed, ops (JSON), status, error, mix_source, mix_label, mix_lambda, soft_label."""
    from .manifest import NAME, read_rows

    p = Path(output)
    return read_rows(p / NAME if p.is_dir() else p)


def validate(recipe: str | Path) -> str:
    """Check a recipe without running it: a one-line description, or AugError (code 2)."""
    cfg = load_config(str(recipe), {}, require_io=True)
    return f"{recipe}: ok ({modalities.for_recipe(cfg.modality).describe(cfg)})"


def list_transforms(modality: str = "image") -> list[str]:
    """The lines of `augcli transforms MODALITY`: every step, its parameters, defaults and ranges."""
    from .recipe import OPTIONS

    if modality not in modalities.recipe_names():
        raise UsageError(f"modality {modality!r} is unknown; allowed: {', '.join(modalities.recipe_names())}")
    m = modalities.for_recipe(modality)
    if not m.takes_transforms:
        return m.listing(OPTIONS)
    mod = m.steps()
    lines = []
    for name, cls in mod.STEPS.items():
        alias = [a for a, t in mod.ALIASES.items() if t == name]
        kind = ("geometric, fused" if getattr(cls, "GEOMETRIC", False) else "colour, fused"
                if getattr(cls, "COLOR", False) else "stretch, fused" if getattr(cls, "STRETCH", False) else "")
        lines.append(f"{name}{' (alias: ' + ', '.join(alias) + ')' if alias else ''}"
                     f"{'  [' + kind + ']' if kind else ''}  {cls.DOC}")
        for p in cls.all_params():
            lines.append(f"    {p.name:<12} default {p.describe_default():<14} {p.allowed()}"
                         + (f"  - {p.doc}" if p.doc else ""))
    note = m.listing_note()
    return lines + ([note] if note else [])


def _local_only(cfg, command: str) -> None:
    from .storage import is_url

    url = next((v for v in (cfg.input, cfg.csv, cfg.root, cfg.coco) if is_url(v)), None)
    if url:
        raise UsageError(f"{url}: {command} cannot read a URL yet; run it on a local copy of a few files")


def report(output: str | Path, html: str | Path | None = None) -> int:
    """Print a summary of a finished or interrupted run (counts, failures, steps) and, with `html`,
    write a self-contained page; returns the CLI's exit code (0 complete, 1 failures or incomplete)."""
    from .inspection import report as rp
    from .storage import is_url

    if is_url(output):
        raise UsageError(f"{output}: report cannot read a URL yet; copy its manifest.csv and .augcli/run.json "
                         "to a local folder and report on that")
    return rp.report(str(output), None if html is None else str(html))


def stats(input: str | Path | None = None, **options) -> dict:
    """Per-channel (R, G, B) mean and std over every pixel of an image dataset, on the 0-1 scale;
    for an annotated dataset also "annotations": objects per class, background images, box sizes."""
    from .inspection.stats import stats as _stats

    o = {k: v for k, v in {"input": None if input is None else str(input), **options}.items() if v is not None}
    cfg = load_config(None, o, require_io=False)
    if not cfg.input and not cfg.csv:
        raise UsageError("INPUT is missing; allowed: a folder (or --csv LISTING)")
    _local_only(cfg, "stats")
    return _stats(cfg, modalities.for_recipe("image"))


__all__ = ["AugError", "Config", "Result", "augment", "list_transforms", "preview", "read_manifest", "report",
           "run", "stats", "validate"]
