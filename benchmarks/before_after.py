"""Before vs after a change: the same outputs byte for byte, and the speed, side by side in one run.

    python benchmarks/before_after.py [--ref 36dddb6] [--after HEAD|worktree] [--rounds 3]
                                      [--only outputs|speed] [--workloads NAME ...]

"Before" is REF (default 36dddb6, the tree before the restructuring of issue 14) and "after" is
--after (default HEAD: the committed code, so that uncommitted edits in this working tree do not
count; `--after worktree` takes this tree as it is), each checked out in a temporary git
worktree (removed at the end). Both run with the same Python (this venv) and PYTHONPATH set to
their tree, from a folder without an augcli/ in it (so that neither picks up other code), with
their bytecode cached alike (PYTHONPYCACHEPREFIX in the temporary folder). If a checked-out
commit has augcli/_planes.c, the compiled extension augcli/_planes*.so of this tree is copied
into its worktree, so that both take the same planar JPEG path (the report says so).

1. Outputs. sample_data/ and examples/ are copied once to a temporary folder; each tree runs
   `python -m augcli run examples/{image,audio,text,tabular}.yaml --overwrite -q` on that same
   copy (so the inputs' mtimes are the same), and its out/ is then moved aside (out.before,
   out.after: the recipes' own output paths are the ones recorded). The trees are compared file
   by file: sha256 of every file outside .augcli/; manifest.csv as bytes and as sorted lines (the
   rows' order may differ: completion order before, plan order after); *.summary.json on the
   keys both have minus `seconds`, listing the keys only one has. One verdict per modality.

2. Speed. Whole commands (a fresh process each, start-up included), 2 workers, before/after
   alternated A B B A in every round (a drift of the VM's speed favours neither side); per round
   the ratio after/before of the summed times; reported: the median over the rounds and their
   range. Workloads (data made by the other benchmarks' code, cached in benchmarks/.data/):
     image-1copy  `augcli image PHOTOS OUT -r STEPS --copies 1 --no-originals`, the example's six
                  steps, on --photos 1024x768 JPEGs (default 300; bench_image.make_photos);
     image-recipe `augcli run examples/image.yaml --input PHOTOS` (copies 2, originals, balance,
                  val 0.2);
     audio        `augcli run examples/audio.yaml --input CLIPS`, --clips clips of 3-5 s (default
                  100; bench_audio.make_clips);
     text         `augcli run examples/text.yaml --input CORPUS --copies 4` (bench_text.make_corpus:
                  the 23,658 WordNet sentences);
     tabular      `augcli tabular TABLE OUT --target y --method smote` on --rows x --cols floats
                  (default 200,000 x 10), 5% minority (bench_tabular.make_table).
   Before the timed rounds, each tree runs the four examples and each workload once, untimed.
   And the CLI's start: `augcli --version` and `augcli image --help` (the console script), 10 runs
   each per tree, alternated the same way; medians and the ratio.
A ratio whose whole range is above 1.05 is flagged as slower beyond the noise. The machine is
watched meanwhile (/proc/stat): a block during which other processes took over 10% of the cores
(another test run, a build) is done again once the machine is quiet, and the report says how many
were redone. The default run
(3 rounds) takes about 4 minutes on 2 cores, once the data are made.
Do not run anything else on the machine meanwhile (the test suite included).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
MODALITIES = ("image", "audio", "text", "tabular")
OUT_OF = {"image": "out/images", "audio": "out/audio", "text": "out/text", "tabular": "out/tabular"}
NOISE = 0.05  # a ratio range entirely above 1 + NOISE is "slower beyond the noise"


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=check)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_hash(folder: Path, data_only: bool = False) -> str:
    """One hash of a folder: every file's relative path and sha256, in sorted order; data_only:
    leaving out .augcli/, manifest.csv and *.summary.json (compared on their own)."""
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        rel = p.relative_to(folder)
        if data_only and (".augcli" in rel.parts or rel.name == "manifest.csv" or rel.name.endswith(".summary.json")):
            continue
        h.update(f"{rel.as_posix()} {sha256(p)}\n".encode())
    return h.hexdigest()


class Tree:
    """One side of the comparison: a source tree run with PYTHONPATH set to it."""

    def __init__(self, name: str, path: Path, commit: str, pycache: Path):
        self.name, self.path, self.commit = name, path, commit
        # bytecode is cached for both trees alike (as after an install), outside the source trees
        self.env = {**os.environ, "PYTHONPATH": str(path), "PYTHONPYCACHEPREFIX": str(pycache)}
        for k in ("PYTHONDONTWRITEBYTECODE", "AUGCLI_PLANAR"):
            self.env.pop(k, None)

    def run(self, cmd: list[str], cwd: Path) -> float:
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{self.name} ({self.commit}) failed with exit code {r.returncode}: "
                             f"{' '.join(cmd)}\n{r.stderr[-2000:]}")
        return dt

    def probe(self, code: str, cwd: Path) -> str:
        r = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=self.env, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else f"error: {r.stderr.strip().splitlines()[-1]}"


# ----------------------------------------------------------------------------------------------
# 1. outputs
# ----------------------------------------------------------------------------------------------
def compare_manifest(a: Path, b: Path) -> tuple[bool | str, str]:
    x, y = a.read_bytes(), b.read_bytes()
    if x == y:
        return True, "same bytes"
    lx, ly = x.splitlines(), y.splitlines()
    if lx[:1] == ly[:1] and sorted(lx[1:]) == sorted(ly[1:]):
        return "same rows", "bytes differ; same header and same rows in another order (sorted lines equal)"
    return False, "DIFFERENT, also as sorted lines"


def compare_summary(a: Path, b: Path) -> tuple[bool, str]:
    x, y = json.loads(a.read_text()), json.loads(b.read_text())
    common = (set(x) & set(y)) - {"seconds"}
    differ = sorted(k for k in common if x[k] != y[k])
    added, removed = sorted(set(y) - set(x)), sorted(set(x) - set(y))
    text = (f"{'same' if not differ else 'DIFFERENT in ' + ', '.join(differ)} on the {len(common)} common keys "
            f"minus seconds; added: {', '.join(added) or 'none'}; removed: {', '.join(removed) or 'none'}")
    return not differ and not removed, text


def compare_outputs(before: Path, after: Path) -> tuple[list[tuple[str, bool | str, str]], str]:
    """Rows (file, ok, what) and a verdict for one modality's output folders."""
    def files(d):
        return {p.relative_to(d).as_posix() for p in d.rglob("*")
                if p.is_file() and ".augcli" not in p.relative_to(d).parts}

    fa, fb = files(before), files(after)
    rows, data_same, data_n, notes = [], True, 0, []
    for rel in sorted(fa | fb):
        if rel not in fb or rel not in fa:
            rows.append((rel, False, f"only {'before' if rel in fa else 'after'}"))
            data_same = False
            continue
        a, b = before / rel, after / rel
        if rel.endswith("manifest.csv"):
            ok, what = compare_manifest(a, b)
            notes.append(f"manifest.csv: {what}")
        elif rel.endswith(".summary.json"):
            ok, what = compare_summary(a, b)
            notes.append(f"{Path(rel).name}: {what}")
        else:
            data_n += 1
            ha, hb = sha256(a), sha256(b)
            ok, what = ha == hb, ("same sha256 " if ha == hb else "DIFFERENT sha256 ") + ha[:12] + (
                "" if ha == hb else f" / {hb[:12]}")
            data_same &= ok
        rows.append((rel, ok, what))
    all_ok = all(ok for _, ok, _ in rows)
    verdict = (f"{'IDENTICAL' if all_ok else 'DIFFERENT'}: {data_n} data files "
               f"{'byte for byte' if data_same else 'NOT all equal'}; " + "; ".join(notes))
    return rows, verdict


