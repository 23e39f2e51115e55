"""``tal train-report`` on recorded runs (exact lines, exit codes, 80 columns), and ``tal train`` without ultralytics.

``tal train`` itself runs in the ultralytics venv (tests/ultralytics/test_monitor_ultralytics.py).
"""

from __future__ import annotations

import json
import os

import pytest

from tal_cli.workflows.train_report import write_train_record

from ..clirun import run
from ..views.test_train_record import make_record, make_run


@pytest.fixture()
def record_dir(tmp_path):
    """A run folder with 3 epochs of a two-branch head; the working folder is tmp_path."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        write_train_record(tmp_path / "run" / "tal", make_run(("one2many", "one2one")),
                           [make_record(e, b) for e in (1, 2, 3) for b in ("one2many", "one2one")], chart=False)
        yield tmp_path / "run"
    finally:
        os.chdir(cwd)


def test_report_tables(record_dir) -> None:
    result = run("train-report", "run", "--branch", "one2many")
    assert result.exit_code == 0, result.stderr
    lines = [ln.rstrip() for ln in result.stdout.splitlines()]
    assert lines[:5] == [
        "run/tal/epochs.json: yolov8n.yaml on data.yaml, imgsz 320, batch 16, ultralytics",
        "8.4.190",
        "one2many: topk 10, alpha 0.5, beta 6, 2 classes, variant ultralytics (small-box",
        "floor 16 px)",
        "3 epochs recorded of 5 planned; tal re-run every batch.",
    ]
    text = "\n".join(lines)
    # zero-positive rates: epoch 1 has 9 of 40 (22.5%); small 9/20, lt8px 6/6
    assert "│     1 │  40 │ 22.5% │ 45.0% │   0.0% │  0.0% │  75.0% │ 100.0% │" in text
    # positives: 81 = 2 * 40 + 1, mean 2.02, contested 6, handed 1, mean target 13.5 / 81
    assert "│     1 │        81 │ 2.02 │      2 │   7 │         6 │      1 │  0.167 │" in text
    # re-run: 9 zero-metric, 2 differing anchors, 0 unexplained
    assert "│     1 │   9 │         0 │      9 │        0 │     0 │       2 │       0 │" in text
    assert "one2many, epoch 3: worst images" in text and "│ images/a.jpg │   9 │      3 │ 33.3% │" in text
    assert "one2one" not in text
    assert max(len(ln) for ln in lines) <= 80


def test_report_every_branch_fits_80_columns(record_dir) -> None:
    result = run("train-report", record_dir / "tal" / "epochs.json", "--by-class", "--epoch", "2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(ln.rstrip()) for ln in lines) <= 80
    assert "…" not in result.stdout
    titles = [ln.strip() for ln in lines if ln.startswith(("one2many", "one2one")) and ":" in ln and "topk" not in ln]
    assert titles == [f"{b}{t}" for b in ("one2many", "one2one") for t in (
        ": gts without positives", ": positives (per gt: mean, median, max)", ": why no positive (tal's re-run)",
        ", epoch 2: worst images", ", epoch 2: by class")]
    assert "│ 0 cat │  25 │      6 │ 24.0% │" in result.stdout


def test_report_limit(record_dir) -> None:
    result = run("train-report", "run", "--limit", "1")
    assert result.exit_code == 0
    assert "3 epochs recorded of 5 planned, the last 1 shown; tal re-run every batch." in result.stdout
    assert result.stdout.rstrip().endswith("2 earlier epochs not shown; --limit 0 shows all.")
    assert "│     2 │" not in result.stdout


def test_report_json_and_plot(record_dir) -> None:
    result = run("train-report", "run", "--json", "--branch", "one2one", "--plot", "chart.png")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "tal.train/1" and {e["branch"] for e in doc["epochs"]} == {"one2one"}
    assert doc["written"] == ["chart.png"] and (record_dir.parent / "chart.png").stat().st_size > 1000
    result = run("train-report", "run", "--plot", "chart.webp")
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("wrote chart.webp")


@pytest.mark.parametrize("args,code,message", [
    (["nope"], 1, "Error: nope: not found"),
    (["."], 1, "Error: .: no training record (tal/epochs.json); was the run trained with tal train or "
               "add_tal_callbacks?"),
    (["run", "--branch", "one2one", "--epoch", "9"], 2, "Error: --epoch 9: recorded epochs are 1-3"),
    (["run", "--plot", "chart.gif"], 1, "Error: chart.gif: cannot write a picture with suffix '.gif'; use .png, .jpg, "
                                        ".jpeg, .webp"),
    (["run", "--limit", "-1"], 2, "Invalid value for '--limit'"),
])
def test_report_errors(record_dir, args, code, message) -> None:
    result = run("train-report", *args)
    assert result.exit_code == code
    assert message in result.stderr
    if code == 1:
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_report_unknown_branch(tmp_path) -> None:
    write_train_record(tmp_path, make_run(), [make_record(1)], chart=False)
    result = run("train-report", tmp_path, "--branch", "one2one")
    assert result.exit_code == 2 and result.stderr == "Error: --branch one2one: the record has one2many\n"


def test_report_of_a_run_without_epochs(tmp_path) -> None:
    write_train_record(tmp_path, make_run(), [], chart=False)
    result = run("train-report", tmp_path)
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith("No epoch recorded yet: the files are written at the end of each epoch.")


def test_train_needs_ultralytics() -> None:
    try:
        import ultralytics  # noqa: F401
    except ImportError:
        result = run("train", "yolov8n.yaml", "data.yaml", "epochs=1")
        assert result.exit_code == 1
        assert result.stderr == ("Error: tal train needs ultralytics, which is not installed: "
                                 'pip install "tal[ultralytics]"\n')
    else:
        pytest.skip("ultralytics is installed here (tests/ultralytics covers tal train)")


def _snapshot(folder) -> dict:
    """Every file under ``folder`` with its bytes and modification time."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_html_is_written_and_said(record_dir) -> None:
    before = _snapshot(record_dir)
    result = run("train-report", "run", "--html", "train.html", "--plot", "chart.png", "--limit", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").splitlines()[-2:] == ["wrote chart.png", "wrote train.html"]
    page = (record_dir.parent / "train.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '"epochs":[1,2,3]' in page  # every epoch, whatever --limit
    assert _snapshot(record_dir) == before  # the run folder untouched
    assert sorted(p.name for p in record_dir.parent.iterdir()) == ["chart.png", "run", "train.html"]  # no temp file


def test_report_html_follows_branch_and_epoch(record_dir) -> None:
    result = run("train-report", "run", "--html", "p.html", "--branch", "one2one", "--epoch", "2", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["written"] == ["p.html"]
    page = (record_dir.parent / "p.html").read_text(encoding="utf-8")
    assert '"selected":2' in page and '"name":"one2one"' in page and '"name":"one2many"' not in page


def test_report_html_refusals(record_dir) -> None:
    before = _snapshot(record_dir)
    result = run("train-report", "nope", "--html", "missing/p.html")  # the page is checked first
    assert (result.exit_code, result.stderr) == (1, "Error: missing/p.html: cannot write (folder missing not found)\n")
    result = run("train-report", "run", "--html", "run")
    assert (result.exit_code, result.stderr) == (1, "Error: run: is a folder, expected a file to write\n")
    result = run("train-report", "run/tal", "--html", "p.html", "--plot", "missing/c.png")
    assert (result.exit_code, result.stderr) == (1, "Error: missing/c.png: cannot write (folder missing not found)\n")
    result = run("train-report", ".", "--html", "p.html")
    assert result.exit_code == 1
    assert result.stderr == ("Error: .: no training record (tal/epochs.json); was the run trained with tal train or "
                             "add_tal_callbacks?\n")
    for name in ("epochs.json", "epochs.csv"):
        result = run("train-report", "run", "--html", f"run/tal/{name}")
        assert (result.exit_code, result.stderr) == (1, f"Error: run/tal/{name}: is the run's record; write to "
                                                        "another file\n")
    result = run("train-report", "run", "--html", "p.html", "--epoch", "7")
    assert (result.exit_code, result.stderr) == (2, "Error: --epoch 7: recorded epochs are 1-3\n")
    assert not (record_dir.parent / "p.html").exists() and not (record_dir.parent / "missing").exists()
    assert _snapshot(record_dir) == before


def test_report_html_names_a_malformed_record(tmp_path) -> None:
    folder = tmp_path / "run" / "tal"
    folder.mkdir(parents=True)
    (folder / "epochs.json").write_text('{"schema": "tal.train/1",\n "run": }')
    result = run("train-report", tmp_path / "run", "--html", tmp_path / "p.html")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {folder / 'epochs.json'}, line 2: not JSON (Expecting value)\n"
    assert not (tmp_path / "p.html").exists()


def test_report_help_shows_html() -> None:
    out = run("train-report", "--help").stdout
    assert "--html" in out and "tal train-report runs/detect/train --html train.html" in out
