"""Issue 13, tables: two runs into one OUTPUT, blank targets, --overwrite of a foreign file,
resuming after a kill, infinite values, a full or read-only disk, non-UTF-8 text, the help.
Each test reproduces a failure of the code before the fix."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, popen, run_cli, tmpfs

from augcli.lock import OutputLock

LOCK_MSG = re.compile(r"is being written by another augcli run \(pid \d+ on \S+\); wait for it or remove \S+ if it is gone")
# a loser names the holder's pid and host (lock.py waits for the holder to write them)
RACE_MSG = re.compile(r"is being written by another augcli run \(pid (\d+) on \S+\); wait for it or remove \S+ "
                      r"if it is gone")


def table(path: Path, n_major=120, n_minor=15, seed=0, cat=None, encoding="utf-8"):
    """x, y (floats), n (int), [c (text)], label (maj/min): the minority rows first."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["x", "y", "n"] + (["c"] if cat else []) + ["label"])
        for i in range(n_major + n_minor):
            minor = i < n_minor
            row = [round(float(rng.normal(2 if minor else 0)), 4), round(float(rng.normal()), 4), int(rng.integers(0, 9))]
            if cat:
                row.append(cat[0] if minor else cat[1 + i % (len(cat) - 1)])
            w.writerow(row + ["min" if minor else "maj"])
    return path


def rows_of(path: Path, encoding="utf-8"):
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# 1. two runs into one OUTPUT: the second waits for nothing, it exits 2 naming the holder
# ---------------------------------------------------------------------------------------------
def test_a_run_exits_2_while_another_holds_the_output_and_leaves_its_temp_file(tmp_path):
    src = table(tmp_path / "t.csv")
    out = tmp_path / "o.csv"
    theirs = tmp_path / ".o.csv.augtmp999999"  # the holder's temp table: not stale while it holds the lock
    with OutputLock(tmp_path / ".o.csv.augcli-lock", out):
        theirs.write_bytes(b"x,y\n")
        p = run_cli("tabular", src, out, "--target", "label", check=2)
        assert LOCK_MSG.search(p.stderr) and f"pid {os.getpid()}" in p.stderr, p.stderr
        assert theirs.exists() and not out.exists()
    run_cli("tabular", src, out, "--target", "label", check=0)  # the lock released: the run goes ahead
    assert not theirs.exists()  # now it is a dead run's temp file: cleaned
    assert leftovers(tmp_path) == []


def test_two_real_runs_into_one_output_never_mix_or_crash(tmp_path):
    src = table(tmp_path / "t.csv", 2000, 200)
    refs = {s: tmp_path / f"ref{s}.csv" for s in (1, 2)}
    procs = [popen("tabular", src, refs[s], "--target", "label", "--seed", s, "-q") for s in refs]
    assert [p.wait() for p in procs] == [0, 0]
    ref_bytes = {s: r.read_bytes() for s, r in refs.items()}
    out = tmp_path / "race" / "o.csv"
    for seeds in ((1, 1), (1, 1), (1, 2)):
        if out.parent.exists():
            shutil.rmtree(out.parent)
        procs = [popen("tabular", src, out, "--target", "label", "--seed", s) for s in seeds]
        results = [(p.wait(), p.stdout.read(), p.stderr.read()) for p in procs]
        for rc, _, err in results:
            assert "Traceback" not in err, err
            assert rc in (0, 2), err
            if rc == 2:
                assert RACE_MSG.search(err) or "holds a run made with other settings" in err, err
        assert any(rc == 0 for rc, _, _ in results)
        summary = json.loads((out.parent / "o.csv.summary.json").read_text())
        data = out.read_bytes()
        assert data == ref_bytes[summary["seed"]]  # the table is the run its summary names, whole
        assert summary["table_size"] == len(data) and summary["rows_after"] == len(rows_of(out))
        assert leftovers(out.parent) == []  # no temp, state or lock file left