def outputs(trees: list[Tree], tmp: Path) -> dict:
    inputs = tmp / "inputs"
    inputs.mkdir()
    for d in ("sample_data", "examples"):  # copied ONCE: both trees read the same files, same mtimes
        shutil.copytree(ROOT / d, inputs / d, symlinks=True)
    h0 = tree_hash(inputs / "sample_data")
    for t in trees:
        for m in MODALITIES:
            t.run([sys.executable, "-m", "augcli", "run", f"examples/{m}.yaml", "--overwrite", "-q"], inputs)
        (inputs / "out").rename(inputs / f"out.{t.name}")  # the recorded output paths stay the recipes' own
    untouched = tree_hash(inputs / "sample_data") == h0
    print(f"\n== Outputs: `python -m augcli run examples/M.yaml --overwrite -q` in one copy of sample_data/ and "
          f"examples/ ({inputs}); inputs unchanged by both runs: {'yes' if untouched else 'NO'}")
    verdicts = {}
    width = 56
    print(f"{'file':<{width}} {'result':<10} detail")
    for m in MODALITIES:
        b, a = inputs / "out.before" / OUT_OF[m][4:], inputs / "out.after" / OUT_OF[m][4:]
        rows, verdict = compare_outputs(b, a)
        for rel, ok, what in rows:
            status = ok if isinstance(ok, str) else "same" if ok else "DIFFERENT"
            print(f"{m + '/' + rel:<{width}} {status:<10} {what}")
        hb, ha = tree_hash(b, data_only=True), tree_hash(a, data_only=True)
        verdicts[m] = f"{verdict}; data tree hash before {hb[:16]}, after {ha[:16]}"
    print()
    for m in MODALITIES:
        print(f"  {m:<8} {verdicts[m]}")
    return verdicts


