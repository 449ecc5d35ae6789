"""The text plug-in steps (back_translation, paraphrase, word_embedding_replace): the user's model
or vectors on disk, never shipped nor downloaded. The plumbing is checked with the fake model of
text_fakes.py (hypothesis k = the sentence's words rotated by k + 1), and the CTranslate2 backend
with stand-in ctranslate2 / sentencepiece modules (no model can be fetched here)."""
import json
import sys
import types

import numpy as np
import pytest
from conftest import ROOT, run_cli
from text_fakes import CALLS, LOADS, VECTORS, rotate

from augcli.errors import RecipeError
from augcli.transforms.text import PyRng, Pipeline, STOP_WORDS, validate_steps
from augcli.transforms.text import backends

TEXT = "The quick brown fox jumps over the lazy dog. It was a happy day! We walked home. Call 555 now."
SENTS = ["The quick brown fox jumps over the lazy dog.", "It was a happy day!", "We walked home.", "Call 555 now."]
FAKE = "text_fakes:load"


def pipe(step, **cfg):
    return Pipeline(validate_steps([{step: cfg}], "transforms"))


def bt(**kw):
    return pipe("back_translation", model=str(ROOT / "tests"), back_model=str(ROOT / "sample_data"), backend=FAKE, **kw)


@pytest.mark.parametrize("fraction,n", [(1.0, 4), (0.5, 2), (0.0, 1)])
def test_back_translation_rewrites_the_drawn_sentences_through_both_models(fraction, n):
    p = bt(fraction=fraction)
    for seed in range(10):
        del CALLS[:]
        out, ops = p(TEXT, PyRng(seed))
        op = ops[0]
        # one batched call per model per text, forward then back, with the recorded seed
        assert [c[0] for c in CALLS] == [str(ROOT / "tests"), str(ROOT / "sample_data")]
        assert all(c[3] == op["seed"] and c[2] == 4 for c in CALLS)
        drawn = CALLS[0][1]
        assert len(drawn) == n
        new = dict((i, t) for i, _, t in op["sentences"])
        for i, (a, b), t in op["sentences"]:
            assert t == rotate(rotate(SENTS[i], a + 1), b + 1) != SENTS[i]  # the picks are what was used
        # "Call 555 now." rotated moves but keeps 555: allowed; the untouched sentences stay as they were
        assert out == " ".join(new.get(i, s) for i, s in enumerate(SENTS))
        assert op["model"] == str(ROOT / "tests") and op["back_model"] == str(ROOT / "sample_data")


def test_same_seed_same_text_and_the_copies_vary():
    p = bt()
    outs = [p(TEXT, PyRng(s))[0] for s in range(12)]
    assert outs == [p(TEXT, PyRng(s))[0] for s in range(12)]
    assert len(set(outs)) >= 8


def test_the_model_loads_once_per_process_not_per_text(tmp_path):
    folder = str(tmp_path)
    for _ in range(3):  # several pipelines (as a worker builds), many texts
        p = pipe("paraphrase", model=folder, backend=FAKE)
        for s in range(20):
            p(TEXT, PyRng(s))
    assert LOADS.count(folder) == 1


def test_a_sentence_that_loses_a_protected_token_is_kept():
    p = pipe("paraphrase", model=str(ROOT / "tests"), backend="text_fakes:load_dropping", n_best=2)
    for s in range(10):
        out, ops = p("Call 555 now. The fox ran away quickly.", PyRng(s))
        assert "Call 555 now." in out and all(i == 1 for i, _, _ in ops[0]["sentences"])


def test_paraphrase_sends_the_prefix_and_replays_without_the_model(monkeypatch):
    p = pipe("paraphrase", model=str(ROOT / "tests"), backend=FAKE, prefix="paraphrase: ", n_best=3)
    del CALLS[:]
    out, ops = p(TEXT, PyRng(5))
    assert all(t.startswith("paraphrase: ") for t in CALLS[0][1])
    monkeypatch.setattr(backends, "get_model", lambda *a: pytest.fail("apply must not run the model"))
    step = p.steps[0]
    params = json.loads(json.dumps({k: v for k, v in ops[0].items() if k != "name"}))
    assert step.apply(p.parse(TEXT), params).text() == out


# ---------------------------------------------------------------------------------------------
# refused at validation, before any work: one sentence naming the step and the folder
# ---------------------------------------------------------------------------------------------
def refused(step, **cfg):
    with pytest.raises(RecipeError) as e:
        validate_steps([{step: cfg}], "transforms")
    return str(e.value)


