"""s3:// INPUT, OUTPUT and --csv against a real S3 API server on localhost (moto's standalone
server, started here as s3fs' own tests do; `make test` installs it with the s3 extra): the same
bytes as a local run, local disk -> S3, S3 -> S3 on a 2-worker Dask cluster, a client killed with
kill -9 then resumed, and one clear line (exit 2) for wrong credentials or a missing bucket."""
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_dataset, photo, popen, run_cli, tree_hashes

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'augcli[s3]' (make test installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(env_extra: dict | None = None):
    """A moto S3 server subprocess on a free port: (process, endpoint URL); skips if it cannot start."""
    port = _free_port()
    env = dict(os.environ, **(env_extra or {}))
    try:
        p = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as e:
        pytest.skip(f"moto's S3 server cannot start ({e}): pip install 'moto[server]' (make test installs it)")
    t0 = time.time()
    while time.time() - t0 < 30:
        if p.poll() is not None:
            pytest.skip("moto's S3 server exited at start: pip install 'moto[server]' (make test installs it)")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    p.kill()
    pytest.skip("moto's S3 server did not answer within 30 s")


@pytest.fixture(scope="module")
def s3():
    """(endpoint URL, an s3fs filesystem on it) with a bucket `bkt`; credentials in the environment."""
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)
    p, url = _server()
    fs = s3fs.S3FileSystem(endpoint_url=url, skip_instance_cache=True)
    fs.mkdir("bkt")
    try:
        yield url, fs
    finally:
        p.terminate()
        p.wait(10)
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _opt(url):
    return ["--storage-option", f"endpoint_url={url}"]


def _objects(fs, prefix: str) -> dict:
    """rel path -> bytes of every object under prefix (the hidden .augcli state left out)."""
    keys = fs.find(prefix)
    return {k[len(prefix) + 1:]: fs.cat_file(k) for k in keys if "/.augcli/" not in k}


def _local(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".augcli" not in p.parts}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("s3data")
    src = make_dataset(root / "in", {"cat": 5, "dog": 3})
    ref = root / "ref"
    run_cli("image", src, ref, "--copies", "2", "--seed", "4", "--val-split", "0.25", "--workers", "2", check=0)
    return src, _local(ref)


def test_local_to_s3_same_bytes_as_local(s3, data):
    url, fs = s3
    src, ref = data
    p = run_cli("image", src, "s3://bkt/l2s", "--copies", "2", "--seed", "4", "--val-split", "0.25", "--workers", "2",
                *_opt(url), check=0)
    assert "20 written" in p.stdout
    got = _objects(fs, "bkt/l2s")
    assert got == ref  # every image and the manifest, byte for byte
    assert not fs.find("bkt/l2s/.augcli/journal")  # the journal's parts were joined and removed
    again = run_cli("image", src, "s3://bkt/l2s", "--copies", "2", "--seed", "4", "--val-split", "0.25", *_opt(url),
                    check=0)
    assert "0 written, 20 already done" in again.stdout  # a finished run is a no-op


def test_s3_to_s3_on_a_dask_cluster_and_csv_listing(s3, data, tmp_path):
    pytest.importorskip("distributed", reason="distributed is not installed: pip install 'augcli[dask]'")
    url, fs = s3
    src, ref = data
    fs.put(str(src), "bkt/in", recursive=True)
    assert len(fs.find("bkt/in")) == 8
    run_cli("image", "s3://bkt/in", "s3://bkt/s2s", "--copies", "2", "--seed", "4", "--val-split", "0.25",
            "--scheduler", "local", "--workers", "2", *_opt(url), check=0)
    assert _objects(fs, "bkt/s2s") == ref
    # a CSV listing in the bucket, paths relative to --root
    rows = "path,label\n" + "".join(f"{p.relative_to(src).as_posix()},{p.parent.name}\n"
                                    for p in sorted(src.rglob("*.jpg")))
    fs.pipe_file("bkt/lists/list.csv", rows.encode())
    run_cli("image", "--csv", "s3://bkt/lists/list.csv", "--root", "s3://bkt/in", "--label-column", "label",
            "s3://bkt/fromcsv", "--copies", "1", *_opt(url), check=0)
    m = list(csv.DictReader(io.StringIO(fs.cat_file("bkt/fromcsv/manifest.csv").decode())))
    assert len(m) == 16 and {r["source"].split("/")[0] for r in m} == {"cat", "dog"}
    assert all(fs.exists(f"bkt/fromcsv/{r['path']}") for r in m)


