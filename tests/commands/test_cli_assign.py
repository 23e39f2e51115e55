"""CliRunner tests of `tal assign`: each option, the JSON schema, exact errors and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tal_cli import __version__

from ..clirun import run, run_json
from ..conftest import ROOT, SAMPLES, sample

ASTRONAUT = sample("astronaut")
HUBBLE = sample("hubble_left")


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"tal {__version__}\n"


def test_help_ends_with_examples() -> None:
    for args, command in (([], "tal assign "), (["assign"], "tal assign "), (["sweep"], "tal sweep "),
                          (["export"], "tal export ")):
        result = run(*args, "--help")
        assert result.exit_code == 0
        tail = result.stdout.rstrip().splitlines()[-1].strip()
        assert tail.startswith(command), tail


def test_help_and_version_do_not_import_torch() -> None:
    code = (
        "import sys\nfrom tal_cli.cli import app\n"
        "for argv in (['--help'], ['--version'], ['assign', '--help'], ['sweep', '--help'], ['export', '--help']):\n"
        "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH")


def test_default_table() -> None:
    result = run("assign", *ASTRONAUT)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "variant yolov8: topk 10, alpha 0.5, beta 6, iou ciou, conflict all-gts, small-box floor off" in out
    assert "6 gts, 60 positives (20/20/20 at strides 8/16/32), target-score sum 51.303\n0 gts without positives" in out
    assert "helmet" not in out  # no names given: class ids (the shipped config names no classes)
    assert result.stderr == ""
    named = run("assign", *ASTRONAUT, "--names", str(SAMPLES / "data.yaml"))
    assert "helmet" in named.stdout and "spacecraft" in named.stdout


def test_variant_ultralytics_floor_gives_tiny_galaxies_candidates() -> None:
    plain = run_json("assign", *HUBBLE)
    floored = run_json("assign", *HUBBLE, "--variant", "ultralytics")
    assert plain["settings"]["small_box_floor"] is False and floored["settings"]["small_box_floor"] is True
    # 79 of 332 gts get no positive under 8.4.190 (reference README); more without the floor.
    assert floored["summary"]["gts_without_positives"] == 79
    assert plain["summary"]["gts_without_positives"] > 79
    no_cand = [g for g in plain["gts"] if g["candidates"] == 0]
    assert no_cand and all(g["reason"].startswith("no anchor centre inside the box") for g in no_cand)
    assert "small-box floor (variant ultralytics) would widen it to 16 px" in no_cand[0]["reason"]


@pytest.mark.parametrize("topk,positives", [(5, 30), (10, 60), (13, 78)])
def test_topk(topk: int, positives: int) -> None:
    doc = run_json("assign", *ASTRONAUT, "--topk", str(topk))
    assert doc["settings"]["topk"] == topk
    assert doc["summary"]["positives"] == positives == len(doc["positives"])


def test_alpha_beta_reach_the_metric() -> None:
    base = run_json("assign", *ASTRONAUT)
    doc = run_json("assign", *ASTRONAUT, "--alpha", "1", "--beta", "2")
    assert (doc["settings"]["alpha"], doc["settings"]["beta"]) == (1.0, 2.0)
    p = doc["positives"][0]
    assert p["metric"] == pytest.approx(p["score"] ** 1 * p["iou"] ** 2, rel=1e-5)
    q = base["positives"][0]
    assert q["metric"] == pytest.approx(q["score"] ** 0.5 * q["iou"] ** 6, rel=1e-5)


def test_imgsz_mismatch_is_explained() -> None:
    result = run("assign", *ASTRONAUT, "--imgsz", "320")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"Error: {ASTRONAUT[2]}: 8400 anchors, but input 320x320 with strides 8/16/32 has 2100; "
                             "that count matches --imgsz 640\n")


def test_names_option(tmp_path: Path) -> None:
    doc = run_json("assign", *HUBBLE, "--names", str(SAMPLES / "hubble.yaml"))
    assert {g["class_name"] for g in doc["gts"]} == {"galaxy"}
    data = tmp_path / "data.yaml"
    data.write_text("names: {0: astronaut, 1: hat}\n")
    doc = run_json("assign", *ASTRONAUT, "--names", str(data))
    assert [g["class_name"] for g in doc["gts"]][:3] == ["astronaut", "hat", "2"]


def test_config_option() -> None:
    doc = run_json("assign", *ASTRONAUT, "--config", str(ROOT / "configs" / "tood.yaml"))
    assert doc["settings"]["topk"] == 13 and doc["settings"]["alpha"] == 1.0 and doc["settings"]["iou"] == "iou"
    doc = run_json("assign", *ASTRONAUT, "--config", str(ROOT / "configs" / "tood.yaml"), "--topk", "4")
    assert doc["settings"]["topk"] == 4  # flags override the file


def test_config_unknown_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("topK: 10\n")
    result = run("assign", *ASTRONAUT, "--config", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {cfg}: unknown key 'topK'; known keys: variant, topk,")
    assert len(result.stderr.splitlines()) == 1


def test_gt_option_lists_candidates() -> None:
    result = run("assign", *ASTRONAUT, "--gt", "5", "--names", str(SAMPLES / "data.yaml"))
    assert result.exit_code == 0, result.stderr
    assert "gt 5 (patch) box 350.0,425.0,412.5,468.7: 60 candidates, 10 selected, 10 positives" in result.stdout
    doc = run_json("assign", *ASTRONAUT, "--gt", "5")
    rows = doc["candidates"]["rows"]
    assert doc["candidates"]["gt"] == 5 and len(rows) == 60
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert sum(r["positive"] for r in rows) == 10
    assert all(r["selected"] == (r["rank"] < 10) for r in rows)


def test_gt_out_of_range() -> None:
    result = run("assign", *ASTRONAUT, "--gt", "6")
    assert result.exit_code == 1
    assert result.stderr == f"Error: --gt 6: {ASTRONAUT[1]} has 6 gts (0..5)\n"


def test_json_schema() -> None:
    result = run("assign", *ASTRONAUT, "--json")
    doc = json.loads(result.stdout)  # exactly one document, nothing else on stdout
    assert doc["schema"] == "tal.assign/1"
    assert doc["image"] == ASTRONAUT[0] and doc["imgsz"] == [640, 640] and doc["strides"] == [8, 16, 32]
    assert {"variant", "topk", "alpha", "beta"} <= set(doc["settings"])
    gt_keys = {"index", "class_id", "class_name", "box", "candidates", "positives", "positives_per_stride", "reason"}
    assert all(gt_keys <= set(g) for g in doc["gts"]) and len(doc["gts"]) == 6
    pos_keys = {"anchor", "stride", "cell", "gt", "score", "iou", "metric", "target_score"}
    assert all(pos_keys <= set(p) for p in doc["positives"])
    for p in doc["positives"]:  # anchor index <-> stride and cell, strides 8/16/32 row-major
        start, width = {8: (0, 80), 16: (6400, 40), 32: (8000, 20)}[p["stride"]]
        assert p["anchor"] == start + p["cell"][1] * width + p["cell"][0]
    assert {"gts", "positives", "gts_without_positives", "contested_anchors"} <= set(doc["summary"])
    assert sum(g["positives"] for g in doc["gts"]) == doc["summary"]["positives"]


def test_sort_and_limit() -> None:
    result = run("assign", *HUBBLE, "--variant", "ultralytics", "--limit", "5")
    assert result.exit_code == 0
    assert (
        "327 more gts not shown (sorted problems first); --limit 0 shows all, --json lists every gt." in result.stdout
    )
    default = run("assign", *HUBBLE, "--variant", "ultralytics")
    assert "307 more gts not shown" in default.stdout  # crowded: 25 rows by default
    everything = run("assign", *HUBBLE, "--variant", "ultralytics", "--limit", "0", "--sort", "index")
    assert "more gts not shown" not in everything.stdout
    rows = [re.match(r"^\s*(\d+)\s+\S+\s+\d+x\d+\s", ln) for ln in everything.stdout.splitlines()]
    assert [int(m.group(1)) for m in rows if m] == list(range(332))


def test_missing_image() -> None:
    result = run("assign", "nope.png", ASTRONAUT[1], ASTRONAUT[2])
    assert result.exit_code == 1
    assert result.stderr == "Error: nope.png: image not found\n"


def test_bad_label_row_names_file_and_line(tmp_path: Path) -> None:
    labels = tmp_path / "a.txt"
    labels.write_text("0 0.5 0.5 0.2 0.2\n\n1 0.5 0.5 0.2\n")
    before = labels.read_bytes()
    result = run("assign", ASTRONAUT[0], labels, ASTRONAUT[2])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {labels}, line 3: ultralytics drops this image: 4 values where line 1 has 5 "
                             "(rows of different lengths)\n")
    assert labels.read_bytes() == before


def test_class_outside_head(tmp_path: Path) -> None:
    labels = tmp_path / "a.txt"
    labels.write_text("9 0.5 0.5 0.2 0.2\n")
    result = run("assign", ASTRONAUT[0], labels, ASTRONAUT[2])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {labels}, line 1: ultralytics drops this image: class 9 is outside the 8 classes "
                             "of the predictions (0-7)\n")


def test_not_a_torch_file(tmp_path: Path) -> None:
    preds = tmp_path / "p.pt"
    preds.write_text("hello")
    result = run("assign", *ASTRONAUT[:2], preds)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {preds}: this is a text file, not a PREDS file (a head output saved with "
                             "torch.save, e.g. by tal export; the order is IMAGE LABELS PREDS)\n")


def test_background_image(tmp_path: Path) -> None:
    labels = tmp_path / "empty.txt"
    labels.write_text("")
    doc = run_json("assign", ASTRONAUT[0], labels, ASTRONAUT[2])
    assert doc["summary"]["gts"] == 0 and doc["positives"] == [] and doc["gts"] == []


def test_out_writes_one_png_per_stride(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from tal_cli.views.overlay import OverlayStyle

    out, plain_out = tmp_path / "ov", tmp_path / "plain"
    doc = run_json("assign", *ASTRONAUT, "--out", str(out))
    assert doc["overlays"] == [str(out / f"astronaut_stride{s}.png") for s in (8, 16, 32)]
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert run("assign", ASTRONAUT[0], empty, ASTRONAUT[2], "--out", plain_out).exit_code == 0
    scale = OverlayStyle().scale
    palette = OverlayStyle().colours().astype(float)
    for stride in (8, 16, 32):
        drawn = np.asarray(Image.open(out / f"astronaut_stride{stride}.png").convert("RGB"), dtype=float)
        plain = np.asarray(Image.open(plain_out / f"astronaut_stride{stride}.png").convert("RGB"), dtype=float)
        assert drawn.shape[1] == 640 * scale and drawn.shape[0] >= 640 * scale  # legend strip below
        positives = [p for p in doc["positives"] if p["stride"] == stride]
        assert positives
        for p in positives:
            col, row = p["cell"]
            # a point inside the cell, off its centre dot: (0.3, 0.3) of the cell
            x, y = int((col + 0.3) * stride * scale), int((row + 0.3) * stride * scale)
            colour = palette[p["gt"] % len(palette)]
            assert np.linalg.norm(drawn[y, x] - colour) < np.linalg.norm(plain[y, x] - colour) - 10, (stride, p)


def test_out_folder_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("assign", *ASTRONAUT, "--out", blocker / "sub")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {blocker / 'sub'}: cannot create output folder (")


def test_gt_rows_carry_loss_terms() -> None:
    doc = run_json("assign", *ASTRONAUT, "--gt", "4")
    rows = [r for r in doc["candidates"]["rows"] if r["positive"]]
    per_gt = doc["losses"]["per_gt"][4]
    assert len(rows) == 10
    assert sum(r["box_loss"] for r in rows) == pytest.approx(per_gt["box"], rel=1e-5)
    assert sum(r["dfl_loss"] for r in rows) == pytest.approx(per_gt["dfl"], rel=1e-5)
    assert all(r["box_loss"] is None for r in doc["candidates"]["rows"] if not r["positive"])
    table = run("assign", *ASTRONAUT, "--gt", "4").stdout
    assert "box term" in table and "dfl term" in table


def test_background_losses() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.txt"
        empty.write_text("")
        doc = run_json("assign", ASTRONAUT[0], empty, ASTRONAUT[2])
    losses = doc["losses"]
    assert losses["raw"]["box"] == 0 and losses["raw"]["dfl"] == 0 and losses["cls_positive"] == 0
    assert losses["raw"]["cls"] == pytest.approx(losses["cls_background"]) and losses["raw"]["cls"] > 0
    assert losses["target_scores_sum"] == 1.0
