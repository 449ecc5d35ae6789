import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from conftest import ROOT, make_dataset, photo, run_cli, tree_hashes
from PIL import Image


def manifest(out: Path) -> list[dict]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def files_on_disk(out: Path) -> set:
    return {p.relative_to(out).as_posix() for p in out.rglob("*")
            if p.is_file() and ".augcli" not in p.parts and p.name != "manifest.csv"}


def test_balance_and_val_split_counts_are_exact_and_stratified(dataset, tmp_path):
    out = tmp_path / "out"
    run_cli("image", dataset, out, "--copies", "1", "--balance", "--val-split", "0.34", "--seed", "3", check=0)
    rows = manifest(out)
    c = Counter((r["split"], r["label"], r["augmented"]) for r in rows)
    # cat: 6 -> 2 val, 4 train; dog: 3 -> 1 val, 2 train. target = max(4*2, 2*2) = 8 per class
    assert c[("val", "cat", "0")] == 2 and c[("val", "dog", "0")] == 1
    assert c[("train", "cat", "0")] == 4 and c[("train", "cat", "1")] == 4
    assert c[("train", "dog", "0")] == 2 and c[("train", "dog", "1")] == 6
    assert not [r for r in rows if r["split"] == "val" and r["augmented"] == "1"]  # val never augmented
    val_sources = {r["source"] for r in rows if r["split"] == "val"}
    assert not val_sources & {r["source"] for r in rows if r["split"] == "train"}
    assert files_on_disk(out) == {r["path"] for r in rows}
    assert all(r["status"] == "ok" for r in rows)
    # an ImageFolder layout
    assert sorted(p.name for p in (out / "train").iterdir()) == ["cat", "dog"]


def test_target_per_class_and_no_originals(dataset, tmp_path):
    out = tmp_path / "out"
    run_cli("image", dataset, out, "--target-per-class", "10", "--no-originals", check=0)
    c = Counter((r["label"], r["augmented"]) for r in manifest(out))
    assert c == {("cat", "1"): 10, ("dog", "1"): 10}


def test_same_seed_is_byte_identical_for_1_and_2_workers(dataset, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run_cli("run", ROOT / "examples" / "image.yaml", "--input", dataset, "--output", a, "--workers", "1", check=0)
    run_cli("run", ROOT / "examples" / "image.yaml", "--input", dataset, "--output", b, "--workers", "2", check=0)
    run_cli("run", ROOT / "examples" / "image.yaml", "--input", dataset, "--output", c, "--seed", "43", check=0)
    ha, hb = tree_hashes(a), tree_hashes(b)
    assert ha == hb and len(ha) > 10
    key = lambda r: r["path"]  # noqa: E731 - rows come in completion order
    assert sorted(manifest(a), key=key) == sorted(manifest(b), key=key)
    assert tree_hashes(c) != ha


def test_manifest_records_replayable_parameters(dataset, tmp_path):
    from augcli.recipe import load_config
    from augcli.transforms.image import Pipeline

    out = tmp_path / "out"
    run_cli("run", ROOT / "examples" / "image.yaml", "--input", dataset, "--output", out, "--format", "png",
            check=0)
    cfg = load_config(str(ROOT / "examples" / "image.yaml"), {})
    pipe = Pipeline(cfg.transforms)
    row = next(r for r in manifest(out) if r["augmented"] == "1")
    src = cv2.imread(str(dataset / row["source"]), cv2.IMREAD_UNCHANGED)
    img, ops = pipe(src, np.random.default_rng(int(row["seed"])))
    assert ops == json.loads(row["ops"])
    assert np.array_equal(img, cv2.imread(str(out / row["path"]), cv2.IMREAD_UNCHANGED))


def test_kill_9_then_resume_gives_a_complete_consistent_output(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 30, "b": 30}, size=(240, 320))
    out, ref = tmp_path / "out", tmp_path / "ref"
    args = ["image", src, out, "--copies", "4", "--workers", "2"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "augcli", *map(str, args), "--quiet"], env=env,
                         start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        m = out / "manifest.csv"
        if m.exists() and m.read_text().count("\n") > 40:
            break
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)  # the parent and its workers, mid-run
    p.wait()
    rows = manifest(out)
    assert 0 < len(rows) < 300, "the run was expected to be cut off mid-way"
    r = run_cli(*args, check=0)
    assert "already done" in r.stdout
    rows = manifest(out)
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 300  # exactly one row per output file
    assert set(paths) == files_on_disk(out)
    assert not [p for p in out.rglob("*") if ".augtmp" in p.name]  # no temp files left
    run_cli("image", src, ref, "--copies", "4", "--workers", "1", "--quiet", check=0)
    assert tree_hashes(out) == tree_hashes(ref)  # identical to an uninterrupted run
    again = run_cli(*args, check=0)  # idempotent: a finished run does nothing
    assert "0 written, 300 already done" in again.stdout


