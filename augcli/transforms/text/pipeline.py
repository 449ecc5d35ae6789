"""The text registry and pipeline: which steps exist (STEPS, with one_of and the EDA preset),
checking a recipe's list (validate_steps), running it on a text (`Pipeline`), and drawing a copy
that differs from its source and the earlier copies (`unique_copy`)."""
from __future__ import annotations

import json
import re

from ..base import OneOfBase, Param, Step, fire, parse_steps
from .doc import Doc, TextContext
from .lexicon import LEXICON
from .plugins import BackTranslation, Paraphrase
from .rng import PyRng
from .steps import CharNoise, RandomDelete, RandomInsert, RandomSwap, SentenceShuffle, SynonymReplace, WordShuffle
from .vectors import WordEmbeddingReplace


class OneOf(OneOfBase):
    """`- one_of: {steps: [...], weights: [...]}` for text steps."""

    @classmethod
    def parse(cls, raw, where):
        return validate_steps(raw, where)

    @classmethod
    def build(cls, name, cfg):
        return make_step(name, cfg)


class EDA(OneOf):
    """`- eda: {alpha: 0.1}`: Wei & Zou's EDA, one of SR / RI / RS / RD per copy, each at alpha."""

    NAME = "eda"
    DOC = "EDA preset: one of synonym_replace, random_insert, random_swap, random_delete per copy"
    PARAMS = (Param("alpha", "float", 0.1, lo=0.0, hi=1.0, doc="alpha of each of the four operations"),)

    @classmethod
    def validate(cls, raw, where):
        cfg = Step.validate.__func__(cls, raw, where)
        a = cfg["alpha"]
        cfg["steps"] = [(n, {"p": 1.0, "alpha": a}) for n in
                        ("synonym_replace", "random_insert", "random_swap", "random_delete")]
        cfg["weights"] = None
        return cfg


STEPS: dict[str, type[Step]] = {
    cls.NAME: cls
    for cls in (SynonymReplace, RandomInsert, RandomSwap, RandomDelete, WordShuffle, SentenceShuffle,
                CharNoise, EDA, OneOf, BackTranslation, Paraphrase, WordEmbeddingReplace)
}
ALIASES = {"sr": "synonym_replace", "ri": "random_insert", "rs": "random_swap", "rd": "random_delete"}


def make_step(name: str, cfg: dict) -> Step:
    return STEPS[ALIASES.get(name, name)](cfg)


def validate_steps(raw, where: str) -> list[tuple[str, dict]]:
    return parse_steps(raw, where, STEPS, ALIASES)


class Pipeline:
    """Runs validated steps on a text with a job's PyRng; returns (text, ops).

    `protect`: extra regexes of tokens never to alter; `lexicon`: a user TSV and whether it
    `replace`s or `extend`s the shipped WordNet synonyms."""

    def __init__(self, steps, protect: list[str] | None = None, lexicon: str | None = None,
                 lexicon_mode: str = "extend"):
        self.steps = [make_step(n, c) for n, c in steps]
        self.protect = re.compile("|".join(f"(?:{p})" for p in protect)) if protect else None
        self._lex_args = (lexicon, lexicon_mode)
        self._lexicon = None
        self._ctx: TextContext | None = None  # reused from text to text

    @property
    def lexicon(self):
        if self._lexicon is None:
            self._lexicon = LEXICON.get(*self._lex_args)
        return self._lexicon

    def parse(self, text: str) -> Doc:
        return Doc.parse(text, self.protect)

    def __call__(self, text: str | Doc, rng) -> tuple[str, list[dict]]:
        doc = (text if isinstance(text, Doc) else self.parse(text)).copy()  # the pipeline's own: edited in place
        ctx = self._ctx or TextContext(None, self.lexicon)
        self._ctx, ctx.doc = ctx, doc
        ops = []
        for st in self.steps:
            st = fire(st, rng)
            if st is None:
                continue
            prm = st.sample(rng, ctx)
            ops.append({"name": st.NAME, **prm})
            st.apply(doc, prm, inplace=True)
        return doc.text(), ops


OPS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, reused


def unique_copy(pipeline: Pipeline, doc: Doc, source: str, earlier: set, seed: int, max_tries: int):
    """One augmented copy that differs from its source and from the earlier copies: drawn again
    (same Generator, so deterministic) up to `max_tries` times. Returns (text, ops, None), or
    (None, None, reason) when every try was a duplicate."""
    if not doc.words:
        return None, None, "dropped: the text has no words to augment"
    rng = PyRng(seed)
    for attempt in range(1, max_tries + 1):
        text, ops = pipeline(doc, rng)
        if text != source and text not in earlier:
            if attempt > 1:
                ops = ops + [{"name": "retry", "attempts": attempt}]
            return text, ops, None
    what = "its source" if text == source else "another copy of the same source"
    return None, None, f"dropped: every one of {max_tries} tries was identical to {what}"
