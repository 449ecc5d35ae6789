"""The text steps (EDA's four and more): each samples its edits (`sample(rng, TextContext)`), as
plain JSON the manifest records, and makes them (`apply(doc, params)`; `edit` in place).

Protected tokens (doc.py) are never altered, moved or deleted; stop words are never replaced nor
used as insertion seeds. `alpha` is the fraction of words changed, as in EDA:
n = max(1, int(alpha * words)).
"""
from __future__ import annotations

from functools import lru_cache

from ...errors import RecipeError
from ..base import Param, Step
from .doc import _SENT, Doc, TextContext, _core, recase
from .lexicon import KEYBOARD, STOP_WORDS
from .rng import PyRng


def _n(alpha: float, words: int) -> int:
    return max(1, int(alpha * words))


ALPHA = Param("alpha", "float", 0.1, lo=0.0, hi=1.0, doc="fraction of words changed (EDA's alpha)")


class TextStep(Step):
    """A text step: `sample(rng, TextContext)` draws its edits, `apply(doc, params)` makes them on a
    copy of the doc; the pipeline, which owns its doc, has them made in place (INPLACE). Subclasses
    implement `edit(doc, params)`, which writes into doc."""

    PARAMS = (ALPHA,)
    INPLACE = True

    def sample(self, rng, ctx: TextContext) -> dict:
        raise NotImplementedError

    def apply(self, doc: Doc, prm: dict, inplace: bool = False) -> Doc:
        out = doc if inplace else doc.copy()
        self.edit(out, prm)
        out.pristine = False
        return out

    def edit(self, doc: Doc, prm: dict) -> None:
        raise NotImplementedError


def _replaceable(doc: Doc, lex) -> list[int]:
    if doc.pristine:
        key = ("replaceable", id(lex))
        hit = doc.cache.get(key)
        if hit is None:
            hit = doc.cache[key] = _find_replaceable(doc, lex)
        return hit
    return _find_replaceable(doc, lex)


def _find_replaceable(doc: Doc, lex) -> list[int]:
    out = []
    for i, w in enumerate(doc.words):
        if doc.protected[i]:
            continue
        core = _core(w)[1].lower()
        if core and core not in STOP_WORDS and core in lex:
            out.append(i)
    return out


class SynonymReplace(TextStep):
    NAME = "synonym_replace"
    DOC = "replace alpha of the words (not stop words) with a WordNet synonym, keeping case and punctuation"

    def sample(self, rng, ctx):
        doc, lex = ctx.doc, ctx.lexicon
        cand = _replaceable(doc, lex)
        if not cand:
            return {"edits": []}
        n = min(_n(self.cfg["alpha"], len(doc.words)), len(cand))
        picks = sorted(rng.choice(len(cand), n, replace=False)) if n < len(cand) else range(len(cand))
        edits = []
        for k in picks:
            i = cand[k]
            pre, core, post = _core(doc.words[i])
            syns = lex[core.lower()]
            edits.append([i, pre + recase(syns[int(rng.integers(len(syns)))], core) + post])
        return {"edits": edits}

    def edit(self, doc, prm):
        for i, w in prm["edits"]:
            doc.words[i] = w


class RandomInsert(TextStep):
    NAME = "random_insert"
    DOC = "insert alpha * words synonyms of the text's own words (not stop words) at random places"

    def sample(self, rng, ctx):
        doc, lex = ctx.doc, ctx.lexicon
        cand = _replaceable(doc, lex)
        if not cand:
            return {"inserts": []}
        inserts, size = [], len(doc.words)
        for _ in range(_n(self.cfg["alpha"], len(doc.words))):
            seed = _core(doc.words[cand[int(rng.integers(len(cand)))]])[1].lower()
            syns = lex[seed]
            inserts.append([int(rng.integers(0, size)), syns[int(rng.integers(len(syns)))]])
            size += 1
        return {"inserts": inserts}

    def edit(self, doc, prm):
        for pos, w in prm["inserts"]:
            if pos == 0 and doc.words:
                w, doc.words[0] = _new_first(w, doc.words[0])
            doc.insert(pos, w)