def test_corrupt_and_empty_files_fail_alone(dataset, tmp_path):
    (dataset / "cat" / "broken.jpg").write_bytes(Path(dataset / "cat" / "img000.jpg").read_bytes()[:500])
    (dataset / "dog" / "empty.png").write_bytes(b"")
    (dataset / "dog" / "text.png").write_bytes(b"this is not a png")
    out = tmp_path / "out"
    r = run_cli("image", dataset, out, "--copies", "2", check=1)
    rows = manifest(out)
    failed = {r["source"]: r["error"] for r in rows if r["status"] == "failed"}
    assert set(failed) == {"cat/broken.jpg", "dog/empty.png", "dog/text.png"}
    assert "truncated" in failed["cat/broken.jpg"] and "empty" in failed["dog/empty.png"]
    assert "cat/broken.jpg" in r.stdout
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 9 * 3 and files_on_disk(out) == {r["path"] for r in ok}


def test_decompression_bomb_is_refused(dataset, tmp_path):
    out = tmp_path / "out"
    run_cli("image", dataset, out, "--max-pixels", "1000", check=1)
    errors = {r["error"] for r in manifest(out)}
    assert all("over the limit of 1,000" in e for e in errors)


def test_refusals_exit_2_with_one_line(dataset, tmp_path):
    r = run_cli("image", dataset, dataset / "cat" / "out", check=2)
    assert "inside the input folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\ncat/img000.jpg,cat\n../../etc/passwd,dog\n")
    r = run_cli("image", "--csv", listing, dataset, tmp_path / "o", "--label-column", "label", check=2)
    assert "line 3" in r.stderr and "escapes the root" in r.stderr
    listing.write_text("path,label\ncat/img000.jpg,cat\nhttp://127.0.0.1:9/x.jpg,dog\n")  # a URL, a local root
    r = run_cli("image", "--csv", listing, dataset, tmp_path / "o", "--label-column", "label", check=2)
    assert "line 3" in r.stderr and "is a URL but the root" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: x\noutput: y\ntransforms:\n  - zoom: {range: fast}\n")
    r = run_cli("run", bad, check=2)
    assert "transforms[0].zoom.range: 'fast' has the wrong type" in r.stderr
    r = run_cli("validate", bad, check=2)
    assert "transforms[0].zoom.range" in r.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("x")
    r = run_cli("image", dataset, tmp_path / "busy", "--overwrite", check=2)
    assert "not written by augcli" in r.stderr and (tmp_path / "busy" / "mine.txt").exists()
    for fmt in ("gif", "wav"):  # the allowed formats are the modality's own
        r = run_cli("image", dataset, tmp_path / "o", "--format", fmt, check=2)
        assert r.stderr.strip().endswith(f"--format: '{fmt}' is not allowed; allowed: one of same, jpg, png, webp, tif, npy")


