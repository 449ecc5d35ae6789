"""`augcli preview`: draw what a recipe does, without writing a dataset.

Variant k of a source is made exactly as `run` makes copy k of it with the same seed (same
plan, same per-copy seed, same encoder), so what the preview shows is what a run writes.
- image: a contact sheet, one row per source: the original, then the variants, each captioned
  with the steps that fired (short form).
- audio: per source, waveform and spectrogram of the original and each variant in one PNG, and
  the variants as audio files beside it (PREVIEW_audio/).
- text: a terminal table of original vs variants with the changed words marked, and an HTML
  page with them highlighted when --out ends in .html.
- tabular: class counts before/after and a 2-D PCA projection of real vs synthetic rows per class.
Without --out the PNG goes to a new preview-NAME.png in the current folder (default_out): an
earlier preview is never overwritten.
"""
from __future__ import annotations

import difflib
import html
import io
import json
import re
import sys
import tempfile
from pathlib import Path

from ..errors import UsageError
from ..recipe import Config


def short(ops: list[dict]) -> str:
    """Steps as a short caption: "hflip rotate(12.3) zoom cutmix(0.61)"."""
    out = []
    for op in ops:
        name = op.get("name", "?")
        if "skipped" in op:
            continue
        if name == "annotations" and "objects_in" in op:  # annotated images: objects in -> out
            out.append(f"objects:{op['objects_in']}->{op['objects_out']}")
            continue
        inner = [o for o in op.get("ops") or [] if isinstance(o, dict) and "op" in o]
        if inner:  # a policy (randaugment ...): the ops it drew
            out.append(f"{name}[{','.join(o['op'] for o in inner)}]")
            continue
        if isinstance(op.get("chains"), list):  # augmix: its chains of ops, mixed
            out.append(f"{name}[{len(op['chains'])} chains]")
            continue
        for key in ("degrees", "lambda", "rate", "semitones", "db", "snr_db", "factor", "std", "gamma"):
            if key in op and isinstance(op[key], (int, float)):
                name += f"({op[key]:.3g})"
                break
        out.append(name)
    return " ".join(out) or "(no step fired)"


def _pick(jobs, n: int):
    """n sources spread over the classes: round-robin over classes in sorted order."""
    by = {}
    for j in jobs:
        by.setdefault(str(j.label), []).append(j)
    picked, i = [], 0
    while len(picked) < n and any(i < len(v) for v in by.values()):
        for k in sorted(by):
            if i < len(by[k]) and len(picked) < n:
                picked.append(by[k][i])
        i += 1
    return picked


def _variants(cfg: Config, samples: int, variants: int):
    """[(job, state, [(output, bytes, ops) for each variant])] made by the modality's worker code."""
    return [row[:3] for row in _made(cfg, samples, variants)]


def _made(cfg: Config, samples: int, variants: int):
    """_variants' rows, each with its labels: for a worker that keeps the annotation of what it
    made (`last`: annotated images), [the original's, each variant's (None when dropped)], else None."""
    from dataclasses import replace

    from .. import modalities
    from ..modalities import Dropped
    from ..plan import make_plan
    from ..seeds import output_key

    run_cfg = replace(cfg, copies=variants, balance=False, target_per_class=None, no_originals=True,
                      dry_run=False)
    modality = modalities.resolve(run_cfg)
    items, _ = modality.discover(run_cfg)
    if not items:
        raise UsageError(f"{cfg.csv or cfg.input}: no {modality.noun} found")
    plan = make_plan(items, run_cfg, modality)
    jobs = [j for j in plan.jobs if j.split == "train" and any(o.copy is not None for o in j.outputs)]
    modality.worker_setup()
    kind = modality.worker(run_cfg)
    labelled = hasattr(kind, "last")
    out = []
    for job in _pick(jobs, samples):
        try:
            state = kind.load(job.src)
            labels = [_original_label(kind, state, job.src)] if labelled else None
        except Exception as e:  # noqa: BLE001
            print(f"preview: {job.source}: {e}", file=sys.stderr)
            continue
        made = []
        for o in job.outputs:
            if o.copy is None:
                continue
            key = output_key(o.path)
            try:
                data, ops = kind.augment(state, job, o, Path(o.path).suffix, key)
            except Dropped as e:
                data, ops = None, [{"name": "dropped", "reason": str(e)}]
            made.append((o, data, ops))
            if labelled:
                labels.append(kind.last if data is not None else None)
        out.append((job, state, made, labels))
    return out


def _original_label(kind, state, src: str):
    """The annotation of the source as loaded (what the worker's `original` keeps as `last`)."""
    kind.last = None
    kind.original(state, src, Path(src).suffix.lower(), 0)
    return kind.last


