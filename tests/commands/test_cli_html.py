"""CliRunner tests of --html and --html-images: what is written, said, and refused (exact messages)."""

from __future__ import annotations

import json
from pathlib import Path

from ..clirun import run
from ..conftest import sample

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


# --- tal check --html ------------------------------------------------------------------------


def _tree_digest(root: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_check_html_is_written_and_said(tmp_path: Path, monkeypatch) -> None:
    from .test_cli_check import bad_tree

    bad_tree(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    before = _tree_digest(tmp_path / "ds")
    out = tmp_path / "out"
    out.mkdir()
    result = run("check", "ds/data.yaml", "--html", out / "c.html", "--html-images", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.rstrip("\n").splitlines()[-1] == f"wrote {out / 'c.html'}"
    assert [p.name for p in out.iterdir()] == ["c.html"]  # written atomically: no temporary file left
    assert _tree_digest(tmp_path / "ds") == before  # input files untouched, nothing written beside them
    text = (out / "c.html").read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and '<html lang="en" data-kind="check">' in text
    data = json.loads(text.split('id="tal-data">', 1)[1].split("</script>", 1)[0])
    # the terminal's list without its five dropped files (listed with their reasons instead), then file order
    assert [f["key"] for f in data["files"]] == ["small", "dups", "empty"]
    assert all(f["views"] and f["picture"] for f in data["files"]) and data["problem_files"] == 2
    assert data["dropped_total"] == 5 and data["dropped"][0] == (
        "ds/labels/train/beyond.txt, line 2: ultralytics drops this image: coordinate 1.02 > 1.01 "
        "(non-normalized or out of bounds coordinates)")
    assert data["duplicates"] == ["ds/images/train/dups.png: 1 duplicate row removed (ultralytics reorders the gts)"]


def test_check_html_images_zero_and_json(tmp_path: Path) -> None:
    path = tmp_path / "c.html"
    result = run("check", "--html", path, "--html-images", "0", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["written"] == [str(path)]
    assert '"files":[]' in path.read_text(encoding="utf-8")


def test_check_unwritable_page_fails_before_the_work(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "c.html"
    result = run("check", "--html", path, "--csv", tmp_path / "c.csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {path}: cannot write (folder {path.parent} not found)\n"
    assert list(tmp_path.iterdir()) == []  # the check did not run: no CSV either
    result = run("check", "--html", tmp_path)
    assert (result.exit_code, result.stderr) == (1, f"Error: {tmp_path}: is a folder, expected a file to write\n")
    result = run("check", "--html", tmp_path / "c.html", "--html-images", "-1")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for '--html-images': Input should be greater than or equal to 0\n"
    )