# ---------------------------------------------------------------------------------------------
# 2. a blank target is not a class ""
# ---------------------------------------------------------------------------------------------
def test_blank_target_cells_stop_the_run_with_their_lines_or_are_dropped(tmp_path):
    src = table(tmp_path / "t.csv")
    lines = src.read_text().splitlines()
    for i in (4, 8, 11):  # file lines 5, 9, 12: empty, whitespace, quoted empty
        lines[i] = lines[i].rsplit(",", 1)[0] + {4: ",", 8: ",  ", 11: ',""'}[i]
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.csv"
    p = run_cli("tabular", src, out, "--target", "label", check=2)
    assert "the target 'label' is empty in 3 rows (lines 5, 9, 12)" in p.stderr and "--drop-missing-target" in p.stderr
    assert not out.exists()
    p = run_cli("tabular", src, out, "--target", "label", "--drop-missing-target", check=0)
    assert "3 rows with an empty target" in p.stderr
    rows = rows_of(out)
    copy = lines[0] + ",_synthetic\n" + "".join(line + ",0\n" for line in lines[1:])
    assert out.read_text().startswith(copy)  # the blank rows too: kept in the copy, unchanged
    syn = [r for r in rows if r["_synthetic"] == "1"]
    assert syn and {r["label"] for r in syn} == {"min"}
    summary = json.loads((tmp_path / "o.csv.summary.json").read_text())
    assert {c["class"] for c in summary["classes"]} == {"maj", "min"}
    assert summary["missing_target"]["rows"] == 3 and "unchanged" in summary["missing_target"]["note"]
    counts = {c["class"]: c for c in summary["classes"]}
    assert counts["min"]["after"] == counts["maj"]["before"] == sum(r["label"] == "maj" for r in rows)


def test_parquet_null_targets_are_named_by_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels = ["maj"] * 30 + ["min"] * 8
    labels[3] = None
    labels[20] = ""
    pq.write_table(pa.table({"x": np.arange(38.0), "label": labels}), tmp_path / "t.parquet")
    p = run_cli("tabular", tmp_path / "t.parquet", tmp_path / "o.parquet", "--target", "label", check=2)
    assert "is empty in 2 rows (rows 4, 21)" in p.stderr


# ---------------------------------------------------------------------------------------------
# 3. --overwrite replaces only what augcli wrote; --force-overwrite anything
# ---------------------------------------------------------------------------------------------
def test_overwrite_replaces_only_an_augcli_table_and_never_a_foreign_summary(tmp_path):
    src = table(tmp_path / "t.csv")
    mine = tmp_path / "mine.csv"
    run_cli("tabular", src, mine, "--target", "label", check=0)
    summary = json.loads((tmp_path / "mine.csv.summary.json").read_text())
    assert summary["written_by"] == "augcli" and summary["output"] == str(mine)

    foreign = tmp_path / "data.csv"
    foreign.write_text("precious,data\n1,2\n")
    for extra in ((), ("--overwrite",)):
        p = run_cli("tabular", src, foreign, "--target", "label", *extra, check=2)
        assert "was not written by augcli" in p.stderr and "--force-overwrite" in p.stderr
    assert foreign.read_text() == "precious,data\n1,2\n" and not (tmp_path / "data.csv.summary.json").exists()
    run_cli("tabular", src, foreign, "--target", "label", "--force-overwrite", check=0)
    assert rows_of(foreign)[0].keys() == {"x", "y", "n", "label", "_synthetic"}

    lone = tmp_path / "lone.csv.summary.json"  # a summary of someone else's, no table
    lone.write_text('{"mine": true}\n')
    for extra in ((), ("--overwrite",)):
        p = run_cli("tabular", src, tmp_path / "lone.csv", "--target", "label", *extra, check=2)
        assert "lone.csv.summary.json: exists and was not written by augcli" in p.stderr
    assert lone.read_text() == '{"mine": true}\n' and not (tmp_path / "lone.csv").exists()
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"modality: tabular\ninput: {src}\noutput: {tmp_path / 'lone.csv'}\ntarget: label\n"
                      "force_overwrite: true\n")
    run_cli("run", recipe, check=0)
    assert json.loads(lone.read_text())["written_by"] == "augcli"

    mine.unlink()  # augcli's summary is left, its table gone: not silently written again
    p = run_cli("tabular", src, mine, "--target", "label", "--seed", "4", check=2)
    assert "mine.csv.summary.json: exists but" in p.stderr and "--overwrite" in p.stderr
    run_cli("tabular", src, mine, "--target", "label", "--seed", "4", "--overwrite", check=0)


