"""Issue 13, the smaller items: preview's default file, report on an interrupted text table,
the report's sample rows, and originals written in the container their extension claims."""
import csv
import html.parser
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, make_dataset, run_cli


# --------------------------------------------------------------------------------------------
# audio: an MP3 named .wav
# --------------------------------------------------------------------------------------------
@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3")
def test_an_mp3_named_wav_is_written_as_a_real_wav_and_the_manifest_says_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    t = np.arange(22050) / 22050
    sf.write(src / "talk.mp3", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, format="MP3")
    (src / "talk.mp3").rename(src / "talk.wav")
    sf.write(src / "real.wav", (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050, subtype="PCM_16")
    i = sf.info(src / "talk.wav")
    assert i.format == "MP3"  # libsndfile detects the container from the content
    out = tmp_path / "out"
    run_cli("audio", src, out, "--seed", "1", check=0)
    data = (out / "train/talk.wav").read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    o = sf.info(out / "train/talk.wav")
    assert (o.format, o.frames, o.samplerate, o.channels) == ("WAV", i.frames, i.samplerate, i.channels)
    with open(out / "manifest.csv", newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    assert json.loads(rows["train/talk.wav"]["ops"]) == [{"name": "reencode", "from": "mp3"}]
    assert (out / "train/real.wav").read_bytes() == (src / "real.wav").read_bytes()  # a real WAV: byte copy
    assert json.loads(rows["train/real.wav"]["ops"]) == []


# --------------------------------------------------------------------------------------------
# preview without --out
# --------------------------------------------------------------------------------------------
def test_preview_without_out_names_the_file_after_the_input_and_never_overwrites(tmp_path):
    src = make_dataset(tmp_path / "photos", {"cat": 2, "dog": 1})
    work = tmp_path / "work"
    work.mkdir()
    p = run_cli("preview", "image", src, "--samples", "1", "--variants", "1", cwd=work, check=0)
    first = work / "preview-photos.png"
    assert p.stdout.strip() == "preview: preview-photos.png" and first.read_bytes()[:4] == b"\x89PNG"
    first.write_bytes(b"the user's own file")
    p = run_cli("preview", "image", src, "--samples", "1", "--variants", "1", cwd=work, check=0)
    assert p.stdout.strip() == "preview: preview-photos-2.png"
    assert first.read_bytes() == b"the user's own file"
    assert (work / "preview-photos-2.png").read_bytes()[:4] == b"\x89PNG"
    assert not (work / "preview.png").exists()


def test_default_preview_names(tmp_path):
    from augcli.inspection.preview import default_out
    from augcli.recipe import load_config

    (tmp_path / "clips").mkdir()
    cfg = load_config(None, {"modality": "audio", "input": str(tmp_path / "clips")}, require_io=False)
    assert default_out(cfg, folder=tmp_path) == tmp_path / "preview-clips.png"
    (tmp_path / "preview-clips_audio").mkdir()  # the variants of an earlier audio preview
    assert default_out(cfg, folder=tmp_path) == tmp_path / "preview-clips-2.png"
    cfg = load_config(str(ROOT / "examples/tabular.yaml"), {}, require_io=False)
    assert default_out(cfg, str(ROOT / "examples/tabular.yaml"), tmp_path) == tmp_path / "preview-tabular.png"
    (tmp_path / "wine.csv").write_text("a,b\n1,2\n")
    cfg = load_config(None, {"modality": "tabular", "input": str(tmp_path / "wine.csv")}, require_io=False)
    assert default_out(cfg, folder=tmp_path) == tmp_path / "preview-wine.png"


# --------------------------------------------------------------------------------------------
# report on a text table killed part-way
# --------------------------------------------------------------------------------------------
def test_report_on_an_interrupted_text_table_counts_the_finished_chunks(tmp_path):
    rng = np.random.default_rng(0)
    words = "the quick brown fox jumps over a lazy dog good bad film great plot".split()
    table = tmp_path / "big.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(20000):
            w.writerow([" ".join(rng.choice(words, 8)), "pos" if i % 3 else "neg"])
    out = tmp_path / "out"
    args = ["text", table, out, "--label-column", "label", "--copies", "4", "--val-split", "0.1", "--workers", "1",
            "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "augcli", *map(str, args)], env=env)
    parts = out / ".augcli" / "parts"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if parts.is_dir() and any(f.name.endswith(".json") for f in parts.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before its first chunk was seen"
    assert not (out / "manifest.csv").exists()
    done = 0
    for m in parts.glob("*.json"):
        s = json.loads(m.read_text())
        done += s.get("orig", 0) + s.get("aug", 0) + s.get("val", 0) + s.get("dropped", 0)
    planned = json.loads((out / ".augcli/run.json").read_text())["planned"]
    assert 0 < done < planned == 18000 * 5 + 2000
    p = run_cli("report", out, check=0)
    assert (f"INCOMPLETE: {done} of {planned} outputs done (interrupted text-table run; "
            "run the same command again to resume)") in p.stdout
    written = int(p.stdout.splitlines()[1].split()[0])
    counted = [l.split() for l in p.stdout.splitlines() if l.strip().startswith(("train ", "val "))]
    assert sum(int(l[2]) + int(l[3]) for l in counted) == written > 0
    assert {l[1] for l in counted} == {"pos", "neg"}
    run_cli(*args, check=0)  # resumed: then complete
    p = run_cli("report", out, check=0)
    assert f"complete: {planned} of {planned} outputs" in p.stdout


# --------------------------------------------------------------------------------------------
# report --html: a source's name heads its own row of thumbnails
# --------------------------------------------------------------------------------------------
class _Rows(html.parser.HTMLParser):
    """Per <div>, what it directly holds in order: ("text", data) and ("img", alt)."""

    def __init__(self):
        super().__init__()
        self.stack, self.rows = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            self.stack.append([])
        elif tag == "img" and self.stack:
            self.stack[-1].append(("img", dict(attrs).get("alt", "")))

    def handle_endtag(self, tag):
        if tag == "div" and self.stack:
            row = self.stack.pop()
            if any(kind == "img" for kind, _ in row):
                self.rows.append(row)

    def handle_data(self, data):
        if self.stack and data.strip():
            self.stack[-1].append(("text", data.strip()))


def test_report_html_puts_each_source_name_above_its_own_thumbnails(tmp_path):
    src = make_dataset(tmp_path / "in", {"cat": 2, "dog": 2}, size=(48, 64))
    out = tmp_path / "out"
    run_cli("image", src, out, "--copies", "2", "--workers", "1", check=0)
    page = tmp_path / "r.html"
    run_cli("report", out, "--html", page, check=0)
    parser = _Rows()
    parser.feed(page.read_text())
    assert len(parser.rows) == 4
    for row in parser.rows:
        first_img = next(i for i, (kind, _) in enumerate(row) if kind == "img")
        heading = [v for kind, v in row[:first_img] if kind == "text"]
        assert heading, f"no source name before the thumbnails: {row}"
        source = heading[0]
        stem = source.rsplit(".", 1)[0]
        alts = [v for kind, v in row if kind == "img"]
        assert alts[0] == f"train/{source}" and all(a.startswith(f"train/{stem}") for a in alts)
        assert source not in [v for kind, v in row[first_img:] if kind == "text"]
