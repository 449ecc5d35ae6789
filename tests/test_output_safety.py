"""What an adversarial user does to an output: two runs at once, a damaged manifest, a full or
read-only disk, other worker counts. Each test reproduces a failure seen on the code before."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_dataset, popen, run_cli, tmpfs, tree_hashes

from augcli.lock import OutputLock


def whole_manifest(out: Path) -> list[dict]:
    """The manifest's rows, asserting it is whole: no NUL bytes, every row complete, files on disk."""
    raw = (out / "manifest.csv").read_bytes()
    assert b"\x00" not in raw and raw.endswith(b"\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    for r in rows:
        assert None not in r and r["status"] in ("ok", "failed", "dropped"), r
        if r["status"] == "ok" and "#" not in r["path"]:
            assert (out / r["path"]).is_file(), r["path"]
    return rows


def text_table(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label"])
        for i in range(n):
            w.writerow([f"r{i}", f"The quick brown fox number {i} jumps over the lazy dog today", "ab"[i % 3 == 0]])
    return path


# ---------------------------------------------------------------------------------------------
# 1. one run at a time per output
# ---------------------------------------------------------------------------------------------
def test_a_second_run_into_a_locked_output_exits_2_naming_the_holder(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 2, "b": 2})
    out = tmp_path / "out"
    with OutputLock(out / ".augcli" / "lock", out):
        p = run_cli("image", src, out, "--seed", "5", check=2)
    assert f"is being written by another augcli run (pid {os.getpid()} on " in p.stderr
    assert "remove" in p.stderr and "lock" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not any(out.rglob("*.jpg"))
    run_cli("image", src, out, "--seed", "5", check=0)  # released: the run goes ahead
    assert not (out / ".augcli" / "lock").exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_message(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 2, "b": 2})
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".augcli").mkdir(parents=True)
    import socket

    (out / ".augcli" / "lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    p = run_cli("image", src, out, check=0)
    assert f"taking over the lock of an augcli run that is no longer running (pid {dead.pid}" in p.stderr


def _race(cmd_a, cmd_b, out):
    a, b = popen(*cmd_a), popen(*cmd_b)
    ra, rb = a.wait(timeout=300), b.wait(timeout=300)
    ea, eb = a.stderr.read(), b.stderr.read()
    a.stdout.close(), b.stdout.close(), a.stderr.close(), b.stderr.close()
    for rc, err in ((ra, ea), (rb, eb)):
        assert "Traceback" not in err, err
        assert rc in (0, 2), err
        if rc == 2:
            assert "being written by another augcli run" in err or "holds a run made with other settings" in err, err
    assert 0 in (ra, rb)
    return ra, rb


def test_two_image_runs_into_one_output_never_mix(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 8, "b": 8}, size=(64, 80))
    refs = {}
    for seed in (5, 6):
        refs[seed] = tmp_path / f"ref{seed}"
        run_cli("image", src, refs[seed], "--seed", seed, "--copies", "2", check=0)
    for i in range(8):
        out = tmp_path / f"o{i}"
        _race(("image", src, out, "--seed", 5, "--copies", 2), ("image", src, out, "--seed", 6, "--copies", 2), out)
        seed = json.loads((out / ".augcli" / "run.json").read_text())["config"]["seed"]
        assert tree_hashes(out) == tree_hashes(refs[seed])  # one run's files only
        assert (out / "manifest.csv").read_bytes() == (refs[seed] / "manifest.csv").read_bytes()
        p = run_cli("image", src, out, "--seed", seed, "--copies", "2", check=0)
        assert " 0 written" in p.stdout


def test_two_text_table_runs_into_one_output_never_mix(tmp_path):
    src = text_table(tmp_path / "t.csv", 6000)
    ref = tmp_path / "ref"
    run_cli("text", src, ref, "--copies", "2", check=0)
    for i in range(4):
        out = tmp_path / f"o{i}"
        _race(("text", src, out, "--copies", 2), ("text", src, out, "--copies", 2), out)
        for f in ("train.csv", "manifest.csv"):
            assert (out / f).read_bytes() == (ref / f).read_bytes()
        whole_manifest(out)