# ----------------------------------------------------------------------------------------------
# 2. speed
# ----------------------------------------------------------------------------------------------
def workloads(a, tmp: Path) -> dict[str, tuple[list[str], Path, str]]:
    """name -> (command, output to remove before each run, description)."""
    from bench_audio import make_clips
    from bench_image import TRANSFORMS, make_photos
    from bench_tabular import make_table
    from bench_text import make_corpus

    data = HERE / ".data"
    data.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    photos = make_photos(data / f"photos{a.photos}", a.photos)
    clips, seconds = make_clips(data / f"clips{a.clips}", a.clips)
    corpus, n_text, _ = make_corpus(data / "text" / "corpus.csv")
    table = make_table(data / "tabular" / f"t{a.rows}x{a.cols}.csv", a.rows, a.cols)
    print(f"(data ready in {time.perf_counter() - t0:.1f} s)")
    steps = tmp / "steps.yaml"
    steps.write_text("modality: image\n" + TRANSFORMS)
    out = tmp / "speed_out"
    py, w = [sys.executable, "-m", "augcli"], ["--workers", str(a.workers), "-q"]
    return {
        "image-1copy": (py + ["image", str(photos), str(out), "-r", str(steps), "--copies", "1", "--no-originals",
                              "--seed", "1", *w], out,
                        f"{a.photos} 1024x768 JPEGs, the example's six steps, 1 copy each, no originals"),
        "image-recipe": (py + ["run", "examples/image.yaml", "--input", str(photos), "--output", str(out), *w], out,
                         f"the same {a.photos} photos, examples/image.yaml (copies 2, originals, balance, val 0.2)"),
        "audio": (py + ["run", "examples/audio.yaml", "--input", str(clips), "--output", str(out), *w], out,
                  f"{a.clips} clips ({seconds:.0f} s of speech, 16-48 kHz), examples/audio.yaml (copies 3, val 0.2)"),
        "text": (py + ["run", "examples/text.yaml", "--input", str(corpus), "--output", str(out), "--copies", "4", *w],
                 out, f"{n_text:,} WordNet sentences, examples/text.yaml with --copies 4 (val 0.2)"),
        "tabular": (py + ["tabular", str(table), str(out / "t.csv"), "--target", "y", "--method", "smote", *w], out,
                    f"{a.rows:,} rows x {a.cols} floats, 5% minority, SMOTE k=5 up to the majority"),
    }


