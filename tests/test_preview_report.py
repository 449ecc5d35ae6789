"""preview shows what run writes; report counts what is on disk and says when a run is incomplete."""
import csv
import html.parser

from conftest import ROOT, make_dataset, run_cli

from augcli.inspection import preview as pv
from augcli.recipe import load_config


def test_image_preview_variants_are_the_bytes_a_run_writes_and_the_sheet_is_deterministic(tmp_path):
    src = make_dataset(tmp_path / "in", {"cat": 3, "dog": 2})
    recipe = ROOT / "examples/image.yaml"
    out = tmp_path / "run"
    run_cli("image", src, out, "--recipe", recipe, "--seed", "5", "--val-split", "0", "--copies", "3", check=0)
    cfg = load_config(str(recipe), {"input": str(src), "seed": 5, "val_split": 0.0}, require_io=False)
    made = pv._variants(cfg, 2, 3)
    assert len(made) == 2
    compared = 0
    for job, _, variants in made:
        for o, data, ops in variants:  # balance changes how many copies a run makes, never what copy k is
            assert (out / o.path).read_bytes() == data
            compared += 1
    assert compared == 6
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for p in (a, b):
        run_cli("preview", recipe, src, "--seed", "5", "--samples", "2", "--variants", "3", "--out", p, check=0)
    assert a.read_bytes() == b.read_bytes() and a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_preview_matches_the_run_and_writes_html(tmp_path):
    src = ROOT / "sample_data/text/examples.csv"
    out = tmp_path / "run"
    run_cli("text", src, out, "--copies", "2", "--seed", "3", check=0)
    with open(out / "train.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["aug_of"] == "0"]
    cfg = load_config(None, {"modality": "text", "input": str(src), "seed": 3}, require_io=False)
    (_, text, variants), = pv._text_samples(cfg, 1, 2)
    assert [v for v, _ in variants] == [r["text"] for r in rows]
    page = tmp_path / "p.html"
    p = run_cli("preview", "text", src, "--seed", "3", "--samples", "2", "--variants", "2", "--out", page, check=0)
    assert "variant 1" in p.stdout
    doc = page.read_text()
    html.parser.HTMLParser().feed(doc)
    assert doc.startswith("<!DOCTYPE html>") and "<mark>" in doc


def test_audio_and_tabular_previews(tmp_path):
    p = tmp_path / "a.png"
    run_cli("preview", ROOT / "examples/audio.yaml", "--samples", "1", "--variants", "2", "--out", p, check=0)
    assert p.read_bytes()[:4] == b"\x89PNG" and len(list((tmp_path / "a_audio").iterdir())) == 2
    t = tmp_path / "t.png"
    run_cli("preview", "tabular", ROOT / "sample_data/tabular/wine.csv", "--target", "cultivar", "--out", t, check=0)
    assert t.read_bytes()[:4] == b"\x89PNG"


def rows_of(out):
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_report_counts_equal_disk_html_is_self_contained_and_incomplete_runs_say_so(tmp_path):
    src = make_dataset(tmp_path / "in", {"cat": 5, "dog": 3})
    (src / "dog" / "broken.jpg").write_bytes(b"nope")
    out = tmp_path / "out"
    run_cli("image", src, out, "--copies", "2", "--val-split", "0.2", check=1)
    page = tmp_path / "r.html"
    p = run_cli("report", out, "--html", page, check=0)
    on_disk = {}
    for f in out.rglob("*.*"):
        if ".augcli" not in f.parts and f.name != "manifest.csv":
            split, label = f.relative_to(out).parts[:2]
            on_disk[(split, label)] = on_disk.get((split, label), 0) + 1
    for (split, label), n in on_disk.items():
        line = next(l for l in p.stdout.splitlines() if l.split()[:2] == [split, label])
        orig, aug, disk = map(int, line.split()[2:5])
        assert orig + aug == disk == n
    assert "complete: " in p.stdout and "INCOMPLETE" not in p.stdout
    assert "failures by reason" in p.stdout and "dog/broken.jpg" in p.stdout
    doc = page.read_text()
    html.parser.HTMLParser().feed(doc)
    assert "data:image/png;base64," in doc and "data:image/jpeg;base64," in doc
    assert "http://" not in doc and "https://" not in doc and "<script" not in doc
    # an interrupted run: the manifest lost its last rows (as if killed before they were written)
    lines = (out / "manifest.csv").read_text().splitlines(keepends=True)
    (out / "manifest.csv").write_text("".join(lines[:-4]))
    p = run_cli("report", out, check=0)
    assert "INCOMPLETE" in p.stdout and "resume" in p.stdout


def test_report_on_a_text_table_counts_the_rows_in_the_files(tmp_path):
    out = tmp_path / "t"
    run_cli("text", ROOT / "sample_data/text/examples.csv", out, "--label-column", "label", "--copies", "2",
            "--val-split", "0.2", check=0)
    p = run_cli("report", out, check=0)
    with open(out / "train.csv", newline="") as f:
        n_train = sum(1 for _ in csv.DictReader(f))
    lines = [l.split() for l in p.stdout.splitlines() if l.strip().startswith("train ")]
    assert sum(int(l[-1]) for l in lines) == n_train
    # a table cut short (rows lost) shows fewer rows on disk than the manifest lists
    text = (out / "train.csv").read_text().splitlines(keepends=True)
    (out / "train.csv").write_text("".join(text[:-10]))
    p = run_cli("report", out, check=0)
    lines = [l.split() for l in p.stdout.splitlines() if l.strip().startswith("train ")]
    assert sum(int(l[-1]) for l in lines) == n_train - 10
