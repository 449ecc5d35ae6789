"""Tabular benchmark: augcli against imbalanced-learn's SMOTE with defaults, side by side.

    python benchmarks/bench_tabular.py [--rows 1000000] [--cols 20] [--repeat 1]

Data: ROWS x COLS normally distributed floats (the minority class shifted), 5% minority, written
once as CSV by pyarrow (shortest round-trip float text) into benchmarks/.data.
(a) baseline, a plain script: pandas.read_csv, imblearn SMOTE() with defaults (random_state=0),
    DataFrame.to_csv of the balanced table;
(b) `augcli tabular IN OUT --target y --method smote` (k = 5, the same default), all cores.
Both balance the minority up to the majority. Wall time of the whole command and peak memory
(max RSS) of each, measured in the same run; targets: (b) <= 0.7 x (a) in time, peak memory
<= 3 x the table's in-memory size (ROWS x COLS float64 + the labels).
The baseline needs pandas (`pip install pandas`; `make bench` installs it).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BASELINE = """
import sys, pandas as pd
from imblearn.over_sampling import SMOTE
src, dst = sys.argv[1], sys.argv[2]
df = pd.read_csv(src)
X, y = df.drop(columns=["y"]), df["y"]
Xr, yr = SMOTE(random_state=0).fit_resample(X, y)
Xr["y"] = yr
Xr.to_csv(dst, index=False)
"""

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def make_table(path: Path, rows: int, cols: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y = np.where(rng.random(rows) < 0.05, "minority", "majority")
    data = {f"f{j}": rng.standard_normal(rows) + (0.8 * (y == "minority") if j % 3 == 0 else 0)
            for j in range(cols)}
    data["y"] = y
    tmp = path.with_suffix(".tmp")
    pc.write_csv(pa.table(data), tmp, write_options=pc.WriteOptions(quoting_style="none"))
    text = tmp.read_bytes()
    path.write_bytes(text.replace(b'"', b""))  # unquoted header, like pandas writes it
    tmp.unlink()
    return path


def measure(cmd: list[str]) -> tuple[float, float]:
    r = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True, cwd=ROOT)
    secs, rss = r.stdout.split()
    return float(secs), int(rss) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    work = HERE / ".data" / "tabular"
    src = make_table(work / f"t{a.rows}x{a.cols}.csv", a.rows, a.cols)
    size_mb = (a.rows * a.cols * 8 + a.rows * 8) / 2**20
    best = {"base": (1e9, 0), "aug": (1e9, 0)}
    for _ in range(a.repeat):
        r = measure([sys.executable, "-c", BASELINE, str(src), str(work / "baseline.csv")])
        best["base"] = min(best["base"], r)
        r = measure([sys.executable, "-m", "augcli", "tabular", str(src), str(work / "augcli.csv"), "--target", "y",
                     "--method", "smote", "--overwrite", "--quiet"])
        best["aug"] = min(best["aug"], r)
    (tb, mb), (ta, ma) = best["base"], best["aug"]
    n_out = sum(1 for _ in open(work / "augcli.csv", "rb")) - 1
    n_base = sum(1 for _ in open(work / "baseline.csv", "rb")) - 1
    print(f"{a.rows:,} rows x {a.cols} floats, 5% minority, CSV {src.stat().st_size / 2**20:.0f} MB; "
          f"in-memory size {size_mb:.0f} MB; best of {a.repeat}")
    print(f"(a) pandas + imblearn SMOTE() + to_csv : {tb:7.1f} s   peak {mb:6.0f} MB   -> {n_base:,} rows")
    print(f"(b) augcli tabular --method smote       : {ta:7.1f} s   peak {ma:6.0f} MB   -> {n_out:,} rows")
    print(f"    time b/a = {ta / tb:.3f} (target <= 0.7); augcli peak memory = {ma / size_mb:.2f} x the table "
          f"(target <= 3)")


if __name__ == "__main__":
    main()
