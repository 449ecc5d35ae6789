"""The `augcli` command line (Typer). It parses, then calls the library; no logic lives here.

Exit codes: 0 done, 1 some files failed (see the manifest), 2 bad recipe/option/path or an output
another run is writing (nothing was done), 3 the output's disk is full, read-only or not
writable (free space and run again to resume), 130 interrupted (run the same command again to resume).
"""
from __future__ import annotations

import copy
import json
import os
import sys
from typing import Annotated, List, Optional

import typer

from .errors import AugError

app = typer.Typer(
    name="augcli",  # the top-level help is the docstring of the callback `_main` below
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain Click help: rich costs ~0.25 s of start-up
)

Recipe = Annotated[Optional[str], typer.Option("--recipe", "-r", help="YAML recipe (transforms and options)")]
Copies = Annotated[Optional[int], typer.Option(help="augmented copies per source [default: 1]")]
Balance = Annotated[Optional[bool], typer.Option("--balance", help="top every class up to the largest class")]
Target = Annotated[Optional[int], typer.Option(help="exact size of every class in train (implies --balance)")]
ValSplit = Annotated[Optional[float], typer.Option(help="stratified fraction of originals held out in OUTPUT/val")]
NoOrig = Annotated[Optional[bool], typer.Option("--no-originals", help="do not write the training originals")]
Seed = Annotated[Optional[int], typer.Option(help="run seed [default: 0]")]
Workers = Annotated[Optional[int], typer.Option(help="worker processes [default: all cores]")]
Scheduler = Annotated[Optional[str], typer.Option(
    help="where the jobs run: processes (a process pool here), local (a Dask cluster of --workers processes "
         "started here, with a dashboard) or tcp://HOST:PORT (a running Dask scheduler whose workers share INPUT and OUTPUT); "
         "Dask needs pip install 'augcli[dask]' [default: processes]")]
StorageOpts = Annotated[Optional[List[str]], typer.Option(
    "--storage-option", help="KEY=VALUE for the filesystem of an s3:// (gs://, az://...) INPUT, OUTPUT or --csv, e.g. "
                             "endpoint_url=http://minio:9000 (repeatable); needs pip install 'augcli[s3]'")]
Format = Annotated[Optional[str], typer.Option("--format", help="same|jpg|png|webp|tif|npy [default: same]")]
Quality = Annotated[Optional[int], typer.Option(help="JPEG/WebP quality [default: 95]")]
Rescale = Annotated[Optional[float], typer.Option(help="factor for npy output, e.g. 0.00392156862745098 (1/255)")]
MaxPixels = Annotated[Optional[int], typer.Option(help="refuse larger images [default: 100000000]")]
Annots = Annotated[Optional[str], typer.Option(
    help="auto|none|yolo|coco|voc|masks: boxes, polygons, keypoints and masks move with the pixels; YOLO "
         "(INPUT/images + INPUT/labels), COCO (--coco FILE.json), Pascal VOC (INPUT/JPEGImages + INPUT/Annotations), "
         "masks (INPUT/images + INPUT/masks) [default: auto]")]
Coco = Annotated[Optional[str], typer.Option("--coco", help="COCO instances JSON of the images under INPUT")]
Overwrite = Annotated[Optional[bool], typer.Option("--overwrite", help="replace a previous augcli output")]
DryRun = Annotated[Optional[bool], typer.Option("--dry-run", help="print the plan (counts per split and class), write nothing")]
Csv = Annotated[Optional[str], typer.Option("--csv", help="CSV listing image paths (and labels)")]
PathCol = Annotated[Optional[str], typer.Option(help="CSV column with paths [default: path]")]
LabelCol = Annotated[Optional[str], typer.Option(help="CSV column with labels")]
Root = Annotated[Optional[str], typer.Option(help="folder the CSV paths are relative to [default: the CSV's folder]")]
FollowLinks = Annotated[Optional[bool], typer.Option(
    "--follow-links", help="follow symlinked folders in the input (never twice into one folder) [default: skip them]")]
