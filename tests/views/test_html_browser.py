"""The --html pages in a real browser: Playwright drives the system Chromium (/usr/bin/chromium).

Every network request is blocked and fails the test that attempted it. The page's numbers are
compared with what ``tal assign --json`` and ``--gt N`` print for the same assignment. Skipped
(one line) without playwright or Chromium, unless TAL_REQUIRE_BROWSER is set (``.ci/run``).
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tal_cli.cli import app
from tal_cli.core.anchors import anchor_cell
from tal_cli.views.html.assign_page import table_cells
from tal_cli.views.tables import candidate_table
from tal_cli.workflows.assign import assign_image

from ..conftest import ROOT, sample
from .conftest import wait_ready
from .crowded import crowded_files

pytestmark = pytest.mark.browser
HUBBLE = sample("hubble_left")
ASTRONAUT = sample("astronaut")
HUBBLE_NAMES = str(ROOT / "samples" / "hubble.yaml")
runner = CliRunner()


def _tal(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    out = {"hubble": folder / "hubble.html", "astronaut": folder / "astronaut.html", "sweep": folder / "sweep.html",
           "crowd": folder / "crowd.html", "gt5": folder / "gt5.html"}
    _tal("assign", *HUBBLE, "--names", HUBBLE_NAMES, "--variant", "ultralytics", "--html", out["hubble"])
    _tal("assign", *ASTRONAUT, "--names", str(ROOT / "samples" / "data.yaml"), "--html", out["astronaut"])
    _tal("assign", *ASTRONAUT, "--names", str(ROOT / "samples" / "data.yaml"), "--gt", "5", "--html", out["gt5"])
    _tal("sweep", *HUBBLE, "--names", HUBBLE_NAMES, "--variant", "yolov8", "ultralytics", "--html", out["sweep"])
    crowd = crowded_files(folder / "crowd", n=600, size=640, seed=3)
    _tal("assign", *crowd, "--variant", "ultralytics", "--html", out["crowd"])
    return out


@functools.lru_cache(maxsize=None)
def _json_text(*args: str) -> str:
    return _tal("assign", *args, "--json")


def _json(*args: str) -> dict:
    """``tal assign ARGS --json`` (each command run once per session)."""
    return json.loads(_json_text(*args))


@functools.lru_cache(maxsize=None)
def _assigned(args: tuple[str, ...], gt: int | None = None, variant: str | None = None):
    return assign_image(*args, gt=gt, variant=variant)


def _view_point(page, x: float, y: float, width: int = 640) -> tuple[float, float]:
    """Page coordinates of network-input point (x, y): #view shows the whole input, scaled uniformly."""
    page.locator("#view").scroll_into_view_if_needed()
    box = page.locator("#view").bounding_box()
    k = box["width"] / width
    assert abs(box["height"] / k - width) < 1.5  # square input, uniform scale
    return box["x"] + x * k, box["y"] + y * k