def ratio_line(ratios: list[float], unit: str) -> tuple[str, str]:
    med, lo, hi = statistics.median(ratios), min(ratios), max(ratios)
    flag = ("SLOWER beyond the noise" if lo > 1 + NOISE else "faster beyond the noise" if hi < 1 - NOISE
            else "within the noise")
    return f"{med:.3f} (range {lo:.3f}-{hi:.3f}, {len(ratios)} {unit})", flag


class OtherLoad:
    """CPU time the machine spent on anything but this script and its commands (another test run,
    a build...), from /proc/stat: the busy time of all cores minus ours and our children's. A share
    of a few % of the cores is the system's own; more means the block was disturbed."""

    def __init__(self):
        self.t0, self.ours0, self.busy0 = time.perf_counter(), self._ours(), self._busy()

    @staticmethod
    def _ours() -> float:
        r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(x.ru_utime + x.ru_stime for x in r)

    @staticmethod
    def _busy() -> float | None:
        try:
            f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        except (OSError, ValueError):
            return None
        return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait

    def share(self) -> float | None:
        """Other processes' CPU time as a share of all cores' time since __init__."""
        busy = self._busy()
        if busy is None or self.busy0 is None:
            return None
        wall = (time.perf_counter() - self.t0) * (os.cpu_count() or 1)
        return max(0.0, (busy - self.busy0) - (self._ours() - self.ours0)) / wall


DISTURBED = 0.10  # other processes took more than this share of the cores during a block


def wait_quiet(limit: float = 900.0) -> float:
    """Wait (at most `limit` s) until other processes use under DISTURBED of the cores for 6 s in a
    row; returns the seconds waited."""
    t0, calm = time.perf_counter(), 0
    while calm < 3 and time.perf_counter() - t0 < limit:
        probe = OtherLoad()
        time.sleep(2.0)
        share = probe.share()
        if share is None:
            return 0.0
        calm = calm + 1 if share < DISTURBED else 0
    return time.perf_counter() - t0


def clean_abba(before: Tree, after: Tree, cmd: list[str], clean: Path, cwd: Path, tries: int = 4):
    """abba(), done again (after waiting for a quiet machine) while other processes disturbed it;
    returns its result and how many times it was redone."""
    for k in range(tries):
        tb, ta, other = abba(before, after, cmd, clean, cwd)
        if other <= DISTURBED or k == tries - 1:
            return (tb, ta, other), k
        waited = wait_quiet()
        print(f"    (other processes took {other:.0%} of the cores: block redone after waiting {waited:.0f} s "
              "for a quiet machine)", flush=True)


def abba(before: Tree, after: Tree, cmd: list[str], clean: Path, cwd: Path) -> tuple[list[float], list[float], float]:
    """One A B B A block: (the two times before, the two times after, in seconds; the other load)."""
    got, written, load = {"before": [], "after": []}, {}, OtherLoad()
    for t in (before, after, after, before):
        shutil.rmtree(clean, ignore_errors=True)
        got[t.name].append(t.run(cmd, cwd))
        written.setdefault(t.name, sum(1 for p in clean.rglob("*") if p.is_file() and ".augcli" not in p.parts))
    other = load.share()
    shutil.rmtree(clean, ignore_errors=True)
    if written["before"] != written["after"]:  # a sanity check: both did the same work
        raise SystemExit(f"{' '.join(cmd)}: {written['before']} files written before, {written['after']} after")
    return got["before"], got["after"], -1.0 if other is None else other


