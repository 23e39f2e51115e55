"""The README stays true: its test command is what CI runs, and shown outputs are today's."""

from __future__ import annotations

import os
import re
import shlex

from typer.testing import CliRunner

from tal_cli.cli import app

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _console_blocks() -> list[tuple[list[str], list[str]]]:
    """(argv, output lines) of every ```console block that runs `tal`."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        first, *rest = body.rstrip("\n").split("\n")
        assert first.startswith("$ tal "), first
        blocks.append((shlex.split(first[len("$ tal "):]), rest))
    return blocks


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_shown_outputs_are_current() -> None:
    blocks = _console_blocks()
    assert len(blocks) >= 2
    cwd = os.getcwd()
    os.chdir(ROOT)  # the README's paths are relative to the repository root
    try:
        for argv, shown in blocks:
            result = CliRunner().invoke(app, argv)
            assert result.exit_code == 0, result.stderr
            out = result.stdout.rstrip("\n").split("\n")
            if shown and shown[-1] == "…":  # an excerpt: the first lines
                shown = shown[:-1]
                out = out[: len(shown)]
            assert [ln.rstrip() for ln in out] == [ln.rstrip() for ln in shown], " ".join(argv)
    finally:
        os.chdir(cwd)