SampleRate = Annotated[Optional[int], typer.Option(help="audio: resample outputs to this rate in Hz (soxr)")]
Clip = Annotated[Optional[str], typer.Option(help="audio: limit|normalize|error for samples beyond full scale [default: limit]")]
AudioFormat = Annotated[Optional[str], typer.Option("--format", help="same|wav|flac|ogg|mp3 [default: same]")]
TextCol = Annotated[Optional[str], typer.Option(help="column (JSONL: key) with the text [default: text]")]
IdCol = Annotated[Optional[str], typer.Option(help="column whose value goes into aug_of [default: row index]")]
Encoding = Annotated[Optional[str], typer.Option(help="input encoding [default: utf-8]")]
Protect = Annotated[Optional[List[str]], typer.Option(help="regex of tokens never altered (repeatable)")]
Lexicon = Annotated[Optional[str], typer.Option(help="TSV word<TAB>synonym, synonym, ... (extends WordNet)")]
LexMode = Annotated[Optional[str], typer.Option(help="extend|replace the shipped WordNet synonyms [default: extend]")]
MaxTries = Annotated[Optional[int], typer.Option(help="draws before a duplicate copy is dropped [default: 10]")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or summary")]


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"augcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False):
    """Offline dataset augmentation: deterministic, resumable, with a manifest.

    Example: augcli image photos/ out/ --copies 2 --val-split 0.2 --seed 1
    """


def _fail(e: AugError) -> None:
    typer.echo(f"augcli: error: {e}", err=True)
    raise typer.Exit(e.code)


def _command(modality: str | None, params: dict, positional: bool = True) -> None:
    """Run a command whose parameters are, but for `recipe` and `quiet`, recipe options of the same
    names (checked: a parameter that is not one is a bug, caught by tests/test_cli_options.py)."""
    from .recipe import KEYS

    o = dict(params)
    recipe, quiet = o.pop("recipe", None), o.pop("quiet", False)
    stray = sorted(set(o) - set(KEYS))
    if stray:
        raise AssertionError(f"command parameters that are not recipe options: {stray}")
    if positional and o.get("csv") and o.get("input") and not o.get("output"):  # `augcli image --csv l.csv OUT`
        o["input"], o["output"] = None, o["input"]
    if modality:
        o["modality"] = modality
    _execute(recipe, o, quiet)


def _execute(recipe, overrides: dict, quiet: bool) -> None:
    from . import api
    from .recipe import load_config

    try:
        cfg = load_config(recipe, overrides)
        res = api.run(cfg, quiet=quiet)
    except AugError as e:
        _fail(e)
    raise typer.Exit(res.exit_code)


@app.command()
def image(
    input: Annotated[Optional[str], typer.Argument(help="input folder (class-per-subfolder or flat), or a single file")] = None,
    output: Annotated[Optional[str], typer.Argument(help="output folder")] = None,
    recipe: Recipe = None, copies: Copies = None, balance: Balance = None, target_per_class: Target = None,
    val_split: ValSplit = None, no_originals: NoOrig = None, seed: Seed = None, workers: Workers = None,
    scheduler: Scheduler = None, storage_options: StorageOpts = None,
    format: Format = None, quality: Quality = None, rescale: Rescale = None, max_pixels: MaxPixels = None,
    annotations: Annots = None, coco: Coco = None,
    overwrite: Overwrite = None, dry_run: DryRun = None, csv: Csv = None, path_column: PathCol = None,
    label_column: LabelCol = None, root: Root = None, follow_links: FollowLinks = None, quiet: Quiet = False,
):
    """Augment an image dataset into OUTPUT/train (and OUTPUT/val) with a manifest.

    Example: augcli image sample_data/images out/images --copies 2 --balance --val-split 0.2

    With a CSV listing: augcli image --csv list.csv --label-column label out/images
    """
    _command("image", locals())


@app.command()
def audio(
    input: Annotated[Optional[str], typer.Argument(help="input folder (class-per-subfolder or flat), or a single file")] = None,
    output: Annotated[Optional[str], typer.Argument(help="output folder")] = None,
    recipe: Recipe = None, copies: Copies = None, balance: Balance = None, target_per_class: Target = None,
    val_split: ValSplit = None, no_originals: NoOrig = None, seed: Seed = None, workers: Workers = None,
    scheduler: Scheduler = None, storage_options: StorageOpts = None, format: AudioFormat = None,
    sample_rate: SampleRate = None, clip: Clip = None,
    overwrite: Overwrite = None, dry_run: DryRun = None, csv: Csv = None, path_column: PathCol = None,
    label_column: LabelCol = None, root: Root = None, follow_links: FollowLinks = None, quiet: Quiet = False,
):
    """Augment an audio dataset (wav, flac, ogg, mp3) into OUTPUT/train (and OUTPUT/val) with a manifest.

    Example: augcli audio sample_data/audio out/audio --copies 2 --val-split 0.2
    """
    _command("audio", locals())


@app.command()
def text(
    input: Annotated[Optional[str], typer.Argument(help="a .csv/.tsv/.jsonl file, or a folder of .txt files")] = None,
    output: Annotated[Optional[str], typer.Argument(help="output folder")] = None,
    recipe: Recipe = None, copies: Copies = None, balance: Balance = None, target_per_class: Target = None,
    val_split: ValSplit = None, no_originals: NoOrig = None, seed: Seed = None, workers: Workers = None,
    scheduler: Scheduler = None, storage_options: StorageOpts = None, text_column: TextCol = None,
    label_column: LabelCol = None, id_column: IdCol = None,
    encoding: Encoding = None, protect: Protect = None, lexicon: Lexicon = None, lexicon_mode: LexMode = None,
    max_tries: MaxTries = None, overwrite: Overwrite = None, dry_run: DryRun = None,
    follow_links: FollowLinks = None, quiet: Quiet = False,
):
    """Augment text (EDA and more): a CSV/TSV/JSONL table, or a folder of .txt files.

    Example: augcli text sample_data/text/reviews.csv out/text --label-column label --copies 4

    Tables give OUTPUT/train.<ext> (originals, then augmented rows with aug_of and ops columns),
    OUTPUT/val.<ext> with --val-split, and OUTPUT/manifest.csv.
    """
    _command("text", locals())


@app.command()
def tabular(
    input: Annotated[Optional[str], typer.Argument(help="a .csv, .tsv or .parquet table")] = None,
    output: Annotated[Optional[str], typer.Argument(help="output table file (e.g. out/balanced.csv)")] = None,
    target: Annotated[Optional[str], typer.Option(help="the class column")] = None,
    recipe: Recipe = None,
    method: Annotated[Optional[str], typer.Option(help="auto|smote|borderline-smote|svm-smote|kmeans-smote|adasyn|"
                                                       "random|smotenc|smoten|noise [default: auto]")] = None,
    strategy: Annotated[Optional[str], typer.Option(help="auto|not-majority|minority|all, a ratio (binary), or "
                                                         "JSON {\"class\": count} [default: auto]")] = None,
    k_neighbors: Annotated[Optional[int], typer.Option(help="neighbours for SMOTE-like methods [default: 5]")] = None,
    categorical: Annotated[Optional[str], typer.Option(help="columns to treat as categorical: a,b")] = None,
    exclude: Annotated[Optional[str], typer.Option(help="columns not used (ids, free text): a,b")] = None,
    impute: Annotated[Optional[str], typer.Option(help="median|most-frequent|drop for missing values")] = None,
    copies: Annotated[Optional[int], typer.Option(help="noise method: synthetic copies per row instead of balancing")] = None,
    shrinkage: Annotated[Optional[float], typer.Option(help="random method: smoothed bootstrap width")] = None,
    noise_scale: Annotated[Optional[float], typer.Option(help="noise method: jitter std per column, as a fraction "
                                                              "of its std [default: 0.1]")] = None,
    flag_column: Annotated[Optional[str], typer.Option(help="name of the synthetic-row flag [default: _synthetic]")] = None,
    no_flag: Annotated[Optional[bool], typer.Option("--no-flag", help="no flag column")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="same|csv|tsv|parquet [default: same]")] = None,
    evaluate: Annotated[Optional[bool], typer.Option("--evaluate", help="cross-validated: does oversampling help?")] = None,
    drop_missing_target: Annotated[Optional[bool], typer.Option(
        "--drop-missing-target", help="leave rows with an empty target out (kept unchanged in OUTPUT)")] = None,
    encoding: Encoding = None, seed: Seed = None, workers: Workers = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="refused: tabular runs on this machine only (imbalanced-learn holds the whole table in memory); "
             "only processes")] = None,
    overwrite: Annotated[Optional[bool], typer.Option("--overwrite", help="replace a table augcli wrote")] = None,
    force_overwrite: Annotated[Optional[bool], typer.Option(
        "--force-overwrite", help="replace OUTPUT (and its summary) even if augcli did not write them")] = None,
    dry_run: Annotated[Optional[bool], typer.Option("--dry-run", help="print the plan, write nothing")] = None,
    quiet: Quiet = False,
):
    """Balance the classes of a table with imbalanced-learn (SMOTE and friends).

    Example: augcli tabular sample_data/tabular/wine.csv out/wine.csv --target cultivar --evaluate

    Runs on this machine only (imbalanced-learn works on the whole table in memory): no --scheduler.

    The same command again is a no-op ("already done"); after an interruption it finishes the run.
    """
    _command("tabular", locals())


