"""A command's fixed cost (issue 18): what the parent does once before forking the workers, the
pool's worker-keeping thread, Typer building only the command that runs, BLAS threads."""
import os
import subprocess
import sys
from multiprocessing import pool as mpool
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from augcli import cli, executors
from augcli.modalities.image import ImageModality
from augcli.transforms.image import pixel

NOISY = SimpleNamespace(transforms=[("hflip", {"p": 0.5}), ("gaussian_noise", {"p": 0.3, "std": [0, 10]})])


@pytest.fixture
def empty_noise(monkeypatch):
    monkeypatch.setattr(pixel.NOISE, "buf", np.empty(0, np.int16))
    return pixel.NOISE


def test_before_fork_draws_the_noise_a_worker_would_draw(empty_noise):
    ImageModality().before_fork(NOISY)
    chunk = pixel._NoiseBuffer.CHUNK
    assert empty_noise.buf.size == 2 * chunk  # any offset plus a 224-512 px output
    fresh = pixel._NoiseBuffer()
    assert np.array_equal(empty_noise.buf, fresh.get(2 * chunk, 0))
    # a worker needing more grows it to the values it would have drawn from nothing
    assert np.array_equal(empty_noise.get(chunk, 2 * chunk), fresh.get(chunk, 2 * chunk))
    assert "cv2" in sys.modules and "numpy.random" in sys.modules


def test_before_fork_draws_no_noise_for_a_recipe_without_it(empty_noise):
    ImageModality().before_fork(SimpleNamespace(transforms=[("hflip", {"p": 0.5})]))
    assert empty_noise.buf.size == 0


def _noise_size(_):
    return pixel.NOISE.buf.size


def test_forked_workers_inherit_the_noise_drawn_before_the_fork(empty_noise):
    ImageModality().before_fork(NOISY)
    with executors.pooled(2, int, (), _noise_size, range(6)) as sizes:
        assert list(sizes) == [2 * pixel._NoiseBuffer.CHUNK] * 6


def test_the_runner_calls_before_fork_only_when_it_forks(monkeypatch):
    from augcli import runner

    calls = []

    class Work:
        cfg, modality = NOISY, SimpleNamespace(before_fork=calls.append)
        unit_fn, init_fn, init_args, progress_unit = staticmethod(abs), staticmethod(int), (), "unit"

        def chunksize(self, n, workers):
            return 1

        def size(self, todo):
            return len(todo)

        def collect(self, r, res):
            res.written += 1
            return 1

    res = runner.Result()
    runner._execute(Work(), executors.LocalExecutor(2), [-1], res, quiet=True)  # one unit: no pool
    assert calls == [] and res.written == 1
    runner._execute(Work(), executors.LocalExecutor(2), [-1, -2, -3], res, quiet=True)
    assert calls == ([NOISY] if sys.platform.startswith("linux") else []) and res.written == 4


def test_the_pool_thread_does_not_wake_for_every_result(monkeypatch):
    wakes = []
    stock = mpool.Pool._wait_for_updates

    def counted(sentinels, change_notifier, timeout=None):
        wakes.append(1)
        return stock(sentinels, change_notifier, timeout)

    monkeypatch.setattr(mpool.Pool, "_wait_for_updates", staticmethod(counted))
    with executors.pooled(2, int, (), abs, range(-400, 0)) as results:
        assert sorted(results) == list(range(1, 401))
    # the stock pool woke at least once per result (it waited on the result pipe too)
    assert len(wakes) < 40, len(wakes)


def _sigkill_self(x):
    if x == 3:
        os.kill(os.getpid(), 9)
    return x


def test_a_dead_worker_is_still_reported(monkeypatch):
    with pytest.raises(executors.WorkerDied):
        with executors.pooled(2, int, (), _sigkill_self, range(8)) as results:
            list(results)


def test_only_the_named_command_is_built_and_says_the_same():
    one = cli._app_for(["augcli", "run"])
    assert [c.callback.__name__ for c in one.registered_commands] == ["run"]
    assert len(cli.app.registered_commands) == 10  # the app itself is untouched
    for argv in (["augcli"], ["augcli", "--help"], ["augcli", "imag"], ["augcli", "--version"]):
        assert cli._app_for(argv) is cli.app
    runner = CliRunner()
    for args in (["run", "--help"], ["run"], ["run", "x.yaml", "--bogus"], ["validate", "/nonexistent.yaml"]):
        a, b = runner.invoke(cli.app, args), runner.invoke(cli._app_for(["augcli", *args]), args)
        assert (a.exit_code, a.output) == (b.exit_code, b.output), args


def test_shell_completion_gets_the_whole_app(monkeypatch):
    monkeypatch.setenv("_AUGCLI_COMPLETE", "complete_bash")
    assert cli._app_for(["augcli", "run"]) is cli.app


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the threads in /proc")
def test_the_cli_runs_numpy_without_blas_threads_unless_told():
    code = ("import os, sys; from augcli.cli import _run; _run(['augcli', '--version'])\n"
            "import numpy; print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["1", "1"], out  # one thread: numpy's OpenBLAS started none
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[-2] == "2", out


def test_the_quick_exit_keeps_the_code_the_output_and_the_exit_handlers(tmp_path):
    code = ("import atexit, sys; atexit.register(lambda: print('handler ran'))\n"
            "from augcli.cli import main; sys.argv = ['augcli'] + sys.argv[1:]; main()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code, "transforms", "image"], env=env, capture_output=True, text=True)
    full = "\n".join(__import__("augcli.api", fromlist=["api"]).list_transforms("image"))
    assert r.returncode == 0 and r.stdout == full + "\nhandler ran\n"
    r = subprocess.run([sys.executable, "-c", code, "run", str(tmp_path / "none.yaml")], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "none.yaml" in r.stderr and r.stdout == "handler ran\n"


def test_a_running_thread_gets_the_ordinary_exit():
    import threading

    go = threading.Event()
    t = threading.Thread(target=go.wait)
    t.start()
    try:
        with pytest.raises(SystemExit) as e:
            cli._exit(3)
        assert e.value.code == 3
    finally:
        go.set()
        t.join()
