"""The model backends of the text plug-in steps (plugins.py): which library runs a user's local
model folder, checked at recipe validation, loaded once per worker process.

Nothing is ever downloaded: the user points `model:` at a folder on disk. A backend is named by
the step's `backend:` key:

    auto / ctranslate2   a CTranslate2 model folder (model.bin) with its SentencePiece files
                         (source.spm + target.spm as OPUS-MT ships them, or one spiece.model /
                         sentencepiece.model), or an Argos Translate package folder (model/model.bin
                         + sentencepiece.model: Argos runs the same CTranslate2 model), needs
                         `pip install ctranslate2 sentencepiece`, imported only when loading;
    package.module:fn    your own loader: fn(folder) returns a model object (below); imported
                         at validation, called once per process.

A model object has one method, deterministic for the same arguments:

    model.translate(texts: list[str], n_best: int, seed: int) -> list[list[str]]

n_best hypotheses (best first; fewer allowed) per text. `seed` is drawn by the step from the job's
stream and recorded in the manifest: a backend that samples must seed its sampling with it. The
CTranslate2 backend decodes by beam search (no sampling), so the seed is not needed there.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ...errors import RecipeError
from ..base import load_callable

INSTALL = "pip install ctranslate2 sentencepiece"
_LOADED: dict[tuple[str, str], object] = {}  # (backend, folder) -> model: once per process
_SPM_PAIRS = (("source.spm", "target.spm"), ("spiece.model", "spiece.model"),
              ("sentencepiece.model", "sentencepiece.model"), ("sentencepiece.bpe.model", "sentencepiece.bpe.model"))


def _ct2_root(folder: Path) -> Path | None:
    """The folder holding model.bin: the folder itself, or an Argos package's model/."""
    for root in (folder, folder / "model"):
        if (root / "model.bin").is_file():
            return root
    return None


def _spm_files(folder: Path, root: Path) -> tuple[Path, Path] | None:
    for base in dict.fromkeys((folder, root)):
        for src, tgt in _SPM_PAIRS:
            if (base / src).is_file() and (base / tgt).is_file():
                return base / src, base / tgt
    return None


def check_folder(step: str, backend: str, folder: str, where: str) -> None:
    """Refuse, before any work, a folder that is missing or not a model for the backend, and a
    backend whose library is not installed: one sentence naming the step and the folder."""
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise RecipeError(f"{where}: {folder!r} is not a folder; allowed: the local folder of a model "
                          f"(nothing is downloaded; `augcli transforms text` says how to get one)")
    if ":" in backend:
        load_callable(backend, where.rsplit(".", 1)[0] + ".backend")
        return
    missing = [m for m in ("ctranslate2", "sentencepiece") if importlib.util.find_spec(m) is None]
    if missing:
        raise RecipeError(f"{where}: {folder!r} needs {' and '.join(missing)}, not installed, to run {step}; "
                          f"allowed: a folder for an installed backend ({INSTALL})")
    root = _ct2_root(p)
    if root is None:
        raise RecipeError(f"{where}: {folder!r} is not a CTranslate2 model folder (no model.bin, nor model/model.bin)"
                          "; allowed: a converted model (ct2-transformers-converter) or an Argos Translate package")
    if _spm_files(p, root) is None:
        raise RecipeError(f"{where}: {folder!r} has no SentencePiece files; allowed: a model folder with source.spm "
                          "and target.spm, or spiece.model / sentencepiece.model")


def check_backend(backend: str, where: str) -> None:
    if backend not in ("auto", "ctranslate2") and ":" not in backend:
        raise RecipeError(f"{where}: {backend!r} is not allowed; allowed: auto, ctranslate2, or your loader "
                          "'package.module:function'")


def get_model(backend: str, folder: str):
    """The loaded model, once per process (a worker loads it on its first text, not per sentence)."""
    key = (backend, str(Path(folder).expanduser()))
    model = _LOADED.get(key)
    if model is None:
        if ":" in backend:
            model = load_callable(backend, "backend")(key[1])
        else:
            model = CT2Model(key[1])
        _LOADED[key] = model
    return model


class CT2Model:
    """A CTranslate2 translator and its SentencePiece models; beam search, so deterministic."""

    def __init__(self, folder: str):
        try:
            import ctranslate2
            import sentencepiece as spm
        except ImportError as e:
            raise RecipeError(f"{folder}: cannot load the model ({e}); allowed: {INSTALL}") from e
        p = Path(folder)
        root = _ct2_root(p)
        if root is None or _spm_files(p, root) is None:
            raise RecipeError(f"{folder}: not a CTranslate2 model folder with SentencePiece files")
        src, tgt = _spm_files(p, root)
        # one thread per worker process: the workers are the parallelism, and the results cannot vary
        self.translator = ctranslate2.Translator(str(root), device="cpu", inter_threads=1, intra_threads=1)
        self.src = spm.SentencePieceProcessor(model_file=str(src))
        self.tgt = self.src if tgt == src else spm.SentencePieceProcessor(model_file=str(tgt))
        # models converted from Hugging Face (OPUS-MT's source.spm, T5's spiece.model) were trained on
        # inputs ending in </s>, which their tokenizers add; Argos Translate's (sentencepiece.model) not
        self.eos = ["</s>"] if src.name in ("source.spm", "spiece.model") else []

    def translate(self, texts: list[str], n_best: int = 1, seed: int = 0) -> list[list[str]]:
        tokens = [self.src.encode(t, out_type=str) + self.eos for t in texts]
        res = self.translator.translate_batch(tokens, beam_size=max(n_best, 2), num_hypotheses=n_best)
        return [[self.tgt.decode(h) for h in r.hypotheses] for r in res]
