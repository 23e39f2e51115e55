"""tal_cli.ultralytics.export without ultralytics: the missing-extra error, and where each image's PREDS file goes.

Running real models is in ``test_export_ultralytics.py`` (the ultralytics venv of ``.ci/run``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tal_cli.cli import app
from tal_cli.core.errors import InputFileError, MissingExtraError, TalError
from tal_cli.ultralytics.export import check_imgsz, plan_export
from tal_cli.ultralytics.model import import_ultralytics

from ..conftest import SAMPLES

runner = CliRunner()
MISSING = 'Error: tal export needs ultralytics, which is not installed: pip install "tal[ultralytics]"\n'


@pytest.fixture
def no_ultralytics(monkeypatch):
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # "import ultralytics" now fails


def test_missing_extra_is_one_line(no_ultralytics, tmp_path: Path) -> None:
    out = tmp_path / "preds"
    result = runner.invoke(app, ["export", "yolov8n.yaml", str(SAMPLES / "images"), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == MISSING
    assert not out.exists()


def test_missing_extra_is_reported_first(no_ultralytics) -> None:
    # Even with a source that does not exist, the missing package is what the user must fix first.
    result = runner.invoke(app, ["export", "best.pt", "nowhere/"])
    assert (result.exit_code, result.stderr) == (1, MISSING)


def test_missing_extra_library_error(no_ultralytics) -> None:
    with pytest.raises(
        MissingExtraError,
        match=r'^tal export needs ultralytics, which is not installed: pip install "tal\[ultralytics\]"$',
    ):
        import_ultralytics()


def test_broken_ultralytics_says_what_failed(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "ultralytics":
            raise ModuleNotFoundError("No module named 'cv2'", name="cv2")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "ultralytics", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(MissingExtraError, match=r"^tal export: ultralytics is installed but cannot be imported "
                                                r"\(No module named 'cv2'\); install what it needs: "):
        import_ultralytics()


def _dataset(root: Path) -> Path:
    for sub in ("images/a", "images/b", "labels"):
        (root / sub).mkdir(parents=True)
    for rel in ("images/a/one.png", "images/b/two.jpg", "images/three.png"):
        (root / rel).write_bytes(b"")
    return root


def test_dataset_folder_defaults_to_its_preds(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data")
    plan = plan_export(root, None)
    assert plan.out == root / "preds"
    assert [(im.relative_to(root).as_posix(), t.relative_to(root).as_posix()) for im, t in plan.jobs] == [
        ("images/a/one.png", "preds/a/one.pt"), ("images/b/two.jpg", "preds/b/two.pt"),
        ("images/three.png", "preds/three.pt")]  # ultralytics' order: sorted by path
    assert plan.description == f"dataset folder {root} (3 images)"


def test_plain_folder_and_image_need_out(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"")
    with pytest.raises(TalError, match=r"^--out DIR is needed for folder .*pics \(only a dataset folder"):
        plan_export(folder, None)
    with pytest.raises(TalError, match=r"^--out DIR is needed for image .*x\.png "):
        plan_export(folder / "x.png", None)
    plan = plan_export(folder / "x.png", tmp_path / "o")
    assert plan.jobs == ((folder / "x.png", tmp_path / "o" / "x.pt"),)


def test_dataset_yaml_uses_stems_and_names(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data")
    (root / "data.yaml").write_text("path: .\nval: images/a\ntrain: images/b\nnames: [cat, dog]\n")
    plan = plan_export(root / "data.yaml", tmp_path / "p", split="train")
    assert plan.jobs == ((root / "images" / "b" / "two.jpg", tmp_path / "p" / "two.pt"),)
    assert plan.names == {0: "cat", 1: "dog"}
    with pytest.raises(InputFileError, match=r"no 'test' split \(it has: train, val\)"):
        plan_export(root / "data.yaml", tmp_path / "p", split="test")


def test_stem_collisions_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
        (root / sub / "x.png").write_bytes(b"")
    (root / "list.txt").write_text("a/x.png\nb/x.png\n")
    (root / "d.yaml").write_text("path: .\nval: list.txt\n")
    with pytest.raises(InputFileError, match=r"b/x\.png: same PREDS file as .*a/x\.png .*rename one of them$"):
        plan_export(root / "d.yaml", tmp_path / "p")


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nope: not found$"):
        plan_export(tmp_path / "nope", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match=r"empty: no images \(avif, bmp"):
        plan_export(tmp_path / "empty", tmp_path / "o")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputFileError, match=r"notes\.txt: expected an image, a folder of images, or a dataset YAML$"):
        plan_export(tmp_path / "notes.txt", tmp_path / "o")


def test_imgsz_must_fit_the_largest_stride() -> None:
    check_imgsz((640, 640), (8, 16, 32))
    with pytest.raises(
        TalError, match=r"^--imgsz 650: must be a multiple of 32, the model's largest stride \(e\.g\. 640\)$"
    ):
        check_imgsz((650, 650), (8, 16, 32))


def test_image_tensor_without_opencv(monkeypatch) -> None:
    from tal_cli.readers.images import Letterbox
    from tal_cli.ultralytics.model import image_tensor

    monkeypatch.setitem(sys.modules, "cv2", None)  # Pillow's resize then
    path = SAMPLES / "images" / "coffee.png"
    x = image_tensor(path, (320, 320))
    assert x.shape == (1, 3, 320, 320) and x.dtype.is_floating_point
    from PIL import Image

    with Image.open(path) as im:
        box = Letterbox.fit((im.height, im.width), (320, 320))
    pad = x[0] == 114 / 255
    w, h = box.resized_wh
    inside = pad[:, box.top:box.top + h, box.left:box.left + w]
    assert bool(pad[:, :box.top].all()) and bool(pad[:, box.top + h:].all())
    assert bool(pad[:, :, :box.left].all()) and bool(pad[:, :, box.left + w:].all())
    assert not bool(inside.all())