# ---------------------------------------------------------------------------------------------
# 4. resume: done is a no-op, an interrupted run is finished
# ---------------------------------------------------------------------------------------------
def test_same_command_after_completion_is_a_no_op_and_other_settings_are_refused(tmp_path):
    src = table(tmp_path / "t.csv")
    out = tmp_path / "o.csv"
    run_cli("tabular", src, out, "--target", "label", check=0)
    before = (out.read_bytes(), out.stat().st_mtime_ns, (tmp_path / "o.csv.summary.json").read_bytes())
    p = run_cli("tabular", src, out, "--target", "label", check=0)
    assert "already done" in p.stdout
    assert (out.read_bytes(), out.stat().st_mtime_ns, (tmp_path / "o.csv.summary.json").read_bytes()) == before
    p = run_cli("tabular", src, out, "--target", "label", "--k-neighbors", "3", check=2)
    assert "holds a run made with other settings" in p.stderr and "--overwrite" in p.stderr
    os.utime(src)  # the input changed (its mtime): another input
    assert "other settings or another input" in run_cli("tabular", src, out, "--target", "label", check=2).stderr


def test_a_run_killed_during_evaluate_is_finished_by_the_same_command(tmp_path):
    src = table(tmp_path / "t.csv", 300, 40)
    ref, out = tmp_path / "ref.csv", tmp_path / "o.csv"
    summary = tmp_path / "o.csv.summary.json"
    args = ("tabular", src, out, "--target", "label", "--evaluate", "--seed", "7")
    p = popen(*args)
    t0 = time.time()
    while not out.exists() and p.poll() is None and time.time() - t0 < 60:
        time.sleep(0.002)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed during --evaluate"
    assert out.exists() and not summary.exists()
    r = run_cli(*args, check=0)
    assert "finishing it" in r.stdout and "Traceback" not in r.stderr
    s = json.loads(summary.read_text())
    assert "evaluation" in s and s["rows_after"] == len(rows_of(out))
    run_cli("tabular", src, ref, "--target", "label", "--seed", "7", check=0)
    assert out.read_bytes() == ref.read_bytes()  # the table was not made again, and is a clean run's
    assert "already done" in run_cli(*args, check=0).stdout
    assert leftovers(tmp_path) == []


def test_a_table_killed_before_its_rename_is_made_again_and_evaluate_is_added_later(tmp_path):
    src = table(tmp_path / "t.csv")
    out = tmp_path / "o.csv"
    (tmp_path / ".o.csv.augtmp4242").write_bytes(b"x,y,n,label,_synthetic\n1,2,")  # a killed run's half table
    run_cli("tabular", src, out, "--target", "label", check=0)
    assert leftovers(tmp_path) == [] and "evaluation" not in json.loads((tmp_path / "o.csv.summary.json").read_text())
    data = out.read_bytes()
    p = run_cli("tabular", src, out, "--target", "label", "--evaluate", check=0)  # evaluation needs no new table
    assert "adding the evaluation" in p.stdout and out.read_bytes() == data
    assert "evaluation" in json.loads((tmp_path / "o.csv.summary.json").read_text())