@app.command()
def run(
    recipe: Annotated[str, typer.Argument(help="YAML recipe")],
    input: Annotated[Optional[str], typer.Option(help="override the recipe's input")] = None,
    output: Annotated[Optional[str], typer.Option(help="override the recipe's output")] = None,
    copies: Copies = None, balance: Balance = None, target_per_class: Target = None,
    val_split: ValSplit = None, no_originals: NoOrig = None, seed: Seed = None, workers: Workers = None,
    scheduler: Scheduler = None, storage_options: StorageOpts = None,
    format: Format = None, quality: Quality = None, rescale: Rescale = None, max_pixels: MaxPixels = None,
    annotations: Annots = None, coco: Coco = None, sample_rate: SampleRate = None, clip: Clip = None, text_column: TextCol = None,
    id_column: IdCol = None,
    encoding: Encoding = None, overwrite: Overwrite = None, dry_run: DryRun = None, csv: Csv = None,
    path_column: PathCol = None, label_column: LabelCol = None, root: Root = None,
    follow_links: FollowLinks = None, quiet: Quiet = False,
):
    """Run what a recipe declares; options given here override the recipe.

    Example: augcli run examples/image.yaml --seed 7 --workers 2
    """
    _command(None, locals(), positional=False)


@app.command()
def preview(
    what: Annotated[str, typer.Argument(help="a recipe (.yaml) or a modality: image, audio, text, tabular")],
    input: Annotated[Optional[str], typer.Argument(help="input (default: the recipe's)")] = None,
    samples: Annotated[int, typer.Option(help="sources to show")] = 4,
    variants: Annotated[int, typer.Option(help="variants per source")] = 6,
    out: Annotated[Optional[str], typer.Option(help="PNG to write (text: an .html page) [default: a new "
                                                    "preview-NAME.png here, NAME the recipe's or input's; "
                                                    "text: the terminal only]")] = None,
    seed: Seed = None, text_column: TextCol = None, label_column: LabelCol = None,
    target: Annotated[Optional[str], typer.Option(help="tabular: the class column")] = None,
    annotations: Annots = None, coco: Coco = None,
):
    """Show what a recipe does, without writing a dataset (same seeds as a run).

    Example: augcli preview examples/image.yaml --samples 4 --variants 6   (writes preview-image.png)
    """
    from . import api

    try:
        path = api.preview(what, input, samples=samples, variants=variants, out=out, seed=seed,
                           text_column=text_column, label_column=label_column, target=target,
                           annotations=annotations, coco=coco)
    except AugError as e:
        _fail(e)
    if path is not None:
        typer.echo(f"preview: {path}")


