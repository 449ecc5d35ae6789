import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def photo(h=120, w=160, seed=0, channels=3, dtype=np.uint8):
    """A smooth, textured test picture (gradients + blobs), deterministic per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = []
    for c in range(channels):
        fx, fy, ph = rng.uniform(0.02, 0.08, 2).tolist() + [rng.uniform(0, 6)]
        planes.append(0.5 + 0.25 * np.sin(x * fx + ph) + 0.25 * np.cos(y * fy - ph))
    img = np.stack(planes, axis=2) if channels > 1 else planes[0]
    vmax = 65535 if dtype == np.uint16 else 255
    return np.clip(img * vmax, 0, vmax).astype(dtype)


def make_dataset(root: Path, classes: dict, size=(96, 128), ext=".jpg"):
    for ci, (label, n) in enumerate(classes.items()):
        d = root / label if label else root
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(d / f"img{i:03d}{ext}"), photo(*size, seed=ci * 1000 + i))
    return root


def run_cli(*args, cwd=None, check=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "augcli", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env=env)
    if check is not None:
        assert p.returncode == check, f"rc={p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p


def tree_hashes(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".augcli" not in p.parts and p.name != "manifest.csv":
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "in", {"cat": 6, "dog": 3})


def popen(*args):
    """`augcli ARGS` started in the background (pipes for stdout and stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "augcli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@contextlib.contextmanager
def tmpfs(size: str):
    """A small tmpfs of `size` (e.g. "600k") for disk-full tests; None where one cannot be mounted."""
    mnt = Path(f"/tmp/augcli-test-{uuid.uuid4().hex[:8]}")
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
    if p.returncode != 0:
        mnt.rmdir()
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)