def test_changed_settings_need_overwrite(dataset, tmp_path):
    out = tmp_path / "out"
    run_cli("image", dataset, out, check=0)
    r = run_cli("image", dataset, out, "--copies", "3", check=2)
    assert "--overwrite" in r.stderr
    run_cli("image", dataset, out, "--copies", "3", "--overwrite", check=0)
    assert Counter(r["augmented"] for r in manifest(out))["1"] == 27


def test_csv_listing_with_labels(dataset, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("file,kind\ncat/img000.jpg,kitty\ncat/img001.jpg,kitty\ndog/img000.jpg,pup\n")
    out = tmp_path / "out"
    run_cli("image", "--csv", listing, "--path-column", "file", "--label-column", "kind", "--root", dataset,
            dataset, out, check=0)
    assert files_on_disk(out) == {"train/kitty/img000.jpg", "train/kitty/img000__aug0.jpg",
                                  "train/kitty/img001.jpg", "train/kitty/img001__aug0.jpg",
                                  "train/pup/img000.jpg", "train/pup/img000__aug0.jpg"}
    # the listing beside the data, one positional argument: the output
    (dataset / "list.csv").write_text(listing.read_text())
    out2 = tmp_path / "out2"
    run_cli("image", "--csv", dataset / "list.csv", "--path-column", "file", "--label-column", "kind", out2,
            check=0)
    assert files_on_disk(out2) == files_on_disk(out)


def test_flat_folder_and_name_collisions(tmp_path):
    src = tmp_path / "flat"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), photo(40, 50))
    cv2.imwrite(str(src / "a.png"), photo(40, 50, seed=1))
    out = tmp_path / "out"
    run_cli("image", src, out, "--format", "jpg", check=0)
    assert files_on_disk(out) == {"train/a_jpg.jpg", "train/a_jpg__aug0.jpg", "train/a_png.jpg",
                                  "train/a_png__aug0.jpg"}
    assert {r["label"] for r in manifest(out)} == {""}
    # one file is a flat dataset of one: variants of a single photo, same seeds as in a flat folder
    one = tmp_path / "one"
    run_cli("image", src / "a.jpg", one, "--copies", "3", check=0)
    assert files_on_disk(one) == {"train/a.jpg"} | {f"train/a__aug{k}.jpg" for k in range(3)}
    assert (one / "train/a.jpg").read_bytes() == (src / "a.jpg").read_bytes()
    r = run_cli("image", src / "a.jpg", src, check=2)  # an output holding the input file is refused
    assert "contains the input" in r.stderr
    (tmp_path / "notes.txt").write_text("x")
    r = run_cli("image", tmp_path / "notes.txt", tmp_path / "o", check=2)
    assert "neither a folder nor a file this modality reads" in r.stderr


