"""CliRunner tests of end-to-end PREDS files: `tal assign --head`, the one-to-one preset, metadata.

The files are built from ``samples/preds/coffee.pt`` (8 classes, DFL head): its DFL
expectations become the plain distances of a reg_max 1 head (YOLO26 style), whose
``one2many`` branch keeps coffee's class logits and whose ``one2one`` branch lowers them.
Parity with ultralytics' own assigners on real exported files is in
``test_export_ultralytics.py`` (run in the ultralytics venv).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.scene import batch_inputs, load_scene

from ..clirun import run
from ..conftest import sample

IMAGE, LABELS, COFFEE = sample("coffee")
META = {"imgsz": 640, "strides": [8, 16, 32], "reg_max": 1, "nc": 8,
        "names": ["p", "h", "s", "f", "pa", "mug", "plate", "teaspoon"], "versions": {"ultralytics": "8.4.190"}}


def _r1(raw: dict, shift: float = 0.0) -> dict:
    from tal_cli.core.boxes import dfl_expectation

    dist = raw["boxes"][0].T.reshape(-1, 4, 16)  # (A, 4, R)
    return {"boxes": dfl_expectation(dist).T[None].contiguous(), "scores": raw["scores"] + shift}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("heads")
    raw = torch.load(COFFEE, weights_only=True)
    out = {}
    for name, obj in (("e2e", {"one2many": _r1(raw), "one2one": _r1(raw, -1.5), "meta": META}),
                      ("o2o_only", {"one2one": _r1(raw, -1.5), "meta": META}),
                      ("no_meta", {"one2many": _r1(raw), "one2one": _r1(raw, -1.5)})):
        torch.save(obj, root / f"{name}.pt")
        out[name] = root / f"{name}.pt"
    return out


def _json(*args: object) -> dict:
    result = run("assign", IMAGE, LABELS, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _positives(doc: dict) -> set[tuple[int, int]]:
    return {(p["anchor"], p["gt"]) for p in doc["positives"]}


def _library_positives(preds: Path, head: str, **settings) -> set[tuple[int, int]]:
    scene = load_scene(IMAGE, LABELS, preds, (640, 640), (8, 16, 32), 16, head)
    a = assign(*batch_inputs([scene]), AssignerSettings(num_classes=8, **settings))
    fg = a.fg_mask[0].nonzero().flatten()
    return {(int(i), int(a.target_gt_idx[0, i])) for i in fg}


def test_one2one_uses_its_preset(files) -> None:
    doc = _json(files["e2e"], "--head", "one2one")
    assert doc["head"] == {"inspected": "one2one", "available": ["one2many", "one2one"]}
    s = doc["settings"]
    assert (s["variant"], s["topk"], s["topk2"], s["small_box_floor"]) == ("ultralytics", 7, 1, True)
    per_gt = [g["positives"] for g in doc["gts"]]
    assert all(n <= 1 for n in per_gt) and sum(per_gt) == len(doc["positives"]) == 3
    assert _positives(doc) == _library_positives(files["e2e"], "one2one", topk=7, topk2=1, variant="ultralytics")
    assert doc["losses"]["third"] == "l1" and doc["losses"]["raw"]["l1"] > 0
    assert "dfl" not in doc["losses"]["raw"] and doc["losses"]["dfl_unavailable_reason"] is None


def test_one2many_is_the_default_and_keeps_the_config(files) -> None:
    doc = _json(files["e2e"])
    assert doc["head"]["inspected"] == "one2many"
    assert (doc["settings"]["variant"], doc["settings"]["topk"], doc["settings"]["topk2"]) == ("yolov8", 10, None)
    assert _positives(doc) == _library_positives(files["e2e"], "one2many", topk=10, variant="yolov8")
    assert max(g["positives"] for g in doc["gts"]) > 1


def test_flags_win_over_the_one2one_preset(files) -> None:
    s = _json(files["e2e"], "--head", "one2one", "--topk", "5", "--alpha", "1")["settings"]
    assert (s["variant"], s["topk"], s["topk2"], s["alpha"]) == ("ultralytics", 5, 1, 1.0)


def test_file_with_only_one2one(files) -> None:
    doc = _json(files["o2o_only"])
    assert doc["head"] == {"inspected": "one2one", "available": ["one2one"]}
    assert (doc["settings"]["topk"], doc["settings"]["topk2"]) == (7, 1)
    result = run("assign", IMAGE, LABELS, files["o2o_only"], "--head", "one2many")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: {files['o2o_only']}: no 'one2many' head in this file (it holds: one2one)\n"


def test_table_names_the_head_and_the_l1_term(files) -> None:
    result = run("assign", IMAGE, LABELS, files["e2e"], "--head", "one2one", "--wide")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(", preds layout head, head one2one (file holds one2many, one2one)")
    assert lines[1] == ("variant ultralytics: topk 7, alpha 0.5, beta 6, iou ciou, conflict all-gts, "
                        "small-box floor on, topk2 1")
    assert "%box/" in result.stdout and "l1/ts" in result.stdout and ", l1 " in lines[4]
    assert "mug" in result.stdout  # class names from the file's metadata


def test_names_flag_wins_over_the_files_names(files) -> None:
    doc = _json(files["e2e"], "--names", Path(IMAGE).parents[1] / "data.yaml")
    assert {g["class_name"] for g in doc["gts"]} == {"cup", "saucer", "spoon"}


def test_without_meta_the_config_grid_applies(files) -> None:
    # No metadata: reg_max comes from the config (16), which does not fit 4 box channels.
    result = run("assign", IMAGE, LABELS, files["no_meta"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {files['no_meta']}: 'boxes' has 4 channels, expected 4*R = 64 (reg_max 16); "
                             "set reg_max in the config if the head differs\n")


def test_imgsz_flag_that_contradicts_the_metadata(files) -> None:
    result = run("assign", IMAGE, LABELS, files["e2e"], "--imgsz", "320")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: --imgsz 320: {files['e2e']} was made at input 640x640 (its metadata says); "
                             "drop --imgsz or export again at that size\n")


def test_ordinary_preds_refuse_one2one() -> None:
    result = run("assign", IMAGE, LABELS, COFFEE, "--head", "one2one")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: {COFFEE}: holds one ordinary head, no 'one2one' branch; --head one2one needs "
                             "the output of an end-to-end model (YOLO26, YOLOv10), e.g. from tal export\n")


def test_bad_head_value_is_a_usage_error(files) -> None:
    result = run("assign", IMAGE, LABELS, files["e2e"], "--head", "o2o")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--head'" in result.stderr and "'o2o' is not one of 'one2many', 'one2one'" in result.stderr
    )


def test_sweep_head_one2one(files, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    for sub in ("images", "labels", "preds"):
        (folder / sub).mkdir(parents=True)
    (folder / "images" / "coffee.png").write_bytes(Path(IMAGE).read_bytes())
    (folder / "labels" / "coffee.txt").write_bytes(Path(LABELS).read_bytes())
    (folder / "preds" / "coffee.pt").write_bytes(files["e2e"].read_bytes())
    result = run("sweep", folder, "--head", "one2one", "--topk", "7", "13", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["fixed"]["head"] == "one2one" and doc["fixed"]["topk2"] == 1 and doc["fixed"]["reg_max"] == 1
    rows = doc["settings"]
    assert [r["topk"] for r in rows] == [7, 13]
    one = _json(files["e2e"], "--head", "one2one")
    assert rows[0]["positives"] == len(one["positives"]) == 3
    assert rows[0]["losses"]["third"] == "l1"
    assert rows[0]["losses"]["l1"] == pytest.approx(one["losses"]["gained"]["l1"], rel=1e-5)
    table = run("sweep", folder, "--head", "one2one")
    assert table.exit_code == 0, table.stderr
    assert "box/cls/l1" in table.stdout and ", head one2one" in table.stdout


def test_sweep_imgsz_flag_that_contradicts_the_metadata(files, tmp_path: Path) -> None:
    # one behaviour for both commands: the file's size is a fact, a contradicting flag is an error
    result = run("sweep", IMAGE, LABELS, files["e2e"], "--imgsz", "320", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: --imgsz 320: {files['e2e']} was made at input 640x640 (its metadata says); "
                             "drop --imgsz or export again at that size\n")
    agreeing = run("sweep", IMAGE, LABELS, files["e2e"], "--imgsz", "640", "--json")
    assert agreeing.exit_code == 0 and json.loads(agreeing.stdout)["fixed"]["imgsz"] == [640, 640]