def test_client_killed_then_resumed(s3, tmp_path):
    url, fs = s3
    src = tmp_path / "many"
    import cv2

    for c in "ab":
        (src / c).mkdir(parents=True)
        for i in range(60):
            cv2.imwrite(str(src / c / f"{i}.png"), photo(240, 320, seed=ord(c) * 100 + i))
    args = ["image", src, "s3://bkt/killed", "--copies", "3", "--seed", "2", "--workers", "2", *_opt(url)]
    p = popen(*args)
    t0 = time.time()
    while time.time() - t0 < 60 and p.poll() is None and not fs.find("bkt/killed/.augcli/journal"):
        time.sleep(0.02)
        fs.invalidate_cache()
    if p.poll() is not None:
        pytest.fail(f"the run ended before a journal part was written: {p.communicate()}")
    p.send_signal(signal.SIGKILL)  # the client only: its pool's workers die with it (they watch their parent)
    p.wait()
    fs.invalidate_cache()
    assert fs.exists("bkt/killed/.augcli/lock")  # left by the killed client
    r = run_cli(*args, check=0)
    assert "taking over the lock" in r.stderr
    done = int(r.stdout.split(" already done")[0].rsplit(" ", 1)[1])
    assert done > 0
    fs.invalidate_cache()
    ref = tmp_path / "ref"
    run_cli("image", src, ref, "--copies", "3", "--seed", "2", "--workers", "1", check=0)
    assert _objects(fs, "bkt/killed") == _local(ref)  # no duplicate, no missing file, same manifest
    assert not fs.find("bkt/killed/.augcli/journal") and not fs.exists("bkt/killed/.augcli/lock")


def test_missing_bucket_and_wrong_credentials_one_line(s3, data, tmp_path):
    url, fs = s3
    src, _ = data
    p = run_cli("image", src, "s3://nosuchbucket/out", *_opt(url))
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "s3://nosuchbucket/out" in err[0] and "bucket does not exist" in err[0], p.stderr
    p = run_cli("image", "s3://bkt/nothing-here", tmp_path / "o", *_opt(url))
    assert p.returncode == 2 and "no objects under this prefix" in p.stderr
    # a server that checks credentials: the keys in the environment are not known to it
    srv, auth_url = _server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        p = run_cli("image", src, "s3://bkt/denied", *_opt(auth_url))
        assert p.returncode == 2
        err = p.stderr.strip().splitlines()
        assert len(err) == 1 and "access denied" in err[0] and "s3://bkt/denied" in err[0], p.stderr
        p = run_cli("image", "s3://bkt/in", tmp_path / "o2", *_opt(auth_url))
        assert p.returncode == 2 and "access denied" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    finally:
        srv.terminate()
        srv.wait(10)


def test_storage_option_is_validated(tmp_path):
    p = run_cli("image", tmp_path, tmp_path / "o", "--storage-option", "novalue")
    assert p.returncode == 2 and "is not KEY=VALUE" in p.stderr


def test_text_folder_s3_to_s3_same_bytes(s3, tmp_path):
    url, fs = s3
    src = tmp_path / "txt"
    for c, words in (("pos", "a fine and lovely day in the park"), ("neg", "a dull and grey day at the office")):
        (src / c).mkdir(parents=True)
        for i in range(3):
            (src / c / f"{i}.txt").write_text(f"{words} number {i}\n")
    run_cli("text", src, tmp_path / "ref", "--copies", "2", "--seed", "7", check=0)
    fs.put(str(src), "bkt/txt", recursive=True)
    run_cli("text", "s3://bkt/txt", "s3://bkt/txtout", "--copies", "2", "--seed", "7", *_opt(url), check=0)
    assert _objects(fs, "bkt/txtout") == _local(tmp_path / "ref")


ROOT = Path(__file__).resolve().parent.parent
DET = ROOT / "sample_data" / "detection"