@app.command()
def report(
    output: Annotated[str, typer.Argument(help="an augcli output folder (or a tabular output file)")],
    html: Annotated[Optional[str], typer.Option("--html", help="also write a self-contained HTML page")] = None,
):
    """Summarise a finished or interrupted run from its manifest: counts, failures, steps.

    Example: augcli report out/images --html report.html
    """
    from . import api

    try:
        code = api.report(output, html)
    except AugError as e:
        _fail(e)
    raise typer.Exit(code)


@app.command()
def validate(recipe: Annotated[str, typer.Argument(help="YAML recipe")]):
    """Check a recipe without running it (exit code 2 and one message if it is wrong).

    Example: augcli validate examples/image.yaml
    """
    from . import api

    try:
        typer.echo(api.validate(recipe))
    except AugError as e:
        _fail(e)


@app.command()
def transforms(modality: Annotated[str, typer.Argument(help="image, audio or text")] = "image"):
    """List every transform with its parameters, defaults and allowed values.

    Example: augcli transforms audio
    """
    from . import api

    try:
        lines = api.list_transforms(modality)
    except AugError as e:
        _fail(e)
    for line in lines:
        typer.echo(line)


@app.command()
def stats(
    input: Annotated[Optional[str], typer.Argument(help="input folder")] = None,
    csv: Csv = None, path_column: PathCol = None, label_column: LabelCol = None, root: Root = None,
    workers: Workers = None, max_pixels: MaxPixels = None, annotations: Annots = None, coco: Coco = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
):
    """Per-channel mean and std (R, G, B; 0-1 scale) of a dataset, for normalisation; on an annotated
    dataset also objects per class, background images and box sizes.

    Example: augcli stats sample_data/images
    """
    from . import api

    try:
        st = api.stats(input, csv=csv, path_column=path_column, label_column=label_column, root=root,
                       workers=workers, max_pixels=max_pixels, annotations=annotations, coco=coco)
    except AugError as e:
        _fail(e)
    if as_json:
        typer.echo(json.dumps(st))
    else:
        typer.echo(f"{st['images']} images, {st['pixels']:,} pixels")
        typer.echo("channel     mean      std   (0-1 scale; x255 for 8-bit values)")
        for c, m, s in zip("RGB", st["mean"], st["std"]):
            typer.echo(f"{c:<7} {m:>8.4f} {s:>8.4f}")
        typer.echo(f"mean={st['mean']} std={st['std']}")
        from .inspection.stats import annotation_lines

        for line in annotation_lines(st):
            typer.echo(line)
        for path, err in st["failed"]:
            typer.echo(f"failed: {path}: {err}", err=True)
    raise typer.Exit(1 if st["failed"] else 0)