# ---------------------------------------------------------------------------------------------
# 5. infinite values are named up front, like missing ones
# ---------------------------------------------------------------------------------------------
def test_infinite_values_stop_the_run_naming_column_count_and_lines(tmp_path):
    src = table(tmp_path / "t.csv")
    lines = src.read_text().splitlines()
    lines[3] = "inf" + lines[3][lines[3].index(","):]
    lines[6] = "-inf" + lines[6][lines[6].index(","):]
    src.write_text("\n".join(lines) + "\n")
    p = run_cli("tabular", src, tmp_path / "o.csv", "--target", "label", check=2)
    assert "column 'x' holds 2 infinite values (lines 4, 7)" in p.stderr, p.stderr
    assert "--impute" in p.stderr and "--exclude x" in p.stderr and "smote failed" not in p.stderr
    run_cli("tabular", src, tmp_path / "o.csv", "--target", "label", "--impute", "median", check=0)
    syn = [r for r in rows_of(tmp_path / "o.csv") if r["_synthetic"] == "1"]
    assert syn and all(np.isfinite(float(r["x"])) for r in syn)


# ---------------------------------------------------------------------------------------------
# 6. a full or read-only disk: one line, exit 3, the previous table intact
# ---------------------------------------------------------------------------------------------
def one_error_line(p) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("augcli: error")]
    assert len(err) == 1, p.stderr
    return err[0]


def test_full_and_read_only_disk_end_in_one_line_exit_3_and_keep_the_previous_table(tmp_path):
    src = table(tmp_path / "t.csv", 300, 30)
    with tmpfs("256k") as mnt:
        if mnt is None:
            if os.geteuid() == 0:
                pytest.skip("cannot mount a tmpfs here, and as root a read-only folder is still writable")
            ro = tmp_path / "ro"
            ro.mkdir()
            ro.chmod(0o555)
            try:
                err = one_error_line(run_cli("tabular", src, ro / "o.csv", "--target", "label", check=3))
                assert "permission denied" in err
            finally:
                ro.chmod(0o755)
            return
        out = mnt / "o.csv"
        run_cli("tabular", src, out, "--target", "label", check=0)  # a small table: it fits
        before = {p.name: p.read_bytes() for p in mnt.iterdir()}
        p = run_cli("tabular", src, out, "--target", "label", "--method", "noise", "--copies", "200", "--overwrite",
                    check=3)
        err = one_error_line(p)
        assert f"{out}: no space left on the device after" in err and "rows" in err
        assert "run the same command again" in err
        assert {p.name: p.read_bytes() for p in mnt.iterdir()} == before  # no temp, state or lock left
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, capture_output=True)
        err = one_error_line(run_cli("tabular", src, mnt / "p.csv", "--target", "label", check=3))
        assert "read-only" in err


# ---------------------------------------------------------------------------------------------
# 7. smaller: non-UTF-8 text, the help
# ---------------------------------------------------------------------------------------------
def test_non_utf8_text_names_column_and_line_and_encoding_reads_and_writes_it(tmp_path):
    src = table(tmp_path / "t.csv", cat=["été", "hiver", "printemps"], encoding="latin-1")
    p = run_cli("tabular", src, tmp_path / "o.csv", "--target", "label", check=2)
    assert "column 'c' is not valid utf-8 text (line 2)" in p.stderr and "--encoding" in p.stderr
    assert "binary" not in p.stderr
    run_cli("tabular", src, tmp_path / "o.csv", "--target", "label", "--encoding", "latin-1", check=0)
    data = (tmp_path / "o.csv").read_bytes()
    assert data.startswith(b"x,y,n,c,label,_synthetic\n")
    syn = [r for r in rows_of(tmp_path / "o.csv", "latin-1") if r["_synthetic"] == "1"]
    assert syn and {r["c"] for r in syn} == {"été"}  # written in the input's encoding, not UTF-8
    assert "été".encode("utf-8") not in data
    p = run_cli("tabular", src, tmp_path / "u.csv", "--target", "label", "--encoding", "utf-16", check=2)
    assert "--encoding utf-16" in p.stderr


def test_tabular_help_names_a_real_example_and_whole_option_lines():
    p = run_cli("tabular", "--help", check=0)
    text = " ".join(p.stdout.split())
    m = re.search(r"Example: augcli tabular (\S+) \S+ --target (\S+)", text)
    assert m and (ROOT / m.group(1)).is_file() and m.group(2) == "cultivar"
    assert "--noise-scale <float> noise method: jitter std per column, as a fraction of its std [default: 0.1]" in text
