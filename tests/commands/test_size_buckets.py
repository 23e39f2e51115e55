"""A gt of exactly 32² letterboxed px is medium, in every command that sorts gts by size.

COCO's buckets are small ``area < 32²``, medium ``32² <= area < 96²``, large ``area >= 96²``. On
astronaut.png (512 x 512, letterboxed x 1.25 into 640) the row ``0.5 0.5 0.05 0.05`` is the box
304..336 px on both axes in float32: 32 x 32, area 1024 exactly. Each command's own output says
where it went; the training monitor's buckets have their hand test in tests/analysis/test_training.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tal_cli.views.html.encode import unpack

from ..clirun import run, run_json
from ..conftest import sample

IMAGE, _, PREDS = sample("astronaut")
#: The 32² gt, and a large one beside it (0.3 x 640 = 192 px a side).
ROWS = "0 0.5 0.5 0.05 0.05\n0 0.25 0.25 0.3 0.3\n"


@pytest.fixture()
def labels(tmp_path: Path) -> Path:
    path = tmp_path / "astronaut.txt"
    path.write_text(ROWS, encoding="utf-8")
    return path


def test_assign_json_gates_count_it_medium(labels: Path) -> None:
    doc = run_json("assign", IMAGE, labels, PREDS, "--max-zero-positive-rate", "medium=0")
    assert doc["gts"][0]["box"] == [304.0, 304.0, 336.0, 336.0] and doc["gts"][0]["positives"] > 0
    [gate] = doc["gates"]
    assert gate["value"] == 0.0 and gate["passed"] is True  # evaluated over the one medium gt
    result = run("assign", IMAGE, labels, PREDS, "--max-zero-positive-rate", "small=1")
    assert result.exit_code == 3
    assert "evaluated over 0 small gts" in result.stderr


def test_assign_html_page_shows_it_medium(labels: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    result = run("assign", IMAGE, labels, PREDS, "--html", page)
    assert result.exit_code == 0, result.stderr
    data = re.search(r'<script type="application/json" id="tal-data">(.*?)</script>', page.read_text(), re.S)
    meta, _ = unpack(json.loads(data.group(1))["view"])
    assert [meta["size_bins"][i] for i in meta["gts"]["size"]] == ["medium", "large"]


def test_sweep_json_counts_it_medium(labels: Path) -> None:
    doc = run_json("sweep", IMAGE, labels, PREDS)
    by_size = doc["settings"][0]["by_size"]
    assert {name: v["gts"] for name, v in by_size.items()} == {"small": 0, "medium": 1, "large": 1}


def test_check_json_counts_it_medium(labels: Path) -> None:
    doc = run_json("check", IMAGE, labels)
    assert doc["settings"][0]["gts_by_size"] == {"small": 0, "medium": 1, "large": 1}
