"""`tal assign` and `tal sweep` read datasets as ultralytics' loader does, or say loudly why not.

One test (or a few) per rule of the issue "Read datasets exactly as ultralytics' loader does":
dataset paths from any working folder, runs that found no labels, per-file verdicts, NaN
predictions, one PREDS per image, class names from the user's data, mixed input sizes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from ..clirun import run, run_json
from ..conftest import SAMPLES, sample

ASTRONAUT = sample("astronaut")
COFFEE = sample("coffee")
NAMES = "names: [person, helmet, spacecraft, flag, patch, cup, saucer, spoon]\n"


def my_dataset(root: Path, yaml: str = "train: images/val\nval: images/val\n" + NAMES) -> Path:
    """root/{images/val, labels/val, preds}/ with the two photos, and root/data.yaml."""
    for stem in ("astronaut", "coffee"):
        image, labels, preds = sample(stem)
        for sub, src, name in (("images/val", image, Path(image).name), ("labels/val", labels, f"{stem}.txt"),
                               ("preds", preds, f"{stem}.pt")):
            (root / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / sub / name)
    (root / "data.yaml").write_text(yaml)
    return root / "data.yaml"


# --- 1. dataset YAML paths, from any working folder ------------------------------------------


def test_the_issue_example_reads_the_labels(tmp_path: Path, monkeypatch) -> None:
    data = my_dataset(tmp_path / "my_dataset", "path: .\ntrain: images/val\nval: images/val\n" + NAMES)
    monkeypatch.chdir(tmp_path / "my_dataset")
    result = run("sweep", "data.yaml", "--preds", "preds/", "--max-zero-positive-rate", "0.1")
    assert result.exit_code == 0, result.stderr
    assert "dataset data.yaml split val (2 images): 2 images assigned, 0 skipped, 9 gts" in result.stdout
    assert result.stderr == ""
    for cwd in (tmp_path, tmp_path / "my_dataset" / "images"):  # and from elsewhere: the same gts
        monkeypatch.chdir(cwd)
        doc = run_json("sweep", os.path.relpath(data, cwd), "--preds", os.path.relpath(data.parent / "preds", cwd))
        assert doc["settings"][0]["gts"] == 9 and doc["settings"][0]["images"] == 2


def test_split_as_a_list_file_and_a_list_of_both(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    my_dataset(root, "train: val.txt\nval: [val.txt, images/extra]\n" + NAMES)
    (root / "images" / "extra").mkdir()
    shutil.move(root / "images" / "val" / "coffee.png", root / "images" / "extra" / "coffee.png")
    (root / "labels" / "extra").mkdir()
    shutil.move(root / "labels" / "val" / "coffee.txt", root / "labels" / "extra" / "coffee.txt")
    (root / "val.txt").write_text("./images/val/astronaut.png\n")
    doc = run_json("sweep", root / "data.yaml", "--preds", root / "preds")
    assert doc["settings"][0]["images"] == 2 and doc["settings"][0]["gts"] == 9
    doc = run_json("sweep", root / "data.yaml", "--preds", root / "preds", "--split", "train")
    assert doc["settings"][0]["images"] == 1 and doc["settings"][0]["gts"] == 6


def test_export_next_hint_runs_as_printed(tmp_path: Path, monkeypatch) -> None:
    from tal_cli.ultralytics.export import next_command, plan_export
    from tal_cli.ultralytics.model import DetectionModel

    data = my_dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    out = Path("ds/preds")
    plan = plan_export(Path("ds/data.yaml"), out, "val")
    model = DetectionModel(None, (8, 16, 32), 16, 8, {}, ("one2many",), "m.pt", "8.4.190")
    hint = next_command(Path("ds/data.yaml"), plan, [t for _, t in plan.jobs], "val", model)
    assert hint == "tal sweep ds/data.yaml --preds ds/preds --split val --variant ultralytics"
    result = run(*hint.split()[1:])
    assert result.exit_code == 0, result.stderr
    assert "2 images assigned, 0 skipped, 9 gts" in result.stdout
    assert data.is_file()


# --- 2. a run that found no labels is not a pass ---------------------------------------------


def test_no_labels_anywhere_warns_and_gates_fail(tmp_path: Path) -> None:
    data = my_dataset(tmp_path / "ds")
    shutil.rmtree(tmp_path / "ds" / "labels")
    result = run("sweep", data, "--preds", tmp_path / "ds" / "preds", "--max-zero-positive-rate", "0.1",
                 "--min-positives-per-gt", "1")
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "Warning: no label file found for any of the 2 images: every one is treated as background (labels are "
        "looked for where ultralytics looks: the last images/ of the path becomes labels/, e.g. "
        f"{tmp_path / 'ds' / 'labels' / 'val' / 'astronaut.txt'})",
        "Gate failed: --max-zero-positive-rate 0.1 cannot pass on setting topk 10 alpha 0.5 beta 6 yolov8: "
        "evaluated over 0 gts (were the labels found?)",
        "Gate failed: --min-positives-per-gt 1 cannot pass on setting topk 10 alpha 0.5 beta 6 yolov8: "
        "evaluated over 0 gts (were the labels found?)"]
    assert "2 images assigned, 0 skipped, 0 gts" in result.stdout


def test_background_image_fails_a_gate_too(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("assign", COFFEE[0], empty, COFFEE[2], "--max-zero-positive-rate", "small=0.5")
    assert result.exit_code == 3
    assert result.stderr == (f"Gate failed: --max-zero-positive-rate small=0.5 cannot pass on {COFFEE[0]}: "
                             "evaluated over 0 small gts (were the labels found?)\n")


# --- 3. per-file verdicts as ultralytics' ------------------------------------------------------


def test_assign_refuses_a_file_ultralytics_drops(tmp_path: Path) -> None:
    labels = tmp_path / "a.txt"
    labels.write_text("0 0.5 0.5 0.2 0.2\n\n3 0.5 1.2 0.2 0.2\n")
    before = labels.read_bytes()
    result = run("assign", *ASTRONAUT[:1], labels, ASTRONAUT[2])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {labels}, line 3: ultralytics drops this image: coordinate 1.2 > 1.01 "
                             "(non-normalized or out of bounds coordinates)\n")
    assert labels.read_bytes() == before


def test_sweep_counts_a_dropped_image(tmp_path: Path) -> None:
    data = my_dataset(tmp_path / "ds")
    bad = tmp_path / "ds" / "labels" / "val" / "coffee.txt"
    bad.write_text(bad.read_text() + "5 0.5 0.5 0.2 0.2 0.1 0.1 0.3\n")  # a polygon row among box rows
    result = run("sweep", data, "--preds", tmp_path / "ds" / "preds")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"Warning: dropped {tmp_path / 'ds' / 'images' / 'val' / 'coffee.png'}: {bad}, line 1: "
                             "ultralytics drops this image: a box row 'class cx cy w h' in a file of polygon rows "
                             "(labels mix segment and detection rows)\n")
    assert "1 image assigned, 1 dropped by ultralytics' loader, 0 skipped, 6 gts" in result.stdout
    doc = run_json("sweep", data, "--preds", tmp_path / "ds" / "preds")
    assert [(s["kind"], Path(s["image"]).name) for s in doc["skipped"]] == [("dropped", "coffee.png")]


def test_duplicates_removed_reordered_and_told(tmp_path: Path) -> None:
    labels = tmp_path / "a.txt"
    lines = Path(COFFEE[1]).read_text().splitlines()  # classes 5, 6, 7
    labels.write_text("\n".join([lines[2], lines[0], lines[2], lines[1]]) + "\n")
    result = run("assign", COFFEE[0], labels, COFFEE[2], "--json")
    assert result.exit_code == 0
    assert result.stderr == (f"Warning: {labels}: 1 duplicate label row removed, as ultralytics removes it; the "
                             "remaining gts are in ultralytics' order (sorted by value)\n")
    doc = json.loads(result.stdout)
    assert [(g["index"], g["class_id"], g["line"]) for g in doc["gts"]] == [(0, 5, 2), (1, 6, 4), (2, 7, 1)]
    plain = run_json("assign", *COFFEE)
    assert [g["box"] for g in doc["gts"]] == [g["box"] for g in plain["gts"]]


def test_pose_rows_with_kpt_shape_from_names(tmp_path: Path) -> None:
    names = tmp_path / "pose.yaml"
    names.write_text(NAMES + "kpt_shape: [2, 3]\n")
    labels = tmp_path / "a.txt"
    rows = [ln + " 0.5 0.5 2 0.4 0.4 1" for ln in Path(COFFEE[1]).read_text().splitlines()]
    labels.write_text("\n".join(rows) + "\n")
    doc = run_json("assign", COFFEE[0], labels, COFFEE[2], "--names", names)
    plain = run_json("assign", *COFFEE)
    assert [g["box"] for g in doc["gts"]] == [g["box"] for g in plain["gts"]]  # only the box is assigned
    assert doc["summary"]["positives"] == plain["summary"]["positives"]
    labels.write_text(rows[0] + " 1\n")
    result = run("assign", COFFEE[0], labels, COFFEE[2], "--names", names)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {labels}, line 1: ultralytics drops this image: 12 values per row; ultralytics "
                             "requires 11 columns 'class cx cy w h' + 2 keypoints x 3 (kpt_shape)\n")


# --- 4. NaN or infinite predictions ----------------------------------------------------------


def nan_preds(tmp_path: Path, name: str = "coffee") -> Path:
    raw = torch.load(COFFEE[2], weights_only=True)
    raw["scores"][0, 2, 5000] = float("nan")
    raw["scores"][0, 3, 10] = float("inf")
    path = tmp_path / f"{name}.pt"
    torch.save(raw, path)
    return path


def test_assign_refuses_nan_predictions(tmp_path: Path) -> None:
    preds = nan_preds(tmp_path)
    result = run("assign", COFFEE[0], COFFEE[1], preds)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {preds}: 'scores' holds 2 NaN or infinite values (first at index [0, 2, 5000]); "
                             "the model's output is broken, so no assignment can be computed from it\n")


def test_sweep_skips_nan_predictions(tmp_path: Path) -> None:
    data = my_dataset(tmp_path / "ds")
    nan_preds(tmp_path / "ds" / "preds")
    result = run("sweep", data, "--preds", tmp_path / "ds" / "preds")
    assert result.exit_code == 0
    assert result.stderr.startswith(f"Warning: skipped {tmp_path / 'ds' / 'images' / 'val' / 'coffee.png'}: "
                                    f"{tmp_path / 'ds' / 'preds' / 'coffee.pt'}: 'scores' holds 2 NaN")
    assert "1 image assigned, 1 skipped, 6 gts" in result.stdout


# --- 5. one PREDS per image --------------------------------------------------------------------


def test_two_images_cannot_share_a_preds_file(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("a", "b"):
        (root / "images" / sub).mkdir(parents=True)
        shutil.copy(COFFEE[0], root / "images" / sub / "x.png")
    (root / "preds").mkdir()
    shutil.copy(COFFEE[2], root / "preds" / "x.pt")  # the folder fallback preds/<stem>.pt serves both
    result = run("sweep", root)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {root / 'preds' / 'x.pt'}: serves two images, {root / 'images' / 'a' / 'x.png'} "
                             f"and {root / 'images' / 'b' / 'x.png'}; one PREDS file per image (name them after the "
                             "image's path below images/, or rename one image)\n")
    (root / "preds" / "a").mkdir()
    shutil.copy(COFFEE[2], root / "preds" / "a" / "x.pt")  # preds/a/x.pt and preds/x.pt: one each
    assert run("sweep", root).exit_code == 0


def test_dataset_yaml_stems_must_differ(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    data = my_dataset(root, "train: images\nval: images\n" + NAMES)
    (root / "images" / "more").mkdir()
    shutil.copy(COFFEE[0], root / "images" / "more" / "coffee.png")
    result = run("sweep", data, "--preds", root / "preds")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {root / 'preds' / 'coffee.pt'}: serves two images, ")


def test_symlink_loop_in_images(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    my_dataset(root)
    os.symlink(root / "images" / "val", root / "images" / "val" / "again")
    result = run("sweep", root / "data.yaml", "--preds", root / "preds")
    assert result.exit_code == 0, result.stderr
    assert "(2 images): 2 images assigned" in result.stdout


# --- 6. class names come from the user's data, never from the samples ---------------------------


def test_no_sample_names_on_user_data(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True)
    shutil.copy(ASTRONAUT[0], root / "images" / "a.png")
    shutil.copy(ASTRONAUT[1], root / "labels" / "a.txt")
    shutil.copy(ASTRONAUT[2], root / "preds" / "a.pt")
    doc = run_json("sweep", root, "--by-class")
    assert [c["class_name"] for c in doc["settings"][0]["by_class"]] == ["0", "1", "2", "3", "4"]
    doc = run_json("assign", *ASTRONAUT)
    assert {g["class_name"] for g in doc["gts"]} == {"0", "1", "2", "3", "4"}
    doc = run_json("sweep", "--by-class")  # the samples name their own classes
    assert doc["settings"][0]["by_class"][0]["class_name"] == "person"


# --- 8. PREDS made at different input sizes ---------------------------------------------------


def synthetic_preds(path: Path, imgsz: int, meta: bool = True) -> Path:
    from tal_cli.core.anchors import grid_levels

    a = grid_levels((imgsz, imgsz), (8, 16, 32))[-1].stop
    gen = torch.Generator().manual_seed(imgsz)
    obj = {"boxes": torch.randn(1, 64, a, generator=gen), "scores": torch.randn(1, 8, a, generator=gen) - 2}
    if meta:
        obj["meta"] = {"imgsz": imgsz, "strides": [8, 16, 32], "reg_max": 16}
    torch.save(obj, path)
    return path


def test_mixed_input_sizes_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True)
    for stem, size, meta in (("a", 640, True), ("b", 320, True), ("c", 640, False)):
        shutil.copy(COFFEE[0], root / "images" / f"{stem}.png")
        shutil.copy(COFFEE[1], root / "labels" / f"{stem}.txt")
        synthetic_preds(root / "preds" / f"{stem}.pt", size, meta)
    result = run("sweep", root)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "Warning: the PREDS files were made at 3 different inputs; each image is assigned at its own: 640x640 (strides "
        "8/16/32, reg_max 16; 1 image, from the PREDS metadata); 320x320 (strides 8/16/32, reg_max 16; 1 image, from "
        "the PREDS metadata); 640x640 (strides 8/16/32, reg_max 16; 1 image, the config, no PREDS metadata)",
        "Warning: 1 PREDS file has no metadata among files that have it: read at the config's input size, strides and "
        "reg_max, which may not be what they were made at"]
    assert "\ninputs 640x640 (strides 8/16/32, reg_max 16; 1 image, from the PREDS metadata); 320x320" in result.stdout
    doc = run_json("sweep", root)
    assert doc["fixed"]["imgsz"] is None
    assert [(i["imgsz"], i["images"], i["from"]) for i in doc["fixed"]["inputs"]] == [
        ([640, 640], 1, "meta"), ([320, 320], 1, "meta"), ([640, 640], 1, "config")]


@pytest.mark.parametrize("imgsz", [320, 640])
def test_one_size_reads_as_before(tmp_path: Path, imgsz: int) -> None:
    root = tmp_path / "d"
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True)
    for stem in ("a", "b"):
        shutil.copy(COFFEE[0], root / "images" / f"{stem}.png")
        shutil.copy(COFFEE[1], root / "labels" / f"{stem}.txt")
        synthetic_preds(root / "preds" / f"{stem}.pt", imgsz)
    result = run("sweep", root)
    assert result.exit_code == 0 and result.stderr == ""
    assert f"\ninput {imgsz}x{imgsz}, strides 8/16/32;" in result.stdout
    assert run_json("sweep", root)["fixed"]["imgsz"] == [imgsz, imgsz]


def test_samples_untouched() -> None:
    assert sorted(p.name for p in (SAMPLES / "labels").iterdir()) == ["astronaut.txt", "coffee.txt", "hubble_left.txt"]