# ---------------------------------------------------------------------------------------------
# a damaged manifest is never "already done"
# ---------------------------------------------------------------------------------------------
def test_a_damaged_image_manifest_is_rebuilt_not_trusted(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 3, "b": 3})
    ref, out = tmp_path / "ref", tmp_path / "out"
    run_cli("image", src, ref, "--copies", "2", check=0)
    run_cli("image", src, out, "--copies", "2", check=0)
    text = (out / "manifest.csv").read_text()
    lines = text.splitlines(keepends=True)
    lines[3] = lines[3][:40] + "\x00" * 30 + "\n"  # a row cut and filled with NUL bytes
    lines[5] = "garbage,not,a,row\n"
    (out / "manifest.csv").write_text("".join(lines) + "\x00" * 500)
    p = run_cli("image", src, out, "--copies", "2", check=0)
    assert "damaged" in p.stderr and " 2 written" in p.stdout
    assert (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()
    assert tree_hashes(out) == tree_hashes(ref)
    rep = run_cli("report", out, check=0)
    assert "INCOMPLETE" not in rep.stdout


def test_a_damaged_text_table_output_is_made_again(tmp_path):
    src = text_table(tmp_path / "t.csv", 3000)
    ref, out = tmp_path / "ref", tmp_path / "out"
    run_cli("text", src, ref, "--copies", "2", check=0)
    run_cli("text", src, out, "--copies", "2", check=0)
    with open(out / "manifest.csv", "r+b") as f:  # what two writers into one temp name left
        f.seek(-4096, 2)
        f.write(b"\x00" * 4096)
    p = run_cli("text", src, out, "--copies", "2", check=0)
    assert "damaged" in p.stderr and "already done" not in p.stdout.replace(" 0 already done", "")
    for f in ("train.csv", "manifest.csv"):
        assert (out / f).read_bytes() == (ref / f).read_bytes()
    p = run_cli("text", src, out, "--copies", "2", check=0)
    assert "9000 already done" in p.stdout


def test_a_header_only_text_table_says_no_rows(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text("text,label\n")
    p = run_cli("text", src, tmp_path / "out", "--label-column", "label", check=2)
    assert "no rows" in p.stderr and str(src) in p.stderr


# ---------------------------------------------------------------------------------------------
# 10. the manifest is the same bytes whatever the worker count
# ---------------------------------------------------------------------------------------------
def test_manifest_is_byte_identical_for_1_and_2_workers(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 7, "b": 5}, size=(64, 80))
    runs = {}
    for w in (1, 2):
        runs[w] = tmp_path / f"w{w}"
        run_cli("image", src, runs[w], "--copies", "3", "--workers", w, "--val-split", "0.2", check=0)
    assert (runs[1] / "manifest.csv").read_bytes() == (runs[2] / "manifest.csv").read_bytes()
    txt = tmp_path / "txt"
    for i in range(12):
        (txt / "ab"[i % 2]).mkdir(parents=True, exist_ok=True)
        (txt / "ab"[i % 2] / f"{i}.txt").write_text(f"The happy dog number {i} runs quickly across the field")
    for w in (1, 2):
        run_cli("text", txt, tmp_path / f"t{w}", "--copies", "2", "--workers", w, check=0)
    assert (tmp_path / "t1" / "manifest.csv").read_bytes() == (tmp_path / "t2" / "manifest.csv").read_bytes()


def test_manifest_is_in_plan_order_after_a_resume(tmp_path):
    src = make_dataset(tmp_path / "in", {"a": 4, "b": 4}, size=(64, 80))
    ref, out = tmp_path / "ref", tmp_path / "out"
    run_cli("image", src, ref, "--copies", "2", check=0)
    run_cli("image", src, out, "--copies", "2", check=0)
    rows = whole_manifest(out)
    for r in rows[::3]:  # as if a run died before these: files and rows gone
        (out / r["path"]).unlink()
    run_cli("image", src, out, "--copies", "2", check=0)
    assert (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()


# ---------------------------------------------------------------------------------------------
# 5. a full or read-only disk: one line, exit 3, the manifest whole, resume after
# ---------------------------------------------------------------------------------------------
def remount(mnt: Path, opts: str):
    subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True, capture_output=True)


def _disk_full_then_resume(tmp_path, args, ref_args, files, unit="files"):
    ref = tmp_path / "ref"
    run_cli(*ref_args(ref), check=0)
    with tmpfs("600k") as mnt:
        if mnt is None:
            pytest.skip("cannot mount a tmpfs here (the disk-full tests need root)")
        out = mnt / "out"
        p = run_cli(*args(out), check=3)
        assert "Traceback" not in p.stderr
        err = [ln for ln in p.stderr.splitlines() if ln.startswith("augcli: error")]
        assert len(err) == 1 and "no space left on the device after" in err[0] and unit in err[0], p.stderr
        assert "run the same command again to resume" in err[0] and str(out) in err[0]
        if (out / "manifest.csv").exists():
            whole_manifest(out)
        remount(mnt, "size=64m")  # free space
        run_cli(*args(out), check=0)
        for f in files(ref):
            assert (out / f).read_bytes() == (ref / f).read_bytes(), f
        remount(mnt, "ro")
        p = run_cli(*args(mnt / "other"), check=3)
        assert "read-only" in p.stderr and "Traceback" not in p.stderr


def test_image_run_on_a_full_disk_stops_at_once_and_resumes(tmp_path):
    from conftest import photo
    import cv2

    src = tmp_path / "in"
    for c in "ab":
        (src / c).mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(src / c / f"{i}.png"), photo(200, 240, seed=ord(c) * 10 + i))
    args = lambda o: ("image", src, o, "--copies", "3", "--workers", "2")  # noqa: E731
    files = lambda ref: [p.relative_to(ref) for p in ref.rglob("*") if p.is_file() and ".augcli" not in p.parts]  # noqa: E731
    _disk_full_then_resume(tmp_path, args, args, files)


