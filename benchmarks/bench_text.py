"""Text benchmark: sentences per second for the `eda` preset, 2 workers, whole commands timed.

    python benchmarks/bench_text.py [--repeat 3] [--workers 2] [--copies 4 1]

Corpus: benchmarks/data/wordnet_examples.txt.gz, the 23,658 usage-example sentences of WordNet 3.0
with 6 words or more (made by tools/make_text_corpus.py), written to a CSV with a label column.
(a) a plain script that reads the CSV and writes it back (csv module): the I/O floor;
(b) `augcli text CORPUS.csv OUT --copies N --no-originals` with `- eda: {alpha: 0.1}`, 2 workers;
    N = 4 is the EDA paper's recommendation for training sets of 5,000+ sentences (alpha 0.1,
    n_aug 4; Wei & Zou 2019, table 3), N = 1 shows the fixed start-up's share;
(c) the same with 1 worker;
and peak memory for the corpus and for the corpus repeated 4 times (streaming: it must not grow).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def make_corpus(dst: Path, times: int = 1) -> tuple[Path, int, float]:
    lines = gzip.decompress((HERE / "data" / "wordnet_examples.txt.gz").read_bytes()).decode("utf-8").splitlines()
    lines = lines * times
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text", "label"])
        for i, s in enumerate(lines):
            w.writerow([i, s, ("a", "b", "c")[i % 3]])
    return dst, len(lines), sum(len(s.split()) for s in lines) / len(lines)


FLOOR = """
import csv, sys, os
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline='', encoding='utf-8') as f, open(dst + '.tmp', 'w', newline='', encoding='utf-8') as g:
    w = csv.writer(g, lineterminator='\\n')
    for row in csv.reader(f):
        w.writerow(row)
os.replace(dst + '.tmp', dst)
"""


def timed(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def peak_rss(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    code = (f"import resource,subprocess;subprocess.run({cmd!r},check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(r.stdout.strip()) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--copies", type=int, nargs="+", default=[4, 1])
    a = ap.parse_args()
    work = HERE / ".data"
    corpus, n, mean_words = make_corpus(work / "text" / "corpus.csv")
    recipe = work / "text" / "eda.yaml"
    recipe.write_text("modality: text\ntransforms:\n  - eda: {alpha: 0.1}\n")
    out = work / "text" / "out"

    def aug(workers, copies, src=corpus):
        return [sys.executable, "-m", "augcli", "run", str(recipe), "--input", str(src), "--output", str(out),
                "--copies", str(copies), "--no-originals", "--workers", str(workers), "--quiet"]

    floor_cmd = [sys.executable, "-c", FLOOR, str(corpus), str(work / "text" / "floor.csv")]
    best = {}
    for _ in range(a.repeat):
        best["floor"] = min(best.get("floor", 1e9), timed(floor_cmd, out))
        for c in a.copies:
            best[(c, a.workers)] = min(best.get((c, a.workers), 1e9), timed(aug(a.workers, c), out))
            best[(c, 1)] = min(best.get((c, 1), 1e9), timed(aug(1, c), out))
    print(f"corpus: {n} WordNet example sentences, {mean_words:.1f} words on average; eda (alpha 0.1); "
          f"best of {a.repeat}; whole commands (start-up included); sentences/s = augmented sentences written per second")
    print(f"(a) I/O floor, csv read + write          : {n / best['floor']:9.0f} sentences/s ({best['floor']:.2f} s)")
    for c in a.copies:
        w, w1 = best[(c, a.workers)], best[(c, 1)]
        print(f"(b) augcli text, {c} cop{'y ' if c == 1 else 'ies'}, {a.workers} workers  : {n * c / w:9.0f} sentences/s "
              f"({w:.2f} s)   (target >= 20,000)")
        print(f"(c) augcli text, {c} cop{'y ' if c == 1 else 'ies'}, 1 worker   : {n * c / w1:9.0f} sentences/s "
              f"({w1:.2f} s)   speed-up {w1 / w:.2f}x")
    big, n4, _ = make_corpus(work / "text" / "corpus4.csv", 4)
    m1 = peak_rss(aug(a.workers, 1), out)
    m4 = peak_rss(aug(a.workers, 1, big), out)
    print(f"    peak memory (max RSS of one process): {m1:.0f} MB for {n} rows, {m4:.0f} MB for {n4} rows")


if __name__ == "__main__":
    main()
