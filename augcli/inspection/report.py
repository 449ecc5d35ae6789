"""`augcli report OUTPUT`: what a run (finished or interrupted) wrote, from its manifest.

Counts per split and class (originals, augmented, on disk), failures grouped by reason, how
often each step fired and the range of each sampled parameter; `--html` writes one
self-contained page (charts and thumbnails inline as data: URIs, no network, no JavaScript).
An annotated dataset (the manifest's `annotations` ops) also gets its objects per class in the
input and in the output, the objects dropped by reason, and (HTML) its samples with labels drawn.
"""
from __future__ import annotations

import base64
import html
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from ..errors import UsageError
from ..manifest import COLUMNS, NAME, read_rows

MARKER = ".augcli"
TABLE_NOTE = "interrupted text-table run; run the same command again to resume"


def _stats(rows: list[dict]):
    steps = Counter()
    params: dict = defaultdict(lambda: [float("inf"), float("-inf")])
    for r in rows:
        if r["status"] != "ok" or r["augmented"] != "1":
            continue
        try:
            ops = json.loads(r["ops"] or "[]")
        except ValueError:
            continue
        for op in ops:
            name = op.get("name", "?")
            if "skipped" in op:
                steps[f"{name} (skipped)"] += 1
                continue
            steps[name] += 1
            for k, v in op.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("offset", "noise_seed",
                                                                                          "fill_seed", "seed"):
                    lo_hi = params[(name, k)]
                    lo_hi[0], lo_hi[1] = min(lo_hi[0], v), max(lo_hi[1], v)
    return steps, dict(params)


def _count_records(path: Path) -> int:
    """Data records in a CSV/TSV/JSONL table written by augcli (0 when it is missing)."""
    import csv

    if not path.is_file():
        return 0
    with open(path, newline="", encoding="utf-8") as f:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return sum(1 for line in f if line.strip())
        csv.field_size_limit(1 << 30)
        return max(0, sum(1 for _ in csv.reader(f, delimiter="\t" if path.suffix.lower() in (".tsv", ".tab") else ",")) - 1)


def _counted_rows(stats: dict) -> list[dict]:
    """Rows standing in for a finished chunk's outputs, from the counts of its marker alone."""
    def row(split, aug, status):
        return {"path": "", "source": "", "label": "", "split": split, "augmented": aug, "ops": "[]",
                "status": status, "error": ""}
    return ([row("train", "0", "ok")] * stats.get("orig", 0) + [row("train", "1", "ok")] * stats.get("aug", 0)
            + [row("val", "0", "ok")] * stats.get("val", 0) + [row("train", "1", "dropped")] * stats.get("dropped", 0))


def _part_rows(parts: Path) -> list[dict]:
    """The rows of an interrupted text-table run: each finished chunk has a NNNNNNN.json marker
    (counts orig, aug, val, dropped) and its manifest rows, without their path (a row's place in
    train.<ext> is known only when the table is joined), in NNNNNNN.manifest."""
    import csv
    import io

    rows = []
    for marker in sorted(parts.glob("[0-9]*.json")):
        try:
            stats = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue  # markers are written atomically: this is not one
        want = sum(stats.get(k, 0) for k in ("orig", "aug", "val", "dropped"))
        try:
            text = marker.with_suffix(".manifest").read_text(encoding="utf-8")
            got = [{**r, "path": ""} for r in csv.DictReader(io.StringIO(text, newline=""), COLUMNS[1:])
                   if r.get("status") in ("ok", "failed", "dropped")]
        except (OSError, UnicodeDecodeError, csv.Error):
            got = []
        rows += got if len(got) == want else _counted_rows(stats)
    return rows


