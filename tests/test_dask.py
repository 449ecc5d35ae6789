"""The same runs on a Dask cluster (`--scheduler local|tcp://HOST:PORT`): the same bytes as the local
pool, a worker killed mid-run (its tasks run again elsewhere), the client killed (the same command
resumes), an unreachable scheduler, workers of another augcli. Most tests share one LocalCluster of
two worker processes started here and reached over tcp://, as a user's cluster is; one starts
`--scheduler local` itself (`make test` installs the dask extra)."""
import csv
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_dataset, photo, popen, run_cli, tree_hashes

try:
    import distributed
except ImportError:  # pragma: no cover - make test installs it
    distributed = None

needs_dask = pytest.mark.skipif(distributed is None, reason="distributed is not installed: pip install 'augcli[dask]' "
                                                            "(make test installs it)")


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes (one thread each): (its tcp:// address, a client)."""
    if distributed is None:
        pytest.skip("distributed is not installed: pip install 'augcli[dask]' (make test installs it)")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as lc:
        with distributed.Client(lc, set_as_default=False) as client:
            yield lc.scheduler_address, client


def _ready(client, n=2):
    client.wait_for_workers(n, timeout=60)


def _idle(client, timeout=60):
    """Until the scheduler holds no task (e.g. those of a killed client, cancelled or finished)."""
    t0 = time.time()
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and time.time() - t0 < timeout:
        time.sleep(0.1)


def _same(a: Path, b: Path):
    assert tree_hashes(a) == tree_hashes(b)
    assert (a / "manifest.csv").read_bytes() == (b / "manifest.csv").read_bytes()


def _rows(out: Path) -> list[dict]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _pngs(root: Path, n: int) -> Path:
    """Enough work that a run is still going when something is killed."""
    import cv2

    for c in "ab":
        (root / c).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / c / f"{i}.png"), photo(240, 320, seed=ord(c) * 100 + i))
    return root


