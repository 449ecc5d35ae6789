"""Text steps that run something the user has on disk (no model ships with augcli, and nothing
is downloaded): back_translation and paraphrase (a local model folder, backends.py), and
word_embedding_replace (a local word-vectors file, vectors.py).

The model runs while sampling, deterministically (beam search; a plug-in backend that samples gets
a seed drawn from the job's stream), and the manifest records what it gave: which sentences, which
of the n-best hypotheses were drawn, and the new sentence. `apply` only puts the recorded
sentences in place, so a manifest replays without the model. Sentences are split after . ! ?
(as sentence_shuffle does); a new sentence that loses a protected token of the old one (a number,
a URL, an e-mail, a `protect` pattern) is not used: that sentence stays as it was.
"""
from __future__ import annotations

from ..base import Param
from .backends import check_backend, check_folder, get_model
from .doc import Doc, _core
from .steps import TextStep, _sentences

BACKEND = Param("backend", "str", "auto", doc="auto or ctranslate2 (CTranslate2 / Argos Translate folder), "
                "or your loader 'package.module:function' (folder -> model)")
FRACTION = Param("fraction", "float", 1.0, lo=0.0, hi=1.0, doc="fraction of the sentences rewritten (at least one)")
N_BEST = Param("n_best", "int", 4, lo=1, hi=16, doc="beam hypotheses per sentence; one is drawn at random")


class ModelStep(TextStep):
    """Rewrites whole sentences with a local model (`models()` lists the folders, in order)."""

    FOLDERS: tuple[str, ...] = ("model",)

    @classmethod
    def check(cls, cfg, where):
        check_backend(cfg["backend"], f"{where}.backend")
        for key in cls.FOLDERS:
            check_folder(cls.NAME, cfg["backend"], cfg[key], f"{where}.{key}")

    def rewrite(self, texts: list[str], rng, seed: int) -> tuple[list[str], list[list[int]]]:
        """Each text through the step's model(s), drawing one hypothesis per pass."""
        picks = [[] for _ in texts]
        for key in self.FOLDERS:
            model = get_model(self.cfg["backend"], self.cfg[key])
            hyps = model.translate([self.prefix() + t for t in texts], n_best=self.cfg["n_best"], seed=seed)
            out = []
            for k, h in enumerate(hyps):
                j = int(rng.integers(len(h))) if h else -1
                picks[k].append(j)
                out.append(h[j].strip() if h else "")
            texts = out
        return texts, picks

    def prefix(self) -> str:
        return ""

    def sample(self, rng, ctx):
        doc = ctx.doc
        _, sents, _, _ = _sentences(doc.text())
        base = {k: self.cfg[k] for k in self.FOLDERS}
        if not sents or not doc.words:
            return {**base, "sentences": []}
        n = min(len(sents), max(1, int(round(self.cfg["fraction"] * len(sents)))))
        chosen = sorted(rng.choice(len(sents), n, replace=False))
        seed = int(rng.integers(0, 2**31))
        new, picks = self.rewrite([sents[i] for i in chosen], rng, seed)
        keep = _protected_by_sentence(doc, sents)
        out = [[i, p, t] for i, p, t in zip(chosen, picks, new)
               if t and t != sents[i] and all(tok in t for tok in keep[i])]
        return {**base, "seed": seed, "sentences": out}

    def edit(self, doc, prm):
        if not prm["sentences"]:
            return
        lead, sents, seps, trail = _sentences(doc.text())
        sents = list(sents)
        for i, _, t in prm["sentences"]:
            sents[i] = t
        parts = [sents[0]]
        for k in range(1, len(sents)):
            parts += [seps[k - 1], sents[k]]
        new = Doc.parse(lead + "".join(parts) + trail, None)
        was = {w: pr for w, pr in zip(doc.words, doc.protected) if pr}
        doc.lead, doc.words, doc.seps, doc.trail = new.lead, new.words, new.seps, new.trail
        doc.protected = [pr or was.get(w, False) for w, pr in zip(new.words, new.protected)]


def _protected_by_sentence(doc: Doc, sents) -> list[list[str]]:
    """The cores of each sentence's protected tokens (a sentence is a run of whole words)."""
    out, start = [], 0
    for s in sents:
        n = len(s.split())
        out.append([_core(w)[1] or w for w, pr in zip(doc.words[start:start + n], doc.protected[start:start + n]) if pr])
        start += n
    return out


class BackTranslation(ModelStep):
    NAME = "back_translation"
    DOC = ("translate sentences to a pivot language and back with two local models (CTranslate2 / Argos "
           "Translate folders: `ct2-transformers-converter --model Helsinki-NLP/opus-mt-en-de --output_dir "
           "en-de --copy_files source.spm target.spm`, and de-en; needs pip install ctranslate2 sentencepiece)")
    FOLDERS = ("model", "back_model")
    PARAMS = (Param("model", "str", None, required=True, doc="folder of the model source -> pivot"),
              Param("back_model", "str", None, required=True, doc="folder of the model pivot -> source"),
              BACKEND, FRACTION, N_BEST)


class Paraphrase(ModelStep):
    NAME = "paraphrase"
    DOC = ("rewrite sentences with a local sequence-to-sequence paraphrase model (a CTranslate2 folder with "
           "its SentencePiece model, e.g. a T5 paraphraser converted with `ct2-transformers-converter "
           "--copy_files spiece.model`; needs pip install ctranslate2 sentencepiece)")
    PARAMS = (Param("model", "str", None, required=True, doc="folder of the paraphrase model"),
              Param("prefix", "str", None, doc="text put before each sentence (e.g. 'paraphrase: ' for T5 models)"),
              BACKEND, FRACTION, N_BEST)

    def prefix(self) -> str:
        return self.cfg["prefix"] or ""
