"""Every command of the README works when pasted in order after `make demo` (issue 13, item 9)."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT


def augcli() -> list:
    exe = Path(sys.executable).parent / "augcli"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "augcli"]


def demo_commands() -> list:
    """The `augcli ...` lines of the Makefile's demo target, as argument lists."""
    text = (ROOT / "Makefile").read_text()
    body = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, re.M).group(1)
    cmds = [shlex.split(line, comments=True) for line in body.splitlines()]
    return [c[1:] for c in cmds if c and c[0].endswith("/augcli")]


def readme_commands() -> list:
    """The `augcli ...` lines of the README's ```sh blocks in order, comments stripped."""
    cmds, in_sh = [], False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        if in_sh and line.startswith("augcli "):
            args = shlex.split(line, comments=True)[1:]
            if "--install-completion" not in args:
                cmds.append(args)
    return cmds


def test_the_readme_commands_work_in_order_after_make_demo(tmp_path):
    for name in ("sample_data", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    demo, readme = demo_commands(), readme_commands()
    assert len(demo) >= 5 and len(readme) >= 15, (demo, readme)
    failures, times = [], []
    for args in demo + readme:
        t = time.perf_counter()
        p = subprocess.run(augcli() + args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        times.append((round(time.perf_counter() - t, 1), shlex.join(args)))
        if p.returncode != 0:
            failures.append(f"augcli {shlex.join(args)} -> exit {p.returncode}: {p.stderr.strip()[-400:]}")
    print("\n".join(f"{s:6.1f} s  augcli {c}" for s, c in times))
    assert not failures, "\n".join(failures)


def test_the_readme_python_api_example_runs(tmp_path):
    """The README's Python API example (the ```python block that calls augcli.augment) runs as shown."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    code = next(b for b in blocks if "augcli.augment(" in b)
    for name in ("sample_data", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "out" / "try" / "api" / "manifest.csv").is_file()
