"""tal_cli.views.tables: tables fit 80 and 120 columns, never cut a value, and name what they leave out."""

from __future__ import annotations

import pytest
from rich.console import Console

from tal_cli.analysis.sweep import sweep
from tal_cli.readers.config import load_config
from tal_cli.readers.scene import assign_scenes, load_scene
from tal_cli.views.report import build_report, candidate_rows
from tal_cli.views.tables import (
    Column,
    candidate_table,
    fit_table,
    gt_table,
    sweep_class_table,
    sweep_detail_table,
    sweep_table,
)

from ..conftest import sample

WIDTHS = (60, 80, 120)


def render(fitted, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(fitted)
    return console.export_text().splitlines()


def check_fits(fitted, width: int) -> list[str]:
    """Every line within ``width``; no ellipsis; every value of every shown column whole on one line
    (free text, which wraps, word by word)."""
    lines = render(fitted, width)
    assert all(len(line) <= width for line in lines), max(len(line) for line in lines)
    assert not any("…" in line for line in lines)
    text = "\n".join(lines)
    words = set(text.split())
    for column in fitted.columns:
        if column.header in fitted.hidden:
            continue
        for value in column.values:
            if column.wraps:
                assert set(value.split()) <= words, (column.header, value)
            else:
                assert value in text, (column.header, value)
    return lines


@pytest.fixture(scope="module")
def hubble():
    cfg = load_config(None).override(variant="ultralytics")
    scene = load_scene(*sample("hubble_left"), cfg.imgsz, cfg.strides, cfg.reg_max)
    a = assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))
    return scene, a, build_report(scene, a, 0, {0: "galaxy"})


@pytest.mark.parametrize("width", WIDTHS)
def test_gt_table_fits(hubble, width: int) -> None:
    _, _, report = hubble
    rows = sorted(report.gts, key=lambda r: (r.positives > 0, -r.lost))[:30]
    fitted = gt_table(rows, report.strides, report=report, width=width)
    lines = check_fits(fitted, width)
    # the essential columns are always there; the rest is named when left out
    for must in ("gt", "cand\n8/16/32", "pos\n8/16/32", "why no positive"):
        assert must not in fitted.hidden
    if width >= 120:
        assert len(fitted.hidden) <= 2
    assert any(line.lstrip().startswith(str(rows[0].index)) for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_candidate_table_fits(hubble, width: int) -> None:
    scene, a, report = hubble
    gt = next(r for r in report.gts if r.positives)
    fitted = candidate_table(candidate_rows(scene, a, gt.index), gt, width=width)
    check_fits(fitted, width)
    assert {"anchor", "s", "IoU u", "metric\nt", "selected", "positive"}.isdisjoint(fitted.hidden)


@pytest.fixture(scope="module")
def sweep_rows():
    cfg = load_config(None)
    scenes = [load_scene(*sample(s), cfg.imgsz, cfg.strides, cfg.reg_max) for s in ("astronaut", "coffee")]
    settings = [cfg.override(topk=k, variant=v).assigner_settings(8) for k in (5, 10, 13)
                for v in ("yolov8", "ultralytics")]
    return sweep(scenes, settings)


@pytest.mark.parametrize("width", WIDTHS)
def test_sweep_tables_fit(sweep_rows, width: int) -> None:
    for fitted in (sweep_table(sweep_rows, width), sweep_detail_table(sweep_rows, width),
                   sweep_class_table(sweep_rows, 0, "person", width)):
        check_fits(fitted, width)
    outcome = sweep_table(sweep_rows, width)
    # the varying settings (topk, variant) and the zero-positive rate are always shown
    assert {"topk", "variant", "pos/gt\nmean", "no positive\nall gts"}.isdisjoint(outcome.hidden)
    headers = [c.header for c in outcome.columns]
    assert "alpha" not in headers and "beta" not in headers  # fixed values are in the header lines


def test_wide_shows_every_column(sweep_rows) -> None:
    fitted = sweep_table(sweep_rows, None)
    assert fitted.hidden == () and fitted.note(80) is None


def test_fit_keeps_order_and_names_the_left_out() -> None:
    columns = [Column("a", ["1"], 0), Column("bbbbbbbbbb", ["2"], 3), Column("c", ["3"], 1), Column("dddd", ["4"], 2)]
    fitted = fit_table(columns, 12)  # a, c, dddd fit (1 + 3 + 1 + 3 + 4 = 12); bbbbbbbbbb does not
    assert fitted.hidden == ("bbbbbbbbbb",)
    assert render(fitted, 12)[0].split() == ["a", "c", "dddd"]
    assert fitted.note(12) == "not shown at 12 columns: bbbbbbbbbb; --wide shows every column"


def test_wrapping_text_breaks_between_words() -> None:
    text = "every selected anchor went to another gt with higher IoU (gt 102)"
    fitted = fit_table([Column("gt", ["101"], 0), Column("why", [text], 0, "left", wraps=True)], 36)
    lines = render(fitted, 36)
    words = " ".join(line[len("gt") + 3:].strip() for line in lines[2:])
    assert words == text  # every word whole, in order

