"""What a modality declares, and the shared behaviour of the file modalities.

`Modality`: the declaration (recipe name, formats, default steps, step validation, how it runs and
previews). `FileModality`: a modality whose inputs are files (a folder, a single file, or a CSV
listing): it discovers them, names outputs, and hands the plan to the one runner; its `worker(cfg)`
is what a worker process uses to load a source once and make the bytes of each of its outputs.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import Dropped  # noqa: F401 - part of the modality contract


class Modality:
    name = ""  # registry key
    recipe_name = ""  # the recipe's `modality:` value
    noun = ""  # "image files", used in messages
    formats: tuple[str, ...] = ("same",)
    default_transforms: list = []
    takes_transforms = True
    steps_module = ""  # e.g. "augcli.transforms.image": STEPS, ALIASES, validate_steps, Pipeline
    mixing = False  # mixup / cutmix steps allowed
    preview_kind = ""  # which preview this modality draws (see preview.py)
    remote = False  # INPUT, OUTPUT and --csv may be URLs (s3://...; see storage.py)

    def accepts(self, cfg) -> bool:
        """Whether this modality runs `cfg` (for recipe names with several variants)."""
        return True

    def steps(self):
        return importlib.import_module(self.steps_module)

    def validate_steps(self, raw, where: str) -> list:
        return self.steps().validate_steps(raw, where)

    def check(self, cfg, where: str, require_io: bool) -> None:
        """Checks of the options that only this modality has (raise RecipeError)."""

    def check_remote(self, cfg) -> None:
        """Refuse, before any work, a URL this modality cannot read or write (yet)."""
        from ..errors import UsageError
        from ..storage import is_url

        url = next((v for v in (cfg.input, cfg.output, cfg.csv, cfg.root, cfg.coco) if is_url(v)), None)
        if url is not None and not self.remote:
            raise UsageError(f"{url}: {self.name} runs cannot use a URL yet (URLs work for image, audio and text "
                             "runs); copy the data to a local folder first")

    def describe(self, cfg) -> str:
        """What `augcli validate` says of a valid recipe."""
        n = len(cfg.transforms)
        return f"{cfg.modality}, {n} step{'' if n == 1 else 's'}: {', '.join(n for n, _ in cfg.transforms)}"

    def listing_note(self) -> str:
        """Extra lines for `augcli transforms` (e.g. which audio formats this build reads)."""
        return ""

    def plan(self, cfg):
        """The run's plan: outputs, counts per split and class, warnings, fingerprint."""
        raise NotImplementedError

    def work(self, cfg, plan):
        """The plan's work object for the runner (resume, unit_fn, collect, finish; see runner.py)."""
        raise NotImplementedError

    def run(self, cfg, quiet: bool = False, executor=None):
        """Plan and run through the one runner (a modality that writes a whole table overrides this)."""
        from ..runner import run

        return run(cfg, self, quiet, executor)


class FileModality(Modality):
    """Inputs are files: discovered in a folder or a CSV listing, one job per source file."""

    io_module = ""  # e.g. "augcli.io.image": EXTENSIONS, output_ext()
    remote = True

    def extensions(self) -> set[str]:
        return importlib.import_module(self.io_module).EXTENSIONS

    def output_ext(self, suffix: str, fmt: str) -> str:
        return importlib.import_module(self.io_module).output_ext(suffix, fmt)

    def discover(self, cfg):
        from ..sources import check_output, discover_csv, discover_folder, discover_url
        from ..storage import is_url, local

        if cfg.csv:
            root = cfg.root if is_url(cfg.root) else Path(local(cfg.root)) if cfg.root else None
            items = discover_csv(local(cfg.csv), cfg.path_column, cfg.label_column, root)
            if cfg.output:
                check_output(root or (cfg.csv.rsplit("/", 1)[0] if is_url(cfg.csv) else Path(local(cfg.csv)).parent),
                             cfg.output)
            return items, []
        if is_url(cfg.input):
            items, warnings = discover_url(cfg.input, self.extensions())
        else:
            items, warnings = discover_folder(Path(local(cfg.input)), self.extensions(), follow_links=cfg.follow_links)
        if cfg.output:
            check_output(cfg.input, cfg.output)
        return items, warnings

    def fingerprint(self, cfg) -> dict:
        """What besides the settings makes this modality's outputs differ (recorded in run.json)."""
        return {}

    def worker_setup(self) -> None:
        """Once in every worker process, before its first job."""

    def before_fork(self, cfg) -> None:
        """Once in the parent just before it forks the local workers: what each of them would
        otherwise do at its start, done once and inherited (copy-on-write). Nothing that starts
        a thread or draws from a run's seeds."""

    def worker(self, cfg):
        """The object a worker uses: load(src), original(...), augment(...) (see worker.py)."""
        raise NotImplementedError

    def plan(self, cfg):
        from ..plan import plan_files

        return plan_files(cfg, self)

    def work(self, cfg, plan):
        from ..filework import FileWork

        return FileWork(cfg, plan, self)
