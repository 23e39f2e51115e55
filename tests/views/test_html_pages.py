"""views/html: the pages are one offline file, and their data are the report's (no browser needed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tal_cli.cli import app
from tal_cli.views.html.assets import asset
from tal_cli.views.html.encode import unpack

from ..conftest import ROOT, sample

HUBBLE = sample("hubble_left")
STATIC = ROOT / "tal_cli" / "views" / "html" / "static"
runner = CliRunner()


def page_data(path: Path) -> dict:
    return page_data_text(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hubble_page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "hubble.html"
    result = runner.invoke(app, ["assign", *HUBBLE, "--names", str(ROOT / "samples" / "hubble.yaml"),
                                 "--variant", "ultralytics", "--html", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def hubble_json() -> dict:
    result = runner.invoke(app, ["assign", *HUBBLE, "--variant", "ultralytics", "--json"])
    return json.loads(result.stdout)


def test_static_files_are_real_files_and_inline_safely() -> None:
    names = sorted(p.name for p in STATIC.iterdir())
    assert names == ["assign.js", "check.js", "check_view.js", "common.js", "gt_view.js", "image_view.js", "page.css",
                     "settings_pages.js", "sweep.js", "train.css", "train.js"]
    for name in names:
        text = asset(name)
        assert text == (STATIC / name).read_text(encoding="utf-8")
        assert "</script" not in text.lower() and "</style" not in text.lower(), name
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"tal_cli.views.html" = ["static/*.js", "static/*.css"]' in pyproject


def test_every_static_file_is_listed_where_the_scripts_are_described() -> None:
    """``views/html/assets.py``'s docstring and docs/html.md name every file of ``static/``, and no other."""
    import tal_cli.views.html.assets as assets

    names = {p.name for p in STATIC.iterdir()}
    docs = (ROOT / "docs" / "html.md").read_text(encoding="utf-8")
    listed = docs[docs.index("**The JavaScript and CSS are real files**"):]
    listed = listed[:listed.index("package data")]
    assert set(re.findall(r"`([\w.]+\.(?:js|css))`", listed)) == names
    assert set(re.findall(r"``([\w.]+\.(?:js|css))``", assets.__doc__)) == names


def _node() -> str:
    """The ``node`` executable; skipped without one, unless TAL_REQUIRE_BROWSER is set (``.ci/run``)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("TAL_REQUIRE_BROWSER"):
            pytest.fail("TAL_REQUIRE_BROWSER is set but node is not installed (apt-get install nodejs)")
        pytest.skip("node is not installed: the scripts' syntax is not checked (apt-get install nodejs)")
    return node


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_every_script_parses(name: str) -> None:
    # node --check parses without running: a syntax error fails here, not in a user's browser
    done = subprocess.run([_node(), "--check", str(STATIC / name)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_node_check_catches_a_syntax_error(tmp_path: Path) -> None:
    # the check above can fail: one brace missing from a real script is refused, with its file and line
    text = asset("settings_pages.js")
    broken = tmp_path / "broken.js"
    broken.write_text(text.replace("TAL.tile = function (o) {", "TAL.tile = function (o) ", 1), encoding="utf-8")
    done = subprocess.run([_node(), "--check", str(broken)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "SyntaxError" in done.stderr and f"{broken}:" in done.stderr


def test_page_asks_for_nothing_outside_itself(hubble_page: Path) -> None:
    text = hubble_page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>\n")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # The only URL is the SVG namespace name (an identifier, never fetched).
    assert set(re.findall(r"[a-z]+://[^\s\"'`)]*", text)) <= {"http://www.w3.org/2000/svg"}
    for needle in (
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "EventSource",
        "sendBeacon",
        "@import",
        "import(",
        ' src="http',
    ):
        assert needle not in text, needle
    data = page_data(hubble_page)
    assert data["picture"].startswith("data:image/jpeg;base64,")
    assert data["inputs"]["image"].endswith("hubble_left.jpg") and data["inputs"]["names"].endswith("hubble.yaml")


def test_names_cannot_break_out_of_the_page() -> None:
    from tal_cli.views.html.assets import html_page

    evil = "x</script><script>alert(1)</script><!--"
    text = html_page(title=evil, kind="assign", data={"inputs": {"image": evil}}, scripts=())
    assert "<script>alert(1)" not in text and "<title>x&lt;/script&gt;" in text
    assert page_data_text(text) == {"inputs": {"image": evil}}


def page_data_text(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="tal-data">(.*?)</script>', text, flags=re.S)
    return json.loads(found.group(1))


def test_view_data_are_the_reports(hubble_page: Path, hubble_json: dict) -> None:
    meta, cols = unpack(page_data(hubble_page)["view"])
    gts = hubble_json["gts"]
    assert cols["gt_pairs"].tolist() == [g["candidates"] for g in gts]
    assert [c[0] for c in meta["gts"]["cells"]] == [str(g["index"]) for g in gts]
    assert [c[4] for c in meta["gts"]["cells"]] == [
        "/".join(map(str, g["candidates_per_stride"].values())) for g in gts
    ]
    assert [c[12] for c in meta["gts"]["cells"]] == [g["reason"] or "" for g in gts]
    assert meta["gts"]["positives"] == [g["positives"] for g in gts]
    pos = hubble_json["positives"]
    assert cols["pos_anchor"].tolist() == [p["anchor"] for p in pos]
    assert cols["pos_gt"].tolist() == [p["gt"] for p in pos]
    assert max(abs(int(d) / 1e4 - p["target_score"]) for d, p in zip(cols["pos_ts"], pos)) <= 0.5e-4 + 1e-7
    assert max(abs(int(d) / 1e5 - p["box_loss"]) for d, p in zip(cols["pos_box"], pos)) <= 0.5e-5 + 1e-8
    assert meta["summary"][2] == "332 gts, 729 positives (631/83/15 at strides 8/16/32), target-score sum 149.427"
    problems = [g["index"] for g in sorted(gts, key=lambda g: (g["positives"] > 0, -g["lost"], g["index"]))
                if g["positives"] == 0 or g["lost"] > 0]
    assert meta["gts"]["problems"] == problems


def test_titles_are_the_gt_tables(hubble_page: Path) -> None:
    meta, _ = unpack(page_data(hubble_page)["view"])
    for gt in (14, 101):
        result = runner.invoke(app, ["assign", *HUBBLE, "--names", str(ROOT / "samples" / "hubble.yaml"),
                                     "--variant", "ultralytics", "--gt", str(gt)])
        assert meta["gts"]["title"][gt] in [line.rstrip() for line in result.stdout.splitlines()]
