"""The ``tal train-report --html`` page in a real browser (the system Chromium, as test_html_browser.py).

The docs run's page (docs/train-run, 10 epochs, two branches): it loads without a request or a
script error, hovering a chart shows that epoch's numbers as epochs.json holds them, the epoch
picker, a table row and the arrow keys change the epoch shown. Skipped without a browser unless
TAL_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tal_cli.workflows.train_report import read_train_record, write_train_html, write_train_record

from ..conftest import ROOT
from .test_train_record import make_run

pytestmark = pytest.mark.browser
RUN = ROOT / "docs" / "train-run"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads((RUN / "tal" / "epochs.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def train_html(tmp_path_factory) -> Path:
    return write_train_html(tmp_path_factory.mktemp("train") / "train.html", read_train_record(RUN))


def _entry(recorded: dict, epoch: int, branch: str) -> dict:
    return next(e for e in recorded["epochs"] if e["epoch"] == epoch and e["branch"] == branch)


def _hover(page, dot) -> None:
    """Move the pointer onto a chart point (scrolled into view first)."""
    dot.scroll_into_view_if_needed()
    box = dot.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _tip(page) -> dict[str, str]:
    tip = page.locator("#tooltip")
    assert tip.is_visible()
    rows = tip.locator("tr")
    return {rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text() for i in range(rows.count())}


def _class_rows(page, branch: str) -> list[list[str]]:
    rows = page.locator(f'[data-branch="{branch}"] .class-table tbody tr')
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def test_hover_shows_the_epochs_numbers(open_page, train_html, recorded) -> None:
    page = open_page(train_html)
    dot = page.locator('[data-branch="one2many"] svg[data-chart="rates"] circle[data-series="all"][data-epoch="7"]')
    _hover(page, dot)
    assert page.locator("#tooltip .tip-head").inner_text() == "epoch 7 · one2many"
    e = _entry(recorded, 7, "one2many")
    tip = _tip(page)
    assert tip["gts"] == str(e["gts"]) == "78"
    assert tip["without positives"] == str(e["gts_without_positives"])
    assert tip["rate"] == f"{100 * e['zero_positive_rate']:.1f}%" == "24.4%"
    assert tip["positives"] == str(e["positives"]) and tip["contested"] == str(e["contested"])
    assert tip["handed"] == str(e["handed"]) and tip["mean target score"] == "0.013"
    rr = e["rerun"]
    assert tip["why"] == (f"no candidate {rr['reasons']['no_candidate']}, zero metric {rr['reasons']['zero_metric']}, "
                          f"lost conflict {rr['reasons']['conflict']}, topk2 {rr['reasons']['topk2']}")
    assert tip["agreement"] == f"{rr['differing_anchors']} differing anchors, {rr['unexplained_anchors']} unexplained"
    # the positives chart of the other branch, epoch 1
    dot = page.locator('[data-branch="one2one"] svg[data-chart="per-gt"] circle[data-series="mean"][data-epoch="1"]')
    _hover(page, dot)
    assert page.locator("#tooltip .tip-head").inner_text() == "epoch 1 · one2one"
    per = _entry(recorded, 1, "one2one")["positives_per_gt"]
    assert _tip(page)["per gt mean, median, max"] == f"{per['mean']:.2f}, {per['median']:g}, {per['max']}"
    page.mouse.move(2, 2)
    assert not page.locator("#tooltip").is_visible()


def test_epoch_picker_changes_the_class_table(open_page, train_html, recorded) -> None:
    page = open_page(train_html)
    assert page.locator("#epoch").input_value() == "10"

    def expected(epoch: int, branch: str) -> list[list[str]]:
        by_class = _entry(recorded, epoch, branch)["by_class"]
        return [[f"{c} galaxy", str(s["gts"]), str(s["without_positives"]),
                 f"{100 * s['without_positives'] / s['gts']:.1f}%"] for c, s in by_class.items()]

    assert _class_rows(page, "one2many") == expected(10, "one2many")
    page.select_option("#epoch", "3")
    assert (
        page.locator('[data-branch="one2many"] h3', has_text="by class").inner_text() == "one2many, epoch 3: by class"
    )
    assert _class_rows(page, "one2many") == expected(3, "one2many") == [["0 galaxy", "92", "7", "7.6%"]]
    assert _class_rows(page, "one2one") == expected(3, "one2one")
    worst = page.locator('[data-branch="one2many"] .worst-table tbody td').all_inner_texts()
    w = _entry(recorded, 3, "one2many")["worst_images"][0]
    assert worst[1:3] == [str(w["gts"]), str(w["without_positives"])]
    # a row of a per-epoch table picks its epoch; so do [ and ]
    page.locator('[data-branch="one2one"] .train-tables tr[data-epoch="5"]').first.click()
    assert page.locator("#epoch").input_value() == "5"
    assert _class_rows(page, "one2many") == expected(5, "one2many")
    page.keyboard.press("]")
    assert page.locator("#epoch").input_value() == "6"
    # a focused chart steps through the epochs with the arrow keys, from the epoch picked
    page.locator('[data-branch="one2many"] svg[data-chart="rates"]').focus()
    page.keyboard.press("ArrowLeft")
    assert page.locator("#tooltip .tip-head").inner_text() == "epoch 5 · one2many"


def test_a_record_without_epochs(open_page, tmp_path) -> None:
    write_train_record(tmp_path, make_run(), [], chart=False)
    page = open_page(write_train_html(tmp_path / "empty.html", read_train_record(tmp_path)))
    assert page.locator("#no-epochs").inner_text() == ("No epoch recorded yet: the files are written at the end of "
                                                       "each epoch.")


def test_a_long_run_marks_the_picked_epoch_in_virtualised_tables(open_page, tmp_path) -> None:
    from .test_train_record import make_record

    write_train_record(tmp_path, make_run(epochs=150), [make_record(e) for e in range(1, 151)], chart=False)
    page = open_page(write_train_html(tmp_path / "long.html", read_train_record(tmp_path)))
    box = page.locator('[data-branch="one2many"] .train-tables .table-box').first
    assert "virtual" in box.get_attribute("class")  # 150 epochs: only the rows in view are built
    assert box.locator("tbody tr:not(.spacer)").count() < 100
    page.select_option("#epoch", "75")
    picked = box.locator('tr[aria-selected="true"]')
    assert picked.get_attribute("data-epoch") == "75" and picked.is_visible()
    assert picked.locator("td").first.inner_text() == "75"