def collect(out: Path) -> dict:
    if out.is_file() or (not out.exists() and Path(str(out) + ".summary.json").exists()):
        s = Path(str(out) + ".summary.json")
        if not s.exists():
            raise UsageError(f"{out}: no {s.name} beside it; is it an augcli tabular output?")
        return {"tabular": json.loads(s.read_text())}
    if not out.is_dir():
        raise UsageError(f"{out}: not found")
    marker = out / MARKER / "run.json"
    if not marker.is_file():
        raise UsageError(f"{out}: not an augcli output folder (no {MARKER}/run.json)")
    info = json.loads(marker.read_text())
    parts = out / MARKER / "parts"
    note = "run the same command again to resume"
    if not (out / NAME).exists() and parts.is_dir():  # a text table: its manifest is written at the end
        rows, note = _part_rows(parts), TABLE_NOTE
    else:
        rows = read_rows(out / NAME)
    planned = info.get("planned")
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] == "failed"]
    dropped = [r for r in rows if r["status"] == "dropped"]
    counts = defaultdict(lambda: {"originals": 0, "augmented": 0, "on_disk": 0})
    table_rows: dict[str, int] = {}
    for r in ok:
        key = (r["split"], r["label"] or "(no label)")
        counts[key]["augmented" if r["augmented"] == "1" else "originals"] += 1
        p = r["path"]
        if "#" in p:  # a row of a text table, train.csv#N: on disk when the table has row N
            name, n = p.rsplit("#", 1)
            if name not in table_rows:
                table_rows[name] = _count_records(out / name)
            counts[key]["on_disk"] += int(n) < table_rows[name]
        elif (out / p).is_file():
            counts[key]["on_disk"] += 1
    done = len(ok) + len(dropped) + len(failed)
    incomplete = (planned is not None and done < planned) or parts.exists() or not (out / NAME).exists()
    by_reason = defaultdict(list)
    for r in failed:
        by_reason[r["error"]].append(r["source"])
    steps, params = _stats(rows)
    objects = _objects(rows, out)
    return {"objects": objects} | {"out": str(out), "modality": info.get("modality", "?"), "planned": planned, "done": done,
            "ok": len(ok), "failed": len(failed), "dropped": len(dropped), "incomplete": incomplete, "note": note,
            "counts": {f"{s}\t{c}": v for (s, c), v in sorted(counts.items())}, "failures": dict(by_reason),
            "steps": dict(steps.most_common()), "params": {f"{n}.{k}": v for (n, k), v in sorted(params.items())},
            "rows": rows}


def _annotations_op(r: dict) -> tuple[dict | None, bool]:
    """(the `annotations` op of a written row of an annotated run, whether a mixing step brought
    partners' objects into it); (None, False) for any other row."""
    if r["status"] != "ok" or '"annotations"' not in (r.get("ops") or ""):
        return None, False
    try:
        ops = json.loads(r["ops"])
        op = next((op for op in ops if op.get("name") == "annotations"), None)
        return op, any(("partner" in o or "partners" in o) and "skipped" not in o for o in ops)
    except (ValueError, AttributeError, TypeError):
        return None, False


def _source_rank(r: dict, op: dict, mixed: bool) -> tuple:
    """Which row tells a source's own objects best (lowest first): its original, an unmixed copy,
    then the mixed copy with the fewest objects in (mixing only adds the partners' objects)."""
    return (0 if r["augmented"] == "0" else 1 + mixed, op.get("objects_in", 0))


def _objects(rows: list[dict], out: Path) -> dict | None:
    """Objects per class [input, output] and dropped by reason, from the `annotations` ops: the
    input counted once per source (see _source_rank), the output summed over every written image;
    None when no row has such an op (not an annotated dataset)."""
    best: dict = {}  # source -> (rank, classes of that row)
    out_n, dropped, found = Counter(), Counter(), False
    for r in rows:
        op, mixed = _annotations_op(r)
        if op is None:
            continue
        found = True
        classes = op.get("classes") or {}
        rank = _source_rank(r, op, mixed)
        if r["source"] not in best or rank < best[r["source"]][0]:
            best[r["source"]] = (rank, classes)
        for c, (_, n) in classes.items():
            out_n[c] += n
        dropped.update(op.get("dropped") or {})
    if not found:
        return None
    in_n = Counter()
    for _, classes in best.values():
        for c, (n, _) in classes.items():
            in_n[c] += n
    names = _class_names(out)
    from ..annotations.draw import class_name

    keys = sorted(set(in_n) | set(out_n), key=lambda c: (0, int(c), c) if c.isdigit() else (1, 0, c))
    return {"classes": {c: {"name": class_name(names, c), "input": in_n[c], "output": out_n[c]} for c in keys},
            "input": sum(in_n.values()), "output": sum(out_n.values()), "sources": len(best),
            "mixed_only": sum(rank[0] == 2 for rank, _ in best.values()), "dropped": dict(dropped.most_common())}


