"""examples/Makefile: augcli as a build step: built once, a no-op when nothing changed, rebuilt
when the recipe or an input changes, and a failed run stops the build (and is retried)."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, make_dataset


def make(cwd: Path, env: dict):
    return subprocess.run(["make", "-f", "examples/Makefile", "INPUT=data", "OUTPUT=out/aug"], cwd=cwd, env=env,
                          capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_builds_once_rebuilds_on_change_and_stops_on_failure(tmp_path):
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "Makefile", tmp_path / "examples" / "Makefile")
    shutil.copy(ROOT / "examples" / "image.yaml", tmp_path / "examples" / "image.yaml")
    make_dataset(tmp_path / "data", {"a": 3, "b": 2}, size=(48, 64))
    augcli = shutil.which("augcli", path=str(Path(os.sys.executable).parent)) or "augcli"
    env = dict(os.environ, AUGCLI=augcli, PYTHONPATH=str(ROOT))
    p = make(tmp_path, env)
    assert p.returncode == 0, p.stdout + p.stderr
    manifest = tmp_path / "out" / "aug" / "manifest.csv"
    first = manifest.stat().st_mtime_ns
    assert "augcli run" in p.stdout

    p = make(tmp_path, env)  # nothing changed: make runs nothing
    assert p.returncode == 0 and "augcli run" not in p.stdout and "Nothing to be done" in p.stdout
    assert manifest.stat().st_mtime_ns == first

    time.sleep(0.05)
    recipe = tmp_path / "examples" / "image.yaml"
    recipe.write_text(recipe.read_text().replace("copies: 2", "copies: 1"))
    p = make(tmp_path, env)  # the recipe changed: rebuilt with its settings
    assert p.returncode == 0 and "augcli run" in p.stdout, p.stderr
    assert sum(1 for _ in (tmp_path / "out" / "aug" / "train").rglob("*__aug*")) < 10

    time.sleep(0.05)
    (tmp_path / "data" / "a" / "broken.jpg").write_bytes(b"not a jpeg")  # an input added, and bad
    p = make(tmp_path, env)
    assert p.returncode != 0 and "broken.jpg" in p.stdout + p.stderr  # exit 1 from augcli stops make
    p = make(tmp_path, env)  # not marked done: tried again, fails again
    assert p.returncode != 0 and "augcli run" in p.stdout
    (tmp_path / "data" / "a" / "broken.jpg").unlink()
    p = make(tmp_path, env)
    assert p.returncode == 0, p.stdout + p.stderr

    time.sleep(0.05)
    (tmp_path / "data" / "b" / "img001.jpg").unlink()  # removed from a class folder: rebuilt without it
    p = make(tmp_path, env)
    assert p.returncode == 0 and "augcli run" in p.stdout, p.stdout + p.stderr
    assert not list((tmp_path / "out" / "aug").rglob("img001*.jpg")) or all(
        "/a/" in str(q) for q in (tmp_path / "out" / "aug").rglob("img001*.jpg"))
