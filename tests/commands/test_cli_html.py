"""CliRunner tests of --html and --html-images: what is written, said, and refused (exact messages)."""

from __future__ import annotations

import json
from pathlib import Path



from ..conftest import sample
from ..clirun import run

COFFEE = sample("coffee")


def test_assign_html_is_written_and_said(tmp_path: Path) -> None:
    path = tmp_path / "coffee.html"
    result = run("assign", *COFFEE, "--html", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").splitlines()[-1] == f"wrote {path}"
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["coffee.html"]  # no temporary file left


def test_assign_json_names_the_page(tmp_path: Path) -> None:
    path = tmp_path / "c.html"
    result = run("assign", *COFFEE, "--html", path, "--json", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["html"] == str(path)
    assert all(p.endswith(".png") for p in doc["overlays"]) and len(doc["overlays"]) == 3


def test_unwritable_page_fails_before_the_work(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "c.html"
    result = run("assign", *COFFEE, "--html", path, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: cannot write (folder {path.parent} not found)\n"
    assert not (tmp_path / "o").exists()
    result = run("assign", *COFFEE, "--html", tmp_path)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}: is a folder, expected a file to write\n"
    result = run("sweep", "--html", path)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: cannot write (folder {path.parent} not found)\n"


def test_sweep_html(tmp_path: Path) -> None:
    path = tmp_path / "s.html"
    result = run("sweep", "--topk", "5", "13", "--html", path, "--html-images", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").splitlines()[-1] == f"wrote {path}"
    text = path.read_text(encoding="utf-8")
    assert '"key":"astronaut"' in text and '"key":"coffee"' not in text  # astronaut has more gts (6 vs 3)
    result = run("sweep", "--html", path, "--html-images", "0", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["written"] == [str(path)]
    assert '"worst":[]' in path.read_text(encoding="utf-8")


def test_html_images_must_be_a_count() -> None:
    result = run("sweep", "--html-images", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--html-images'" in result.stderr


def test_help_lists_the_options() -> None:
    assert "--html" in run("assign", "--help").stdout
    out = run("sweep", "--help").stdout
    assert "--html" in out and "--html-images" in out