class RandomSwap(TextStep):
    NAME = "random_swap"
    DOC = "swap two words, alpha * words times (protected tokens stay in place)"

    def sample(self, rng, ctx):
        doc = ctx.doc
        mov = doc.movable()
        if len(mov) < 2:
            return {"swaps": []}
        swaps = []
        for _ in range(_n(self.cfg["alpha"], len(doc.words))):
            a, b = rng.choice(len(mov), 2, replace=False)
            swaps.append([mov[a], mov[b]])
        return {"swaps": swaps}

    def edit(self, doc, prm):
        for a, b in prm["swaps"]:
            _swap_cores(doc, a, b)


def _sentence_case(core: str) -> bool:
    return core[:1].isupper() and not core.isupper() and core != "I"


def _new_first(new: str, old_first: str) -> tuple[str, str]:
    """A word arriving at the start of the text takes the sentence capital from the old first
    word (which loses it when it was only sentence case). Returns (new, old_first)."""
    pn, cn, qn = _core(new)
    po, co, qo = _core(old_first)
    if _sentence_case(co) and cn[:1].islower():
        return pn + cn[:1].upper() + cn[1:] + qn, po + co[:1].lower() + co[1:] + qo
    return new, old_first


def _swap_cores(doc: Doc, a: int, b: int) -> None:
    """Swap the words' cores; punctuation stays where it was; a sentence-initial capital moves
    with the position, not with the word."""
    pa, ca, qa = _core(doc.words[a])
    pb, cb, qb = _core(doc.words[b])
    na, nb = cb, ca
    if a == 0 or b == 0:
        first, other = (a, b) if a == 0 else (b, a)
        cf, co = (ca, cb) if a == 0 else (cb, ca)  # core now leaving / arriving at position 0
        if cf[:1].isupper() and not cf.isupper() and cf != "I" and co[:1].islower():
            arriving = co[:1].upper() + co[1:]
            leaving = cf[:1].lower() + cf[1:]
            if a == 0:
                na, nb = arriving, leaving
            else:
                na, nb = leaving, arriving
    doc.words[a] = pa + na + qa
    doc.words[b] = pb + nb + qb


class RandomDelete(TextStep):
    NAME = "random_delete"
    DOC = "delete each word with probability alpha (never every word; protected tokens stay)"

    def sample(self, rng, ctx):
        doc = ctx.doc
        mov = doc.movable()
        if not mov:
            return {"deleted": []}
        r = rng.random(len(mov))
        dele = [mov[k] for k in range(len(mov)) if r[k] < self.cfg["alpha"]]
        if len(dele) == len(doc.words):  # keep one word
            dele.pop(int(rng.integers(len(dele))))
        return {"deleted": dele}

    def edit(self, doc, prm):
        first = doc.words[0] if doc.words else ""
        for i in reversed(prm["deleted"]):
            pre, _, post = _core(doc.words[i])
            if post and i > 0 and not doc.protected[i - 1]:  # "lazy dog, visit" minus "dog" keeps its comma: "lazy, visit"
                doc.words[i - 1] += post
            if pre and i + 1 < len(doc.words) and not doc.protected[i + 1]:
                doc.words[i + 1] = pre + doc.words[i + 1]
            doc.delete(i)
        if prm["deleted"][:1] == [0] and doc.words and not doc.protected[0]:
            doc.words[0] = _new_first(doc.words[0], first)[0]