# --------------------------------------------------------------------------------------------
# image
# --------------------------------------------------------------------------------------------
def _to_rgb8(img):
    import cv2
    import numpy as np

    from ..io.image import Planes

    if hasattr(img, "full"):  # a JPEG whose decode waited for the first warp (io/reduced.py)
        img = img.full()
    if isinstance(img, Planes):
        img = img.bgr()
    if img.dtype != np.uint8:
        img = (img.astype(np.float64) * (255.0 / (65535.0 if img.dtype == np.uint16 else 1.0))).clip(0, 255)
        img = img.astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def image_sheet(cfg: Config, samples: int, variants: int, out: Path, tile: int = 200) -> Path:
    import cv2
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rows = _made(cfg, samples, variants)
    if not rows:
        raise UsageError("preview: no source could be read")
    names = _names(cfg) if any(row[3] is not None for row in rows) else {}
    cap = 30
    sheet = Image.new("RGB", (tile * (variants + 1), (tile + cap) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()

    def put(img, r, c, caption):
        h, w = img.shape[:2]
        s = tile / max(h, w)
        th = cv2.resize(_to_rgb8(img), (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        x0, y0 = c * tile + (tile - th.shape[1]) // 2, r * (tile + cap) + (tile - th.shape[0]) // 2
        sheet.paste(Image.fromarray(th), (x0, y0))
        for i, line in enumerate(_wrap(caption, 34)[:2]):
            draw.text((c * tile + 4, r * (tile + cap) + tile + 2 + 13 * i), line, fill="black", font=font)

    for r, (job, state, made, labels) in enumerate(rows):
        labels = labels or [None] * (len(made) + 1)
        put(_labelled(state[0], labels[0], names), r, 0, f"original: {Path(job.source).name}")
        for c, (o, data, ops) in enumerate(made, start=1):
            decoded = o.path.endswith((".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"))
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if decoded else state[0]
            put(_labelled(img, labels[c], names) if decoded else img, r, c, short(ops))
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    from ..io import atomic_write

    atomic_write(out, buf.getvalue())
    return out


def _names(cfg: Config) -> dict:
    """The class names of cfg's annotated input ({} when it has none)."""
    from ..annotations import formats

    try:
        fmt = formats.open_input(cfg)
    except Exception:  # noqa: BLE001 - names are a nicety: ids are shown instead
        return {}
    return fmt.names if fmt is not None else {}


def _labelled(img, ann, names: dict):
    """img with the annotation drawn on it (BGR uint8), or img itself without one."""
    if ann is None:
        return img
    import cv2

    from ..annotations.draw import draw

    return draw(cv2.cvtColor(_to_rgb8(img), cv2.COLOR_RGB2BGR), ann, names)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return lines + ([cur] if cur else [])


# --------------------------------------------------------------------------------------------
# audio
# --------------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "augcli", "font.size": 8})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return buf.getvalue()


def audio_sheet(cfg: Config, samples: int, variants: int, out: Path) -> Path:
    import numpy as np
    import soundfile as sf

    from ..io import atomic_write

    rows = _variants(cfg, samples, variants)
    if not rows:
        raise UsageError("preview: no source could be read")
    plt = _plt()
    fig, axes = plt.subplots(2 * len(rows), variants + 1, figsize=(2.6 * (variants + 1), 3.2 * len(rows)),
                             squeeze=False)
    audio_dir = out.with_name(out.stem + "_audio")
    audio_dir.mkdir(parents=True, exist_ok=True)
    for r, (job, state, made) in enumerate(rows):
        clip = state[0]
        panels = [("original", clip.data, clip.sr)]
        for o, data, ops in made:
            y, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
            panels.append((short(ops), y, sr))
            atomic_write(audio_dir / Path(o.path).name, data)
        for c, (title, y, sr) in enumerate(panels):
            mono = y.mean(axis=1)
            ax = axes[2 * r, c]
            ax.plot(np.arange(len(mono)) / sr, mono, linewidth=0.4)
            ax.set_ylim(-1, 1)
            ax.set_title(("\n".join(_wrap(title, 30)[:2])) if c else f"{Path(job.source).name}", fontsize=7)
            ax.tick_params(labelsize=6)
            ax = axes[2 * r + 1, c]
            n = 512 if sr >= 16000 else 256
            if len(mono) > n:
                with np.errstate(divide="ignore"):  # silent stretches have zero power
                    ax.specgram(mono + 1e-9, NFFT=n, Fs=sr, noverlap=n // 2, cmap="magma")
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    atomic_write(out, _png(fig))
    plt.close(fig)
    return out


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------
def _text_samples(cfg: Config, samples: int, variants: int):
    """[(source id, text, [(variant text or None, ops)])] exactly as a run makes them."""
    from ..seeds import copy_seed
    from ..io.text import RecordReader, table_format
    from ..transforms.text import Pipeline, unique_copy

    pipe = Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode)
    rows = []
    if Path(cfg.input).is_file():
        fmt = table_format(cfg.input)
        if fmt is None:
            raise UsageError(f"{cfg.input}: not a .csv/.tsv/.jsonl table or a folder of .txt files")
        rd = RecordReader(cfg.input, fmt, cfg.encoding)
        header = rd.header()
        ti = header.index(cfg.text_column) if fmt != "jsonl" and cfg.text_column in header else None
        if fmt != "jsonl" and ti is None:
            raise UsageError(f"{cfg.input}: no text column {cfg.text_column!r}; columns are: {', '.join(header)}")
        name = Path(cfg.input).name
        for g, (_, _, rec) in enumerate(rd.records()):
            if len(rows) == samples:
                break
            text = rec[cfg.text_column] if fmt == "jsonl" else rec[ti]
            rows.append((f"{name}:{g}", text))
        rd.close()
    else:
        from .. import modalities

        modality = modalities.resolve(cfg)
        items, _ = modality.discover(cfg)
        kind = modality.worker(cfg)
        for it in items[:samples]:
            rows.append((it.source, kind.load(it.path)["text"]))
    out = []
    for source, text in rows:
        doc, seen, vs = pipe.parse(text), set(), []
        for k in range(variants):
            new, ops, err = unique_copy(pipe, doc, text, seen, copy_seed(cfg.seed, source, k), cfg.max_tries)
            if new is not None:
                seen.add(new)
            vs.append((new, ops if new is not None else [{"name": "dropped", "reason": err}]))
        out.append((source, text, vs))
    return out


def _diff(a: str, b: str):
    """b's tokens, each with whether it differs from a (word-level)."""
    ta, tb = re.findall(r"\S+|\s+", a), re.findall(r"\S+|\s+", b)
    sm = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    out = []
    for tag, _, _, j1, j2 in sm.get_opcodes():
        out += [(t, tag != "equal" and not t.isspace()) for t in tb[j1:j2]]
    return out


def text_table(cfg: Config, samples: int, variants: int, out: Path | None, file=sys.stdout) -> Path | None:
    data = _text_samples(cfg, samples, variants)
    color = file.isatty()
    for source, text, vs in data:
        print(f"== {source}", file=file)
        print(f"   original : {text}", file=file)
        for k, (new, ops) in enumerate(vs):
            if new is None:
                print(f"   variant {k}: (dropped: {ops[0]['reason']})", file=file)
                continue
            marked = "".join((f"\x1b[1;33m{t}\x1b[0m" if color else f"[{t}]") if ch else t for t, ch in _diff(text, new))
            print(f"   variant {k}: {marked}   <{short(ops)}>", file=file)
    if out is None:
        return None
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"{out}: a text preview is written as HTML; allowed: --out NAME.html")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>augcli text preview</title>',
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
             "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
             "mark{background:#ffe066}.ops{color:#666;font-size:90%}</style></head><body>",
             f"<h1>Text preview</h1><p>seed {cfg.seed}; changed words are highlighted.</p>"]
    for source, text, vs in data:
        parts.append(f"<h2>{html.escape(source)}</h2><table><tr><th>original</th><td>{html.escape(text)}</td><td></td></tr>")
        for k, (new, ops) in enumerate(vs):
            if new is None:
                parts.append(f"<tr><th>variant {k}</th><td><em>dropped</em></td><td class=\"ops\">"
                             f"{html.escape(ops[0]['reason'])}</td></tr>")
                continue
            cell = "".join(f"<mark>{html.escape(t)}</mark>" if ch else html.escape(t) for t, ch in _diff(text, new))
            parts.append(f"<tr><th>variant {k}</th><td>{cell}</td><td class=\"ops\">{html.escape(short(ops))}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    from ..io import atomic_write

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, "\n".join(parts).encode("utf-8"))
    return out


# --------------------------------------------------------------------------------------------
# tabular
# --------------------------------------------------------------------------------------------
def _pca2(X, syn):
    """The rows projected on the first two principal axes of the real rows (standardised)."""
    import numpy as np

    mu, sd = X[~syn].mean(axis=0), X[~syn].std(axis=0)
    sd[sd == 0] = 1
    Z = (X - mu) / sd
    _, _, vt = np.linalg.svd(Z[~syn] - Z[~syn].mean(axis=0), full_matrices=False)
    return Z @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([Z @ vt[:1].T, np.zeros(len(Z))])


def tabular_chart(cfg: Config, out: Path) -> Path:
    """Runs the real oversampling into a temporary file (same seed as a run), then draws it."""
    from dataclasses import replace

    import numpy as np

    from .. import tabular
    from ..io import atomic_write

    with tempfile.TemporaryDirectory() as d:
        tmp_out = Path(d) / ("preview" + Path(cfg.input).suffix)
        tabular.run(replace(cfg, output=str(tmp_out), overwrite=True, dry_run=False, evaluate=False,
                            no_flag=False, format="same"), quiet=True)
        summary = json.loads(Path(str(tmp_out) + ".summary.json").read_text())
        from ..io import tabular as tio

        fmt = tio.table_format(str(tmp_out))
        types = {}
        num = summary["columns"]["numeric"]
        import pyarrow as pa

        for c in num:
            types[c] = pa.float64()
        types[cfg.target] = pa.string()
        flag = summary["columns"]["flag"]
        t = tio.read(str(tmp_out), fmt, types, num + [cfg.target, flag])
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    classes = [c["class"] for c in summary["classes"]]
    before = [c["before"] for c in summary["classes"]]
    after = [c["after"] for c in summary["classes"]]
    x = np.arange(len(classes))
    ax1.bar(x - 0.2, before, 0.4, label="before")
    ax1.bar(x + 0.2, after, 0.4, label="after")
    ax1.set_xticks(x, classes, rotation=30, ha="right")
    ax1.set_title(f"class counts ({summary['method']}, seed {cfg.seed})")
    ax1.legend()
    if num:
        X = np.column_stack([t.column(c).to_numpy(zero_copy_only=False).astype(float) for c in num])
        y = np.asarray(t.column(cfg.target).to_numpy(zero_copy_only=False), dtype=object)
        syn = np.asarray(t.column(flag).to_numpy(zero_copy_only=False)).astype(int) == 1
        ok = np.isfinite(X).all(axis=1)
        X, y, syn = X[ok], y[ok], syn[ok]
        P = _pca2(X, syn)
        show = np.random.default_rng(0).permutation(len(P))[:5000]
        cmap = plt.get_cmap("tab10")
        for i, c in enumerate(classes):
            m = (y[show] == c)
            ax2.scatter(P[show][m & ~syn[show], 0], P[show][m & ~syn[show], 1], s=10, color=cmap(i % 10),
                        label=f"{c} real", alpha=0.8)
            ax2.scatter(P[show][m & syn[show], 0], P[show][m & syn[show], 1], s=14, color=cmap(i % 10),
                        marker="x", label=f"{c} synthetic", alpha=0.8)
        ax2.set_title("PCA of the numeric columns: real (dots) vs synthetic (x)")
        ax2.legend(fontsize=6, ncol=2)
    else:
        ax2.text(0.5, 0.5, "no numeric columns to project", ha="center")
    fig.tight_layout()
    atomic_write(out, _png(fig))
    plt.close(fig)
    return out


def default_out(cfg: Config, recipe: str | None = None, folder: Path = Path(".")) -> Path:
    """preview-NAME.png in `folder`, NAME the recipe's (else the input's) name without extension;
    never a file that exists (nor, for audio, its NAME_audio/ folder): then preview-NAME-2.png,
    -3, ... so that an earlier preview is never overwritten."""
    src = Path(recipe or cfg.input or cfg.csv or "preview")
    name = src.resolve().name if src.name in ("", ".", "..") else src.name
    if recipe or Path(src).is_file():
        name = Path(name).stem or name
    name = re.sub(r"[^\w.-]+", "_", name).strip("._") or "input"
    for n in range(1, 10_000):
        out = folder / (f"preview-{name}" + (f"-{n}" if n > 1 else "") + ".png")
        if not out.exists() and not out.with_name(out.stem + "_audio").exists():
            return out
    raise UsageError(f"{folder / f'preview-{name}.png'}: 9,999 previews of that name exist; pass --out")


def preview(cfg: Config, samples: int, variants: int, out: Path | None, recipe: str | None = None) -> Path | None:
    """Writes the preview to `out` (replaced if it exists: the user named it); without `out`, to a
    new file named after the recipe or input (see default_out). Text without `out`: terminal only."""
    from .. import modalities

    kind = modalities.for_recipe(cfg.modality).preview_kind
    if kind == "text":
        return text_table(cfg, samples, variants, out)
    out = out or default_out(cfg, recipe)
    return {"image": image_sheet, "audio": audio_sheet}[kind](cfg, samples, variants, out) if kind != "tabular" \
        else tabular_chart(cfg, out)
