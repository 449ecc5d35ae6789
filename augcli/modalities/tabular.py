"""Tables balanced by oversampling (imbalanced-learn): planned and written as a whole table."""
from __future__ import annotations

from .base import Modality

OPTIONS = ("target", "method", "strategy", "k_neighbors", "categorical", "exclude", "impute", "drop_missing_target",
           "shrinkage", "noise_scale", "flag_column", "no_flag", "evaluate", "encoding", "format", "force_overwrite")


class TabularModality(Modality):
    name = recipe_name = "tabular"
    noun = "rows"
    formats = ("same", "csv", "tsv", "parquet")
    takes_transforms = False
    preview_kind = "tabular"

    def validate_steps(self, raw, where: str) -> list:
        from ..errors import RecipeError

        if raw:
            raise RecipeError(f"{where}: tabular recipes take no transforms; allowed: method, "
                              "strategy, k_neighbors, ... (see augcli tabular --help)")
        return []

    def check(self, cfg, where: str, require_io: bool) -> None:
        from ..errors import RecipeError

        if cfg.scheduler != "processes":
            raise RecipeError(f"{where}: scheduler {cfg.scheduler!r} is refused: augcli tabular runs on this machine only "
                              "(imbalanced-learn holds the whole table in memory); allowed: processes")
        if require_io and not cfg.target:
            raise RecipeError(f"{where}: target is missing; allowed: the name of the class column (--target)"
                              f"{_columns_hint(cfg.input)}")

    def describe(self, cfg) -> str:
        return f"tabular, target {cfg.target!r}, method {cfg.method}"

    def listing(self, specs: dict) -> list[str]:
        """`augcli transforms tabular`: its options (`specs`: the recipe's Params) instead of steps."""
        lines = ["tabular has no per-sample transforms; it oversamples whole tables. Its options:"]
        for name in OPTIONS:
            p = specs[name]
            allowed, doc = p.allowed(), p.doc
            if name == "format":
                allowed, doc = "one of " + ", ".join(self.formats), "output table format (same: OUTPUT's extension)"
            lines.append(f"    {name:<19} default {p.describe_default():<12} {allowed}"
                         + (f"  - {doc}" if doc and p.kind != "any" else ""))
        return lines

    def run(self, cfg, quiet: bool = False, executor=None):
        """A whole table, in this process (imbalanced-learn's neighbour searches use all cores)."""
        from .. import tabular
        from ..runner import Result

        tabular.run(cfg, quiet)
        return Result()


def _columns_hint(path: str | None) -> str:
    """' - columns of PATH: a, b, c' when the table's header can be read, else ''."""
    try:
        from ..io.tabular import schema, table_format

        names = schema(path, table_format(path)).names
    except Exception:  # noqa: BLE001 - only a hint for an error message
        return ""
    more = ", ..." if len(names) > 40 else ""
    return f" - columns of {path}: {', '.join(names[:40])}{more}"
