"""`tal check` end to end: verdicts per file, tables, JSON, CSV, plot, gates, bad input, nothing written.

Exit codes and messages are asserted exactly. ultralytics itself referees the verdicts in
tests/ultralytics/test_check_ultralytics.py; here the expected verdicts follow its rules by hand.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import SAMPLES, sample
from .test_loader_rules import run, run_json

COFFEE = sample("coffee")[0]
NAMES = "names: [a, b, c, d, e, f, g, h]\n"

LABELS = {  # train/<stem>.txt: what ultralytics keeps, drops or reorders
    "ok": "5 0.5 0.5 0.2 0.2\n6 0.25 0.75 0.1 0.3\n",
    "dups": "7 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n",
    "beyond": "5 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 1.02\n",
    "mixed": "5 0.5 0.5 0.2 0.2\n5 0.1 0.1 0.3 0.1 0.3 0.3\n",
    "classbig": "9 0.5 0.5 0.2 0.2\n",
    "empty": "",
}


def bad_tree(root: Path) -> Path:
    """root/{images,labels}/{train,val}: the photo under many names, bad files among them; root/data.yaml."""
    for sub in ("images/train", "labels/train", "images/val", "labels/val"):
        (root / sub).mkdir(parents=True)
    for stem, text in LABELS.items():
        shutil.copy(COFFEE, root / "images" / "train" / f"{stem}.png")
        (root / "labels" / "train" / f"{stem}.txt").write_text(text)
    shutil.copy(COFFEE, root / "images" / "train" / "nolabel.png")
    Image.new("RGB", (8, 40)).save(root / "images" / "train" / "tiny.png")
    (root / "labels" / "train" / "tiny.txt").write_text("5 0.5 0.5 0.2 0.2\n")
    (root / "images" / "train" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    shutil.copy(COFFEE, root / "images" / "val" / "small.png")
    (root / "labels" / "val" / "small.txt").write_text("1 0.5 0.5 0.001 0.001\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\n" + NAMES)
    return root / "data.yaml"


@pytest.fixture()
def dataset(tmp_path: Path, monkeypatch) -> Path:
    bad_tree(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    return Path("ds/data.yaml")


# --- the samples ---------------------------------------------------------------------------


def test_samples_folder() -> None:
    result = run("check", SAMPLES, "--names", SAMPLES / "data.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[1:4] == [
        "3 images, 0 backgrounds, 0 dropped, 0 duplicates (ultralytics' loader)",
        f"class ids checked against the 8 classes of --names {SAMPLES / 'data.yaml'}; image headers read",
        "341 gts in 3 images with gts; strides 8/16/32, reg_max 16, topk 10; small/medium/large: letterboxed area "
        "< 32², < 96², larger"]
    # hubble_left's galaxies: 217 of 332 small gts have no anchor centre inside at input 640, variant yolov8
    assert "│ 640 yolov8 │ 341 │       217 │ 217 of 332 │ 0 of 2 │ 0 of 7 │" in lines
    assert "  samples/images/hubble_left.jpg: 217 of 332 gts with no candidate (640 yolov8)" in lines \
        or any(line.endswith("hubble_left.jpg: 217 of 332 gts with no candidate (640 yolov8)") for line in lines)


def test_no_source_checks_the_configs_samples() -> None:
    doc = run_json("check", "--variant", "ultralytics")
    assert doc["source"] == "samples of configs/default.yaml (2 images)"
    assert doc["classes"]["checked_against"] == 8 and doc["settings"][0]["zero_candidate"]["all"] == 0


# --- verdicts --------------------------------------------------------------------------------


def test_verdicts_of_a_bad_dataset(dataset: Path) -> None:
    result = run("check", dataset)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "dataset ds/data.yaml splits train, val (10 images)",
        "train: 9 images, 2 backgrounds, 5 dropped, 1 duplicates (ultralytics' loader)",
        "val: 1 images, 0 backgrounds, 0 dropped, 0 duplicates (ultralytics' loader)",
        "class ids checked against the 8 classes of the dataset; image headers read"]
    start = lines.index("7 files worth a look (dropped, gts with no candidate, duplicates), worst first:")
    assert lines[start + 1:] == [
        "  ds/labels/train/beyond.txt, line 2: ultralytics drops this image: coordinate 1.02 > 1.01 "
        "(non-normalized or out of bounds coordinates)",
        "  ds/images/train/broken.jpg: ultralytics drops this image: unreadable image (not an image Pillow can read "
        "(UnidentifiedImageError))",
        "  ds/labels/train/classbig.txt, line 1: ultralytics drops this image: class 9 is outside the 8 classes of the "
        "dataset (0-7)",
        "  ds/labels/train/mixed.txt, line 1: ultralytics drops this image: a box row 'class cx cy w h' in a file of "
        "polygon rows (labels mix segment and detection rows)",
        "  ds/images/train/tiny.png: ultralytics drops this image: image size 8x40 px is below 10 px on a side",
        "  ds/images/val/small.png: 1 of 1 gt with no candidate (640 yolov8)",
        "  ds/images/train/dups.png: 1 duplicate row removed (ultralytics reorders the gts)"]


def test_json_lists_every_file_with_its_verdict(dataset: Path) -> None:
    doc = run_json("check", dataset, "--imgsz", "640", "1280", "--variant", "yolov8", "ultralytics")
    assert doc["schema"] == "tal.check/1"
    files = {Path(f["image"]).name: f for f in doc["files"]}
    assert {k: f["verdict"] for k, f in files.items()} == {
        "beyond.png": "dropped", "broken.jpg": "dropped", "classbig.png": "dropped", "dups.png": "kept",
        "empty.png": "background", "mixed.png": "dropped", "nolabel.png": "background", "ok.png": "kept",
        "tiny.png": "dropped", "small.png": "kept"}
    assert [Path(f["image"]).name for f in doc["files"]][:3] == ["beyond.png", "broken.jpg", "classbig.png"]  # sorted
    assert files["dups.png"]["duplicates_removed"] == 1 and files["dups.png"]["gts"] == 2
    assert files["beyond.png"]["line"] == 2 and files["beyond.png"]["reason"].endswith(
        "beyond.txt, line 2: ultralytics drops this image: coordinate 1.02 > 1.01 (non-normalized or out of bounds "
        "coordinates)")
    assert files["nolabel.png"]["reason"].endswith("nolabel.txt: no label file: a background image")
    assert files["small.png"]["split"] == "val" and files["small.png"]["zero_candidate"] == [1, 0, 1, 0]
    assert [(s["imgsz"], s["variant"]) for s in doc["settings"]] == [
        ([640, 640], "yolov8"), ([640, 640], "ultralytics"), ([1280, 1280], "yolov8"), ([1280, 1280], "ultralytics")]
    for s in doc["settings"]:  # the fields the issue asks for, at least
        assert {
            "imgsz",
            "variant",
            "gts",
            "zero_candidate",
            "fewer_than_topk",
            "beyond_reach",
            "shared_anchors",
        } <= set(s)
        assert set(s["zero_candidate"]) == {"all", "small", "medium", "large"}
        assert s["gts"] == 5
    assert doc["splits"][0]["summary"] == "9 images, 2 backgrounds, 5 dropped, 1 duplicates"


def test_pose_rows_are_checked_against_kpt_shape(tmp_path: Path) -> None:
    for sub in ("images/val", "labels/val"):
        (tmp_path / sub).mkdir(parents=True)
    for stem, text in (("good", "0 0.5 0.5 0.2 0.2 0.5 0.5 2 0.4 0.4 1\n"), ("short", "0 0.5 0.5 0.2 0.2 0.5 0.5 2\n")):
        shutil.copy(COFFEE, tmp_path / "images" / "val" / f"{stem}.png")
        (tmp_path / "labels" / "val" / f"{stem}.txt").write_text(text)
    (tmp_path / "data.yaml").write_text("val: images/val\nkpt_shape: [2, 3]\nnames: [p]\n")
    doc = run_json("check", tmp_path / "data.yaml")
    assert [f["verdict"] for f in doc["files"]] == ["kept", "dropped"]
    assert doc["files"][1]["reason"].endswith("short.txt, line 1: ultralytics drops this image: 8 values per row; "
                                              "ultralytics requires 11 columns 'class cx cy w h' + 2 keypoints x 3 "
                                              "(kpt_shape)")
    assert doc["kpt_shape"] == [2, 3]


def test_verify_images_decodes_as_ultralytics(tmp_path: Path) -> None:
    # one byte of a PNG's pixel data flipped: its header reads, Pillow's verify() (ultralytics' check) finds the
    # chunk's checksum wrong
    for sub in ("images", "labels"):
        (tmp_path / sub).mkdir()
    data = bytearray(Path(COFFEE).read_bytes())
    data[data.index(b"IDAT") + 100] ^= 0xFF
    (tmp_path / "images" / "crc.png").write_bytes(bytes(data))
    (tmp_path / "labels" / "crc.txt").write_text("5 0.5 0.5 0.2 0.2\n")
    assert run_json("check", tmp_path)["files"][0]["verdict"] == "kept"
    doc = run_json("check", tmp_path, "--verify-images")
    assert doc["files"][0]["verdict"] == "dropped" and doc["verify_images"] is True


def test_a_split_seen_before_is_checked_once_and_a_split_without_labels_is_noted(tmp_path: Path) -> None:
    bad_tree(tmp_path / "ds")
    (tmp_path / "ds" / "images" / "test").mkdir()
    shutil.copy(COFFEE, tmp_path / "ds" / "images" / "test" / "x.png")
    (tmp_path / "ds" / "data.yaml").write_text("train: images/train\nval: [images/val, images/train]\n"
                                               "test: images/test\n" + NAMES)
    result = run("check", tmp_path / "ds" / "data.yaml", "--json")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Warning: 9 images of split 'val' also in an earlier split: checked once",
        "Warning: split 'test': no label file for any of its 1 images (a background split)"]
    doc = json.loads(result.stdout)
    assert [(s["split"], s["images"]) for s in doc["splits"]] == [("train", 9), ("val", 1), ("test", 1)]


def test_many_files_in_worker_processes_give_what_one_process_gives(tmp_path: Path) -> None:
    for sub in ("images", "labels"):
        (tmp_path / sub).mkdir()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(tmp_path / "images" / "i0000.png")
    png = (tmp_path / "images" / "i0000.png").read_bytes()
    for i in range(300):
        (tmp_path / "images" / f"i{i:04d}.png").write_bytes(png)
        rows = [f"{(i + k) % 8} {0.1 + 0.02 * k:.3f} {0.5:.3f} {0.01 * (1 + i % 7):.3f} 0.1" for k in range(1 + i % 9)]
        (tmp_path / "labels" / f"i{i:04d}.txt").write_text("\n".join(rows + rows[:i % 3 == 0]) + "\n")
    one = run_json("check", tmp_path, "--workers", "1", "--variant", "yolov8", "ultralytics")
    two = run_json("check", tmp_path, "--workers", "2", "--variant", "yolov8", "ultralytics")
    assert one == two
    assert one["splits"][0]["images"] == 300 and one["splits"][0]["duplicate_files"] == 100


# --- outputs and gates -----------------------------------------------------------------------


def test_csv_and_plot(dataset: Path, tmp_path: Path) -> None:
    result = run("check", dataset, "--variant", "yolov8", "ultralytics", "--csv", tmp_path / "c.csv",
                 "--plot", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [f"wrote {tmp_path / 'c.csv'}", f"wrote {tmp_path / 'c.png'}"]
    rows = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert [(r["variant"], r["gts"], r["zero_candidate"], r["small_zero_candidate"]) for r in rows] == [
        ("yolov8", "5", "1", "1"), ("ultralytics", "5", "0", "0")]
    with Image.open(tmp_path / "c.png") as im:
        assert im.format == "PNG" and im.width > 800


def test_by_class_and_limit(dataset: Path) -> None:
    result = run("check", dataset, "--by-class", "--limit", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "Gts with no candidate, by class" in lines
    assert any(line.startswith("│ 1 b ") for line in lines)
    assert lines[-1] == "  ... 5 more; --limit 0 shows all, --json lists every file."


def test_strict_gate(dataset: Path) -> None:
    result = run("check", dataset, "--strict")
    assert result.exit_code == 3
    assert result.stderr == ("Gate failed: --strict violated by dataset ds/data.yaml splits train, val (10 images): "
                             "ultralytics' loader drops 5 files\n")
    doc = json.loads(run("check", dataset, "--strict", "--json").stdout)
    assert doc["gates"] == [{"gate": "--strict", "subject": "dataset ds/data.yaml splits train, val (10 images)",
                             "value": 5.0, "limit": 0, "passed": False}]


def test_zero_candidate_gate(dataset: Path) -> None:
    result = run("check", dataset, "--max-zero-candidate-rate", "small=0.5", "--variant", "yolov8", "ultralytics")
    assert result.exit_code == 3
    assert result.stderr == ("Gate failed: --max-zero-candidate-rate small=0.5 violated by setting 640 yolov8: "
                             "zero-candidate rate of small gts 100.0% > 50.0%\n")
    assert run("check", dataset, "--max-zero-candidate-rate", "0.25").exit_code == 0  # 1 of 5 gts
    assert run("check", dataset, "--max-zero-candidate-rate", "large=0").exit_code == 0
    result = run("check", dataset, "--imgsz", "320", "--max-zero-candidate-rate", "large=0.5")  # no large gt at 320
    assert result.exit_code == 3
    assert result.stderr == ("Gate failed: --max-zero-candidate-rate large=0.5 cannot pass on setting 320 yolov8: "
                             "evaluated over 0 large gts (were the labels found?)\n")


# --- bad input: one line, exit code, nothing written --------------------------------------------


@pytest.mark.parametrize("args,code,message", [
    (["ds/bad.yaml"], 1, "Error: ds/bad.yaml, line 2: expected ',' or ']', but got '<stream end>'"),
    (["ds/missing.yaml"], 1, "Error: ds/missing.yaml: split 'train': {root}/ds/nope not found"),
    (["ds/data.yaml", "--split", "test"], 1, "Error: ds/data.yaml: no 'test' split (it has: train, val); choose one "
                                             "with --split"),
    (["unlabelled"], 1, "Error: folder unlabelled (1 image): no label file found for any image; labels are looked for "
                        "where ultralytics looks (the last images/ of the path becomes labels/, e.g. "
                        "unlabelled/labels/x.txt)"),
    (["unlabelled", "--split", "val"], 1, "Error: --split applies to a dataset YAML"),
    (["a", "b", "c"], 2, "Error: SOURCE: expected nothing, a dataset YAML or folder, or IMAGE LABELS; got 3 paths"),
    (["nowhere"], 1, "Error: nowhere: not found"),
    (["ds/images/train/ok.png"], 1, "Error: ds/images/train/ok.png: one image needs its label file: tal check IMAGE "
                                    "LABELS"),
    (["ds/images/train/ok.png", "none.txt"], 1, "Error: none.txt: label file not found"),
    (["ds/data.yaml", "--imgsz", "1000"], 1, "Error: --imgsz 1000: must be a multiple of 32, the largest stride "
                                             "(ultralytics rounds it up to 1024 for training)"),
    (["ds/data.yaml", "--imgsz", "16"], 2, "Error: --imgsz: expected integers >= 32, got '16'"),
    (["ds/data.yaml", "--variant", "v5"], 2, "Error: --variant: expected yolov8 or ultralytics, got 'v5'"),
    (["ds/data.yaml", "--max-zero-candidate-rate", "2"], 2, "Error: --max-zero-candidate-rate 2: expected a rate in "
                                                            "0..1, got 2"),
    (["ds/data.yaml", "--csv", "no/such/c.csv"], 1, "Error: no/such/c.csv: cannot write (folder no/such not found)"),
    (["ds/data.yaml", "--plot", "c.txt"], 1, "Error: c.txt: cannot write a picture with suffix '.txt'; use .png, .jpg, "
                                             ".jpeg, .webp"),
])
def test_bad_input_is_one_line(dataset: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    (tmp_path / "ds" / "bad.yaml").write_text("train: [unclosed\n")
    (tmp_path / "ds" / "missing.yaml").write_text("train: nope/\nval: nope\n" + NAMES)
    (tmp_path / "unlabelled" / "images").mkdir(parents=True)
    shutil.copy(COFFEE, tmp_path / "unlabelled" / "images" / "x.png")
    result = run("check", *args)
    assert result.exit_code == code
    assert result.stderr == message.format(root=tmp_path.resolve()) + "\n"
    assert result.stdout == ""


def test_nothing_is_written_next_to_the_data(dataset: Path, tmp_path: Path) -> None:
    # a JPEG without its end marker: ultralytics re-saves it in place when it builds its cache; tal must not
    jpeg = tmp_path / "ds" / "images" / "train" / "cut.jpg"
    with Image.open(COFFEE) as im:
        im.convert("RGB").save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes()[:-2])
    (tmp_path / "ds" / "labels" / "train" / "cut.txt").write_text("5 0.5 0.5 0.2 0.2\n")

    def snapshot() -> dict[str, tuple[str, int]]:
        return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
                for p in sorted((tmp_path / "ds").rglob("*")) if p.is_file()}

    before = snapshot()
    result = run("check", dataset, "--verify-images", "--json")
    assert result.exit_code == 0
    assert snapshot() == before
    cut = next(f for f in json.loads(result.stdout)["files"] if f["image"].endswith("cut.jpg"))
    assert cut["verdict"] == "kept" and cut["notes"][0].endswith(
        "cut.jpg: corrupt JPEG (no end marker): ultralytics re-saves this file in place when it builds its label "
        "cache; tal leaves it as it is")


def test_help_ends_with_examples() -> None:
    result = run("check", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "tal check data.yaml --imgsz 640 1280" in result.stdout
