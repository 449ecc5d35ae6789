"""The modality registry: every kind of input augcli reads is one registered object.

A modality declares its recipe name, options (formats, default steps, step validation), how it
discovers inputs, how it plans (per file, or a whole table), how a worker loads, augments and
writes, and how it previews. The rest of augcli asks the registry, never `modality == "..."`.

    from augcli import modalities
    m = modalities.resolve(cfg)          # e.g. the text-table modality for `text` with a .csv input
    m = modalities.for_recipe("image")   # what a recipe's `modality:` names (before the input is known)
"""
from __future__ import annotations

from .base import Dropped, FileModality, Modality  # noqa: F401 - the registry's public names

_REGISTRY: dict[str, Modality] = {}


def register(m: Modality) -> Modality:
    """Add a modality (an instance) under m.name; the order of registration is the order of lookup."""
    if m.name in _REGISTRY:
        raise ValueError(f"modality {m.name!r} is registered twice")
    _REGISTRY[m.name] = m
    return m


def all_modalities() -> list[Modality]:
    return list(_REGISTRY.values())


def recipe_names() -> tuple[str, ...]:
    """The values a recipe's `modality:` may take (image, audio, text, tabular, ...)."""
    return tuple(dict.fromkeys(m.recipe_name for m in _REGISTRY.values()))


def get(name: str) -> Modality:
    return _REGISTRY[name]


def for_recipe(recipe_name: str) -> Modality:
    """The first modality a recipe name stands for: its options and steps (same for all its variants)."""
    for m in _REGISTRY.values():
        if m.recipe_name == recipe_name:
            return m
    raise KeyError(recipe_name)


def resolve(cfg) -> Modality:
    """The modality that runs `cfg`: of its recipe name, the first that accepts the input."""
    for m in _REGISTRY.values():
        if m.recipe_name == cfg.modality and m.accepts(cfg):
            return m
    return for_recipe(cfg.modality)


def _register_builtins() -> None:
    from .annotated import AnnotatedModality
    from .audio import AudioModality
    from .image import ImageModality
    from .tabular import TabularModality
    from .text import TextFolderModality, TextTableModality

    for m in (AnnotatedModality(), ImageModality(), AudioModality(), TextTableModality(), TextFolderModality(),
              TabularModality()):
        register(m)


_register_builtins()
