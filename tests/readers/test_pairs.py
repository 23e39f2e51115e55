"""tal_cli.readers.pairs: where `tal check` finds image/label pairs (no predictions needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tal_cli.core.errors import InputFileError, TalError
from tal_cli.readers.config import Sample
from tal_cli.readers.pairs import label_of, resolve_pairs


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_dataset_every_split_in_order_and_each_image_once(tmp_path: Path) -> None:
    for name in ("images/train/a.jpg", "images/train/b.png", "images/val/c.png", "images/test/d.png"):
        touch(tmp_path / name)
    touch(tmp_path / "data.yaml", "train: images/train\nval: [images/val, images/train]\ntest: images/test\n"
                                  "names: [x]\n")
    src = resolve_pairs([tmp_path / "data.yaml"], (), None)
    assert [(g.split, [Path(p).name for p in g.images]) for g in src.splits] == [
        ("train", ["a.jpg", "b.png"]), ("val", ["c.png"]), ("test", ["d.png"])]
    assert src.notes == ("2 images of split 'val' also in an earlier split: checked once",)
    assert src.description == f"dataset {tmp_path / 'data.yaml'} splits train, val, test (4 images)"
    assert src.num_classes == 1 and src.images == 4
    pairs = list(src.splits[0].pairs())
    assert pairs[0] == (str(tmp_path / "images/train/a.jpg"), str(tmp_path / "labels/train/a.txt"))
    one = resolve_pairs([tmp_path / "data.yaml"], (), None, split="test")
    assert [g.split for g in one.splits] == ["test"] and one.description.endswith("split test (1 image)")


def test_dataset_label_paths_follow_the_path_as_listed(tmp_path: Path, monkeypatch) -> None:
    # a list entry relative to the working folder keeps its form: ultralytics' rule needs /images/ in it
    monkeypatch.chdir(tmp_path)
    touch(tmp_path / "images" / "x.png")
    touch(tmp_path / "list.txt", "images/x.png\n")
    touch(tmp_path / "data.yaml", "val: list.txt\nnames: [x]\n")
    src = resolve_pairs([Path("data.yaml")], (), None)
    assert list(src.splits[0].pairs()) == [("images/x.png", "images/x.txt")]


def test_folder_with_or_without_images_subfolder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    touch(tmp_path / "ds" / "images" / "a" / "x.jpg")
    src = resolve_pairs([Path("ds")], (), None)
    assert list(src.splits[0].pairs()) == [("ds/images/a/x.jpg", os.path.join("ds", "labels", "a", "x.txt"))]
    # the images folder itself: the rule works on the absolute path
    src = resolve_pairs([Path("ds/images/a")], (), None)
    assert list(src.splits[0].pairs()) == [("ds/images/a/x.jpg", os.path.join("ds", "labels", "a", "x.txt"))]
    assert label_of("/elsewhere/images/y.png") == "/elsewhere/labels/y.txt"


def test_pair_samples_and_errors(tmp_path: Path) -> None:
    image, labels = touch(tmp_path / "i.png"), touch(tmp_path / "i.txt")
    src = resolve_pairs([image, labels], (), None)
    assert src.kind == "pair" and list(src.splits[0].pairs()) == [(str(image), str(labels))]
    samples = (Sample(tmp_path / "x" / ".." / "i.png", tmp_path / "i.txt", tmp_path / "i.pt", {0: "a", 1: "b"}),)
    src = resolve_pairs([], samples, Path("configs/default.yaml"))
    assert src.description == "samples of configs/default.yaml (1 image)" and src.num_classes == 2
    assert list(src.splits[0].pairs()) == [(str(image), str(labels))]
    with pytest.raises(InputFileError, match="label file not found"):
        resolve_pairs([image, tmp_path / "none.txt"], (), None)
    with pytest.raises(InputFileError, match="is a folder, expected a YOLO label file"):
        resolve_pairs([image, tmp_path], (), None)
    with pytest.raises(TalError, match="--split applies to a dataset YAML"):
        resolve_pairs([tmp_path], (), None, split="val")
    with pytest.raises(TalError, match="lists no samples"):
        resolve_pairs([], (), None)
    with pytest.raises(InputFileError, match="no images"):
        resolve_pairs([touch(tmp_path / "empty" / "notes.txt").parent], (), None)
