"""tal_cli.readers.scene: from (image, labels, preds) files to the assigner's inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from tal_cli.core.errors import DroppedImageError, InputFileError
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.images import Letterbox
from tal_cli.readers.scene import Scene, assign_scenes, image_size, load_scene

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DATA = Path(__file__).resolve().parents[1] / "data" / "io"
IMAGES = {"astronaut": "astronaut.png", "coffee": "coffee.png", "hubble_left": "hubble_left.jpg"}
YOLOV8 = AssignerSettings(topk=10, num_classes=8, alpha=0.5, beta=6.0)


def sample_scene(name: str, labels: Path | None | str = "default") -> Scene:
    lab = SAMPLES / "labels" / f"{name}.txt" if labels == "default" else labels
    return load_scene(
        SAMPLES / "images" / IMAGES[name], lab, SAMPLES / "preds" / f"{name}.pt", (640, 640), (8, 16, 32), 16
    )


def test_astronaut_scene() -> None:
    scene = sample_scene("astronaut")
    assert scene.image == SAMPLES / "images" / "astronaut.png"
    assert scene.orig_hw == (512, 512)
    assert scene.letterbox == Letterbox((512, 512), (640, 640), 1.25, (640, 640), 0, 0)
    assert scene.num_gts == 6
    assert scene.gt_classes.dtype == torch.int64 and scene.gt_classes.tolist() == [0, 1, 2, 3, 4, 4]
    assert scene.gt_boxes.dtype == torch.float32 and scene.gt_boxes.shape == (6, 4)
    assert scene.label_lines == (1, 2, 3, 4, 5, 6)
    assert scene.head.layout == "head"
    assert scene.head.num_anchors == 8400 and scene.head.num_classes == 8
    # row 4: "3 0.092773 0.500000 0.185547 1.000000" -> x 0.0 .. 0.185546 (x 640), y 0 .. 640
    torch.testing.assert_close(scene.gt_boxes[3], torch.tensor([0.0, 0.0, 0.185547 * 640, 640.0]), rtol=0, atol=1e-3)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_scene_gts_match_ultralytics_letterbox(name: str) -> None:
    expected = torch.load(DATA / "letterboxed_gts.pt", weights_only=True)[name]
    scene = sample_scene(name)
    assert scene.gt_boxes.shape == expected.shape
    assert (scene.gt_boxes - expected).abs().max().item() < 1e-4


def test_assign_sample_batch() -> None:
    a = assign_scenes([sample_scene("astronaut"), sample_scene("coffee")], YOLOV8)
    assert a.batch_size == 2 and a.num_anchors == 8400
    assert a.gt_mask.tolist() == [[True] * 6, [True] * 3 + [False] * 3]  # padded to the largest count
    assert a.gt_labels[1, :3].tolist() == [5, 6, 7]
    assert a.fg_mask[0].sum() > 0 and a.fg_mask[1].sum() > 0


def test_empty_label_file_gives_background(tmp_path: Path) -> None:
    labels = tmp_path / "coffee.txt"
    labels.write_text("\n\n")
    scene = sample_scene("coffee", labels)
    assert scene.num_gts == 0
    assert scene.gt_boxes.shape == (0, 4) and scene.gt_boxes.dtype == torch.float32
    assert scene.gt_classes.shape == (0,) and scene.gt_classes.dtype == torch.int64
    assert scene.label_lines == ()
    a = assign_scenes([scene], YOLOV8)
    assert a.batch_size == 1 and a.gt_mask.shape == (1, 0)
    assert not a.fg_mask.any()
    assert a.target_scores.shape == (1, 8400, 8) and not a.target_scores.any()
    assert (a.target_gt_idx == 0).all()


def test_labels_none_is_background() -> None:
    scene = sample_scene("astronaut", None)
    assert scene.num_gts == 0 and scene.label_lines == ()
    assert scene.orig_hw == (512, 512) and scene.head.layout == "head"
    a = assign_scenes([scene, sample_scene("coffee")], YOLOV8)
    assert a.gt_mask.tolist() == [[False] * 3, [True] * 3]
    assert not a.fg_mask[0].any() and a.fg_mask[1].any()
    assert not a.target_scores[0].any()


def test_exif_rotated_image_size_used(tmp_path: Path) -> None:
    # a 400 x 600 (W x H, stored) JPEG with orientation 6 displays as 600 x 400: H 400, W 600,
    # so the letterbox puts it 640 x 427 at top 106 (same as coffee.png)
    path = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 600)).save(path, exif=exif)
    assert image_size(path) == (400, 600)
    scene = load_scene(
        path, SAMPLES / "labels" / "coffee.txt", SAMPLES / "preds" / "coffee.pt", (640, 640), (8, 16, 32), 16
    )
    assert scene.orig_hw == (400, 600)
    assert (scene.letterbox.resized_wh, scene.letterbox.top) == ((640, 427), 106)
    torch.testing.assert_close(scene.gt_boxes, sample_scene("coffee").gt_boxes, rtol=0, atol=0)


def test_errors_pass_through(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("0 0.5 0.5 0.5\n")
    with pytest.raises(
        InputFileError, match="^" + re.escape(f"{bad}, line 1: ultralytics drops this image: 4 values per row")
    ):
        sample_scene("coffee", bad)
    missing = tmp_path / "nope.png"
    with pytest.raises(InputFileError, match="^" + re.escape(f"{missing}: image not found") + "$"):
        load_scene(missing, None, SAMPLES / "preds" / "coffee.pt", (640, 640), (8, 16, 32), 16, explicit=True)
    with pytest.raises(DroppedImageError, match="^" + re.escape(f"{missing}: ultralytics drops this image: "
                                                                 "unreadable image (image not found)") + "$"):
        load_scene(missing, None, SAMPLES / "preds" / "coffee.pt", (640, 640), (8, 16, 32), 16)  # a listed image
    with pytest.raises(InputFileError, match=re.escape("that count matches --imgsz 640")):
        load_scene(
            SAMPLES / "images" / "coffee.png", None, SAMPLES / "preds" / "coffee.pt", (320, 320), (8, 16, 32), 16
        )