class WordShuffle(TextStep):
    NAME = "word_shuffle"
    DOC = "shuffle alpha of the words among their places (within windows of `window` words; 0 = anywhere)"
    PARAMS = (Param("alpha", "float", 0.3, lo=0.0, hi=1.0, doc="fraction of words shuffled"),
              Param("window", "int", 0, lo=0, hi=10**6, doc="words move only within blocks of this size (0: whole text)"))

    def sample(self, rng, ctx):
        doc = ctx.doc
        mov = doc.movable()
        if len(mov) < 2:
            return {"moves": []}
        n = max(2, int(self.cfg["alpha"] * len(doc.words)))
        w = self.cfg["window"]
        groups = {}
        for i in mov:
            groups.setdefault(i // w if w else 0, []).append(i)
        moves = []
        for g in groups.values():
            k = min(len(g), max(2, int(round(n * len(g) / len(mov))))) if len(g) >= 2 else 0
            if k < 2:
                continue
            chosen = sorted(rng.choice(len(g), k, replace=False))
            pos = [g[c] for c in chosen]
            perm = rng.permutation(k)
            moves.append([pos, [pos[p] for p in perm]])
        return {"moves": moves}

    def edit(self, doc, prm):
        for dst, src in prm["moves"]:
            cores = [_core(doc.words[s])[1] for s in src]
            for d, c in zip(dst, cores):
                pre, _, post = _core(doc.words[d])
                doc.words[d] = pre + c + post


class SentenceShuffle(TextStep):
    NAME = "sentence_shuffle"
    DOC = "shuffle the order of the sentences (split after . ! ?)"
    PARAMS = ()

    def sample(self, rng, ctx):
        seed = int(rng.integers(0, 2**31))
        n = len(_sentences(ctx.doc.text())[1])
        return {"order": PyRng(seed).permutation(n) if n >= 2 else [], "seed": seed}

    def edit(self, doc, prm):
        order = prm["order"]
        if not order:
            return
        text = doc.text()
        lead, sents, seps, trail = _sentences(text)
        out = [sents[order[0]]]
        for k in range(1, len(sents)):
            out.append(seps[k - 1])
            out.append(sents[order[k]])
        new = Doc.parse(lead + "".join(out) + trail, None)
        p = {w: pr for w, pr in zip(doc.words, doc.protected)}
        doc.lead, doc.words, doc.seps, doc.trail = new.lead, new.words, new.seps, new.trail
        doc.protected = [p.get(w, False) for w in new.words]


@lru_cache(maxsize=256)  # sample and edit split the same text
def _sentences(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """(leading whitespace, sentences, the whitespace between them, trailing whitespace)."""
    parts = _SENT.split(text.strip())
    return text[:len(text) - len(text.lstrip())], tuple(parts[0::2]), tuple(parts[1::2]), text[len(text.rstrip()):]


class CharNoise(TextStep):
    NAME = "char_noise"
    DOC = "typos in alpha of the words: keyboard-neighbour substitution, swap, delete or insert a letter"
    PARAMS = (Param("alpha", "float", 0.1, lo=0.0, hi=1.0, doc="fraction of words that get a typo"),
              Param("kinds", "list", ["keyboard", "swap", "delete", "insert"],
                    doc="any of keyboard, swap, delete, insert"))

    KINDS = ("keyboard", "swap", "delete", "insert")

    @classmethod
    def check(cls, cfg, where):
        k = cfg["kinds"]
        if not isinstance(k, list) or not k or any(x not in cls.KINDS for x in k):
            raise RecipeError(f"{where}.kinds: {k!r} is not allowed; allowed: a non-empty list of "
                              f"{', '.join(cls.KINDS)}")

    def sample(self, rng, ctx):
        doc = ctx.doc
        cand = [i for i, w in enumerate(doc.words) if not doc.protected[i] and len(_core(w)[1]) >= 3
                and _core(w)[1].isalpha()]
        if not cand:
            return {"typos": []}
        n = min(_n(self.cfg["alpha"], len(doc.words)), len(cand))
        picks = sorted(rng.choice(len(cand), n, replace=False))
        typos = []
        for k in picks:
            i = cand[k]
            pre, core, post = _core(doc.words[i])
            kind = self.cfg["kinds"][int(rng.integers(len(self.cfg["kinds"])))]
            j = int(rng.integers(len(core)))
            c = core[j]
            near = KEYBOARD.get(c.lower(), "")
            if kind == "keyboard" and near:
                r = near[int(rng.integers(len(near)))]
                new = core[:j] + (r.upper() if c.isupper() else r) + core[j + 1:]
            elif kind == "swap" or (kind == "keyboard" and not near):
                j = min(j, len(core) - 2)
                new = core[:j] + core[j + 1] + core[j] + core[j + 2:]
            elif kind == "delete":
                new = core[:j] + core[j + 1:]
            else:
                r = near[int(rng.integers(len(near)))] if near else c
                new = core[:j] + r + core[j:]
            typos.append([i, pre + new + post])
        return {"typos": typos}

    def edit(self, doc, prm):
        for i, w in prm["typos"]:
            doc.words[i] = w