def test_audio_run_on_a_full_disk_stops_at_once_and_resumes(tmp_path):
    import numpy as np
    import soundfile as sf

    src = tmp_path / "in"
    for c in "ab":
        (src / c).mkdir(parents=True)
        for i in range(4):
            t = np.arange(16000 * 2) / 16000
            sf.write(src / c / f"{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32), 16000,
                     subtype="PCM_16")
    args = lambda o: ("audio", src, o, "--copies", "3")  # noqa: E731
    files = lambda ref: [p.relative_to(ref) for p in ref.rglob("*") if p.is_file() and ".augcli" not in p.parts]  # noqa: E731
    _disk_full_then_resume(tmp_path, args, args, files)


def test_text_table_run_on_a_full_disk_stops_at_once_and_resumes(tmp_path):
    src = text_table(tmp_path / "t.csv", 4000)
    args = lambda o: ("text", src, o, "--copies", "3")  # noqa: E731
    _disk_full_then_resume(tmp_path, args, args, lambda ref: ["train.csv", "manifest.csv"], unit="rows")


# ---------------------------------------------------------------------------------------------
# a worker killed (e.g. by the OOM killer): the run fails loudly instead of waiting forever
# ---------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _running(args, out: Path, lines: int):
    """`augcli ARGS` started, once both its workers run and its manifest has `lines` lines."""
    import time

    p = popen(*args)
    t0 = time.time()
    while len(_children(p.pid)) < 2 and time.time() - t0 < 60:
        time.sleep(0.01)

    def rows():
        try:
            return (out / "manifest.csv").read_text().count("\n")
        except OSError:
            return 0

    while rows() < lines and time.time() - t0 < 60:
        time.sleep(0.005)
    return p