def _hover_anchor(page, anchor: int, levels) -> dict[str, list[str]]:
    """Hover the centre of ``anchor``; the tooltip's head line and its rows by gt."""
    stride, col, row = anchor_cell(anchor, levels)
    page.mouse.move(*_view_point(page, (col + 0.5) * stride, (row + 0.5) * stride))
    tip = page.locator("#tooltip")
    head = tip.locator(".tip-head").inner_text()
    assert head == f"anchor {anchor} · stride {stride} · cell {col},{row}", head
    rows = tip.locator("tbody tr").evaluate_all("rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    return {r[0]: r for r in rows}


def _expected_candidates(args, gt: int, **kw) -> tuple[list[str], list[list[str]]]:
    """The --gt N table's cells, as tal assign prints them."""
    result = _assigned(tuple(args), gt, **kw)
    third = result.report.losses.third
    return table_cells(candidate_table(result.candidates, result.report.gts[gt], third))


@pytest.mark.parametrize("which,args,kw,gts", [
    ("hubble", HUBBLE, {"variant": "ultralytics"}, (14, 101, 4, 5)),
    ("astronaut", ASTRONAUT, {}, (5, 4)),
])
def test_hover_shows_the_gt_tables_values(open_page, pages, which, args, kw, gts) -> None:
    page = open_page(pages[which])
    levels = _assigned(tuple(args), **kw).scene.head.levels
    for gt in gts:
        headers, rows = _expected_candidates(args, gt, **kw)
        col = {name: i for i, name in enumerate(headers)}
        for cells in rows[:5] + rows[-2:]:
            tip = _hover_anchor(page, int(cells[col["anchor"]]), levels)
            got = tip[str(gt)]
            assert got[1:5] == [cells[col["s"]], cells[col["IoU u"]], cells[col["metric t"]], cells[col["rank"]]], (
                gt,
                cells,
            )
            if cells[col["positive"]] == "yes":
                assert got[6:9] == [cells[col["target score"]], cells[col["box term"]], cells[col["dfl term"]]]
                assert "positive" in got[5].split(", ")
            elif cells[col["positive"]].startswith("→ gt"):
                assert cells[col["positive"]] in got[5]


@pytest.mark.parametrize("width", [1400, 1000])
def test_any_anchor_centre_names_its_anchor(open_page, pages, width) -> None:
    page = open_page(pages["hubble"], width=width, height=900)
    levels = _assigned(HUBBLE, variant="ultralytics").scene.head.levels
    gen = random.Random(width)
    anchors = [lv.start + gen.randrange(lv.size) for lv in levels for _ in range(12)]
    anchors += [0, levels[0].stop - 1, levels[-1].start, levels[-1].stop - 1]  # grid corners
    for anchor in anchors:
        _hover_anchor(page, anchor, levels)


def test_background_anchor(open_page, pages) -> None:
    page = open_page(pages["astronaut"])
    levels = _assigned(ASTRONAUT).scene.head.levels
    doc = _json(*ASTRONAUT)
    taken = {p["anchor"] for p in doc["positives"]}
    anchor = next(a for a in range(6400, 8000) if a not in taken)
    _hover_anchor(page, anchor, levels)
    assert "background: no gt holds it" in page.locator("#tooltip").inner_text()


def test_click_rows_show_the_json_counts_and_the_gt_table(open_page, pages) -> None:
    page = open_page(pages["hubble"])
    doc = _json(*HUBBLE, "--variant", "ultralytics")
    for gt in (0, 14, 101, 200, 331):
        g = doc["gts"][gt]
        page.click(f'[data-gt="{gt}"]')
        text = page.locator("#selection").inner_text()
        assert f"{g['candidates']} candidates, {g['selected']} selected, {g['positives']} positives" in text
        assert page.locator(f'[data-gt="{gt}"]').get_attribute("aria-selected") == "true"
    _, rows = _expected_candidates(HUBBLE, 14, variant="ultralytics")
    page.click('[data-gt="14"]')
    shown = page.locator("#selection table.cand tbody tr").evaluate_all(
        "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert shown == rows
    page.click('#selection [data-jump="16"]')  # gt 14 lost anchors to 16 and 17
    assert "gt 16 (galaxy)" in page.locator("#selection").inner_text()


def test_gt_option_opens_with_that_gt_selected(open_page, pages) -> None:
    page = open_page(pages["gt5"])
    assert page.locator("#selection .title").inner_text() == \
        "gt 5 (patch) box 350.0,425.0,412.5,468.7: 60 candidates, 10 selected, 10 positives"
    assert page.locator('[data-gt="5"]').get_attribute("aria-selected") == "true"


def test_click_on_the_image_selects_a_box(open_page, pages) -> None:
    page = open_page(pages["astronaut"])

    def click(x: float, y: float) -> str:
        page.mouse.click(*_view_point(page, x, y))
        return page.locator("#selection .title").inner_text().split(" ")[1]

    assert click(215, 480) == "4"  # inside the patch (4) and the person (0): the smallest box
    assert click(60, 300) == "3"  # inside the flag (3) and the person: the flag is smaller
    assert click(25.5, 300) == "0"  # on the person's left border, inside the flag
    assert click(381, 447) == "5"


def test_strides_toggle_and_keys(open_page, pages) -> None:
    page = open_page(pages["hubble"])
    levels = _assigned(HUBBLE, variant="ultralytics").scene.head.levels
    _hover_anchor(page, 2 * 80 + 2, levels)  # stride 8, cell 2,2, centre (20, 20)
    page.click('[data-stride="8"]')
    assert page.locator('[data-stride="8"]').get_attribute("aria-pressed") == "false"
    page.mouse.move(*_view_point(page, 20, 20))
    # Stride 16's cell 1,1 holds (20, 20); stride 32's centre (16, 16) is 5.7 px away, beyond reach.
    assert page.locator("#tooltip .tip-head").inner_text().startswith("anchor 6441 · stride 16 · cell 1,1")
    _hover_anchor(page, 8000, levels)  # stride 32's anchors: at their centre
    page.keyboard.press("1")
    assert page.locator('[data-stride="8"]').get_attribute("aria-pressed") == "true"
    _hover_anchor(page, 162, levels)
    page.click('[data-layer="candidates"]')
    assert page.locator('[data-layer="candidates"]').get_attribute("aria-pressed") == "false"

    doc = _json(*HUBBLE, "--variant", "ultralytics")
    problems = [g["index"] for g in sorted(doc["gts"], key=lambda g: (g["positives"] > 0, -g["lost"], g["index"]))
                if g["positives"] == 0 or g["lost"] > 0]
    page.locator("body").click(position={"x": 5, "y": 5})
    for key, expected in (("n", problems[0]), ("n", problems[1]), ("p", problems[0]), ("p", problems[-1])):
        page.keyboard.press(key)
        assert page.locator("#selection .title").inner_text().startswith(f"gt {expected} "), key
    page.keyboard.press("?")
    assert page.locator("#keys").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#keys").is_visible()
    page.keyboard.press("c")
    x, y = _view_point(page, 320, 320)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -600)  # zoom in around the pointer
    page.mouse.move(*_view_point(page, 20, 20))
    assert not page.locator("#tooltip .tip-head").inner_text().startswith("anchor 162 ")
    page.keyboard.press("Escape")  # back to the whole input
    _hover_anchor(page, 162, levels)


def test_filters_and_sort(open_page, pages) -> None:
    page = open_page(pages["hubble"])
    doc = _json(*HUBBLE, "--variant", "ultralytics")
    metric0 = sum(1 for g in doc["gts"] if g["positives"] == 0 and g["selected"] == 0 and g["candidates"])
    lost = sum(1 for g in doc["gts"] if g["positives"] == 0 and g["selected"] and g["lost"])
    page.click('[data-filter="kind:2"]')
    assert page.locator(".count").inner_text() == f"showing {metric0} of 332 gts"
    reasons = page.locator('tr[data-gt] td:last-child').all_inner_texts()
    assert len(reasons) == metric0 and all(r.startswith("all ") and "metric 0" in r for r in reasons)
    page.click('[data-filter="kind:3"]')
    assert page.locator(".count").inner_text() == f"showing {metric0 + lost} of 332 gts"
    page.click('[data-filter="kind:2"]')
    page.click('[data-filter="kind:3"]')
    assert page.locator(".count").inner_text() == "332 gts; click a column to sort"

    header = page.locator("th", has_text="cand 8/16/32")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    by_cand = sorted(doc["gts"], key=lambda g: (g["candidates"], g["index"]))
    assert page.locator("tr[data-gt]").first.get_attribute("data-gt") == str(by_cand[0]["index"])
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    top = max(g["candidates"] for g in doc["gts"])
    first = min(g["index"] for g in doc["gts"] if g["candidates"] == top)
    assert page.locator("tr[data-gt]").first.get_attribute("data-gt") == str(first)
    assert page.locator("th", has_text="best IoU").get_attribute("aria-sort") == "none"


def test_long_tables_are_virtualised(open_page, pages) -> None:
    page = open_page(pages["crowd"])
    rendered = page.locator("tr[data-gt]").count()
    assert 20 < rendered < 200
    assert page.locator('[data-gt="599"]').count() == 0
    page.locator(".table-box.virtual").evaluate("b => { b.scrollTop = b.scrollHeight; }")
    page.wait_for_selector('[data-gt="599"]')
    page.keyboard.press("p")  # the last problem gt: selected, its row rendered and marked
    title = page.locator("#selection .title").inner_text()
    gt = title.split(" ")[1]
    page.locator(".table-box.virtual").evaluate("b => { b.scrollTop = 0; }")
    page.keyboard.press("p")
    page.keyboard.press("n")
    assert page.locator(f'[data-gt="{gt}"]').get_attribute("aria-selected") == "true"


def test_numbers_print_as_python_prints_them(open_page, pages) -> None:
    from tal_cli.views.html.encode import fixed_digits, g3_digits

    page = open_page(pages["astronaut"])
    gen = random.Random(14)
    values = [0.0, 1.0, 0.5, 1e-9, 1.38e-19, 9.995, 0.0009995, 99.95, 999.5, 1234.5, 0.00015, 0.00005]
    values += [10 ** gen.uniform(-12, 4) for _ in range(400)] + [gen.random() for _ in range(400)]
    mant, exp = g3_digits(values)
    fixed = fixed_digits(values, 4)
    got = page.evaluate("([m, e, f]) => [m.map((x, i) => TAL.fmtG3(x, e[i])), f.map((x) => TAL.fmtFixed(x, 4))]",
                        [mant.tolist(), exp.tolist(), fixed.tolist()])
    assert got[0] == [format(v, ".3g") for v in values]
    assert got[1] == [format(v, ".4f") for v in values]


def test_sweep_drill_down(open_page, pages) -> None:
    page = open_page(pages["sweep"])
    assert page.locator("[data-setting]").count() == 2
    page.click('[data-setting="1"]')
    assert page.locator('[data-setting="1"]').get_attribute("aria-selected") == "true"
    page.locator('[data-bar="1:all"]').hover()
    assert "all 23.8% (79/332)" in page.locator("#tooltip").inner_text()
    assert page.locator("#view").count() == 0
    page.click('[data-image="hubble_left"]')
    wait_ready(page)
    ultra, v8 = (_json(*HUBBLE, "--variant", v) for v in ("ultralytics", "yolov8"))
    page.click('[data-gt="101"]')
    g = ultra["gts"][101]
    assert (
        f"{g['candidates']} candidates, {g['selected']} selected, {g['positives']} positives"
        in page.locator("#selection").inner_text()
    )
    page.click('[data-view-setting="0"]')
    wait_ready(page)
    g = v8["gts"][101]
    assert (
        f"{g['candidates']} candidates, {g['selected']} selected, {g['positives']} positives"
        in page.locator("#selection").inner_text()
    )
    assert page.locator('[data-view-setting="0"]').get_attribute("aria-pressed") == "true"
    assert (
        v8["summary"]["gts_without_positives"] == 232
        and "232 gts without positives" in page.locator(".summary").nth(1).inner_text()
    )
    # What changed, from setting 1 (ultralytics) to setting 0 (yolov8): gts that lose all their positives.
    lose = [i for i in range(332) if ultra["gts"][i]["positives"] and not v8["gts"][i]["positives"]]
    page.click('[data-setting="0"]')
    page.select_option("select", "1")
    assert page.locator("[data-change]").count() == len(lose)
    page.click(f'[data-change="hubble_left:{lose[0]}"]')
    wait_ready(page)
    assert page.locator("#selection .title").inner_text().startswith(f"gt {lose[0]} ")


# --- tal check --html --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def check_pages(tmp_path_factory) -> dict[str, Path]:
    """The samples under 4 settings; a bad dataset (dropped files); one 32 px gt, with no candidate at input 64
    and fine at 640."""
    from PIL import Image

    from ..commands.test_cli_check import bad_tree

    folder = tmp_path_factory.mktemp("check")
    out = {"samples": folder / "samples.html", "bad": folder / "bad.html", "one": folder / "one.html"}
    _tal("check", str(ROOT / "samples"), "--names", str(ROOT / "samples" / "data.yaml"), "--imgsz", "320", "640",
         "--variant", "yolov8", "ultralytics", "--html", str(out["samples"]))
    _tal("check", str(bad_tree(folder / "ds")), "--html", str(out["bad"]))
    Image.new("RGB", (640, 640), (90, 90, 90)).save(folder / "one.png")
    (folder / "one.txt").write_text("0 0.5 0.5 0.05 0.05\n")
    _tal("check", str(folder / "one.png"), str(folder / "one.txt"), "--imgsz", "64", "640", "--html", str(out["one"]))
    return out


def _open_file(page, key: str) -> None:
    page.click(f'[data-file="{key}"]')
    wait_ready(page)


def _pixel(page, x: float, y: float) -> list[int]:
    """The view's canvas pixel at input point (x, y) (zoom 1, device pixel ratio 1)."""
    return page.locator("#view").evaluate(
        "(c, p) => Array.from(c.getContext('2d').getImageData(p[0], p[1], 1, 1).data)", [round(x), round(y)]
    )


def test_check_page_top_and_charts(open_page, check_pages) -> None:
    page = open_page(check_pages["samples"])
    assert page.locator("tr[data-setting]").count() == 4
    assert page.locator("table.settings tbody tr").nth(2).locator("td").nth(2).inner_text() == "217\n63.6%"
    page.locator('[data-bar="2:small"]').hover()
    assert "640 yolov8: gts with no candidate, small 65.4% (217/332)" in page.locator("#tooltip").inner_text()
    assert page.locator("[data-file]").count() == 3


def test_check_setting_picker_changes_the_gt_colours(open_page, check_pages) -> None:
    page = open_page(check_pages["one"])
    _open_file(page, "one")
    page.locator("#view").scroll_into_view_if_needed()
    width = page.locator("#view").bounding_box()["width"]
    # input 64: the gt is 30.4..33.6 px, red (no candidate); its left edge, halfway down
    red = _pixel(page, 30.4 * width / 64, 32 * width / 64)
    assert red[0] > 200 and red[1] < 120, red
    assert page.locator('[data-gt="0"]').get_attribute("class") == "nopos"
    assert page.locator('[data-gt="0"] td').last.inner_text() == "no candidate"
    page.click('[data-pick="1"]')
    wait_ready(page)
    assert page.locator('[data-view-setting="1"]').get_attribute("aria-pressed") == "true"
    green = _pixel(page, 304 * width / 640, 320 * width / 640)
    assert green[1] > 150 and green[0] < 150, green
    assert page.locator('[data-gt="0"] td').last.inner_text() == "fine"


def test_check_hover_shows_a_gts_numbers(open_page, check_pages) -> None:
    from tal_cli.analysis.check_gts import file_gts
    from tal_cli.readers.verdicts import verify_pair
    from tal_cli.views.html.check_page import status_text
    from tal_cli.workflows.check import plan_check

    page = open_page(check_pages["samples"])
    page.click('[data-pick="2"]')  # 640 yolov8
    _open_file(page, "coffee")
    plan = plan_check(
        [str(ROOT / "samples")], imgsz=[640], variant=["yolov8"], names=str(ROOT / "samples" / "data.yaml")
    )
    image, labels, _ = sample("coffee")
    fg = file_gts(verify_pair(image, labels, 8, None, False, "--names"), plan.settings[0])
    for g in range(3):
        x1, y1, x2, y2 = fg.boxes[g].tolist()
        page.mouse.move(*_view_point(page, x1 + 3, (y1 + y2) / 2))  # inside, near the left side: this gt's box
        tip = page.locator("#tooltip")
        head = tip.locator(".tip-head").inner_text()
        shown = int(head.split()[1])
        assert tip.locator(".tip-status").inner_text() == status_text(fg, shown, plan.settings[0])
        rows = dict(
            tip.locator("tbody tr").evaluate_all("rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])")
        )
        assert [rows[f"stride {s}"] for s in (8, 16, 32)] == [str(v) for v in fg.candidates[shown].tolist()]
    page.click('[data-gt="1"]')
    assert status_text(fg, 1, plan.settings[0]) in page.locator("#selection").inner_text()


def test_check_dropped_file_shows_its_reason(open_page, check_pages) -> None:
    page = open_page(check_pages["bad"])
    assert "Dropped files: ultralytics leaves them out of training (5)" in page.locator("#dropped").inner_text()
    assert "labels/train/beyond.txt, line 2: ultralytics drops this image: coordinate 1.02 > 1.01" \
        in page.locator("#dropped").inner_text()
    assert page.locator('[data-file="beyond"]').count() == 0  # training never sees it: no drill-down
    assert "Dropped files are not here" in page.locator("#app").inner_text()
    _open_file(page, "small")
    assert page.locator("#view").count() == 1
    assert page.locator('[data-gt="0"] td').last.inner_text() == "no candidate"
