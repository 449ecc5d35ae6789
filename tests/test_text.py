"""Text: each op changes what alpha says, leaves stop words and protected tokens alone, and the
table path keeps every other value byte for byte."""
import csv
import json
import re
from collections import Counter

import pytest
from conftest import ROOT, run_cli, tree_hashes

from augcli.errors import RecipeError
from augcli.transforms.text import STOP_WORDS, PyRng, Pipeline, validate_steps

SENT = ("The quick brown fox jumps over the lazy dog while the happy farmer watches his small "
        "garden grow under the bright summer sun")  # 22 words


def pipe(steps, **kw):
    return Pipeline(validate_steps(steps, "transforms"), **kw)


def words(t):
    return t.split()


def changed_positions(a, b):
    return [i for i, (x, y) in enumerate(zip(words(a), words(b))) if x != y]


@pytest.mark.parametrize("alpha", [0.1, 0.2, 0.5])
def test_synonym_replace_changes_alpha_of_the_words_never_stop_words(alpha):
    p = pipe([{"synonym_replace": {"alpha": alpha}}])
    n_words = len(words(SENT))
    for seed in range(20):
        out, ops = p(SENT, PyRng(seed))
        edits = ops[0]["edits"]
        assert len(edits) == max(1, int(alpha * n_words))
        for i, new in edits:
            old = words(SENT)[i]
            assert old.lower() not in STOP_WORDS and new != old
        # multi-word synonyms shift later words, so compare the edited positions through the ops
        assert out != SENT


def test_random_insert_adds_alpha_words_and_no_seed_is_a_stop_word():
    p = pipe([{"random_insert": {"alpha": 0.2}}])
    out, ops = p(SENT, PyRng(3))
    assert len(ops[0]["inserts"]) == int(0.2 * 22)
    from augcli.transforms.text import LEXICON

    lex = LEXICON.base()
    content = [w.lower() for w in words(SENT) if w.lower() not in STOP_WORDS]
    for _, w in ops[0]["inserts"]:  # every insertion is a synonym of a content word of the text
        assert any(w in lex.get(c, ()) for c in content)


def test_random_swap_and_delete_counts():
    out, ops = pipe([{"random_swap": {"alpha": 0.1}}])(SENT, PyRng(1))
    assert len(ops[0]["swaps"]) == 2 and sorted(words(out)) == sorted(words(SENT))
    dels = [len(pipe([{"random_delete": {"alpha": 0.3}}])(SENT, PyRng(s))[1][0]["deleted"]) for s in range(200)]
    assert abs(sum(dels) / len(dels) / 22 - 0.3) < 0.03  # each word deleted with probability alpha
    out, ops = pipe([{"random_delete": {"alpha": 1.0}}])("only two", PyRng(0))
    assert len(words(out)) == 1  # never every word


def test_protected_tokens_are_never_altered():
    text = ("Email me@example.com or visit https://example.com/a/b?x=1 now, @alice paid $20.50 "
            "on 2024-05-01 for item AB12 #deal, great price")
    protected = ["me@example.com", "https://example.com/a/b?x=1", "@alice", "$20.50", "2024-05-01", "AB12", "#deal,"]
    for steps in (["eda"], [{"synonym_replace": {"alpha": 1.0}}], [{"random_delete": {"alpha": 0.9}}],
                  [{"random_swap": {"alpha": 1.0}}], [{"char_noise": {"alpha": 1.0}}],
                  [{"word_shuffle": {"alpha": 1.0}}]):
        p = pipe(steps)
        for seed in range(10):
            out, _ = p(text, PyRng(seed))
            ws = words(out)
            for tok in protected:
                assert tok in ws, (steps, out)
                # protected tokens keep their place relative to each other
            assert [w for w in ws if w in protected] == protected
    out, _ = pipe([{"synonym_replace": {"alpha": 1.0}}], protect=[r"^great$"])("a great movie", PyRng(0))
    assert "great" in words(out)


