"""The ``tal`` command line: the Typer app, assembled from one module per command.

Each command lives in :mod:`tal_cli.commands` (``assign``, ``sweep``, ``export``, ``check``, ``train``) and is a thin
layer over a library function. Nothing here imports torch or Pillow, so that ``tal --help``
and ``tal --version`` answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import __version__
from .commands import assign, check, export, sweep, train
from .commands.sweep import expand_list_options  # noqa: F401  (part of the CLI's tested surface)

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="See how task-aligned assignment (TAL) turns ground-truth boxes into positive anchors, "
    "exactly as YOLOv8 / ultralytics training computes it.",
    epilog="\b\nExample:\n"
    "  tal assign samples/images/astronaut.png samples/labels/astronaut.txt samples/preds/astronaut.pt",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


app.command("assign", **assign.HELP)(assign.assign)
app.command("sweep", **sweep.HELP)(sweep.sweep)
app.command("export", **export.HELP)(export.export)
app.command("check", **check.HELP)(check.check)
app.command("train", **train.HELP)(train.train)
app.command("train-report", **train.REPORT_HELP)(train.train_report)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
