"""`tal export` with real ultralytics models, and parity with ultralytics' own assigners.

Runs where ultralytics is installed (the second venv of ``.ci/run``: ``pytest -m ultralytics``);
skipped elsewhere. Models are built from ``yolov8n.yaml`` and ``yolo26n.yaml`` with random
weights (seed 0) and exported on the three samples. For every exported file and head, the
positives of ``tal assign --json`` must equal those of the assigner ultralytics' own training
criterion holds (``model.init_criterion()``: ``v8DetectionLoss`` for YOLOv8, ``E2ELoss`` with
its one2many and one2one assigners for YOLO26), called here on the same tensors; the losses
must equal the criterion's ``get_assigned_targets_and_loss``.
"""

from __future__ import annotations

import json
import os
import shutil
import types
from pathlib import Path

import pytest
import torch

if os.environ.get("TAL_REQUIRE_ULTRALYTICS"):  # .ci/run's ultralytics venv: a failed import must fail
    import ultralytics
else:
    ultralytics = pytest.importorskip("ultralytics")

from tal_cli.readers.scene import load_scene

from ..clirun import run
from ..conftest import SAMPLES, sample

pytestmark = pytest.mark.ultralytics
STEMS = ("astronaut", "coffee", "hubble_left")
MODELS = {"yolov8n.yaml": ("one2many",), "yolo26n.yaml": ("one2many", "one2one")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """Model YAML -> folder of the three samples' PREDS files."""
    out = {}
    for model in MODELS:
        folder = tmp_path_factory.mktemp(model.split(".")[0])
        result = run("export", model, SAMPLES / "images", "--out", folder, "--seed", "0")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith(f"exported 3 images of folder {SAMPLES / 'images'} (3 images) to ")
        assert f"with {model} (ultralytics {ultralytics.__version__}): input 640x640, strides 8/16/32" in result.stdout
        out[model] = folder
    return out


@pytest.fixture(scope="module")
def criteria() -> dict[str, object]:
    """Model YAML -> the training criterion ultralytics builds for it."""
    from ultralytics import YOLO

    out = {}
    for model in MODELS:
        torch.manual_seed(0)
        net = YOLO(model).model
        net.args = types.SimpleNamespace(box=7.5, cls=0.5, dfl=1.5, epochs=100)  # the default gains
        out[model] = net.init_criterion()
    return out


def test_files_load_safely_with_metadata(exported) -> None:
    for model, heads in MODELS.items():
        for stem in STEMS:
            raw = torch.load(exported[model] / f"{stem}.pt", weights_only=True)
            meta = raw["meta"]
            r = 16 if model == "yolov8n.yaml" else 1
            assert (meta["imgsz"], meta["strides"], meta["reg_max"], meta["nc"]) == ([640, 640], [8, 16, 32], r, 80)
            assert meta["versions"]["ultralytics"] == ultralytics.__version__
            assert (meta["model"], meta["image"]) == (model, Path(sample(stem)[0]).name)
            branches = [raw] if heads == ("one2many",) else [raw[h] for h in heads]
            assert sorted(k for k in raw if k != "meta") == (
                ["boxes", "scores"] if heads == ("one2many",) else list(heads)
            )
            for branch in branches:
                assert branch["boxes"].shape == (1, 4 * r, 8400) and branch["scores"].shape == (1, 80, 8400)


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("model, head", [(m, h) for m, hs in MODELS.items() for h in hs])
def test_positives_and_losses_equal_ultralytics(exported, criteria, model: str, head: str, stem: str) -> None:
    image, labels, _ = sample(stem)
    preds = exported[model] / f"{stem}.pt"
    result = run("assign", image, labels, preds, "--head", head, "--variant", "ultralytics", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["head"]["inspected"] == head
    ours = {(p["anchor"], p["gt"]) for p in doc["positives"]}

    # ultralytics' criterion on the same tensors: the saved head output and tal's letterboxed gts.
    crit = criteria[model]
    loss = getattr(crit, head) if model == "yolo26n.yaml" else crit
    raw = torch.load(preds, weights_only=True)
    branch = raw[head] if head in raw else raw
    scene = load_scene(image, labels, preds, (640, 640), (8, 16, 32), 16, head)
    feats = [torch.empty(1, 1, 640 // s, 640 // s) for s in (8, 16, 32)]  # only their sizes are read
    g = scene.gt_boxes
    batch = {"batch_idx": torch.zeros(scene.num_gts), "cls": scene.gt_classes.float().view(-1, 1),
             "bboxes": torch.cat(((g[:, :2] + g[:, 2:]) / 2, g[:, 2:] - g[:, :2]), 1) / 640}
    (fg, gt_idx, *_), gained, _ = loss.get_assigned_targets_and_loss(
        {"boxes": branch["boxes"], "scores": branch["scores"], "feats": feats}, batch)
    theirs = {(int(a), int(gt_idx[0, a])) for a in fg[0].nonzero().flatten()}
    assert ours == theirs
    assert len(ours) > 0

    # Same inputs straight into the assigner (gts as tal holds them, no normalise round trip).
    from ultralytics.utils.tal import make_anchors

    anchors, strides = make_anchors(feats, loss.stride, 0.5)
    boxes = loss.bbox_decode(anchors, branch["boxes"].permute(0, 2, 1).contiguous()) * strides
    n = scene.num_gts
    *_, fg2, gt_idx2 = loss.assigner(branch["scores"].permute(0, 2, 1).sigmoid(), boxes, anchors * strides,
                                     scene.gt_classes.view(1, n, 1).float(), g.view(1, n, 4),
                                     torch.ones(1, n, 1, dtype=torch.bool))
    assert {(int(a), int(gt_idx2[0, a])) for a in fg2[0].nonzero().flatten()} == ours

    third = "dfl" if model == "yolov8n.yaml" else "l1"
    mine = doc["losses"]["gained"]
    assert doc["losses"]["third"] == third
    for value, expected in zip((mine["box"], mine["cls"], mine[third]), gained.tolist()):
        assert value == pytest.approx(expected, rel=1e-4)


def test_letterbox_matches_ultralytics() -> None:
    """The network input is pixel for pixel what ultralytics' LetterBox(auto=False) makes."""
    import cv2
    from ultralytics.data.augment import LetterBox

    from tal_cli.ultralytics.model import image_tensor

    for stem in STEMS:
        path = sample(stem)[0]
        ours = image_tensor(Path(path), (640, 640))[0]  # (3, H, W) RGB
        theirs = LetterBox((640, 640), auto=False)(image=cv2.imread(path))[..., ::-1].copy()  # (H, W, 3) RGB
        assert torch.equal(ours, torch.from_numpy(theirs).permute(2, 0, 1).float() / 255), stem
        wide = image_tensor(Path(path), (320, 640))[0]  # a non-square input places the image the same way too
        theirs = LetterBox((320, 640), auto=False)(image=cv2.imread(path))[..., ::-1].copy()
        assert torch.equal(wide, torch.from_numpy(theirs).permute(2, 0, 1).float() / 255), stem


def test_sweep_works_on_the_exported_dataset_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "images", data / "images")
    shutil.copytree(SAMPLES / "labels", data / "labels")
    result = run("export", "yolo26n.yaml", data)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (data / "preds").iterdir()) == ["astronaut.pt", "coffee.pt", "hubble_left.pt"]
    assert result.stdout.splitlines()[-1] == (f"next: tal sweep {data} --variant ultralytics   "
                                              "(--head one2one: the one-to-one branch)")
    for head in ("one2many", "one2one"):
        swept = run("sweep", data, "--variant", "ultralytics", "--head", head, "--json")
        assert swept.exit_code == 0, swept.stderr
        doc = json.loads(swept.stdout)
        assert doc["settings"][0]["images"] == 3 and doc["skipped"] == []
        assert doc["fixed"]["reg_max"] == 1

    # Exporting again does not replace the files unless asked.
    before = {p: p.stat().st_mtime_ns for p in (data / "preds").iterdir()}
    again = run("export", "yolo26n.yaml", data)
    assert again.exit_code == 1
    assert (
        again.stderr
        == f"Error: {data / 'preds' / 'astronaut.pt'} and 2 more already exist; add --overwrite to replace them\n"
    )
    assert {p: p.stat().st_mtime_ns for p in (data / "preds").iterdir()} == before


def test_export_errors(tmp_path: Path) -> None:
    result = run("export", tmp_path / "best.pt", SAMPLES / "images", "--out", tmp_path / "o")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {tmp_path / 'best.pt'}: model file not found (tal export does not download weights)\n")
    result = run("export", "yolov8n.yaml", sample("coffee")[0], "--out", tmp_path / "o", "--head", "one2one")
    assert (result.exit_code, result.stderr) == (
        1, "Error: yolov8n.yaml: --head one2one: the network has no one2one branch (not an end-to-end model)\n")
    result = run("export", "yolov8n.yaml", sample("coffee")[0], "--out", tmp_path / "o", "--imgsz", "650")
    assert (result.exit_code, result.stderr) == (
        1, "Error: --imgsz 650: must be a multiple of 32, the model's largest stride (e.g. 640)\n")
    assert not (tmp_path / "o").exists()


def test_dataset_names_fill_in_for_placeholder_names(tmp_path: Path) -> None:
    # A YAML-built model has placeholder names ("0", "1", ...); a dataset YAML's names go into the metadata.
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "images", data / "images")
    (data / "data.yaml").write_text("path: .\nval: images\nnames: [person, helmet, spacecraft]\n")
    result = run("export", "yolov8n.yaml", data / "data.yaml", "--out", tmp_path / "p")
    assert result.exit_code == 0, result.stderr
    meta = torch.load(tmp_path / "p" / "coffee.pt", weights_only=True)["meta"]
    assert meta["names"] == {0: "person", 1: "helmet", 2: "spacecraft"}


def test_unreadable_images_are_skipped_with_a_warning(tmp_path: Path) -> None:
    # ultralytics patches Image.open to try pi-heif on images Pillow cannot identify: without it, its
    # ImportError must become a warning for that image, as for any unreadable image
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(sample("coffee")[0], folder / "coffee.png")
    (folder / "broken.heic").write_bytes(b"\x00\x00\x00\x18ftypheic not really")
    (folder / "cut.jpg").write_bytes(b"\xff\xd8\xff truncated")
    result = run("export", "yolov8n.yaml", folder, "--out", tmp_path / "p")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(ln.startswith("Warning: skipped ") for ln in lines), lines
    assert "broken.heic: not an image Pillow can read" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["coffee.pt"]


def test_out_that_is_a_file_is_said_before_the_model_loads(tmp_path: Path) -> None:
    target = tmp_path / "preds.pt"
    target.write_text("keep")
    result = run("export", "yolov8n.yaml", sample("coffee")[0], "--out", target)
    assert (result.exit_code, result.stderr) == (1, f"Error: {target}: is a file, expected a folder to write into\n")
    assert target.read_text() == "keep"