def test_capitalisation_and_punctuation_survive_replacement():
    p = pipe([{"synonym_replace": {"alpha": 1.0}}])
    for seed in range(10):
        out, ops = p("Happy, QUICK movie!", PyRng(seed))
        for i, new in ops[0]["edits"]:
            old = ["Happy,", "QUICK", "movie!"][i]
            if old == "Happy,":
                assert new[0].isupper() and new.endswith(",")
            if old == "QUICK":
                assert new == new.upper()
            if old == "movie!":
                assert new.endswith("!")


def test_char_noise_word_and_sentence_shuffle():
    out, ops = pipe([{"char_noise": {"alpha": 0.2, "kinds": ["swap"]}}])(SENT, PyRng(0))
    assert len(ops[0]["typos"]) == 4 and len(changed_positions(SENT, out)) == 4
    for i, w in ops[0]["typos"]:
        assert sorted(w) == sorted(words(SENT)[i])  # a swap keeps the letters
    out, _ = pipe([{"word_shuffle": {"alpha": 1.0, "window": 3}}])(SENT, PyRng(2))
    a, b = words(SENT), words(out)
    for i in range(0, 22, 3):  # words only moved within their window of 3
        assert sorted(x.lower() for x in a[i:i + 3]) == sorted(x.lower() for x in b[i:i + 3])
    text = "First one. Second one! Third one? Fourth one."
    out, ops = pipe(["sentence_shuffle"])(text, PyRng(5))
    assert sorted(re.split(r"(?<=[.!?]) ", out)) == sorted(re.split(r"(?<=[.!?]) ", text))


@pytest.mark.parametrize("text", ["", "   ", "42 17 3.5", "😀 🎉 😀", "שלום עולם, זה טקסט בעברית",
                                  "word", "x " * 5000, "a\tb\nc", "...!!!"])
def test_weird_input_never_crashes(text):
    for st in ("eda", "synonym_replace", "random_insert", "random_swap", "random_delete", "word_shuffle",
               "sentence_shuffle", "char_noise"):
        out, _ = pipe([st])(text, PyRng(1))
        assert isinstance(out, str)


def test_recipe_errors():
    with pytest.raises(RecipeError, match="kinds"):
        validate_steps([{"char_noise": {"kinds": ["typo"]}}], "transforms")
    with pytest.raises(RecipeError, match="did you mean 'random_swap'"):
        validate_steps(["random_swp"], "transforms")


# --------------------------------------------------------------------------------------------
# tables and folders through the CLI
# --------------------------------------------------------------------------------------------
TRICKY = [
    ("r0", "The movie was great, I loved the acting!", "pos"),
    ("r1", 'She said "hello, world"\nand left, quickly.', "neg"),
    ("r2", "Paths like a/b/c and https://x.org/p/q survive; so do 1/2 and C:\\dir", "pos"),
    ("r3", "", "neg"),
    ("r4", "Terrible service, the food arrived cold and late", "neg"),
    ("r5", "An absolutely wonderful experience at the seaside hotel", "pos"),
]


def write_csv(path, rows, delim=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delim)
        w.writerow(["id", "text", "label", "note"])
        for i, t, l in rows:
            w.writerow([i, t, l, f"keep, this/{i} \"as is\""])
    return path


def read_csv(path, delim=","):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=delim))


