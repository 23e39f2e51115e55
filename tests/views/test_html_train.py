"""The ``tal train-report --html`` page's data: the numbers of the record and of what the terminal prints.

Inputs: the recorded yolo26n run in docs/train-run (10 epochs, two branches) and made-up records
(epochs without a re-run, a branch missing an epoch, no epoch at all). No browser needed
(tests/views/test_html_train_browser.py drives one).
"""

from __future__ import annotations

import json
import os

import pytest

from tal_cli.analysis.counts import Count
from tal_cli.analysis.sweep import PerGt
from tal_cli.views.html.encode import unpack
from tal_cli.views.html.train_page import rich_cells, train_page
from tal_cli.views.train_table import zero_table
from tal_cli.workflows.train_report import read_train_record, write_train_html

from ..clirun import run
from ..conftest import ROOT
from .test_html_pages import page_data_text
from .test_train_record import make_record, make_run

RUN = ROOT / "docs" / "train-run"
BOX_CHARS = "┏┃┡│└"


@pytest.fixture(scope="module")
def recorded() -> dict:
    """The docs run's epochs.json as the file holds it (not through tal's reader)."""
    return json.loads((RUN / "tal" / "epochs.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> dict:
    """The docs run's page, written by the command from the repository root (as docs/train.md does)."""
    path = tmp_path_factory.mktemp("train") / "train.html"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = run("train-report", "docs/train-run", "--html", path)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    return page_data_text(path.read_text(encoding="utf-8"))


def terminal_tables(text: str) -> dict[str, list[list[str]]]:
    """Title -> data rows (cells stripped) of every table rich printed."""
    tables: dict[str, list[list[str]]] = {}
    title = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].startswith("┏"):
            title = line.strip()
            tables[title] = []
        elif line.startswith("│") and title is not None:
            tables[title].append([c.strip() for c in line.strip().strip("│").split("│")])
    return tables


def test_tables_are_what_the_terminal_prints(page: dict) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = run("train-report", "docs/train-run", "--limit", "0", "--by-class")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    printed = terminal_tables(result.stdout)
    assert [b["name"] for b in page["branches"]] == ["one2many", "one2one"]
    shown = 0
    for b in page["branches"]:
        for table in b["tables"]:
            assert table["cells"] == printed[table["title"]], table["title"]
            shown += 1
        worst = b["worst"][-1]
        assert [row[1:] for row in worst] == [row[1:] for row in printed[f"{b['name']}, epoch 10: worst images"]]
    assert shown == 6
    assert page["header"][0] == (
        "docs/train-run/tal/epochs.json: yolo26n.yaml on samples/hubble-train.yaml, imgsz 320, "
        "batch 16, ultralytics 8.4.190"
    )
    assert page["header"][-1] == "10 epochs recorded of 10 planned; tal re-run every batch."
    assert page["epochs"] == list(range(1, 11)) and page["selected"] == 10


def test_tips_and_lines_are_the_records(page: dict, recorded: dict) -> None:
    for b in page["branches"]:
        entries = [e for e in recorded["epochs"] if e["branch"] == b["name"]]
        assert b["epochs"] == [e["epoch"] for e in entries]
        for i, e in enumerate(entries):
            tip = dict(b["tips"][i])
            assert tip["gts"] == str(e["gts"]) and tip["without positives"] == str(e["gts_without_positives"])
            assert tip["rate"] == f"{100 * e['gts_without_positives'] / e['gts']:.1f}%"
            small = e["by_size"]["small"]
            assert tip["small"] == f"{100 * small['without_positives'] / small['gts']:.1f}% " \
                                   f"({small['without_positives']}/{small['gts']})"
            assert tip["medium"] == "- (0/0)"
            assert tip["positives"] == str(e["positives"])
            per = e["positives_per_gt"]
            assert tip["per gt mean, median, max"] == f"{per['mean']:.2f}, {per['median']:g}, {per['max']}"
            assert (tip["contested"], tip["handed"]) == (str(e["contested"]), str(e["handed"]))
            assert tip["mean target score"] == f"{e['target_score_sum'] / e['positives']:.3g}"
            rr = e["rerun"]
            assert tip["tal's re-run: no positive"] == str(rr["without_positives"])
            assert tip["why"] == (f"no candidate {rr['reasons']['no_candidate']}, zero metric "
                                  f"{rr['reasons']['zero_metric']}, lost conflict {rr['reasons']['conflict']}, "
                                  f"topk2 {rr['reasons']['topk2']}")
            assert (
                tip["agreement"]
                == f"{rr['differing_anchors']} differing anchors, {rr['unexplained_anchors']} unexplained"
            )
            assert b["rates"]["all"][i] == pytest.approx(100 * e["zero_positive_rate"], abs=1e-4)
            assert b["rates"]["lt8px"][i] == pytest.approx(100 * e["by_size"]["lt8px"]["rate"], abs=1e-4)
            assert b["per_gt"]["mean"][i] == pytest.approx(per["mean"], abs=1e-6)
            assert b["per_gt"]["median"][i] == per["median"]
            assert [w[0] for w in b["worst"][i]] == [w["file"] for w in e["worst_images"]]
            assert [w[1:3] for w in b["worst"][i]] == [[str(w["gts"]), str(w["without_positives"])]
                                                       for w in e["worst_images"]]
        assert set(b["rates"]) == {"all", "small", "lt16px", "lt8px"}  # no medium or large gt in this run


def test_classes_are_the_records(page: dict, recorded: dict) -> None:
    for b in page["branches"]:
        meta, cols = unpack(b["classes"])
        assert meta == {"names": {"0": "0 galaxy"}}
        entries = [e for e in recorded["epochs"] if e["branch"] == b["name"]]
        expected = [(i, int(c), s["gts"], s["without_positives"]) for i, e in enumerate(entries)
                    for c, s in e["by_class"].items()]
        got = list(zip(*(cols[k].tolist() for k in ("epoch", "cls", "gts", "without"))))
        assert got == expected
        assert cols["share"].tolist() == [int(f"{100 * w / g:.1f}".replace(".", "")) for _, _, g, w in expected]
        assert b["class_headers"] == ["class", "gts", "no pos", "share"]


def test_made_up_record_without_reruns_and_a_missing_epoch(tmp_path) -> None:
    records = [make_record(1), make_record(1, "one2one", rerun=False), make_record(2), make_record(3),
               make_record(3, "one2one", rerun=False)]  # one2one: no epoch 2, never re-run
    data = page_data_text(train_page(make_run(("one2many", "one2one")), records, "run/tal/epochs.json",
                                     ["one2many", "one2one"], selected=2))
    assert data["selected"] == 2 and data["epochs"] == [1, 2, 3]
    many, one = data["branches"]
    assert [t["title"] for t in many["tables"]] == ["one2many: gts without positives",
                                                   "one2many: positives (per gt: mean, median, max)",
                                                   "one2many: why no positive (tal's re-run)"]
    assert [t["title"] for t in one["tables"]] == ["one2one: gts without positives",
                                                  "one2one: positives (per gt: mean, median, max)"]
    assert one["epochs"] == [1, 3] and one["reasons"] == [None, None]
    assert dict(one["tips"][0])["tal's re-run"] == "none this epoch"
    # epoch 1: 9 of 40 without positives; made-up classes: cat 25 (9 without), dog 15
    assert many["tables"][0]["cells"][0] == ["1", "40", "22.5%", "45.0%", "0.0%", "0.0%", "75.0%", "100.0%"]
    assert many["tables"][0]["marked"] == [True, True, True]
    meta, cols = unpack(many["classes"])
    assert meta["names"] == {"0": "0 cat", "1": "1 dog"}
    assert cols["share"].tolist()[:2] == [360, 0]  # 9/25 = 36.0%, 0/15
    assert many["worst"][0] == [["images/a.jpg", "9", "4", "44.4%"], ["images/b.jpg", "3", "1", "33.3%"]]


def test_rich_cells_marks_the_red_rows() -> None:
    rec = make_record(5)  # no gt without positives by epoch 4
    headers, cells, marked = rich_cells(zero_table([make_record(1), rec], "one2many"))
    assert headers == ["epoch", "gts", "all", "small", "medium", "large", "<16 px", "<8 px"]
    assert [c[0] for c in cells] == ["1", "5"] and marked == [True, False]


def test_gts_without_any_and_no_epoch(tmp_path) -> None:
    empty = make_record(1)
    empty = type(empty)(**{**empty.__dict__, "gts": 0, "gts_without_positives": 0, "positives": 0,
                           "positives_per_gt": PerGt(None, None, None), "by_class": {},
                           "by_size": {k: Count(0, 0) for k in empty.by_size}, "worst_images": ()})
    data = page_data_text(train_page(make_run(), [empty], "r.json", ["one2many"]))
    b = data["branches"][0]
    assert b["rates"] == {} and b["per_gt"] == {"mean": [None], "median": [None]} and b["worst"] == [[]]
    assert unpack(b["classes"])[1]["gts"].tolist() == []
    from tal_cli.workflows.train_report import write_train_record

    write_train_record(tmp_path, make_run(), [], chart=False)
    path = write_train_html(tmp_path / "p.html", read_train_record(tmp_path))
    data = page_data_text(path.read_text(encoding="utf-8"))
    assert data["epochs"] == [] and data["selected"] is None and data["branches"][0]["tables"][0]["cells"] == []


def test_page_is_offline_and_has_its_styles(tmp_path) -> None:
    from tal_cli.workflows.train_report import write_train_record

    write_train_record(tmp_path, make_run(), [make_record(1)], chart=False)
    text = write_train_html(tmp_path / "p.html", read_train_record(tmp_path)).read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>\n") and 'data-kind="train"' in text
    assert "default-src 'none'" in text and text.count("<style>") == 2
    assert text.index("tal train-report --html: the train page's own styles") < text.index("</head>")
    for needle in ("fetch(", "XMLHttpRequest", "WebSocket", "@import", "import(", 'src="http'):
        assert needle not in text, needle