def _wait_rows(out: Path, n: int, p, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout and p.poll() is None:
        try:
            if (out / "manifest.csv").read_text().count("\n") >= n:
                return
        except OSError:
            pass
        time.sleep(0.005)
    pytest.fail("the run ended (or never wrote its manifest) before anything could be killed")


@needs_dask
def test_a_local_cluster_gives_the_bytes_of_the_process_pool_for_images_and_a_text_table(tmp_path):
    src = make_dataset(tmp_path / "in", {"cat": 7, "dog": 4})
    args = ("--copies", "2", "--val-split", "0.2", "--seed", "3")
    for w in (1, 2):
        run_cli("image", src, tmp_path / f"p{w}", *args, "--workers", w, check=0)
    p = run_cli("image", src, tmp_path / "dask", *args, "--scheduler", "local", "--workers", "2", check=0)
    assert "dask: a local cluster of 2 worker processes; dashboard: http://" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    _same(tmp_path / "p1", tmp_path / "dask")
    _same(tmp_path / "p2", tmp_path / "dask")
    p = run_cli("image", src, tmp_path / "dask", *args, "--scheduler", "local", "-q", check=0)  # all done: no cluster
    assert p.stderr == ""

    from test_output_safety import text_table

    table = text_table(tmp_path / "t.csv", 4500)  # three chunks of 2,000 records
    targs = ("--label-column", "label", "--copies", "2", "--val-split", "0.1", "--seed", "5")
    run_cli("text", table, tmp_path / "tp", *targs, "--workers", "2", check=0)
    run_cli("text", table, tmp_path / "td", *targs, "--scheduler", "local", "--workers", "2", "-q", check=0)
    assert sorted(os.listdir(tmp_path / "td")) == sorted(os.listdir(tmp_path / "tp"))
    _same(tmp_path / "tp", tmp_path / "td")


def test_image_and_text_table_on_a_two_worker_cluster_are_the_same_bytes(cluster, tmp_path):
    address, client = cluster
    _ready(client)
    src = make_dataset(tmp_path / "in", {"cat": 7, "dog": 4})
    args = ("--copies", "2", "--val-split", "0.2", "--seed", "3")
    run_cli("image", src, tmp_path / "p2", *args, "--workers", "2", check=0)
    p = run_cli("image", src, tmp_path / "tcp", *args, "--scheduler", address, check=0)
    assert f"dask: scheduler {address}" in p.stderr and "Traceback" not in p.stderr
    _same(tmp_path / "p2", tmp_path / "tcp")

    from test_output_safety import text_table

    table = text_table(tmp_path / "t.csv", 5000)  # three chunks of 2,000 records
    targs = ("--label-column", "label", "--copies", "2", "--val-split", "0.1", "--seed", "5")
    run_cli("text", table, tmp_path / "tp", *targs, "--workers", "1", check=0)
    run_cli("text", table, tmp_path / "tt", *targs, "--scheduler", address, "-q", check=0)
    assert sorted(os.listdir(tmp_path / "tt")) == sorted(os.listdir(tmp_path / "tp"))
    _same(tmp_path / "tp", tmp_path / "tt")


def test_a_worker_killed_mid_run_is_replaced_and_the_run_completes_once(cluster, tmp_path):
    address, client = cluster
    _ready(client)
    src = _pngs(tmp_path / "in", 40)
    args = ("image", src, tmp_path / "out", "--copies", "4", "--seed", "2")
    p = popen(*args, "--scheduler", address, "-q")
    try:
        _wait_rows(tmp_path / "out", 6, p)
        victim = sorted(client.run(os.getpid).values())[0]
        os.kill(victim, signal.SIGKILL)
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0 and "Traceback" not in err, err
    rows = _rows(tmp_path / "out")
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 400 and all(r["status"] == "ok" for r in rows)
    assert sorted(paths) == sorted(k for k in tree_hashes(tmp_path / "out"))  # no temp file, nothing missing
    run_cli("image", src, tmp_path / "ref", "--copies", "4", "--seed", "2", check=0)
    _same(tmp_path / "ref", tmp_path / "out")
    assert victim not in client.run(os.getpid).values()  # the nanny started a new worker process


def test_the_client_killed_mid_run_resumes_with_the_same_command(cluster, tmp_path):
    address, client = cluster
    _ready(client)
    src = _pngs(tmp_path / "in", 40)
    out = tmp_path / "out"
    args = ("image", src, out, "--copies", "4", "--seed", "2", "--scheduler", address)
    p = popen(*args, "-q")
    try:
        _wait_rows(out, 6, p)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == -signal.SIGKILL
    _idle(client)  # the tasks the dead client left running end (or are cancelled) first
    done = len(_rows(out)) if (out / "manifest.csv").exists() else 0
    assert 0 < done < 400
    again = run_cli(*args, check=0)
    assert "taking over the lock" in again.stderr and f"{done} already done" in again.stdout, again.stdout
    run_cli("image", src, tmp_path / "ref", "--copies", "4", "--seed", "2", check=0)
    _same(tmp_path / "ref", out)


def test_workers_of_another_augcli_are_refused_with_one_line(cluster, tmp_path, monkeypatch):
    import augcli
    from augcli import dask_executor
    from augcli.errors import UsageError

    address, client = cluster
    _ready(client)
    src = make_dataset(tmp_path / "in", {"a": 2})
    mine = dask_executor.versions()
    monkeypatch.setattr(dask_executor, "versions", lambda: {**mine, "augcli": "0.0.1"})  # this client's only
    cfg = augcli.Recipe.from_dict({"input": str(src), "output": str(tmp_path / "out"), "scheduler": address})
    with pytest.raises(UsageError, match=r"the Dask worker tcp://\S+ runs augcli .* this client augcli 0.0.1 on "
                                         r"Python \S+; install the same augcli"):
        augcli.run(cfg)
    monkeypatch.undo()
    setup = dask_executor._Setup("t", print, (), os.getcwd(), expect={**mine, "python": "2.7"})
    with pytest.raises(dask_executor.WorkerMismatch, match="runs augcli"):  # a worker that joins later
        setup.ensure()


def test_workers_that_cannot_see_the_input_are_refused(cluster, tmp_path):
    from augcli.dask_executor import DaskExecutor

    address, client = cluster
    _ready(client)
    ex = DaskExecutor(address, shared=[str(tmp_path / "nowhere")], quiet=True)
    with pytest.raises(Exception, match="cannot see .*nowhere.* must be shared by every worker"):
        with ex.map_unordered(abs, [1], print, ()) as results:
            list(results)


@needs_dask
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    src = make_dataset(tmp_path / "in", {"a": 2})
    t0 = time.time()
    p = run_cli("image", src, tmp_path / "out", "--scheduler", f"tcp://127.0.0.1:{port}", check=2)
    assert time.time() - t0 < 15
    assert p.stderr.startswith(f"augcli: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: ")
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_scheduler_values_are_checked_and_tabular_refuses_one(tmp_path):
    p = run_cli("image", tmp_path, tmp_path / "out", "--scheduler", "tcp://host", check=2)
    assert "--scheduler: 'tcp://host' is not a scheduler; allowed: processes, local, tcp://HOST:PORT" in p.stderr
    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,a\n2,a\n3,b\n")
    p = run_cli("tabular", table, tmp_path / "o.csv", "--target", "y", "--scheduler", "local", check=2)
    assert "augcli tabular runs on this machine only (imbalanced-learn holds the whole table in memory)" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert "on this machine only" in run_cli("tabular", "--help", check=0).stdout


def test_processes_never_imports_dask(tmp_path):
    code = ("import sys, augcli\nr = augcli.augment(sys.argv[1], sys.argv[2], workers=2)\n"
            "assert r.exit_code == 0\nprint([m for m in ('dask', 'distributed') if m in sys.modules])")
    src = make_dataset(tmp_path / "in", {"a": 2})
    p = subprocess.run([sys.executable, "-c", code, src, tmp_path / "out"], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"