def test_missing_folder_missing_library_and_not_a_model(tmp_path, monkeypatch):
    msg = refused("paraphrase", model=str(tmp_path / "nope"))
    assert msg.startswith("transforms[0].paraphrase.model: ") and "nope" in msg and "is not a folder" in msg
    real = backends.importlib.util.find_spec
    monkeypatch.setattr(backends.importlib.util, "find_spec",
                        lambda m: None if m in ("ctranslate2", "sentencepiece") else real(m))
    msg = refused("back_translation", model=str(tmp_path), back_model=str(tmp_path))
    assert "needs ctranslate2 and sentencepiece, not installed, to run back_translation" in msg
    assert str(tmp_path) in msg and "pip install ctranslate2 sentencepiece" in msg
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda m: object())
    assert "is not a CTranslate2 model folder" in refused("paraphrase", model=str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"x")
    assert "has no SentencePiece files" in refused("paraphrase", model=str(tmp_path))
    (tmp_path / "spiece.model").write_bytes(b"x")
    validate_steps([{"paraphrase": {"model": str(tmp_path)}}], "transforms")  # a model folder: accepted


def test_bad_backends_are_refused(tmp_path):
    assert "allowed: auto, ctranslate2, or your loader" in refused("paraphrase", model=str(tmp_path), backend="torch")
    msg = refused("paraphrase", model=str(tmp_path), backend="no_such_module_x:load")
    assert msg.startswith("transforms[0].paraphrase.backend: cannot import module 'no_such_module_x'")
    assert "has no callable" in refused("paraphrase", model=str(tmp_path), backend="text_fakes:nothing")


# ---------------------------------------------------------------------------------------------
# the CTranslate2 backend, with stand-ins for the two libraries
# ---------------------------------------------------------------------------------------------
class StubSpm:
    def __init__(self, model_file):
        self.file = model_file

    def encode(self, text, out_type=str):
        return ["▁" + w for w in text.split()]

    def decode(self, pieces):
        return " ".join(p.lstrip("▁") for p in pieces) + f" <{self.file.rsplit('/', 1)[1]}>"


class StubTranslator:
    made = []

    def __init__(self, path, **kw):
        self.path, self.kw, self.batches = path, kw, []
        StubTranslator.made.append(self)

    def translate_batch(self, tokens, beam_size, num_hypotheses):
        self.batches.append((tokens, beam_size, num_hypotheses))
        return [types.SimpleNamespace(hypotheses=[[x for x in t[::-1] if x != "</s>"]] * num_hypotheses) for t in tokens]


@pytest.mark.parametrize("layout", ["opus", "argos"])
def test_ctranslate2_backend_tokenises_beams_and_detokenises(tmp_path, monkeypatch, layout):
    monkeypatch.setitem(sys.modules, "ctranslate2", types.SimpleNamespace(Translator=StubTranslator))
    monkeypatch.setitem(sys.modules, "sentencepiece", types.SimpleNamespace(SentencePieceProcessor=StubSpm))
    root = tmp_path / "model" if layout == "argos" else tmp_path
    root.mkdir(exist_ok=True)
    (root / "model.bin").write_bytes(b"x")
    files = ["sentencepiece.model"] if layout == "argos" else ["source.spm", "target.spm"]
    for f in files:
        (tmp_path / f).write_bytes(b"x")
    m = backends.CT2Model(str(tmp_path))
    tr = StubTranslator.made[-1]
    assert tr.path == str(root) and tr.kw == {"device": "cpu", "inter_threads": 1, "intra_threads": 1}
    out = m.translate(["hello big world", "hi"], n_best=3, seed=7)
    eos = ["</s>"] if layout == "opus" else []  # as Hugging Face's Marian tokenizer ends its inputs
    assert tr.batches == [([["▁hello", "▁big", "▁world"] + eos, ["▁hi"] + eos], 3, 3)]  # one batch, beam search
    tgt = files[-1]
    assert out == [[f"world big hello <{tgt}>"] * 3, [f"hi <{tgt}>"] * 3]