@pytest.mark.parametrize("how", ["yolo", "coco"])
def test_detection_dataset_at_a_url_same_bytes(s3, tmp_path, how):
    """A YOLO dataset (images/ + labels/ + data.yaml) or images + a COCO file (--coco s3://...) in the
    bucket, written to the bucket: the bytes of the same run on disk (labels, data.yaml, COCO JSON)."""
    url, fs = s3
    prefix = f"bkt/det-{how}"
    fs.put(str(DET / "images"), f"{prefix}/images", recursive=True)
    opts = ["--copies", "2", "--seed", "3", "--val-split", "0.2", "--workers", "2"]
    if how == "yolo":
        fs.put(str(DET / "labels"), f"{prefix}/labels", recursive=True)
        fs.put_file(str(DET / "data.yaml"), f"{prefix}/data.yaml")
        local_in, remote_in, extra_l, extra_r = DET, f"s3://{prefix}", [], []
    else:
        fs.put_file(str(DET / "coco.json"), f"{prefix}/coco.json")
        local_in, remote_in = DET / "images", f"s3://{prefix}/images"
        extra_l, extra_r = ["--coco", DET / "coco.json"], ["--coco", f"s3://{prefix}/coco.json"]
    run_cli("image", local_in, tmp_path / "ref", *opts, *extra_l, check=0)
    ref = _local(tmp_path / "ref")
    assert any(k.startswith("labels/") or k.startswith("annotations/") for k in ref)
    p = run_cli("image", remote_in, f"s3://{prefix}-out", *opts, *extra_r, *_opt(url), check=0)
    assert "written" in p.stdout
    fs.invalidate_cache()
    got = _objects(fs, f"{prefix}-out")
    assert got == ref
    again = run_cli("image", remote_in, f"s3://{prefix}-out", *opts, *extra_r, *_opt(url), check=0)
    assert " 0 written" in again.stdout and "already done" in again.stdout


def test_voc_dataset_with_masks_at_a_url_same_bytes(s3, tmp_path):
    """Pascal VOC (JPEGImages/ + Annotations/ + SegmentationClass/ + ImageSets/) S3 -> S3."""
    from test_voc import make_voc

    url, fs = s3
    src = make_voc(tmp_path / "voc")
    fs.put(str(src), "bkt/voc", recursive=True)
    opts = ["--copies", "2", "--seed", "8"]
    run_cli("image", src, tmp_path / "ref", *opts, check=0)
    ref = _local(tmp_path / "ref")
    assert any(k.startswith("SegmentationClass/") for k in ref) and any(k.startswith("ImageSets/") for k in ref)
    run_cli("image", "s3://bkt/voc", "s3://bkt/voc-out", *opts, *_opt(url), check=0)
    fs.invalidate_cache()
    assert _objects(fs, "bkt/voc-out") == ref