def _resumes_to_a_clean_run(args, src: Path, out: Path, ref: Path) -> None:
    """The same command run again ends with the bytes (files and manifest) of a clean run."""
    run_cli(*args, check=0)
    run_cli("image", src, ref, "--copies", "4", "--workers", "2", check=0)
    assert tree_hashes(out) == tree_hashes(ref)
    assert (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()


def test_a_worker_killed_mid_run_fails_the_run_and_the_same_command_resumes(tmp_path):
    import signal

    from conftest import photo
    import cv2

    if not Path("/proc/self/task").exists():
        pytest.skip("needs /proc to find the worker processes")
    src = tmp_path / "in"
    for c in "ab":
        (src / c).mkdir(parents=True)
        for i in range(40):
            cv2.imwrite(str(src / c / f"{i}.png"), photo(240, 320, seed=ord(c) * 100 + i))
    ref, out = tmp_path / "ref", tmp_path / "out"
    args = ("image", src, out, "--copies", "4", "--workers", "2")
    p = _running(args, out, 6)  # jobs are running in both workers
    for child in _children(p.pid):  # both workers: a job in flight is lost for sure
        os.kill(child, signal.SIGKILL)
    try:  # until the output pipes close: no worker may outlive the run either
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        for child in _children(p.pid):
            os.kill(child, signal.SIGKILL)
        pytest.fail("the run hung, or left worker processes behind, after its workers were killed")
    rc = p.returncode
    assert rc == 1 and "a worker process died (killed by signal 9" in err and "Traceback" not in err, err
    whole_manifest(out)
    _resumes_to_a_clean_run(args, src, out, ref)


def test_the_workers_end_with_the_command_when_it_is_killed(tmp_path):
    """kill -9 of the command (the parent): its workers are killed with it (Linux: they would
    otherwise finish their batch, writing files, and print broken-pipe tracebacks); the same
    command then resumes to the bytes of a clean run."""
    import signal
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    src = make_dataset(tmp_path / "in", {"a": 60, "b": 60}, size=(120, 160), ext=".png")
    out, ref = tmp_path / "out", tmp_path / "ref"
    args = ("image", src, out, "--copies", "4", "--workers", "2")
    p = _running(args, out, 1)  # (its header written)
    workers = _children(p.pid)
    t0 = time.time()
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state not in ("Z", "X")

    while any(alive(w) for w in workers) and time.time() - t0 < 60:
        time.sleep(0.02)
    assert workers and not any(alive(w) for w in workers)
    assert "Traceback" not in p.stderr.read()
    _resumes_to_a_clean_run(args, src, out, ref)


def test_many_jobs_in_batches_per_task_run_with_two_workers(tmp_path):
    """More than 64 jobs per worker: jobs go to the workers in batches (a path small tests miss)."""
    src = make_dataset(tmp_path / "in", {"a": 70, "b": 70}, size=(24, 32))
    for w in (1, 2):
        run_cli("image", src, tmp_path / f"w{w}", "--workers", w, check=0)
    assert tree_hashes(tmp_path / "w1") == tree_hashes(tmp_path / "w2")
    assert (tmp_path / "w1" / "manifest.csv").read_bytes() == (tmp_path / "w2" / "manifest.csv").read_bytes()
    p = run_cli("stats", src, "--workers", "2", check=0)
    assert "140 images" in p.stdout


@pytest.mark.parametrize("unnamed", [True, False])
def test_atomic_write_shows_no_file_before_its_bytes_are_all_written(tmp_path, monkeypatch, unnamed):
    """Linux: an unnamed file (O_TMPFILE) linked in whole; elsewhere, or over an existing file, a temp
    file renamed. Either way the folder shows nothing of the output until it is complete."""
    import augcli.io as aio

    if unnamed and not aio._UNNAMED[0]:
        pytest.skip("no O_TMPFILE here")
    monkeypatch.setattr(aio, "_UNNAMED", [unnamed])
    seen = []
    real_write = os.write

    def spy(fd, data):  # what the folder shows while the bytes are written
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    aio.atomic_write(tmp_path / "a.png", b"x" * 5000)
    assert (tmp_path / "a.png").read_bytes() == b"x" * 5000
    assert seen and "a.png" not in seen[0]
    assert seen[0] == ([] if unnamed else [f".a.png{aio.TMP_MARK}{os.getpid()}"])
    aio.atomic_write(tmp_path / "a.png", b"new")  # an existing file is replaced whole
    assert (tmp_path / "a.png").read_bytes() == b"new" and sorted(os.listdir(tmp_path)) == ["a.png"]
    monkeypatch.chdir(tmp_path)
    aio.atomic_write("b.png", b"relative")  # a bare name: in the working folder
    assert (tmp_path / "b.png").read_bytes() == b"relative"
    assert aio._UNNAMED[0] == unnamed  # (nothing made it give up the unnamed files)
