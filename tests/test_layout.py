"""The house rules a newcomer relies on: no import circles between augcli's modules (counting
imports inside functions, which only hide a circle), no module that cannot be imported alone,
and a start that imports no heavy library (the CLI is run from Makefiles, many times)."""
import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PKG = ROOT / "augcli"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PKG.rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        mods[name[: -len(".__init__")] if name.endswith(".__init__") else name] = p
    return mods


def _edges(mods: dict[str, Path]) -> dict[str, set]:
    edges = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                base = n.module or ""
                if n.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - n.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in n.names]
            edges[m] |= {t for t in names if t in mods and t != m}
    return edges


def test_no_import_circles():
    edges = _edges(_modules())
    circles, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges[u]):
            if state.get(v) == 1:
                circles.append(" -> ".join(stack[stack.index(v):] + [v]))
            elif not state.get(v):
                visit(v)
        state[u] = 2
        stack.pop()

    for m in sorted(edges):
        if not state.get(m):
            visit(m)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_every_module_imports_alone():
    mods = sorted(m for m in _modules() if not m.endswith("__main__"))
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    for m in mods:  # one fresh interpreter per module: an order that hides a missing import fails here
        p = subprocess.run([sys.executable, "-c", code, m], capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 0, f"{m}: {p.stderr.strip().splitlines()[-1:]}"


def test_cli_start_imports_no_heavy_library():
    code = ("import sys, augcli.cli, augcli.api, augcli.recipe\n"
            "print(','.join(m for m in ('numpy', 'cv2', 'soundfile', 'pyarrow', 'sklearn', 'imblearn', 'scipy',"
            " 'PIL', 'yaml', 'tqdm', 'matplotlib', 'dask', 'distributed', 'fsspec', 's3fs', 'botocore')"
            " if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert p.stdout.strip() == ""


def test_a_local_run_never_imports_fsspec(tmp_path):
    """Remote paths cost nothing to a local run: fsspec (and s3fs) are imported only for a URL."""
    from conftest import make_dataset

    src = make_dataset(tmp_path / "in", {"a": 2})
    code = ("import sys, augcli\n"
            f"augcli.augment({str(src)!r}, {str(tmp_path / 'out')!r}, copies=1, workers=1)\n"
            "print(','.join(m for m in ('fsspec', 's3fs', 'dask') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert p.stdout.strip() == ""
