"""What every command shares: consoles, the ``Error:`` line, gates on exit, the progress bar.

The command modules are the only ones that print. Heavy modules (torch, Pillow, the library)
are imported inside functions so that ``tal --help`` answers at once.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import NoReturn

import typer

from ..readers.paths import display_path  # noqa: F401  (re-exported for the commands)

#: Exit codes (docs/exit-codes.md): bad input, bad usage. A violated gate exits with
#: :data:`tal_cli.analysis.gates.EXIT_GATE` (3).
EXIT_ERROR = 1
EXIT_USAGE = 2
#: Exit status when stdout closes early (``tal ... | head``): 128 + SIGPIPE, what the shell reports
#: for other CLIs killed by the signal.
EXIT_PIPE = 141


def fail(message: str) -> NoReturn:
    """One ``Error: ...`` line on stderr, exit code 1 (bad input)."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def usage_error(message: str) -> NoReturn:
    """One ``Error: ...`` line on stderr, exit code 2 (bad usage)."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def reports_errors(func):
    """Turn library errors into one ``Error: ...`` line on stderr and exit code 1, and a closed
    stdout (``tal ... | head``) into a quiet exit with status 141, as other command-line tools do."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..core.errors import TalError

        try:
            return func(*args, **kwargs)
        except TalError as exc:
            fail(str(exc))
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(EXIT_PIPE) from None

    return wrapper


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is left at exit does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass


def parse_gate_options(max_zero_positive_rate, min_positives_per_gt):
    """Parse the gate options up front; a bad value is a usage error (exit 2)."""
    from ..analysis.gates import parse_gates
    from ..core.errors import ConfigError

    try:
        return parse_gates(max_zero_positive_rate or (), min_positives_per_gt or ())
    except ConfigError as exc:
        usage_error(str(exc))


def emit_json(doc: dict, gates, results) -> None:
    """Print the one JSON document (with its ``gates`` list when gates were given), then enforce them."""
    from ..analysis.gates import results_to_json
    from ..views.json_text import document_text

    if gates:
        doc["gates"] = results_to_json(results)
    typer.echo(document_text(doc))
    enforce_gates(results)


def enforce_gates(results) -> None:
    """After the full result is out: name each violated gate on stderr and exit with EXIT_GATE."""
    from ..analysis.gates import EXIT_GATE

    failed = [r for r in results if not r.passed]
    for r in failed:
        typer.echo(f"Gate failed: {r.message()}", err=True)
    if failed:
        raise typer.Exit(EXIT_GATE)


#: Width of tables and text when stdout is not a terminal and ``COLUMNS`` is not set (piped output
#: stays the same everywhere).
PIPE_WIDTH = 100


def pipe_width(default: int = PIPE_WIDTH) -> int:
    """Columns for output that is not a terminal: ``COLUMNS`` when it holds a positive number, else ``default``."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


def console(stderr: bool = False, width: int | None = None):
    """A rich console: the terminal's width; when not a terminal ``COLUMNS``, else ``width`` columns
    (default :data:`PIPE_WIDTH`: stable piped output).

    A closed stdout (``tal ... | head``) ends the command quietly with status 141.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            _silence_stdout()
            raise SystemExit(EXIT_PIPE)

    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return _Console(stderr=stderr, width=None if tty else pipe_width(width or PIPE_WIDTH), highlight=False)


def say(out, text) -> None:
    """Print a line of text: word-wrapped on a terminal, one unbroken line when piped (for grep and scripts)."""
    out.print(text, markup=False, highlight=False, soft_wrap=not out.is_terminal)


def print_table(out, fitted, wide: bool = False) -> None:
    """Print a fitted table and, when columns were left out (and not ``wide``), a dim line naming them.

    A ``wide`` table is printed at its own width, however wide (nothing cropped).
    """
    if wide:
        saved = out.width
        out.width = 10_000  # the table's natural width, whatever the terminal
        try:
            out.print(fitted)
        finally:
            out.width = saved
    else:
        out.print(fitted)
    note = fitted.note(out.width)
    if note and not wide:
        out.print(note, style="dim", markup=False, highlight=False, soft_wrap=not out.is_terminal)


def warn(err, text: str) -> None:
    """A ``Warning: ...`` line on the stderr console ``err``, printed as is."""
    err.print(f"Warning: {text}", markup=False, highlight=False, soft_wrap=True)


class ProgressBar:
    """A transient rich progress bar on ``console`` when ``show``, else nothing; the same calls either way.

    It shows the count, the rate (``12.3 images/s``) and the time left.
    """

    def __init__(self, console, label: str, total: int, show: bool, unit: str = "images") -> None:
        self._bar = self._task = None
        if show:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            class Rate(ProgressColumn):
                def render(self, task) -> Text:
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.1f} {unit}/s" if speed else "", style="progress.data.speed")

            self._bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn(),
                                 console=console, transient=True)
            self._task = self._bar.add_task(label, total=total)

    def __enter__(self) -> "ProgressBar":
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)


class TalCommand(typer.core.TyperCommand):
    """A command whose help reads plainly: ``IMAGE LABELS PREDS`` in the usage line (not ``{IMAGE}``),
    and argument names without the type placeholders (``<path>``, ``<list[Path]>``) that the
    descriptions already explain."""

    def collect_usage_pieces(self, ctx):
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in super().collect_usage_pieces(ctx)]

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if isinstance(param, typer.core.TyperArgument):
                param.display_type_rich = lambda ctx: None  # the name and its description say enough
        super().format_help(ctx, formatter)
