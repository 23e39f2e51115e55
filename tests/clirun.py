"""The one way tests run the CLI: Typer's runner on ``tal_cli.cli.app``, every argument as a string."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from tal_cli.cli import app

runner = CliRunner()


def run(*args: object) -> Result:
    """``tal ARGS...`` in-process; stdout and stderr kept apart."""
    return runner.invoke(app, [str(a) for a in args])


def run_json(*args: object) -> dict:
    """``tal ARGS... --json``, which must exit 0; its stdout parsed."""
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)
