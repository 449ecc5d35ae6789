"""Stand-ins for the text plug-in steps' user models (no model ships with augcli): a tiny fake
"translator" loaded through the `backend: text_fakes:load` seam, and the tiny word-vectors file
tests/text_vectors.txt (`python tests/text_fakes.py` writes it again)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "text_vectors.txt"
LOADS: list[str] = []  # folders loaded, in order (a model must load once per process)
CALLS: list[tuple] = []  # (folder, texts, n_best, seed) of every translate call


def rotate(sentence: str, k: int) -> str:
    w = sentence.split()
    k %= max(len(w), 1)
    return " ".join(w[k:] + w[:k])


class FakeModel:
    """Hypothesis k of a sentence is the sentence with its words rotated left by k + 1: a pure
    function of its input, so the steps' plumbing can be checked exactly."""

    def __init__(self, folder: str):
        self.folder = folder

    def translate(self, texts, n_best, seed):
        CALLS.append((self.folder, list(texts), n_best, seed))
        return [[rotate(t, k + 1) for k in range(min(n_best, max(len(t.split()) - 1, 1)))] for t in texts]


class DroppingModel(FakeModel):
    """Also drops every token with a digit (as a model may mangle a number)."""

    def translate(self, texts, n_best, seed):
        hyps = super().translate(texts, n_best, seed)
        return [[" ".join(w for w in h.split() if not any(c.isdigit() for c in w)) for h in hs] for hs in hyps]


def load(folder: str) -> FakeModel:
    LOADS.append(folder)
    return FakeModel(folder)


def load_dropping(folder: str) -> FakeModel:
    return DroppingModel(folder)


# groups of near-synonyms: one axis per group, each word a little off its axis (its rank in the group)
GROUPS = [("quick", "fast", "rapid", "speedy"), ("brown", "tan", "beige"), ("fox", "wolf", "coyote"),
          ("jumps", "leaps", "hops"), ("lazy", "idle", "sluggish"), ("dog", "hound", "puppy"),
          ("river", "stream", "creek"), ("happy", "glad", "joyful"), ("day", "morning", "afternoon")]


def vectors_text() -> str:
    dims = len(GROUPS)
    lines = [f"{sum(map(len, GROUPS)) + 2} {dims}"]
    for g, words in enumerate(GROUPS):
        for r, w in enumerate(words):
            v = [0.0] * dims
            v[g] = 1.0
            v[(g + 1) % dims] = 0.1 * r  # within a group, rank order is cosine order
            lines.append(w + " " + " ".join(f"{x:.3f}" for x in v))
    lines.append("the " + " ".join(["0.300"] * dims))
    lines.append(", " + " ".join(["0.200"] * dims))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    VECTORS.write_text(vectors_text(), encoding="utf-8")
