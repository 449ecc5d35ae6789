"""The CLI passes its options to the recipe by name: every option of a run command must be a
recipe key (a renamed parameter would otherwise be rejected at run time, or silently ignored)."""
import typer.main

from augcli.cli import app
from augcli.recipe import KEYS


def test_run_command_parameters_are_recipe_options():
    group = typer.main.get_command(app)
    for name in ("image", "audio", "text", "tabular", "run"):
        params = {p.name for p in group.commands[name].params}
        stray = params - set(KEYS) - {"recipe", "quiet"}
        assert not stray, f"augcli {name}: parameters that are not recipe options: {sorted(stray)}"