def test_csv_round_trip_originals_unchanged_augmented_rows_marked(tmp_path):
    src = write_csv(tmp_path / "in.csv", TRICKY)
    out = tmp_path / "out"
    run_cli("text", src, out, "--label-column", "label", "--id-column", "id", "--copies", "2", "--seed", "4", check=0)
    rows = read_csv(out / "train.csv")
    orig = [r for r in rows if r["aug_of"] == ""]
    assert [(r["id"], r["text"], r["label"]) for r in orig] == TRICKY  # quotes, commas, newlines, slashes
    assert all(r["note"] == f"keep, this/{r['id']} \"as is\"" for r in rows)  # other columns carried
    aug = [r for r in rows if r["aug_of"] != ""]
    by_id = {i: (t, l) for i, t, l in TRICKY}
    for r in aug:
        assert r["aug_of"] == r["id"] and r["label"] == by_id[r["id"]][1]  # labels preserved
        assert r["text"] != by_id[r["id"]][0]
        assert json.loads(r["ops"])
    assert "a/b/c" in " ".join(r["text"] for r in aug if r["id"] == "r2")
    man = read_csv(out / "manifest.csv")
    ok = [m for m in man if m["status"] == "ok"]
    dropped = [m for m in man if m["status"] == "dropped"]
    assert len(ok) == len(rows) and len(ok) + len(dropped) == len(TRICKY) * 3
    assert {m["source"] for m in dropped} == {"in.csv:3"}  # the empty text cannot change
    assert "no words to augment" in dropped[0]["error"]
    for m in ok:  # the manifest path points at the row
        n = int(m["path"].split("#")[1])
        assert rows[n]["id"] == TRICKY[int(m["source"].split(":")[1])][0]


def test_tsv_and_jsonl_keep_their_format(tmp_path):
    src = write_csv(tmp_path / "in.tsv", TRICKY, "\t")
    run_cli("text", src, tmp_path / "t", "--copies", "1", check=0)
    assert read_csv(tmp_path / "t/train.tsv", "\t")[1]["text"] == TRICKY[1][1]
    j = tmp_path / "in.jsonl"
    j.write_text("".join(json.dumps({"text": t, "label": l, "n": k, "nested": {"a": [1]}}) + "\n"
                         for k, (_, t, l) in enumerate(TRICKY)) + "\n")
    run_cli("text", j, tmp_path / "j", "--label-column", "label", check=0)
    recs = [json.loads(x) for x in (tmp_path / "j/train.jsonl").read_text().splitlines()]
    assert recs[0] == {"text": TRICKY[0][1], "label": "pos", "n": 0, "nested": {"a": [1]}, "aug_of": None, "ops": None}
    aug = [r for r in recs if r["aug_of"] is not None]
    assert aug and all(r["nested"] == {"a": [1]} and isinstance(r["ops"], list) for r in aug)


def test_same_seed_same_output_with_1_or_2_workers_and_balance(tmp_path):
    rows = [(f"r{i}", f"Sentence number {i} tells a quick story about a happy dog and a brave cat", "a" if i % 4 else "b")
            for i in range(5000)]
    src = write_csv(tmp_path / "in.csv", rows)
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--label-column", "label", "--balance", "--val-split", "0.1", "--seed", "11"]
    run_cli("text", src, a, *args, "--workers", "1", check=0)
    run_cli("text", src, b, *args, "--workers", "2", check=0)
    for f in ("train.csv", "val.csv", "manifest.csv"):
        assert (a / f).read_bytes() == (b / f).read_bytes()
    train = read_csv(a / "train.csv")
    c = Counter(r["label"] for r in train)
    dropped = sum(1 for m in read_csv(a / "manifest.csv") if m["status"] == "dropped")
    assert c["a"] + c["b"] + dropped == 2 * 6750 and abs(c["a"] - c["b"]) <= dropped  # target 3375 * 2
    val = read_csv(a / "val.csv")
    assert Counter(r["label"] for r in val) == {"a": 375, "b": 125}  # stratified, exact


