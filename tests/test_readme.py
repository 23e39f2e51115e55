"""The README and docs/ stay true: the test command is what CI runs, shown outputs are
today's, the library examples run, and every link points at a file that exists."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tal_cli.cli import app

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _console_blocks(text: str) -> list[tuple[list[str], list[str]]]:
    """(argv, output lines) of every ```console block that runs `tal`."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        first, *rest = body.rstrip("\n").split("\n")
        assert first.startswith("$ tal "), first
        blocks.append((shlex.split(first[len("$ tal "):]), rest))
    return blocks


@pytest.fixture()
def at_root():
    cwd = os.getcwd()
    os.chdir(ROOT)  # the pages' paths are relative to the repository root
    try:
        yield
    finally:
        os.chdir(cwd)


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_ci_derandomises_hypothesis_and_checks_the_scripts() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    test_command = next(i for i, line in enumerate(ci) if "pytest -q" in line)
    assert ci.index("export HYPOTHESIS_PROFILE=ci") < test_command
    assert 'for script in tal_cli/views/html/static/*.js; do node --check "$script"; done' in ci
    profile = settings.get_profile("ci")
    assert profile.derandomize and profile.database is None and profile.deadline is None
    # under it, two runs of one test try the same examples (what makes a red run re-runnable)
    runs: list[list[int]] = []

    @settings(profile, max_examples=20)
    @given(st.integers())
    def draw(x: int) -> None:
        runs[-1].append(x)

    for _ in range(2):
        runs.append([])
        draw()
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def test_readme_is_a_front_page() -> None:
    assert len(_console_blocks(README)) >= 1
    assert README.count("\n") < 200, "details belong in docs/"
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in README, f"README does not link {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_shown_outputs_are_current(page: Path, at_root) -> None:
    for argv, shown in _console_blocks(page.read_text(encoding="utf-8")):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, result.stderr
        out = result.stdout.rstrip("\n").split("\n")
        if shown and shown[-1] == "…":  # an excerpt: the first lines
            shown = shown[:-1]
            out = out[: len(shown)]
        assert [ln.rstrip() for ln in out] == [ln.rstrip() for ln in shown], f"{page.name}: {' '.join(argv)}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_point_at_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_library_examples_run(at_root) -> None:
    text = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "docs/library.md", "exec"), {})  # noqa: S102


def test_json_excerpt_is_real_output(at_root) -> None:
    """docs/assign.md's ```json block: every line but ``...`` elisions is a line of today's output."""
    text = (ROOT / "docs" / "assign.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    result = CliRunner().invoke(app, ["assign", "samples/images/astronaut.png", "samples/labels/astronaut.txt",
                                      "samples/preds/astronaut.pt", "--names", "samples/data.yaml", "--json"])
    assert result.exit_code == 0
    real = set(result.stdout.splitlines())
    shown = [ln for ln in block.splitlines() if "..." not in ln]
    assert len(shown) >= 10
    assert [ln for ln in shown if ln not in real] == []