def test_exif_orientation_is_applied_and_modes_kept(tmp_path):
    src = tmp_path / "in" / "x"
    src.mkdir(parents=True)
    rgb = photo(60, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(src / "rot.jpg", exif=exif.tobytes(), quality=95)
    cv2.imwrite(str(src / "grey.png"), photo(40, 40, channels=1))
    cv2.imwrite(str(src / "deep.png"), photo(40, 40, dtype=np.uint16))
    cv2.imwrite(str(src / "alpha.png"), photo(40, 40, channels=4))
    out = tmp_path / "out"
    run_cli("image", tmp_path / "in", out, check=0)
    for name in ("rot.jpg", "rot__aug0.jpg"):
        assert cv2.imread(str(out / "train/x" / name), cv2.IMREAD_UNCHANGED).shape == (100, 60, 3)
    for stem, shape, dtype in (("grey", (40, 40), np.uint8), ("deep", (40, 40, 3), np.uint16),
                               ("alpha", (40, 40, 4), np.uint8)):
        for name in (f"{stem}.png", f"{stem}__aug0.png"):
            a = cv2.imread(str(out / "train/x" / name), cv2.IMREAD_UNCHANGED)
            assert a.shape == shape and a.dtype == dtype, name
    assert (out / "train/x/grey.png").read_bytes() == (src / "grey.png").read_bytes()  # byte copy


def test_npy_output_with_rescale(dataset, tmp_path):
    out = tmp_path / "out"
    run_cli("image", dataset, out, "--format", "npy", "--rescale", str(1 / 255), check=0)
    a = np.load(out / "train/cat/img000.npy")
    src = cv2.imread(str(dataset / "cat/img000.jpg"))[:, :, ::-1]
    assert a.dtype == np.float32 and a.shape == src.shape
    assert np.allclose(a, src / 255.0, atol=1e-6)


def test_custom_step_runs_in_workers_and_is_recorded(dataset, tmp_path):
    (tmp_path / "myaug.py").write_text(
        "import numpy as np\n"
        "def invert(image, rng, amount=1.0):\n"
        "    return (255 - image).astype(image.dtype) if amount > 0 else image\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"input: {dataset}\noutput: {tmp_path / 'out'}\nformat: png\n"
                      "transforms:\n  - custom: {function: 'myaug:invert', amount: 2}\n")
    run_cli("run", recipe, "--workers", "2", cwd=tmp_path, check=0)
    rows = [r for r in manifest(tmp_path / "out") if r["augmented"] == "1"]
    ops = json.loads(rows[0]["ops"])
    assert isinstance(ops[0].pop("rng_seed"), int)  # the function's rng is seeded from the manifest
    assert ops == [{"name": "custom", "function": "myaug:invert", "amount": 2}]
    orig = cv2.imread(str(dataset / rows[0]["source"]))
    assert np.array_equal(cv2.imread(str(tmp_path / "out" / rows[0]["path"])), 255 - orig)
    recipe.write_text("input: a\noutput: b\ntransforms:\n  - custom: {function: 'nosuchmod:f'}\n")
    r = run_cli("validate", recipe, cwd=tmp_path, check=2)
    assert "cannot import module 'nosuchmod'" in r.stderr


def test_dry_run_writes_nothing(dataset, tmp_path):
    out = tmp_path / "out"
    r = run_cli("image", dataset, out, "--balance", "--val-split", "0.34", "--dry-run", check=0)
    assert not out.exists()
    assert "train  cat" in r.stdout and "val    dog" in r.stdout


def test_stats_per_channel(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    a = np.zeros((10, 10, 3), np.uint8)
    a[..., 2] = 255  # red in BGR
    b = np.zeros((10, 10, 3), np.uint8)
    cv2.imwrite(str(src / "a.png"), a)
    cv2.imwrite(str(src / "b.png"), b)
    r = run_cli("stats", src, "--json", check=0)
    st = json.loads(r.stdout)
    assert st["mean"] == [0.5, 0.0, 0.0] and st["std"] == [0.5, 0.0, 0.0]


def test_help_is_fast_enough_to_import_nothing_heavy():
    code = "import sys, augcli.cli; print([m for m in ('cv2', 'numpy', 'PIL', 'yaml') if m in sys.modules])"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert p.stdout.strip() == "[]"


def test_transforms_lists_every_step_and_help_has_examples():
    r = run_cli("transforms", "image", check=0)
    for name in ("hflip", "rotate", "shift", "shear", "zoom", "random_crop", "random_resized_crop", "center_crop",
                 "resize", "brightness", "contrast", "saturation", "hue", "channel_shift", "gamma", "grayscale",
                 "gaussian_noise", "gaussian_blur", "cutout", "custom", "one_of"):
        assert f"\n{name}" in "\n" + r.stdout
    from augcli.cli import app

    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"image", "audio", "text", "tabular", "run", "validate", "transforms", "stats", "preview",
            "report"} <= set(commands)
    for cmd in commands:  # every command, present and future
        assert "Example: augcli" in run_cli(cmd, "--help", check=0).stdout, cmd
    top = run_cli("--help", check=0).stdout
    assert "Example: augcli" in top and "--install-completion" in top
