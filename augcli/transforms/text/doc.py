"""A text being edited: whitespace-separated tokens, the whitespace kept as it was (`Doc`); a
token's core (without leading and trailing punctuation); which tokens are protected; and
`TextContext`, what a text step samples from."""
from __future__ import annotations

import re
from functools import lru_cache

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


_PROT: dict[str, bool] = {}


def _is_protected(w: str) -> bool:
    p = _PROT.get(w)
    if p is None:
        if len(_PROT) > 500_000:
            _PROT.clear()
        p = _PROT[w] = bool(_PROTECT.search(w))
    return p


class TextContext:
    """What a text step samples from: the doc as it is when the step runs, and the lexicon."""

    __slots__ = ("doc", "lexicon")

    def __init__(self, doc: Doc, lexicon):
        self.doc, self.lexicon = doc, lexicon