def _class_names(out: Path) -> dict:
    """The class names of the dataset augcli wrote to `out` ({} when it has none or they cannot be read)."""
    from ..annotations import formats

    try:
        fmt = formats.open_output(out)
    except Exception:  # noqa: BLE001 - names are a nicety: ids are shown instead
        return {}
    return fmt.names if fmt is not None else {}


def _class_label(c: str, info: dict) -> str:
    """"person (0)": a class's name and id ("car" when the class is named, not numbered)."""
    return info["name"] if info["name"] == c else f"{info['name']} ({c})"


def _mixed_note(obj: dict) -> str:
    n = obj["mixed_only"]
    return (f"{n} source{'s' if n > 1 else ''} written only in mixed copies: counted with the mixing partners' "
            "objects")


def print_objects(obj: dict, file=sys.stdout) -> None:
    print("objects per class (input: each source once; output: every image written):", file=file)
    print(f"  {'class':<30} {'input':>8} {'output':>8}", file=file)
    for c, info in obj["classes"].items():
        print(f"  {_class_label(c, info):<30} {info['input']:>8} {info['output']:>8}", file=file)
    print(f"  {'total':<30} {obj['input']:>8} {obj['output']:>8}", file=file)
    if obj["mixed_only"]:
        print(f"  (input: {_mixed_note(obj)})", file=file)
    if obj["dropped"]:
        print(f"objects dropped by reason ({sum(obj['dropped'].values())} in all):", file=file)
        for reason, n in obj["dropped"].items():
            print(f"  {n:>5} x {reason}", file=file)


def _ranges(rep: dict, step: str) -> str:
    """"angle -16.8..15.7, zx 0.906..1.09": the sampled range of each numeric parameter of a step."""
    return ", ".join(f"{k.split('.', 1)[1]} {lo:.4g}..{hi:.4g}" for k, (lo, hi) in rep["params"].items()
                     if k.split(".", 1)[0] == step)


