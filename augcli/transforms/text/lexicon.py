"""The language data of the text steps: stop words, the synonym lexicon (the shipped WordNet
synonyms, extended or replaced by a user's TSV), and the keyboard neighbours of char_noise."""
from __future__ import annotations

import gzip
import re
from importlib import resources

from ...errors import RecipeError

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