def _app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command argv names: Typer builds every registered command from its
    signature at each start (~30 ms for the ten), and a command needs only its own. The whole app
    for anything else (no command, --help, --version, a misspelt name, shell completion)."""
    picked = [c for c in app.registered_commands if len(argv) > 1 and c.callback.__name__ == argv[1]]
    if not picked or any(k.endswith("_COMPLETE") for k in os.environ):
        return app
    one = copy.copy(app)
    one.registered_commands = picked
    return one


def _run(argv: list[str]) -> int | str | None:
    """Run the command line argv; its exit code."""
    # one worker process per core: BLAS threads (numpy's OpenBLAS, and OpenCV's own) would only
    # oversubscribe the cores, and each one spins ~50 ms of CPU once loaded (a user's setting stays)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        _app_for(argv)()  # Click ends with SystemExit, whatever the outcome
    except KeyboardInterrupt:
        return 130
    except SystemExit as e:
        return e.code
    return 0


def _exit(code) -> None:
    """Exit with code: the exit handlers run (temp folders...) and the output is flushed, but the
    interpreter's teardown of every module and object is skipped (~30 ms with numpy and OpenCV
    loaded; everything was written and closed). The ordinary exit while a non-daemon thread runs."""
    import atexit
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others or not (code is None or isinstance(code, int)):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code or 0)


def main() -> None:
    _exit(_run(sys.argv))
