"""word_embedding_replace: replace words with their nearest neighbours (cosine) in a local
word-vectors file, word2vec or GloVe text format (plain numpy, no gensim).

The file: one `word v1 v2 ... vD` line per word, optionally after a word2vec `count D` header.
Pre-trained files users run themselves to get: GloVe (`glove.6B.100d.txt`, nlp.stanford.edu),
fastText `.vec` files (fasttext.cc); `limit` reads only the first words (both are sorted by
frequency). The file is read once per worker process, neighbours are cached per word.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ...errors import RecipeError
from ..base import Param
from .doc import _core, recase
from .lexicon import STOP_WORDS
from .steps import ALPHA, TextStep, _n

_LOADED: dict[tuple[str, int], "Vectors"] = {}


def _header(line: str) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(x.isdigit() for x in parts)


def check_vectors(path: str, where: str) -> None:
    """Refuse a missing file, or one whose first vector line is not `word number number ...`."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise RecipeError(f"{where}: {path!r} is not a file; allowed: a local word-vectors file (word2vec or GloVe "
                          "text format; nothing is downloaded)")
    try:
        with open(p, encoding="utf-8") as f:
            first = f.readline()
            line = f.readline() if _header(first) else first
        float(line.split()[1])
    except (UnicodeDecodeError, IndexError, ValueError):
        raise RecipeError(f"{where}: {path!r} is not a word-vectors file; allowed: lines 'word v1 v2 ... vD' "
                          "(word2vec or GloVe text format)")


class Vectors:
    """Unit-length word vectors and their vocabulary (lower case; the first spelling wins)."""

    def __init__(self, path: str, limit: int = 0):
        import numpy as np

        words, rows = [], []
        with open(Path(path).expanduser(), encoding="utf-8") as f:
            for n, line in enumerate(f):
                if n == 0 and _header(line):
                    continue
                parts = line.rstrip().split(" ")
                if len(parts) < 2:
                    continue
                words.append(parts[0])
                rows.append(parts[1:])
                if limit and len(words) >= limit:
                    break
        dims = {len(r) for r in rows}
        if len(dims) != 1:
            raise RecipeError(f"{path}: the vectors have different lengths ({sorted(dims)[:4]}); allowed: one length")
        m = np.asarray(rows, dtype=np.float32)
        norm = np.linalg.norm(m, axis=1, keepdims=True)
        self.m = m / np.where(norm > 0, norm, 1)
        self.words = words
        self.index = {}
        for i, w in enumerate(words):
            self.index.setdefault(w.lower(), i)
        self.neighbours = lru_cache(maxsize=65536)(self._neighbours)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def _neighbours(self, word: str, k: int, min_sim: float) -> tuple[str, ...]:
        """Up to k other words (not stop words, not differing only by case) by cosine, best first; ties
        by file order."""
        import numpy as np

        sims = self.m @ self.m[self.index[word]]
        take = min(len(sims), 4 * k + 8)
        cand = np.argpartition(sims, len(sims) - take)[-take:] if take < len(sims) else np.arange(len(sims))
        out = []
        for j in sorted(cand.tolist(), key=lambda j: (-float(sims[j]), j)):
            w = self.words[j].lower()
            if w != word and float(sims[j]) >= min_sim and w.isalpha() and w not in STOP_WORDS and w not in out:
                out.append(w)
                if len(out) == k:
                    break
        return tuple(out)


def get_vectors(path: str, limit: int) -> Vectors:
    key = (str(Path(path).expanduser()), limit)
    v = _LOADED.get(key)
    if v is None:
        v = _LOADED[key] = Vectors(*key)
    return v


class WordEmbeddingReplace(TextStep):
    NAME = "word_embedding_replace"
    DOC = ("replace alpha of the words (not stop words) with one of their top_k nearest neighbours by cosine in a "
           "local word-vectors file (word2vec/GloVe text, e.g. glove.6B.100d.txt), keeping case and punctuation; a "
           "drawn word with no neighbour at min_cosine stays")
    PARAMS = (Param("vectors", "str", None, required=True, doc="word-vectors file (word2vec or GloVe text format)"),
              ALPHA,
              Param("top_k", "int", 5, lo=1, hi=100, doc="neighbours a replacement is drawn from"),
              Param("min_cosine", "float", 0.0, lo=-1.0, hi=1.0, doc="neighbours less similar are not used"),
              Param("limit", "int", 0, lo=0, hi=10**8, doc="read only the first words of the file (0: all)"))

    @classmethod
    def check(cls, cfg, where):
        check_vectors(cfg["vectors"], f"{where}.vectors")

    def sample(self, rng, ctx):
        doc, cfg = ctx.doc, self.cfg
        vec = get_vectors(cfg["vectors"], cfg["limit"])
        cand = []
        for i, w in enumerate(doc.words):
            core = _core(w)[1]
            if not doc.protected[i] and core.isalpha() and core.lower() not in STOP_WORDS and core.lower() in vec:
                cand.append(i)
        edits = []
        if cand:  # neighbours are searched for the drawn words only (a search scans every vector)
            n = min(_n(cfg["alpha"], len(doc.words)), len(cand))
            for k in sorted(rng.choice(len(cand), n, replace=False)):
                pre, core, post = _core(doc.words[cand[k]])
                near = vec.neighbours(core.lower(), cfg["top_k"], cfg["min_cosine"])
                if near:  # none at min_cosine or above: the word stays
                    edits.append([cand[k], pre + recase(near[int(rng.integers(len(near)))], core) + post])
        return {"vectors": cfg["vectors"], "edits": edits}

    def edit(self, doc, prm):
        for i, w in prm["edits"]:
            doc.words[i] = w