def test_what_cannot_run_at_a_url_is_refused_in_one_line(s3, tmp_path):
    url, fs = s3
    fs.pipe_file("bkt/tables/t.csv", b"text,label\nhello there,a\n")
    for args, why in ((["tabular", "s3://bkt/tables/t.csv", tmp_path / "o3.csv", "--target", "label"],
                       "tabular runs cannot use a URL yet"),):
        p = run_cli(*args, *(_opt(url) if args[0] != "tabular" else []))  # tabular runs here only: no option
        assert p.returncode == 2 and why in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_audio_noise_folder_at_a_url(s3, tmp_path):
    """A background-noise folder in the bucket: the same bytes as the same folder on disk."""
    import numpy as np
    import soundfile as sf

    url, fs = s3
    rng = np.random.default_rng(0)
    src, noise = tmp_path / "clips", tmp_path / "noise"
    for d, n in ((src / "a", 3), (noise, 2)):
        d.mkdir(parents=True)
        for i in range(n):
            sf.write(str(d / f"{i}.wav"), (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
    fs.put(str(noise), "bkt/noise", recursive=True)
    recipe = "modality: audio\ntransforms:\n  - background_noise: {folder: %s, snr_db: [5, 10], p: 1}\n"
    (tmp_path / "local.yaml").write_text(recipe % noise)
    (tmp_path / "remote.yaml").write_text(recipe % "s3://bkt/noise")
    run_cli("run", tmp_path / "local.yaml", "--input", src, "--output", tmp_path / "o1", "--copies", "2", check=0)
    run_cli("run", tmp_path / "remote.yaml", "--input", src, "--output", tmp_path / "o2", "--copies", "2",
            *_opt(url), check=0)
    assert _local(tmp_path / "o1") == _local(tmp_path / "o2")
    p = run_cli("run", tmp_path / "remote.yaml", "--input", src, "--output", tmp_path / "o3",
                "--storage-option", "endpoint_url=http://127.0.0.1:9")  # nothing listens there
    assert p.returncode == 2 and "background_noise" in p.stderr and "s3://bkt/noise" in p.stderr


def test_inspection_commands_refuse_a_url_in_one_line():
    for args in (["preview", "image", "s3://bkt/in"], ["stats", "s3://bkt/in"], ["report", "s3://bkt/out"]):
        p = run_cli(*args)
        assert p.returncode == 2 and "cannot read a URL yet" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_text_table_s3_to_s3_same_bytes_and_resume(s3, tmp_path):
    """A CSV in the bucket, read in chunks by ranged reads, parts in the bucket joined at the end."""
    pytest.importorskip("distributed", reason="distributed is not installed: pip install 'augcli[dask]'")
    url, fs = s3
    words = "the quick brown fox jumps over a lazy dog while the cat sleeps in the warm sun".split()
    rows = ["text,label"] + [f"{' '.join(words[i % 7:i % 7 + 8])} {i},{'ab'[i % 2]}" for i in range(4500)]
    table = tmp_path / "t.csv"
    table.write_text("\n".join(rows) + "\n")
    fs.put_file(str(table), "bkt/tt/t.csv")
    opts = ["--label-column", "label", "--copies", "2", "--seed", "5", "--val-split", "0.1"]
    run_cli("text", table, tmp_path / "ref", *opts, check=0)
    ref = _local(tmp_path / "ref")
    assert set(ref) == {"train.csv", "val.csv", "manifest.csv"}
    run_cli("text", "s3://bkt/tt/t.csv", "s3://bkt/ttout", *opts, *_opt(url), "--workers", "2", check=0)
    assert _objects(fs, "bkt/ttout") == ref
    assert not fs.find("bkt/ttout/.augcli/parts")
    again = run_cli("text", "s3://bkt/tt/t.csv", "s3://bkt/ttout", *opts, *_opt(url), check=0)
    assert " 0 written" in again.stdout and "already done" in again.stdout
    # the chunks on a 2-worker Dask cluster
    run_cli("text", "s3://bkt/tt/t.csv", "s3://bkt/ttdask", *opts, *_opt(url), "--scheduler", "local",
            "--workers", "2", check=0)
    assert _objects(fs, "bkt/ttdask") == ref


def test_storage_options_from_the_command_line_and_a_recipe(tmp_path):
    from augcli.recipe import build_config

    cfg = build_config({}, {"input": "s3://b/in", "output": "s3://b/out",
                            "storage_options": ["endpoint_url=http://h:9000", "anon=true", "max_concurrency=4"]})
    assert cfg.storage_options == {"endpoint_url": "http://h:9000", "anon": True, "max_concurrency": 4}
    cfg = build_config({"input": "s3://b/in", "output": "s3://b/out",
                        "storage_options": {"client_kwargs": {"region_name": "eu-west-1"}}})
    assert cfg.storage_options == {"client_kwargs": {"region_name": "eu-west-1"}}
    from augcli.errors import RecipeError

    with pytest.raises(RecipeError, match="not a mapping"):
        build_config({"input": "a", "output": "b", "storage_options": 3})


def test_foreign_prefix_refused_and_overwrite_clears_only_augcli_output(s3, data):
    url, fs = s3
    src, ref = data
    fs.pipe_file("bkt/foreign/keep.txt", b"not augcli's")
    p = run_cli("image", src, "s3://bkt/foreign", *_opt(url))
    assert p.returncode == 2 and "was not written by augcli" in p.stderr
    assert fs.cat_file("bkt/foreign/keep.txt") == b"not augcli's"
    run_cli("image", src, "s3://bkt/ow", "--copies", "1", *_opt(url), check=0)
    p = run_cli("image", src, "s3://bkt/ow", "--copies", "2", "--seed", "4", "--val-split", "0.25", *_opt(url))
    assert p.returncode == 2 and "other settings" in p.stderr  # a run with other settings is not mixed in
    run_cli("image", src, "s3://bkt/ow", "--copies", "2", "--seed", "4", "--val-split", "0.25", "--overwrite",
            *_opt(url), check=0)
    fs.invalidate_cache()
    assert _objects(fs, "bkt/ow") == ref  # the first run's files are gone, the new run's are there
