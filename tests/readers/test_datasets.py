"""tal_cli.readers.datasets: dataset YAMLs and folders resolved as ultralytics' loader resolves them.

ultralytics itself is the referee in ``tests/ultralytics/test_loader_ultralytics.py``; these
tests pin the rules by hand on small trees made here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tal_cli.core.errors import InputFileError
from tal_cli.readers.datasets import images_under, label_path, read_dataset, split_images


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def tree(root: Path) -> Path:
    """root/images/{val/b.jpg, val/a.png, val/sub/c.JPG, val/.hidden.png, val/notes.txt}, root/data.yaml."""
    for name in ("images/val/b.jpg", "images/val/a.png", "images/val/sub/c.JPG", "images/val/.hidden.png",
                 "images/val/notes.txt", "images/val/.git/d.png"):
        touch(root / name)
    return touch(root / "data.yaml", "train: images/val\nval: images/val\nnames: [x, y]\n")


def names(images: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in images]


def test_label_path_uses_the_last_images_folder() -> None:
    sep = os.sep
    assert label_path(f"{sep}d{sep}images{sep}val{sep}x.jpg") == Path(f"{sep}d{sep}labels{sep}val{sep}x.txt")
    # the last /images/ only: an earlier one stays
    assert label_path(f"{sep}images{sep}a{sep}images{sep}x.png") == Path(f"{sep}images{sep}a{sep}labels{sep}x.txt")
    # a relative path without a leading folder has no /images/: ultralytics looks beside the image
    assert label_path("images/x.jpeg") == Path("images/x.txt")
    assert label_path(f"{sep}d{sep}images{sep}x.tar.jpg") == Path(f"{sep}d{sep}labels{sep}x.tar.txt")


def test_folder_split_lists_images_sorted_without_hidden(tmp_path: Path) -> None:
    data = tree(tmp_path)
    found = split_images(read_dataset(data), "val")
    assert names(found.images, tmp_path) == ["images/val/a.png", "images/val/b.jpg", "images/val/sub/c.JPG"]
    assert all(p.is_absolute() for p in found.images)  # the /images/ rule applies to absolute paths
    assert found.notes == ()


@pytest.mark.parametrize("path_line", ["", "path: .\n", "path: ''\n"])
def test_root_is_the_yaml_folder_from_any_working_folder(tmp_path: Path, monkeypatch, path_line: str) -> None:
    data = tree(tmp_path / "ds")
    data.write_text(path_line + data.read_text())
    for cwd in (tmp_path / "ds", tmp_path, tmp_path / "ds" / "images"):
        monkeypatch.chdir(cwd)
        dataset = read_dataset(os.path.relpath(data, cwd))
        assert dataset.root == tmp_path / "ds"
        found = split_images(dataset, "val")
        assert names(found.images, tmp_path / "ds")[0] == "images/val/a.png"


def test_path_dot_from_another_folder_is_noted(tmp_path: Path, monkeypatch) -> None:
    data = tree(tmp_path / "ds")
    data.write_text("path: .\n" + data.read_text())
    monkeypatch.chdir(tmp_path)
    dataset = read_dataset(Path("ds/data.yaml"))
    assert dataset.notes == (
        f"ds/data.yaml: 'path: .' is read relative to the YAML's folder ({tmp_path / 'ds' / '.'}); ultralytics reads "
        f"it relative to the folder training runs from, and run from here would use {tmp_path / '.'}",)
    monkeypatch.chdir(tmp_path / "ds")  # run from the YAML's folder, both read the same folder
    assert read_dataset(Path("data.yaml")).notes == ()


def test_relative_and_absolute_path(tmp_path: Path) -> None:
    tree(tmp_path / "ds" / "inner")
    data = touch(tmp_path / "ds" / "data.yaml", "path: inner\nval: images/val\ntrain: images/val\nnames: [x]\n")
    assert read_dataset(data).root == tmp_path / "ds" / "inner"
    data.write_text(f"path: {tmp_path / 'ds' / 'inner'}\nval: images/val\ntrain: images/val\nnames: [x]\n")
    assert read_dataset(data).root == tmp_path / "ds" / "inner"


def test_dotdot_entry_falls_back_as_ultralytics_does(tmp_path: Path) -> None:
    tree(tmp_path / "ds")
    data = touch(tmp_path / "ds" / "data.yaml", "train: ../images/val\nval: ../images/val\nnames: [x]\n")
    assert names(split_images(read_dataset(data), "val").images, tmp_path / "ds")[0] == "images/val/a.png"


def test_text_list_and_list_of_both(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "ds"
    tree(root)
    touch(root / "images" / "extra" / "e.png")
    touch(root / "val.txt", "./images/val/b.jpg\n./images/extra/e.png\n./images/val/readme.md\n")
    data = touch(root / "data.yaml", "train: val.txt\nval: [val.txt, images/val/sub]\nnames: [x]\n")
    monkeypatch.chdir(tmp_path)
    found = split_images(read_dataset(data), "val")
    assert names(found.images, root) == ["images/extra/e.png", "images/val/b.jpg", "images/val/sub/c.JPG"]
    assert names(split_images(read_dataset(data), "train").images, root) == ["images/extra/e.png", "images/val/b.jpg"]


def test_list_entries_relative_to_the_working_folder_are_noted(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "ds"
    tree(root)
    touch(root / "val.txt", "ds/images/val/b.jpg\n./images/val/a.png\n")
    data = touch(root / "data.yaml", "train: val.txt\nval: val.txt\nnames: [x]\n")
    monkeypatch.chdir(tmp_path)
    found = split_images(read_dataset(data), "val")
    assert [str(p) for p in found.images] == [str(root / "images/val/a.png"), "ds/images/val/b.jpg"]
    assert found.notes == (
        "1 images of split 'val' are listed with paths relative to the working folder (not ./): ultralytics reads "
        f"them against the folder training runs from; tal read them against {tmp_path}",)


def test_duplicate_listing_is_assigned_once_and_noted(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    tree(root)
    touch(root / "val.txt", "./images/val/a.png\n./images/val/a.png\n")
    data = touch(root / "data.yaml", "train: val.txt\nval: val.txt\nnames: [x]\n")
    found = split_images(read_dataset(data), "val")
    assert len(found.images) == 1
    assert found.notes == ("1 images are listed more than once in split 'val': ultralytics trains on each copy; tal "
                           "assigns each image once",)


def test_symlink_loops_end_and_list_each_path_once(tmp_path: Path) -> None:
    root = tmp_path / "images"
    touch(root / "a" / "x.png")
    os.symlink(root, root / "a" / "loop")  # images/a/loop -> images
    os.symlink(root / "a", root / "b")  # a second way into images/a
    found, again = images_under(root)
    assert [p.relative_to(root).as_posix() for p in found] in (["a/x.png"], ["b/x.png"])
    assert again >= 1


def test_a_split_that_is_an_image_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    tree(root)
    (root / "images" / "val" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    data = touch(root / "data.yaml", "train: images/val/a.png\nval: images/val/a.png\nnames: [x]\n")
    with pytest.raises(InputFileError, match=re.escape("a split file must be a UTF-8 list of image paths")):
        split_images(read_dataset(data), "val")


@pytest.mark.parametrize("text,message", [
    ("val: 3\ntrain: a\n", "'val' must be a string or a list, got 3"),
    ("val: a\ntrain: a\npath: [x]\n", "'path' must be a string, got ['x']"),
    ("val: a\ntrain: a\nnames: x\n", "'names' must be a list or a mapping, got 'x'"),
    ("val: a\ntrain: a\nnames: [x, y]\nnc: 3\n", "'names' length 2 and 'nc: 3' must match"),
    ("val: a\ntrain: a\nnames: {0: x, 2: y}\n", "2 names need class ids 0-1, got 0-2"),
    ("val: a\ntrain: a\nnc: 2.5\n", "'nc: 2.5' must be an integer"),
    ("val: a\ntrain: a\nnames: [x]\nkpt_shape: [17, 4]\n", "'kpt_shape' must be [keypoints, 2 or 3], got [17, 4]"),
    ("names: [x]\n", "expected an ultralytics dataset YAML with train/val/test entries"),
])
def test_yaml_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    data = touch(tmp_path / "d.yaml", text)
    with pytest.raises(InputFileError, match="^" + re.escape(f"{data}: {message}") + "$"):
        read_dataset(data)


def test_what_ultralytics_refuses_is_noted(tmp_path: Path) -> None:
    tree(tmp_path)
    data = touch(tmp_path / "d.yaml", "val: images/val\n")
    assert read_dataset(data).notes == (
        f"{data}: ultralytics refuses to train on this YAML: 'train:' missing",
        f"{data}: no 'names' or 'nc': ultralytics refuses this YAML, and class ids are not checked")


def test_names_nc_and_kpt_shape(tmp_path: Path) -> None:
    data = touch(tmp_path / "d.yaml", "val: a\ntrain: a\nnames: {'1': b, 0: a}\nkpt_shape: [17, 3]\n")
    ds = read_dataset(data)
    assert (ds.names, ds.num_classes, ds.kpt_shape) == ({0: "a", 1: "b"}, 2, (17, 3))
    ds = read_dataset(touch(tmp_path / "e.yaml", "val: a\ntrain: a\nnc: 3\n"))
    assert (ds.names, ds.num_classes) == (None, 3)


def test_missing_split_and_missing_folder(tmp_path: Path) -> None:
    data = touch(tmp_path / "d.yaml", "train: images/train\nval: images/nope\nnames: [x]\n")
    with pytest.raises(InputFileError, match=re.escape(f"{data}: no 'test' split (it has: train, val); choose one "
                                                       "with --split")):
        split_images(read_dataset(data), "test")
    with pytest.raises(
        InputFileError, match=re.escape(f"{data}: split 'val': {tmp_path / 'images' / 'nope'} not found")
    ):
        split_images(read_dataset(data), "val")