def speed(a, trees: list[Tree], tmp: Path) -> dict:
    before, after = trees
    inputs = tmp / "inputs"
    if not inputs.exists():
        inputs.mkdir()
        for d in ("sample_data", "examples"):
            shutil.copytree(ROOT / d, inputs / d, symlinks=True)
    print(f"\n== Speed: whole commands, {a.workers} workers, {a.rounds} rounds of A B B A (before, after, after, "
          f"before); ratio = after/before of the summed times; run from {inputs}")
    loads = workloads(a, tmp)
    if a.workloads:
        unknown = set(a.workloads) - set(loads) - {"start"}
        if unknown:
            raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}; allowed: {', '.join(loads)}, start")
        loads = {k: v for k, v in loads.items() if k in a.workloads}
    for name, (cmd, _, desc) in loads.items():
        print(f"  {name:<13} {desc}\n  {'':<13} $ {' '.join(['augcli'] + cmd[3:])}")
    cli = Path(sys.executable).with_name("augcli")
    starts = {"--version": [str(cli), "--version"], "image --help": [str(cli), "image", "--help"]}
    for t in trees:  # warm both trees (bytecode of every module a run imports, page cache) before timing
        t.run(starts["image --help"], inputs)
        for m in MODALITIES:
            t.run([sys.executable, "-m", "augcli", "run", f"examples/{m}.yaml", "--overwrite", "-q"], inputs)
        shutil.rmtree(inputs / "out")
    for cmd, clean, _ in loads.values():  # and one untimed run of each workload (data in the page cache)
        for t in trees:
            shutil.rmtree(clean, ignore_errors=True)
            t.run(cmd, inputs)
        shutil.rmtree(clean, ignore_errors=True)
    os.sync()
    res, redone = {name: [] for name in loads}, 0
    if wait_quiet() > 6.5:
        print("  (waited for other processes to finish before timing)")
    for r in range(a.rounds):
        parts = []
        for name, (cmd, clean, _) in loads.items():
            (tb, ta, other), k = clean_abba(before, after, cmd, clean, inputs)
            res[name].append((tb, ta, other))
            redone += k
            parts.append(f"{name} {sum(tb) / 2:.2f}/{sum(ta) / 2:.2f} s ({sum(ta) / sum(tb):.3f}"
                         + (f", other load {other:.0%}!" if other > DISTURBED else "") + ")")
        print(f"  round {r + 1}: before/after per run: " + ";  ".join(parts), flush=True)
    for name, cmd in (starts.items() if not a.workloads or "start" in a.workloads else ()):
        res["start " + name] = []
        for _ in range(a.startup // 2):
            block, k = clean_abba(before, after, cmd, tmp / "none", inputs)
            res["start " + name].append(block)
            redone += k
    print(f"\n{'workload':<20} {'before s':>9} {'after s':>9}   after/before time ratio, A B B A blocks: median "
          "(range)   [times: median of the single runs]")
    summary, disturbed = {}, 0
    for name, blocks in res.items():
        disturbed += sum(b[2] > DISTURBED for b in blocks)
        tb = statistics.median(x for b in blocks for x in b[0])
        ta = statistics.median(x for b in blocks for x in b[1])
        start = name.startswith("start")
        line, flag = ratio_line([sum(b[1]) / sum(b[0]) for b in blocks],
                                f"blocks; {len(blocks) * 2} runs each; ratio of the medians {ta / tb:.3f}" if start
                                else "rounds")
        print(f"{name:<20} {tb:9.3f} {ta:9.3f}   {line}  {flag}")
        summary[name] = (tb, ta, line, flag)
    loads_seen = [b[2] for blocks in res.values() for b in blocks if b[2] >= 0]
    if loads_seen:
        print(f"other processes' share of the cores per block kept: median {statistics.median(loads_seen):.1%}, "
              f"max {max(loads_seen):.1%}; blocks redone because something else ran: {redone}"
              + (f"; {disturbed} kept block(s) above {DISTURBED:.0%}: run again on a quiet machine"
                 if disturbed else ""))
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="36dddb6", help="the 'before' commit (default: 36dddb6)")
    ap.add_argument("--after", default="HEAD", help="the 'after' commit, checked out in a worktree too (default: "
                    "HEAD, so that uncommitted edits in this tree do not count); 'worktree': this tree as it is")
    ap.add_argument("--rounds", type=int, default=3, help="A B B A rounds per workload (default 3)")
    ap.add_argument("--only", choices=("outputs", "speed"), help="run one part only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--photos", type=int, default=300, help="1024x768 JPEGs for the image workloads (default 300)")
    ap.add_argument("--clips", type=int, default=100, help="clips of 3-5 s for the audio workload (default 100)")
    ap.add_argument("--rows", type=int, default=200_000, help="table rows (default 200,000)")
    ap.add_argument("--cols", type=int, default=10, help="table float columns (default 10)")
    ap.add_argument("--startup", type=int, default=10, help="runs of each start-up command per tree (default 10)")
    ap.add_argument("--workloads", nargs="+", metavar="NAME", help="time these only (image-1copy image-recipe audio "
                    "text tabular start)")
    a = ap.parse_args()

    ref = git("rev-parse", "--verify", f"{a.ref}^{{commit}}").stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="augcli-before-after-"))
    so = sorted((ROOT / "augcli").glob("_planes*.so"))
    made: list[Path] = []

    def checkout(rev: str, name: str) -> Path:
        """A worktree of rev; this tree's compiled extension copied in if rev has its source."""
        wt = tmp / name
        git("worktree", "add", "--detach", str(wt), rev)
        made.append(wt)
        if git("cat-file", "-e", f"{rev}:augcli/_planes.c", check=False).returncode == 0:
            if so:
                for f in so:
                    shutil.copy2(f, wt / "augcli" / f.name)
                print(f"  {rev[:7]} has augcli/_planes.c: copied this tree's compiled "
                      f"{', '.join(f.name for f in so)} into it (both trees take the same planar JPEG path)")
            else:
                print(f"  {rev[:7]}: no compiled augcli/_planes*.so in this tree to copy: OpenCV alone for JPEGs")
        else:
            print(f"  {rev[:7]} has no augcli/_planes.c: it uses OpenCV alone for JPEGs")
        return wt

    try:
        print(f"augcli before/after, {datetime.datetime.now().isoformat(timespec='minutes')}, "
              f"{os.cpu_count()} cores, Python {sys.version.split()[0]} ({sys.executable})")
        trees = [Tree("before", checkout(ref, "before"), ref[:7], tmp / "pycache")]
        if a.after == "worktree":
            head = git("rev-parse", "HEAD").stdout.strip()
            dirty = git("status", "--porcelain", "--", "augcli").stdout.strip()
            trees.append(Tree("after", ROOT, head[:7] + (" + uncommitted augcli/ changes" if dirty else ""),
                              tmp / "pycache"))
        else:
            rev = git("rev-parse", "--verify", f"{a.after}^{{commit}}").stdout.strip()
            trees.append(Tree("after", checkout(rev, "after"), rev[:7], tmp / "pycache"))
        for t in trees:
            print(f"  {t.name:<6}: {t.commit} ({t.path})")
        print(f"  bytecode cached under {tmp / 'pycache'} (PYTHONPYCACHEPREFIX) for both trees alike, warmed up "
              "before anything is timed")
        probe = "import os, augcli; print(os.path.dirname(os.path.dirname(augcli.__file__)))"
        for t in trees:
            where = t.probe(probe, tmp)
            planes = t.probe("import augcli._planes; print('yes')", tmp)
            print(f"  {t.name:<6} imports augcli from {where}; planar extension importable: {planes}")
            if Path(where).resolve() != t.path.resolve():
                raise SystemExit(f"{t.name}: augcli comes from {where}, not {t.path}")
        if a.only in (None, "outputs"):
            outputs(trees, tmp)
        if a.only in (None, "speed"):
            speed(a, trees, tmp)
    finally:
        for wt in made:
            git("worktree", "remove", "--force", str(wt), check=False)
        git("worktree", "prune", check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
