"""Text steps (EDA and more), rule-based and offline.

A text is split into whitespace-separated tokens; the whitespace between them is kept as it was,
so an edit never disturbs the rest of the text. A token's "core" is the token without leading
and trailing punctuation: synonyms replace the core only, with the original's capitalisation.

Tokens that are protected (numbers and anything with a digit, URLs, e-mail addresses,
@mentions, #hashtags, and the user's `protect` patterns) are never altered, moved or deleted;
stop words are never replaced nor used as insertion seeds.

Every step samples its edits from the job's Generator (`sample`) and applies them (`apply`);
the edits are what the manifest records. `alpha` is the fraction of words changed, as in EDA:
n = max(1, int(alpha * words)).
"""
from __future__ import annotations

import bisect
import gzip
import json
import re
from functools import lru_cache
from importlib import resources

from ..errors import RecipeError
from .base import OneOfBase, Param, Step, fire, parse_steps

# A common English function-word list (written for augcli).
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
theirs them themselves then there there's these they they'd they'll they're they've this those through
to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
where where's which while who who's whom why why's will with won't would wouldn't you you'd you'll you're
you've your yours yourself yourselves also just s t d ll m o re ve y ain isn wasn weren won wouldn shan
""".split())

_PROTECT = re.compile(
    r"\d"  # numbers, prices, dates, times, codes
    r"|^[(\[\"']*(?:https?://|ftp://|www\.)"  # URLs
    r"|^[^@\s]+@[^@\s]+\.\w+"  # e-mail addresses
    r"|^[(\[\"']*[@#]\w"  # @mentions, #hashtags
    r"|\w\.\w+[/.]"  # domain-like tokens (example.com/x)
)
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_SPLIT = re.compile(r"(\s+)")
_SENT = re.compile(r"(?<=[.!?…。！？])(\s+)")

KEYBOARD = {}
for _row in ("1234567890-", "qwertyuiop[", "asdfghjkl;'", "zxcvbnm,./"):
    for _i, _c in enumerate(_row):
        KEYBOARD.setdefault(_c, set()).update(x for x in _row[max(0, _i - 1):_i + 2] if x != _c)
_ROWS = ("1234567890-", "qwertyuiop[", "asdfghjkl;'", "zxcvbnm,./")
for _r in range(len(_ROWS) - 1):
    for _i, _c in enumerate(_ROWS[_r]):
        below = _ROWS[_r + 1]
        for _j in (_i - 1, _i):
            if 0 <= _j < len(below):
                KEYBOARD[_c].add(below[_j])
                KEYBOARD.setdefault(below[_j], set()).add(_c)
KEYBOARD = {k: "".join(sorted(v & set("abcdefghijklmnopqrstuvwxyz"))) for k, v in KEYBOARD.items()
            if k.isalpha()}


_M64 = (1 << 64) - 1


class PyRng:
    """The random draws the text steps need, from SplitMix64 in plain Python: creating one and
    drawing cost well under a microsecond, against ~10-20 us per Generator with numpy, which
    matters at 10,000+ texts/s. The sequence is fully specified, so the same seed gives the
    same draws on every platform and Python version."""

    __slots__ = ("s",)

    def __init__(self, seed: int):
        self.s = seed & _M64

    def _next(self) -> int:
        self.s = z = (self.s + 0x9E3779B97F4A7C15) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def random(self, size: int | None = None):
        if size is None:
            return (self._next() >> 11) * (1.0 / 9007199254740992.0)
        return [(self._next() >> 11) * (1.0 / 9007199254740992.0) for _ in range(size)]

    def integers(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + self._next() % (hi - lo)  # modulo bias < 2**-40 for any text length

    def weighted(self, cum: list[float]) -> int:
        return min(bisect.bisect_right(cum, self.random() * cum[-1]), len(cum) - 1)

    def choice(self, n: int, size: int | None = None, replace: bool = True, p=None):
        if p is not None:
            acc, cum = 0.0, []
            for x in p:
                acc += float(x)
                cum.append(acc)
            return self.weighted(cum)
        if size is None:
            return self.integers(n)
        if replace:
            return [self.integers(n) for _ in range(size)]
        pool = list(range(n))  # partial Fisher-Yates: `size` distinct indices, in draw order
        for i in range(size):
            j = i + self._next() % (n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:size]

    def permutation(self, n: int) -> list[int]:
        return self.choice(n, n, replace=False)


# --------------------------------------------------------------------------------------------
# the lexicon: loaded lazily, once per process
# --------------------------------------------------------------------------------------------
class Synonyms(dict):
    """word -> tuple of synonyms; the shipped lexicon keeps each entry as its "a|b|c" text until
    first used."""

    def __getitem__(self, word):
        v = dict.__getitem__(self, word)
        if isinstance(v, str):
            v = tuple(v.split("|"))
            dict.__setitem__(self, word, v)
        return v

    def get(self, word, default=None):
        return self[word] if word in self else default

    def items(self):
        return ((k, self[k]) for k in self.keys())


class Lexicon:
    def __init__(self):
        self._base: dict[str, tuple[str, ...]] | None = None
        self._user: dict[tuple, dict] = {}

    def base(self) -> dict[str, tuple[str, ...]]:
        if self._base is None:
            data = resources.files("augcli").joinpath("data/synonyms.tsv.gz").read_bytes()
            # values stay "a|b|c" strings until a word is looked up (Synonyms): 4x faster to load
            self._base = Synonyms(line.split("\t", 1) for line in gzip.decompress(data).decode("utf-8").splitlines())
        return self._base

    def get(self, user: str | None, mode: str) -> dict[str, tuple[str, ...]]:
        if not user:
            return self.base()
        key = (user, mode)
        if key not in self._user:
            extra = read_user_lexicon(user)
            if mode == "replace":
                self._user[key] = Synonyms(extra)
            else:
                lex = Synonyms(dict.items(self.base()))
                for w, syns in extra.items():
                    lex[w] = tuple(dict.fromkeys(syns + lex.get(w, ())))
                self._user[key] = lex
        return self._user[key]


def read_user_lexicon(path: str) -> dict[str, tuple[str, ...]]:
    """TSV: word<TAB>synonym, synonym, ... (commas or |); '#' starts a comment."""
    lex = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                word, tab, syns = line.partition("\t")
                items = tuple(s.strip().lower() for s in re.split(r"[|,]", syns) if s.strip())
                if not tab or not word.strip() or not items:
                    raise RecipeError(f"{path}: line {n}: expected 'word<TAB>synonym, synonym, ...'")
                lex[word.strip().lower()] = items
    except FileNotFoundError:
        raise RecipeError(f"{path}: lexicon file not found")
    except UnicodeDecodeError as e:
        raise RecipeError(f"{path}: lexicon is not valid UTF-8 ({e.reason} at byte {e.start})")
    return lex


LEXICON = Lexicon()


@lru_cache(maxsize=1 << 16)
def _core(token: str) -> tuple[str, str, str]:
    m = _CORE.match(token)
    return m.group(1), m.group(2), m.group(3)


def recase(new: str, old: str) -> str:
    """Give `new` the capitalisation of `old` (ALL CAPS, Title, or as is)."""
    if len(old) > 1 and old.isupper():
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


# --------------------------------------------------------------------------------------------
# a text being edited
# --------------------------------------------------------------------------------------------
class Doc:
    """Tokens and the whitespace around them: text = lead + w0 + s0 + w1 + ... + wn + trail."""

    __slots__ = ("lead", "words", "seps", "trail", "protected", "cache", "pristine")

    def __init__(self, lead, words, seps, trail, protected, cache=None, pristine=True):
        self.lead, self.words, self.seps, self.trail, self.protected = lead, words, seps, trail, protected
        # what steps compute from the unedited text (candidates), shared by all copies of a source
        self.cache = {} if cache is None else cache
        self.pristine = pristine

    @classmethod
    def parse(cls, text: str, protect: re.Pattern | None) -> "Doc":
        parts = _SPLIT.split(text)
        lead = trail = ""
        if parts and parts[0] == "":
            parts = parts[1:]
            if parts:
                lead, parts = parts[0], parts[1:]
        if parts and parts[-1] == "":
            parts = parts[:-1]
            if parts:
                trail, parts = parts[-1], parts[:-1]
        words, seps = parts[0::2], parts[1::2]
        if protect is None:
            prot = [_is_protected(w) for w in words]
        else:
            prot = [_is_protected(w) or bool(protect.search(w)) for w in words]
        return cls(lead, words, seps, trail, prot)

    def copy(self) -> "Doc":
        return Doc(self.lead, list(self.words), list(self.seps), self.trail, list(self.protected),
                   self.cache, self.pristine)

    def text(self) -> str:
        n = len(self.words)
        if n == 0:
            return self.lead + self.trail
        parts = [""] * (2 * n - 1)
        parts[0::2] = self.words
        parts[1::2] = self.seps
        return self.lead + "".join(parts) + self.trail

    def insert(self, pos: int, word: str) -> None:
        self.words.insert(pos, word)
        self.protected.insert(pos, False)
        self.seps.insert(min(pos, len(self.seps)), " ")

    def delete(self, i: int) -> None:
        del self.words[i]
        del self.protected[i]
        if self.seps:
            del self.seps[i if i < len(self.seps) else i - 1]

    def movable(self) -> list[int]:
        if self.pristine:
            hit = self.cache.get("movable")
            if hit is None:
                hit = self.cache["movable"] = [i for i, p in enumerate(self.protected) if not p]
            return hit
        return [i for i, p in enumerate(self.protected) if not p]


def _n(alpha: float, words: int) -> int:
    return max(1, int(alpha * words))


ALPHA = Param("alpha", "float", 0.1, lo=0.0, hi=1.0, doc="fraction of words changed (EDA's alpha)")


class TextStep(Step):
    PARAMS = (ALPHA,)

    def sample(self, rng, doc: Doc, ctx) -> dict:
        raise NotImplementedError

    def apply(self, doc: Doc, prm: dict) -> None:
        raise NotImplementedError


_PROT: dict[str, bool] = {}


def _is_protected(w: str) -> bool:
    p = _PROT.get(w)
    if p is None:
        if len(_PROT) > 500_000:
            _PROT.clear()
        p = _PROT[w] = bool(_PROTECT.search(w))
    return p


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

    def sample(self, rng, doc, ctx):
        lex = ctx.lexicon
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

    def apply(self, doc, prm):
        for i, w in prm["edits"]:
            doc.words[i] = w


class RandomInsert(TextStep):
    NAME = "random_insert"
    DOC = "insert alpha * words synonyms of the text's own words (not stop words) at random places"

    def sample(self, rng, doc, ctx):
        lex = ctx.lexicon
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

    def apply(self, doc, prm):
        for pos, w in prm["inserts"]:
            if pos == 0 and doc.words:
                w, doc.words[0] = _new_first(w, doc.words[0])
            doc.insert(pos, w)


class RandomSwap(TextStep):
    NAME = "random_swap"
    DOC = "swap two words, alpha * words times (protected tokens stay in place)"

    def sample(self, rng, doc, ctx):
        mov = doc.movable()
        if len(mov) < 2:
            return {"swaps": []}
        swaps = []
        for _ in range(_n(self.cfg["alpha"], len(doc.words))):
            a, b = rng.choice(len(mov), 2, replace=False)
            swaps.append([mov[a], mov[b]])
        return {"swaps": swaps}

    def apply(self, doc, prm):
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

    def sample(self, rng, doc, ctx):
        mov = doc.movable()
        if not mov:
            return {"deleted": []}
        r = rng.random(len(mov))
        dele = [mov[k] for k in range(len(mov)) if r[k] < self.cfg["alpha"]]
        if len(dele) == len(doc.words):  # keep one word
            dele.pop(int(rng.integers(len(dele))))
        return {"deleted": dele}

    def apply(self, doc, prm):
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

    def sample(self, rng, doc, ctx):
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

    def apply(self, doc, prm):
        for dst, src in prm["moves"]:
            cores = [_core(doc.words[s])[1] for s in src]
            for d, c in zip(dst, cores):
                pre, _, post = _core(doc.words[d])
                doc.words[d] = pre + c + post


class SentenceShuffle(TextStep):
    NAME = "sentence_shuffle"
    DOC = "shuffle the order of the sentences (split after . ! ?)"
    PARAMS = ()

    def sample(self, rng, doc, ctx):
        return {"order": None, "seed": int(rng.integers(0, 2**31))}

    def apply(self, doc, prm):
        text = doc.text()
        body = text.strip()
        parts = _SENT.split(body)
        sents, seps = parts[0::2], parts[1::2]
        if len(sents) < 2:
            prm["order"] = []
            return
        order = PyRng(prm["seed"]).permutation(len(sents))
        prm["order"] = order
        out = [sents[order[0]]]
        for k in range(1, len(sents)):
            out.append(seps[k - 1])
            out.append(sents[order[k]])
        lead = text[:len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()):]
        new = Doc.parse(lead + "".join(out) + trail, None)
        p = {w: pr for w, pr in zip(doc.words, doc.protected)}
        doc.lead, doc.words, doc.seps, doc.trail = new.lead, new.words, new.seps, new.trail
        doc.protected = [p.get(w, False) for w in new.words]


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

    def sample(self, rng, doc, ctx):
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

    def apply(self, doc, prm):
        for i, w in prm["typos"]:
            doc.words[i] = w


class OneOf(OneOfBase):
    def __post_init__(self):
        super().__post_init__()
        acc, self.cum = 0.0, []
        for x in self.probs:
            acc += float(x)
            self.cum.append(acc)

    def pick(self, rng) -> Step:
        return self.children[rng.weighted(self.cum)]



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
                CharNoise, EDA, OneOf)
}
ALIASES = {"sr": "synonym_replace", "ri": "random_insert", "rs": "random_swap", "rd": "random_delete"}


def make_step(name: str, cfg: dict) -> Step:
    return STEPS[ALIASES.get(name, name)](cfg)


def validate_steps(raw, where: str) -> list[tuple[str, dict]]:
    return parse_steps(raw, where, STEPS, ALIASES)


class Context:
    def __init__(self, lexicon):
        self.lexicon = lexicon


class Pipeline:
    """Runs validated steps on a text with a job's Generator; returns (text, ops).

    `protect`: extra regexes of tokens never to alter; `lexicon`: a user TSV and whether it
    `replace`s or `extend`s the shipped WordNet synonyms."""

    def __init__(self, steps, protect: list[str] | None = None, lexicon: str | None = None,
                 lexicon_mode: str = "extend"):
        self.steps = [make_step(n, c) for n, c in steps]
        self.protect = re.compile("|".join(f"(?:{p})" for p in protect)) if protect else None
        self._lex_args = (lexicon, lexicon_mode)
        self._ctx = None

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            self._ctx = Context(LEXICON.get(*self._lex_args))
        return self._ctx

    def parse(self, text: str) -> Doc:
        return Doc.parse(text, self.protect)

    def __call__(self, text: str | Doc, rng) -> tuple[str, list[dict]]:
        doc = (text if isinstance(text, Doc) else self.parse(text)).copy()
        ops = []
        for st in self.steps:
            st = fire(st, rng)
            if st is None:
                continue
            prm = st.sample(rng, doc, self.ctx)
            st.apply(doc, prm)
            doc.pristine = False
            ops.append({"name": st.NAME, **prm})
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
