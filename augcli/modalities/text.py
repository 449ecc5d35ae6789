"""Text: a table (CSV, TSV, JSONL; streamed in chunks by texttable.py) or a folder of .txt files."""
from __future__ import annotations

from pathlib import Path

from .base import Dropped, FileModality, Modality

TEXT_STEPS = "augcli.transforms.text"
TEXT_DEFAULT = [{"eda": {"alpha": 0.1}}]


class TextTableModality(Modality):
    """A CSV/TSV/JSONL table: one indexing pass, chunks of records in the workers, parts joined."""

    name, recipe_name = "text-table", "text"
    noun = "rows"
    default_transforms = TEXT_DEFAULT
    steps_module = TEXT_STEPS
    preview_kind = "text"

    remote = True

    def accepts(self, cfg) -> bool:
        from ..io.text import table_format
        from ..storage import is_url

        if is_url(cfg.input):
            return not cfg.csv and table_format(cfg.input) is not None
        return bool(cfg.input) and not cfg.csv and Path(cfg.input).is_file()

    def plan(self, cfg):
        from ..texttable import plan_table

        return plan_table(cfg)

    def work(self, cfg, plan):
        from ..texttable import TableWork

        return TableWork(cfg, plan)


class TextFolderModality(FileModality):
    """A folder of .txt files, one sample per file, class-per-subfolder or flat."""

    name, recipe_name = "text-folder", "text"
    noun = "text files (.txt)"
    default_transforms = TEXT_DEFAULT
    steps_module = TEXT_STEPS
    preview_kind = "text"

    def extensions(self) -> set[str]:
        return {".txt"}

    def output_ext(self, suffix: str, fmt: str) -> str:
        return ".txt"

    def discover(self, cfg):
        from ..errors import UsageError

        from ..storage import is_url

        if not cfg.csv and not is_url(cfg.input) and not Path(cfg.input).exists():
            raise UsageError(f"{cfg.input}: input not found; allowed: a CSV/TSV/JSONL table or a folder of .txt files")
        return super().discover(cfg)

    def worker(self, cfg):
        from ..transforms.text import Pipeline

        return TextWorker(cfg, Pipeline(cfg.transforms, cfg.protect, cfg.lexicon, cfg.lexicon_mode))


class TextWorker:
    def __init__(self, cfg, pipeline):
        self.cfg, self.pipeline = cfg, pipeline

    def load(self, src: str):
        from ..io.text import decode

        with open(src, "rb") as f:
            raw = f.read()
        text = decode(raw, self.cfg.encoding, src)
        return {"raw": raw, "text": text, "doc": self.pipeline.parse(text), "copies": {}}

    def original(self, state, src: str, ext: str, seed_key: int):
        return state["raw"], []

    def augment(self, state, job, o, ext: str, seed_key: int):
        from ..seeds import copy_seed

        for k in range(o.copy + 1):  # earlier copies (maybe written by an interrupted run) first
            if k not in state["copies"]:
                seed = o.seed if k == o.copy else copy_seed(self.cfg.seed, job.source, k)
                state["copies"][k] = self._copy(state, seed)
        text, ops, err = state["copies"][o.copy]
        if text is None:
            raise Dropped(err)
        return text.encode("utf-8"), ops

    def _copy(self, state, seed: int):
        from ..transforms.text import unique_copy

        earlier = {t for t, _, _ in state["copies"].values() if t is not None}
        return unique_copy(self.pipeline, state["doc"], state["text"], earlier, seed, self.cfg.max_tries)