def test_validating_imports_no_model_library():
    import subprocess

    code = ("import sys; from augcli.transforms.text import validate_steps\n"
            "try:\n    validate_steps([{'paraphrase': {'model': '.'}}], 't')\nexcept Exception:\n    pass\n"
            "print([m for m in ('ctranslate2', 'sentencepiece', 'numpy') if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert p.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# word_embedding_replace
# ---------------------------------------------------------------------------------------------
def cosine_neighbours(word, k):
    lines = VECTORS.read_text().splitlines()[1:]
    vecs = {l.split()[0]: np.array(l.split()[1:], float) for l in lines}
    v = vecs[word]
    sims = {w: u @ v / np.linalg.norm(u) / np.linalg.norm(v) for w, u in vecs.items() if w != word and w.isalpha()}
    return sorted(sims, key=lambda w: -sims[w])[:k]


def test_word_embedding_replace_draws_among_the_cosine_nearest_keeping_case():
    p = pipe("word_embedding_replace", vectors=str(VECTORS), alpha=0.3, top_k=2)
    text = "Quick brown fox, 42 lazy DOG near the river."
    seen = set()
    for s in range(30):
        out, ops = p(text, PyRng(s))
        edits = ops[0]["edits"]
        assert len(edits) == int(0.3 * 9) and ops[0]["vectors"] == str(VECTORS)
        for i, new in edits:
            old = text.split()[i]
            core = old.strip(",.")
            assert core.lower() not in STOP_WORDS and not any(c.isdigit() for c in old)
            assert new.strip(",.").lower() in cosine_neighbours(core.lower(), 2)
            assert new.endswith(old[len(old.rstrip(",.")):])  # punctuation kept
            assert new[0].isupper() == core[0].isupper() and (new.isupper() == core.isupper() or len(core) == 1)
            seen.add(new.strip(",.").lower())
        assert "42" in out.split()
    assert {"fast", "tan", "idle", "hound", "stream"} <= seen


def test_word_embedding_min_cosine_and_glove_format_without_header(tmp_path):
    f = tmp_path / "glove.txt"
    f.write_text("\n".join(VECTORS.read_text().splitlines()[1:]) + "\n")
    p = pipe("word_embedding_replace", vectors=str(f), alpha=1.0, top_k=10, min_cosine=0.99)
    for seed in range(5):  # above 0.99: quick has only fast (0.995; rapid 0.981), fox only wolf
        assert p("quick fox", PyRng(seed))[0] == "fast wolf"
    p = pipe("word_embedding_replace", vectors=str(f), alpha=1.0, top_k=10, min_cosine=0.999)
    assert p("quick fox", PyRng(0)) == ("quick fox", [{"name": "word_embedding_replace", "vectors": str(f), "edits": []}])


def test_word_embedding_bad_files_are_refused(tmp_path):
    assert "is not a file" in refused("word_embedding_replace", vectors=str(tmp_path / "x.txt"))
    (tmp_path / "bad.txt").write_text("hello world\n")
    assert "is not a word-vectors file" in refused("word_embedding_replace", vectors=str(tmp_path / "bad.txt"))


# ---------------------------------------------------------------------------------------------
# through the CLI: a user's loader beside the recipe, 1 or 2 workers, the manifest's ops
# ---------------------------------------------------------------------------------------------
LOADER = '''
class Upper:
    def translate(self, texts, n_best, seed):
        return [[t.upper() + "!" * (k + 1) for k in range(n_best)] for t in texts]


def load(folder):
    return Upper()
'''


def test_cli_runs_a_plugin_step_the_same_with_1_or_2_workers(tmp_path):
    (tmp_path / "my_loader.py").write_text(LOADER)
    (tmp_path / "model").mkdir()
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    for i in range(6):
        (src / "a" / f"t{i}.txt").write_text(f"Text number {i} is short. It has two sentences.")
    (tmp_path / "r.yaml").write_text("modality: text\ntransforms:\n  - paraphrase: {model: model, backend: 'my_loader:load', "
                                     "fraction: 0.5, n_best: 3}\n")
    for w in ("1", "2"):
        run_cli("text", src, tmp_path / f"o{w}", "--recipe", "r.yaml", "--copies", "2", "--workers", w, "--seed", "3",
                cwd=tmp_path, check=0)
    a = sorted((tmp_path / "o1").rglob("*.txt"))
    assert len(a) == 18 and [p.read_bytes() for p in a] == [p.read_bytes() for p in sorted((tmp_path / "o2").rglob("*.txt"))]
    texts = {p.read_text() for p in a}
    assert any("IS SHORT.!" in t or "SENTENCES.!" in t for t in texts)
    man = (tmp_path / "o1" / "manifest.csv").read_text()
    assert "paraphrase" in man and "model" in man


def test_cli_refuses_a_missing_model_before_any_work(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "t.txt").write_text("Some text here.")
    (tmp_path / "r.yaml").write_text("modality: text\ntransforms:\n  - back_translation: {model: nope, back_model: nope}\n")
    p = run_cli("text", src, tmp_path / "out", "--recipe", tmp_path / "r.yaml", cwd=tmp_path)
    assert p.returncode == 2 and "back_translation.model: 'nope' is not a folder" in p.stderr
    assert not (tmp_path / "out").exists()
