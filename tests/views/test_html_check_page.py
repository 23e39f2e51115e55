"""views/html/check_page.py: the tal check page holds the check's own numbers, file by file (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from tal_cli.analysis.check_gts import PageFiles, file_gts
from tal_cli.readers.paths import display_path
from tal_cli.readers.verdicts import verify_pair
from tal_cli.views.check import class_table, limits_table, never_table
from tal_cli.views.html.assign_page import table_cells
from tal_cli.views.html.check_page import status_text
from tal_cli.views.html.encode import unpack
from tal_cli.workflows.check import plan_check, run_check
from tal_cli.workflows.html import write_check_html

from ..conftest import SAMPLES
from .test_html_pages import page_data

SETTINGS = dict(imgsz=[320, 640], variant=["yolov8", "ultralytics"], names=SAMPLES / "data.yaml", workers=1)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The samples checked under 4 settings, every file's record, and the page (every file in its drill-down)."""
    plan = plan_check([SAMPLES], **SETTINGS)
    files: list = []
    kept = PageFiles(10)
    result = run_check(plan, on_file=lambda f: (files.append(f), kept(f)))
    path = write_check_html(tmp_path_factory.mktemp("check") / "check.html", result, kept)
    return plan, result, files, path


def test_top_tables_are_the_terminals(checked) -> None:
    plan, result, _, path = checked
    data = page_data(path)
    assert data["kind"] == "check"
    headers, cells = table_cells(never_table(result.rows), limits_table(result.rows))
    assert data["settings"] == {"headers": headers, "cells": cells, "labels": ["320 yolov8", "320 ultralytics",
                                                                               "640 yolov8", "640 ultralytics"]}
    assert cells[2][:3] == ["640 yolov8", "341", "217\n63.6%"]
    assert data["classes"]["cells"] == table_cells(class_table(result.rows, result.class_names))[1]
    assert data["header"][1] == "3 images, 0 backgrounds, 0 dropped, 0 duplicates (ultralytics' loader)"
    assert data["chart"][2]["zero"][:2] == [{"name": "all", "rate": 217 / 341, "text": "all 63.6% (217/341)"},
                                            {"name": "small", "rate": 217 / 332, "text": "small 65.4% (217/332)"}]
    assert data["dropped"] == [] and data["dropped_total"] == 0 and data["problem_files"] == 1


def test_every_file_view_holds_the_check_numbers(checked) -> None:
    plan, result, files, path = checked
    data = page_data(path)
    by_image = {str(display_path(Path(f.image))): f for f in files}  # the page shows paths as the terminal does
    assert [f["key"] for f in data["files"]] == ["hubble_left", "astronaut", "coffee"]  # worth a look first
    for entry in data["files"]:
        f = by_image[entry["image"]]
        assert entry["zero"] == list(f.zero_candidate) and entry["gts"] == f.gts
        meta, cols = unpack(entry["views"])
        verdict = verify_pair(f.image, f.labels, plan.num_classes, None, False, plan.classes_of)
        for k, setting in enumerate(plan.settings):
            view = meta["views"][k]
            fg = file_gts(verdict, setting)
            assert view["gts"]["kind"].count(0) == f.zero_candidate[k] == fg.zero_candidate
            strides = [view["gts"]["headers"].index(f"stride {s}") for s in setting.strides]
            assert [[int(row[c]) for c in strides] for row in view["gts"]["cells"]] == fg.candidates.tolist()
            assert view["gts"]["title"] == [status_text(fg, g, setting) for g in range(len(verdict.gts))]
            span = cols[f"{k}/span"].astype(int).reshape(-1, len(strides), 4)
            cells = ((span[..., 1] - span[..., 0]).clip(0) * (span[..., 3] - span[..., 2]).clip(0))
            assert cells.tolist() == fg.candidates.tolist()
            assert view["imgsz"] == list(setting.imgsz) and view["placement"][2] <= setting.imgsz[1]
    hubble = data["files"][0]
    shown = display_path(SAMPLES / "images" / "hubble_left.jpg")
    assert hubble["image"] == str(shown)
    assert hubble["text"] == f"{shown}: 288 of 332 gts with no candidate (320 yolov8)"
    assert data["files"][2]["text"].endswith("coffee.png: nothing to flag")


def test_the_page_holds_candidates_only_and_asks_for_nothing(checked) -> None:
    text = checked[3].read_text(encoding="utf-8")
    assert set(re.findall(r"[a-z]+://[^\s\"'`)]*", text)) <= {"http://www.w3.org/2000/svg"}
    for needle in ("fetch(", "XMLHttpRequest", "WebSocket", "sendBeacon", "@import", " src=\"http"):
        assert needle not in text, needle
    meta, cols = unpack(page_data(checked[3])["files"][0]["views"])
    assert not any("pos" in name for name in cols)  # no positives: a check has no predictions
    assert "no positives, scores or metrics exist here" in meta["views"][0]["summary"][2]


def test_status_words(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64)).save(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text("0 0.5 0.5 0.02 0.04\n0 0.5 0.5 0.25 0.25\n0 0.5 0.5 0.75 0.75\n")
    v = verify_pair(str(tmp_path / "a.png"), str(tmp_path / "a.txt"), None, None, False, "")
    setting = plan_check([], imgsz=[64], variant=["yolov8"]).settings[0]
    fg = file_gts(v, setting)
    assert [status_text(fg, g, setting) for g in range(3)] == [
        "no candidate: no anchor centre inside the box (1.3x2.6 px; cells are 8 px at the finest stride): no topk, "
        "alpha or beta gives it a positive",
        "fewer than topk: 4 candidates, topk 10: at most 4 positives",
        "fine: 44 candidates, topk 10"]
    floored = plan_check([], imgsz=[64], variant=["ultralytics"]).settings[0]
    only32 = type(setting)((64, 64), setting.settings.with_(strides=(32,)), 2)
    assert status_text(file_gts(v, only32), 2, only32) == (
        "beyond DFL reach: each of its 4 candidates is more than 0.99 cells (reg_max 2) from a side of the box: "
        "every box target is clipped")
    assert "inside the box widened by the small-box floor" not in status_text(file_gts(v, floored), 0, floored)