def test_interrupted_table_run_resumes_with_the_chunks_left(tmp_path):
    from augcli import texttable
    from augcli.outdir import prepare_output
    from augcli.recipe import load_config

    rows = [(f"r{i}", f"The happy dog number {i} runs quickly across the big green field", "a") for i in range(9000)]
    src = write_csv(tmp_path / "in.csv", rows)
    ref, out = tmp_path / "ref", tmp_path / "out"
    run_cli("text", src, ref, "--copies", "2", "--workers", "1", check=0)
    # a run that died after two of its five chunks: their parts and markers exist, nothing else,
    # plus a half-written temp file of a third chunk
    cfg = load_config(None, {"modality": "text", "input": str(src), "output": str(out), "copies": 2})
    plan = texttable.index(cfg)
    assert len(plan.chunks) == 5
    parts = prepare_output(cfg, plan) / ".augcli" / "parts"
    parts.mkdir()
    texttable.init_chunks(cfg, plan, str(parts))
    for chunk in plan.chunks[:2]:
        texttable.run_chunk(chunk)
    (parts / ".0000002.orig.augtmp123").write_bytes(b"half a row")
    assert not (out / "train.csv").exists() and not (out / "manifest.csv").exists()
    p = run_cli("text", src, out, "--copies", "2", check=0)
    assert "12000 already done" in p.stdout and "15000 written" in p.stdout  # 2 of 5 chunks x 2000 x 3
    for f in ("train.csv", "manifest.csv"):
        assert (out / f).read_bytes() == (ref / f).read_bytes()
    assert not parts.exists()
    p = run_cli("text", src, out, "--copies", "2", check=0)
    assert "0 written" in p.stdout and "already done" in p.stdout


def test_bad_tables_give_one_line_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\nfine,a\n\xff\xfe broken,b\n")
    p = run_cli("text", bad, tmp_path / "o1", check=2)
    assert "bad.csv: line 3" in p.stderr and "--encoding" in p.stderr
    run_cli("text", bad, tmp_path / "o1b", "--encoding", "latin-1", check=0)
    p = run_cli("text", write_csv(tmp_path / "x.csv", TRICKY), tmp_path / "o2", "--text-column", "body", check=2)
    assert "no text column 'body'" in p.stderr
    short = tmp_path / "short.csv"
    short.write_text("text,label\nok,a\nmissing\n")
    p = run_cli("text", short, tmp_path / "o3", "--label-column", "label", check=2)
    assert "line 3" in p.stderr and "fields" in p.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in run_cli("text", empty, tmp_path / "o4", check=2).stderr
    j = tmp_path / "x.jsonl"
    j.write_text('{"text": "a b c"}\n{"txt": "x"}\n')
    assert "line 2" in run_cli("text", j, tmp_path / "o5", check=2).stderr
    assert len(run_cli("text", j, tmp_path / "o5", check=2).stderr.strip().splitlines()) == 1


def test_folder_of_txt_files_and_user_lexicon(tmp_path):
    src = tmp_path / "in"
    (src / "pos").mkdir(parents=True)
    (src / "neg").mkdir()
    (src / "pos" / "a.txt").write_text("The zorblax was wonderful.\n", encoding="utf-8")
    (src / "neg" / "b.txt").write_text("A dull and boring zorblax.\n", encoding="utf-8")
    lex = tmp_path / "lex.tsv"
    lex.write_text("zorblax\tgadget, widget\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"modality: text\nlexicon: {lex}\nlexicon_mode: replace\n"
                      "transforms:\n  - synonym_replace: {alpha: 1.0}\n")
    out = tmp_path / "out"
    run_cli("text", src, out, "--recipe", recipe, "--copies", "1", check=0)
    assert (out / "train/pos/a.txt").read_bytes() == (src / "pos/a.txt").read_bytes()
    assert (out / "train/pos/a__aug0.txt").read_text() in ("The gadget was wonderful.\n", "The widget was wonderful.\n")
    assert "zorblax" not in (out / "train/neg/b__aug0.txt").read_text()
    a = tree_hashes(out)
    run_cli("text", src, tmp_path / "again", "--recipe", recipe, "--copies", "1", "--workers", "1", check=0)
    assert tree_hashes(tmp_path / "again") == a


def test_sample_data_eda(tmp_path):
    out = tmp_path / "out"
    run_cli("text", ROOT / "sample_data/text/examples.csv", out, "--label-column", "label", "--copies", "4",
            "--recipe", ROOT / "examples/text.yaml", check=0)
    rows = read_csv(out / "train.csv")
    assert len({r["aug_of"] for r in rows if r["aug_of"]}) > 10
