"""Input discovery: symlinked folders and loops (issue 13, item 2), non-regular files (item 7)."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_dataset, run_cli


def sources(out: Path) -> list:
    with open(out / "manifest.csv", newline="") as f:
        return sorted(r["source"] for r in csv.DictReader(f) if r["augmented"] == "0")


def run_limited(*args, timeout=60):
    """The CLI in a subprocess that may not hang: a FIFO opened for reading blocks forever."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        return subprocess.run([sys.executable, "-m", "augcli", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"augcli {' '.join(map(str, args))} still running after {timeout} s (it hangs)")


SIX = ["a/img000.jpg", "a/img001.jpg", "a/img002.jpg", "b/img000.jpg", "b/img001.jpg", "b/img002.jpg"]


@pytest.mark.parametrize("name,target", [("loop", ".."), ("self", ".")])
@pytest.mark.parametrize("follow", [False, True])
def test_a_symlink_loop_is_not_followed(tmp_path, name, target, follow):
    src = make_dataset(tmp_path / "in", {"a": 3, "b": 3}, size=(24, 32))
    (src / "a" / name).symlink_to(target)
    out = tmp_path / "out"
    p = run_limited("image", src, out, "--workers", "1", *(["--follow-links"] if follow else []))
    assert p.returncode == 0, p.stderr
    assert sources(out) == SIX  # not 492 (a/loop -> ..) or 252 (a/self -> .)
    warned = [line for line in p.stderr.splitlines() if line.startswith("warning:") and f"a/{name}" in line]
    assert len(warned) == 1, p.stderr
    assert ("already read" if follow else "pass --follow-links") in warned[0]


def test_a_symlinked_class_folder_is_skipped_unless_follow_links(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 2}, size=(24, 32))
    make_dataset(tmp_path / "elsewhere", {"c": 2}, size=(24, 32))
    (src / "c").symlink_to(tmp_path / "elsewhere" / "c")
    (src / "a" / "linked.jpg").symlink_to(tmp_path / "elsewhere" / "c" / "img000.jpg")  # a symlinked file is read
    p = run_limited("image", src, tmp_path / "o1", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert sources(tmp_path / "o1") == ["a/img000.jpg", "a/img001.jpg", "a/linked.jpg"]
    assert "warning: " in p.stderr and "c is a symlinked folder, not followed; pass --follow-links" in p.stderr
    p = run_limited("image", src, tmp_path / "o2", "--workers", "1", "--follow-links")
    assert p.returncode == 0, p.stderr
    assert sources(tmp_path / "o2") == ["a/img000.jpg", "a/img001.jpg", "a/linked.jpg", "c/img000.jpg", "c/img001.jpg"]
    assert "warning" not in p.stderr


def test_follow_links_reads_a_folder_once_through_its_real_path(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 2, "b": 2}, size=(24, 32))
    (src / "0dup").symlink_to("b")  # sorts first, but the real folder b keeps the files
    p = run_limited("image", src, tmp_path / "o", "--workers", "1", "--follow-links")
    assert p.returncode == 0, p.stderr
    assert sources(tmp_path / "o") == ["a/img000.jpg", "a/img001.jpg", "b/img000.jpg", "b/img001.jpg"]
    assert "0dup links to a folder already read" in p.stderr


def test_an_input_root_that_is_a_symlink_is_followed(tmp_path):
    make_dataset(tmp_path / "in", {"a": 3, "b": 3}, size=(24, 32))
    (tmp_path / "link").symlink_to(tmp_path / "in")
    p = run_limited("image", tmp_path / "link", tmp_path / "out", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert sources(tmp_path / "out") == SIX and "warning" not in p.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_or_broken_link_with_an_image_extension_is_skipped_not_opened(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 3, "b": 3}, size=(24, 32))
    os.mkfifo(src / "a" / "x.jpg")
    (src / "b" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    p = run_limited("image", src, tmp_path / "out", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert sources(tmp_path / "out") == SIX
    warned = [line for line in p.stderr.splitlines() if "non-regular" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: ") and "skipped 2 non-regular files" in warned[0]
    assert "a/x.jpg (a FIFO)" in warned[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_csv_listing_naming_a_fifo_is_an_error_and_a_missing_file_fails_as_before(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 2}, size=(24, 32))
    os.mkfifo(src / "a" / "x.jpg")
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\na/img000.jpg,a\na/x.jpg,b\n")
    opts = ("--label-column", "label", "--root", src, "--workers", "1")
    p = run_limited("image", "--csv", listing, tmp_path / "o1", *opts)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == (f"augcli: error: {listing}: line 3: 'a/x.jpg' is a FIFO, not a regular file; "
                                "list files only")
    listing.write_text("path,label\na/img000.jpg,a\na/missing.jpg,b\n")
    p = run_limited("image", "--csv", listing, tmp_path / "o2", *opts)
    assert p.returncode == 1 and "a/missing.jpg: file not found" in p.stdout + p.stderr


def test_a_text_folder_with_a_fifo_does_not_hang(tmp_path):
    src = tmp_path / "notes"
    src.mkdir()
    (src / "one.txt").write_text("the quick brown fox jumps over the lazy dog\n")
    os.mkfifo(src / "two.txt")
    p = run_limited("text", src, tmp_path / "out", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert "skipped 1 non-regular file" in p.stderr
    run_cli("report", tmp_path / "out", check=0)


def test_an_input_named_like_an_augmented_copy_is_refused(tmp_path):
    """x__aug1.jpg beside x.jpg with 2 copies: both would be written as train/x__aug1.jpg."""
    import shutil

    src = make_dataset(tmp_path / "in", {"a": 1})
    shutil.copy(src / "a" / "img000.jpg", src / "a" / "img000__aug1.jpg")
    p = run_cli("image", src, tmp_path / "o", "--copies", "2")
    assert p.returncode == 2 and "a/img000__aug1.jpg: named like augcli's copy 1 of a/img000.jpg" in p.stderr
    assert not (tmp_path / "o").exists()
    run_cli("image", src, tmp_path / "o1", "--copies", "1", check=0)  # copy 0 only: no clash
    assert sorted(p.name for p in (tmp_path / "o1" / "train" / "a").iterdir()) == [
        "img000.jpg", "img000__aug0.jpg", "img000__aug1.jpg", "img000__aug1__aug0.jpg"]


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8 needs a POSIX filesystem")
def test_a_file_name_that_is_not_utf8_is_skipped_with_a_warning(tmp_path):
    from augcli.sources import discover_folder

    (tmp_path / "in" / "cat").mkdir(parents=True)
    for name in (b"ok.png", b"bad\xff.png"):
        with open(os.path.join(os.fsencode(tmp_path / "in" / "cat"), name), "wb") as f:
            f.write(b"x")
    items, warnings = discover_folder(tmp_path / "in", {".png"})
    assert [it.source for it in items] == ["cat/ok.png"]
    assert len(warnings) == 1 and "not valid UTF-8" in warnings[0] and "bad\\udcff.png" in warnings[0]