def print_report(rep: dict, file=sys.stdout) -> None:
    if "tabular" in rep:
        t = rep["tabular"]
        print(f"tabular: {t['input']} -> {t['output']} ({t['method']}, seed {t['seed']}): "
              f"{t['rows_before']} rows -> {t['rows_after']}", file=file)
        for c in t["classes"]:
            print(f"  {c['class']:<24} {c['before']:>9} -> {c['after']:>9}  {c['method']} {c['note']}", file=file)
        return
    of = f" of {rep['planned']}" if rep["planned"] is not None else ""
    state = (f"INCOMPLETE: {rep['done']}{of} outputs done ({rep['note']})"
             if rep["incomplete"] else f"complete: {rep['done']}{of} outputs")
    print(f"{rep['out']} ({rep['modality']}): {state}", file=file)
    print(f"  {rep['ok']} written, {rep['failed']} failed, {rep['dropped']} dropped", file=file)
    if rep["note"] == TABLE_NOTE:
        print(f"  the finished chunks' rows wait in {Path(rep['out']) / MARKER / 'parts'}; the tables and "
              "manifest.csv are written when the run completes", file=file)
    print(f"  {'split':<6} {'class':<24} {'originals':>9} {'augmented':>9} {'on disk':>8}", file=file)
    for key, c in rep["counts"].items():
        s, label = key.split("\t")
        print(f"  {s:<6} {label:<24} {c['originals']:>9} {c['augmented']:>9} {c['on_disk']:>8}", file=file)
    if rep.get("objects"):
        print_objects(rep["objects"], file)
    if rep["failures"]:
        print("failures by reason:", file=file)
        for reason, sources in sorted(rep["failures"].items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(sources):>5} x {reason}  (e.g. {sources[0]})", file=file)
    if rep["steps"]:
        n_aug = sum(c["augmented"] for c in rep["counts"].values())
        print(f"steps (how often each fired in {n_aug} augmented outputs) and sampled ranges:", file=file)
        for name, n in rep["steps"].items():
            print(f"  {name:<20} {n:>7}  {_ranges(rep, name)}", file=file)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def _data_uri(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


def _balance_chart(rep: dict) -> bytes:
    from .preview import _plt, _png

    plt = _plt()
    keys = [k for k in rep["counts"] if k.startswith("train\t")] or list(rep["counts"])
    labels = [k.split("\t")[1] for k in keys]
    orig = [rep["counts"][k]["originals"] for k in keys]
    aug = [rep["counts"][k]["augmented"] for k in keys]
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(keys) + 2), 3))
    ax.bar(labels, orig, label="originals")
    ax.bar(labels, aug, bottom=orig, label="augmented")
    ax.set_title("training set per class")
    ax.legend()
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def _thumb(path: Path, size: int = 160, fmt=None, rel: str = "") -> str | None:
    """A JPEG thumbnail of the image at `path` as a data: URI; with `fmt` (the output's annotation
    format), the annotation of its image `rel` drawn on it first."""
    try:
        import cv2
        import numpy as np

        from .preview import _to_rgb8

        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None:
            return None
        if fmt is not None:
            img = _drawn(img, fmt, rel)
        h, w = img.shape[:2]
        s = size / max(h, w)
        small = cv2.resize(_to_rgb8(img), (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        return _data_uri(buf.tobytes(), "image/jpeg") if ok else None
    except Exception:  # noqa: BLE001 - a thumbnail is optional
        return None


def _drawn(img, fmt, rel: str):
    """img (as read) with the annotation fmt reads for the output image `rel` drawn on it (BGR uint8)."""
    import cv2

    from ..annotations.draw import draw
    from .preview import _to_rgb8

    try:
        ann = fmt.read_output(rel)
    except Exception:  # noqa: BLE001 - a sample without its labels is still worth showing
        return img
    return draw(cv2.cvtColor(_to_rgb8(img), cv2.COLOR_RGB2BGR), ann, fmt.names)


def _output_format(rep: dict, out_dir: Path):
    """The annotation format of an annotated output (None otherwise, or when it cannot be opened)."""
    if not rep.get("objects"):
        return None
    from ..annotations import formats

    try:
        return formats.open_output(out_dir)
    except Exception:  # noqa: BLE001 - the samples are then shown without labels
        return None


def _samples_html(rep: dict, out_dir: Path, samples: int) -> list[str]:
    """One row per source: its name as the row's heading, then its original and copies (with their
    labels drawn, for an annotated dataset)."""
    e = html.escape
    fmt = _output_format(rep, out_dir)
    p = ["<h2>Samples: outputs next to their sources" + (", labels drawn" if fmt else "") + "</h2>"]
    by_src = defaultdict(list)
    for r in rep["rows"]:
        if r["status"] == "ok":
            by_src[r["source"]].append(r)
    shown = 0
    for source, rs in by_src.items():
        orig = next((r for r in rs if r["augmented"] == "0"), None)
        aug = [r for r in rs if r["augmented"] == "1"][:4]
        if not aug:
            continue
        p.append(f'<div class="sample"><h3>{e(source)}</h3>')
        for r in ([orig] if orig else []) + aug:
            uri = _thumb(out_dir / r["path"], fmt=fmt, rel=r["path"])
            if uri:
                cap = "original" if r["augmented"] == "0" else f"copy {r['copy']}"
                p.append(f'<figure><img alt="{e(r["path"])}" src="{uri}"><figcaption>{e(cap)}</figcaption></figure>')
        p.append("</div>")
        shown += 1
        if shown >= samples:
            break
    return p


def _objects_html(obj: dict) -> list[str]:
    e = html.escape
    p = ["<h2>Objects per class</h2><p>Input: each source once; output: every image written.</p>",
         "<table><tr><th>class</th><th>input</th><th>output</th></tr>"]
    for c, info in obj["classes"].items():
        p.append(f"<tr><td>{e(_class_label(c, info))}</td><td>{info['input']}</td><td>{info['output']}</td></tr>")
    p.append(f"<tr><th>total</th><th>{obj['input']}</th><th>{obj['output']}</th></tr></table>")
    if obj["mixed_only"]:
        p.append(f"<p>Input: {e(_mixed_note(obj))}.</p>")
    if obj["dropped"]:
        p.append("<h3>Objects dropped by reason</h3><table><tr><th>count</th><th>reason</th></tr>")
        p += [f"<tr><td>{n}</td><td>{e(reason)}</td></tr>" for reason, n in obj["dropped"].items()]
        p.append("</table>")
    return p


def write_html(rep: dict, out_dir: Path, dst: Path, samples: int = 8) -> None:
    e = html.escape
    p = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
         f"<title>augcli report: {e(rep['out'])}</title>",
         "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.bad{color:#b00}"
         "figure{display:inline-block;margin:4px;text-align:center;font-size:80%}"
         ".sample{margin:1em 0;padding-top:.3em;border-top:1px solid #ccc}.sample h3{margin:0 0 .2em;"
         "font-size:95%;font-family:monospace}</style></head><body>",
         f"<h1>augcli report</h1><p>{e(rep['out'])} ({e(rep['modality'])})</p>"]
    if rep["incomplete"]:
        p.append(f"<p class=\"bad\"><strong>Incomplete:</strong> {rep['done']} of {rep['planned']} outputs done "
                 f"({e(rep['note'])}).</p>")
    else:
        p.append(f"<p>Complete: {rep['done']} of {rep['planned']} outputs.</p>")
    p.append(f"<p>{rep['ok']} written, {rep['failed']} failed, {rep['dropped']} dropped.</p>")
    p.append("<h2>Classes</h2><table><tr><th>split</th><th>class</th><th>originals</th><th>augmented</th>"
             "<th>on disk</th></tr>")
    for key, c in rep["counts"].items():
        s, label = key.split("\t")
        p.append(f"<tr><td>{e(s)}</td><td>{e(label)}</td><td>{c['originals']}</td><td>{c['augmented']}</td>"
                 f"<td>{c['on_disk']}</td></tr>")
    p.append("</table>")
    if rep["counts"]:
        p.append(f'<p><img alt="class balance chart" src="{_data_uri(_balance_chart(rep))}"></p>')
    if rep.get("objects"):
        p += _objects_html(rep["objects"])
    if rep["steps"]:
        p.append("<h2>Steps</h2><table><tr><th>step</th><th>fired</th><th>sampled ranges</th></tr>")
        for name, n in rep["steps"].items():
            p.append(f"<tr><td>{e(name)}</td><td>{n}</td><td>{e(_ranges(rep, name))}</td></tr>")
        p.append("</table>")
    if rep["modality"] == "image":
        p += _samples_html(rep, out_dir, samples)
    p.append("<h2>Failures</h2>")
    if rep["failures"]:
        p.append("<table><tr><th>count</th><th>reason</th><th>sources</th></tr>")
        for reason, sources in sorted(rep["failures"].items(), key=lambda kv: -len(kv[1])):
            p.append(f"<tr><td>{len(sources)}</td><td>{e(reason)}</td><td>{e(', '.join(sorted(set(sources))[:10]))}</td></tr>")
        p.append("</table>")
    else:
        p.append("<p>None.</p>")
    p.append("</body></html>")
    from ..io import atomic_write

    atomic_write(dst, "\n".join(p).encode("utf-8"))


def report(output: str, html_path: str | None) -> int:
    out = Path(output)
    rep = collect(out)
    print_report(rep)
    if html_path:
        if "tabular" in rep:
            raise UsageError("--html: tabular runs have their summary JSON; the HTML report is for file outputs")
        write_html(rep, out, Path(html_path))
        print(f"html: {html_path}")
    return 0
